// Shared by the store tests: a temporary directory and unwrapping of results.
#pragma once
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "persistence/store.hpp"

namespace zorgpad::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/zorgpad-store-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const char* name) const { return (path / name).string(); }
};

inline Date day(const char* iso) { return *Date::parse(iso); }

template <typename T>
T take(StoreResult<T> r) {
  if (auto* e = std::get_if<StoreError>(&r)) FAIL("unexpected store error: " << e->message);
  return std::move(std::get<T>(r));
}

}  // namespace zorgpad::test
