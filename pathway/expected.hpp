// The one result type of every module boundary: a value or an Error, the
// error a one-line message with its kind (bad input, exit 2; the store or
// the machine, exit 1). Errors are values (leveldb's Status); nothing below
// the CLI throws across a module boundary, and no function hands an error
// back through an out-parameter. Thread-safety: plain values, no shared state.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace zorgpad {

// bad_input, not_found and stale are the caller's mistakes (exit 2; HTTP
// 422, 404, 412); store is the database's or the machine's (exit 1; 500).
enum class ErrorKind { bad_input, store, not_found, stale };

struct Error {
  std::string message;  // one line, no patient data
  ErrorKind kind = ErrorKind::bad_input;
};

inline Error bad_input(std::string message) { return {std::move(message), ErrorKind::bad_input}; }
inline Error store_failure(std::string message) { return {std::move(message), ErrorKind::store}; }
// An episode or task id that names nothing (in the practice at hand).
inline Error not_found(std::string message) { return {std::move(message), ErrorKind::not_found}; }
// A writer that has not seen the latest event (an expected log length that no longer holds).
inline Error stale(std::string message) { return {std::move(message), ErrorKind::stale}; }

// A value echoed in an error: cut to `max` bytes (at a UTF-8 boundary) with
// "..." after it, control characters shown as \xNN. An error is one
// readable line, whatever the input.
inline std::string clip(std::string_view s, std::size_t max = 100) {
  std::size_t n = s.size();
  if (n > max) {
    n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s.substr(0, n)) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += char(c);
    }
  }
  return n < s.size() ? out + "..." : out;
}

template <typename T = void>
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
  T&& operator*() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }
  const std::string& message() const { return error().message; }
  ErrorKind kind() const { return error().kind; }
  Expected<void> status() const;

 private:
  std::variant<T, Error> v_;
};

// A command without a value: done, or the error.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error e) : error_(std::move(e)), failed_(true) {}
  static Expected Ok() { return {}; }
  static Expected Fail(std::string message, ErrorKind kind = ErrorKind::bad_input) { return Error{std::move(message), kind}; }
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }
  const std::string& message() const { return error_.message; }
  ErrorKind kind() const { return error_.kind; }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Expected<void>;

template <typename T>
Expected<void> Expected<T>::status() const {
  return ok() ? Status::Ok() : Status(error());
}

}  // namespace zorgpad
