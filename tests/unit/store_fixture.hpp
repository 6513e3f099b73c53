// Shared by the store tests: a temporary directory and unwrapping of results.
#pragma once
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "event_fixture.hpp"  // ev(): the store takes typed events
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
T take(Expected<T> r) {
  if (!r) FAIL("unexpected store error: " << r.error().message);
  return std::move(r.value());
}

}  // namespace zorgpad::test
