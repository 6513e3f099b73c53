// §4 red flags, §5 exclusions.
#include "rules_fixture.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {
json screen(json flags, json extra = json::object()) {
  json j = {{"type", "screening"}, {"at", "2026-01-05"}, {"red_flags", flags}, {"exclusions", json::array()}};
  j.update(extra);
  return j;
}
}  // namespace

TEST_CASE("a neuro_emergency feature refers with an urgent GP contact due the same day", "[screening][spec-4]") {
  for (const char* code : {"cauda_equina", "progressive_motor_weakness", "widespread_neuro"}) {
    Episode ep = opened();
    must_apply(ep, screen({code}));
    CHECK(ep.state == State::referred);
    CHECK(ep.reason == "neuro_emergency");
    REQUIRE(ep.tasks.size() == 1);
    CHECK(ep.tasks[0].kind == TaskKind::gp_urgent_contact);
    CHECK(ep.tasks[0].due == d("2026-01-05"));
  }
}

TEST_CASE("neuro emergency wins over suspicion, severe LRS and exclusions", "[screening][spec-4]") {
  Episode ep = opened({{"complaint", "lrs"}});
  must_apply(ep, screen({"cauda_equina"}, {{"suspicion", true}, {"mrc", 2}, {"exclusions", {"visceral"}}}));
  CHECK(ep.reason == "neuro_emergency");
}

TEST_CASE("suspicion of serious pathology refers with reason red_flag and a referral letter", "[screening][spec-4]") {
  Episode ep = opened({{"complaint", "lrs"}});
  must_apply(ep, screen(json::array(), {{"suspicion", true}, {"mrc", 2}, {"exclusions", {"visceral"}}}));
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::gp_referral);
}

TEST_CASE("LRS with MRC 3 or less or NPRS 8 or more is referred as lrs_severe", "[screening][spec-4]") {
  for (json extra : {json{{"mrc", 3}}, json{{"nprs", 8}}}) {
    Episode ep = opened({{"complaint", "lrs"}});
    extra["exclusions"] = {"visceral"};
    must_apply(ep, screen(json::array(), extra));
    CHECK(ep.reason == "lrs_severe");
    CHECK(ep.tasks.at(0).kind == TaskKind::gp_referral);
  }
  Episode mild = opened({{"complaint", "lrs"}});
  must_apply(mild, screen(json::array(), {{"mrc", 4}, {"nprs", 7}}));
  CHECK(mild.state == State::screened);
}

TEST_CASE("the LRS severity rule does not apply to lbp", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screen(json::array(), {{"mrc", 1}, {"nprs", 10}}));
  CHECK(ep.state == State::screened);
}

TEST_CASE("any exclusion excludes the episode with the first exclusion as reason", "[screening][exclusions][spec-4][spec-5]") {
  for (const char* code : {"age_16_or_younger", "pregnancy_related", "coccygodynia", "visceral", "recent_surgery_12m"}) {
    Episode ep = opened();
    must_apply(ep, screen(json::array(), {{"exclusions", {code, "visceral"}}}));
    CHECK(ep.state == State::excluded);
    CHECK(ep.reason == code);
    CHECK(ep.tasks.empty());
  }
}

TEST_CASE("age 16 or younger at open implies the age exclusion at screening", "[exclusions][spec-5]") {
  Episode young = opened({{"age", 16}});
  CHECK(young.state == State::intake);
  must_apply(young, screen(json::array(), {{"exclusions", {"visceral"}}}));
  CHECK(young.reason == "age_16_or_younger");
  Episode older = opened({{"age", 17}});
  must_apply(older, screen(json::array()));
  CHECK(older.state == State::screened);
}

TEST_CASE("red-flag rules 1 to 3 apply in later states too", "[screening][spec-4]") {
  Episode ep = in_treatment(2);
  must_apply(ep, {{"type", "screening"}, {"at", "2026-01-12"}, {"suspicion", true}});
  CHECK(ep.state == State::referred);
  CHECK(ep.reason == "red_flag");
}

TEST_CASE("a screening without findings moves intake to screened and keeps later states", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screen(json::array()));
  CHECK(ep.state == State::screened);
  Episode t = in_treatment(1);
  size_t transitions = t.transitions.size();
  must_apply(t, {{"type", "screening"}, {"at", "2026-01-12"}});
  CHECK(t.state == State::treatment);
  CHECK(t.transitions.size() == transitions);
}

TEST_CASE("two features of one cluster emit a red_flag_review due the same day but one feature does not", "[screening][spec-4]") {
  for (json flags : {json{"major_trauma", "minor_trauma_with_risk"}, json{"night_sweats", "fever_chills"},
                     json{"history_of_cancer", "fatigue"}, json{"family_history", "severe_night_pain"},
                     json{"increasing_postoperative_pain", "unilateral_pyramidal_signs"}}) {
    Episode ep = opened();
    must_apply(ep, screen(flags));
    CHECK(ep.state == State::screened);
    REQUIRE(ep.tasks.size() == 1);
    CHECK(ep.tasks[0].kind == TaskKind::red_flag_review);
    CHECK(ep.tasks[0].due == d("2026-01-05"));
  }
  Episode single = opened();
  must_apply(single, screen({"major_trauma", "fever_chills", "fatigue"}));  // one per cluster
  CHECK(single.tasks.empty());
}

TEST_CASE("weight_loss_unexplained counts in both the infection and the tumour cluster", "[screening][spec-4]") {
  CHECK(flagged_clusters({RedFlag::weight_loss_unexplained, RedFlag::fever_chills}) == std::vector{Cluster::infection});
  CHECK(flagged_clusters({RedFlag::weight_loss_unexplained, RedFlag::fatigue}) == std::vector{Cluster::tumour});
}

TEST_CASE("a suspicion with a cluster refers without a review task", "[screening][spec-4]") {
  Episode ep = opened();
  must_apply(ep, screen({"major_trauma", "minor_trauma_with_risk"}, {{"suspicion", true}}));
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::gp_referral);
}

TEST_CASE("the first screening of an LRS episode emits lrs_check due two days later, later ones do not", "[screening][spec-4]") {
  Episode ep = opened({{"complaint", "lrs"}});
  must_apply(ep, screen(json::array()));
  REQUIRE(ep.tasks.size() == 1);
  CHECK(ep.tasks[0].kind == TaskKind::lrs_check);
  CHECK(ep.tasks[0].due == d("2026-01-07"));
  must_apply(ep, {{"type", "screening"}, {"at", "2026-01-07"}});
  CHECK(ep.tasks.size() == 1);
}

TEST_CASE("a screening's tasks are listed in due order", "[screening][tasks][spec-11]") {
  Episode ep = opened({{"complaint", "lrs"}});
  must_apply(ep, screen({"night_sweats", "fever_chills"}));
  REQUIRE(ep.tasks.size() == 2);
  CHECK(ep.tasks[0].kind == TaskKind::red_flag_review);
  CHECK(ep.tasks[1].kind == TaskKind::lrs_check);
}
