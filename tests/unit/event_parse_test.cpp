// §3 bad input: parse_event rejects every out-of-range value, unknown code,
// wrong type, missing required field, unknown field and malformed date, and its
// error names the field.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {
json with(json j, const char* k, const json& v) {
  j[k] = v;
  return j;
}
json without(json j, const char* k) {
  j.erase(k);
  return j;
}
const json kScreening = {{"type", "screening"}, {"at", "2026-01-05"}};
const json kStrat = {{"type", "stratification"}, {"at", "2026-01-05"}};
const json kMeasurement = {{"type", "measurement"}, {"at", "2026-01-05"}};
const json kReev = {{"type", "reevaluation"}, {"at", "2026-01-05"}};
const json kGp = {{"type", "gp_consult"}, {"at", "2026-01-05"}, {"outcome", "continue"}};
const json kStop = {{"type", "stop"}, {"at", "2026-01-05"}, {"reason", "goals_met"}};
}  // namespace

// ---- the envelope --------------------------------------------------------------

TEST_CASE("an event that is not a JSON object is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(json::array()) == "an event must be a JSON object");
  CHECK(parse_error("session") == "an event must be a JSON object");
}

TEST_CASE("an event without a type is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(json{{"at", "2026-01-05"}}) == "missing field 'type'");
}

TEST_CASE("an event type that is not a string is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(json{{"type", 3}, {"at", "2026-01-05"}}) == "field 'type': expected a string");
}

TEST_CASE("an unknown event type is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(json{{"type", "visit"}, {"at", "2026-01-05"}}) == "unknown event type \"visit\"");
}

TEST_CASE("the timer events phase and checkpoint cannot be submitted", "[events][bad-input][spec-3]") {
  CHECK(parse_error(json{{"type", "phase"}, {"at", "2026-01-05"}}) == "unknown event type \"phase\"");
  CHECK(parse_error(json{{"type", "checkpoint"}, {"at", "2026-01-05"}}) == "unknown event type \"checkpoint\"");
}

TEST_CASE("an event without a date is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(json{{"type", "session"}}) == "missing field 'at'");
}

TEST_CASE("a date not in YYYY-MM-DD form is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(session("05-01-2026")) == "field 'at': \"05-01-2026\" is not a date (YYYY-MM-DD)");
  CHECK(parse_error(session("2026-1-5")) == "field 'at': \"2026-1-5\" is not a date (YYYY-MM-DD)");
}

TEST_CASE("a date that is not a calendar day is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(session("2026-02-29")) == "field 'at': \"2026-02-29\" is not a date (YYYY-MM-DD)");
  CHECK(parse_error(session("2026-13-01")) == "field 'at': \"2026-13-01\" is not a date (YYYY-MM-DD)");
}

TEST_CASE("a date given as a number is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(json{{"type", "session"}, {"at", 20260105}}) == "field 'at': 20260105 is not a date (YYYY-MM-DD)");
}

TEST_CASE("an unknown field is rejected naming it", "[events][bad-input][spec-3]") {
  CHECK(parse_error(with(session("2026-01-05"), "nrps", 3)) == "unknown field 'nrps'");
}

TEST_CASE("a field of another event type is rejected as unknown", "[events][bad-input][spec-3]") {
  CHECK(parse_error(with(kMeasurement, "judgement", "sufficient")) == "unknown field 'judgement'");
  CHECK(parse_error(with(session("2026-01-05"), "reason", "goals_met")) == "unknown field 'reason'");
}

// ---- open ----------------------------------------------------------------------------

TEST_CASE("open requires onset, complaint and age", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"onset", nullptr}})) == "missing field 'onset'");
  CHECK(parse_error(open_event({{"complaint", nullptr}})) == "missing field 'complaint'");
  CHECK(parse_error(open_event({{"age", nullptr}})) == "missing field 'age'");
}

TEST_CASE("open with an onset after its date is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"onset", "2026-01-06"}})) == "field 'onset': 2026-01-06 is after the event date 2026-01-05");
}

TEST_CASE("open with an onset on its date is accepted", "[events][spec-3]") {
  CHECK(parse_error(open_event({{"onset", "2026-01-05"}})) == "(accepted)");
}

TEST_CASE("open with a malformed onset is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"onset", "2026-01-32"}})) == "field 'onset': \"2026-01-32\" is not a date (YYYY-MM-DD)");
}

TEST_CASE("open with an unknown complaint is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"complaint", "neck"}})) == "field 'complaint': unknown code \"neck\"");
}

TEST_CASE("open with a complaint that is not a string is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"complaint", 1}})) == "field 'complaint': expected a code string, got 1");
}

TEST_CASE("open with an age that is not an integer is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"age", 40.5}})) == "field 'age': expected an integer, got 40.5");
  CHECK(parse_error(open_event({{"age", "40"}})) == "field 'age': expected an integer, got \"40\"");
}

TEST_CASE("open with an age outside 0-130 is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"age", -1}})) == "field 'age': -1 is out of range 0-130");
  CHECK(parse_error(open_event({{"age", 131}})) == "field 'age': 131 is out of range 0-130");
  CHECK(parse_error(open_event({{"age", 4294967336LL}})) == "field 'age': 4294967336 is out of range 0-130");
}

TEST_CASE("open with a malformed previous_episode_end is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"previous_episode_end", "yesterday"}})) ==
        "field 'previous_episode_end': \"yesterday\" is not a date (YYYY-MM-DD)");
}

TEST_CASE("open with a previous episode ending after the onset is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"previous_episode_end", "2026-01-02"}})) ==
        "field 'previous_episode_end': 2026-01-02 is after the onset 2026-01-01");
}

TEST_CASE("open with a gp or therapist that is not a string is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"gp", 7}})) == "field 'gp': expected a string");
  CHECK(parse_error(open_event({{"therapist", true}})) == "field 'therapist': expected a string");
}

// ---- screening ------------------------------------------------------------------------

TEST_CASE("screening with an unknown red flag is rejected", "[events][bad-input][spec-3][spec-4]") {
  CHECK(parse_error(with(kScreening, "red_flags", {"fever_chills", "headache"})) == "field 'red_flags': unknown code \"headache\"");
}

TEST_CASE("screening with red_flags that are not a list is rejected", "[events][bad-input][spec-3][spec-4]") {
  CHECK(parse_error(with(kScreening, "red_flags", "fever_chills")) == "field 'red_flags': expected a list of codes");
}

TEST_CASE("screening with a cluster name instead of a feature is rejected", "[events][bad-input][spec-3][spec-4]") {
  CHECK(parse_error(with(kScreening, "red_flags", {"infection"})) == "field 'red_flags': unknown code \"infection\"");
}

TEST_CASE("screening with an unknown exclusion is rejected", "[events][bad-input][spec-3][spec-5]") {
  CHECK(parse_error(with(kScreening, "exclusions", {"flu"})) == "field 'exclusions': unknown code \"flu\"");
}

TEST_CASE("screening with a suspicion that is not a boolean is rejected", "[events][bad-input][spec-3][spec-4]") {
  CHECK(parse_error(with(kScreening, "suspicion", "yes")) == "field 'suspicion': expected true or false");
}

TEST_CASE("screening with an MRC outside 0-5 is rejected", "[events][bad-input][spec-3][spec-4]") {
  CHECK(parse_error(with(kScreening, "mrc", 6)) == "field 'mrc': 6 is out of range 0-5");
  CHECK(parse_error(with(kScreening, "mrc", -1)) == "field 'mrc': -1 is out of range 0-5");
}

TEST_CASE("screening with an NPRS outside 0-10 is rejected", "[events][bad-input][spec-3][spec-4]") {
  CHECK(parse_error(with(kScreening, "nprs", 11)) == "field 'nprs': 11 is out of range 0-10");
}

TEST_CASE("screening without red_flags, suspicion or exclusions finds nothing", "[events][spec-3][spec-4]") {
  Event e = ev(kScreening);
  CHECK(e.red_flags.empty());
  CHECK(e.exclusions.empty());
  CHECK_FALSE(e.suspicion);
}

// ---- stratification ----------------------------------------------------------------------

TEST_CASE("stratification with none of factors, sbst, orebro or profile is rejected", "[events][bad-input][spec-3][spec-7]") {
  CHECK(parse_error(kStrat) == "stratification needs at least one of 'factors', 'sbst', 'orebro', 'profile'");
}

TEST_CASE("a STarT Back without exactly nine answers is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kStrat, "sbst", {0, 0, 0, 0, 0, 0, 0, 0})) == "field 'sbst': expected a list of 9 answers");
  CHECK(parse_error(with(kStrat, "sbst", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) == "field 'sbst': expected a list of 9 answers");
}

TEST_CASE("a STarT Back item 1 to 8 answer other than 0 or 1 is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kStrat, "sbst", {0, 0, 0, 0, 0, 0, 0, 2, 0})) == "field 'sbst' item 8: 2 is out of range 0-1");
}

TEST_CASE("a STarT Back item 9 answer above level 4 is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kStrat, "sbst", {0, 0, 0, 0, 0, 0, 0, 0, 5})) == "field 'sbst' item 9: 5 is out of range 0-4");
}

TEST_CASE("a STarT Back answer that is not an integer is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kStrat, "sbst", {"yes", 0, 0, 0, 0, 0, 0, 0, 0})) ==
        "field 'sbst' item 1: expected an integer, got \"yes\"");
}

TEST_CASE("an Örebro without exactly ten answers is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kStrat, "orebro", {1, 0, 0})) == "field 'orebro': expected a list of 10 answers");
}

TEST_CASE("an Örebro duration category outside 1-10 is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kStrat, "orebro", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) == "field 'orebro' item 1: 0 is out of range 1-10");
  CHECK(parse_error(with(kStrat, "orebro", {11, 0, 0, 0, 0, 0, 0, 0, 0, 0})) == "field 'orebro' item 1: 11 is out of range 1-10");
}

TEST_CASE("an Örebro answer to items 2-10 outside 0-10 is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kStrat, "orebro", {1, 0, 0, 0, 0, 0, 0, 0, 0, 11})) == "field 'orebro' item 10: 11 is out of range 0-10");
}

TEST_CASE("an unknown prognostic factor is rejected", "[events][bad-input][spec-3][spec-7]") {
  CHECK(parse_error(with(kStrat, "factors", {{"bad_luck", "present"}})) == "field 'factors': unknown factor 'bad_luck'");
}

TEST_CASE("a factor level other than present or dominant is rejected", "[events][bad-input][spec-3][spec-7]") {
  CHECK(parse_error(with(kStrat, "factors", {{"leg_pain", "strong"}})) == "factor 'leg_pain': unknown code \"strong\"");
}

TEST_CASE("factors that are not an object are rejected", "[events][bad-input][spec-3][spec-7]") {
  CHECK(parse_error(with(kStrat, "factors", {"leg_pain"})) == "field 'factors': expected an object of factor codes");
}

TEST_CASE("a profile outside 1-3 is rejected", "[events][bad-input][spec-3][spec-7]") {
  CHECK(parse_error(with(kStrat, "profile", 0)) == "field 'profile': 0 is out of range 1-3");
  CHECK(parse_error(with(kStrat, "profile", 4)) == "field 'profile': 4 is out of range 1-3");
}

TEST_CASE("an override_reason that is not a string is rejected", "[events][bad-input][spec-3][spec-7]") {
  CHECK(parse_error(with(with(kStrat, "profile", 1), "override_reason", 1)) == "field 'override_reason': expected a string");
}

// ---- measurement --------------------------------------------------------------------------

TEST_CASE("a measurement without any measure is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(kMeasurement) == "measurement needs at least one of 'nprs', 'qbpds', 'psk'");
}

TEST_CASE("an NPRS outside 0-10 is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kMeasurement, "nprs", 11)) == "field 'nprs': 11 is out of range 0-10");
  CHECK(parse_error(with(kMeasurement, "nprs", -1)) == "field 'nprs': -1 is out of range 0-10");
}

TEST_CASE("an NPRS that is not an integer is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kMeasurement, "nprs", "5")) == "field 'nprs': expected an integer, got \"5\"");
}

TEST_CASE("a QBPDS outside 0-100 is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kMeasurement, "qbpds", 101)) == "field 'qbpds': 101 is out of range 0-100");
}

TEST_CASE("a PSK with more than three activities is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kMeasurement, "psk", {1, 2, 3, 4})) == "field 'psk': expected a list of one to three scores");
}

TEST_CASE("an empty PSK is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kMeasurement, "psk", json::array())) == "field 'psk': expected a list of one to three scores");
}

TEST_CASE("a PSK score outside 0-10 is rejected", "[events][bad-input][spec-3][spec-6]") {
  CHECK(parse_error(with(kMeasurement, "psk", {1, 2, 11})) == "field 'psk' item 3: 11 is out of range 0-10");
}

// ---- reevaluation, gp_consult, stop --------------------------------------------------------

TEST_CASE("a reevaluation with an unknown judgement is rejected", "[events][bad-input][spec-3][spec-8]") {
  CHECK(parse_error(with(kReev, "judgement", "ok")) == "field 'judgement': unknown code \"ok\"");
}

TEST_CASE("a reevaluation with a new_profile outside 1-3 is rejected", "[events][bad-input][spec-3][spec-8]") {
  CHECK(parse_error(with(kReev, "new_profile", 4)) == "field 'new_profile': 4 is out of range 1-3");
}

TEST_CASE("a reevaluation with new_insights that is not a boolean is rejected", "[events][bad-input][spec-3][spec-8]") {
  CHECK(parse_error(with(kReev, "new_insights", 1)) == "field 'new_insights': expected true or false");
}

TEST_CASE("a reevaluation with an out-of-range measure is rejected", "[events][bad-input][spec-3][spec-8]") {
  CHECK(parse_error(with(kReev, "qbpds", 120)) == "field 'qbpds': 120 is out of range 0-100");
}

TEST_CASE("a gp_consult without an outcome is rejected", "[events][bad-input][spec-3][spec-8]") {
  CHECK(parse_error(without(kGp, "outcome")) == "missing field 'outcome'");
}

TEST_CASE("a gp_consult with an unknown outcome is rejected", "[events][bad-input][spec-3][spec-8]") {
  CHECK(parse_error(with(kGp, "outcome", "wait")) == "field 'outcome': unknown code \"wait\"");
}

TEST_CASE("a stop without a reason is rejected", "[events][bad-input][spec-3][spec-10]") {
  CHECK(parse_error(without(kStop, "reason")) == "missing field 'reason'");
}

TEST_CASE("a stop with an unknown reason is rejected", "[events][bad-input][spec-3][spec-10]") {
  CHECK(parse_error(with(kStop, "reason", "bored")) == "field 'reason': unknown code \"bored\"");
}

// ---- an event as text (the log's body, read by rebuild) ----------------------
// parse_event_text reads JSON text with simdjson; these pin that it reads any
// text as nlohmann's parser would, so that an event means the same whether
// it arrives as an object or is read back from the log.

namespace {
std::string text_error(std::string_view text) {
  auto e = parse_event_text(text);
  return e.ok() ? std::string("(accepted)") : e.message();
}
}  // namespace

TEST_CASE("an event text that is not a JSON object is rejected", "[events][bad-input][spec-3]") {
  CHECK(text_error(R"({"type":"session","at":"2026-01-05")") == "an event must be a JSON object");
  CHECK(text_error("") == "an event must be a JSON object");
  CHECK(text_error(R"(["session"])") == "an event must be a JSON object");
}

TEST_CASE("an event text reads like its object", "[events][spec-3]") {
  const json ev = {{"type", "stratification"}, {"at", "2026-01-05"}, {"id", "e-7"},
                   {"sbst", {1, 0, 1, 0, 1, 0, 0, 1, 3}}, {"factors", {{"high_disability", "present"}}}};
  auto from_text = parse_event_text(ev.dump());
  REQUIRE(from_text.ok());
  CHECK(from_text->at == *Date::parse("2026-01-05"));
  CHECK(from_text->id == "e-7");
  REQUIRE(from_text->sbst);
  CHECK((*from_text->sbst)[8] == 3);
  REQUIRE(from_text->factors);
  CHECK(from_text->factors->size() == 1);
}

TEST_CASE("in an event text the last of repeated fields counts, as for a parsed object", "[events][spec-3]") {
  const char* text = R"({"type":"session","at":"2026-01-05","at":"2026-01-06"})";
  auto e = parse_event_text(text);
  REQUIRE(e.ok());
  CHECK(e->at == *Date::parse("2026-01-06"));
  CHECK(e->at == parse_event(json::parse(text))->at);
}

TEST_CASE("in an event text the first unknown field in key order is named", "[events][bad-input][spec-3]") {
  CHECK(text_error(R"({"zeta":1,"type":"session","alpha":2,"at":"2026-01-05"})") == "unknown field 'alpha'");
  CHECK(text_error(R"({"type":"stratification","at":"2026-01-05","factors":{"zz":"present","aa":"present"}})") ==
        "field 'factors': unknown factor 'aa'");
}

TEST_CASE("in an event text values are shown as nlohmann shows them", "[events][bad-input][spec-3]") {
  CHECK(text_error(R"({"type":"open","at":"2026-01-05","onset":"2026-01-01","complaint":"lbp","age":18446744073709551615})") ==
        "field 'age': 18446744073709551615 is out of range 0-130");
  CHECK(text_error(R"({"type":"gp_consult","at":"2026-01-05","outcome":"w\u00e4it"})") ==
        "field 'outcome': unknown code \"w\\u00e4it\"");
  CHECK(text_error(R"({"type":"gp_consult","at":"2026-01-05","outcome":1.50})") ==
        "field 'outcome': expected a code string, got 1.5");
}

// ---- nesting: refused before anything prints it (printing recurses per level) --

namespace {
// A measurement whose nprs is a list nested `lists` deep: the event nests lists + 1 levels.
json nested_nprs(int lists) {
  json v = 5;
  for (int i = 0; i < lists; ++i) v = json::array({std::move(v)});
  return json{{"type", "measurement"}, {"at", "2026-01-05"}, {"nprs", std::move(v)}};
}
const std::string kTooDeep = "an event may nest at most 16 levels of objects and lists";
}  // namespace

TEST_CASE("an event nested deeper than 16 levels is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(nested_nprs(16)) == kTooDeep);
  CHECK(parse_error(nested_nprs(100000)) == kTooDeep);  // would overflow the stack if printed
  CHECK(text_error(nested_nprs(16).dump()) == kTooDeep);
  CHECK(text_error(R"({"type":"session","at":"2026-01-05","x":)" + std::string(5000, '[') + std::string(5000, ']') + "}") ==
        kTooDeep);
}

TEST_CASE("an event nested 16 levels deep is judged by its fields", "[events][bad-input][spec-3]") {
  const std::string want = "field 'nprs': expected an integer, got [[[[[[[[[[[[[[[5]]]]]]]]]]]]]]]";
  CHECK(parse_error(nested_nprs(15)) == want);
  CHECK(text_error(nested_nprs(15).dump()) == want);
}

// ---- revision 2 fields ----------------------------------------------------------------------

TEST_CASE("open records who referred the patient, direct access by default", "[events][spec-3]") {
  CHECK(ev(open_event()).referred_by == ReferredBy::self);
  CHECK(ev(open_event({{"referred_by", "gp"}})).referred_by == ReferredBy::gp);
  CHECK(ev(open_event({{"referred_by", "specialist"}})).referred_by == ReferredBy::specialist);
}

TEST_CASE("open with an unknown referred_by is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"referred_by", "nurse"}})) == "field 'referred_by': unknown code \"nurse\"");
}

TEST_CASE("open with an unknown pathway revision is rejected", "[events][bad-input][spec-3]") {
  CHECK(parse_error(open_event({{"revision", 3}})) == "field 'revision': 3 is out of range 1-2");
  CHECK(parse_error(open_event({{"revision", 0}})) == "field 'revision': 0 is out of range 1-2");
  CHECK(ev(open_event({{"revision", 1}})).revision == 1);
  CHECK_FALSE(ev(open_event()).revision);
}

TEST_CASE("a screening may reclassify as lrs but never back to lbp", "[events][bad-input][spec-3][spec-4]") {
  CHECK(ev(with(kScreening, "complaint", "lrs")).screening_complaint == Complaint::lrs);
  CHECK(parse_error(with(kScreening, "complaint", "lbp")) ==
        "field 'complaint': a screening may only reclassify as \"lrs\"; LRS never turns back into LBP (§4)");
  CHECK(parse_error(with(kScreening, "complaint", "neck")) == "field 'complaint': unknown code \"neck\"");
}

TEST_CASE("a red_flag_review needs a decision of refer or continue", "[events][bad-input][spec-3][spec-4]") {
  const json review = {{"type", "red_flag_review"}, {"at", "2026-01-05"}};
  CHECK(parse_error(review) == "missing field 'decision'");
  CHECK(parse_error(with(review, "decision", "wait")) == "field 'decision': unknown code \"wait\"");
  CHECK(parse_error(with(review, "decision", "refer")) == "(accepted)");
}

TEST_CASE("a red_flag_review that continues needs a non-blank note", "[events][bad-input][spec-3][spec-4]") {
  const json cont = {{"type", "red_flag_review"}, {"at", "2026-01-05"}, {"decision", "continue"}};
  CHECK(parse_error(cont) == "a review that continues the pathway needs a 'note' saying why (§4)");
  CHECK(parse_error(with(cont, "note", " \t ")) == "field 'note': is blank");
  CHECK(parse_error(with(cont, "note", 3)) == "field 'note': expected a string");
  CHECK(ev(with(cont, "note", "mechanical pain")).note == "mechanical pain");
}

TEST_CASE("a gp_request question must be text", "[events][bad-input][spec-3][spec-11]") {
  const json req = {{"type", "gp_request"}, {"at", "2026-01-05"}};
  CHECK(parse_error(req) == "(accepted)");
  CHECK(parse_error(with(req, "question", 7)) == "field 'question': expected a string");
  CHECK(parse_error(with(req, "judgement", "sufficient")) == "unknown field 'judgement'");
}

TEST_CASE("a stop may carry the end measurement, checked like a measurement", "[events][bad-input][spec-3][spec-10]") {
  Event e = ev(with(with(with(kStop, "nprs", 3), "qbpds", 20), "psk", {4}));
  CHECK(e.measures == Measures{3, 20, std::vector{4}});
  CHECK(parse_error(with(kStop, "nprs", 11)) == "field 'nprs': 11 is out of range 0-10");
  CHECK(parse_error(with(kStop, "psk", {1, 2, 3, 4})) == "field 'psk': expected a list of one to three scores");
}

TEST_CASE("only a stop for a red flag carries red flags, and only known codes", "[events][bad-input][spec-3][spec-10]") {
  CHECK(parse_error(with(kStop, "red_flags", {"fatigue"})) ==
        "field 'red_flags': only a stop for reason 'red_flag' carries red flags (§10)");
  const json red = with(kStop, "reason", "red_flag");
  CHECK(ev(with(red, "red_flags", {"cauda_equina"})).red_flags == std::vector{RedFlag::cauda_equina});
  CHECK(parse_error(with(red, "red_flags", {"headache"})) == "field 'red_flags': unknown code \"headache\"");
}
