// replay_scenario: its errors name the episode and the 0-based event number.
#include "adapters/replay/scenario.hpp"
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {
std::string replay_error(const json& scenario) {
  auto r = replay_scenario(scenario.dump());
  return r.ok() ? std::string("(replayed)") : r.message();
}
json one_episode(const char* id, json events) { return {{"episodes", {{{"id", id}, {"events", events}}}}}; }
}  // namespace

TEST_CASE("a replay error names the episode id and the event number", "[replay][spec-3]") {
  CHECK(replay_error(one_episode("ep-9", {open_event(), session("2026-01-05")})) ==
        "ep-9 event 1 (session): not allowed in state 'intake'");
}

TEST_CASE("a replay error for an invalid field names the episode and the event", "[replay][spec-3]") {
  json events = {open_event(), screening(), {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 11}}};
  CHECK(replay_error(one_episode("ep-7", events)) == "ep-7 event 2 (measurement): field 'nprs': 11 is out of range 0-10");
}

TEST_CASE("a replay error for an event going back in time names the episode and the event", "[replay][spec-3]") {
  json events = {open_event(), screening("2026-01-06"), {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 5}}};
  CHECK(replay_error(one_episode("ep-3", events)) ==
        "ep-3 event 2 (measurement): date 2026-01-05 is before the episode's last event (2026-01-06)");
}

TEST_CASE("a replayed episode that does not start with open is rejected at event 0", "[replay][spec-3]") {
  CHECK(replay_error(one_episode("ep-1", {screening()})) ==
        "ep-1 event 0 (screening): an episode must start with an 'open' event");
}

TEST_CASE("a replay error in a later episode names that episode", "[replay][spec-3]") {
  json scenario = {{"episodes",
                    {{{"id", "ep-ok"}, {"events", {open_event(), screening()}}},
                     {{"id", "ep-bad"}, {"events", {open_event(), screening(), stop("2026-01-05", "bored")}}}}}};
  CHECK(replay_error(scenario) == "ep-bad event 2 (stop): field 'reason': unknown code \"bored\"");
}

TEST_CASE("a replay runs the clock on to until and fires the timers due", "[replay][spec-1][spec-8]") {
  json events = {open_event(), screening(), {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}, {"factors", json::object()}}};
  json scenario = one_episode("ep-1", events);
  scenario["until"] = "2026-02-12";
  auto r = replay_scenario(scenario.dump());
  REQUIRE(r.ok());
  const json& ep = (*r)["episodes"][0];
  CHECK(ep["state"] == "reevaluation_due");
  CHECK(ep["phase"] == "subacute");
}
