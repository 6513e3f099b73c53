// §2 care states: terminal states, timers on terminal entry, completing tasks,
// the order in which timers fire.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {

// One of each clinical event after `open`, dated `at`.
std::vector<json> clinical_events(const std::string& at) {
  return {
      {{"type", "screening"}, {"at", at}},
      {{"type", "stratification"}, {"at", at}, {"profile", 1}, {"factors", json::object()}},
      {{"type", "measurement"}, {"at", at}, {"nprs", 3}},
      {{"type", "session"}, {"at", at}},
      {{"type", "reevaluation"}, {"at", at}, {"judgement", "sufficient"}},
      {{"type", "gp_consult"}, {"at", at}, {"outcome", "continue"}},
      {{"type", "stop"}, {"at", at}, {"reason", "goals_met"}},
      {{"type", "red_flag_review"}, {"at", at}, {"decision", "continue"}, {"note", "mechanical pain"}},
      {{"type", "gp_request"}, {"at", at}, {"question", "how is it going?"}},
  };
}

void check_rejects_every_clinical_event(Episode ep, const std::string& state) {
  for (const json& j : clinical_events("2026-02-01")) {
    INFO(j.dump());
    CHECK_THAT(rejected(ep, j), Catch::Contains("not allowed in state '" + state + "'"));
  }
}

}  // namespace

// ---- terminal states ----------------------------------------------------------------

TEST_CASE("a referred episode rejects every clinical event and nothing changes", "[states][spec-2]") {
  check_rejects_every_clinical_event(referred(), "referred");
}

TEST_CASE("a closed episode rejects every clinical event and nothing changes", "[states][spec-2]") {
  check_rejects_every_clinical_event(closed(), "closed");
}

TEST_CASE("an excluded episode rejects every clinical event and nothing changes", "[states][spec-2]") {
  check_rejects_every_clinical_event(excluded(), "excluded");
}

TEST_CASE("the rejection in a terminal state says the episode has ended", "[states][spec-2]") {
  Episode ep = closed();
  CHECK(rejected(ep, session("2026-01-13")) == "not allowed in state 'closed' (the episode has ended)");
}

TEST_CASE("an episode that becomes terminal drops its timers", "[states][spec-2]") {
  Episode ep = in_treatment(2);
  REQUIRE(ep.timers.size() == 4);  // subacute, chronic, week 3, week 6
  must_apply(ep, stop("2026-01-10"));
  CHECK(ep.timers.empty());
}

TEST_CASE("a terminal episode keeps the phase it ended in", "[states][spec-2]") {
  Episode ep = in_treatment(2);
  must_apply(ep, stop("2026-01-10"));
  size_t transitions = ep.transitions.size();
  CHECK(advance(ep, d("2026-12-31")) == 0);
  CHECK(ep.phase == Phase::acute);
  CHECK(ep.transitions.size() == transitions);
}

TEST_CASE("an episode referred at screening drops its phase timers", "[states][spec-2]") {
  CHECK(referred().timers.empty());
}

// ---- tasks in terminal states ---------------------------------------------------------

TEST_CASE("a task can still be completed in a terminal state", "[states][tasks][spec-2]") {
  Episode ep = closed();
  REQUIRE(task(ep, 1).kind == TaskKind::gp_report_start);
  REQUIRE(complete_task(ep, 1, d("2026-01-13")).ok());
  CHECK(task(ep, 1).status == TaskStatus::done);
  CHECK(task(ep, 1).closed == d("2026-01-13"));
  CHECK(ep.state == State::closed);
}

TEST_CASE("the urgent GP contact of a neuro emergency can be marked done", "[states][tasks][spec-2]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"red_flags", {"cauda_equina"}}}));
  REQUIRE(complete_task(ep, 1, d("2026-01-05")).ok());
  CHECK(task(ep, 1).status == TaskStatus::done);
}

TEST_CASE("a task already done cannot be completed again", "[states][tasks][spec-2]") {
  Episode ep = closed();
  REQUIRE(complete_task(ep, 1, d("2026-01-13")).ok());
  Status s = complete_task(ep, 1, d("2026-01-14"));
  CHECK(s.message() == "task is already done");
  CHECK(task(ep, 1).closed == d("2026-01-13"));
}

TEST_CASE("a cancelled task cannot be completed", "[states][tasks][spec-2]") {
  Episode ep = closed();
  REQUIRE(task(ep, 2).status == TaskStatus::cancelled);  // the week 3 reevaluation
  CHECK(complete_task(ep, 2, d("2026-01-13")).message() == "task is already cancelled");
}

TEST_CASE("a task that does not exist cannot be completed", "[states][tasks][spec-2]") {
  Episode ep = closed();
  CHECK(complete_task(ep, 99, d("2026-01-13")).message() == "no such task");
  CHECK(complete_task(ep, 0, d("2026-01-13")).message() == "no such task");
}

// ---- timer order -------------------------------------------------------------------------

TEST_CASE("timers due on the same date fire phase first, then checkpoints", "[time][spec-2]") {
  // onset 2025-12-08: subacute on 2026-01-19; stratified 2025-12-29: week 3 on 2026-01-19
  Episode ep = opened({{"onset", "2025-12-08"}, {"at", "2025-12-29"}});
  must_apply(ep, screening("2025-12-29"));
  must_apply(ep, {{"type", "stratification"}, {"at", "2025-12-29"}, {"profile", 1}, {"factors", json::object()}});
  CHECK(advance(ep, d("2026-01-19")) == 2);
  REQUIRE(ep.transitions.size() == 4);
  CHECK(ep.transitions[2] == Transition{d("2026-01-19"), Trigger::phase, "acute", "subacute"});
  CHECK(ep.transitions[3] == Transition{d("2026-01-19"), Trigger::checkpoint, "treatment", "reevaluation_due"});
}

TEST_CASE("timers passed over in one advance fire in due order", "[time][spec-2]") {
  Episode ep = in_treatment(1);
  CHECK(advance(ep, d("2026-02-12")) == 2);  // week 3 on 01-26, subacute on 02-12
  REQUIRE(ep.transitions.size() == 4);
  CHECK(ep.transitions[2] == Transition{d("2026-01-26"), Trigger::checkpoint, "treatment", "reevaluation_due"});
  CHECK(ep.transitions[3] == Transition{d("2026-02-12"), Trigger::phase, "acute", "subacute"});
}

TEST_CASE("advancing again to the same day fires nothing", "[time][spec-2]") {
  Episode ep = in_treatment(1);
  advance(ep, d("2026-02-12"));
  Episode after = ep;
  CHECK(advance(ep, d("2026-02-12")) == 0);
  CHECK(ep == after);
}

TEST_CASE("an event fires the timers due on or before its date first", "[time][spec-2]") {
  Episode ep = in_treatment(1);
  must_apply(ep, session("2026-01-26"));  // week 3 is due that day
  CHECK(ep.state == State::reevaluation_due);
  CHECK(ep.sessions == 1);
}

TEST_CASE("an event the day before a checkpoint leaves it pending", "[time][spec-2]") {
  Episode ep = in_treatment(1);
  must_apply(ep, session("2026-01-25"));
  CHECK(ep.state == State::treatment);
  CHECK(ep.next_due() == d("2026-01-26"));
}
