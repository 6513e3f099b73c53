// Builds episodes for the rule tests from scenario-style JSON events (parsed by
// parse_event, run through open_episode/apply), so each test puts the episode
// directly in the state under test.
//
// Dates used throughout: onset 2026-01-01, opened, screened and stratified on
// Monday 2026-01-05 unless a test says otherwise. Hence, by hand:
//   onset+42 = 2026-02-12 (subacute, lrs_duration), onset+84 = 2026-03-26 (chronic)
//   week 3 = 2026-01-26, week 6 = 2026-02-16, week 12 = 2026-03-30
#pragma once
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "event_fixture.hpp"
#include "pathway/event.hpp"
#include "states/machine.hpp"

namespace zorgpad::test {

using nlohmann::json;

inline Date d(const char* iso) {
  auto r = Date::parse(iso);
  REQUIRE(r);
  return *r;
}

// parse_event's error, or "(accepted)".
inline std::string parse_error(const json& j) {
  auto e = parse_event(j);
  return e.ok() ? std::string("(accepted)") : e.message();
}

// The open_changes that open an episode under pathway revision 1 (how a stored
// pre-revision-2 log replays).
inline json revision1(json changes = json::object()) {
  changes["revision"] = 1;
  return changes;
}

// An `open` event of 2026-01-05 for a 40-year-old with LBP since 2026-01-01;
// `changes` overrides or adds fields (null removes one).
inline json open_event(const json& changes = json::object()) {
  json base = {{"type", "open"}, {"at", "2026-01-05"}, {"onset", "2026-01-01"}, {"complaint", "lbp"}, {"age", 40}};
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    if (it.value().is_null()) base.erase(it.key());
    else base[it.key()] = it.value();
  }
  return base;
}

inline Episode opened(const json& changes = json::object()) {
  auto ep = open_episode("ep-t", "P-t", ev(open_event(changes)));
  INFO((ep.ok() ? std::string() : ep.message()));
  REQUIRE(ep.ok());
  return *ep;
}

inline void must_apply(Episode& ep, const json& j) {
  Status s = apply(ep, ev(j));
  INFO(j.dump() << " -> " << s.message());
  REQUIRE(s.ok());
}

// Applies an event that must be rejected; checks the episode did not change and
// returns the error.
inline std::string rejected(Episode& ep, const json& j) {
  Episode before = ep;
  Status s = apply(ep, ev(j));
  INFO(j.dump());
  REQUIRE_FALSE(s.ok());
  CHECK(ep == before);
  return s.message();
}

inline json screening(const char* at = "2026-01-05", const json& extra = json::object()) {
  json j = {{"type", "screening"}, {"at", at}, {"red_flags", json::array()}, {"exclusions", json::array()}};
  j.update(extra);
  return j;
}

inline json reevaluation(const char* at, const json& extra) {
  json j = {{"type", "reevaluation"}, {"at", at}};
  j.update(extra);
  return j;
}

inline json session(const char* at) { return {{"type", "session"}, {"at", at}}; }

inline json stop(const char* at, const char* reason = "goals_met") { return {{"type", "stop"}, {"at", at}, {"reason", reason}}; }

// Opened and screened on 2026-01-05, nothing found.
inline Episode screened(const json& open_changes = json::object()) {
  Episode ep = opened(open_changes);
  must_apply(ep, screening());
  REQUIRE(ep.state == State::screened);
  return ep;
}

// Screened, baseline NPRS 6 and QBPDS 40, stratified into `profile` on 2026-01-05
// (the profile given with factors that suggest it, so no override is needed).
inline Episode in_treatment(int profile, const json& open_changes = json::object()) {
  Episode ep = screened(open_changes);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 6}, {"qbpds", 40}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", profile},
                  {"factors", profile == 3   ? json{{"fear_of_movement", "dominant"}}
                              : profile == 2 ? json{{"leg_pain", "present"}}
                                             : json::object()}});
  REQUIRE(ep.state == State::treatment);
  return ep;
}

// In treatment, then its first checkpoint has come due (week 3 on 2026-01-26 for
// profiles 1 and 2, week 6 on 2026-02-16 for profile 3).
inline Episode in_reevaluation_due(int profile) {
  Episode ep = in_treatment(profile);
  advance(ep, profile == 3 ? d("2026-02-16") : d("2026-01-26"));
  REQUIRE(ep.state == State::reevaluation_due);
  return ep;
}

// Two review features (§4 rule 5) found at screening on `at`: the episode waits
// in red_flag_review for the therapist's decision. From intake by default.
inline json review_screening(const char* at = "2026-01-05", const json& extra = json::object()) {
  json j = screening(at, {{"red_flags", {"night_sweats", "fever_chills"}}});
  j.update(extra);
  return j;
}
inline Episode in_red_flag_review(const json& open_changes = json::object()) {
  Episode ep = opened(open_changes);
  must_apply(ep, review_screening());
  REQUIRE(ep.state == State::red_flag_review);
  return ep;
}

// Profile 3, insufficient at week 6 (2026-02-16): waiting for the GP.
inline Episode in_gp_consultation() {
  Episode ep = in_reevaluation_due(3);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}}));
  REQUIRE(ep.state == State::gp_consultation);
  return ep;
}

// Each terminal state, reached on 2026-01-05 (referred, excluded) or 2026-01-12 (closed).
inline Episode referred() {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"suspicion", true}}));
  REQUIRE(ep.state == State::referred);
  return ep;
}
inline Episode excluded() {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"exclusions", {"visceral"}}}));
  REQUIRE(ep.state == State::excluded);
  return ep;
}
inline Episode closed() {
  Episode ep = in_treatment(1);
  must_apply(ep, stop("2026-01-12"));
  REQUIRE(ep.state == State::closed);
  return ep;
}

// An episode in any care state, by the fixtures above.
inline Episode in_state(State s) {
  switch (s) {
    case State::intake: return opened();
    case State::screened: return screened();
    case State::red_flag_review: return in_red_flag_review();
    case State::treatment: return in_treatment(1);
    case State::reevaluation_due: return in_reevaluation_due(1);
    case State::gp_consultation: return in_gp_consultation();
    case State::referred: return referred();
    case State::closed: return closed();
    case State::excluded: return excluded();
  }
  FAIL("unknown state");
  return {};
}

// The latest date the episode has seen (event or timer): an event on it is in order.
inline std::string today(const Episode& ep) { return std::max(ep.last_event, ep.last_fired).iso(); }

inline int count_tasks(const Episode& ep, TaskKind k, std::optional<TaskStatus> s = std::nullopt) {
  int n = 0;
  for (const auto& t : ep.tasks)
    if (t.kind == k && (!s || t.status == *s)) ++n;
  return n;
}

// The task with this 1-based sequence number.
inline const Task& task(const Episode& ep, int seq) {
  REQUIRE(seq >= 1);
  REQUIRE(size_t(seq) <= ep.tasks.size());
  return ep.tasks[size_t(seq - 1)];
}

}  // namespace zorgpad::test
