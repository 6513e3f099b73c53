// §8 checkpoints and reevaluation, §9 sessions, §10 stop, §11 tasks.
#include "rules_fixture.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {
json reev(const char* at, json extra) {
  json j = {{"type", "reevaluation"}, {"at", at}};
  j.update(extra);
  return j;
}
}  // namespace

TEST_CASE("checkpoints are weeks 3 for profile 1, 3 and 6 for profile 2, 6 and 12 for profile 3", "[checkpoints][spec-8]") {
  Date start = d("2026-01-05");
  auto weeks = [&](int profile) {
    std::vector<int> out;
    for (auto& c : checkpoints(profile, Complaint::lbp, start, start, start)) out.push_back((c.due - start) / 7);
    return out;
  };
  CHECK(weeks(1) == std::vector{3});
  CHECK(weeks(2) == std::vector{3, 6});
  CHECK(weeks(3) == std::vector{6, 12});
}

TEST_CASE("LRS adds the lrs_duration checkpoint at onset+42 only if after the treatment start", "[checkpoints][spec-8]") {
  auto cps = checkpoints(1, Complaint::lrs, d("2026-01-01"), d("2026-01-05"), d("2026-01-05"));
  REQUIRE(cps.size() == 2);
  CHECK(cps[1].checkpoint == Checkpoint::lrs_duration);
  CHECK(cps[1].due == d("2026-02-12"));
  CHECK(checkpoints(1, Complaint::lrs, d("2025-11-24"), d("2026-01-05"), d("2026-01-05")).size() == 1);  // onset+42 == start
}

TEST_CASE("a checkpoint coming due moves treatment to reevaluation_due", "[checkpoints][spec-8]") {
  Episode ep = in_treatment(1);
  advance(ep, d("2026-01-25"));
  CHECK(ep.state == State::treatment);
  advance(ep, d("2026-01-26"));
  CHECK(ep.state == State::reevaluation_due);
  CHECK(ep.transitions.back() == Transition{d("2026-01-26"), Trigger::checkpoint, "treatment", "reevaluation_due"});
}

TEST_CASE("a checkpoint coming due in gp_consultation changes nothing and leaves its task open", "[checkpoints][spec-8]") {
  Episode ep = in_treatment(3);
  must_apply(ep, reev("2026-02-16", {{"judgement", "insufficient"}}));  // week 6 -> gp_consultation
  REQUIRE(ep.state == State::gp_consultation);
  advance(ep, d("2026-03-30"));
  CHECK(ep.state == State::gp_consultation);
  CHECK(ep.tasks[2].status == TaskStatus::open);  // week12
}

TEST_CASE("a reevaluation marks done the earliest open reevaluation task due on or before its date", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  must_apply(ep, reev("2026-01-20", {{"judgement", "sufficient"}}));  // before week 3: completes nothing
  CHECK(ep.tasks[1].status == TaskStatus::open);
  must_apply(ep, reev("2026-02-20", {{"judgement", "sufficient"}}));  // week3 and week6 past: the earliest
  CHECK(ep.tasks[1].status == TaskStatus::done);
  CHECK(ep.tasks[2].status == TaskStatus::open);
}

TEST_CASE("without a judgement the reevaluation derives one from the 30 percent rule and records it as derived", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(1);  // baseline nprs 6, qbpds 40
  must_apply(ep, reev("2026-01-26", {{"nprs", 4}}));
  CHECK(ep.state == State::treatment);
  REQUIRE(ep.reevaluations.size() == 1);
  CHECK(ep.reevaluations[0].judgement == Judgement::sufficient);
  CHECK(ep.reevaluations[0].derived);
  Episode worse = in_treatment(1);
  must_apply(worse, reev("2026-01-26", {{"nprs", 5}, {"qbpds", 30}}));
  CHECK(worse.reevaluations[0].judgement == Judgement::insufficient);
  CHECK(worse.state == State::referred);
}

TEST_CASE("a reevaluation without judgement or comparable measures is rejected", "[reevaluation][spec-8]") {
  Episode ep = opened();
  must_apply(ep, screening());
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 0}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}});
  Episode before = ep;
  Status s = apply(ep, ev(reev("2026-01-26", {{"nprs", 0}})));  // baseline 0 is not comparable
  CHECK_THAT(s.message(), Catch::Contains("judgement"));
  CHECK(ep == before);
}

TEST_CASE("a sufficient reevaluation continues treatment", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3);
  advance(ep, d("2026-02-16"));
  must_apply(ep, reev("2026-02-16", {{"judgement", "sufficient"}}));
  CHECK(ep.state == State::treatment);
}

TEST_CASE("an insufficient reevaluation at the lrs_duration checkpoint refers as lrs_no_improvement", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}, {"onset", "2025-12-15"}});  // lrs_duration 2026-01-26 == week3
  // week3 task is created first, so the first reevaluation completes week3, the second lrs_duration
  must_apply(ep, reev("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 3);
  Episode lrs = in_treatment(2, {{"complaint", "lrs"}, {"onset", "2025-12-22"}});  // lrs_duration 2026-02-02
  must_apply(lrs, reev("2026-01-26", {{"judgement", "sufficient"}}));
  must_apply(lrs, reev("2026-02-02", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(lrs.state == State::referred);
  CHECK(lrs.reason == "lrs_no_improvement");
  CHECK(lrs.tasks.back().kind == TaskKind::gp_referral);
}

TEST_CASE("profile 1 or 2 with a higher new profile changes profile and reschedules from the treatment start", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  advance(ep, d("2026-01-26"));
  must_apply(ep, reev("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 3);
  CHECK(ep.profile_history.back() == ProfileChange{d("2026-01-26"), 3, std::nullopt, Trigger::reevaluation});
  REQUIRE(ep.tasks.size() == 5);
  CHECK(ep.tasks[1].status == TaskStatus::done);       // week3
  CHECK(ep.tasks[2].status == TaskStatus::cancelled);  // old week6
  CHECK(ep.tasks[3].checkpoint == Checkpoint::week6);
  CHECK(ep.tasks[3].due == d("2026-02-16"));
  CHECK(ep.tasks[4].checkpoint == Checkpoint::week12);
  CHECK(ep.tasks[4].due == d("2026-03-30"));
}

TEST_CASE("profile 1 or 2 without improvement, new insight or higher profile refers as insufficient_improvement", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(1);
  must_apply(ep, reev("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 1}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "insufficient_improvement");
  CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
}

TEST_CASE("profile 1 or 2 with new insights continues treatment", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  must_apply(ep, reev("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 2);
}

TEST_CASE("profile 3 without sufficient reduction before week 12 consults the GP", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3);
  must_apply(ep, reev("2026-03-29", {{"judgement", "insufficient"}}));  // day 83
  CHECK(ep.state == State::gp_consultation);
  CHECK(ep.tasks.back().kind == TaskKind::gp_consultation);
  CHECK(ep.tasks.back().due == d("2026-03-29"));
}

TEST_CASE("profile 3 without sufficient reduction from week 12 is referred with profile3_no_improvement", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(3);
  must_apply(ep, reev("2026-03-30", {{"judgement", "insufficient"}}));  // day 84
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "profile3_no_improvement");
  CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
}

TEST_CASE("the GP consultation outcome continue resumes treatment and refer refers, both completing the task", "[gp][spec-8]") {
  for (const char* outcome : {"continue", "refer"}) {
    Episode ep = in_treatment(3);
    must_apply(ep, reev("2026-02-16", {{"judgement", "insufficient"}}));
    must_apply(ep, {{"type", "gp_consult"}, {"at", "2026-02-20"}, {"outcome", outcome}});
    CHECK(count_tasks(ep, TaskKind::gp_consultation, TaskStatus::done) == 1);
    if (std::string(outcome) == "continue") {
      CHECK(ep.state == State::treatment);
    } else {
      CHECK(ep.state == State::referred);
      CHECK(ep.reason == "gp_consult_referral");
      CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
    }
  }
}

TEST_CASE("becoming terminal cancels open reevaluation and lrs_check tasks but not GP tasks", "[tasks][spec-11]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}});
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-10"}, {"reason", "patient_request"}});
  CHECK(count_tasks(ep, TaskKind::reevaluation, TaskStatus::open) == 0);
  CHECK(count_tasks(ep, TaskKind::lrs_check, TaskStatus::cancelled) == 1);
  CHECK(count_tasks(ep, TaskKind::gp_report_start, TaskStatus::open) == 1);
  CHECK(count_tasks(ep, TaskKind::gp_report_close, TaskStatus::open) == 1);
}

TEST_CASE("the fourth session in profile 1 emits session_limit once", "[sessions][spec-9]") {
  Episode ep = in_treatment(1);
  for (const char* at : {"2026-01-06", "2026-01-07", "2026-01-08"}) must_apply(ep, {{"type", "session"}, {"at", at}});
  CHECK(count_tasks(ep, TaskKind::session_limit) == 0);
  must_apply(ep, {{"type", "session"}, {"at", "2026-01-09"}});
  CHECK(count_tasks(ep, TaskKind::session_limit) == 1);
  CHECK(ep.tasks.back().due == d("2026-01-09"));
  must_apply(ep, {{"type", "session"}, {"at", "2026-01-10"}});
  CHECK(count_tasks(ep, TaskKind::session_limit) == 1);
  CHECK(ep.sessions == 5);
}

TEST_CASE("sessions in profile 2 have no limit", "[sessions][spec-9]") {
  Episode ep = in_treatment(2);
  for (int i = 0; i < 6; ++i) must_apply(ep, {{"type", "session"}, {"at", "2026-01-06"}});
  CHECK(count_tasks(ep, TaskKind::session_limit) == 0);
}

TEST_CASE("every stop reason closes the episode with a gp_report_close due that day", "[stop][spec-10]") {
  for (const char* reason : {"request_met", "goals_met", "no_improvement", "self_sufficient", "not_motivated", "red_flag",
                             "patient_request"}) {
    Episode ep = in_treatment(1);
    must_apply(ep, {{"type", "stop"}, {"at", "2026-01-12"}, {"reason", reason}});
    CHECK(ep.state == State::closed);
    CHECK(ep.reason == reason);
    CHECK(ep.tasks.back().kind == TaskKind::gp_report_close);
    CHECK(ep.tasks.back().due == d("2026-01-12"));
  }
}

TEST_CASE("stop is allowed from screened but not from intake", "[stop][spec-10]") {
  Episode ep = opened();
  CHECK_FALSE(apply(ep, ev({{"type", "stop"}, {"at", "2026-01-05"}, {"reason", "goals_met"}})).ok());
  must_apply(ep, screening());
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-05"}, {"reason", "request_met"}});
  CHECK(ep.state == State::closed);
}
