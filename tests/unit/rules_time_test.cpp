// §1 time: phase boundaries, the phase at open, phase timers, recurrence.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

// ---- phase boundaries (onset 2026-01-01) --------------------------------------

TEST_CASE("41 days after onset the phase is still acute", "[time][spec-1]") {
  CHECK(phase_on(d("2026-01-01"), d("2026-02-11")) == Phase::acute);
}

TEST_CASE("42 days after onset the phase is subacute", "[time][spec-1]") {
  CHECK(phase_on(d("2026-01-01"), d("2026-02-12")) == Phase::subacute);
}

TEST_CASE("83 days after onset the phase is still subacute", "[time][spec-1]") {
  CHECK(phase_on(d("2026-01-01"), d("2026-03-25")) == Phase::subacute);
}

TEST_CASE("84 days after onset the phase is chronic", "[time][spec-1]") {
  CHECK(phase_on(d("2026-01-01"), d("2026-03-26")) == Phase::chronic);
}

// ---- phase at open -------------------------------------------------------------

TEST_CASE("an episode opened 41 days after onset starts acute", "[time][spec-1]") {
  CHECK(opened({{"onset", "2025-11-25"}}).phase == Phase::acute);
}

TEST_CASE("an episode opened 42 days after onset starts subacute", "[time][spec-1]") {
  CHECK(opened({{"onset", "2025-11-24"}}).phase == Phase::subacute);
}

TEST_CASE("an episode opened 84 days after onset starts chronic", "[time][spec-1]") {
  CHECK(opened({{"onset", "2025-10-13"}}).phase == Phase::chronic);
}

TEST_CASE("the phase at open is not recorded as a phase change", "[time][spec-1]") {
  CHECK(opened({{"onset", "2025-10-13"}}).transitions.empty());
}

TEST_CASE("an acute episode schedules phase timers at onset+42 and onset+84", "[time][spec-1]") {
  Episode ep = opened();
  REQUIRE(ep.timers.size() == 2);
  CHECK(ep.timers[0] == Timer{d("2026-02-12"), Trigger::phase, Phase::subacute, 0});
  CHECK(ep.timers[1] == Timer{d("2026-03-26"), Trigger::phase, Phase::chronic, 0});
}

TEST_CASE("an episode opened subacute schedules only the chronic timer", "[time][spec-1]") {
  Episode ep = opened({{"onset", "2025-11-24"}});  // onset+84 = 2026-02-16
  REQUIRE(ep.timers.size() == 1);
  CHECK(ep.timers[0] == Timer{d("2026-02-16"), Trigger::phase, Phase::chronic, 0});
}

TEST_CASE("an episode opened chronic has no phase timer", "[time][spec-1]") {
  CHECK(opened({{"onset", "2025-10-13"}}).timers.empty());
}

// ---- phase timers ------------------------------------------------------------------

TEST_CASE("the subacute timer does not fire the day before onset+42", "[time][spec-1]") {
  Episode ep = opened();
  CHECK(advance(ep, d("2026-02-11")) == 0);
  CHECK(ep.phase == Phase::acute);
}

TEST_CASE("the subacute timer fires at onset+42", "[time][spec-1]") {
  Episode ep = opened();
  CHECK(advance(ep, d("2026-02-12")) == 1);
  CHECK(ep.phase == Phase::subacute);
}

TEST_CASE("the chronic timer does not fire the day before onset+84", "[time][spec-1]") {
  Episode ep = opened();
  advance(ep, d("2026-03-25"));
  CHECK(ep.phase == Phase::subacute);
}

TEST_CASE("the chronic timer fires at onset+84", "[time][spec-1]") {
  Episode ep = opened();
  advance(ep, d("2026-02-12"));
  CHECK(advance(ep, d("2026-03-26")) == 1);
  CHECK(ep.phase == Phase::chronic);
}

TEST_CASE("phase changes are recorded in the history as dated transitions", "[time][spec-1]") {
  Episode ep = opened();
  advance(ep, d("2026-04-30"));
  REQUIRE(ep.transitions.size() == 2);
  CHECK(ep.transitions[0] == Transition{d("2026-02-12"), Trigger::phase, "acute", "subacute"});
  CHECK(ep.transitions[1] == Transition{d("2026-03-26"), Trigger::phase, "subacute", "chronic"});
}

TEST_CASE("a phase change keeps the care state", "[time][spec-1]") {
  Episode ep = in_treatment(3);  // first checkpoint only at week 6, 2026-02-16
  advance(ep, d("2026-02-12"));
  CHECK(ep.phase == Phase::subacute);
  CHECK(ep.state == State::treatment);
}

TEST_CASE("an event after onset+42 fires the subacute timer first", "[time][spec-1]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-02-13"}, {"nprs", 5}});
  CHECK(ep.phase == Phase::subacute);
  CHECK(ep.transitions.back() == Transition{d("2026-02-12"), Trigger::phase, "acute", "subacute"});
}

// ---- recurrence ------------------------------------------------------------------------

TEST_CASE("an onset 29 days after the previous episode's end makes the episode recurrent", "[time][spec-1]") {
  CHECK(opened({{"previous_episode_end", "2025-12-03"}}).recurrent);
}

TEST_CASE("an onset 30 days after the previous episode's end does not make the episode recurrent", "[time][spec-1]") {
  CHECK_FALSE(opened({{"previous_episode_end", "2025-12-02"}}).recurrent);
}

TEST_CASE("an onset on the day the previous episode ended makes the episode recurrent", "[time][spec-1]") {
  CHECK(opened({{"previous_episode_end", "2026-01-01"}}).recurrent);
}

TEST_CASE("an episode without a previous episode is not recurrent", "[time][spec-1]") {
  CHECK_FALSE(opened().recurrent);
}

TEST_CASE("a recurrent episode counts previous_episodes as a present factor", "[time][stratification][spec-1][spec-7]") {
  Episode ep = screened({{"previous_episode_end", "2025-12-20"}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"sbst", {0, 0, 0, 0, 0, 0, 0, 0, 0}},
                  {"factors", json::object()}});
  REQUIRE(ep.factors);
  CHECK(*ep.factors == Factors{{Factor::previous_episodes, FactorLevel::present}});
  CHECK(ep.suggested_profile == 2);  // present factor 2 beats a low STarT Back 1
  CHECK(ep.profile == 2);
}

TEST_CASE("a recurrent episode adds previous_episodes to the factors given", "[time][stratification][spec-1][spec-7]") {
  Episode ep = screened({{"previous_episode_end", "2025-12-20"}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"factors", {{"leg_pain", "present"}}}});
  REQUIRE(ep.factors);
  CHECK(*ep.factors == Factors{{Factor::previous_episodes, FactorLevel::present}, {Factor::leg_pain, FactorLevel::present}});
}

TEST_CASE("a recurrent episode keeps previous_episodes dominant when the therapist says so", "[time][stratification][spec-1][spec-7]") {
  Episode ep = screened({{"previous_episode_end", "2025-12-20"}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"factors", {{"previous_episodes", "dominant"}}}});
  CHECK(ep.factors->at(Factor::previous_episodes) == FactorLevel::dominant);
  CHECK(ep.suggested_profile == 3);
}

TEST_CASE("a non-recurrent episode with no factor present and a low STarT Back is suggested profile 1", "[time][stratification][spec-1][spec-7]") {
  Episode ep = screened({{"previous_episode_end", "2025-12-02"}});  // 30 days: not recurrent
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"sbst", {0, 0, 0, 0, 0, 0, 0, 0, 0}},
                  {"factors", json::object()}});
  REQUIRE(ep.factors);
  CHECK(ep.factors->empty());  // previous_episodes not added
  CHECK(ep.suggested_profile == 1);
}
