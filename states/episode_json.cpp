#include "states/episode_json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>

#include "pathway/json_depth.hpp"

namespace zorgpad {
namespace {

using nlohmann::json;

template <typename T>
json opt(const std::optional<T>& v) { return v ? json(*v) : json(nullptr); }
json opt_date(const std::optional<Date>& d) { return d ? json(d->iso()) : json(nullptr); }

// scenario-format: null until a measure is recorded, then only the measures
// recorded so far.
json measures_view(const Measures& m) {
  if (m.empty()) return nullptr;
  json j = json::object();
  if (m.nprs) j["nprs"] = *m.nprs;
  if (m.qbpds) j["qbpds"] = *m.qbpds;
  if (m.psk) j["psk"] = *m.psk;
  return j;
}
json notes_json(const std::vector<NoteRecord>& notes) {
  json j = json::array();
  for (const auto& n : notes) j.push_back({{"at", n.at.iso()}, {"text", n.text}});
  return j;
}
json factors_json(const std::optional<Factors>& f) {
  if (!f) return nullptr;
  json j = json::object();
  for (const auto& [k, v] : *f) j[std::string(kFactors.name(k))] = kFactorLevels.name(v);
  return j;
}

// Reading a stored state (simdjson, exceptions on): every accessor throws on
// a missing key or a wrong type, caught once in episode_from_state_text.
using Value = simdjson::dom::element;

Date date_of(Value v) {
  auto d = Date::parse_stored(std::string_view(v));
  if (!d) throw std::runtime_error("bad date");
  return *d;
}
std::optional<Date> opt_date_of(Value v) { return v.is_null() ? std::nullopt : std::optional(date_of(v)); }
int int_of(Value v) {
  int64_t x = v;
  if (x < INT_MIN || x > INT_MAX) throw std::runtime_error("integer out of range");
  return int(x);
}
std::optional<int> opt_int_of(Value v) { return v.is_null() ? std::nullopt : std::optional(int_of(v)); }
std::string str_of(Value v) { return std::string(std::string_view(v)); }
std::optional<std::string> opt_str_of(Value v) { return v.is_null() ? std::nullopt : std::optional(str_of(v)); }
template <typename E, size_t N>
E code_of(Value v, const CodeTable<E, N>& t) {
  auto e = t.parse(std::string_view(v));
  if (!e) throw std::runtime_error("bad code");
  return *e;
}
// A key that bodies written before revision 2 lack: none when absent.
std::optional<Value> maybe(Value obj, const char* key) {
  Value v;
  if (obj[key].get(v)) return std::nullopt;
  return v;
}
std::vector<NoteRecord> notes_of(std::optional<Value> v) {
  std::vector<NoteRecord> out;
  if (v)
    for (Value n : simdjson::dom::array(*v)) out.push_back({date_of(n["at"]), str_of(n["text"])});
  return out;
}
Measures measures_of(Value v) {
  Measures m{opt_int_of(v["nprs"]), opt_int_of(v["qbpds"]), std::nullopt};
  if (Value psk = v["psk"]; !psk.is_null()) {
    m.psk.emplace();
    for (Value x : simdjson::dom::array(psk)) m.psk->push_back(int_of(x));
  }
  return m;
}

// ---- the stored state, written directly ----------------------------------------------
// The one writer of the stored form: an episode is written once per command
// and once per episode by rebuild, so it writes text directly instead of
// building a JSON tree. Keys in bytewise order (the order a JSON object of
// nlohmann's prints in); strings escaped as nlohmann's dump escapes them.
// tests/unit/episode_state_golden_test.cpp holds it to golden files.

class BodyWriter {
 public:
  explicit BodyWriter(std::string& s) : s_(s) {}

  BodyWriter& lit(std::string_view v) { s_ += v; return *this; }
  BodyWriter& num(int64_t v) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    s_.append(b, size_t(r.ptr - b));
    return *this;
  }
  BodyWriter& boolean(bool v) { s_ += v ? "true" : "false"; return *this; }
  // A JSON string as nlohmann's dump writes it (ensure_ascii off): UTF-8 as
  // is, the two mandatory escapes and the control characters escaped.
  BodyWriter& str(std::string_view v) {
    s_ += '"';
    size_t plain = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(v[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      s_.append(v.data() + plain, i - plain);
      plain = i + 1;
      switch (c) {
        case '"': s_ += "\\\""; break;
        case '\\': s_ += "\\\\"; break;
        case '\b': s_ += "\\b"; break;
        case '\f': s_ += "\\f"; break;
        case '\n': s_ += "\\n"; break;
        case '\r': s_ += "\\r"; break;
        case '\t': s_ += "\\t"; break;
        default: {
          static constexpr char hex[] = "0123456789abcdef";
          s_ += "\\u00";
          s_ += hex[c >> 4];
          s_ += hex[c & 0xf];
        }
      }
    }
    s_.append(v.data() + plain, v.size() - plain);
    s_ += '"';
    return *this;
  }
  BodyWriter& date(Date d) { s_ += '"'; d.append_iso(s_); s_ += '"'; return *this; }
  template <typename T>
  BodyWriter& opt_num(const std::optional<T>& v) { return v ? num(*v) : lit("null"); }
  BodyWriter& opt_date(const std::optional<Date>& d) { return d ? date(*d) : lit("null"); }
  BodyWriter& opt_str(const std::optional<std::string>& v) { return v ? str(*v) : lit("null"); }
  BodyWriter& measures(const Measures& m) {
    lit("{\"nprs\":").opt_num(m.nprs).lit(",\"psk\":");
    if (m.psk) {
      lit("[");
      for (size_t i = 0; i < m.psk->size(); ++i) (i ? lit(",") : *this).num((*m.psk)[i]);
      lit("]");
    } else {
      lit("null");
    }
    return lit(",\"qbpds\":").opt_num(m.qbpds).lit("}");
  }
  BodyWriter& notes(const std::vector<NoteRecord>& n) {
    lit("[");
    for (size_t i = 0; i < n.size(); ++i) lit(i ? ",{\"at\":" : "{\"at\":").date(n[i].at).lit(",\"text\":").str(n[i].text).lit("}");
    return lit("]");
  }

 private:
  std::string& s_;
};

// The factor codes in name order (a JSON object's key order).
const std::array<Factor, kFactors.size()>& factors_by_name() {
  static const auto order = [] {
    std::array<Factor, kFactors.size()> a{};
    for (size_t i = 0; i < a.size(); ++i) a[i] = kFactors.at(i);
    std::sort(a.begin(), a.end(), [](Factor x, Factor y) { return kFactors.name(x) < kFactors.name(y); });
    return a;
  }();
  return order;
}

void write_state(const Episode& ep, std::string& s) {
  s.reserve(2048);
  BodyWriter w(s);
  w.lit("{\"age\":").num(ep.age);
  w.lit(",\"complaint\":").str(kComplaints.name(ep.complaint));
  w.lit(",\"events\":").num(ep.events);
  w.lit(",\"factors\":");
  if (ep.factors) {
    w.lit("{");
    bool first = true;
    for (Factor f : factors_by_name()) {
      auto it = ep.factors->find(f);
      if (it == ep.factors->end()) continue;
      w.lit(first ? "" : ",").str(kFactors.name(f)).lit(":").str(kFactorLevels.name(it->second));
      first = false;
    }
    w.lit("}");
  } else {
    w.lit("null");
  }
  w.lit(",\"gp\":").str(ep.gp);
  w.lit(",\"gp_questions\":").notes(ep.gp_questions);
  w.lit(",\"id\":").str(ep.id);
  w.lit(",\"last_event\":").date(ep.last_event);
  w.lit(",\"last_fired\":").date(ep.last_fired);
  w.lit(",\"lrs_check_emitted\":").boolean(ep.lrs_check_emitted);
  w.lit(",\"onset\":").date(ep.onset);
  w.lit(",\"opened\":").date(ep.opened);
  w.lit(",\"override_reason\":").opt_str(ep.override_reason);
  w.lit(",\"patient\":").str(ep.patient);
  w.lit(",\"phase\":").str(kPhases.name(ep.phase));
  w.lit(",\"previous_episode_end\":").opt_date(ep.previous_episode_end);
  w.lit(",\"profile\":").opt_num(ep.profile);
  w.lit(",\"profile_history\":[");
  for (size_t i = 0; i < ep.profile_history.size(); ++i) {
    const auto& p = ep.profile_history[i];
    w.lit(i ? ",{\"at\":" : "{\"at\":").date(p.at).lit(",\"event\":").str(kTriggers.name(p.event));
    w.lit(",\"profile\":").num(p.profile).lit(",\"suggested\":").opt_num(p.suggested).lit("}");
  }
  w.lit("],\"reason\":");
  if (is_terminal(ep.state)) w.opt_str(ep.reason); else w.lit("null");
  w.lit(",\"recurrent\":").boolean(ep.recurrent);
  w.lit(",\"red_flags\":[");
  for (size_t i = 0; i < ep.red_flags.size(); ++i)
    w.lit(i ? ",{\"at\":" : "{\"at\":").date(ep.red_flags[i].at).lit(",\"flag\":").str(kRedFlags.name(ep.red_flags[i].flag)).lit("}");
  w.lit("],\"reevaluations\":[");
  for (size_t i = 0; i < ep.reevaluations.size(); ++i) {
    const auto& r = ep.reevaluations[i];
    w.lit(i ? ",{\"at\":" : "{\"at\":").date(r.at).lit(",\"checkpoint\":");
    if (r.checkpoint) w.str(kCheckpoints.name(*r.checkpoint)); else w.lit("null");
    w.lit(",\"derived\":").boolean(r.derived).lit(",\"judgement\":").str(kJudgements.name(r.judgement));
    w.lit(",\"measured_improvement\":");
    if (r.measured_improvement) w.boolean(*r.measured_improvement); else w.lit("null");
    w.lit("}");
  }
  w.lit("],\"referred_by\":").str(kReferredBy.name(ep.referred_by));
  w.lit(",\"review\":");
  if (ep.review) {
    w.lit("{\"exclusions\":[");
    for (size_t i = 0; i < ep.review->exclusions.size(); ++i) (i ? w.lit(",") : w).str(kExclusions.name(ep.review->exclusions[i]));
    w.lit("],\"from\":").str(kStates.name(ep.review->from)).lit("}");
  } else {
    w.lit("null");
  }
  w.lit(",\"review_notes\":").notes(ep.review_notes);
  w.lit(",\"reviewed\":[");
  for (size_t i = 0; i < ep.reviewed.size(); ++i) (i ? w.lit(",") : w).str(kRedFlags.name(ep.reviewed[i]));
  w.lit("],\"revision\":").num(ep.revision);
  w.lit(",\"scores\":{\"baseline\":").measures(ep.baseline).lit(",\"latest\":").measures(ep.latest).lit(",\"mrc\":[");
  for (size_t i = 0; i < ep.mrc.size(); ++i)
    w.lit(i ? ",{\"at\":" : "{\"at\":").date(ep.mrc[i].at).lit(",\"value\":").num(ep.mrc[i].value).lit("}");
  w.lit("],\"orebro\":");
  if (ep.orebro) w.lit("{\"raised\":").boolean(ep.orebro->raised).lit(",\"total\":").num(ep.orebro->total).lit("}");
  else w.lit("null");
  w.lit(",\"sbst\":");
  if (ep.sbst)
    w.lit("{\"psychosocial\":").num(ep.sbst->psychosocial).lit(",\"risk\":").str(kSbstRisks.name(ep.sbst->risk))
        .lit(",\"total\":").num(ep.sbst->total).lit("}");
  else w.lit("null");
  w.lit("},\"screenings\":").num(ep.screenings);
  w.lit(",\"session_limit_emitted\":").boolean(ep.session_limit_emitted);
  w.lit(",\"sessions\":").num(ep.sessions);
  w.lit(",\"state\":").str(kStates.name(ep.state));
  w.lit(",\"stored_reason\":").opt_str(ep.reason);
  w.lit(",\"suggested_profile\":").opt_num(ep.suggested_profile);
  w.lit(",\"tasks\":[");
  for (size_t i = 0; i < ep.tasks.size(); ++i) {
    const Task& t = ep.tasks[i];
    w.lit(i ? ",{" : "{");
    if (t.checkpoint) w.lit("\"checkpoint\":").str(kCheckpoints.name(*t.checkpoint)).lit(",");
    w.lit("\"closed\":").opt_date(t.closed).lit(",\"created\":").date(t.created).lit(",\"due\":").date(t.due);
    w.lit(",\"kind\":").str(kTaskKinds.name(t.kind)).lit(",\"seq\":").num(t.seq);
    w.lit(",\"status\":").str(kTaskStatuses.name(t.status)).lit("}");
  }
  w.lit("],\"therapist\":").str(ep.therapist);
  w.lit(",\"timers\":[");
  for (size_t i = 0; i < ep.timers.size(); ++i) {
    const Timer& t = ep.timers[i];
    w.lit(i ? ",{\"due\":" : "{\"due\":").date(t.due).lit(",\"kind\":").str(kTriggers.name(t.kind));
    w.lit(",\"task\":").num(t.task_seq).lit(",\"to_phase\":").str(kPhases.name(t.to_phase)).lit("}");
  }
  w.lit("],\"transitions\":[");
  for (size_t i = 0; i < ep.transitions.size(); ++i) {
    const Transition& t = ep.transitions[i];
    w.lit(i ? ",{\"at\":" : "{\"at\":").date(t.at).lit(",\"event\":").str(kTriggers.name(t.event));
    w.lit(",\"from\":").str(t.from).lit(",\"to\":").str(t.to).lit("}");
  }
  w.lit("],\"treatment_start\":").opt_date(ep.treatment_start).lit("}");
}

}  // namespace

json task_view(const Task& t) {
  json j = {{"kind", kTaskKinds.name(t.kind)}};
  if (t.checkpoint) j["checkpoint"] = kCheckpoints.name(*t.checkpoint);
  j["due"] = t.due.iso();
  j["status"] = kTaskStatuses.name(t.status);
  return j;
}

json episode_view(const Episode& ep) {
  json j;
  j["id"] = ep.id;
  j["patient"] = ep.patient;
  j["state"] = kStates.name(ep.state);
  j["phase"] = kPhases.name(ep.phase);
  j["profile"] = opt(ep.profile);
  j["suggested_profile"] = opt(ep.suggested_profile);
  j["complaint"] = kComplaints.name(ep.complaint);
  j["recurrent"] = ep.recurrent;
  j["sessions"] = ep.sessions;
  j["reason"] = is_terminal(ep.state) ? opt(ep.reason) : json(nullptr);
  j["onset"] = ep.onset.iso();
  j["opened"] = ep.opened.iso();
  j["treatment_start"] = opt_date(ep.treatment_start);
  j["gp"] = ep.gp;
  j["therapist"] = ep.therapist;
  j["referred_by"] = kReferredBy.name(ep.referred_by);
  j["revision"] = ep.revision;
  j["override_reason"] = opt(ep.override_reason);
  j["factors"] = factors_json(ep.factors);
  json scores;
  scores["sbst"] = ep.sbst ? json{{"total", ep.sbst->total}, {"psychosocial", ep.sbst->psychosocial},
                                  {"risk", kSbstRisks.name(ep.sbst->risk)}}
                           : json(nullptr);
  scores["orebro"] = ep.orebro ? json{{"total", ep.orebro->total}, {"raised", ep.orebro->raised}} : json(nullptr);
  scores["baseline"] = measures_view(ep.baseline);
  scores["latest"] = measures_view(ep.latest);
  scores["mrc"] = json::array();
  for (const auto& m : ep.mrc) scores["mrc"].push_back({{"at", m.at.iso()}, {"value", m.value}});
  j["scores"] = scores;
  j["red_flags"] = json::array();
  for (const auto& f : ep.red_flags) j["red_flags"].push_back({{"at", f.at.iso()}, {"flag", kRedFlags.name(f.flag)}});
  j["review_notes"] = notes_json(ep.review_notes);
  j["gp_questions"] = notes_json(ep.gp_questions);
  j["tasks"] = json::array();
  for (const auto& t : ep.tasks) j["tasks"].push_back(task_view(t));
  j["profile_history"] = json::array();
  for (const auto& p : ep.profile_history)
    j["profile_history"].push_back({{"at", p.at.iso()}, {"profile", p.profile}, {"suggested", opt(p.suggested)},
                                    {"event", kTriggers.name(p.event)}});
  j["reevaluations"] = json::array();
  for (const auto& r : ep.reevaluations)
    j["reevaluations"].push_back({{"at", r.at.iso()}, {"judgement", kJudgements.name(r.judgement)},
                                  {"derived", r.derived},
                                  {"checkpoint", r.checkpoint ? json(kCheckpoints.name(*r.checkpoint)) : json(nullptr)},
                                  {"measured_improvement", opt(r.measured_improvement)}});
  j["transitions"] = json::array();
  for (const auto& t : ep.transitions)
    j["transitions"].push_back({{"at", t.at.iso()}, {"event", kTriggers.name(t.event)}, {"from", t.from}, {"to", t.to}});
  return j;
}

std::string episode_state_text(const Episode& ep) {
  std::string s;
  write_state(ep, s);
  return s;
}

json episode_state(const Episode& ep) { return json::parse(episode_state_text(ep)); }

Expected<Episode> episode_from_state_text(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  try {
    Value j = parser.parse(text.data(), text.size(), true);
    Episode ep;
    ep.id = str_of(j["id"]);
    ep.patient = str_of(j["patient"]);
    ep.state = code_of(j["state"], kStates);
    ep.phase = code_of(j["phase"], kPhases);
    ep.profile = opt_int_of(j["profile"]);
    ep.suggested_profile = opt_int_of(j["suggested_profile"]);
    ep.complaint = code_of(j["complaint"], kComplaints);
    ep.recurrent = bool(j["recurrent"]);
    ep.sessions = int_of(j["sessions"]);
    ep.reason = opt_str_of(j["stored_reason"]);
    ep.onset = date_of(j["onset"]);
    ep.opened = date_of(j["opened"]);
    ep.treatment_start = opt_date_of(j["treatment_start"]);
    ep.gp = str_of(j["gp"]);
    ep.therapist = str_of(j["therapist"]);
    // Revision 2 fields; a body written before them is an episode of revision 1.
    if (auto v = maybe(j, "revision")) ep.revision = int_of(*v);
    if (auto v = maybe(j, "referred_by")) ep.referred_by = code_of(*v, kReferredBy);
    if (auto v = maybe(j, "red_flags"))
      for (Value f : simdjson::dom::array(*v)) ep.red_flags.push_back({date_of(f["at"]), code_of(f["flag"], kRedFlags)});
    ep.review_notes = notes_of(maybe(j, "review_notes"));
    ep.gp_questions = notes_of(maybe(j, "gp_questions"));
    if (auto v = maybe(j, "lrs_check_emitted")) ep.lrs_check_emitted = bool(*v);
    if (auto v = maybe(j, "reviewed"))
      for (Value f : simdjson::dom::array(*v)) ep.reviewed.push_back(code_of(f, kRedFlags));
    if (auto v = maybe(j, "review"); v && !v->is_null()) {
      PendingReview r;
      r.from = code_of((*v)["from"], kStates);
      for (Value x : simdjson::dom::array((*v)["exclusions"])) r.exclusions.push_back(code_of(x, kExclusions));
      ep.review = r;
    }
    ep.override_reason = opt_str_of(j["override_reason"]);
    if (Value fj = j["factors"]; !fj.is_null()) {
      Factors f;
      for (auto field : simdjson::dom::object(fj)) {
        auto k = kFactors.parse(field.key);
        if (!k) throw std::runtime_error("bad factor");
        f[*k] = code_of(field.value, kFactorLevels);
      }
      ep.factors = f;
    }
    Value sc = j["scores"];
    if (Value sb = sc["sbst"]; !sb.is_null())
      ep.sbst = SbstScore{int_of(sb["total"]), int_of(sb["psychosocial"]), code_of(sb["risk"], kSbstRisks)};
    if (Value ob = sc["orebro"]; !ob.is_null()) ep.orebro = OrebroScore{int_of(ob["total"]), bool(ob["raised"])};
    ep.baseline = measures_of(sc["baseline"]);
    ep.latest = measures_of(sc["latest"]);
    if (auto v = maybe(sc, "mrc"))
      for (Value m : simdjson::dom::array(*v)) ep.mrc.push_back({date_of(m["at"]), int_of(m["value"])});
    for (Value tj : simdjson::dom::array(j["tasks"])) {
      Task t;
      t.seq = int_of(tj["seq"]);
      t.kind = code_of(tj["kind"], kTaskKinds);
      t.due = date_of(tj["due"]);
      t.status = code_of(tj["status"], kTaskStatuses);
      if (Value cp; !tj["checkpoint"].get(cp)) t.checkpoint = code_of(cp, kCheckpoints);  // present only for reevaluations
      t.created = date_of(tj["created"]);
      t.closed = opt_date_of(tj["closed"]);
      ep.tasks.push_back(t);
    }
    for (Value pj : simdjson::dom::array(j["profile_history"]))
      ep.profile_history.push_back({date_of(pj["at"]), int_of(pj["profile"]), opt_int_of(pj["suggested"]),
                                    code_of(pj["event"], kTriggers)});
    for (Value rj : simdjson::dom::array(j["reevaluations"])) {
      Value cp = rj["checkpoint"];
      ReevaluationRecord rec{date_of(rj["at"]), code_of(rj["judgement"], kJudgements), bool(rj["derived"]),
                             cp.is_null() ? std::nullopt : std::optional(code_of(cp, kCheckpoints)), std::nullopt};
      if (auto mi = maybe(rj, "measured_improvement"); mi && !mi->is_null()) rec.measured_improvement = bool(*mi);
      ep.reevaluations.push_back(rec);
    }
    for (Value tj : simdjson::dom::array(j["transitions"]))
      ep.transitions.push_back({date_of(tj["at"]), code_of(tj["event"], kTriggers), str_of(tj["from"]), str_of(tj["to"])});
    ep.age = int_of(j["age"]);
    ep.previous_episode_end = opt_date_of(j["previous_episode_end"]);
    ep.screenings = int_of(j["screenings"]);
    ep.session_limit_emitted = bool(j["session_limit_emitted"]);
    ep.last_event = date_of(j["last_event"]);
    ep.last_fired = date_of(j["last_fired"]);
    ep.events = int64_t(j["events"]);
    for (Value tj : simdjson::dom::array(j["timers"])) {
      Timer t;
      t.due = date_of(tj["due"]);
      t.kind = code_of(tj["kind"], kTriggers);
      t.to_phase = code_of(tj["to_phase"], kPhases);
      t.task_seq = int_of(tj["task"]);
      ep.timers.push_back(t);
    }
    return ep;
  } catch (const std::exception& e) {
    return Error{std::string("stored episode is unreadable: ") + e.what()};
  }
}

Expected<Episode> episode_from_state(const json& j) {
  if (!json_nesting_within(j, 16)) return Error{"stored episode is unreadable: nested too deep"};
  return episode_from_state_text(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace zorgpad
