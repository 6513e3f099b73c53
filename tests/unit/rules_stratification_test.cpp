// §7 stratification into a treatment profile.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {
json strat(const json& fields, const char* at = "2026-01-05") {
  json j = {{"type", "stratification"}, {"at", at}};
  j.update(fields);
  return j;
}
const json kSbstLow = {0, 0, 0, 0, 0, 0, 0, 0, 0};     // total 0: low
const json kSbstMedium = {1, 1, 1, 1, 0, 0, 0, 0, 0};  // total 4, psychosocial 0: medium
const json kSbstHigh = {0, 0, 0, 0, 1, 1, 1, 1, 0};    // total 4, psychosocial 4: high
const json kOrebroRaised = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};      // 50
const json kOrebroNotRaised = {5, 5, 5, 5, 5, 5, 5, 4, 5, 5};   // 49

// §7 requires `factors`: unless the test gives some, none is present ({}),
// which suggests profile 1 and so never raises the suggestion under test.
json no_factors(json fields) {
  if (!fields.contains("factors")) fields["factors"] = json::object();
  return fields;
}
Episode stratified(const json& fields) {
  Episode ep = screened();
  must_apply(ep, strat(no_factors(fields)));
  return ep;
}
}  // namespace

// ---- the suggested profile ---------------------------------------------------------

TEST_CASE("factors with none present suggest profile 1", "[stratification][spec-7]") {
  CHECK(stratified({{"factors", json::object()}}).suggested_profile == 1);
}

TEST_CASE("present factors suggest profile 2", "[stratification][spec-7]") {
  CHECK(stratified({{"factors", {{"leg_pain", "present"}, {"poor_general_health", "present"}}}}).suggested_profile == 2);
}

TEST_CASE("any dominant factor suggests profile 3", "[stratification][spec-7]") {
  CHECK(stratified({{"factors", {{"leg_pain", "present"}, {"passive_coping", "dominant"}}}}).suggested_profile == 3);
}

TEST_CASE("a low STarT Back suggests profile 1", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstLow}}).suggested_profile == 1);
}

TEST_CASE("a medium STarT Back suggests profile 2", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstMedium}}).suggested_profile == 2);
}

TEST_CASE("a high STarT Back suggests profile 3", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstHigh}}).suggested_profile == 3);
}

TEST_CASE("a raised Örebro suggests profile 2", "[stratification][spec-7]") {
  CHECK(stratified({{"orebro", kOrebroRaised}}).suggested_profile == 2);
}

TEST_CASE("a high STarT Back wins over present factors", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstHigh}, {"factors", {{"leg_pain", "present"}}}}).suggested_profile == 3);
}

TEST_CASE("a raised Örebro wins over a low STarT Back", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstLow}, {"orebro", kOrebroRaised}}).suggested_profile == 2);
}

TEST_CASE("a dominant factor wins over a medium STarT Back and a raised Örebro", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstMedium}, {"orebro", kOrebroRaised}, {"factors", {{"fear_of_movement", "dominant"}}}})
            .suggested_profile == 3);
}

TEST_CASE("a non-raised Örebro does not lower the suggestion", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstMedium}, {"orebro", kOrebroNotRaised}}).suggested_profile == 2);
}

TEST_CASE("a non-raised Örebro with no factor present suggests profile 1", "[stratification][spec-7]") {
  Episode ep = stratified({{"orebro", kOrebroNotRaised}});
  CHECK(ep.suggested_profile == 1);
  CHECK(ep.profile == 1);
}

TEST_CASE("revision 1: a non-raised Örebro alone suggests no profile", "[stratification][spec-7][revision-1]") {
  CHECK(suggest_profile(std::nullopt, std::nullopt, OrebroScore{49, false}) == std::nullopt);
  Episode ep = screened(revision1());
  must_apply(ep, strat({{"orebro", kOrebroNotRaised}, {"profile", 1}}));
  CHECK_FALSE(ep.suggested_profile);
  CHECK_FALSE(ep.factors);
  CHECK(ep.profile == 1);
}

TEST_CASE("revision 1: a non-raised Örebro alone without a profile is rejected", "[stratification][spec-7][revision-1]") {
  Episode ep = screened(revision1());
  CHECK(rejected(ep, strat({{"orebro", kOrebroNotRaised}})) ==
        "the answers given suggest no profile (a non-raised Örebro alone); give 'profile'");
}

// ---- choosing the profile -------------------------------------------------------------

TEST_CASE("without a profile the suggestion is applied", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstHigh}}).profile == 3);
}

TEST_CASE("a stratification without factors is rejected and nothing changes", "[stratification][spec-7]") {
  for (json fields : {json{{"profile", 2}}, json{{"sbst", kSbstHigh}}, json{{"orebro", kOrebroRaised}, {"profile", 3}}}) {
    INFO(fields.dump());
    Episode ep = screened();
    CHECK_THAT(rejected(ep, strat(fields)), Catch::StartsWith("missing field 'factors'"));
  }
}

TEST_CASE("empty factors say no factor is present and suggest profile 1", "[stratification][spec-7]") {
  Episode ep = screened();
  must_apply(ep, strat({{"factors", json::object()}}));
  CHECK(ep.factors == Factors{});
  CHECK(ep.suggested_profile == 1);
  CHECK(ep.profile == 1);
}

TEST_CASE("a profile with no factor present is recorded with suggestion 1", "[stratification][spec-7]") {
  Episode ep = stratified({{"profile", 2}});
  CHECK(ep.profile == 2);
  CHECK(ep.suggested_profile == 1);
}

TEST_CASE("revision 1: a profile alone stands without factors and without a suggestion", "[stratification][spec-7][revision-1]") {
  Episode ep = screened(revision1());
  must_apply(ep, strat({{"profile", 2}}));
  CHECK(ep.profile == 2);
  CHECK_FALSE(ep.factors);
  CHECK_FALSE(ep.suggested_profile);
}

TEST_CASE("a profile below the suggestion without an override_reason is rejected and nothing changes", "[stratification][spec-7]") {
  Episode ep = screened();
  CHECK(rejected(ep, strat(no_factors({{"sbst", kSbstHigh}, {"profile", 2}}))) ==
        "profile 2 is below the suggested profile 3 and needs an 'override_reason' (§7)");
}

TEST_CASE("a profile below the factors' suggestion without an override_reason is rejected", "[stratification][spec-7]") {
  Episode ep = screened();
  CHECK_THAT(rejected(ep, strat({{"factors", {{"leg_pain", "present"}}}, {"profile", 1}})),
             Catch::Contains("below the suggested profile 2"));
}

TEST_CASE("an empty override_reason does not count as a reason", "[stratification][spec-7]") {
  Episode ep = screened();
  CHECK_THAT(rejected(ep, strat(no_factors({{"sbst", kSbstHigh}, {"profile", 1}, {"override_reason", ""}}))),
             Catch::Contains("'override_reason'"));
}

TEST_CASE("a profile below the suggestion with an override_reason is applied and the reason recorded", "[stratification][spec-7]") {
  Episode ep = stratified({{"sbst", kSbstHigh}, {"profile", 2}, {"override_reason", "patient prefers a short course"}});
  CHECK(ep.profile == 2);
  CHECK(ep.suggested_profile == 3);
  CHECK(ep.override_reason == "patient prefers a short course");
}

TEST_CASE("a profile below the factors' suggestion of a recurrent episode needs an override_reason", "[stratification][spec-7][spec-1]") {
  Episode ep = screened({{"previous_episode_end", "2025-12-20"}});  // previous_episodes present: 2
  CHECK_THAT(rejected(ep, strat(no_factors({{"profile", 1}}))), Catch::Contains("below the suggested profile 2"));
}

TEST_CASE("a profile above the suggestion needs no reason", "[stratification][spec-7]") {
  Episode ep = stratified({{"sbst", kSbstLow}, {"profile", 3}});
  CHECK(ep.profile == 3);
  CHECK(ep.suggested_profile == 1);
  CHECK_FALSE(ep.override_reason);
}

TEST_CASE("a profile equal to the suggestion needs no reason", "[stratification][spec-7]") {
  CHECK(stratified({{"sbst", kSbstMedium}, {"profile", 2}}).profile == 2);
}

// ---- what is recorded ----------------------------------------------------------------------

TEST_CASE("stratification records the scores and the factors", "[stratification][spec-7]") {
  Episode ep = stratified({{"sbst", kSbstMedium}, {"orebro", kOrebroRaised}, {"factors", {{"leg_pain", "present"}}}});
  CHECK(ep.sbst == SbstScore{4, 0, SbstRisk::medium});
  CHECK(ep.orebro == OrebroScore{50, true});
  CHECK(ep.factors == Factors{{Factor::leg_pain, FactorLevel::present}});
}

TEST_CASE("stratification records the profile and the suggestion in the profile history", "[stratification][spec-7]") {
  Episode ep = stratified({{"sbst", kSbstLow}, {"profile", 2}});
  REQUIRE(ep.profile_history.size() == 1);
  CHECK(ep.profile_history[0] == ProfileChange{d("2026-01-05"), 2, 1, Trigger::stratification});
}

TEST_CASE("stratification moves screened to treatment", "[stratification][spec-7]") {
  Episode ep = stratified({{"profile", 1}});
  CHECK(ep.state == State::treatment);
  CHECK(ep.transitions.back() == Transition{d("2026-01-05"), Trigger::stratification, "screened", "treatment"});
}

TEST_CASE("the treatment start is the stratification's date", "[stratification][spec-7]") {
  Episode ep = screened();
  must_apply(ep, strat(no_factors({{"profile", 1}}), "2026-01-08"));
  CHECK(ep.treatment_start == d("2026-01-08"));
}

TEST_CASE("stratification emits gp_report_start due that day", "[stratification][spec-7][spec-11]") {
  Episode ep = screened();
  must_apply(ep, strat(no_factors({{"profile", 1}}), "2026-01-08"));
  REQUIRE_FALSE(ep.tasks.empty());
  CHECK(ep.tasks[0].kind == TaskKind::gp_report_start);
  CHECK(ep.tasks[0].due == d("2026-01-08"));
  CHECK(ep.tasks[0].status == TaskStatus::open);
}

TEST_CASE("stratification schedules the profile's checkpoints as reevaluation tasks", "[stratification][spec-7][spec-8]") {
  Episode ep = stratified({{"sbst", kSbstHigh}});  // profile 3
  REQUIRE(ep.tasks.size() == 3);
  CHECK(ep.tasks[1].kind == TaskKind::reevaluation);
  CHECK(ep.tasks[1].checkpoint == Checkpoint::week6);
  CHECK(ep.tasks[1].due == d("2026-02-16"));
  CHECK(ep.tasks[2].kind == TaskKind::reevaluation);
  CHECK(ep.tasks[2].checkpoint == Checkpoint::week12);
  CHECK(ep.tasks[2].due == d("2026-03-30"));
}
