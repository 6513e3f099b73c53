// §3 event validation, the transition table and its diagram, episode JSON.
#include <set>

#include "adapters/replay/scenario.hpp"
#include "rules_fixture.hpp"
#include "states/diagram.hpp"
#include "states/episode_json.hpp"
#include "states/transition_table.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {
std::string parse_error(json j) {
  auto e = parse_event(j);
  return e.ok() ? std::string("(accepted)") : e.message();
}
json open_ev() { return {{"type", "open"}, {"at", "2026-01-05"}, {"onset", "2026-01-01"}, {"complaint", "lbp"}, {"age", 40}}; }
json with(json j, const char* k, json v) { j[k] = v; return j; }
}  // namespace

TEST_CASE("out-of-range scores are rejected naming the field", "[events][spec-3]") {
  json m = {{"type", "measurement"}, {"at", "2026-01-05"}};
  CHECK_THAT(parse_error(with(m, "nprs", 11)), Catch::Contains("'nprs'") && Catch::Contains("out of range 0-10"));
  CHECK_THAT(parse_error(with(m, "nprs", -1)), Catch::Contains("out of range"));
  CHECK_THAT(parse_error(with(m, "qbpds", 101)), Catch::Contains("'qbpds'"));
  CHECK_THAT(parse_error(with(m, "psk", {1, 2, 11})), Catch::Contains("'psk' item 3"));
  CHECK_THAT(parse_error(with(m, "psk", {1, 2, 3, 4})), Catch::Contains("'psk'"));
  json s = {{"type", "screening"}, {"at", "2026-01-05"}};
  CHECK_THAT(parse_error(with(s, "mrc", 6)), Catch::Contains("'mrc'"));
  json st = {{"type", "stratification"}, {"at", "2026-01-05"}};
  CHECK_THAT(parse_error(with(st, "profile", 4)), Catch::Contains("'profile'"));
  CHECK_THAT(parse_error(with(st, "sbst", {0, 0, 0, 0, 0, 0, 0, 0, 5})), Catch::Contains("'sbst' item 9"));
  CHECK_THAT(parse_error(with(st, "sbst", {0, 0, 0, 0, 0, 0, 0, 2, 0})), Catch::Contains("'sbst' item 8"));
  CHECK_THAT(parse_error(with(st, "sbst", {0, 0, 0})), Catch::Contains("9 answers"));
  CHECK_THAT(parse_error(with(st, "orebro", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0})), Catch::Contains("'orebro' item 1"));
  CHECK_THAT(parse_error(with(open_ev(), "age", 4294967301LL)), Catch::Contains("'age'"));
  CHECK_THAT(parse_error(with(open_ev(), "age", 40.5)), Catch::Contains("integer"));
  json r = {{"type", "reevaluation"}, {"at", "2026-01-05"}};
  CHECK_THAT(parse_error(with(r, "new_profile", 0)), Catch::Contains("'new_profile'"));
}

TEST_CASE("unknown codes are rejected naming the field", "[events][spec-3]") {
  CHECK_THAT(parse_error(with(open_ev(), "complaint", "neck")), Catch::Contains("'complaint'"));
  json s = {{"type", "screening"}, {"at", "2026-01-05"}};
  CHECK_THAT(parse_error(with(s, "red_flags", {"headache"})), Catch::Contains("'red_flags'"));
  CHECK_THAT(parse_error(with(s, "exclusions", {"flu"})), Catch::Contains("'exclusions'"));
  json st = {{"type", "stratification"}, {"at", "2026-01-05"}};
  CHECK_THAT(parse_error(with(st, "factors", {{"bad_luck", "present"}})), Catch::Contains("unknown factor"));
  CHECK_THAT(parse_error(with(st, "factors", {{"leg_pain", "strong"}})), Catch::Contains("leg_pain"));
  CHECK_THAT(parse_error(json{{"type", "reevaluation"}, {"at", "2026-01-05"}, {"judgement", "ok"}}), Catch::Contains("'judgement'"));
  CHECK_THAT(parse_error(json{{"type", "gp_consult"}, {"at", "2026-01-05"}, {"outcome", "wait"}}), Catch::Contains("'outcome'"));
  CHECK_THAT(parse_error(json{{"type", "stop"}, {"at", "2026-01-05"}, {"reason", "bored"}}), Catch::Contains("'reason'"));
  CHECK_THAT(parse_error(json{{"type", "phase"}, {"at", "2026-01-05"}}), Catch::Contains("unknown event type"));
}

TEST_CASE("malformed dates, missing fields and unknown fields are rejected", "[events][spec-3]") {
  CHECK_THAT(parse_error(with(open_ev(), "at", "2026-02-30")), Catch::Contains("'at'"));
  CHECK_THAT(parse_error(with(open_ev(), "at", "05-01-2026")), Catch::Contains("not a date"));
  CHECK_THAT(parse_error(with(open_ev(), "onset", "2026-01-06")), Catch::Contains("after the event date"));
  json no_onset = open_ev();
  no_onset.erase("onset");
  CHECK_THAT(parse_error(no_onset), Catch::Contains("missing field 'onset'"));
  CHECK_THAT(parse_error(json{{"type", "stop"}, {"at", "2026-01-05"}}), Catch::Contains("missing field 'reason'"));
  CHECK_THAT(parse_error(json{{"type", "session"}}), Catch::Contains("missing field 'at'"));
  CHECK_THAT(parse_error(json{{"type", "session"}, {"at", "2026-01-05"}, {"nrps", 3}}), Catch::Contains("unknown field 'nrps'"));
  CHECK_THAT(parse_error(with(open_ev(), "gp", 7)), Catch::Contains("'gp'"));
  CHECK(parse_error(json::array()) == "an event must be a JSON object");
}

TEST_CASE("replay errors name the episode and the 0-based event index", "[replay][spec-3]") {
  json scenario = {{"episodes", {{{"id", "ep-9"}, {"events", {open_ev(), {{"type", "session"}, {"at", "2026-01-05"}}}}}}}};
  auto r = replay_scenario(scenario.dump());
  REQUIRE_FALSE(r.ok());
  CHECK(r.message() == "ep-9 event 1 (session): not allowed in state 'intake'");
}

TEST_CASE("every care state and every trigger appears in the transition table", "[table][spec-2]") {
  std::set<State> from, to;
  std::set<Trigger> triggers;
  for (const Row& row : transition_table()) {
    triggers.insert(row.trigger);
    if (!row.to.stay) to.insert(row.to.state);
    for (size_t i = 0; i < kStates.size(); ++i)
      if (row.from.contains(State(i))) from.insert(State(i));
  }
  CHECK(to.size() == kStates.size());  // every state is entered by some row (intake by `open`)
  CHECK(triggers.size() == kTriggers.size());
  for (State s : from) CHECK_FALSE(is_terminal(s));
}

TEST_CASE("the diagram draws one arrow per row and from-state of the table", "[table][diagram][spec-2]") {
  size_t arrows = 0;
  for (const Row& row : transition_table()) {
    if (row.from.empty()) { ++arrows; continue; }
    for (size_t i = 0; i < kStates.size(); ++i) arrows += row.from.contains(State(i)) ? 1 : 0;
  }
  std::string mermaid = draw_diagram(DiagramFormat::mermaid);
  size_t lines = 0, terminal_exits = 0;
  for (size_t p = mermaid.find(" --> "); p != std::string::npos; p = mermaid.find(" --> ", p + 1)) ++lines;
  for (size_t p = mermaid.find(" --> [*]"); p != std::string::npos; p = mermaid.find(" --> [*]", p + 1)) ++terminal_exits;
  CHECK(lines - terminal_exits == arrows);
  CHECK(terminal_exits == 3);
  CHECK_THAT(mermaid, Catch::Contains("treatment --> reevaluation_due : checkpoint / checkpoint_due"));
  CHECK_THAT(mermaid, Catch::Contains("reevaluation_due --> gp_consultation : reevaluation [profile3_before_week12] / consult_gp"));
  std::string dot = draw_diagram(DiagramFormat::dot);
  CHECK_THAT(dot, Catch::StartsWith("digraph zorgpad {"));
  CHECK_THAT(dot, Catch::Contains("excluded [peripheries=2]"));
}

TEST_CASE("an episode's stored state reads back to the same value", "[json][persistence]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}, {"previous_episode_end", "2025-12-20"}});
  must_apply(ep, {{"type", "session"}, {"at", "2026-01-07"}});
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-08"}, {"psk", {4, 5, 6}}});
  advance(ep, d("2026-01-26"));
  must_apply(ep, {{"type", "reevaluation"}, {"at", "2026-01-26"}, {"nprs", 3}});
  auto back = episode_from_state(json::parse(episode_state(ep).dump()));
  REQUIRE(back.ok());
  CHECK(*back == ep);
}
