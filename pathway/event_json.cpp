// Events are read with simdjson: the log holds ten million of them at a
// regional care group, and `rebuild` reads every one (nlohmann's DOM took a
// third of its time). One reader serves every caller: a parsed nlohmann
// object (replay, CLI, import) is passed on as its dump, which is also the
// text the log keeps, so every event is checked by the same code.
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

#include "pathway/event.hpp"
#include "pathway/json_depth.hpp"

namespace zorgpad {
namespace {

using nlohmann::json;
using Value = simdjson::dom::element;
using Type = simdjson::dom::element_type;

bool is_integer(Value v) { return v.type() == Type::INT64 || v.type() == Type::UINT64; }

// What is wrong with a string field's value, if anything: too long, or a
// control character (line breaks and tabs are allowed in free text).
std::optional<std::string> string_problem(const char* k, std::string_view s, size_t max_len, bool free_text) {
  if (s.size() > max_len) return std::string("field '") + k + "': longer than " + std::to_string(max_len) + " characters";
  for (unsigned char c : s)
    if ((c < 0x20 || c == 0x7f) && !(free_text && (c == '\n' || c == '\r' || c == '\t'))) {
      static constexpr char hex[] = "0123456789ABCDEF";
      return std::string("field '") + k + "': contains the control character U+00" + hex[c >> 4] + hex[c & 0xf];
    }
  return std::nullopt;
}

// Field names echoed in errors: 40 bytes at most, control characters shown
// as \xNN (a field named "\nset" must not break the line; found by
// fuzz/fuzz_event).
std::string clip(std::string_view s) { return zorgpad::clip(s, 40); }
// A value as nlohmann prints it (error texts only): the same text as before
// events were read with simdjson, non-ASCII escaped, cut at 40 characters.
std::string short_dump(Value v) {
  std::string text = simdjson::to_string(v);
  json j = json::parse(text, nullptr, false);
  return clip(j.is_discarded() ? text : j.dump(-1, ' ', true, json::error_handler_t::replace));
}

constexpr const char* kNotObject = "an event must be a JSON object";
// A valid event nests three levels (the event, a list or `factors`, a value);
// deeper input is refused before anything prints it, since printing a value
// (nlohmann's dump, error texts) recurses once per level.
constexpr int kMaxNesting = 16;
constexpr const char* kTooDeep = "an event may nest at most 16 levels of objects and lists";

// json_nesting_within for a simdjson value.
bool nesting_within(Value v, int levels) {
  if (v.is_array()) {
    if (levels == 0) return false;
    for (Value item : v.get_array())
      if (!nesting_within(item, levels - 1)) return false;
  } else if (v.is_object()) {
    if (levels == 0) return false;
    for (auto field : v.get_object())
      if (!nesting_within(field.value, levels - 1)) return false;
  }
  return true;
}

// The members of an object in nlohmann's order: by key, the last of equal
// keys winning (a dump has neither unsorted nor repeated keys; any other text
// is read as nlohmann would read it).
std::vector<std::pair<std::string_view, Value>> members(simdjson::dom::object o) {
  std::vector<std::pair<std::string_view, Value>> out;
  for (auto field : o) out.emplace_back(field.key, field.value);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  auto last = std::unique(out.rbegin(), out.rend(), [](const auto& a, const auto& b) { return a.first == b.first; });
  out.erase(out.begin(), last.base());
  return out;
}

// Collects the first error; every reader returns false once one is recorded.
class Reader {
 public:
  explicit Reader(simdjson::dom::object o) : o_(o) {}
  bool failed() const { return !err_.empty(); }
  const std::string& error() const { return err_; }
  void fail(std::string m) { if (err_.empty()) err_ = std::move(m); }
  // The field's value, or nothing when it is absent or null; the last of
  // repeated keys wins.
  std::optional<Value> get(std::string_view k) const {
    std::optional<Value> out;
    for (auto field : o_)
      if (field.key == k) out = field.value;
    if (out && out->is_null()) return std::nullopt;
    return out;
  }
  // Whether the field is there; when not and it is required, that is the error.
  bool present(const std::optional<Value>& v, const char* k, bool required) {
    if (!v && required) fail(std::string("missing field '") + k + "'");
    return v.has_value();
  }

  // The error texts name the field; `what` builds it only when there is an
  // error, since nearly every event is valid.
  struct Field {
    const char* key;
    int item = 0;  // 1-based list item, 0 for the field itself
    std::string operator()() const {
      return std::string("field '") + key + "'" + (item ? " item " + std::to_string(item) : std::string());
    }
  };

  std::optional<int> integer(const char* k, long lo, long hi, bool required) {
    auto v = get(k);
    if (!present(v, k, required)) return std::nullopt;
    return int_value(*v, Field{k}, lo, hi);
  }
  template <typename What>
  std::optional<int> int_value(Value v, const What& what, long lo, long hi) {
    if (!is_integer(v)) { fail(what() + ": expected an integer, got " + short_dump(v)); return std::nullopt; }
    // Above 2^63-1 an integer is unsigned: compare in that domain so that
    // 2^64-1 is not read as -1.
    bool out_of_range = v.type() == Type::UINT64
                            ? uint64_t(v.get_uint64()) > (unsigned long long)hi
                            : (int64_t(v.get_int64()) < lo || int64_t(v.get_int64()) > hi);
    if (out_of_range) {
      fail(what() + ": " + short_dump(v) + " is out of range " + std::to_string(lo) + "-" + std::to_string(hi));
      return std::nullopt;
    }
    return int(int64_t(v.get_int64()));
  }
  std::optional<Date> date(const char* k, bool required) {
    auto v = get(k);
    if (!present(v, k, required)) return std::nullopt;
    if (v->is_string()) {
      if (auto d = Date::parse(std::string_view(v->get_string()))) return d;
    }
    fail(std::string("field '") + k + "': " + short_dump(*v) + " is not a date (YYYY-MM-DD)");
    return std::nullopt;
  }
  // Free text (a note, a question, a reason) may hold line breaks and tabs;
  // no string holds any other control character (U+0000-U+001F, U+007F):
  // they would reach a terminal, a letter or a log line as they are.
  std::optional<std::string> string(const char* k, bool required, size_t max_len = 200, bool free_text = false) {
    auto v = get(k);
    if (!present(v, k, required)) return std::nullopt;
    if (!v->is_string()) { fail(std::string("field '") + k + "': expected a string"); return std::nullopt; }
    std::string_view s = v->get_string();
    if (auto problem = string_problem(k, s, max_len, free_text)) {
      fail(*problem);
      return std::nullopt;
    }
    return std::string(s);
  }
  std::optional<bool> boolean(const char* k) {
    auto v = get(k);
    if (!v) return std::nullopt;
    if (!v->is_bool()) { fail(std::string("field '") + k + "': expected true or false"); return std::nullopt; }
    return bool(v->get_bool());
  }
  template <typename E, size_t N>
  std::optional<E> code(const char* k, const CodeTable<E, N>& table, bool required) {
    auto v = get(k);
    if (!present(v, k, required)) return std::nullopt;
    return code_value(*v, Field{k}, table);
  }
  template <typename E, size_t N, typename What>
  std::optional<E> code_value(Value v, const What& what, const CodeTable<E, N>& table) {
    if (!v.is_string()) { fail(what() + ": expected a code string, got " + short_dump(v)); return std::nullopt; }
    auto e = table.parse(std::string_view(v.get_string()));
    if (!e) fail(what() + ": unknown code " + short_dump(v));
    return e;
  }
  template <typename E, size_t N>
  std::vector<E> code_list(const char* k, const CodeTable<E, N>& table) {
    std::vector<E> out;
    auto v = get(k);
    if (!v) return out;
    if (!v->is_array()) { fail(std::string("field '") + k + "': expected a list of codes"); return out; }
    for (Value item : v->get_array()) {
      auto e = code_value(item, Field{k}, table);
      if (!e) return out;
      if (std::find(out.begin(), out.end(), *e) == out.end()) out.push_back(*e);
    }
    return out;
  }
  template <size_t N>
  std::optional<std::array<int, N>> answers(const char* k, const std::array<std::pair<int, int>, N>& ranges) {
    auto p = get(k);
    if (!p) return std::nullopt;
    if (!p->is_array() || p->get_array().size() != N) {
      fail(std::string("field '") + k + "': expected a list of " + std::to_string(N) + " answers");
      return std::nullopt;
    }
    std::array<int, N> out{};
    size_t i = 0;
    for (Value item : p->get_array()) {
      auto x = int_value(item, Field{k, int(i + 1)}, ranges[i].first, ranges[i].second);
      if (!x) return std::nullopt;
      out[i++] = *x;
    }
    return out;
  }
  std::optional<std::vector<int>> psk(const char* k) {
    auto p = get(k);
    if (!p) return std::nullopt;
    const size_t n = p->is_array() ? p->get_array().size() : 0;
    if (n < 1 || n > 3) {
      fail(std::string("field '") + k + "': expected a list of one to three scores");
      return std::nullopt;
    }
    std::vector<int> out;
    for (Value item : p->get_array()) {
      auto x = int_value(item, Field{k, int(out.size() + 1)}, 0, 10);
      if (!x) return std::nullopt;
      out.push_back(*x);
    }
    return out;
  }
  std::optional<Factors> factors(const char* k) {
    auto p = get(k);
    if (!p) return std::nullopt;
    if (!p->is_object()) { fail(std::string("field '") + k + "': expected an object of factor codes"); return std::nullopt; }
    Factors out;
    for (const auto& member : members(p->get_object())) {
      const std::string_view key = member.first;  // a named variable: clang 14 cannot capture a structured binding
      const Value value = member.second;
      auto f = kFactors.parse(key);
      if (!f) { fail(std::string("field '") + k + "': unknown factor '" + clip(key) + "'"); return std::nullopt; }
      auto level = code_value(value, [&] { return "factor '" + std::string(key) + "'"; }, kFactorLevels);
      if (!level) return std::nullopt;
      out[*f] = *level;
    }
    return out;
  }

 private:
  simdjson::dom::object o_;
  std::string err_;
};

// The fields each event type may carry.
std::span<const std::string_view> allowed_fields(Trigger t) {
  static constexpr std::string_view open[]{"type", "at", "id", "onset", "complaint", "age", "previous_episode_end", "gp", "therapist", "patient", "referred_by", "revision"};
  static constexpr std::string_view screening[]{"type", "at", "id", "red_flags", "suspicion", "exclusions", "mrc", "nprs", "complaint"};
  static constexpr std::string_view review[]{"type", "at", "id", "decision", "note"};
  static constexpr std::string_view request[]{"type", "at", "id", "question"};
  static constexpr std::string_view strat[]{"type", "at", "id", "sbst", "orebro", "factors", "profile", "override_reason"};
  static constexpr std::string_view meas[]{"type", "at", "id", "nprs", "qbpds", "psk"};
  static constexpr std::string_view session[]{"type", "at", "id"};
  static constexpr std::string_view reev[]{"type", "at", "id", "nprs", "qbpds", "psk", "judgement", "new_profile", "new_insights"};
  static constexpr std::string_view gp[]{"type", "at", "id", "outcome"};
  static constexpr std::string_view stop[]{"type", "at", "id", "reason", "nprs", "qbpds", "psk", "red_flags"};
  switch (t) {
    case Trigger::open: return open;
    case Trigger::screening: return screening;
    case Trigger::red_flag_review: return review;
    case Trigger::gp_request: return request;
    case Trigger::stratification: return strat;
    case Trigger::measurement: return meas;
    case Trigger::session: return session;
    case Trigger::reevaluation: return reev;
    case Trigger::gp_consult: return gp;
    case Trigger::stop: return stop;
    default: return session;
  }
}

Expected<Event> parse_object(simdjson::dom::object j) {
  std::optional<Value> type_value;
  for (auto field : j)
    if (field.key == "type") type_value = field.value;
  if (!type_value) return Error{"missing field 'type'"};
  if (!type_value->is_string()) return Error{"field 'type': expected a string"};
  auto type = kTriggers.parse(std::string_view(type_value->get_string()));
  if (!type || is_timer(*type)) return Error{"unknown event type " + short_dump(*type_value)};

  // The first unknown field in key order, as the error has always named it.
  auto allowed = allowed_fields(*type);
  std::optional<std::string_view> unknown;
  for (auto field : j)
    if (std::find(allowed.begin(), allowed.end(), field.key) == allowed.end() && (!unknown || field.key < *unknown))
      unknown = field.key;
  if (unknown) return Error{"unknown field '" + clip(*unknown) + "'"};

  Event e;
  e.type = *type;
  Reader r(j);
  if (auto at = r.date("at", true)) e.at = *at;
  if (auto id = r.string("id", false)) e.id = *id;
  switch (*type) {
    case Trigger::open: {
      if (auto d = r.date("onset", true)) e.onset = *d;
      if (auto c = r.code("complaint", kComplaints, true)) e.complaint = *c;
      if (auto a = r.integer("age", 0, 130, true)) e.age = *a;
      e.previous_episode_end = r.date("previous_episode_end", false);
      if (auto s = r.string("gp", false)) e.gp = *s;
      if (auto s = r.string("therapist", false)) e.therapist = *s;
      if (auto s = r.string("patient", false, kMaxPatientReference)) e.patient = *s;
      if (auto b = r.code("referred_by", kReferredBy, false)) { e.referred_by = *b; e.referred_by_given = true; }
      e.revision = r.integer("revision", kFirstRevision, kCurrentRevision, false);
      if (!r.failed() && e.onset > e.at) r.fail("field 'onset': " + e.onset.iso() + " is after the event date " + e.at.iso());
      if (!r.failed() && e.previous_episode_end && *e.previous_episode_end > e.onset)
        r.fail("field 'previous_episode_end': " + e.previous_episode_end->iso() + " is after the onset " + e.onset.iso());
      break;
    }
    case Trigger::screening:
      e.red_flags = r.code_list("red_flags", kRedFlags);
      e.suspicion = r.boolean("suspicion").value_or(false);
      e.exclusions = r.code_list("exclusions", kExclusions);
      e.mrc = r.integer("mrc", 0, 5, false);
      e.screening_nprs = r.integer("nprs", 0, 10, false);
      e.screening_complaint = r.code("complaint", kComplaints, false);
      if (!r.failed() && e.screening_complaint == Complaint::lbp)
        r.fail("field 'complaint': a screening may only reclassify as \"lrs\"; LRS never turns back into LBP (§4)");
      break;
    case Trigger::red_flag_review:
      e.decision = r.code("decision", kReviewDecisions, true);
      e.note = r.string("note", false, 2000, true);
      if (!r.failed() && e.note && e.note->find_first_not_of(" \t\r\n") == std::string::npos)
        r.fail("field 'note': is blank");
      if (!r.failed() && e.decision == ReviewDecision::continue_ && !e.note)
        r.fail("a review that continues the pathway needs a 'note' saying why (§4)");
      break;
    case Trigger::gp_request:
      e.question = r.string("question", false, 2000, true);
      break;
    case Trigger::stratification: {
      static constexpr std::array<std::pair<int, int>, 9> sbst_ranges{{{0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 4}}};
      static constexpr std::array<std::pair<int, int>, 10> orebro_ranges{{{1, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}}};
      e.sbst = r.answers("sbst", sbst_ranges);
      e.orebro = r.answers("orebro", orebro_ranges);
      e.factors = r.factors("factors");
      e.profile = r.integer("profile", 1, 3, false);
      e.override_reason = r.string("override_reason", false, 500, true);
      if (!r.failed() && !e.sbst && !e.orebro && !e.factors && !e.profile)
        r.fail("stratification needs at least one of 'factors', 'sbst', 'orebro', 'profile'");
      break;
    }
    case Trigger::measurement:
    case Trigger::reevaluation:
      e.measures.nprs = r.integer("nprs", 0, 10, false);
      e.measures.qbpds = r.integer("qbpds", 0, 100, false);
      e.measures.psk = r.psk("psk");
      if (*type == Trigger::measurement) {
        if (!r.failed() && e.measures.empty()) r.fail("measurement needs at least one of 'nprs', 'qbpds', 'psk'");
      } else {
        e.judgement = r.code("judgement", kJudgements, false);
        e.new_profile = r.integer("new_profile", 1, 3, false);
        e.new_insights = r.boolean("new_insights").value_or(false);
      }
      break;
    case Trigger::gp_consult:
      e.outcome = r.code("outcome", kGpOutcomes, true);
      break;
    case Trigger::stop:
      e.reason = r.code("reason", kStopReasons, true);
      e.measures.nprs = r.integer("nprs", 0, 10, false);
      e.measures.qbpds = r.integer("qbpds", 0, 100, false);
      e.measures.psk = r.psk("psk");
      e.red_flags = r.code_list("red_flags", kRedFlags);
      if (!r.failed() && !e.red_flags.empty() && e.reason != StopReason::red_flag)
        r.fail("field 'red_flags': only a stop for reason 'red_flag' carries red flags (§10)");
      break;
    default:
      break;
  }
  if (r.failed()) return Error{r.error()};
  return e;
}

}  // namespace

std::optional<std::string> revision2_field(const Event& e) {
  switch (e.type) {
    case Trigger::open: if (e.referred_by_given) return "referred_by"; break;
    case Trigger::screening: if (e.screening_complaint) return "complaint"; break;
    case Trigger::stop:
      if (e.measures.nprs) return "nprs";
      if (e.measures.qbpds) return "qbpds";
      if (e.measures.psk) return "psk";
      if (!e.red_flags.empty()) return "red_flags";
      break;
    default: break;
  }
  return std::nullopt;
}

Expected<Event> parse_event_text(std::string_view text) {
  // One parser per thread, reused (its buffers grow to the largest event
  // seen); an unusually large text gets a parser of its own.
  thread_local simdjson::dom::parser shared;
  simdjson::dom::parser own;
  simdjson::dom::parser& parser = text.size() <= 64 * 1024 ? shared : own;
  simdjson::dom::element doc;
  if (auto err = parser.parse(text.data(), text.size(), true).get(doc))
    return Error{err == simdjson::DEPTH_ERROR ? kTooDeep : kNotObject};
  if (!doc.is_object()) return Error{kNotObject};
  if (!nesting_within(doc, kMaxNesting)) return Error{kTooDeep};
  return parse_object(doc.get_object());
}

Expected<Event> parse_event(const json& j) {
  if (!j.is_object()) return Error{kNotObject};
  // Checked before the dump, which recurses once per level.
  if (!json_nesting_within(j, kMaxNesting)) return Error{kTooDeep};
  return parse_event_text(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

json event_json(const Event& e) {
  json j = {{"type", kTriggers.name(e.type)}, {"at", e.at.iso()}};
  if (!e.id.empty()) j["id"] = e.id;
  auto measures = [&] {
    if (e.measures.nprs) j["nprs"] = *e.measures.nprs;
    if (e.measures.qbpds) j["qbpds"] = *e.measures.qbpds;
    if (e.measures.psk) j["psk"] = *e.measures.psk;
  };
  auto codes = [&](const char* key, const auto& list, const auto& table) {
    if (list.empty()) return;
    json a = json::array();
    for (auto c : list) a.push_back(table.name(c));
    j[key] = std::move(a);
  };
  switch (e.type) {
    case Trigger::open:
      j["onset"] = e.onset.iso();
      j["complaint"] = kComplaints.name(e.complaint);
      j["age"] = e.age;
      if (e.previous_episode_end) j["previous_episode_end"] = e.previous_episode_end->iso();
      if (!e.gp.empty()) j["gp"] = e.gp;
      if (!e.therapist.empty()) j["therapist"] = e.therapist;
      if (!e.patient.empty()) j["patient"] = e.patient;
      if (e.referred_by_given) j["referred_by"] = kReferredBy.name(e.referred_by);
      if (e.revision) j["revision"] = *e.revision;
      break;
    case Trigger::screening:
      codes("red_flags", e.red_flags, kRedFlags);
      if (e.suspicion) j["suspicion"] = true;
      codes("exclusions", e.exclusions, kExclusions);
      if (e.mrc) j["mrc"] = *e.mrc;
      if (e.screening_nprs) j["nprs"] = *e.screening_nprs;
      if (e.screening_complaint) j["complaint"] = kComplaints.name(*e.screening_complaint);
      break;
    case Trigger::red_flag_review:
      if (e.decision) j["decision"] = kReviewDecisions.name(*e.decision);
      if (e.note) j["note"] = *e.note;
      break;
    case Trigger::gp_request:
      if (e.question) j["question"] = *e.question;
      break;
    case Trigger::stratification:
      if (e.sbst) j["sbst"] = *e.sbst;
      if (e.orebro) j["orebro"] = *e.orebro;
      if (e.factors) {
        json f = json::object();
        for (const auto& [factor, level] : *e.factors) f[std::string(kFactors.name(factor))] = kFactorLevels.name(level);
        j["factors"] = std::move(f);
      }
      if (e.profile) j["profile"] = *e.profile;
      if (e.override_reason) j["override_reason"] = *e.override_reason;
      break;
    case Trigger::measurement:
      measures();
      break;
    case Trigger::reevaluation:
      measures();
      if (e.judgement) j["judgement"] = kJudgements.name(*e.judgement);
      if (e.new_profile) j["new_profile"] = *e.new_profile;
      if (e.new_insights) j["new_insights"] = true;
      break;
    case Trigger::gp_consult:
      if (e.outcome) j["outcome"] = kGpOutcomes.name(*e.outcome);
      break;
    case Trigger::stop:
      if (e.reason) j["reason"] = kStopReasons.name(*e.reason);
      measures();
      codes("red_flags", e.red_flags, kRedFlags);
      break;
    default:
      break;
  }
  return j;
}

std::string event_text(const Event& e) { return event_json(e).dump(-1, ' ', false, json::error_handler_t::replace); }

Status check_patient_reference(std::string_view patient) {
  if (auto problem = string_problem("patient", patient, kMaxPatientReference, false)) return Status::Fail(*problem);
  return Status::Ok();
}

}  // namespace zorgpad
