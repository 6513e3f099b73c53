// ev(): an event from its JSON, for tests (the machine and the store take
// typed events); a test event that does not parse fails the test.
#pragma once
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "pathway/event.hpp"

namespace zorgpad::test {

inline Event ev(const nlohmann::json& j) {
  auto e = parse_event(j);
  INFO(j.dump() << " -> " << (e.ok() ? std::string("ok") : e.message()));
  REQUIRE(e.ok());
  return *e;
}

}  // namespace zorgpad::test
