// episode_state / episode_from_state: a stored projection restores the exact episode.
#include <set>

#include "fixtures.hpp"
#include "states/episode_json.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {

Episode round_trip(const Episode& ep) {
  auto back = episode_from_state(json::parse(episode_state(ep).dump()));
  INFO((back.ok() ? std::string() : back.message()));
  REQUIRE(back.ok());
  return *back;
}

// One episode per care state, between them carrying every optional part of an
// episode: recurrence, LRS, referred_by, MRC values, red flags, a review with its
// note, scores, factors, an override, PSK, sessions and the session limit, a GP
// question, judgements with measured improvement, a profile change, phase
// changes, done and cancelled tasks, timers, and a revision-1 episode with a
// derived judgement.
std::vector<Episode> every_state() {
  std::vector<Episode> out;
  Episode ep = opened({{"complaint", "lrs"}, {"previous_episode_end", "2025-12-20"}, {"gp", "Dr. Jansen"},
                       {"therapist", "M. de Vries"}, {"referred_by", "gp"}});
  out.push_back(ep);  // intake
  must_apply(ep, screening("2026-01-05", {{"red_flags", {"night_sweats", "fever_chills"}}, {"mrc", 4}, {"nprs", 6}}));
  REQUIRE(ep.state == State::red_flag_review);
  REQUIRE(ep.review);
  out.push_back(ep);
  must_apply(ep, {{"type", "red_flag_review"}, {"at", "2026-01-05"}, {"decision", "continue"}, {"note", "a cold"}});
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 6}, {"qbpds", 40}, {"psk", {5, 6, 7}}});
  REQUIRE(ep.state == State::screened);
  out.push_back(ep);
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-06"}, {"sbst", {1, 1, 1, 1, 0, 0, 0, 0, 0}},
                  {"orebro", {5, 5, 5, 5, 5, 5, 5, 5, 5, 5}}, {"factors", {{"leg_pain", "present"}}}, {"profile", 1},
                  {"override_reason", "patient wants three sessions"}});
  REQUIRE(task(ep, 2).kind == TaskKind::lrs_check);
  REQUIRE(complete_task(ep, 2, d("2026-01-07")).ok());
  for (const char* at : {"2026-01-07", "2026-01-08", "2026-01-09", "2026-01-12"}) must_apply(ep, session(at));
  must_apply(ep, {{"type", "gp_request"}, {"at", "2026-01-12"}, {"question", "how is it going?"}});
  REQUIRE(ep.state == State::treatment);
  out.push_back(ep);
  advance(ep, d("2026-01-27"));
  REQUIRE(ep.state == State::reevaluation_due);
  out.push_back(ep);
  must_apply(ep, reevaluation("2026-01-27", {{"judgement", "insufficient"}, {"nprs", 5}, {"new_profile", 3}}));
  REQUIRE(ep.profile == 3);
  must_apply(ep, reevaluation("2026-02-10", {{"judgement", "insufficient"}, {"psk", {4, 4}}}));
  REQUIRE(ep.state == State::gp_consultation);
  advance(ep, d("2026-02-13"));  // subacute on 02-12, lrs_duration comes due
  out.push_back(ep);
  Episode refer = ep;
  must_apply(refer, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", "refer"}});
  REQUIRE(refer.state == State::referred);
  out.push_back(refer);
  must_apply(ep, {{"type", "stop"}, {"at", "2026-02-20"}, {"reason", "no_improvement"}, {"nprs", 5}});
  REQUIRE(ep.state == State::closed);
  out.push_back(ep);
  out.push_back(excluded());
  Episode r1 = in_treatment(1, revision1());
  advance(r1, d("2026-01-26"));
  must_apply(r1, reevaluation("2026-01-26", {{"nprs", 4}}));  // derived sufficient
  REQUIRE(r1.reevaluations.back().derived);
  out.push_back(r1);
  return out;
}

}  // namespace

TEST_CASE("an episode's stored state reads back to the same value in every care state", "[json][persistence]") {
  std::set<State> seen;
  for (const Episode& ep : every_state()) {
    INFO(kStates.name(ep.state) << " revision " << ep.revision);
    seen.insert(ep.state);
    CHECK(round_trip(ep) == ep);
  }
  CHECK(seen.size() == kStates.size());
}

TEST_CASE("a restored episode goes on exactly like the original", "[json][persistence]") {
  Episode original = in_reevaluation_due(2);
  Episode restored = round_trip(original);
  for (Episode* ep : {&original, &restored}) {
    must_apply(*ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
    advance(*ep, d("2026-02-16"));
  }
  CHECK(restored == original);
}

TEST_CASE("a stored state with a missing field is rejected", "[json][persistence][bad-input]") {
  json state = episode_state(in_treatment(1));
  state.erase("timers");
  auto back = episode_from_state(state);
  REQUIRE_FALSE(back.ok());
  CHECK_THAT(back.message(), Catch::StartsWith("stored episode is unreadable"));
}

TEST_CASE("a stored state with an unknown code is rejected", "[json][persistence][bad-input]") {
  json state = episode_state(in_treatment(1));
  state["state"] = "waiting";
  CHECK_FALSE(episode_from_state(state).ok());
}

TEST_CASE("a stored body that is not a state is rejected, never half read", "[json][persistence][bad-input]") {
  const std::string good = episode_state(in_treatment(1)).dump();
  REQUIRE(episode_from_state_text(good).ok());
  for (std::string bad : {std::string(""), std::string("not json"), good.substr(0, good.size() / 2), std::string("[1,2]"),
                          std::string(R"({"age":"forty"})"), std::string(5000, '[') + std::string(5000, ']')}) {
    auto back = episode_from_state_text(bad);
    REQUIRE_FALSE(back.ok());
    CHECK_THAT(back.message(), Catch::StartsWith("stored episode is unreadable"));
  }
}

TEST_CASE("a stored body with a number out of an int's range is rejected", "[json][persistence][bad-input]") {
  json state = episode_state(in_treatment(1));
  state["sessions"] = 4294967296LL;
  CHECK_FALSE(episode_from_state(state).ok());
}
