// Revision 2, §4 through the table: rule order, single referral features,
// reclassification, the 48-hour MRC rule, LRS pain, and the red-flag review
// with every way out of it.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {
const json kLrs = {{"complaint", "lrs"}};
json review(const char* at, const char* decision, const char* note = nullptr) {
  json j = {{"type", "red_flag_review"}, {"at", at}, {"decision", decision}};
  if (note) j["note"] = note;
  return j;
}
json continue_(const char* at) { return review(at, "continue", "night sweats from a flu, fever gone"); }
json flags(const char* at, json codes, json extra = json::object()) {
  extra["red_flags"] = std::move(codes);
  return screening(at, extra);
}
bool has_flag(const Episode& ep, RedFlag f) {
  return std::any_of(ep.red_flags.begin(), ep.red_flags.end(), [&](const FlagRecord& r) { return r.flag == f; });
}
std::vector<TaskKind> kinds(const Episode& ep) {
  std::vector<TaskKind> out;
  for (const auto& t : ep.tasks) out.push_back(t.kind);
  return out;
}
using K = std::vector<TaskKind>;
}  // namespace

// ---- rule 3: one fracture or miscellaneous feature ------------------------------------------

TEST_CASE("one fracture or miscellaneous feature refers with reason red_flag and a gp_referral", "[screening][spec-4]") {
  for (const char* code : {"major_trauma", "minor_trauma_with_risk", "increasing_postoperative_pain",
                           "unilateral_pyramidal_signs"}) {
    INFO(code);
    Episode ep = opened();
    must_apply(ep, flags("2026-01-05", {code}));
    CHECK(ep.state == State::referred);
    CHECK(ep.reason == "red_flag");
    CHECK(kinds(ep) == K{TaskKind::gp_referral});
  }
}

TEST_CASE("revision 1: a single fracture feature does nothing", "[screening][spec-4][revision-1]") {
  Episode ep = opened(revision1());
  must_apply(ep, flags("2026-01-05", {"major_trauma"}));
  CHECK(ep.state == State::screened);
  CHECK(ep.tasks.empty());
}

TEST_CASE("a fracture feature wins over severe LRS", "[screening][spec-4]") {
  Episode ep = opened(kLrs);
  must_apply(ep, flags("2026-01-05", {"major_trauma"}, {{"nprs", 9}}));
  CHECK(ep.reason == "red_flag");
}

TEST_CASE("a fracture feature is weighed before an exclusion", "[screening][exclusions][spec-4]") {
  Episode ep = opened();
  must_apply(ep, flags("2026-01-05", {"unilateral_pyramidal_signs"}, {{"exclusions", {"coccygodynia"}}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
}

TEST_CASE("severe LRS wins over two review features", "[screening][spec-4]") {
  Episode ep = opened(kLrs);
  must_apply(ep, flags("2026-01-05", {"night_sweats", "fever_chills"}, {{"nprs", 8}}));
  CHECK(ep.reason == "lrs_severe");
  CHECK(count_tasks(ep, TaskKind::red_flag_review) == 0);
}

TEST_CASE("a child with a red flag is still referred: the age exclusion comes after the red flags", "[screening][exclusions][spec-4]") {
  Episode ep = opened({{"age", 12}});
  must_apply(ep, flags("2026-01-05", {"major_trauma"}));
  CHECK(ep.reason == "red_flag");
}

// ---- reclassification -------------------------------------------------------------------------

TEST_CASE("MRC 4 at screening reclassifies an LBP episode as LRS and emits lrs_check", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 4}}));
  CHECK(ep.complaint == Complaint::lrs);
  CHECK(ep.state == State::screened);
  REQUIRE(kinds(ep) == K{TaskKind::lrs_check});
  CHECK(task(ep, 1).due == d("2026-01-07"));
}

TEST_CASE("complaint lrs at screening reclassifies an LBP episode as LRS", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"complaint", "lrs"}}));
  CHECK(ep.complaint == Complaint::lrs);
  CHECK(count_tasks(ep, TaskKind::lrs_check) == 1);
}

TEST_CASE("MRC 5 at screening keeps an LBP episode LBP", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 5}}));
  CHECK(ep.complaint == Complaint::lbp);
  CHECK(ep.tasks.empty());
}

TEST_CASE("complaint lbp on a screening is rejected: LRS never turns back", "[screening][events][bad-input][spec-4]") {
  CHECK_THAT(parse_error(screening("2026-01-05", {{"complaint", "lbp"}})), Catch::Contains("never turns back"));
}

TEST_CASE("the reclassification stays when the screening then refers", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 4}, {"suspicion", true}}));
  CHECK(ep.reason == "red_flag");
  CHECK(ep.complaint == Complaint::lrs);
  CHECK(count_tasks(ep, TaskKind::lrs_check) == 0);
}

TEST_CASE("a reclassified screening with NPRS 8 refers as lrs_severe", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"complaint", "lrs"}, {"nprs", 8}}));
  CHECK(ep.reason == "lrs_severe");
}

TEST_CASE("lrs_check is emitted once per episode", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 4}}));
  must_apply(ep, screening("2026-01-07", {{"mrc", 4}}));
  CHECK(count_tasks(ep, TaskKind::lrs_check) == 1);
}

TEST_CASE("a first LRS screening ending in a review emits lrs_check", "[screening][spec-4]") {
  Episode ep = opened(kLrs);
  must_apply(ep, review_screening());
  CHECK(ep.state == State::red_flag_review);
  CHECK(kinds(ep) == K{TaskKind::red_flag_review, TaskKind::lrs_check});
}

TEST_CASE("a reclassification after the treatment start schedules lrs_duration at onset+42 when that is later", "[screening][checkpoints][spec-4][spec-8]") {
  Episode ep = in_treatment(1);  // LBP, onset 2026-01-01, start 2026-01-05
  must_apply(ep, screening("2026-01-12", {{"mrc", 4}}));
  CHECK(ep.complaint == Complaint::lrs);
  CHECK(ep.state == State::treatment);
  REQUIRE(ep.tasks.size() == 4);
  CHECK(task(ep, 3).kind == TaskKind::lrs_check);
  CHECK(task(ep, 3).due == d("2026-01-14"));
  CHECK(task(ep, 4).checkpoint == Checkpoint::lrs_duration);
  CHECK(task(ep, 4).due == d("2026-02-12"));  // max(onset+42 02-12, 01-12+14 01-26)
}

TEST_CASE("a reclassification late in treatment schedules lrs_duration two weeks after it", "[screening][checkpoints][spec-4][spec-8]") {
  Episode ep = in_treatment(3);  // week 6 on 2026-02-16
  must_apply(ep, screening("2026-02-05", {{"complaint", "lrs"}}));
  REQUIRE(count_tasks(ep, TaskKind::reevaluation) == 3);
  CHECK(ep.tasks.back().checkpoint == Checkpoint::lrs_duration);
  CHECK(ep.tasks.back().due == d("2026-02-19"));  // max(02-12, 02-05+14)
  advance(ep, d("2026-02-19"));
  CHECK(ep.state == State::reevaluation_due);
}

TEST_CASE("a reclassification before the treatment start schedules lrs_duration only at stratification", "[screening][checkpoints][spec-4][spec-8]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 4}}));
  CHECK(count_tasks(ep, TaskKind::reevaluation) == 0);
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}, {"factors", json::object()}});
  CHECK(count_tasks(ep, TaskKind::reevaluation) == 2);  // week 3, lrs_duration
}

// ---- MRC and the 48-hour rule ------------------------------------------------------------------

TEST_CASE("every MRC is kept with its date, also for LBP", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 5}}));
  must_apply(ep, screening("2026-01-09", {{"mrc", 5}}));
  CHECK(ep.mrc == std::vector<MrcRecord>{{d("2026-01-05"), 5}, {d("2026-01-09"), 5}});
}

TEST_CASE("an MRC fall from 5 to 3 within two days is a neurological emergency", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 5}}));
  must_apply(ep, screening("2026-01-07", {{"mrc", 3}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "neuro_emergency");
  CHECK(kinds(ep) == K{TaskKind::gp_urgent_contact, TaskKind::gp_referral});
  CHECK(has_flag(ep, RedFlag::progressive_motor_weakness));
  CHECK(ep.complaint == Complaint::lrs);
}

TEST_CASE("an MRC fall from 5 to 3 over three days is severe LRS, not an emergency", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 5}}));
  must_apply(ep, screening("2026-01-08", {{"mrc", 3}}));
  CHECK(ep.reason == "lrs_severe");
  CHECK(kinds(ep) == K{TaskKind::gp_referral});
  CHECK_FALSE(has_flag(ep, RedFlag::progressive_motor_weakness));
}

TEST_CASE("an MRC fall from 4 to 3 within two days is a neurological emergency", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 4}}));  // reclassified, screened
  must_apply(ep, screening("2026-01-06", {{"mrc", 3}}));
  CHECK(ep.reason == "neuro_emergency");
}

TEST_CASE("an MRC fall from 5 to 4 within two days is no emergency", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"mrc", 5}}));
  must_apply(ep, screening("2026-01-06", {{"mrc", 4}}));
  CHECK(ep.state == State::screened);
  CHECK(ep.complaint == Complaint::lrs);
}

// ---- LRS pain (§6) -----------------------------------------------------------------------------

TEST_CASE("for LRS a measurement of NPRS 8 refers as lrs_severe", "[measures][spec-6][spec-4]") {
  Episode ep = in_treatment(1, kLrs);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-12"}, {"nprs", 8}});
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "lrs_severe");
  CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
  CHECK(ep.latest.nprs == 8);
}

TEST_CASE("for LRS a measurement of NPRS 7 refers no one", "[measures][spec-6]") {
  Episode ep = in_treatment(1, kLrs);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-12"}, {"nprs", 7}});
  CHECK(ep.state == State::treatment);
}

TEST_CASE("for LRS a measurement of NPRS 9 in intake refers", "[measures][spec-6]") {
  Episode ep = opened(kLrs);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 9}});
  CHECK(ep.reason == "lrs_severe");
}

TEST_CASE("for LBP a measurement of NPRS 10 refers no one", "[measures][spec-6]") {
  Episode ep = in_treatment(1);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-12"}, {"nprs", 10}});
  CHECK(ep.state == State::treatment);
}

TEST_CASE("for LRS a sufficient reevaluation with NPRS 8 refers as lrs_severe", "[reevaluation][spec-6][spec-8]") {
  Episode ep = in_treatment(1, kLrs);
  must_apply(ep, reevaluation("2026-01-12", {{"judgement", "sufficient"}, {"nprs", 8}}));
  CHECK(ep.reason == "lrs_severe");
}

TEST_CASE("for LRS a stop with an end NPRS of 8 refers instead of closing", "[stop][spec-6][spec-10]") {
  Episode ep = in_treatment(1, kLrs);
  must_apply(ep, {{"type", "stop"}, {"at", "2026-01-12"}, {"reason", "goals_met"}, {"nprs", 8}});
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "lrs_severe");
  CHECK(count_tasks(ep, TaskKind::gp_report_close) == 0);
}

// ---- the red-flag review ---------------------------------------------------------------------------

TEST_CASE("two review features move intake to red_flag_review with a review task due that day", "[review][spec-4][spec-2]") {
  Episode ep = in_red_flag_review();
  CHECK(ep.transitions.back() == Transition{d("2026-01-05"), Trigger::screening, "intake", "red_flag_review"});
  REQUIRE(kinds(ep) == K{TaskKind::red_flag_review});
  CHECK(task(ep, 1).due == d("2026-01-05"));
  CHECK(task(ep, 1).status == TaskStatus::open);
}

TEST_CASE("a review's refer refers with reason red_flag and marks the review task done", "[review][spec-4]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, review("2026-01-06", "refer"));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
  CHECK(kinds(ep) == K{TaskKind::red_flag_review, TaskKind::gp_referral});
  CHECK(task(ep, 1).status == TaskStatus::done);
  CHECK(task(ep, 1).closed == d("2026-01-06"));
}

TEST_CASE("a review's continue from intake goes to screened with a red-flag notice and the note", "[review][spec-4]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, continue_("2026-01-06"));
  CHECK(ep.state == State::screened);
  CHECK(kinds(ep) == K{TaskKind::red_flag_review, TaskKind::gp_red_flag_notice});
  CHECK(task(ep, 1).status == TaskStatus::done);
  CHECK(task(ep, 2).due == d("2026-01-06"));
  CHECK(task(ep, 2).status == TaskStatus::open);
  REQUIRE(ep.review_notes.size() == 1);
  CHECK(ep.review_notes[0] == NoteRecord{d("2026-01-06"), "night sweats from a flu, fever gone"});
  CHECK_FALSE(ep.review);
}

TEST_CASE("a review's continue from screened returns to screened", "[review][spec-4]") {
  Episode ep = screened();
  must_apply(ep, review_screening("2026-01-06"));
  REQUIRE(ep.state == State::red_flag_review);
  must_apply(ep, continue_("2026-01-06"));
  CHECK(ep.state == State::screened);
}

TEST_CASE("a review's continue over a pending exclusion excludes with notice, visceral referral and end report in that order", "[review][exclusions][spec-4][spec-10]") {
  Episode ep = opened({{"referred_by", "gp"}});
  must_apply(ep, review_screening("2026-01-05", {{"exclusions", {"visceral"}}}));
  REQUIRE(ep.state == State::red_flag_review);
  must_apply(ep, continue_("2026-01-06"));
  CHECK(ep.state == State::excluded);
  CHECK(ep.reason == "visceral");
  CHECK(kinds(ep) == K{TaskKind::red_flag_review, TaskKind::gp_red_flag_notice, TaskKind::gp_referral,
                       TaskKind::gp_report_close});
  CHECK(task(ep, 1).status == TaskStatus::done);
}

TEST_CASE("a review's continue over the implied age exclusion excludes a child", "[review][exclusions][spec-4][spec-5]") {
  Episode ep = opened({{"age", 14}});
  must_apply(ep, review_screening());
  REQUIRE(ep.state == State::red_flag_review);
  must_apply(ep, continue_("2026-01-05"));
  CHECK(ep.state == State::excluded);
  CHECK(ep.reason == "age_16_or_younger");
}

TEST_CASE("a review's continue returns to treatment when no reevaluation task is due", "[review][spec-4][spec-2]") {
  Episode ep = in_treatment(1);  // week 3 on 2026-01-26
  must_apply(ep, review_screening("2026-01-12"));
  REQUIRE(ep.state == State::red_flag_review);
  must_apply(ep, continue_("2026-01-13"));
  CHECK(ep.state == State::treatment);
  CHECK(ep.transitions.back() == Transition{d("2026-01-13"), Trigger::red_flag_review, "red_flag_review", "treatment"});
}

TEST_CASE("a review's continue from treatment goes to reevaluation_due when a reevaluation task is due", "[review][spec-4][spec-2]") {
  Episode ep = in_treatment(1);
  must_apply(ep, review_screening("2026-01-20"));
  advance(ep, d("2026-01-26"));  // week 3 comes due in the review
  REQUIRE(ep.state == State::red_flag_review);
  must_apply(ep, continue_("2026-01-27"));
  CHECK(ep.state == State::reevaluation_due);
}

TEST_CASE("a review's continue from gp_consultation returns to gp_consultation", "[review][spec-4]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, review_screening("2026-02-17"));
  REQUIRE(ep.state == State::red_flag_review);
  must_apply(ep, continue_("2026-02-18"));
  CHECK(ep.state == State::gp_consultation);
}

TEST_CASE("a stop of any reason in the review refers with reason red_flag and marks the review task done", "[review][stop][spec-4][spec-10]") {
  for (const char* reason : {"goals_met", "patient_request", "red_flag"}) {
    INFO(reason);
    Episode ep = in_red_flag_review();
    must_apply(ep, stop("2026-01-06", reason));
    CHECK(ep.state == State::referred);
    CHECK(ep.reason == "red_flag");
    CHECK(kinds(ep) == K{TaskKind::red_flag_review, TaskKind::gp_referral});
    CHECK(task(ep, 1).status == TaskStatus::done);
  }
}

TEST_CASE("rules 1 to 4 in the review refer and mark the review task done", "[review][spec-4]") {
  struct Case { json screening; const char* reason; };
  for (const Case& c : {Case{flags("2026-01-06", {"widespread_neuro"}), "neuro_emergency"},
                        Case{screening("2026-01-06", {{"suspicion", true}}), "red_flag"},
                        Case{flags("2026-01-06", {"minor_trauma_with_risk"}), "red_flag"},
                        Case{screening("2026-01-06", {{"mrc", 2}}), "lrs_severe"}}) {
    INFO(c.screening.dump());
    Episode ep = in_red_flag_review();
    must_apply(ep, c.screening);
    CHECK(ep.state == State::referred);
    CHECK(ep.reason == c.reason);
    CHECK(task(ep, 1).status == TaskStatus::done);
    CHECK(task(ep, 1).closed == d("2026-01-06"));
  }
}

TEST_CASE("a screening in the review that ends in rule 5 adds no second review task", "[review][spec-4]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, flags("2026-01-06", {"history_of_cancer", "fatigue"}));
  CHECK(ep.state == State::red_flag_review);
  CHECK(count_tasks(ep, TaskKind::red_flag_review) == 1);
}

TEST_CASE("a screening in the review that ends in rule 6 leaves the review and its exclusions join the pending ones", "[review][exclusions][spec-4]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, screening("2026-01-06", {{"exclusions", {"visceral"}}}));
  CHECK(ep.state == State::red_flag_review);
  CHECK(ep.tasks.size() == 1);
  must_apply(ep, continue_("2026-01-07"));
  CHECK(ep.state == State::excluded);
  CHECK(ep.reason == "visceral");
  CHECK(count_tasks(ep, TaskKind::gp_referral) == 1);
}

TEST_CASE("joined exclusions keep the order found: the review screening's exclusion stays the reason", "[review][exclusions][spec-4]") {
  Episode ep = opened();
  must_apply(ep, review_screening("2026-01-05", {{"exclusions", {"pregnancy_related"}}}));
  must_apply(ep, screening("2026-01-06", {{"exclusions", {"coccygodynia"}}}));
  must_apply(ep, continue_("2026-01-07"));
  CHECK(ep.reason == "pregnancy_related");
}

TEST_CASE("after a continue the same review features open no new review", "[review][spec-4]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, continue_("2026-01-05"));
  must_apply(ep, review_screening("2026-01-08"));
  CHECK(ep.state == State::screened);
  CHECK(count_tasks(ep, TaskKind::red_flag_review) == 1);
}

TEST_CASE("after a continue a new review feature code opens a new review", "[review][spec-4]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, continue_("2026-01-05"));
  must_apply(ep, flags("2026-01-08", {"night_sweats", "history_of_cancer"}));
  CHECK(ep.state == State::red_flag_review);
  CHECK(count_tasks(ep, TaskKind::red_flag_review) == 2);
}

TEST_CASE("features of screenings during the review count as reviewed", "[review][spec-4]") {
  Episode ep = in_red_flag_review();                                     // night_sweats, fever_chills
  must_apply(ep, flags("2026-01-06", {"history_of_cancer", "fatigue"}));  // in the review
  must_apply(ep, continue_("2026-01-06"));
  must_apply(ep, flags("2026-01-08", {"fatigue", "night_sweats"}));
  CHECK(ep.state == State::screened);
  CHECK(count_tasks(ep, TaskKind::red_flag_review) == 1);
}

TEST_CASE("a phase change in the review is recorded and the state stays", "[review][time][spec-4][spec-1]") {
  Episode ep = in_red_flag_review();
  advance(ep, d("2026-02-12"));
  CHECK(ep.phase == Phase::subacute);
  CHECK(ep.state == State::red_flag_review);
  CHECK(ep.transitions.back() == Transition{d("2026-02-12"), Trigger::phase, "acute", "subacute"});
}

TEST_CASE("a checkpoint coming due in the review keeps the state and leaves its task open", "[review][checkpoints][spec-4][spec-2]") {
  Episode ep = in_treatment(1);
  must_apply(ep, review_screening("2026-01-20"));
  size_t transitions = ep.transitions.size();
  CHECK(advance(ep, d("2026-01-26")) == 1);
  CHECK(ep.state == State::red_flag_review);
  CHECK(ep.transitions.size() == transitions);
  CHECK(task(ep, 2).checkpoint == Checkpoint::week3);
  CHECK(task(ep, 2).status == TaskStatus::open);
}

TEST_CASE("sessions and reevaluations wait until the review is decided", "[review][events][spec-3]") {
  Episode ep = in_treatment(1);
  must_apply(ep, review_screening("2026-01-12"));
  CHECK(rejected(ep, session("2026-01-12")) == "not allowed in state 'red_flag_review'");
  CHECK(rejected(ep, reevaluation("2026-01-12", {{"judgement", "sufficient"}})) ==
        "not allowed in state 'red_flag_review'");
}

TEST_CASE("for LRS a measurement of NPRS 8 in the review refers and marks the review task done", "[review][measures][spec-4][spec-6]") {
  Episode ep = in_red_flag_review(kLrs);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 8}});
  CHECK(ep.reason == "lrs_severe");
  CHECK(count_tasks(ep, TaskKind::red_flag_review, TaskStatus::done) == 1);
}
