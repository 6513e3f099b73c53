// §6 questionnaires (STarT Back, Örebro) and outcome measures (baseline, 30 % rule).
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

// ---- STarT Back ------------------------------------------------------------------

TEST_CASE("STarT Back item 9 scores 0 for levels 0 to 2", "[questionnaires][spec-6]") {
  for (int level : {0, 1, 2}) {
    INFO("level " << level);
    CHECK(score_sbst({0, 0, 0, 0, 0, 0, 0, 0, level}) == SbstScore{0, 0, SbstRisk::low});
  }
}

TEST_CASE("STarT Back item 9 scores 1 for levels 3 and 4", "[questionnaires][spec-6]") {
  CHECK(score_sbst({0, 0, 0, 0, 0, 0, 0, 0, 3}) == SbstScore{1, 1, SbstRisk::low});
  CHECK(score_sbst({0, 0, 0, 0, 0, 0, 0, 0, 4}) == SbstScore{1, 1, SbstRisk::low});
}

TEST_CASE("the STarT Back total is the sum of the nine item scores", "[questionnaires][spec-6]") {
  CHECK(score_sbst({1, 1, 1, 1, 1, 1, 1, 1, 4}).total == 9);
  CHECK(score_sbst({1, 0, 1, 0, 1, 0, 1, 0, 2}).total == 4);
}

TEST_CASE("the STarT Back psychosocial score is the sum of items 5 to 9", "[questionnaires][spec-6]") {
  CHECK(score_sbst({1, 1, 1, 1, 0, 0, 0, 0, 0}).psychosocial == 0);
  CHECK(score_sbst({0, 0, 0, 0, 1, 1, 1, 1, 3}).psychosocial == 5);
  CHECK(score_sbst({1, 1, 1, 1, 1, 0, 1, 0, 2}).psychosocial == 2);
}

TEST_CASE("a STarT Back total of 3 is low risk", "[questionnaires][spec-6]") {
  CHECK(score_sbst({1, 1, 1, 0, 0, 0, 0, 0, 0}) == SbstScore{3, 0, SbstRisk::low});
  CHECK(score_sbst({0, 0, 0, 0, 1, 1, 0, 0, 4}) == SbstScore{3, 3, SbstRisk::low});
}

TEST_CASE("a STarT Back total of 4 with psychosocial 3 is medium risk", "[questionnaires][spec-6]") {
  CHECK(score_sbst({1, 0, 0, 0, 1, 1, 1, 0, 0}) == SbstScore{4, 3, SbstRisk::medium});
}

TEST_CASE("a STarT Back total of 7 with psychosocial 3 is medium risk", "[questionnaires][spec-6]") {
  CHECK(score_sbst({1, 1, 1, 1, 1, 1, 1, 0, 1}) == SbstScore{7, 3, SbstRisk::medium});
}

TEST_CASE("a STarT Back psychosocial score of 4 is high risk", "[questionnaires][spec-6]") {
  CHECK(score_sbst({0, 0, 0, 0, 1, 1, 1, 0, 3}) == SbstScore{4, 4, SbstRisk::high});
}

// ---- Örebro ---------------------------------------------------------------------------

TEST_CASE("Örebro item 1 scores its duration category", "[questionnaires][spec-6]") {
  // items 6, 9, 10 answered 10 score 0; all others 0
  CHECK(score_orebro({1, 0, 0, 0, 0, 10, 0, 0, 10, 10}).total == 1);
  CHECK(score_orebro({10, 0, 0, 0, 0, 10, 0, 0, 10, 10}).total == 10);
}

TEST_CASE("Örebro items 2, 3, 4, 5, 7 and 8 score their answer", "[questionnaires][spec-6]") {
  // 1 + (1 + 2 + 3 + 4) + 5 + 6 = 22
  CHECK(score_orebro({1, 1, 2, 3, 4, 10, 5, 6, 10, 10}).total == 22);
}

TEST_CASE("Örebro item 6 scores 10 minus its answer", "[questionnaires][spec-6]") {
  CHECK(score_orebro({1, 0, 0, 0, 0, 3, 0, 0, 10, 10}).total == 8);
}

TEST_CASE("Örebro item 9 scores 10 minus its answer", "[questionnaires][spec-6]") {
  CHECK(score_orebro({1, 0, 0, 0, 0, 10, 0, 0, 3, 10}).total == 8);
}

TEST_CASE("Örebro item 10 scores 10 minus its answer", "[questionnaires][spec-6]") {
  CHECK(score_orebro({1, 0, 0, 0, 0, 10, 0, 0, 10, 3}).total == 8);
}

TEST_CASE("Örebro totals run from 1 to 100", "[questionnaires][spec-6]") {
  CHECK(score_orebro({1, 0, 0, 0, 0, 10, 0, 0, 10, 10}) == OrebroScore{1, false});
  CHECK(score_orebro({10, 10, 10, 10, 10, 0, 10, 10, 0, 0}) == OrebroScore{100, true});
}

TEST_CASE("an Örebro total of 49 is not raised", "[questionnaires][spec-6]") {
  // 5 + 5+5+5+5 + (10-5) + 5 + 4 + (10-5) + (10-5) = 49
  CHECK(score_orebro({5, 5, 5, 5, 5, 5, 5, 4, 5, 5}) == OrebroScore{49, false});
}

TEST_CASE("an Örebro total of 50 is raised", "[questionnaires][spec-6]") {
  CHECK(score_orebro({5, 5, 5, 5, 5, 5, 5, 5, 5, 5}) == OrebroScore{50, true});
}

// ---- the 30 % rule --------------------------------------------------------------------

TEST_CASE("a reduction from 10 to 7 is clinically relevant", "[measures][spec-6]") {
  CHECK(clinically_relevant_improvement(10, 7));
}

TEST_CASE("a reduction from 10 to 8 is not clinically relevant", "[measures][spec-6]") {
  CHECK_FALSE(clinically_relevant_improvement(10, 8));
}

TEST_CASE("the 30 percent rule is computed in integers without rounding up", "[measures][spec-6]") {
  CHECK(clinically_relevant_improvement(40, 28));   // exactly 30 %
  CHECK_FALSE(clinically_relevant_improvement(40, 29));  // 27.5 %
  CHECK(clinically_relevant_improvement(52, 36));   // 30.8 %
  CHECK_FALSE(clinically_relevant_improvement(52, 37));  // 28.8 %
  CHECK_FALSE(clinically_relevant_improvement(27, 19));  // 29.6 %
}

TEST_CASE("a baseline of 0 is not comparable", "[measures][spec-6]") {
  CHECK_FALSE(clinically_relevant_improvement(0, 0));
  CHECK_FALSE(change_percent(0, 3));
}

TEST_CASE("an increase is not an improvement", "[measures][spec-6]") {
  CHECK_FALSE(clinically_relevant_improvement(5, 7));
}

TEST_CASE("the change in percent is truncated toward zero", "[measures][spec-6][spec-12]") {
  CHECK(change_percent(27, 19) == -29);  // -29.6 %: never shown as a 30 % reduction
  CHECK(change_percent(10, 7) == -30);
  CHECK(change_percent(6, 8) == 33);
}

// ---- baselines -------------------------------------------------------------------------

TEST_CASE("the first recorded NPRS is its baseline and the last its latest", "[measures][spec-6]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 6}});
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 4}});
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-07"}, {"nprs", 5}});
  CHECK(ep.baseline.nprs == 6);
  CHECK(ep.latest.nprs == 5);
}

TEST_CASE("each measure takes its baseline from its own first value", "[measures][spec-6]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 6}});
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 4}, {"qbpds", 30}, {"psk", {5, 6}}});
  CHECK(ep.baseline == Measures{6, 30, std::vector{5, 6}});
  CHECK(ep.latest == Measures{4, 30, std::vector{5, 6}});
}

TEST_CASE("a screening's NPRS is not a measurement", "[measures][spec-6]") {
  Episode ep = opened();
  must_apply(ep, screening("2026-01-05", {{"nprs", 9}}));
  CHECK_FALSE(ep.baseline.nprs);
  CHECK_FALSE(ep.latest.nprs);
}

TEST_CASE("a reevaluation's measures can be the baseline", "[measures][spec-6]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}, {"factors", json::object()}});
  must_apply(ep, reevaluation("2026-01-12", {{"judgement", "sufficient"}, {"qbpds", 35}}));
  CHECK(ep.baseline.qbpds == 35);
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-13"}, {"qbpds", 20}});
  CHECK(ep.baseline.qbpds == 35);
  CHECK(ep.latest.qbpds == 20);
}

TEST_CASE("a baseline of 0 is recorded as the baseline", "[measures][spec-6]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", 0}});
  must_apply(ep, {{"type", "measurement"}, {"at", "2026-01-06"}, {"nprs", 4}});
  CHECK(ep.baseline.nprs == 0);
}
