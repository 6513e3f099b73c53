// §6 questionnaires and outcome measures, §7 stratification.
#include "rules_fixture.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

TEST_CASE("STarT Back item 9 scores 1 only for levels 3 and 4", "[questionnaires][spec-6]") {
  CHECK(score_sbst({0, 0, 0, 0, 0, 0, 0, 0, 2}).total == 0);
  CHECK(score_sbst({0, 0, 0, 0, 0, 0, 0, 0, 3}).total == 1);
  CHECK(score_sbst({0, 0, 0, 0, 0, 0, 0, 0, 4}).psychosocial == 1);
}

TEST_CASE("STarT Back risk is low up to a total of 3, high from a psychosocial score of 4, else medium", "[questionnaires][spec-6]") {
  CHECK(score_sbst({1, 1, 1, 0, 0, 0, 0, 0, 0}) == SbstScore{3, 0, SbstRisk::low});
  CHECK(score_sbst({1, 1, 1, 1, 0, 0, 0, 0, 0}) == SbstScore{4, 0, SbstRisk::medium});
  CHECK(score_sbst({0, 0, 0, 0, 1, 1, 1, 0, 4}) == SbstScore{4, 4, SbstRisk::high});
  CHECK(score_sbst({1, 1, 1, 1, 1, 1, 1, 0, 0}) == SbstScore{7, 3, SbstRisk::medium});
}

TEST_CASE("Örebro scores items 6, 9 and 10 as 10 minus the answer and is raised above 49", "[questionnaires][spec-6]") {
  CHECK(score_orebro({1, 0, 0, 0, 0, 10, 0, 0, 10, 10}) == OrebroScore{1, false});
  CHECK(score_orebro({1, 0, 0, 0, 0, 0, 0, 0, 0, 0}) == OrebroScore{31, false});
  CHECK(score_orebro({5, 5, 5, 5, 5, 5, 5, 4, 5, 5}) == OrebroScore{49, false});
  CHECK(score_orebro({5, 5, 5, 5, 5, 5, 5, 5, 5, 5}) == OrebroScore{50, true});
}

TEST_CASE("a reduction of at least 30 percent from a non-zero baseline is clinically relevant", "[measures][spec-6]") {
  CHECK(clinically_relevant_improvement(10, 7));
  CHECK_FALSE(clinically_relevant_improvement(10, 8));
  CHECK(clinically_relevant_improvement(52, 36));
  CHECK_FALSE(clinically_relevant_improvement(52, 37));
  CHECK_FALSE(clinically_relevant_improvement(0, 0));
}

TEST_CASE("the first recorded value of each measure is its baseline", "[measures][spec-6]") {
  Episode ep = opened();
  must_apply(ep, {{"type", "screening"}, {"at", "2026-01-05"}, {"nprs", 9}});  // not a measurement
  CHECK_FALSE(ep.baseline.nprs);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 6}});
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 4}, {"qbpds", 30}, {"psk", {5, 6}}});
  CHECK(ep.baseline == Measures{6, 30, std::vector{5, 6}});
  CHECK(ep.latest == Measures{4, 30, std::vector{5, 6}});
}

TEST_CASE("the suggested profile is the highest of factors, STarT Back and Örebro", "[stratification][spec-7]") {
  CHECK(suggest_profile(Factors{}, std::nullopt, std::nullopt) == 1);
  CHECK(suggest_profile(Factors{{Factor::leg_pain, FactorLevel::present}}, std::nullopt, std::nullopt) == 2);
  CHECK(suggest_profile(Factors{{Factor::leg_pain, FactorLevel::present}, {Factor::passive_coping, FactorLevel::dominant}},
                        std::nullopt, std::nullopt) == 3);
  CHECK(suggest_profile(Factors{}, SbstScore{4, 4, SbstRisk::high}, std::nullopt) == 3);
  CHECK(suggest_profile(std::nullopt, SbstScore{1, 0, SbstRisk::low}, OrebroScore{60, true}) == 2);
  CHECK(suggest_profile(std::nullopt, std::nullopt, OrebroScore{30, false}) == std::nullopt);
}

TEST_CASE("stratification applies the suggestion and records profile, suggestion and scores", "[stratification][spec-7]") {
  Episode ep = opened();
  must_apply(ep, screening());
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"sbst", {1, 1, 1, 1, 0, 0, 0, 0, 0}},
                  {"orebro", {10, 5, 5, 5, 5, 5, 5, 5, 5, 5}}});
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 2);
  CHECK(ep.suggested_profile == 2);
  CHECK(ep.sbst->risk == SbstRisk::medium);
  CHECK(ep.orebro->raised);
  CHECK(ep.treatment_start == d("2026-01-05"));
  REQUIRE(ep.profile_history.size() == 1);
  CHECK(ep.profile_history[0] == ProfileChange{d("2026-01-05"), 2, 2, Trigger::stratification});
}

TEST_CASE("a profile alone stands without a suggestion", "[stratification][spec-7]") {
  Episode ep = opened();
  must_apply(ep, screening());
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}});
  CHECK(ep.profile == 1);
  CHECK_FALSE(ep.suggested_profile);
}

TEST_CASE("a profile below the suggestion needs an override_reason", "[stratification][spec-7]") {
  Episode ep = opened();
  must_apply(ep, screening());
  Episode before = ep;
  json strat = {{"type", "stratification"}, {"at", "2026-01-05"}, {"sbst", {0, 0, 0, 0, 1, 1, 1, 1, 4}}, {"profile", 2}};
  Status s = apply(ep, ev(strat));
  CHECK_THAT(s.message(), Catch::Contains("override_reason"));
  CHECK(ep == before);
  strat["override_reason"] = "patient prefers a short course";
  must_apply(ep, strat);
  CHECK(ep.profile == 2);
  CHECK(ep.suggested_profile == 3);
}

TEST_CASE("a profile above the suggestion needs no reason", "[stratification][spec-7]") {
  Episode ep = opened();
  must_apply(ep, screening());
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"sbst", {0, 0, 0, 0, 0, 0, 0, 0, 0}}, {"profile", 3}});
  CHECK(ep.profile == 3);
}

TEST_CASE("stratification with none of factors, sbst, orebro or profile is rejected", "[stratification][spec-7]") {
  CHECK_FALSE(parse_event(json{{"type", "stratification"}, {"at", "2026-01-05"}}).ok());
}

TEST_CASE("treatment start emits gp_report_start that day and schedules the checkpoints", "[stratification][spec-7][spec-8]") {
  Episode ep = in_treatment(3);
  REQUIRE(ep.tasks.size() == 3);
  CHECK(ep.tasks[0].kind == TaskKind::gp_report_start);
  CHECK(ep.tasks[0].due == d("2026-01-05"));
  CHECK(ep.tasks[1].checkpoint == Checkpoint::week6);
  CHECK(ep.tasks[1].due == d("2026-02-16"));
  CHECK(ep.tasks[2].checkpoint == Checkpoint::week12);
  CHECK(ep.tasks[2].due == d("2026-03-30"));
}

TEST_CASE("the change in percent never shows a 30 percent reduction that is not one", "[measures][spec-6][spec-12]") {
  CHECK(change_percent(27, 19) == -29);  // 29.6 %: not clinically relevant
  CHECK_FALSE(clinically_relevant_improvement(27, 19));
  CHECK(change_percent(10, 7) == -30);
  CHECK(change_percent(6, 8) == 33);
  CHECK_FALSE(change_percent(0, 3));
}
