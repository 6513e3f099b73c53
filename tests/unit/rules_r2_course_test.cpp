// Revision 2 through the table: the outcome rules of §8 in their order, the
// follow-up checkpoint, returning to treatment (§2), the interim report (§11),
// stopping and the end report (§10), and episodes of revision 1 beside those of
// revision 2.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {
const json kLrs = {{"complaint", "lrs"}};
json gp_consult(const char* at, const char* outcome) { return {{"type", "gp_consult"}, {"at", at}, {"outcome", outcome}}; }
// The open reevaluation tasks with checkpoint `cp`.
std::vector<const Task*> open_checkpoints(const Episode& ep, Checkpoint cp) {
  std::vector<const Task*> out;
  for (const auto& t : ep.tasks)
    if (t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && t.checkpoint == cp) out.push_back(&t);
  return out;
}
std::vector<TaskKind> kinds(const Episode& ep) {
  std::vector<TaskKind> out;
  for (const auto& t : ep.tasks) out.push_back(t.kind);
  return out;
}
using K = std::vector<TaskKind>;
}  // namespace

// ---- outcome rule 2: LRS after six weeks of complaints, by date ---------------------------------

TEST_CASE("an insufficient LRS reevaluation at six weeks of complaints refers before its lrs_duration checkpoint", "[reevaluation][spec-8]") {
  // onset 2025-12-01: onset+42 = 2026-01-12; lrs_duration at start+14 = 2026-01-19
  Episode ep = in_treatment(1, {{"complaint", "lrs"}, {"onset", "2025-12-01"}});
  must_apply(ep, reevaluation("2026-01-14", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "lrs_no_improvement");
  CHECK_FALSE(ep.reevaluations.back().checkpoint);  // it completed no checkpoint
  CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
}

TEST_CASE("revision 1: an insufficient LRS reevaluation refers only at its lrs_duration checkpoint", "[reevaluation][spec-8][revision-1]") {
  Episode ep = in_treatment(1, revision1({{"complaint", "lrs"}, {"onset", "2025-12-01"}}));  // lrs_duration 2026-01-12
  must_apply(ep, reevaluation("2026-01-10", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.state == State::treatment);
  must_apply(ep, reevaluation("2026-01-12", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.reason == "lrs_no_improvement");
}

// ---- outcome rule 3: profile 2 from week 6 ---------------------------------------------------------

TEST_CASE("profile 2 without sufficient reduction at week 6 consults the GP", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  advance(ep, d("2026-02-16"));
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}}));
  CHECK(ep.state == State::gp_consultation);
  CHECK(ep.tasks.back().kind == TaskKind::gp_consultation);
  CHECK(ep.tasks.back().due == d("2026-02-16"));
}

TEST_CASE("profile 2 without sufficient reduction on day 41 of treatment is referred", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  must_apply(ep, reevaluation("2026-02-15", {{"judgement", "insufficient"}}));
  CHECK(ep.reason == "insufficient_improvement");
}

TEST_CASE("profile 2 at week 6 consults the GP even with a higher new profile, which has no effect", "[reevaluation][spec-8]") {
  Episode ep = in_treatment(2);
  must_apply(ep, reevaluation("2026-02-20", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.state == State::gp_consultation);
  CHECK(ep.profile == 2);
  CHECK(ep.profile_history.size() == 1);
}

TEST_CASE("revision 1: profile 2 at week 6 with a higher new profile changes profile", "[reevaluation][spec-8][revision-1]") {
  Episode ep = in_treatment(2, revision1());
  must_apply(ep, reevaluation("2026-02-20", {{"judgement", "insufficient"}, {"new_profile", 3}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 3);
}

// ---- outcome rules 4 and 5 and the follow-up ------------------------------------------------------

TEST_CASE("new insights keep profile 1 in treatment with a follow-up three weeks later", "[reevaluation][followup][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 1);
  auto followups = open_checkpoints(ep, Checkpoint::followup);
  REQUIRE(followups.size() == 1);
  CHECK(followups[0]->due == d("2026-02-16"));
  CHECK(followups[0]->created == d("2026-01-26"));
}

TEST_CASE("a follow-up checkpoint comes due like any checkpoint", "[reevaluation][followup][checkpoints][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}}));
  advance(ep, d("2026-02-15"));
  CHECK(ep.state == State::treatment);
  advance(ep, d("2026-02-16"));
  CHECK(ep.state == State::reevaluation_due);
}

TEST_CASE("no follow-up when a later reevaluation task is open", "[reevaluation][followup][spec-8]") {
  Episode ep = in_reevaluation_due(2);  // week 6 on 2026-02-16 still open
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(ep.state == State::treatment);
  CHECK(open_checkpoints(ep, Checkpoint::followup).empty());
}

TEST_CASE("a profile change without later checkpoints schedules a follow-up", "[reevaluation][followup][spec-8]") {
  Episode ep = in_treatment(1);
  // profile 2 from 2026-01-05 has weeks 3 and 6, both before 2026-02-20
  must_apply(ep, reevaluation("2026-02-20", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 2);
  CHECK(open_checkpoints(ep, Checkpoint::week3).empty());
  CHECK(open_checkpoints(ep, Checkpoint::week6).empty());
  auto followups = open_checkpoints(ep, Checkpoint::followup);
  REQUIRE(followups.size() == 1);
  CHECK(followups[0]->due == d("2026-03-13"));
}

TEST_CASE("a profile change with a later checkpoint schedules no follow-up", "[reevaluation][followup][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  CHECK(open_checkpoints(ep, Checkpoint::week6).size() == 1);
  CHECK(open_checkpoints(ep, Checkpoint::followup).empty());
}

TEST_CASE("a profile change cancels an open follow-up due after it", "[reevaluation][followup][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}}));  // follow-up 02-16
  REQUIRE(open_checkpoints(ep, Checkpoint::followup).size() == 1);
  int followup_seq = open_checkpoints(ep, Checkpoint::followup)[0]->seq;
  must_apply(ep, reevaluation("2026-02-02", {{"judgement", "insufficient"}, {"new_profile", 2}}));
  CHECK(task(ep, followup_seq).status == TaskStatus::cancelled);
  CHECK(open_checkpoints(ep, Checkpoint::week6).size() == 1);  // profile 2's week 6, 2026-02-16
}

TEST_CASE("a sufficient reevaluation schedules no follow-up", "[reevaluation][followup][spec-8]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "sufficient"}}));
  CHECK(open_checkpoints(ep, Checkpoint::followup).empty());
}

TEST_CASE("revision 1: new insights schedule no follow-up", "[reevaluation][followup][spec-8][revision-1]") {
  Episode ep = in_treatment(1, revision1());
  advance(ep, d("2026-01-26"));
  must_apply(ep, reevaluation("2026-01-26", {{"judgement", "insufficient"}, {"new_insights", true}}));
  CHECK(count_tasks(ep, TaskKind::reevaluation) == 1);
}

// ---- the GP's answer and returning to treatment (§2, §8) ----------------------------------------

TEST_CASE("gp_consult continue without a later reevaluation task returns to treatment with a follow-up", "[gp][followup][spec-8]") {
  Episode ep = in_treatment(2);
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}}));  // completes weeks 3 and 6
  REQUIRE(ep.state == State::gp_consultation);
  must_apply(ep, gp_consult("2026-02-20", "continue"));
  CHECK(ep.state == State::treatment);
  auto followups = open_checkpoints(ep, Checkpoint::followup);
  REQUIRE(followups.size() == 1);
  CHECK(followups[0]->due == d("2026-03-13"));
}

TEST_CASE("gp_consult continue with a later reevaluation task open schedules no follow-up", "[gp][followup][spec-8]") {
  Episode ep = in_gp_consultation();  // week 12 on 2026-03-30 open
  must_apply(ep, gp_consult("2026-02-20", "continue"));
  CHECK(ep.state == State::treatment);
  CHECK(open_checkpoints(ep, Checkpoint::followup).empty());
}

TEST_CASE("gp_consult continue goes to reevaluation_due when a reevaluation task is due", "[gp][spec-8][spec-2]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, gp_consult("2026-04-01", "continue"));  // week 12 came due on 2026-03-30
  CHECK(ep.state == State::reevaluation_due);
  CHECK(ep.transitions.back() == Transition{d("2026-04-01"), Trigger::gp_consult, "gp_consultation", "reevaluation_due"});
  CHECK(count_tasks(ep, TaskKind::gp_consultation, TaskStatus::done) == 1);
}

TEST_CASE("revision 1: gp_consult continue returns to treatment even when a task is due", "[gp][spec-8][revision-1]") {
  Episode ep = in_treatment(3, revision1());
  must_apply(ep, reevaluation("2026-02-16", {{"judgement", "insufficient"}}));
  REQUIRE(ep.state == State::gp_consultation);
  must_apply(ep, gp_consult("2026-04-01", "continue"));
  CHECK(ep.state == State::treatment);
}

// ---- §11 the interim report -----------------------------------------------------------------------

TEST_CASE("gp_request emits gp_report_interim due that day and records the question", "[gp][tasks][spec-11][spec-3]") {
  Episode ep = in_treatment(1);
  must_apply(ep, {{"type", "gp_request"}, {"at", "2026-01-12"}, {"question", "Is she back at work?"}});
  CHECK(ep.state == State::treatment);
  CHECK(ep.tasks.back().kind == TaskKind::gp_report_interim);
  CHECK(ep.tasks.back().due == d("2026-01-12"));
  CHECK(ep.gp_questions == std::vector<NoteRecord>{{d("2026-01-12"), "Is she back at work?"}});
}

TEST_CASE("gp_request without a question still emits the interim report", "[gp][tasks][spec-11]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "gp_request"}, {"at", "2026-01-06"}});
  CHECK(kinds(ep) == K{TaskKind::gp_report_interim});
  CHECK(ep.gp_questions.size() == 1);
}

TEST_CASE("gp_request is not allowed in intake", "[gp][events][spec-3][spec-11]") {
  Episode ep = opened();
  CHECK(rejected(ep, {{"type", "gp_request"}, {"at", "2026-01-05"}}) == "not allowed in state 'intake'");
}

// ---- §10 stop ----------------------------------------------------------------------------------------

TEST_CASE("a stop in intake closes the episode", "[stop][spec-10]") {
  Episode ep = opened();
  must_apply(ep, stop("2026-01-05", "patient_request"));
  CHECK(ep.state == State::closed);
  CHECK(ep.reason == "patient_request");
  CHECK(ep.tasks.empty());  // direct access, no treatment: no end report
}

TEST_CASE("a stop's end measurement becomes the latest values", "[stop][measures][spec-10][spec-6]") {
  Episode ep = in_treatment(1);  // baseline NPRS 6, QBPDS 40
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-19"}, {"reason", "goals_met"}, {"nprs", 2}, {"qbpds", 10}, {"psk", {1}}});
  CHECK(ep.state == State::closed);
  CHECK(ep.latest == Measures{2, 10, std::vector{1}});
  CHECK(ep.baseline == Measures{6, 40, std::vector{1}});
}

TEST_CASE("a stop's end measurement is the baseline when nothing was measured before", "[stop][measures][spec-10][spec-6]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-06"}, {"reason", "request_met"}, {"nprs", 4}});
  CHECK(ep.baseline.nprs == 4);
  CHECK(ep.latest.nprs == 4);
}

TEST_CASE("a stop for a red flag refers with reason red_flag and a gp_referral", "[stop][spec-10][spec-4]") {
  Episode ep = in_treatment(1);
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-12"}, {"reason", "red_flag"}, {"red_flags", {"history_of_cancer"}}});
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
  CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
  CHECK(count_tasks(ep, TaskKind::gp_report_close) == 0);
  REQUIRE(ep.red_flags.size() == 1);
  CHECK(ep.red_flags[0] == FlagRecord{d("2026-01-12"), RedFlag::history_of_cancer});
}

TEST_CASE("a stop for a red flag in intake refers", "[stop][spec-10]") {
  Episode ep = opened();
  must_apply(ep, stop("2026-01-05", "red_flag"));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
}

TEST_CASE("a stop for a neuro_emergency red flag refers urgently with phone call and referral", "[stop][spec-10][spec-4]") {
  Episode ep = in_treatment(1);
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-12"}, {"reason", "red_flag"}, {"red_flags", {"cauda_equina"}}});
  CHECK(ep.reason == "neuro_emergency");
  REQUIRE(ep.tasks.size() >= 2);
  CHECK(ep.tasks[ep.tasks.size() - 2].kind == TaskKind::gp_urgent_contact);
  CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
}

TEST_CASE("on a stop a neuro_emergency feature comes before LRS pain, LRS pain before the red flag", "[stop][spec-10][spec-6]") {
  Episode ep = in_treatment(1, kLrs);
  Episode ep2 = ep;
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-12"}, {"reason", "red_flag"}, {"red_flags", {"cauda_equina"}}, {"nprs", 9}});
  CHECK(ep.reason == "neuro_emergency");
  must_apply(ep2, {{"type", "stop"}, {"at", "2026-01-12"}, {"reason", "red_flag"}, {"red_flags", {"fatigue"}}, {"nprs", 9}});
  CHECK(ep2.reason == "lrs_severe");
}

TEST_CASE("red_flags on a stop for another reason are rejected", "[stop][events][bad-input][spec-10]") {
  CHECK(parse_error({{"type", "stop"}, {"at", "2026-01-12"}, {"reason", "goals_met"}, {"red_flags", {"fatigue"}}}) ==
        "field 'red_flags': only a stop for reason 'red_flag' carries red flags (§10)");
}

// ---- §10 the end report --------------------------------------------------------------------------------

TEST_CASE("a patient referred by the GP who stops before treatment gets gp_report_close", "[stop][spec-10]") {
  for (const char* by : {"gp", "specialist"}) {
    INFO(by);
    Episode ep = screened({{"referred_by", by}});
    must_apply(ep, stop("2026-01-06", "request_met"));
    CHECK(kinds(ep) == K{TaskKind::gp_report_close});
    CHECK(ep.referred_by == (std::string(by) == "gp" ? ReferredBy::gp : ReferredBy::specialist));
  }
}

TEST_CASE("a patient referred by the GP who is excluded at intake gets gp_report_close", "[exclusions][spec-10][spec-4]") {
  Episode ep = opened({{"referred_by", "gp"}});
  must_apply(ep, screening("2026-01-05", {{"exclusions", {"coccygodynia"}}}));
  CHECK(kinds(ep) == K{TaskKind::gp_report_close});
}

TEST_CASE("a visceral exclusion lists gp_referral before gp_report_close", "[exclusions][spec-10][spec-4]") {
  Episode ep = in_treatment(1);
  must_apply(ep, screening("2026-01-12", {{"exclusions", {"visceral"}}}));
  REQUIRE(ep.tasks.size() >= 2);
  CHECK(ep.tasks[ep.tasks.size() - 2].kind == TaskKind::gp_referral);
  CHECK(ep.tasks.back().kind == TaskKind::gp_report_close);
}

TEST_CASE("a direct-access patient excluded after the treatment start gets gp_report_close", "[exclusions][spec-10]") {
  Episode ep = in_treatment(1);
  must_apply(ep, screening("2026-01-12", {{"exclusions", {"pregnancy_related"}}}));
  CHECK(ep.tasks.back().kind == TaskKind::gp_report_close);
}

TEST_CASE("a direct-access patient is the default of open", "[events][spec-3]") {
  CHECK(opened().referred_by == ReferredBy::self);
}

// ---- revisions ------------------------------------------------------------------------------------------

TEST_CASE("a new episode is opened under revision 2, an open with revision 1 under revision 1", "[revision][spec-3]") {
  CHECK(opened().revision == 2);
  CHECK(opened(revision1()).revision == 1);
}

TEST_CASE("a revision-1 episode still behaves as revision 1 while a revision-2 one does not", "[revision][revision-1][spec-4][spec-10]") {
  Episode r1 = in_treatment(1, revision1());
  Episode r2 = in_treatment(1);
  for (Episode* ep : {&r1, &r2}) must_apply(*ep, screening("2026-01-12", {{"red_flags", {"major_trauma", "fever_chills"}}}));
  CHECK(r1.state == State::treatment);
  CHECK(r2.state == State::referred);
  must_apply(r1, screening("2026-01-12", {{"mrc", 4}}));
  CHECK(r1.complaint == Complaint::lbp);  // revision 1 does not reclassify
  CHECK(r1.state == State::treatment);
  Episode s1 = in_treatment(1, revision1());
  Episode s2 = in_treatment(1);
  for (Episode* ep : {&s1, &s2}) must_apply(*ep, stop("2026-01-12", "red_flag"));
  CHECK(s1.state == State::closed);
  CHECK(s2.state == State::referred);
}

TEST_CASE("a revision-1 episode rejects the fields and events of revision 2", "[revision][revision-1][spec-3]") {
  Episode ep = in_treatment(1, revision1());
  CHECK(rejected(ep, screening("2026-01-12", {{"complaint", "lrs"}})) ==
        "unknown field 'complaint' (the episode follows pathway revision 1)");
  CHECK(rejected(ep, {{"type", "stop"}, {"at", "2026-01-12"}, {"reason", "goals_met"}, {"nprs", 3}}) ==
        "unknown field 'nprs' (the episode follows pathway revision 1)");
  CHECK(rejected(ep, {{"type", "gp_request"}, {"at", "2026-01-12"}}) == "not allowed in state 'treatment'");
  auto r = open_episode("ep-t", "P-t", ev(open_event(revision1({{"referred_by", "gp"}}))));
  REQUIRE_FALSE(r.ok());
  CHECK(r.message() == "unknown field 'referred_by' (the episode follows pathway revision 1)");
}
