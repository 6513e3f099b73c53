// Result types used at every module boundary: a value or a one-line error.
// Errors are values (leveldb's Status); nothing below the CLI throws across a
// module boundary. Thread-safety: plain values, no shared state.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace zorgpad {

struct Error {
  std::string message;  // one line, no patient data
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status Fail(std::string msg) { Status s; s.error_ = std::move(msg); s.failed_ = true; return s; }
  Status(Error e) : error_(std::move(e.message)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const { return error_; }

 private:
  std::string error_;
  bool failed_ = false;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error e) : v_(std::move(e)) {}
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const std::string& message() const { return std::get<Error>(v_).message; }
  Status status() const { return ok() ? Status::Ok() : Status::Fail(message()); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace zorgpad
