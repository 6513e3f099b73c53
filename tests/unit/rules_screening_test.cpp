// §4 red flags (rules 1-5 in order of precedence, clusters, lrs_check), §5 exclusions.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {
json flags(std::initializer_list<const char*> codes, json extra = json::object()) {
  json f = json::array();
  for (const char* c : codes) f.push_back(c);
  extra["red_flags"] = f;
  return screening("2026-01-05", extra);
}
Episode screened_with(const json& screening_event, const json& open_changes = json::object()) {
  Episode ep = opened(open_changes);
  must_apply(ep, screening_event);
  return ep;
}
const json kLrs = {{"complaint", "lrs"}};
}  // namespace

// ---- rule 1: neuro emergency ------------------------------------------------------------

TEST_CASE("each neuro_emergency feature refers the episode with reason neuro_emergency", "[screening][spec-4]") {
  for (const char* code : {"cauda_equina", "progressive_motor_weakness", "widespread_neuro"}) {
    INFO(code);
    Episode ep = screened_with(flags({code}));
    CHECK(ep.state == State::referred);
    CHECK(ep.reason == "neuro_emergency");
  }
}

TEST_CASE("a neuro emergency emits gp_urgent_contact then the written gp_referral, both due the same day", "[screening][spec-4][spec-11]") {
  Episode ep = screened_with(flags({"progressive_motor_weakness"}));
  REQUIRE(ep.tasks.size() == 2);
  CHECK(ep.tasks[0].kind == TaskKind::gp_urgent_contact);
  CHECK(ep.tasks[0].due == d("2026-01-05"));
  CHECK(ep.tasks[1].kind == TaskKind::gp_referral);
  CHECK(ep.tasks[1].due == d("2026-01-05"));
}

TEST_CASE("revision 1: a neuro emergency emits gp_urgent_contact and no referral letter", "[screening][spec-4][revision-1]") {
  Episode ep = screened_with(flags({"progressive_motor_weakness"}), revision1());
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::gp_urgent_contact);
}

TEST_CASE("a neuro emergency wins over suspicion", "[screening][spec-4]") {
  Episode ep = screened_with(flags({"cauda_equina"}, {{"suspicion", true}}));
  CHECK(ep.reason == "neuro_emergency");
  CHECK(count_tasks(ep, TaskKind::gp_urgent_contact) == 1);
  CHECK(count_tasks(ep, TaskKind::gp_referral) == 1);
}

// ---- rule 2: suspicion ------------------------------------------------------------------

TEST_CASE("suspicion of serious pathology refers with reason red_flag", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"suspicion", true}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
}

TEST_CASE("a suspicion referral emits a gp_referral due the same day", "[screening][spec-4][spec-11]") {
  Episode ep = screened_with(screening("2026-01-05", {{"suspicion", true}}));
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::gp_referral);
  CHECK(ep.tasks[0].due == d("2026-01-05"));
}

TEST_CASE("suspicion wins over severe LRS", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"suspicion", true}, {"mrc", 2}}), kLrs);
  CHECK(ep.reason == "red_flag");
}

// ---- rule 3: severe LRS -------------------------------------------------------------------

TEST_CASE("an LRS episode with MRC 3 is referred as lrs_severe", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"mrc", 3}}), kLrs);
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "lrs_severe");
}

TEST_CASE("an LRS episode with NPRS 8 is referred as lrs_severe", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"nprs", 8}}), kLrs);
  CHECK(ep.reason == "lrs_severe");
}

TEST_CASE("a severe LRS referral emits a gp_referral and no lrs_check", "[screening][spec-4][spec-11]") {
  Episode ep = screened_with(screening("2026-01-05", {{"mrc", 0}}), kLrs);
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::gp_referral);
}

TEST_CASE("an LRS episode with MRC 4 and NPRS 7 is screened", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"mrc", 4}, {"nprs", 7}}), kLrs);
  CHECK(ep.state == State::screened);
}

TEST_CASE("an LBP episode with NPRS 10 and full strength is screened: rule 4 is for LRS only", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"mrc", 5}, {"nprs", 10}}));
  CHECK(ep.state == State::screened);
  CHECK(ep.complaint == Complaint::lbp);
}

TEST_CASE("an LBP episode with MRC 0 is reclassified as LRS and referred as lrs_severe", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"mrc", 0}}));
  CHECK(ep.complaint == Complaint::lrs);
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "lrs_severe");
}

TEST_CASE("severe LRS wins over an exclusion", "[screening][spec-4]") {
  Episode ep = screened_with(screening("2026-01-05", {{"nprs", 9}, {"exclusions", {"visceral"}}}), kLrs);
  CHECK(ep.reason == "lrs_severe");
}

// ---- rule 4 and §5: exclusions ----------------------------------------------------------

TEST_CASE("each exclusion excludes the episode with that exclusion as reason", "[screening][exclusions][spec-4][spec-5]") {
  for (const char* code : {"age_16_or_younger", "pregnancy_related", "coccygodynia", "visceral", "recent_surgery_12m"}) {
    INFO(code);
    Episode ep = screened_with(screening("2026-01-05", {{"exclusions", {code}}}));
    CHECK(ep.state == State::excluded);
    CHECK(ep.reason == code);
  }
}

TEST_CASE("the first exclusion given is the reason", "[screening][exclusions][spec-4][spec-5]") {
  Episode ep = screened_with(screening("2026-01-05", {{"exclusions", {"coccygodynia", "visceral"}}}));
  CHECK(ep.reason == "coccygodynia");
}

TEST_CASE("a direct-access patient excluded at intake for a non-visceral cause gets no tasks", "[screening][exclusions][spec-4][spec-5][spec-10]") {
  for (const char* code : {"pregnancy_related", "coccygodynia", "recent_surgery_12m"}) {
    INFO(code);
    CHECK(screened_with(screening("2026-01-05", {{"exclusions", {code}}})).tasks.empty());
  }
}

TEST_CASE("an exclusion for a visceral cause emits a gp_referral due that day", "[screening][exclusions][spec-4][spec-5]") {
  Episode ep = screened_with(screening("2026-01-05", {{"exclusions", {"coccygodynia", "visceral"}}}), kLrs);
  CHECK(ep.state == State::excluded);
  CHECK(ep.reason == "coccygodynia");
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::gp_referral);
  CHECK(ep.tasks[0].due == d("2026-01-05"));
}

TEST_CASE("two review features are weighed before an exclusion: the review opens", "[screening][exclusions][spec-4]") {
  Episode ep = screened_with(flags({"night_sweats", "fever_chills"}, {{"exclusions", {"pregnancy_related"}}}));
  CHECK(ep.state == State::red_flag_review);
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::red_flag_review);
}

TEST_CASE("age 16 at open implies the age exclusion at screening", "[exclusions][spec-5]") {
  Episode ep = screened_with(screening(), {{"age", 16}});
  CHECK(ep.state == State::excluded);
  CHECK(ep.reason == "age_16_or_younger");
}

TEST_CASE("age 17 at open implies no exclusion", "[exclusions][spec-5]") {
  CHECK(screened_with(screening(), {{"age", 17}}).state == State::screened);
}

TEST_CASE("an episode opened at age 16 starts in intake", "[exclusions][spec-5]") {
  CHECK(opened({{"age", 16}}).state == State::intake);
}

TEST_CASE("the implied age exclusion comes before the exclusions given", "[exclusions][spec-5]") {
  Episode ep = screened_with(screening("2026-01-05", {{"exclusions", {"visceral"}}}), {{"age", 12}});
  CHECK(ep.reason == "age_16_or_younger");
}

TEST_CASE("a neuro emergency at age 16 is still referred urgently", "[exclusions][screening][spec-4][spec-5]") {
  Episode ep = screened_with(flags({"cauda_equina"}), {{"age", 15}});
  CHECK(ep.reason == "neuro_emergency");
}

TEST_CASE("an exclusion found during treatment excludes the episode", "[exclusions][spec-4][spec-5]") {
  Episode ep = in_treatment(2);
  must_apply(ep, screening("2026-01-12", {{"exclusions", {"visceral"}}}));
  CHECK(ep.state == State::excluded);
  CHECK(ep.reason == "visceral");
}

// ---- rule 5 ----------------------------------------------------------------------------------

TEST_CASE("a screening without findings moves intake to screened", "[screening][spec-4]") {
  Episode ep = screened_with(screening());
  CHECK(ep.state == State::screened);
  REQUIRE(ep.transitions.size() == 1);
  CHECK(ep.transitions[0] == Transition{d("2026-01-05"), Trigger::screening, "intake", "screened"});
}

TEST_CASE("a later screening without findings keeps the state", "[screening][spec-4]") {
  Episode ep = in_treatment(1);
  size_t transitions = ep.transitions.size();
  must_apply(ep, screening("2026-01-12"));
  CHECK(ep.state == State::treatment);
  CHECK(ep.transitions.size() == transitions);
}

// ---- rules 1-3 in later states -------------------------------------------------------------

TEST_CASE("a neuro emergency during treatment refers urgently", "[screening][spec-4]") {
  Episode ep = in_treatment(2);
  must_apply(ep, screening("2026-01-12", {{"red_flags", {"widespread_neuro"}}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "neuro_emergency");
  REQUIRE(ep.tasks.size() >= 2);
  CHECK(ep.tasks[ep.tasks.size() - 2].kind == TaskKind::gp_urgent_contact);
  CHECK(ep.tasks.back().kind == TaskKind::gp_referral);
}

TEST_CASE("suspicion in reevaluation_due refers with reason red_flag", "[screening][spec-4]") {
  Episode ep = in_reevaluation_due(1);
  must_apply(ep, screening("2026-01-27", {{"suspicion", true}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
}

TEST_CASE("severe LRS while waiting for the GP refers as lrs_severe", "[screening][spec-4]") {
  Episode ep = in_treatment(3, kLrs);  // lrs_duration 2026-02-12, week 6 2026-02-16
  must_apply(ep, reevaluation("2026-02-10", {{"judgement", "insufficient"}}));
  REQUIRE(ep.state == State::gp_consultation);
  must_apply(ep, screening("2026-02-11", {{"mrc", 2}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "lrs_severe");
}

TEST_CASE("suspicion in screened refers with reason red_flag", "[screening][spec-4]") {
  Episode ep = screened();
  must_apply(ep, screening("2026-01-06", {{"suspicion", true}}));
  CHECK(ep.reason == "red_flag");
}

// ---- clusters --------------------------------------------------------------------------------

TEST_CASE("two features of one review cluster open a red_flag_review due the same day", "[screening][spec-4]") {
  for (json pair : {json{"night_sweats", "fever_chills"}, json{"history_of_cancer", "fatigue"},
                    json{"family_history", "severe_night_pain"}}) {
    INFO(pair.dump());
    Episode ep = screened_with(screening("2026-01-05", {{"red_flags", pair}}));
    CHECK(ep.state == State::red_flag_review);
    REQUIRE(ep.tasks.size() == 1);
    CHECK(ep.tasks[0].kind == TaskKind::red_flag_review);
    CHECK(ep.tasks[0].due == d("2026-01-05"));
  }
}

TEST_CASE("two features of different review clusters open a red_flag_review", "[screening][spec-4]") {
  Episode ep = screened_with(flags({"fever_chills", "fatigue"}));
  CHECK(ep.state == State::red_flag_review);
  CHECK(count_tasks(ep, TaskKind::red_flag_review) == 1);
}

TEST_CASE("revision 1: one feature in each of several clusters emits no review", "[screening][spec-4][revision-1]") {
  Episode ep = screened_with(flags({"major_trauma", "fever_chills", "fatigue", "family_history", "unilateral_pyramidal_signs"}),
                             revision1());
  CHECK(ep.state == State::screened);
  CHECK(ep.tasks.empty());
}

TEST_CASE("a single red-flag feature of a review cluster does nothing more", "[screening][spec-4]") {
  for (const char* code : {"history_of_cancer", "night_sweats", "morning_stiffness_30min"}) {
    INFO(code);
    Episode ep = screened_with(flags({code}));
    CHECK(ep.state == State::screened);
    CHECK(ep.tasks.empty());
  }
}

TEST_CASE("a feature named twice counts once", "[screening][spec-4]") {
  CHECK(flagged_clusters({RedFlag::fever_chills, RedFlag::fever_chills}).empty());
  CHECK(screened_with(flags({"fever_chills", "fever_chills"})).tasks.empty());
}

TEST_CASE("weight_loss_unexplained with an infection feature makes an infection cluster", "[screening][spec-4]") {
  CHECK(flagged_clusters({RedFlag::weight_loss_unexplained, RedFlag::fever_chills}) == std::vector{Cluster::infection});
  CHECK(count_tasks(screened_with(flags({"weight_loss_unexplained", "fever_chills"})), TaskKind::red_flag_review) == 1);
}

TEST_CASE("weight_loss_unexplained with a tumour feature makes a tumour cluster", "[screening][spec-4]") {
  CHECK(flagged_clusters({RedFlag::weight_loss_unexplained, RedFlag::fatigue}) == std::vector{Cluster::tumour});
  CHECK(count_tasks(screened_with(flags({"weight_loss_unexplained", "fatigue"})), TaskKind::red_flag_review) == 1);
}

TEST_CASE("weight_loss_unexplained alone makes no cluster and opens no review", "[screening][spec-4]") {
  CHECK(flagged_clusters({RedFlag::weight_loss_unexplained}).empty());
  CHECK(screened_with(flags({"weight_loss_unexplained"})).state == State::screened);
}

TEST_CASE("two neuro_emergency features refer urgently, not to a review", "[screening][spec-4]") {
  CHECK(flagged_clusters({RedFlag::cauda_equina, RedFlag::widespread_neuro}).empty());
  Episode ep = screened_with(flags({"cauda_equina", "widespread_neuro"}));
  CHECK(ep.reason == "neuro_emergency");
  REQUIRE(ep.tasks.size() == 2);
  CHECK(ep.tasks[0].kind == TaskKind::gp_urgent_contact);
  CHECK(ep.tasks[1].kind == TaskKind::gp_referral);
}

TEST_CASE("review features with suspicion refer without a review", "[screening][spec-4]") {
  Episode ep = screened_with(flags({"night_sweats", "fever_chills"}, {{"suspicion", true}}));
  CHECK(ep.reason == "red_flag");
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::gp_referral);
}

TEST_CASE("pairs in two review clusters open one review", "[screening][spec-4]") {
  Episode ep = screened_with(flags({"family_history", "severe_night_pain", "night_sweats", "fever_chills"}));
  CHECK(count_tasks(ep, TaskKind::red_flag_review) == 1);
}

TEST_CASE("two review features during treatment open a review from treatment", "[screening][spec-4]") {
  Episode ep = in_treatment(1);
  must_apply(ep, screening("2026-01-12", {{"red_flags", {"morning_stiffness_30min", "back_pain_over_5_years"}}}));
  CHECK(ep.state == State::red_flag_review);
  CHECK(ep.transitions.back() == Transition{d("2026-01-12"), Trigger::screening, "treatment", "red_flag_review"});
  CHECK(ep.tasks.back().kind == TaskKind::red_flag_review);
  CHECK(ep.tasks.back().due == d("2026-01-12"));
}

TEST_CASE("revision 1: a red-flag cluster at a later screening emits a review task and keeps the state", "[screening][spec-4][revision-1]") {
  Episode ep = in_treatment(1, revision1());
  must_apply(ep, screening("2026-01-12", {{"red_flags", {"morning_stiffness_30min", "back_pain_over_5_years"}}}));
  CHECK(ep.state == State::treatment);
  CHECK(ep.tasks.back().kind == TaskKind::red_flag_review);
}

// ---- lrs_check ---------------------------------------------------------------------------------

TEST_CASE("the first screening of an LRS episode emits lrs_check due two days later", "[screening][spec-4]") {
  Episode ep = screened_with(screening(), kLrs);
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::lrs_check);
  CHECK(ep.tasks[0].due == d("2026-01-07"));
}

TEST_CASE("a later screening of an LRS episode emits no lrs_check", "[screening][spec-4]") {
  Episode ep = screened_with(screening(), kLrs);
  must_apply(ep, screening("2026-01-07"));
  CHECK(count_tasks(ep, TaskKind::lrs_check) == 1);
}

TEST_CASE("an LBP episode gets no lrs_check", "[screening][spec-4]") {
  CHECK(count_tasks(screened_with(screening()), TaskKind::lrs_check) == 0);
}
