// Builds episodes for the rule tests from scenario-style JSON events, so each
// test puts the episode directly in the state under test.
#pragma once
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "pathway/event.hpp"
#include "states/machine.hpp"

namespace zorgpad::test {

inline Date d(const char* iso) { return *Date::parse(iso); }

inline Event ev(const nlohmann::json& j) {
  auto e = parse_event(j);
  INFO(j.dump());
  REQUIRE(e.ok());
  return *e;
}

inline Episode opened(nlohmann::json open = nlohmann::json::object()) {
  nlohmann::json base = {{"type", "open"}, {"at", "2026-01-05"}, {"onset", "2026-01-01"}, {"complaint", "lbp"}, {"age", 40}};
  if (open.is_object()) base.update(open);
  auto ep = open_episode("ep-t", "P-t", ev(base));
  REQUIRE(ep.ok());
  return *ep;
}

inline void must_apply(Episode& ep, const nlohmann::json& j) {
  Status s = apply(ep, ev(j));
  INFO(j.dump() << " -> " << s.message());
  REQUIRE(s.ok());
}

inline nlohmann::json screening(const char* at = "2026-01-05") {
  return {{"type", "screening"}, {"at", at}, {"red_flags", nlohmann::json::array()}, {"exclusions", nlohmann::json::array()}};
}

// Opened and screened (lbp unless given), then stratified on 2026-01-05.
inline Episode in_treatment(int profile, nlohmann::json open = nlohmann::json::object()) {
  Episode ep = opened(open);
  must_apply(ep, screening());
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 6}, {"qbpds", 40}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", profile},
                  {"factors", profile == 3 ? nlohmann::json{{"fear_of_movement", "dominant"}}
                                           : profile == 2 ? nlohmann::json{{"leg_pain", "present"}} : nlohmann::json::object()}});
  return ep;
}

inline int count_tasks(const Episode& ep, TaskKind k, std::optional<TaskStatus> s = std::nullopt) {
  int n = 0;
  for (const auto& t : ep.tasks)
    if (t.kind == k && (!s || t.status == *s)) ++n;
  return n;
}

}  // namespace zorgpad::test
