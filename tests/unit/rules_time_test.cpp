// §1 time: phases, phase timers, recurrence; §2 timer order and terminal states.
#include "rules_fixture.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

TEST_CASE("phase is acute under 42 days since onset, subacute under 84, chronic after", "[time][spec-1]") {
  Date onset = d("2026-01-01");
  CHECK(phase_on(onset, onset + 41) == Phase::acute);
  CHECK(phase_on(onset, onset + 42) == Phase::subacute);
  CHECK(phase_on(onset, onset + 83) == Phase::subacute);
  CHECK(phase_on(onset, onset + 84) == Phase::chronic);
}

TEST_CASE("an episode starts in the phase its onset implies on the day it is opened", "[time][spec-1]") {
  CHECK(opened({{"onset", "2025-11-24"}, {"at", "2026-01-05"}}).phase == Phase::subacute);  // 42 days
  CHECK(opened({{"onset", "2025-10-13"}, {"at", "2026-01-05"}}).phase == Phase::chronic);   // 84 days
  CHECK(opened({{"onset", "2025-11-25"}, {"at", "2026-01-05"}}).phase == Phase::acute);     // 41 days
}

TEST_CASE("phase changes fire at onset+42 and onset+84 and are recorded as transitions", "[time][spec-1]") {
  Episode ep = opened({{"onset", "2026-01-01"}, {"at", "2026-01-05"}});
  CHECK(advance(ep, d("2026-02-11")) == 0);
  CHECK(ep.phase == Phase::acute);
  CHECK(advance(ep, d("2026-02-12")) == 1);
  CHECK(ep.phase == Phase::subacute);
  CHECK(advance(ep, d("2026-03-26")) == 1);
  CHECK(ep.phase == Phase::chronic);
  REQUIRE(ep.transitions.size() == 2);
  CHECK(ep.transitions[0] == Transition{d("2026-02-12"), Trigger::phase, "acute", "subacute"});
  CHECK(ep.transitions[1] == Transition{d("2026-03-26"), Trigger::phase, "subacute", "chronic"});
}

TEST_CASE("an onset less than 30 days after the previous episode's end makes the episode recurrent", "[time][spec-1]") {
  CHECK(opened({{"onset", "2026-01-01"}, {"previous_episode_end", "2025-12-03"}}).recurrent);   // 29 days
  CHECK_FALSE(opened({{"onset", "2026-01-01"}, {"previous_episode_end", "2025-12-02"}}).recurrent);  // 30 days
  CHECK_FALSE(opened({{"onset", "2026-01-01"}}).recurrent);
}

TEST_CASE("a recurrent episode counts previous_episodes as present", "[time][stratification][spec-1][spec-7]") {
  Episode ep = opened({{"previous_episode_end", "2025-12-20"}});
  must_apply(ep, screening());
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"sbst", {0, 0, 0, 0, 0, 0, 0, 0, 0}}});
  CHECK(ep.suggested_profile == 2);
  REQUIRE(ep.factors);
  CHECK(ep.factors->at(Factor::previous_episodes) == FactorLevel::present);
}

TEST_CASE("timers due on the same date fire phase first, then checkpoints", "[time][spec-2]") {
  // onset 2025-12-08: subacute on 2026-01-19; stratified 2025-12-29: week3 on 2026-01-19
  Episode ep = opened({{"onset", "2025-12-08"}, {"at", "2025-12-29"}});
  must_apply(ep, screening("2025-12-29"));
  must_apply(ep, {{"type", "stratification"}, {"at", "2025-12-29"}, {"profile", 1}});
  advance(ep, d("2026-01-19"));
  REQUIRE(ep.transitions.size() == 4);
  CHECK(ep.transitions[2].event == Trigger::phase);
  CHECK(ep.transitions[3].event == Trigger::checkpoint);
  CHECK(ep.state == State::reevaluation_due);
}

TEST_CASE("terminal states accept no clinical event and nothing changes", "[states][spec-2]") {
  Episode ep = opened();
  must_apply(ep, {{"type", "screening"}, {"at", "2026-01-05"}, {"red_flags", {"cauda_equina"}}});
  REQUIRE(ep.state == State::referred);
  Episode before = ep;
  Status s = apply(ep, ev({{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 5}}));
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("not allowed in state 'referred'"));
  CHECK(ep == before);
}

TEST_CASE("an episode that becomes terminal drops its timers and keeps its phase", "[states][spec-2]") {
  Episode ep = in_treatment(2);
  REQUIRE_FALSE(ep.timers.empty());
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-10"}, {"reason", "goals_met"}});
  CHECK(ep.timers.empty());
  CHECK(advance(ep, d("2026-12-31")) == 0);
  CHECK(ep.phase == Phase::acute);
}

TEST_CASE("tasks can still be completed in a terminal state", "[states][tasks][spec-2]") {
  Episode ep = in_treatment(1);
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-10"}, {"reason", "goals_met"}});
  CHECK(complete_task(ep, 1, d("2026-01-11")).ok());
  CHECK(ep.tasks[0].status == TaskStatus::done);
  CHECK_FALSE(complete_task(ep, 1, d("2026-01-11")).ok());  // already done
}

TEST_CASE("an event earlier than the episode's last event is rejected and changes nothing", "[events][spec-3]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-07"));
  Episode before = ep;
  Status s = apply(ep, ev({{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 5}}));
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("before the episode's last event"));
  CHECK(ep == before);
}

TEST_CASE("an event dated before a timer that already fired is rejected", "[events][spec-3]") {
  Episode ep = in_treatment(1);
  advance(ep, d("2026-01-30"));  // week3 fired on 2026-01-26
  Episode before = ep;
  CHECK_FALSE(apply(ep, ev({{"type", "session"}, {"at", "2026-01-20"}})).ok());
  CHECK(ep == before);
  CHECK(apply(ep, ev({{"type", "session"}, {"at", "2026-01-26"}})).ok());
}

TEST_CASE("an event not allowed in the state is rejected naming the state", "[events][spec-3]") {
  Episode ep = opened();
  Status s = apply(ep, ev({{"type", "session"}, {"at", "2026-01-05"}}));
  CHECK(s.message() == "not allowed in state 'intake'");
  s = apply(ep, ev({{"type", "stop"}, {"at", "2026-01-05"}, {"reason", "goals_met"}}));
  CHECK(s.message() == "not allowed in state 'intake'");
}
