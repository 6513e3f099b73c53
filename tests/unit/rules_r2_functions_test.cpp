// Revision 2: the pure rules of pathway/rules.hpp, at their boundaries.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

// ---- §4 reclassification --------------------------------------------------------------

TEST_CASE("reclassifies_as_lrs: MRC below 5 or complaint lrs turns LBP into LRS", "[rules][spec-4]") {
  CHECK(reclassifies_as_lrs(Complaint::lbp, std::nullopt, 4));
  CHECK(reclassifies_as_lrs(Complaint::lbp, std::nullopt, 0));
  CHECK(reclassifies_as_lrs(Complaint::lbp, Complaint::lrs, std::nullopt));
  CHECK(reclassifies_as_lrs(Complaint::lbp, Complaint::lrs, 5));
}

TEST_CASE("reclassifies_as_lrs: MRC 5 or nothing given keeps LBP", "[rules][spec-4]") {
  CHECK_FALSE(reclassifies_as_lrs(Complaint::lbp, std::nullopt, 5));
  CHECK_FALSE(reclassifies_as_lrs(Complaint::lbp, std::nullopt, std::nullopt));
}

TEST_CASE("reclassifies_as_lrs: an LRS episode is never reclassified again", "[rules][spec-4]") {
  CHECK_FALSE(reclassifies_as_lrs(Complaint::lrs, std::nullopt, 2));
  CHECK_FALSE(reclassifies_as_lrs(Complaint::lrs, Complaint::lrs, std::nullopt));
}

// ---- §4 the 48-hour rule ----------------------------------------------------------------

TEST_CASE("motor_loss_within_48_hours: a fall to MRC 3 exactly two days later counts", "[rules][spec-4]") {
  CHECK(motor_loss_within_48_hours(d("2026-01-05"), 5, d("2026-01-07"), 3));
  CHECK(motor_loss_within_48_hours(d("2026-01-05"), 5, d("2026-01-05"), 0));  // the same day
}

TEST_CASE("motor_loss_within_48_hours: a fall to MRC 3 three days later does not count", "[rules][spec-4]") {
  CHECK_FALSE(motor_loss_within_48_hours(d("2026-01-05"), 5, d("2026-01-08"), 3));
}

TEST_CASE("motor_loss_within_48_hours: MRC 4 to 3 counts, 3 to 3 does not", "[rules][spec-4]") {
  CHECK(motor_loss_within_48_hours(d("2026-01-05"), 4, d("2026-01-06"), 3));
  CHECK_FALSE(motor_loss_within_48_hours(d("2026-01-05"), 3, d("2026-01-06"), 3));
}

TEST_CASE("motor_loss_within_48_hours: a fall to MRC 4 does not count", "[rules][spec-4]") {
  CHECK_FALSE(motor_loss_within_48_hours(d("2026-01-05"), 5, d("2026-01-06"), 4));
}

TEST_CASE("motor_loss_within_48_hours: without a previous MRC nothing counts", "[rules][spec-4]") {
  CHECK_FALSE(motor_loss_within_48_hours(std::nullopt, std::nullopt, d("2026-01-06"), 0));
}

TEST_CASE("screening_features adds progressive_motor_weakness once when the 48-hour rule applies", "[rules][spec-4]") {
  using V = std::vector<RedFlag>;
  CHECK(screening_features({RedFlag::fever_chills}, false) == V{RedFlag::fever_chills});
  CHECK(screening_features({RedFlag::fever_chills}, true) == V{RedFlag::fever_chills, RedFlag::progressive_motor_weakness});
  CHECK(screening_features({RedFlag::progressive_motor_weakness}, true) == V{RedFlag::progressive_motor_weakness});
  CHECK(screening_features({RedFlag::fatigue, RedFlag::fatigue}, false) == V{RedFlag::fatigue});
}

// ---- §4 rules 3 and 5 ---------------------------------------------------------------------

TEST_CASE("has_referral_feature: each fracture or miscellaneous feature is a referral", "[rules][spec-4]") {
  for (RedFlag f : {RedFlag::major_trauma, RedFlag::minor_trauma_with_risk, RedFlag::increasing_postoperative_pain,
                    RedFlag::unilateral_pyramidal_signs}) {
    INFO(kRedFlags.name(f));
    CHECK(has_referral_feature({f}));
  }
  CHECK_FALSE(has_referral_feature({RedFlag::fever_chills, RedFlag::fatigue, RedFlag::family_history}));
  CHECK_FALSE(has_referral_feature({RedFlag::cauda_equina}));
  CHECK_FALSE(has_referral_feature({}));
}

TEST_CASE("review_features keeps the distinct infection, tumour and inflammatory codes", "[rules][spec-4]") {
  using V = std::vector<RedFlag>;
  CHECK(is_review_feature(RedFlag::weight_loss_unexplained));
  CHECK(is_review_feature(RedFlag::back_pain_over_5_years));
  CHECK_FALSE(is_review_feature(RedFlag::major_trauma));
  CHECK_FALSE(is_review_feature(RedFlag::widespread_neuro));
  CHECK(review_features({RedFlag::major_trauma, RedFlag::fatigue, RedFlag::fever_chills, RedFlag::fatigue}) ==
        V{RedFlag::fatigue, RedFlag::fever_chills});
}

TEST_CASE("opens_review: two distinct review features, in one cluster or across them", "[rules][spec-4]") {
  CHECK(opens_review({RedFlag::night_sweats, RedFlag::fever_chills}, {}));
  CHECK(opens_review({RedFlag::fever_chills, RedFlag::history_of_cancer}, {}));
  CHECK_FALSE(opens_review({RedFlag::fever_chills}, {}));
  CHECK_FALSE(opens_review({RedFlag::major_trauma, RedFlag::minor_trauma_with_risk}, {}));
  CHECK_FALSE(opens_review({RedFlag::fever_chills, RedFlag::major_trauma}, {}));
}

TEST_CASE("opens_review: after a review only a feature not reviewed before opens a new one", "[rules][spec-4]") {
  const std::vector<RedFlag> reviewed{RedFlag::night_sweats, RedFlag::fever_chills};
  CHECK_FALSE(opens_review({RedFlag::night_sweats, RedFlag::fever_chills}, reviewed));
  CHECK(opens_review({RedFlag::night_sweats, RedFlag::fatigue}, reviewed));
  CHECK_FALSE(opens_review({RedFlag::fatigue}, reviewed));
}

// ---- §4 rule 4 and §6 LRS pain ----------------------------------------------------------------

TEST_CASE("lrs_pain_refers: NPRS 8 refers an LRS patient, NPRS 7 does not", "[rules][spec-4][spec-6]") {
  CHECK(lrs_pain_refers(Complaint::lrs, 8));
  CHECK(lrs_pain_refers(Complaint::lrs, 10));
  CHECK_FALSE(lrs_pain_refers(Complaint::lrs, 7));
  CHECK_FALSE(lrs_pain_refers(Complaint::lrs, std::nullopt));
}

TEST_CASE("lrs_pain_refers: an LBP patient is not referred for pain", "[rules][spec-4][spec-6]") {
  CHECK_FALSE(lrs_pain_refers(Complaint::lbp, 10));
}

// ---- §6 the 30 % rule ------------------------------------------------------------------------------

TEST_CASE("measured_improvement is true when NPRS or QBPDS improved by 30 % or more", "[rules][spec-6][spec-8]") {
  CHECK(measured_improvement(10, 7, std::nullopt, std::nullopt) == true);   // exactly 30 %
  CHECK(measured_improvement(6, 5, 40, 28) == true);                         // QBPDS only
  CHECK(measured_improvement(6, 4, 40, 40) == true);                         // NPRS only
}

TEST_CASE("measured_improvement is false when one is comparable and neither improved by 30 %", "[rules][spec-6][spec-8]") {
  CHECK(measured_improvement(10, 8, std::nullopt, std::nullopt) == false);
  CHECK(measured_improvement(6, 5, 40, 29) == false);
  CHECK(measured_improvement(0, 0, 40, 30) == false);  // NPRS not comparable, QBPDS 25 %
  CHECK(measured_improvement(6, 9, std::nullopt, 10) == false);  // worse; QBPDS has no baseline
}

TEST_CASE("measured_improvement is null when nothing is comparable", "[rules][spec-6][spec-8]") {
  CHECK(measured_improvement(std::nullopt, 5, std::nullopt, 20) == std::nullopt);  // no baseline
  CHECK(measured_improvement(0, 0, 0, 0) == std::nullopt);                         // baselines of 0
  CHECK(measured_improvement(6, std::nullopt, 40, std::nullopt) == std::nullopt);  // neither measure
}

// ---- §8 checkpoints ---------------------------------------------------------------------------------

TEST_CASE("week_checkpoints: weeks 3, 3 and 6, 6 and 12 by profile, counted from the start", "[rules][spec-8]") {
  const Date start = d("2026-01-05");
  auto dues = [&](int profile, Date after) {
    std::vector<std::pair<Checkpoint, std::string>> out;
    for (const auto& c : week_checkpoints(profile, start, after)) out.emplace_back(c.checkpoint, c.due.iso());
    return out;
  };
  using CP = std::vector<std::pair<Checkpoint, std::string>>;
  CHECK(dues(1, start) == CP{{Checkpoint::week3, "2026-01-26"}});
  CHECK(dues(2, start) == CP{{Checkpoint::week3, "2026-01-26"}, {Checkpoint::week6, "2026-02-16"}});
  CHECK(dues(3, start) == CP{{Checkpoint::week6, "2026-02-16"}, {Checkpoint::week12, "2026-03-30"}});
}

TEST_CASE("week_checkpoints keeps only those due strictly after the given date", "[rules][spec-8]") {
  const Date start = d("2026-01-05");
  REQUIRE(week_checkpoints(2, start, d("2026-01-25")).size() == 2);
  auto after_week3 = week_checkpoints(2, start, d("2026-01-26"));
  REQUIRE(after_week3.size() == 1);
  CHECK(after_week3[0].checkpoint == Checkpoint::week6);
  CHECK(week_checkpoints(2, start, d("2026-02-16")).empty());
}

TEST_CASE("lrs_duration_due is onset+42 when that is later than two weeks after the start", "[rules][spec-8]") {
  CHECK(lrs_duration_due(d("2026-01-01"), d("2026-01-05")) == d("2026-02-12"));
}

TEST_CASE("lrs_duration_due is two weeks after the start for a late presenter", "[rules][spec-8]") {
  CHECK(lrs_duration_due(d("2025-11-25"), d("2026-01-05")) == d("2026-01-19"));  // onset+42 = 2026-01-06
  CHECK(lrs_duration_due(d("2025-12-08"), d("2026-01-05")) == d("2026-01-19"));  // both on 2026-01-19
}

TEST_CASE("six_weeks_of_complaints: onset+41 is not, onset+42 is", "[rules][spec-8]") {
  CHECK_FALSE(six_weeks_of_complaints(d("2026-01-01"), d("2026-02-11")));
  CHECK(six_weeks_of_complaints(d("2026-01-01"), d("2026-02-12")));
}

TEST_CASE("at_or_after_week: day 41 is before week 6, day 42 is week 6; day 84 is week 12", "[rules][spec-8]") {
  const Date start = d("2026-01-05");
  CHECK_FALSE(at_or_after_week(start, start + 41, 6));
  CHECK(at_or_after_week(start, start + 42, 6));
  CHECK_FALSE(at_or_after_week(start, start + 83, 12));
  CHECK(at_or_after_week(start, start + 84, 12));
}

TEST_CASE("steps_up: a new profile must be higher than the current one", "[rules][spec-8]") {
  CHECK(steps_up(1, 2));
  CHECK(steps_up(2, 3));
  CHECK_FALSE(steps_up(2, 2));
  CHECK_FALSE(steps_up(3, 2));
  CHECK_FALSE(steps_up(3, 3));
}

// ---- §10 end report -----------------------------------------------------------------------------------

TEST_CASE("end_report_due: after a start report or on referral, not for direct access before treatment", "[rules][spec-10]") {
  CHECK(end_report_due(true, ReferredBy::self));
  CHECK(end_report_due(false, ReferredBy::gp));
  CHECK(end_report_due(false, ReferredBy::specialist));
  CHECK_FALSE(end_report_due(false, ReferredBy::self));
}
