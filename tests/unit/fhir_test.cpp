// FHIR R4 export (adapters/fhir): status mappings, deterministic ids, the
// resources of an episode. Validity against the R4 definitions is checked by an
// independent validator in tests/cli/fhir_cli.py.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "adapters/fhir/fhir.hpp"
#include "states/machine.hpp"

#include "store_fixture.hpp"

using namespace zorgpad;
using zorgpad::test::ev;
using json = nlohmann::ordered_json;

namespace {

Date day(const char* iso) { return *Date::parse(iso); }

Event event(const nlohmann::json& j) {
  auto e = parse_event(j);
  REQUIRE(e.ok());
  return *e;
}

// An episode run through the machine; `log` receives the clinical events.
Episode run(const std::string& id, const std::string& patient, const std::vector<nlohmann::json>& events,
            std::vector<Event>* log = nullptr) {
  std::vector<Event> evs;
  for (const auto& j : events) evs.push_back(event(j));
  auto ep = open_episode(id, patient, evs.front());
  REQUIRE(ep.ok());
  for (size_t i = 1; i < evs.size(); ++i) {
    Status s = apply(*ep, evs[i]);
    INFO(s.message());
    REQUIRE(s.ok());
  }
  if (log) *log = evs;
  return *ep;
}

const std::vector<nlohmann::json> kProfile2 = {
    {{"type", "open"}, {"at", "2026-03-02"}, {"onset", "2026-02-23"}, {"complaint", "lbp"}, {"age", 38},
     {"gp", "Dokter Jansen"}, {"therapist", "Fysio de Vries"}},
    {{"type", "screening"}, {"at", "2026-03-02"}, {"red_flags", nlohmann::json::array()}, {"exclusions", nlohmann::json::array()}},
    {{"type", "measurement"}, {"at", "2026-03-02"}, {"nprs", 7}, {"qbpds", 52}, {"psk", {6, 5}}},
    {{"type", "stratification"}, {"at", "2026-03-02"}, {"sbst", {1, 0, 1, 1, 1, 0, 0, 0, 2}},
     {"orebro", {3, 6, 5, 4, 5, 4, 6, 5, 6, 5}}, {"factors", nlohmann::json::object()}},
    {{"type", "reevaluation"}, {"at", "2026-03-23"}, {"nprs", 4}, {"qbpds", 30}, {"judgement", "sufficient"}},
};

json bundle_of(std::vector<EpisodeRecord> recs, FhirOptions o = {}, int64_t ts = 1767225600) {
  auto b = fhir_bundle(recs, o, ts);
  REQUIRE(b.ok());
  return *b;
}

std::vector<json> of_type(const json& bundle, const std::string& type) {
  std::vector<json> out;
  for (const auto& e : bundle["entry"])
    if (e["resource"]["resourceType"] == type) out.push_back(e["resource"]);
  return out;
}

}  // namespace

TEST_CASE("name-based UUIDs follow RFC 4122 version 5", "[fhir]") {
  // uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") in Python
  constexpr unsigned char dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                     0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  CHECK(uuid_v5(dns, "python.org") == "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  // zorgpad's namespace is uuid5(NAMESPACE_URL, "urn:zorgpad:fhir")
  CHECK(name_uuid("Patient/P003") == "2a4b08ba-da6e-55fd-b5e1-2cdb120a7ef2");
  CHECK(name_uuid("Task/ep-1/2") != name_uuid("Task/ep-1/3"));
}

TEST_CASE("EpisodeOfCare status: active until terminal, referred and closed finished, excluded cancelled",
          "[fhir][spec-2]") {
  for (size_t i = 0; i < kStates.size(); ++i) {
    State s = kStates.at(i);
    INFO(kStates.name(s));
    if (s == State::referred || s == State::closed) CHECK(fhir_episode_status(s) == "finished");
    else if (s == State::excluded) CHECK(fhir_episode_status(s) == "cancelled");
    else CHECK(fhir_episode_status(s) == "active");
  }
}

TEST_CASE("CarePlan status: draft before a profile, on hold in a red-flag review, active in treatment, completed or "
          "revoked at the end",
          "[fhir][spec-2]") {
  CHECK(fhir_careplan_status(State::intake) == "draft");
  CHECK(fhir_careplan_status(State::screened) == "draft");
  CHECK(fhir_careplan_status(State::red_flag_review) == "on-hold");  // waiting for the therapist's decision (§4)
  CHECK(fhir_careplan_status(State::treatment) == "active");
  CHECK(fhir_careplan_status(State::reevaluation_due) == "active");
  CHECK(fhir_careplan_status(State::gp_consultation) == "active");
  CHECK(fhir_careplan_status(State::referred) == "completed");
  CHECK(fhir_careplan_status(State::closed) == "completed");
  CHECK(fhir_careplan_status(State::excluded) == "revoked");
}

TEST_CASE("Task status: open is requested, done completed, cancelled cancelled", "[fhir][spec-11]") {
  CHECK(fhir_task_status(TaskStatus::open) == "requested");
  CHECK(fhir_task_status(TaskStatus::done) == "completed");
  CHECK(fhir_task_status(TaskStatus::cancelled) == "cancelled");
}

TEST_CASE("a Bundle is a collection whose fullUrls derive from the store's ids", "[fhir]") {
  Episode ep = run("ep-3", "P003", kProfile2);
  json a = bundle_of({{ep, std::nullopt}}, {}, 1767225600);
  json b = bundle_of({{ep, std::nullopt}}, {}, 1767225600 + 86400);
  CHECK(a["resourceType"] == "Bundle");
  CHECK(a["type"] == "collection");
  CHECK(a["timestamp"] == "2026-01-01T00:00:00Z");
  CHECK(b["timestamp"] == "2026-01-02T00:00:00Z");
  CHECK(a["entry"] == b["entry"]);
  for (const auto& e : a["entry"]) CHECK(e["fullUrl"] == "urn:uuid:" + e["resource"]["id"].get<std::string>());
  CHECK(a["entry"][0]["resource"]["resourceType"] == "Patient");
  CHECK(a["entry"][0]["fullUrl"] == "urn:uuid:" + name_uuid("Patient/P003"));
  auto eoc = of_type(a, "EpisodeOfCare");
  REQUIRE(eoc.size() == 1);
  CHECK(eoc[0]["id"] == name_uuid("EpisodeOfCare/ep-3"));
  CHECK(eoc[0]["status"] == "active");
  CHECK(eoc[0]["identifier"][0]["value"] == "ep-3");
  CHECK(eoc[0]["period"]["start"] == "2026-03-02");
  CHECK_FALSE(eoc[0]["period"].contains("end"));
}

TEST_CASE("the Patient carries the pseudonymous reference only, once per reference", "[fhir]") {
  Episode a = run("ep-1", "P-7", kProfile2);
  Episode b = run("ep-2", "P-7", kProfile2);
  json bundle = bundle_of({{a, std::nullopt}, {b, std::nullopt}});
  auto patients = of_type(bundle, "Patient");
  REQUIRE(patients.size() == 1);
  CHECK(patients[0].size() == 4);  // resourceType, id, meta (the nl-core-Patient profile), identifier
  CHECK_FALSE(patients[0].contains("name"));
  CHECK_FALSE(patients[0].contains("birthDate"));
  CHECK(patients[0]["identifier"][0]["value"] == "P-7");
  CHECK(bundle.dump().find("Dokter Jansen") != std::string::npos);  // the GP is a contributor, not patient data
  for (const auto& e : of_type(bundle, "EpisodeOfCare"))
    CHECK(e["patient"]["reference"] == "urn:uuid:" + patients[0]["id"].get<std::string>());
}

TEST_CASE("each task is a Task with the checkpoint in code and the due date in restriction.period.end",
          "[fhir][spec-8]") {
  Episode ep = run("ep-3", "P003", kProfile2);
  json bundle = bundle_of({{ep, std::nullopt}});
  auto tasks = of_type(bundle, "Task");
  REQUIRE(tasks.size() == ep.tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = ep.tasks[i];
    const json& r = tasks[i];
    CHECK(r["id"] == name_uuid("Task/ep-3/" + std::to_string(t.seq)));
    CHECK(r["status"] == std::string(fhir_task_status(t.status)));
    CHECK(r["intent"] == "order");
    CHECK(r["code"]["coding"][0]["code"] == std::string(kTaskKinds.name(t.kind)));
    CHECK(r["restriction"]["period"]["end"] == t.due.iso());
    CHECK(r["authoredOn"] == t.created.iso());
    if (t.checkpoint) {
      REQUIRE(r["code"]["coding"].size() == 2);
      CHECK(r["code"]["coding"][1]["system"] == "urn:zorgpad:checkpoint");
      CHECK(r["code"]["coding"][1]["code"] == std::string(kCheckpoints.name(*t.checkpoint)));
    }
  }
  // week 3 was completed by the reevaluation, week 6 is open
  CHECK(tasks[1]["code"]["text"] == "Herevaluatie week 3");
  CHECK(tasks[1]["status"] == "completed");
  CHECK(tasks[1]["lastModified"] == "2026-03-23");
  CHECK(tasks[2]["status"] == "requested");
  auto plan = of_type(bundle, "CarePlan");
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["activity"].size() == tasks.size());
  CHECK(plan[0]["status"] == "active");
  CHECK(plan[0]["period"]["start"] == "2026-03-02");
}

TEST_CASE("a terminal episode ends the EpisodeOfCare and the CarePlan on the day it ended", "[fhir][spec-10]") {
  auto events = kProfile2;
  events.push_back({{"type", "stop"}, {"at", "2026-04-01"}, {"reason", "goals_met"}});
  Episode ep = run("ep-3", "P003", events);
  json bundle = bundle_of({{ep, std::nullopt}});
  auto eoc = of_type(bundle, "EpisodeOfCare")[0];
  CHECK(eoc["status"] == "finished");
  CHECK(eoc["period"]["end"] == "2026-04-01");
  CHECK(of_type(bundle, "CarePlan")[0]["status"] == "completed");
  CHECK(of_type(bundle, "CarePlan")[0]["period"]["end"] == "2026-04-01");
  bool cancelled_week6 = false;
  for (const auto& t : of_type(bundle, "Task"))
    if (t["code"]["text"] == "Herevaluatie week 6") cancelled_week6 = t["status"] == "cancelled";
  CHECK(cancelled_week6);
}

TEST_CASE("without the log, QuestionnaireResponses carry the scores and Observations baseline and latest",
          "[fhir][spec-6]") {
  Episode ep = run("ep-3", "P003", kProfile2);
  json bundle = bundle_of({{ep, std::nullopt}});
  auto qrs = of_type(bundle, "QuestionnaireResponse");
  REQUIRE(qrs.size() == 2);
  CHECK(qrs[0]["questionnaire"] == "urn:zorgpad:questionnaire:start-back");
  CHECK(qrs[0]["status"] == "completed");
  CHECK(qrs[0]["authored"] == "2026-03-02");
  std::vector<std::string> links;
  for (const auto& item : qrs[0]["item"]) links.push_back(item["linkId"]);
  CHECK(links == std::vector<std::string>{"total", "psychosocial", "risk"});
  CHECK(qrs[0]["item"][0]["answer"][0]["valueInteger"] == ep.sbst->total);
  CHECK(qrs[0]["item"][1]["answer"][0]["valueInteger"] == ep.sbst->psychosocial);
  CHECK(qrs[0]["item"][2]["answer"][0]["valueCoding"]["code"] == "LA8982-6");  // medium
  CHECK(qrs[1]["questionnaire"] == "urn:zorgpad:questionnaire:orebro-short");
  CHECK(qrs[1]["item"][0]["answer"][0]["valueInteger"] == ep.orebro->total);

  std::vector<int> nprs;
  for (const auto& o : of_type(bundle, "Observation")) {
    CHECK_FALSE(o.contains("effectiveDateTime"));
    if (o["code"]["coding"][0]["code"] == "72514-3") {
      CHECK(o["code"]["coding"][0]["system"] == "http://loinc.org");
      nprs.push_back(o["valueInteger"]);
    }
  }
  CHECK(nprs == std::vector<int>{7, 4});  // baseline, latest
}

TEST_CASE("with the log, every answer is exported and each measurement is a dated Observation", "[fhir][spec-6]") {
  std::vector<Event> log;
  Episode ep = run("ep-3", "P003", kProfile2, &log);
  json bundle = bundle_of({{ep, log}});
  auto qrs = of_type(bundle, "QuestionnaireResponse");
  REQUIRE(qrs.size() == 2);
  REQUIRE(qrs[0]["item"].size() == 9 + 3);
  CHECK(qrs[0]["item"][0]["linkId"] == "item-1");
  CHECK(qrs[0]["item"][8]["answer"][0]["valueInteger"] == 2);  // item 9, "how bothersome"
  REQUIRE(qrs[1]["item"].size() == 10 + 2);
  CHECK(qrs[1]["item"][0]["answer"][0]["valueInteger"] == 3);

  std::vector<std::pair<std::string, int>> nprs;
  for (const auto& o : of_type(bundle, "Observation"))
    if (o["code"]["coding"][0]["code"] == "72514-3") nprs.emplace_back(o["effectiveDateTime"], o["valueInteger"]);
  CHECK(nprs == std::vector<std::pair<std::string, int>>{{"2026-03-02", 7}, {"2026-03-23", 4}});
  for (const auto& o : of_type(bundle, "Observation"))
    if (o["code"]["coding"][0]["code"] == "psk") CHECK(o["component"].size() == 2);
}

TEST_CASE("English display texts on request, and an unknown language is an error", "[fhir]") {
  Episode ep = run("ep-3", "P003", kProfile2);
  FhirOptions en;
  en.lang = "en";
  json bundle = bundle_of({{ep, std::nullopt}}, en);
  CHECK(of_type(bundle, "Task")[1]["code"]["text"] == "Reevaluation week 3");
  CHECK(bundle["entry"] == bundle_of({{ep, std::nullopt}}, en)["entry"]);
  FhirOptions de;
  de.lang = "de";
  CHECK_FALSE(fhir_bundle({{ep, std::nullopt}}, de, 0).ok());
}

TEST_CASE("export_fhir reads one episode or all from the store, and an unknown episode is bad input", "[fhir]") {
  ManualClock clock(day("2026-03-02"));
  auto opened = open_sqlite_store(":memory:", clock);
  REQUIRE(opened.ok());
  auto& store = *opened.value();
  for (const char* id : {"ep-1", "ep-2"}) {
    auto o = store.open(id, "P-1", ev(kProfile2[0]));
    REQUIRE(o.ok());
  }
  auto one = export_fhir(store, clock, std::string("ep-2"), {});
  REQUIRE(one.ok());
  CHECK(of_type(one.value(), "EpisodeOfCare").size() == 1);
  CHECK(one.value()["timestamp"] == "2026-03-02T00:00:00Z");
  auto all = export_fhir(store, clock, std::nullopt, {});
  REQUIRE(all.ok());
  CHECK(of_type(all.value(), "EpisodeOfCare").size() == 2);
  CHECK(of_type(all.value(), "Patient").size() == 1);
  CHECK(of_type(all.value(), "CarePlan")[0]["status"] == "draft");
  auto missing = export_fhir(store, clock, std::string("ep-9"), {});
  REQUIRE(!missing.ok());
  CHECK(missing.error().kind == ErrorKind::bad_input);
}

TEST_CASE("revision 2's tasks are Tasks: the notice, the interim report, the urgent review and the follow-up",
          "[fhir][spec-11]") {
  const nlohmann::json open = {{"type", "open"}, {"at", "2026-03-02"}, {"onset", "2026-02-23"}, {"complaint", "lbp"},
                               {"age", 38}, {"gp", "Dokter Jansen"}, {"therapist", "Fysio de Vries"}};
  const nlohmann::json review = {{"type", "screening"}, {"at", "2026-03-02"}, {"red_flags", {"night_sweats", "fever_chills"}},
                                 {"exclusions", nlohmann::json::array()}};
  Episode waiting = run("ep-w", "P-1", {open, review});
  REQUIRE(waiting.state == State::red_flag_review);
  Episode notice = run("ep-n", "P-1",
                       {open, review,
                        {{"type", "red_flag_review"}, {"at", "2026-03-03"}, {"decision", "continue"}, {"note", "Griep."}},
                        {{"type", "stratification"}, {"at", "2026-03-03"}, {"factors", nlohmann::json::object()}},
                        {{"type", "measurement"}, {"at", "2026-03-03"}, {"nprs", 6}},
                        {{"type", "reevaluation"}, {"at", "2026-03-24"}, {"nprs", 6}, {"judgement", "insufficient"},
                         {"new_insights", true}},
                        {{"type", "gp_request"}, {"at", "2026-03-25"}, {"question", "Hoe gaat het?"}}});
  for (const char* lang : {"nl", "en"}) {
    json bundle = bundle_of({{waiting, std::nullopt}, {notice, std::nullopt}}, FhirOptions{lang});
    std::set<std::string> kinds;
    bool followup = false;
    auto plans = of_type(bundle, "CarePlan");
    REQUIRE(plans.size() == 2);
    CHECK(plans[0]["status"] == "on-hold");
    for (const auto& t : of_type(bundle, "Task")) {
      const std::string kind = t["code"]["coding"][0]["code"];
      INFO(lang << " " << kind);
      kinds.insert(kind);
      for (const auto& c : t["code"]["coding"]) CHECK_FALSE(c["display"].get<std::string>().empty());
      CHECK_FALSE(t["code"]["text"].get<std::string>().empty());
      CHECK((t.contains("priority") && t["priority"] == "urgent") == (kind == "red_flag_review"));
      if (t["code"]["coding"].size() == 2 && t["code"]["coding"][1]["code"] == "followup") followup = true;
    }
    CHECK(kinds.count("red_flag_review") == 1);
    CHECK(kinds.count("gp_red_flag_notice") == 1);
    CHECK(kinds.count("gp_report_interim") == 1);
    CHECK(followup);
  }
}

// ---- issue 11: FHIR a Dutch GP system can take ---------------------------------

namespace {
std::vector<nlohmann::json> with_complaint(const char* complaint) {
  auto evs = kProfile2;
  evs[0]["complaint"] = complaint;
  if (std::string(complaint) == "lrs") evs[1]["mrc"] = 5;
  return evs;
}

Practice test_practice() {
  Practice p;
  p.file = "practice.toml";
  p.name = "Praktijk De Linde";
  p.address = "Lindelaan 12, Utrecht";
  p.agb = "04101234";
  p.therapists["Fysio de Vries"] = Therapist{"Fysio de Vries", "F. de Vries", Profession::oefentherapeut, "19012345601", "04001001"};
  p.gps["Dokter Jansen"] = GeneralPractitioner{"Dokter Jansen", "J. Jansen", "Huisartsen Oost", "Oostweg 1, Utrecht", "01011001"};
  return p;
}
}  // namespace

TEST_CASE("the Condition carries ICPC L03 for low back pain and L86 for LRS", "[fhir][issue-11]") {
  for (const char* complaint : {"lbp", "lrs"}) {
    json bundle = bundle_of({{run("ep-1", "P-1", with_complaint(complaint)), std::nullopt}});
    auto conds = of_type(bundle, "Condition");
    REQUIRE(conds.size() == 1);
    CHECK(conds[0]["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icpc-1-nl");
    CHECK(conds[0]["code"]["coding"][0]["code"] == (std::string(complaint) == "lbp" ? "L03" : "L86"));
    CHECK(conds[0]["onsetDateTime"] == "2026-02-23");
    auto eoc = of_type(bundle, "EpisodeOfCare");
    CHECK(eoc[0]["diagnosis"][0]["condition"]["reference"] == "urn:uuid:" + conds[0]["id"].get<std::string>());
  }
}

TEST_CASE("each QuestionnaireResponse points at an exported Questionnaire", "[fhir][issue-11]") {
  json bundle = bundle_of({{run("ep-1", "P-1", kProfile2), std::nullopt}});
  std::set<std::string> canonical;
  for (const auto& q : of_type(bundle, "Questionnaire")) canonical.insert(q["url"].get<std::string>());
  auto responses = of_type(bundle, "QuestionnaireResponse");
  REQUIRE_FALSE(responses.empty());
  for (const auto& r : responses) CHECK(canonical.count(r["questionnaire"].get<std::string>()) == 1);
}

TEST_CASE("a transaction Bundle PUTs every resource to its stable id", "[fhir][issue-11]") {
  FhirOptions o;
  o.transaction = true;
  const Episode ep = run("ep-1", "P-1", kProfile2);
  json a = bundle_of({{ep, std::nullopt}}, o, 1767225600);
  json b = bundle_of({{ep, std::nullopt}}, o, 1767225600 + 86400);
  CHECK(a["type"] == "transaction");
  REQUIRE(a["entry"].size() == b["entry"].size());
  for (size_t i = 0; i < a["entry"].size(); ++i) {
    const json& e = a["entry"][i];
    CHECK(e["request"]["method"] == "PUT");
    CHECK(e["request"]["url"] == e["resource"]["resourceType"].get<std::string>() + "/" + e["resource"]["id"].get<std::string>());
    CHECK(e["request"] == b["entry"][i]["request"]);
  }
}

TEST_CASE("the practice file gives Practitioner and Organization with AGB and BIG", "[fhir][issue-11]") {
  const Practice p = test_practice();
  FhirOptions o;
  o.practice = &p;
  json bundle = bundle_of({{run("ep-1", "P-1", kProfile2), std::nullopt}}, o);
  bool practice_agb = false, therapist_big = false, gp_agb = false, exercise_therapist = false;
  for (const auto& org : of_type(bundle, "Organization"))
    for (const auto& id : org.value("identifier", json::array()))
      practice_agb |= id["system"] == "http://fhir.nl/fhir/NamingSystem/agb-z" && id["value"] == "04101234";
  for (const auto& pr : of_type(bundle, "Practitioner"))
    for (const auto& id : pr.value("identifier", json::array())) {
      therapist_big |= id["system"] == "http://fhir.nl/fhir/NamingSystem/big" && id["value"] == "19012345601";
      gp_agb |= id["system"] == "http://fhir.nl/fhir/NamingSystem/agb-z" && id["value"] == "01011001";
    }
  for (const auto& role : of_type(bundle, "PractitionerRole"))
    exercise_therapist |= role["code"][0]["coding"][0]["code"] == "oefentherapeut";
  CHECK(practice_agb);
  CHECK(therapist_big);
  CHECK(gp_agb);
  CHECK(exercise_therapist);
  CHECK(of_type(bundle, "EpisodeOfCare")[0]["careManager"].contains("reference"));
}

TEST_CASE("Patient carries name, birth date and BSN only when the patients file is given", "[fhir][issue-11]") {
  const auto dir = std::filesystem::temp_directory_path() / ("zorgpad-fhir-id-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "p.csv") << "reference,name,birth_date,bsn\nP-1,Anna Jansen,1970-03-04,111222333\n";
  auto patients = load_patients((dir / "p.csv").string());
  std::filesystem::remove_all(dir);
  REQUIRE(patients.ok());
  const Episode ep = run("ep-1", "P-1", kProfile2);
  json without = bundle_of({{ep, std::nullopt}});
  CHECK(without.dump().find("Anna") == std::string::npos);
  CHECK(without.dump().find("111222333") == std::string::npos);
  FhirOptions o;
  o.patients = &*patients;
  json with = bundle_of({{ep, std::nullopt}}, o);
  auto p = of_type(with, "Patient")[0];
  CHECK(p["name"][0]["text"] == "Anna Jansen");
  CHECK(p["birthDate"] == "1970-03-04");
  CHECK(p["identifier"][1]["system"] == "http://fhir.nl/fhir/NamingSystem/bsn");
}

TEST_CASE("CarePlan.description reads in plain words", "[fhir][issue-11]") {
  json bundle = bundle_of({{run("ep-1", "P-1", kProfile2), std::nullopt}});
  const std::string d = of_type(bundle, "CarePlan")[0]["description"];
  CHECK(d.rfind("Lage rugpijn", 0) == 0);
  for (const char* code : {"lbp", "treatment", "acute", "subacute"}) CHECK(d.find(code) == std::string::npos);
}
