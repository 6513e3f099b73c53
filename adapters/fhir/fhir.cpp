#include "adapters/fhir/fhir.hpp"
#include "adapters/letters/letters.hpp"
#include "adapters/texts/task_titles.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <set>

namespace zorgpad {
namespace {

using json = nlohmann::ordered_json;

// ---- name-based UUIDs --------------------------------------------------------

// SHA-1 (FIPS 180-4), used for RFC 4122 version 5 UUIDs only, never for security.
std::array<uint8_t, 20> sha1(std::string_view msg) {
  uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  std::string m(msg);
  const uint64_t bits = uint64_t(msg.size()) * 8;
  m.push_back(char(0x80));
  while (m.size() % 64 != 56) m.push_back('\0');
  for (int i = 7; i >= 0; --i) m.push_back(char((bits >> (8 * i)) & 0xff));
  auto rol = [](uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  for (size_t off = 0; off < m.size(); off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = uint32_t(uint8_t(m[off + 4 * i])) << 24 | uint32_t(uint8_t(m[off + 4 * i + 1])) << 16 |
             uint32_t(uint8_t(m[off + 4 * i + 2])) << 8 | uint32_t(uint8_t(m[off + 4 * i + 3]));
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  std::array<uint8_t, 20> out{};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[size_t(4 * i + j)] = uint8_t(h[i] >> (24 - 8 * j));
  return out;
}

// zorgpad's namespace: uuid5(NAMESPACE_URL, "urn:zorgpad:fhir"). Never change
// it: every exported id derives from it.
constexpr unsigned char kNamespace[16] = {0xfd, 0xde, 0xd1, 0xea, 0xf8, 0xfd, 0x51, 0x90,
                                          0xa3, 0xfd, 0xf4, 0x63, 0x6e, 0xeb, 0x37, 0xc0};

// ---- vocabulary ----------------------------------------------------------------

constexpr const char* kLoinc = "http://loinc.org";
constexpr const char* kObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category";
// Local code and identifier systems (URNs: no resolvable URL is promised).
constexpr const char* kSysPatient = "urn:zorgpad:patient";
constexpr const char* kSysEpisode = "urn:zorgpad:episode";
constexpr const char* kSysCarePlan = "urn:zorgpad:careplan";
constexpr const char* kSysTask = "urn:zorgpad:task";
constexpr const char* kSysResponse = "urn:zorgpad:questionnaire-response";
constexpr const char* kSysObservation = "urn:zorgpad:observation";
constexpr const char* kSysTaskKind = "urn:zorgpad:task-kind";
constexpr const char* kSysCheckpoint = "urn:zorgpad:checkpoint";
constexpr const char* kSysComplaint = "urn:zorgpad:complaint";
constexpr const char* kSysMeasure = "urn:zorgpad:measure";
constexpr const char* kQuestionnaireSbst = "urn:zorgpad:questionnaire:start-back";
constexpr const char* kQuestionnaireOrebro = "urn:zorgpad:questionnaire:orebro-short";
// Dutch national systems (fhir.nl naming systems) and ICPC-1-NL.
constexpr const char* kSysAgb = "http://fhir.nl/fhir/NamingSystem/agb-z";
constexpr const char* kSysBig = "http://fhir.nl/fhir/NamingSystem/big";
constexpr const char* kSysBsn = "http://fhir.nl/fhir/NamingSystem/bsn";
constexpr const char* kSysIcpc = "http://hl7.org/fhir/sid/icpc-1-nl";
constexpr const char* kSysProfession = "urn:zorgpad:profession";
constexpr const char* kSysLetter = "urn:zorgpad:letter";
constexpr const char* kNictiz = "http://nictiz.nl/fhir/StructureDefinition/";

json profile(const char* name) { return {{"profile", json::array({std::string(kNictiz) + name})}}; }

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

// ICPC-1-NL (NHG): L03 lage rugpijn zonder uitstraling, L86 lage rugpijn met
// uitstraling (the code general practice uses for LRS).
json icpc(Complaint c, bool nl) {
  return c == Complaint::lbp ? json{{"system", kSysIcpc}, {"code", "L03"},
                                    {"display", nl ? "Lage rugpijn zonder uitstraling" : "Low back pain without radiation"}}
                             : json{{"system", kSysIcpc}, {"code", "L86"},
                                    {"display", nl ? "Lage rugpijn met uitstraling" : "Low back pain with radiation"}};
}

struct Texts {
  bool nl = true;
  const char* t(const char* dutch, const char* english) const { return nl ? dutch : english; }
};

std::string complaint_text(Complaint c, const Texts& tx) {
  return c == Complaint::lbp ? tx.t("Lage rugpijn", "Low back pain")
                             : tx.t("Lumbosacraal radiculair syndroom", "Lumbosacral radicular syndrome");
}

std::string pathway_text(Complaint c, const Texts& tx) {
  return c == Complaint::lbp ? tx.t("Zorgpad lage rugpijn", "Care pathway low back pain")
                             : tx.t("Zorgpad lumbosacraal radiculair syndroom", "Care pathway lumbosacral radicular syndrome");
}

std::string instant(int64_t seconds) {
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t rest = seconds - days * 86400;
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", int(rest / 3600), int(rest / 60 % 60), int(rest % 60));
  return Date{int32_t(days)}.iso() + buf;
}

json reference(const std::string& url) { return {{"reference", url}}; }
json display(const std::string& text) { return {{"display", text}}; }
json coding(const char* system, std::string_view code, const std::string& text) {
  return {{"system", system}, {"code", std::string(code)}, {"display", text}};
}
json identifier(const char* system, const std::string& value) { return {{"system", system}, {"value", value}}; }

// The date the episode became terminal: its last transition into that state.
std::optional<Date> ended(const Episode& ep) {
  if (!is_terminal(ep.state)) return std::nullopt;
  const std::string_view to = kStates.name(ep.state);
  for (auto it = ep.transitions.rbegin(); it != ep.transitions.rend(); ++it)
    if (it->event != Trigger::phase && it->to == to) return it->at;
  return ep.last_event;
}

json answer_int(const std::string& link, const std::string& text, int v) {
  return {{"linkId", link}, {"text", text}, {"answer", json::array({{{"valueInteger", v}}})}};
}

// LOINC answer list LL3578-3 (STarT Back risk level, 91352-5).
json sbst_risk_coding(SbstRisk r) {
  switch (r) {
    case SbstRisk::low: return coding(kLoinc, "LA9194-7", "Low");
    case SbstRisk::medium: return coding(kLoinc, "LA8982-6", "Medium");
    case SbstRisk::high: return coding(kLoinc, "LA9193-9", "High");
  }
  return nullptr;
}

// Builds the entries of one Bundle; fullUrls derive from names only.
class BundleBuilder {
 public:
  BundleBuilder(const FhirOptions& o, json words) : tx_{o.lang != "en"}, o_(o), words_(std::move(words)) {}

  void add_episode(const EpisodeRecord& rec) {
    const Episode& ep = rec.episode;
    const std::string patient = add_patient(ep);
    const std::string eoc = url("EpisodeOfCare/" + ep.id);
    const std::string plan = url("CarePlan/" + ep.id);
    // The practice, the therapist and the GP as resources (practice file).
    std::optional<std::string> org, therapist, gp;
    if (o_.practice) {
      org = organization();
      if (const Therapist* t = o_.practice->therapist(ep.therapist)) therapist = practitioner(*t, *org);
      if (const GeneralPractitioner* g = o_.practice->gp(ep.gp)) gp = general_practitioner(*g);
    }
    const std::string condition = add_condition(ep, patient);

    std::vector<json> tasks, responses, observations, communications;
    for (const Task& t : ep.tasks) tasks.push_back(task(ep, t, patient, plan));
    add_questionnaires(rec, patient, plan, responses);
    add_observations(rec, patient, plan, observations);
    for (size_t i = 0; i < ep.tasks.size(); ++i)
      if (is_letter(ep.tasks[i].kind) && ep.tasks[i].status == TaskStatus::done)
        communications.push_back(communication(rec, ep.tasks[i], tasks[i]["fullUrl"].get<std::string>(), patient,
                                               therapist, gp));

    json e = {{"resourceType", "EpisodeOfCare"}, {"id", id_of(eoc)}};
    e["identifier"] = json::array({identifier(kSysEpisode, ep.id)});
    e["status"] = std::string(fhir_episode_status(ep.state));
    const std::string complaint = complaint_text(ep.complaint, tx_);
    const json type = json::array({{{"coding", json::array({coding(kSysComplaint, kComplaints.name(ep.complaint), complaint)})},
                                    {"text", pathway_text(ep.complaint, tx_)}}});
    e["type"] = type;
    e["patient"] = reference(patient);
    json period = {{"start", ep.opened.iso()}};
    if (auto end = ended(ep)) period["end"] = end->iso();
    e["period"] = period;
    e["diagnosis"] = json::array({{{"condition", reference(condition)}, {"rank", 1}}});
    if (org) e["managingOrganization"] = reference(*org);
    if (therapist) e["careManager"] = reference(*therapist);
    else if (!ep.therapist.empty()) e["careManager"] = display(ep.therapist);
    entries_.push_back(entry(eoc, std::move(e)));

    json p = {{"resourceType", "CarePlan"}, {"id", id_of(plan)}};
    p["identifier"] = json::array({identifier(kSysCarePlan, ep.id)});
    p["status"] = std::string(fhir_careplan_status(ep.state));
    p["intent"] = "plan";
    p["category"] = type;
    std::string title = pathway_text(ep.complaint, tx_);
    if (ep.profile) title += tx_.t(" — profiel ", " — profile ") + std::to_string(*ep.profile);
    p["title"] = title;
    p["description"] = description(ep);
    p["subject"] = reference(patient);
    json plan_period = {{"start", (ep.treatment_start ? *ep.treatment_start : ep.opened).iso()}};
    if (auto end = ended(ep)) plan_period["end"] = end->iso();
    p["period"] = plan_period;
    p["created"] = ep.opened.iso();
    p["addresses"] = json::array({reference(condition)});
    if (therapist) p["author"] = reference(*therapist);
    else if (!ep.therapist.empty()) p["author"] = display(ep.therapist);
    json contributors = json::array();
    if (therapist) contributors.push_back(reference(*therapist));
    else if (!ep.therapist.empty()) contributors.push_back(display(ep.therapist));
    if (gp) contributors.push_back(reference(*gp));
    else if (!ep.gp.empty()) contributors.push_back(display(ep.gp));
    if (!contributors.empty()) p["contributor"] = contributors;
    json support = json::array({reference(eoc)});
    for (const auto& r : responses) support.push_back(reference(r["fullUrl"].get<std::string>()));
    for (const auto& o : observations) support.push_back(reference(o["fullUrl"].get<std::string>()));
    p["supportingInfo"] = support;
    if (!tasks.empty()) {
      json activity = json::array();
      for (const auto& t : tasks) activity.push_back(json{{"reference", reference(t["fullUrl"].get<std::string>())}});
      p["activity"] = activity;
    }
    if (ep.override_reason)
      p["note"] = json::array({{{"text", tx_.t("Reden voor een lager profiel dan voorgesteld: ",
                                               "Reason for a profile below the suggestion: ") + *ep.override_reason}}});
    entries_.push_back(entry(plan, std::move(p)));

    for (auto* group : {&tasks, &responses, &observations, &communications})
      for (auto& x : *group) entries_.push_back(std::move(x));
  }

  json bundle(int64_t timestamp) && {
    json b = {{"resourceType", "Bundle"}, {"type", o_.transaction ? "transaction" : "collection"},
              {"timestamp", instant(timestamp)}};
    if (o_.transaction)
      // PUT with the stable ids: a second post updates every resource to what it already is.
      for (auto& e : entries_) {
        const json& r = e["resource"];
        e["request"] = {{"method", "PUT"},
                        {"url", r["resourceType"].get<std::string>() + "/" + r["id"].get<std::string>()}};
      }
    b["entry"] = std::move(entries_);
    return b;
  }

 private:
  static std::string url(const std::string& name) { return "urn:uuid:" + name_uuid(name); }
  static std::string id_of(const std::string& url) { return url.substr(9); }
  static json entry(const std::string& url, json resource) {
    return {{"fullUrl", url}, {"resource", std::move(resource)}};
  }

  // One Patient per pseudonymous reference; an episode without one gets its own.
  std::string add_patient(const Episode& ep) {
    const std::string name = ep.patient.empty() ? "Patient/of-episode/" + ep.id : "Patient/" + ep.patient;
    const std::string u = url(name);
    if (!patients_.insert(u).second) return u;
    json p = {{"resourceType", "Patient"}, {"id", id_of(u)}};
    p["meta"] = profile("nl-core-Patient");
    json ids = json::array();
    if (!ep.patient.empty()) ids.push_back(identifier(kSysPatient, ep.patient));
    // Identity only when the practice supplies it (--patients): never stored.
    const PatientIdentity* who = o_.patients && !ep.patient.empty() ? o_.patients->find(ep.patient) : nullptr;
    if (who && !who->bsn.empty()) ids.push_back(identifier(kSysBsn, who->bsn));
    if (!ids.empty()) p["identifier"] = ids;
    if (who) {
      p["name"] = json::array({{{"text", who->name}}});
      p["birthDate"] = who->birth_date.iso();
    }
    entries_.push_back(entry(u, std::move(p)));
    return u;
  }

  // ---- the practice, its therapists and the GPs (practice file) ----

  std::string organization() {
    const Practice& pr = *o_.practice;
    const std::string u = url("Organization/" + (pr.agb.empty() ? pr.name : pr.agb));
    if (!seen_.insert(u).second) return u;
    json o = {{"resourceType", "Organization"}, {"id", id_of(u)}};
    o["meta"] = profile("nl-core-HealthcareProvider-Organization");
    if (!pr.agb.empty()) o["identifier"] = json::array({identifier(kSysAgb, pr.agb)});
    o["active"] = true;
    o["name"] = pr.name;
    json telecom = json::array();
    if (!pr.phone.empty()) telecom.push_back({{"system", "phone"}, {"value", pr.phone}, {"use", "work"}});
    if (!pr.email.empty()) telecom.push_back({{"system", "email"}, {"value", pr.email}, {"use", "work"}});
    if (!telecom.empty()) o["telecom"] = telecom;
    o["address"] = json::array({{{"use", "work"}, {"text", pr.address}}});
    entries_.push_back(entry(u, std::move(o)));
    return u;
  }

  json person(const std::string& u, const std::string& name, const std::string& agb, const std::string& big) {
    json p = {{"resourceType", "Practitioner"}, {"id", id_of(u)}};
    p["meta"] = profile("nl-core-HealthProfessional-Practitioner");
    json ids = json::array();
    if (!agb.empty()) ids.push_back(identifier(kSysAgb, agb));
    if (!big.empty()) ids.push_back(identifier(kSysBig, big));
    if (!ids.empty()) p["identifier"] = ids;
    p["active"] = true;
    p["name"] = json::array({{{"use", "official"}, {"text", name}}});
    return p;
  }

  void role(const std::string& key, const std::string& practitioner, const std::optional<std::string>& org,
            const json& code) {
    const std::string u = url("PractitionerRole/" + key);
    if (!seen_.insert(u).second) return;
    json r = {{"resourceType", "PractitionerRole"}, {"id", id_of(u)}};
    r["meta"] = profile("nl-core-HealthProfessional-PractitionerRole");
    r["active"] = true;
    r["practitioner"] = reference(practitioner);
    if (org) r["organization"] = reference(*org);
    r["code"] = json::array({code});
    entries_.push_back(entry(u, std::move(r)));
  }

  // A therapist of the practice: Practitioner (AGB, BIG) and their role in it
  // with the profession. Returns the Practitioner.
  std::string practitioner(const Therapist& t, const std::string& org) {
    const std::string u = url("Practitioner/therapist/" + t.code);
    if (seen_.insert(u).second) entries_.push_back(entry(u, person(u, t.name, t.agb, t.big)));
    const std::string prof(kProfessions.name(t.profession));
    role("therapist/" + t.code, u, org,
         {{"coding", json::array({coding(kSysProfession, prof, word("professions", prof))})}});
    return u;
  }

  // A GP of the directory: Practitioner (AGB), the GP practice as an
  // Organization when named, and the role. Returns the Practitioner.
  std::string general_practitioner(const GeneralPractitioner& g) {
    const std::string u = url("Practitioner/gp/" + g.code);
    if (seen_.insert(u).second) entries_.push_back(entry(u, person(u, g.name, g.agb, "")));
    std::optional<std::string> org;
    if (!g.practice.empty()) {
      org = url("Organization/gp-practice/" + g.practice);
      if (seen_.insert(*org).second) {
        json o = {{"resourceType", "Organization"}, {"id", id_of(*org)}};
        o["meta"] = profile("nl-core-HealthcareProvider-Organization");
        o["active"] = true;
        o["name"] = g.practice;
        o["address"] = json::array({{{"use", "work"}, {"text", g.address}}});
        entries_.push_back(entry(*org, std::move(o)));
      }
    }
    role("gp/" + g.code, u, org, {{"coding", json::array({coding(kSysProfession, "huisarts", tx_.t("huisarts", "general practitioner"))})}});
    return u;
  }

  // The diagnosis the pathway treats, with its ICPC code (L03, L86).
  std::string add_condition(const Episode& ep, const std::string& patient) {
    const std::string u = url("Condition/" + ep.id);
    json c = {{"resourceType", "Condition"}, {"id", id_of(u)}};
    c["meta"] = profile("nl-core-Problem");
    const char* clinical = ep.state == State::closed ? "resolved" : "active";
    c["clinicalStatus"] = {{"coding", json::array({{{"system", "http://terminology.hl7.org/CodeSystem/condition-clinical"},
                                                     {"code", clinical}}})}};
    c["verificationStatus"] = {{"coding", json::array({{{"system", "http://terminology.hl7.org/CodeSystem/condition-ver-status"},
                                                         {"code", "confirmed"}}})}};
    c["category"] = json::array({{{"coding", json::array({{{"system", "http://terminology.hl7.org/CodeSystem/condition-category"},
                                                            {"code", "problem-list-item"}}})}}});
    c["code"] = {{"coding", json::array({icpc(ep.complaint, tx_.nl)})}, {"text", complaint_text(ep.complaint, tx_)}};
    c["subject"] = reference(patient);
    c["onsetDateTime"] = ep.onset.iso();
    c["recordedDate"] = ep.opened.iso();
    if (ep.state == State::closed)
      if (auto end = ended(ep)) c["abatementDateTime"] = end->iso();
    entries_.push_back(entry(u, std::move(c)));
    return u;
  }

  // A sent letter (a letter task done): the letter itself, as a PDF.
  json communication(const EpisodeRecord& rec, const Task& t, const std::string& task_url, const std::string& patient,
                     const std::optional<std::string>& therapist, const std::optional<std::string>& gp) {
    const Episode& ep = rec.episode;
    const std::string key = ep.id + "/" + std::to_string(t.seq);
    const std::string u = url("Communication/" + key);
    json c = {{"resourceType", "Communication"}, {"id", id_of(u)}};
    c["identifier"] = json::array({identifier(kSysLetter, key)});
    c["basedOn"] = json::array({reference(task_url)});
    c["status"] = "completed";
    c["category"] = json::array({{{"coding", json::array({coding(kSysTaskKind, kTaskKinds.name(t.kind), kind_title(t.kind))})}}});
    c["subject"] = reference(patient);
    if (t.closed) c["sent"] = t.closed->iso();
    if (gp) c["recipient"] = json::array({reference(*gp)});
    if (therapist) c["sender"] = reference(*therapist);
    json payload;
    std::optional<std::string> pdf;
    if (o_.letter_pdf)
      if (auto r = o_.letter_pdf(rec, t)) pdf = std::move(r).value();
    if (pdf)
      payload["contentAttachment"] = {{"contentType", "application/pdf"}, {"language", tx_.nl ? "nl" : "en"},
                                      {"data", base64(*pdf)}, {"title", kind_title(t.kind) + " — " + ep.id},
                                      {"creation", t.created.iso()}};
    else
      payload["contentString"] = kind_title(t.kind) + " — " + ep.id + tx_.t(" (de brief: zorgpad letter)", " (the letter: zorgpad letter)");
    c["payload"] = json::array({payload});
    return entry(u, std::move(c));
  }

  std::string word(const char* table, std::string_view code) const {
    auto t = words_.find(table);
    if (t == words_.end()) return std::string(code);
    auto w = t->find(std::string(code));
    return w == t->end() || !w->is_string() ? std::string(code) : w->get<std::string>();
  }

  // Questionnaire definitions, once per Bundle, for the responses' canonical URLs.
  void questionnaire(const char* canonical, const char* name, const std::string& title, size_t items, bool sbst) {
    const std::string u = url(std::string("Questionnaire/") + name);
    if (!seen_.insert(u).second) return;
    json q = {{"resourceType", "Questionnaire"}, {"id", id_of(u)}};
    q["url"] = canonical;
    q["name"] = name;
    q["title"] = title;
    q["status"] = "active";
    q["subjectType"] = json::array({"Patient"});
    json list = json::array();
    const std::string item = tx_.t("Vraag ", "Item ");
    for (size_t i = 0; i < items; ++i)
      list.push_back({{"linkId", "item-" + std::to_string(i + 1)}, {"text", item + std::to_string(i + 1)}, {"type", "integer"}});
    if (sbst) {
      list.push_back({{"linkId", "total"}, {"text", tx_.t("Totaalscore (0–9)", "Total score (0–9)")}, {"type", "integer"}, {"readOnly", true}});
      list.push_back({{"linkId", "psychosocial"}, {"text", tx_.t("Psychosociale subscore (0–5)", "Psychosocial subscore (0–5)")},
                      {"type", "integer"}, {"readOnly", true}});
      list.push_back({{"linkId", "risk"}, {"text", tx_.t("Risico", "Risk")}, {"type", "choice"}, {"readOnly", true},
                      {"answerOption", json::array({{{"valueCoding", sbst_risk_coding(SbstRisk::low)}},
                                                    {{"valueCoding", sbst_risk_coding(SbstRisk::medium)}},
                                                    {{"valueCoding", sbst_risk_coding(SbstRisk::high)}}})}});
    } else {
      list.push_back({{"linkId", "total"}, {"text", tx_.t("Totaalscore (1–100)", "Total score (1–100)")}, {"type", "integer"}, {"readOnly", true}});
      list.push_back({{"linkId", "raised"}, {"text", tx_.t("Verhoogd risico (totaal > 49)", "Raised risk (total > 49)")},
                      {"type", "boolean"}, {"readOnly", true}});
    }
    q["item"] = list;
    entries_.push_back(entry(u, std::move(q)));
  }

  // In plain words, from the letters' wording (share/letters/strings.LANG.json).
  std::string description(const Episode& ep) const {
    std::string s = word("complaints", kComplaints.name(ep.complaint));
    if (!s.empty()) s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
    s += ", " + word("phases", kPhases.name(ep.phase)) + " (" + word("phase_ranges", kPhases.name(ep.phase)) + ")";
    if (ep.recurrent) s += tx_.t(", terugkerende episode", ", recurrent episode");
    s += tx_.t(". Status: ", ". Status: ") + word("states", kStates.name(ep.state));
    if (is_terminal(ep.state) && ep.reason) {
      const char* table = ep.state == State::referred ? "referral_reasons" : ep.state == State::closed ? "stop_reasons" : "exclusions";
      s += " (" + word(table, *ep.reason) + ")";
    }
    if (ep.profile) {
      s += tx_.t(". Behandelprofiel ", ". Treatment profile ") + std::to_string(*ep.profile) + ": " +
           word("profiles", std::to_string(*ep.profile));
      if (ep.suggested_profile && *ep.suggested_profile != *ep.profile)
        s += tx_.t(" (voorgesteld: profiel ", " (suggested: profile ") + std::to_string(*ep.suggested_profile) + ")";
    }
    if (ep.factors && !ep.factors->empty()) {
      s += tx_.t(". Prognostische factoren: ", ". Prognostic factors: ");
      bool first = true;
      for (const auto& [f, level] : *ep.factors) {
        s += (first ? "" : ", ") + word("factors", kFactors.name(f)) +
             (level == FactorLevel::dominant ? tx_.t(" (dominant)", " (dominant)") : "");
        first = false;
      }
    }
    if (ep.treatment_start) s += std::string(tx_.t(". Start behandeling ", ". Treatment start ")) + ep.treatment_start->iso();
    return s + ".";
  }

  // The titles of adapters/texts; a kind or checkpoint without one yet is
  // shown by its code (FHIR allows no empty string).
  std::string kind_title(TaskKind k) const {
    std::string s = task_kind_title(k, tx_.nl);
    return s.empty() ? std::string(kTaskKinds.name(k)) : s;
  }
  std::string checkpoint_text(Checkpoint c) const {
    std::string s = checkpoint_title(c, tx_.nl);
    return s.empty() ? std::string(kCheckpoints.name(c)) : s;
  }

  json task(const Episode& ep, const Task& t, const std::string& patient, const std::string& plan) {
    const std::string key = ep.id + "/" + std::to_string(t.seq);
    const std::string u = url("Task/" + key);
    const std::string text = kind_title(t.kind) + (t.checkpoint ? " " + checkpoint_text(*t.checkpoint) : "");
    json r = {{"resourceType", "Task"}, {"id", id_of(u)}};
    r["identifier"] = json::array({identifier(kSysTask, key)});
    r["basedOn"] = json::array({reference(plan)});
    r["status"] = std::string(fhir_task_status(t.status));
    r["intent"] = "order";
    if (is_urgent(t.kind)) r["priority"] = "urgent";  // §11: the phone call and the red-flag review
    // The kind, refined by the checkpoint for reevaluation tasks.
    json codings = json::array({coding(kSysTaskKind, kTaskKinds.name(t.kind), kind_title(t.kind))});
    if (t.checkpoint) codings.push_back(coding(kSysCheckpoint, kCheckpoints.name(*t.checkpoint), checkpoint_text(*t.checkpoint)));
    r["code"] = {{"coding", codings}, {"text", text}};
    r["description"] = text + " — " + ep.id;
    r["for"] = reference(patient);
    r["authoredOn"] = t.created.iso();
    if (t.closed) r["lastModified"] = t.closed->iso();
    r["restriction"] = {{"period", {{"end", t.due.iso()}}}};
    return entry(u, std::move(r));
  }

  json response(const std::string& key, const char* questionnaire, Date authored, json items,
                const std::string& patient, const std::string& plan) {
    const std::string u = url("QuestionnaireResponse/" + key);
    json r = {{"resourceType", "QuestionnaireResponse"}, {"id", id_of(u)}};
    r["identifier"] = identifier(kSysResponse, key);
    r["basedOn"] = json::array({reference(plan)});
    r["questionnaire"] = questionnaire;
    r["status"] = "completed";
    r["subject"] = reference(patient);
    r["authored"] = authored.iso();
    r["item"] = std::move(items);
    return entry(u, std::move(r));
  }

  void add_questionnaires(const EpisodeRecord& rec, const std::string& patient, const std::string& plan,
                          std::vector<json>& out) {
    const Episode& ep = rec.episode;
    // The answers and the date, from the stratification event when the log is given.
    std::optional<SbstAnswers> sbst;
    std::optional<OrebroAnswers> orebro;
    Date authored = ep.treatment_start.value_or(ep.last_event);  // stratification starts the treatment
    if (rec.events)
      for (const Event& ev : *rec.events)
        if (ev.type == Trigger::stratification) {
          sbst = ev.sbst;
          orebro = ev.orebro;
          authored = ev.at;
        }
    const std::string q = tx_.t("Vraag ", "Item ");
    if (ep.sbst) {
      json items = json::array();
      if (sbst)
        for (size_t i = 0; i < sbst->size(); ++i)
          items.push_back(answer_int("item-" + std::to_string(i + 1), q + std::to_string(i + 1), (*sbst)[i]));
      items.push_back(answer_int("total", tx_.t("Totaalscore (0–9)", "Total score (0–9)"), ep.sbst->total));
      items.push_back(answer_int("psychosocial", tx_.t("Psychosociale subscore (0–5)", "Psychosocial subscore (0–5)"),
                                 ep.sbst->psychosocial));
      items.push_back({{"linkId", "risk"},
                       {"text", tx_.t("Risico", "Risk")},
                       {"answer", json::array({{{"valueCoding", sbst_risk_coding(ep.sbst->risk)}}})}});
      questionnaire(kQuestionnaireSbst, "StartBack", "STarT Back Screening Tool", 9, true);
      out.push_back(response(ep.id + "/sbst", kQuestionnaireSbst, authored, std::move(items), patient, plan));
    }
    if (ep.orebro) {
      json items = json::array();
      if (orebro)
        for (size_t i = 0; i < orebro->size(); ++i)
          items.push_back(answer_int("item-" + std::to_string(i + 1), q + std::to_string(i + 1), (*orebro)[i]));
      items.push_back(answer_int("total", tx_.t("Totaalscore (1–100)", "Total score (1–100)"), ep.orebro->total));
      items.push_back({{"linkId", "raised"},
                       {"text", tx_.t("Verhoogd risico (totaal > 49)", "Raised risk (total > 49)")},
                       {"answer", json::array({{{"valueBoolean", ep.orebro->raised}}})}});
      questionnaire(kQuestionnaireOrebro, "OrebroShort", tx_.t("Örebro-vragenlijst (korte versie)", "Örebro questionnaire (short form)"),
                    10, false);
      out.push_back(response(ep.id + "/orebro", kQuestionnaireOrebro, authored, std::move(items), patient, plan));
    }
  }

  json observation(const std::string& key, const std::string& measure, const std::optional<Date>& at,
                   const std::optional<std::string>& note, const std::string& patient, const std::string& plan) {
    const std::string u = url("Observation/" + key + "/" + measure);
    json r = {{"resourceType", "Observation"}, {"id", id_of(u)}};
    r["identifier"] = json::array({identifier(kSysObservation, key + "/" + measure)});
    r["basedOn"] = json::array({reference(plan)});
    r["status"] = "final";
    r["category"] = json::array({{{"coding", json::array({coding(kObservationCategory, "survey", "Survey")})}}});
    if (measure == "nprs")
      r["code"] = {{"coding", json::array({coding(kLoinc, "72514-3",
                                                   "Pain severity - 0-10 verbal numeric rating [Score] - Reported")})},
                   {"text", tx_.t("NPRS, gemiddelde pijn afgelopen 24 uur (0–10)", "NPRS, average pain last 24 h (0–10)")}};
    else if (measure == "qbpds")
      r["code"] = {{"coding", json::array({coding(kSysMeasure, "qbpds", "Quebec Back Pain Disability Scale")})},
                   {"text", "QBPDS (0–100)"}};
    else
      r["code"] = {{"coding", json::array({coding(kSysMeasure, "psk", tx_.t("Patiënt Specifieke Klachten",
                                                                             "Patient-specific complaints"))})},
                   {"text", tx_.t("PSK (per activiteit 0–10)", "PSK (0–10 per activity)")}};
    r["subject"] = reference(patient);
    if (at) r["effectiveDateTime"] = at->iso();
    if (note) r["note"] = json::array({{{"text", *note}}});
    return entry(u, std::move(r));
  }

  void add_measures(const Measures& m, const std::string& key, const std::optional<Date>& at,
                    const std::optional<std::string>& note, const std::string& patient, const std::string& plan,
                    std::vector<json>& out) {
    if (m.nprs) {
      auto o = observation(key, "nprs", at, note, patient, plan);
      o["resource"]["valueInteger"] = *m.nprs;
      out.push_back(std::move(o));
    }
    if (m.qbpds) {
      auto o = observation(key, "qbpds", at, note, patient, plan);
      o["resource"]["valueInteger"] = *m.qbpds;
      out.push_back(std::move(o));
    }
    if (m.psk) {
      auto o = observation(key, "psk", at, note, patient, plan);
      json comps = json::array();
      for (size_t i = 0; i < m.psk->size(); ++i) {
        const std::string n = std::to_string(i + 1);
        comps.push_back({{"code", {{"coding", json::array({coding(kSysMeasure, "psk-" + n, tx_.t("Activiteit ", "Activity ") + n)})}}},
                         {"valueInteger", (*m.psk)[i]}});
      }
      o["resource"]["component"] = comps;
      out.push_back(std::move(o));
    }
  }

  void add_observations(const EpisodeRecord& rec, const std::string& patient, const std::string& plan,
                        std::vector<json>& out) {
    const Episode& ep = rec.episode;
    if (rec.events) {
      // Every measurement, dated; keyed by the event's place in the log.
      for (size_t i = 0; i < rec.events->size(); ++i) {
        const Event& ev = (*rec.events)[i];
        if (ev.type != Trigger::measurement && ev.type != Trigger::reevaluation) continue;
        add_measures(ev.measures, ep.id + "/event-" + std::to_string(i + 1), ev.at, std::nullopt, patient, plan, out);
      }
      return;
    }
    // Without the log: the baseline, and the latest value where it differs
    // (one measurement is both; the projection keeps no dates).
    add_measures(ep.baseline, ep.id + "/baseline", std::nullopt, std::string(tx_.t("Uitgangswaarde", "Baseline")),
                 patient, plan, out);
    Measures latest;
    if (ep.latest.nprs != ep.baseline.nprs) latest.nprs = ep.latest.nprs;
    if (ep.latest.qbpds != ep.baseline.qbpds) latest.qbpds = ep.latest.qbpds;
    if (ep.latest.psk != ep.baseline.psk) latest.psk = ep.latest.psk;
    add_measures(latest, ep.id + "/latest", std::nullopt, std::string(tx_.t("Laatste meting", "Latest measurement")),
                 patient, plan, out);
  }

  Texts tx_;
  const FhirOptions& o_;
  json words_;
  json entries_ = json::array();
  std::set<std::string> patients_, seen_;
};

}  // namespace

std::string_view fhir_episode_status(State s) {
  switch (s) {
    case State::referred:
    case State::closed: return "finished";
    case State::excluded: return "cancelled";
    default: return "active";
  }
}

std::string_view fhir_careplan_status(State s) {
  switch (s) {
    case State::intake:
    case State::screened: return "draft";
    case State::red_flag_review: return "on-hold";
    case State::referred:
    case State::closed: return "completed";
    case State::excluded: return "revoked";
    default: return "active";
  }
}

std::string_view fhir_task_status(TaskStatus s) {
  switch (s) {
    case TaskStatus::open: return "requested";
    case TaskStatus::done: return "completed";
    case TaskStatus::cancelled: return "cancelled";
  }
  return "requested";
}

std::string uuid_v5(const unsigned char (&ns)[16], std::string_view name) {
  std::string input(reinterpret_cast<const char*>(ns), 16);
  input.append(name);
  auto h = sha1(input);
  h[6] = uint8_t((h[6] & 0x0f) | 0x50);  // version 5
  h[8] = uint8_t((h[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[h[size_t(i)] >> 4]);
    out.push_back(hex[h[size_t(i)] & 0xf]);
  }
  return out;
}

std::string name_uuid(std::string_view name) { return uuid_v5(kNamespace, name); }

Expected<nlohmann::ordered_json> fhir_bundle(const std::vector<EpisodeRecord>& episodes,
                                             const FhirOptions& options, int64_t timestamp) {
  if (options.lang != "nl" && options.lang != "en")
    return Error{"fhir: unknown language '" + options.lang.substr(0, 20) + "' (nl, en)"};
  // The plain words of the codes: the letters' wording file of the language.
  const std::string file = letters_dir() + "/strings." + options.lang + ".json";
  std::ifstream in(file);
  json strings = json::parse(in, nullptr, false);
  if (!in || strings.is_discarded() || !strings.contains("words")) return Error{"fhir: cannot read '" + file + "'"};
  BundleBuilder b(options, strings["words"]);
  for (const auto& rec : episodes) b.add_episode(rec);
  return std::move(b).bundle(timestamp);
}

Expected<nlohmann::ordered_json> export_fhir(Store& store, const Clock& clock,
                                                const std::optional<std::string>& episode, const FhirOptions& options) {
  // Projections give the state and the scores; the log gives the raw
  // questionnaire answers and the dated measurements.
  std::vector<EpisodeRecord> records;
  if (episode) {
    auto r = store.load(*episode);
    if (!r) return r.error();
    records.push_back({std::move(r.value()), std::nullopt});
  } else {
    auto r = store.for_each_episode([&](const Episode& ep) { records.push_back({ep, std::nullopt}); });
    if (!r) return r.error();
  }
  for (auto& rec : records) {
    auto log = store.events(rec.episode.id);
    if (!log) return log.error();
    std::vector<Event> events;
    for (const auto& stored : log.value())
      if (stored.event) events.push_back(*stored.event);  // task_done entries are not clinical events
    rec.events = std::move(events);
    if (options.practice)
      if (Status c = options.practice->covers(rec.episode); !c) return c.error();
    if (options.letter_pdf) {
      rec.stored = std::move(log.value());
      TaskFilter f;
      f.episode = rec.episode.id;
      auto rows = store.tasks(f);
      if (!rows) return rows.error();
      for (const auto& row : rows.value()) rec.task_ids[row.task.seq] = row.id;
    }
  }
  auto b = fhir_bundle(records, options, clock.unix_seconds());
  if (!b) return bad_input(b.message());
  return std::move(b).value();
}

}  // namespace zorgpad
