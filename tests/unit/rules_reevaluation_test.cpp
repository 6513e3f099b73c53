// §8 reevaluation: the checkpoint schedule, checkpoints coming due, which task a
// reevaluation completes, the judgement, outcome rules 1-6, the GP consultation.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {

// The reevaluation tasks as (checkpoint, due) in task order.
std::vector<std::pair<Checkpoint, std::string>> reevaluation_tasks(const Episode& ep) {
  std::vector<std::pair<Checkpoint, std::string>> out;
  for (const auto& t : ep.tasks)
    if (t.kind == TaskKind::reevaluation) out.emplace_back(t.checkpoint.value(), t.due.iso());
  return out;
}
using CP = std::vector<std::pair<Checkpoint, std::string>>;

const Task& last_task(const Episode& ep) {
  REQUIRE_FALSE(ep.tasks.empty());
  return ep.tasks.back();
}

// LRS, onset 2025-12-22: lrs_duration on 2026-02-02. Tasks: 1 lrs_check,
// 2 gp_report_start, 3 week3 (01-26), 4 lrs_duration (02-02)[, 5 week6 (02-16)].
// Week 3 already reevaluated as sufficient.
Episode lrs_before_duration(int profile) {
  Episode ep = in_treatment(profile, {{"complaint", "lrs"}, {"onset", "2025-12-22"}});
  REQUIRE(task(ep, 4).checkpoint == Checkpoint::lrs_duration);
  REQUIRE(task(ep, 4).due == d("2026-02-02"));
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}}));
  REQUIRE(task(ep, 3).status == TaskStatus::done);
  return ep;
}

}  // namespace

// ---- the checkpoint schedule ---------------------------------------------------------

TEST_CASE("profile 1 is reevaluated at week 3", "[checkpoints][spec-8]") {
  CHECK(reevaluation_tasks(in_treatment(1)) == CP{{Checkpoint::week3, "2026-01-26"}});
}

TEST_CASE("profile 2 is reevaluated at weeks 3 and 6", "[checkpoints][spec-8]") {
  CHECK(reevaluation_tasks(in_treatment(2)) == CP{{Checkpoint::week3, "2026-01-26"}, {Checkpoint::week6, "2026-02-16"}});
}

TEST_CASE("profile 3 is reevaluated at weeks 6 and 12", "[checkpoints][spec-8]") {
  CHECK(reevaluation_tasks(in_treatment(3)) == CP{{Checkpoint::week6, "2026-02-16"}, {Checkpoint::week12, "2026-03-30"}});
}

TEST_CASE("LRS schedules lrs_duration at onset+42 when that is later than two weeks after the start", "[checkpoints][spec-8]") {
  CHECK(reevaluation_tasks(in_treatment(1, {{"complaint", "lrs"}})) ==
        CP{{Checkpoint::week3, "2026-01-26"}, {Checkpoint::lrs_duration, "2026-02-12"}});
}

TEST_CASE("LRS with onset+42 before two weeks of treatment schedules lrs_duration two weeks after the start", "[checkpoints][spec-8]") {
  // onset+42 = 2026-01-06, start + 14 = 2026-01-19
  CHECK(reevaluation_tasks(in_treatment(1, {{"complaint", "lrs"}, {"onset", "2025-11-25"}})) ==
        CP{{Checkpoint::lrs_duration, "2026-01-19"}, {Checkpoint::week3, "2026-01-26"}});
}

TEST_CASE("a late LRS presenter gets lrs_duration two weeks after the treatment start", "[checkpoints][spec-8]") {
  // onset+42 = 2026-01-05, the start itself
  CHECK(reevaluation_tasks(in_treatment(1, {{"complaint", "lrs"}, {"onset", "2025-11-24"}})) ==
        CP{{Checkpoint::lrs_duration, "2026-01-19"}, {Checkpoint::week3, "2026-01-26"}});
}

TEST_CASE("revision 1: LRS has lrs_duration at onset+42 only when it lies after the treatment start", "[checkpoints][spec-8][revision-1]") {
  CHECK(reevaluation_tasks(in_treatment(1, revision1({{"complaint", "lrs"}, {"onset", "2025-11-25"}}))) ==
        CP{{Checkpoint::lrs_duration, "2026-01-06"}, {Checkpoint::week3, "2026-01-26"}});
  CHECK(reevaluation_tasks(in_treatment(1, revision1({{"complaint", "lrs"}, {"onset", "2025-11-24"}}))) ==
        CP{{Checkpoint::week3, "2026-01-26"}});
}

TEST_CASE("LBP has no lrs_duration checkpoint", "[checkpoints][spec-8]") {
  CHECK(count_tasks(in_treatment(2), TaskKind::reevaluation) == 2);
}

TEST_CASE("each checkpoint has a timer on its due date", "[checkpoints][spec-8]") {
  Episode ep = in_treatment(2);
  std::vector<Timer> checkpoints;
  for (const auto& t : ep.timers)
    if (t.kind == Trigger::checkpoint) checkpoints.push_back(t);
  REQUIRE(checkpoints.size() == 2);
  CHECK(checkpoints[0] == Timer{d("2026-01-26"), Trigger::checkpoint, Phase::acute, 2});
  CHECK(checkpoints[1] == Timer{d("2026-02-16"), Trigger::checkpoint, Phase::acute, 3});
}

// ---- checkpoints coming due --------------------------------------------------------------

TEST_CASE("a checkpoint coming due moves treatment to reevaluation_due", "[checkpoints][spec-8]") {
  Episode ep = in_treatment(1);
  advance(ep, d("2026-01-26"));
  CHECK(ep.state == State::reevaluation_due);
  CHECK(ep.transitions.back() == Transition{d("2026-01-26"), Trigger::checkpoint, "treatment", "reevaluation_due"});
}

TEST_CASE("the day before a checkpoint the episode stays in treatment", "[checkpoints][spec-8]") {
  Episode ep = in_treatment(1);
  advance(ep, d("2026-01-25"));
  CHECK(ep.state == State::treatment);
}

TEST_CASE("a checkpoint coming due leaves its task open", "[checkpoints][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  CHECK(task(ep, 2).status == TaskStatus::open);
}

TEST_CASE("a checkpoint coming due in gp_consultation changes nothing and leaves its task open", "[checkpoints][spec-8]") {
  Episode ep = in_gp_consultation();
  size_t transitions = ep.transitions.size();
  CHECK(advance(ep, d("2026-03-30")) == 2);  // chronic on 03-26, week 12 on 03-30
  CHECK(ep.state == State::gp_consultation);
  CHECK(task(ep, 3).checkpoint == Checkpoint::week12);
  CHECK(task(ep, 3).status == TaskStatus::open);
  CHECK(ep.transitions.size() == transitions + 1);  // the phase change only
}

TEST_CASE("a second checkpoint coming due in reevaluation_due keeps the state", "[checkpoints][spec-8]") {
  Episode ep = in_treatment(2);
  advance(ep, d("2026-02-16"));
  CHECK(ep.state == State::reevaluation_due);
  int checkpoint_transitions = 0;
  for (const auto& t : ep.transitions) checkpoint_transitions += t.event == Trigger::checkpoint ? 1 : 0;
  CHECK(checkpoint_transitions == 1);
  CHECK(count_tasks(ep, TaskKind::reevaluation, TaskStatus::open) == 2);
}

// ---- which task a reevaluation completes -----------------------------------------------------

TEST_CASE("a reevaluation is allowed in treatment before any checkpoint", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(1);
  must_apply(ep, reevaluation("2026-01-12", {{"judgement", "sufficient"}}));
  CHECK(ep.state == State::treatment);
  REQUIRE(ep.reevaluations.size() == 1);
  CHECK_FALSE(ep.reevaluations[0].checkpoint);
}

TEST_CASE("a reevaluation before a checkpoint leaves its task open", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(1);
  must_apply(ep, reevaluation("2026-01-25", {{"judgement", "sufficient"}}));
  CHECK(task(ep, 2).status == TaskStatus::open);
}

TEST_CASE("a checkpoint still comes due after an earlier reevaluation", "[reevaluation][checkpoints][spec-8]") {
  Episode ep = in_treatment(1);
  must_apply(ep, reevaluation("2026-01-12", {{"judgement", "sufficient"}}));
  advance(ep, d("2026-01-26"));
  CHECK(ep.state == State::reevaluation_due);
}

TEST_CASE("a reevaluation on the checkpoint's date marks its task done", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}}));
  CHECK(task(ep, 2).status == TaskStatus::done);
  CHECK(task(ep, 2).closed == d("2026-01-26"));
}

TEST_CASE("a reevaluation after the checkpoint's date marks its task done", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-29", {{"judgement", "sufficient"}}));
  CHECK(task(ep, 2).status == TaskStatus::done);
  CHECK(task(ep, 2).closed == d("2026-01-29"));
}

TEST_CASE("a reevaluation marks done every open reevaluation task due on or before its date", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  must_apply(ep, reevaluation("2026-02-20", {{"judgement", "sufficient"}}));  // week 3 and week 6 both past
  CHECK(task(ep, 2).status == TaskStatus::done);
  CHECK(task(ep, 3).status == TaskStatus::done);
  CHECK(task(ep, 3).closed == d("2026-02-20"));
  CHECK(ep.reevaluations.back().checkpoint == Checkpoint::week3);  // the earliest it completed
  for (const auto& t : ep.timers) CHECK(t.kind == Trigger::phase);
}

TEST_CASE("a reevaluation leaves open the reevaluation tasks due after its date", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  must_apply(ep, reevaluation("2026-02-15", {{"judgement", "sufficient"}}));
  CHECK(task(ep, 2).status == TaskStatus::done);
  CHECK(task(ep, 3).status == TaskStatus::open);  // week 6, due 02-16
}

TEST_CASE("revision 1: a reevaluation marks done only the earliest of several open tasks due", "[reevaluation][spec-8][revision-1]") {
  Episode ep = in_treatment(2, revision1());
  must_apply(ep, reevaluation("2026-02-20", {{"judgement", "sufficient"}}));
  CHECK(task(ep, 2).status == TaskStatus::done);
  CHECK(task(ep, 3).status == TaskStatus::open);
}

TEST_CASE("a reevaluation records the checkpoint whose task it completed", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(3);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "sufficient"}}));
  REQUIRE(ep.reevaluations.size() == 1);
  CHECK(ep.reevaluations[0].checkpoint == Checkpoint::week6);
}

// ---- the judgement -----------------------------------------------------------------------------

TEST_CASE("a given insufficient judgement decides over improved measures", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(3);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}, {"nprs", 1}}));
  CHECK(ep.reevaluations.back() ==
        ReevaluationRecord{d("2026-02-16"), Judgement::insufficient, false, Checkpoint::week6, true});
  CHECK(ep.state == State::gp_consultation);
}

TEST_CASE("a given sufficient judgement decides over worse measures", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 9}}));
  CHECK(ep.reevaluations.back().judgement == Judgement::sufficient);
  CHECK(ep.reevaluations.back().measured_improvement == false);
  CHECK_FALSE(ep.reevaluations.back().derived);
  CHECK(ep.state == State::treatment);
}

TEST_CASE("a reevaluation without judgement is rejected, whatever its measures", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);  // baseline NPRS 6, QBPDS 40
  for (json extra : {json{{"nprs", 4}}, json{{"nprs", 5}, {"qbpds", 29}}, json{{"psk", {2, 3}}}, json::object()}) {
    INFO(extra.dump());
    CHECK_THAT(rejected(ep, reevaluation("2026-01-26", extra)), Catch::StartsWith("missing field 'judgement'"));
  }
}

TEST_CASE("revision 1: without a judgement an NPRS reduction from 6 to 4 is derived sufficient", "[reevaluation][spec-8][revision-1]") {
  Episode ep = in_treatment(1, revision1());
  advance(ep, d("2026-01-26"));
  must_apply(ep, reevaluation("2026-01-26", {{"nprs", 4}}));
  CHECK(ep.reevaluations.back() == ReevaluationRecord{d("2026-01-26"), Judgement::sufficient, true, Checkpoint::week3, std::nullopt});
  CHECK(ep.state == State::treatment);
}

TEST_CASE("revision 1: without a judgement NPRS 6 to 5 and QBPDS 40 to 29 are derived insufficient", "[reevaluation][spec-8][revision-1]") {
  Episode ep = in_treatment(3, revision1());
  advance(ep, d("2026-02-16"));
  must_apply(ep, reevaluation("2026-02-16", {{"nprs", 5}, {"qbpds", 29}}));
  CHECK(ep.reevaluations.back() == ReevaluationRecord{d("2026-02-16"), Judgement::insufficient, true, Checkpoint::week6, std::nullopt});
  CHECK(ep.state == State::gp_consultation);
}

TEST_CASE("revision 1: a reevaluation without judgement against a baseline of 0 is rejected", "[reevaluation][spec-8][revision-1]") {
  Episode ep = screened(revision1());
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 0}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}});
  CHECK(rejected(ep, reevaluation("2026-01-26", {{"nprs", 0}})) ==
        "no 'judgement' and no NPRS or QBPDS comparable with a non-zero baseline");
}

// ---- measured_improvement: the 30 % rule recorded beside the judgement (§6, §8) ----------------

TEST_CASE("an NPRS reduction from 6 to 4 records measured improvement", "[reevaluation][spec-6][spec-8]") {
  Episode ep = in_reevaluation_due(1);  // baseline NPRS 6, QBPDS 40
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}, {"nprs", 4}}));
  CHECK(ep.reevaluations.back().measured_improvement == true);
  CHECK(ep.reevaluations.back().judgement == Judgement::insufficient);
}

TEST_CASE("an NPRS reduction from 6 to 5 records no measured improvement", "[reevaluation][spec-6][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 5}}));
  CHECK(ep.reevaluations.back().measured_improvement == false);
}

TEST_CASE("a QBPDS reduction from 40 to 28 records measured improvement even if NPRS did not improve", "[reevaluation][spec-6][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 6}, {"qbpds", 28}}));
  CHECK(ep.reevaluations.back().measured_improvement == true);
}

TEST_CASE("NPRS 6 to 5 and QBPDS 40 to 29 record no measured improvement", "[reevaluation][spec-6][spec-8]") {
  Episode ep = in_reevaluation_due(3);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "sufficient"}, {"nprs", 5}, {"qbpds", 29}}));
  CHECK(ep.reevaluations.back().measured_improvement == false);
}

TEST_CASE("measured improvement compares with the baseline, not the latest value", "[reevaluation][spec-6][spec-8]") {
  Episode ep = in_treatment(1);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-12"}, {"nprs", 5}});
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 4}}));  // 6 -> 4 is 33 %; 5 -> 4 would be 20 %
  CHECK(ep.reevaluations.back().measured_improvement == true);
}

TEST_CASE("with an NPRS baseline of 0 measured improvement comes from QBPDS", "[reevaluation][spec-6][spec-8]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 0}, {"qbpds", 40}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}, {"factors", json::object()}});
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 0}, {"qbpds", 28}}));
  CHECK(ep.reevaluations.back().measured_improvement == true);
}

TEST_CASE("measured improvement is null when nothing is comparable", "[reevaluation][spec-6][spec-8]") {
  SECTION("no baseline before the reevaluation: its own value is not one") {
    Episode ep = screened();
    must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}, {"factors", json::object()}});
    must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 5}}));
    CHECK_FALSE(ep.reevaluations.back().measured_improvement);
    CHECK(ep.baseline.nprs == 5);
  }
  SECTION("a baseline of 0") {
    Episode ep = screened();
    must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 0}});
    must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}, {"factors", json::object()}});
    must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 0}}));
    CHECK_FALSE(ep.reevaluations.back().measured_improvement);
  }
  SECTION("neither NPRS nor QBPDS on the reevaluation") {
    Episode ep = in_reevaluation_due(1);
    must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"psk", {2}}}));
    CHECK_FALSE(ep.reevaluations.back().measured_improvement);
  }
}

TEST_CASE("the reevaluation's measures become the latest values", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"nprs", 4}, {"psk", {3}}}));
  CHECK(ep.latest == Measures{4, 40, std::vector{3}});
  CHECK(ep.baseline == Measures{6, 40, std::vector{3}});
}

// ---- outcome rule 1: sufficient ----------------------------------------------------------------

TEST_CASE("a sufficient reevaluation in reevaluation_due returns to treatment", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(3);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "sufficient"}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.transitions.back() == Transition{d("2026-02-16"), Trigger::reevaluation, "reevaluation_due", "treatment"});
}

TEST_CASE("a sufficient reevaluation keeps the profile even when a higher new_profile is given", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"new_profile", 3}}));
  CHECK(ep.profile == 1);
  CHECK(ep.profile_history.size() == 1);
}

TEST_CASE("a sufficient reevaluation at the lrs_duration checkpoint continues treatment", "[reevaluation][spec-8]") {
  Episode ep = lrs_before_duration(1);
  must_apply(ep, reevaluation("2026-02-02", {{"judgement", "sufficient"}}));
  CHECK(ep.state == State::treatment);
  CHECK(task(ep, 4).status == TaskStatus::done);
}

// ---- outcome rule 2: lrs_duration -------------------------------------------------------------

TEST_CASE("an insufficient reevaluation at the lrs_duration checkpoint refers as lrs_no_improvement", "[reevaluation][spec-8]") {
  Episode ep = lrs_before_duration(1);
  must_apply(ep, reevaluation("2026-02-02", {{"judgement", "insufficient"}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "lrs_no_improvement");
  CHECK(ep.reevaluations.back().checkpoint == Checkpoint::lrs_duration);
}

TEST_CASE("an lrs_no_improvement referral emits a gp_referral due that day", "[reevaluation][spec-8][spec-11]") {
  Episode ep = lrs_before_duration(1);
  must_apply(ep, reevaluation("2026-02-02", {{"judgement", "insufficient"}}));
  CHECK(last_task(ep).kind == TaskKind::gp_referral);
  CHECK(last_task(ep).due == d("2026-02-02"));
}

TEST_CASE("the LRS six-weeks rule wins over a higher new profile", "[reevaluation][spec-8]") {
  Episode ep = lrs_before_duration(2);
  must_apply(ep, reevaluation("2026-02-02", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.reason == "lrs_no_improvement");
  CHECK(ep.profile == 2);
}

TEST_CASE("the LRS six-weeks rule wins over the GP consultation of profile 3", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3, {{"complaint", "lrs"}});  // lrs_duration 2026-02-12, week 6 2026-02-16
  must_apply(ep, reevaluation("2026-02-12", {{"judgement", "insufficient"}}));
  CHECK(ep.reason == "lrs_no_improvement");
}

TEST_CASE("an insufficient LRS reevaluation on day 41 of complaints follows the profile rules", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3, {{"complaint", "lrs"}});
  must_apply(ep, reevaluation("2026-02-11", {{"judgement", "insufficient"}}));
  CHECK(ep.state == State::gp_consultation);
}

TEST_CASE("when week 3 and lrs_duration fall on the same day one reevaluation completes both and records week 3", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}, {"onset", "2025-12-15"}});  // onset+42 = 2026-01-26
  REQUIRE(task(ep, 4).checkpoint == Checkpoint::lrs_duration);
  REQUIRE(task(ep, 4).due == d("2026-01-26"));
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}}));
  CHECK(ep.reevaluations.back().checkpoint == Checkpoint::week3);
  CHECK(task(ep, 3).status == TaskStatus::done);
  CHECK(task(ep, 4).status == TaskStatus::done);
  CHECK(ep.state == State::treatment);
}

TEST_CASE("an insufficient LRS reevaluation on the day of six weeks of complaints refers, whatever the new profile", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}, {"onset", "2025-12-15"}});  // onset+42 = 2026-01-26
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.reason == "lrs_no_improvement");
  CHECK(ep.profile == 2);
}

// ---- outcome rule 3: a higher profile -----------------------------------------------------------

TEST_CASE("profile 1 with a higher new profile changes profile and continues treatment", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 2);
}

TEST_CASE("profile 2 with new profile 3 changes profile and continues treatment", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 3);
}

TEST_CASE("a profile change is recorded in the profile history", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  REQUIRE(ep.profile_history.size() == 2);
  CHECK(ep.profile_history[1] == ProfileChange{d("2026-01-26"), 3, std::nullopt, Trigger::reevaluation});
}

TEST_CASE("a profile change cancels the open future reevaluation tasks", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(task(ep, 3).checkpoint == Checkpoint::week6);
  CHECK(task(ep, 3).status == TaskStatus::cancelled);
  CHECK(task(ep, 3).closed == d("2026-01-26"));
  for (const auto& t : ep.timers) CHECK(t.task_seq != 3);
}

TEST_CASE("a profile change schedules the new profile's checkpoints counted from the treatment start", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  REQUIRE(ep.tasks.size() == 5);
  CHECK(task(ep, 4).checkpoint == Checkpoint::week6);
  CHECK(task(ep, 4).due == d("2026-02-16"));
  CHECK(task(ep, 4).created == d("2026-01-26"));
  CHECK(task(ep, 4).status == TaskStatus::open);
  CHECK(task(ep, 5).checkpoint == Checkpoint::week12);
  CHECK(task(ep, 5).due == d("2026-03-30"));
}

TEST_CASE("a profile change schedules no new checkpoint on or before its date", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  // profile 2 from 2026-01-05: week 3 (01-26) is not after the reevaluation, week 6 (02-16) is
  REQUIRE(ep.tasks.size() == 3);
  CHECK(task(ep, 3).checkpoint == Checkpoint::week6);
  CHECK(task(ep, 3).due == d("2026-02-16"));
}

TEST_CASE("an early profile change cancels the pending checkpoint and schedules the new ones", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(1);
  must_apply(ep, reevaluation("2026-01-12", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  CHECK(task(ep, 2).status == TaskStatus::cancelled);
  REQUIRE(ep.tasks.size() == 4);
  CHECK(task(ep, 3).checkpoint == Checkpoint::week3);
  CHECK(task(ep, 3).due == d("2026-01-26"));
  CHECK(task(ep, 4).checkpoint == Checkpoint::week6);
  CHECK(task(ep, 4).due == d("2026-02-16"));
}

TEST_CASE("a late profile change from 1 completes the tasks due and schedules the new profile's later checkpoints", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(1);
  // week 3 (01-26) is due; profile 3 from 01-05 has week 6 (02-16), which is not after 02-20, and week 12 (03-30)
  must_apply(ep, reevaluation("2026-02-20", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.state == State::treatment);
  CHECK(task(ep, 2).status == TaskStatus::done);
  REQUIRE(ep.tasks.size() == 3);
  CHECK(task(ep, 3).checkpoint == Checkpoint::week12);
  CHECK(task(ep, 3).due == d("2026-03-30"));
}

TEST_CASE("a higher new profile given with new insights changes the profile", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 2}, {"new_insights", true}}));
  CHECK(ep.profile == 2);
  CHECK(ep.profile_history.size() == 2);
}

TEST_CASE("the new profile's checkpoints come due", "[reevaluation][checkpoints][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  advance(ep, d("2026-02-15"));
  CHECK(ep.state == State::treatment);
  advance(ep, d("2026-02-16"));
  CHECK(ep.state == State::reevaluation_due);
}

TEST_CASE("a profile change keeps an open lrs_duration task open: it belongs to the episode", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(1, {{"complaint", "lrs"}});  // 3 week3 01-26, 4 lrs_duration 02-12
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  CHECK(task(ep, 4).checkpoint == Checkpoint::lrs_duration);
  CHECK(task(ep, 4).status == TaskStatus::open);
  REQUIRE(ep.tasks.size() == 5);
  CHECK(task(ep, 5).checkpoint == Checkpoint::week6);
  CHECK(task(ep, 5).due == d("2026-02-16"));
}

TEST_CASE("a new_profile equal to the current profile is rejected and nothing changes", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  CHECK(rejected(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 2}})) ==
        "field 'new_profile': 2 is not higher than the current profile 2 (the pathway only steps up, §8)");
}

TEST_CASE("a lower new_profile is rejected, also with a sufficient judgement", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  CHECK_THAT(rejected(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 1}})),
             Catch::Contains("not higher than the current profile 2"));
  CHECK_THAT(rejected(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}, {"new_profile", 1}})),
             Catch::Contains("not higher than the current profile 2"));
}

TEST_CASE("profile 3 has no higher profile: any new_profile is rejected", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(3);
  CHECK_THAT(rejected(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}, {"new_profile", 3}})),
             Catch::Contains("not higher than the current profile 3"));
}

// ---- outcome rule 4: profile 1 or 2 otherwise --------------------------------------------------

TEST_CASE("profile 1 without sufficient improvement refers as insufficient_improvement", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "insufficient_improvement");
}

TEST_CASE("profile 2 without sufficient improvement refers as insufficient_improvement", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"nprs", 5}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "insufficient_improvement");
}

TEST_CASE("an insufficient_improvement referral emits a gp_referral due that day", "[reevaluation][spec-8][spec-11]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-27", {{"judgement", "insufficient"}}));
  CHECK(last_task(ep).kind == TaskKind::gp_referral);
  CHECK(last_task(ep).due == d("2026-01-27"));
}

TEST_CASE("profile 1 or 2 with new insights continues treatment in the same profile", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 2);
  CHECK(task(ep, 3).status == TaskStatus::open);  // week 6 stays
}

// ---- outcome rules 5 and 6: profile 3 -------------------------------------------------------------

TEST_CASE("profile 3 without sufficient reduction at week 6 consults the GP", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(3);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}}));
  CHECK(ep.state == State::gp_consultation);
  CHECK(last_task(ep).kind == TaskKind::gp_consultation);
  CHECK(last_task(ep).due == d("2026-02-16"));
}

TEST_CASE("profile 3 without sufficient reduction on day 83 of treatment consults the GP", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3);
  must_apply(ep, reevaluation("2026-03-29", {{"judgement", "insufficient"}}));
  CHECK(ep.state == State::gp_consultation);
}

TEST_CASE("profile 3 with new insights but without sufficient reduction still consults the GP", "[reevaluation][spec-8]") {
  Episode ep = in_reevaluation_due(3);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.state == State::gp_consultation);
}

TEST_CASE("profile 3 without sufficient reduction at week 12 is referred as profile3_no_improvement", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3);
  must_apply(ep, reevaluation("2026-03-30", {{"judgement", "insufficient"}}));  // day 84
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "profile3_no_improvement");
}

TEST_CASE("profile 3 without sufficient reduction after week 12 is referred as profile3_no_improvement", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3);
  must_apply(ep, reevaluation("2026-04-20", {{"judgement", "insufficient"}}));
  CHECK(ep.reason == "profile3_no_improvement");
}

TEST_CASE("a profile3_no_improvement referral emits a gp_referral due that day", "[reevaluation][spec-8][spec-11]") {
  Episode ep = in_treatment(3);
  must_apply(ep, reevaluation("2026-03-30", {{"judgement", "insufficient"}}));
  CHECK(last_task(ep).kind == TaskKind::gp_referral);
  CHECK(last_task(ep).due == d("2026-03-30"));
}

TEST_CASE("week 12 is counted from the treatment start", "[reevaluation][spec-8]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-12"}, {"profile", 3}, {"factors", json::object()}});
  must_apply(ep, reevaluation("2026-04-05", {{"judgement", "insufficient"}}));  // day 83 since 01-12
  CHECK(ep.state == State::gp_consultation);
}

// ---- the GP consultation -------------------------------------------------------------------------

TEST_CASE("gp_consult continue resumes treatment", "[gp][spec-8]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", "continue"}});
  CHECK(ep.state == State::treatment);
  CHECK(ep.transitions.back() == Transition{d("2026-02-20"), Trigger::gp_consult, "gp_consultation", "treatment"});
}

TEST_CASE("gp_consult continue marks the gp_consultation task done", "[gp][spec-8]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", "continue"}});
  CHECK(last_task(ep).kind == TaskKind::gp_consultation);
  CHECK(last_task(ep).status == TaskStatus::done);
  CHECK(last_task(ep).closed == d("2026-02-20"));
}

TEST_CASE("gp_consult refer refers as gp_consult_referral", "[gp][spec-8]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", "refer"}});
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "gp_consult_referral");
  CHECK(last_task(ep).kind == TaskKind::gp_referral);
  CHECK(last_task(ep).due == d("2026-02-20"));
}

TEST_CASE("gp_consult refer marks the gp_consultation task done", "[gp][spec-8]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", "refer"}});
  CHECK(count_tasks(ep, TaskKind::gp_consultation, TaskStatus::done) == 1);
  CHECK(count_tasks(ep, TaskKind::gp_consultation, TaskStatus::open) == 0);
}

TEST_CASE("after gp_consult continue the next checkpoint comes due again", "[gp][checkpoints][spec-8]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", "continue"}});
  advance(ep, d("2026-03-30"));
  CHECK(ep.state == State::reevaluation_due);
}

// ---- terminal entry (§8, §11) ---------------------------------------------------------------------

TEST_CASE("a referral cancels the open reevaluation tasks", "[reevaluation][tasks][spec-8][spec-11]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}}));
  CHECK(task(ep, 2).status == TaskStatus::done);  // completed by the reevaluation
  CHECK(task(ep, 3).status == TaskStatus::cancelled);
  CHECK(task(ep, 3).closed == d("2026-01-26"));
}

TEST_CASE("a referral leaves the GP tasks open", "[reevaluation][tasks][spec-8][spec-11]") {
  Episode ep = in_reevaluation_due(2);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}}));
  CHECK(task(ep, 1).kind == TaskKind::gp_report_start);
  CHECK(task(ep, 1).status == TaskStatus::open);
  CHECK(last_task(ep).status == TaskStatus::open);  // gp_referral
}

TEST_CASE("a GP referral after a consultation cancels the open week 12 reevaluation task", "[gp][tasks][spec-8][spec-11]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", "refer"}});
  CHECK(task(ep, 3).checkpoint == Checkpoint::week12);
  CHECK(task(ep, 3).status == TaskStatus::cancelled);
}
