#include <nlohmann/json.hpp>
#include <set>

#include "pathway/event.hpp"

namespace zorgpad {
namespace {

using nlohmann::json;

// Collects the first error; every reader returns false once one is recorded.
class Reader {
 public:
  explicit Reader(const json& j) : j_(j) {}
  bool failed() const { return !err_.empty(); }
  const std::string& error() const { return err_; }
  void fail(std::string m) { if (err_.empty()) err_ = std::move(m); }
  // The field's value, or nullptr when it is absent or null: one lookup.
  const json* get(const char* k) const {
    auto it = j_.find(k);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  bool has(const char* k) const { return get(k) != nullptr; }

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
    const json* v = get(k);
    if (!v) { if (required) fail(std::string("missing field '") + k + "'"); return std::nullopt; }
    return int_value(*v, Field{k}, lo, hi);
  }
  template <typename What>
  std::optional<int> int_value(const json& v, const What& what, long lo, long hi) {
    if (!v.is_number_integer()) { fail(what() + ": expected an integer, got " + short_dump(v)); return std::nullopt; }
    // nlohmann stores non-negative integers as unsigned: compare in that domain
    // first so that 2^64-1 is not read as -1.
    bool out_of_range = v.is_number_unsigned()
                            ? v.get<unsigned long long>() > (unsigned long long)hi || (long long)v.get<unsigned long long>() < lo
                            : (v.get<long long>() < lo || v.get<long long>() > hi);
    if (out_of_range) {
      fail(what() + ": " + short_dump(v) + " is out of range " + std::to_string(lo) + "-" + std::to_string(hi));
      return std::nullopt;
    }
    return int(v.get<long long>());
  }
  std::optional<Date> date(const char* k, bool required) {
    const json* v = get(k);
    if (!v) { if (required) fail(std::string("missing field '") + k + "'"); return std::nullopt; }
    if (v->is_string()) {
      if (auto d = Date::parse(v->get_ref<const std::string&>())) return d;
    }
    fail(std::string("field '") + k + "': " + short_dump(*v) + " is not a date (YYYY-MM-DD)");
    return std::nullopt;
  }
  std::optional<std::string> string(const char* k, bool required, size_t max_len = 200) {
    const json* v = get(k);
    if (!v) { if (required) fail(std::string("missing field '") + k + "'"); return std::nullopt; }
    if (!v->is_string()) { fail(std::string("field '") + k + "': expected a string"); return std::nullopt; }
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_len) { fail(std::string("field '") + k + "': longer than " + std::to_string(max_len) + " characters"); return std::nullopt; }
    return s;
  }
  std::optional<bool> boolean(const char* k) {
    const json* v = get(k);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) { fail(std::string("field '") + k + "': expected true or false"); return std::nullopt; }
    return v->get<bool>();
  }
  template <typename E, size_t N>
  std::optional<E> code(const char* k, const CodeTable<E, N>& table, bool required) {
    const json* v = get(k);
    if (!v) { if (required) fail(std::string("missing field '") + k + "'"); return std::nullopt; }
    return code_value(*v, Field{k}, table);
  }
  template <typename E, size_t N, typename What>
  std::optional<E> code_value(const json& v, const What& what, const CodeTable<E, N>& table) {
    if (!v.is_string()) { fail(what() + ": expected a code string, got " + short_dump(v)); return std::nullopt; }
    auto e = table.parse(v.get_ref<const std::string&>());
    if (!e) fail(what() + ": unknown code " + short_dump(v));
    return e;
  }
  template <typename E, size_t N>
  std::vector<E> code_list(const char* k, const CodeTable<E, N>& table) {
    std::vector<E> out;
    const json* p = get(k);
    if (!p) return out;
    const json& v = *p;
    if (!v.is_array()) { fail(std::string("field '") + k + "': expected a list of codes"); return out; }
    for (const auto& item : v) {
      auto e = code_value(item, Field{k}, table);
      if (!e) return out;
      if (std::find(out.begin(), out.end(), *e) == out.end()) out.push_back(*e);
    }
    return out;
  }
  template <size_t N>
  std::optional<std::array<int, N>> answers(const char* k, const std::array<std::pair<int, int>, N>& ranges) {
    const json* p = get(k);
    if (!p) return std::nullopt;
    const json& v = *p;
    if (!v.is_array() || v.size() != N) {
      fail(std::string("field '") + k + "': expected a list of " + std::to_string(N) + " answers");
      return std::nullopt;
    }
    std::array<int, N> out{};
    for (size_t i = 0; i < N; ++i) {
      auto x = int_value(v[i], Field{k, int(i + 1)}, ranges[i].first, ranges[i].second);
      if (!x) return std::nullopt;
      out[i] = *x;
    }
    return out;
  }
  std::optional<std::vector<int>> psk(const char* k) {
    const json* p = get(k);
    if (!p) return std::nullopt;
    const json& v = *p;
    if (!v.is_array() || v.empty() || v.size() > 3) {
      fail(std::string("field '") + k + "': expected a list of one to three scores");
      return std::nullopt;
    }
    std::vector<int> out;
    for (size_t i = 0; i < v.size(); ++i) {
      auto x = int_value(v[i], Field{k, int(i + 1)}, 0, 10);
      if (!x) return std::nullopt;
      out.push_back(*x);
    }
    return out;
  }
  std::optional<Factors> factors(const char* k) {
    const json* p = get(k);
    if (!p) return std::nullopt;
    const json& v = *p;
    if (!v.is_object()) { fail(std::string("field '") + k + "': expected an object of factor codes"); return std::nullopt; }
    Factors out;
    for (auto it = v.begin(); it != v.end(); ++it) {
      auto f = kFactors.parse(it.key());
      if (!f) { fail(std::string("field '") + k + "': unknown factor '" + clip(it.key()) + "'"); return std::nullopt; }
      auto level = code_value(it.value(), [&] { return std::string("factor '") + it.key() + "'"; }, kFactorLevels);
      if (!level) return std::nullopt;
      out[*f] = *level;
    }
    return out;
  }

  static std::string clip(const std::string& s) { return s.size() > 40 ? s.substr(0, 40) + "..." : s; }
  static std::string short_dump(const json& v) {
    return clip(v.dump(-1, ' ', true, json::error_handler_t::replace));
  }

 private:
  const json& j_;
  std::string err_;
};

const std::set<std::string>& allowed_fields(Trigger t) {
  static const std::set<std::string> open{"type", "at", "id", "onset", "complaint", "age", "previous_episode_end", "gp", "therapist", "patient"};
  static const std::set<std::string> screening{"type", "at", "id", "red_flags", "suspicion", "exclusions", "mrc", "nprs"};
  static const std::set<std::string> strat{"type", "at", "id", "sbst", "orebro", "factors", "profile", "override_reason"};
  static const std::set<std::string> meas{"type", "at", "id", "nprs", "qbpds", "psk"};
  static const std::set<std::string> session{"type", "at", "id"};
  static const std::set<std::string> reev{"type", "at", "id", "nprs", "qbpds", "psk", "judgement", "new_profile", "new_insights"};
  static const std::set<std::string> gp{"type", "at", "id", "outcome"};
  static const std::set<std::string> stop{"type", "at", "id", "reason"};
  switch (t) {
    case Trigger::open: return open;
    case Trigger::screening: return screening;
    case Trigger::stratification: return strat;
    case Trigger::measurement: return meas;
    case Trigger::session: return session;
    case Trigger::reevaluation: return reev;
    case Trigger::gp_consult: return gp;
    case Trigger::stop: return stop;
    default: return session;
  }
}

}  // namespace

Expected<Event> parse_event(const json& j) {
  if (!j.is_object()) return Error{"an event must be a JSON object"};
  if (!j.contains("type")) return Error{"missing field 'type'"};
  if (!j.at("type").is_string()) return Error{"field 'type': expected a string"};
  auto type = kTriggers.parse(j.at("type").get_ref<const std::string&>());
  if (!type || is_timer(*type)) return Error{"unknown event type " + Reader::short_dump(j.at("type"))};

  const auto& allowed = allowed_fields(*type);
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!allowed.count(it.key())) return Error{"unknown field '" + Reader::clip(it.key()) + "'"};

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
      if (auto s = r.string("patient", false, 100)) e.patient = *s;
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
      break;
    case Trigger::stratification: {
      static constexpr std::array<std::pair<int, int>, 9> sbst_ranges{{{0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 4}}};
      static constexpr std::array<std::pair<int, int>, 10> orebro_ranges{{{1, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}}};
      e.sbst = r.answers("sbst", sbst_ranges);
      e.orebro = r.answers("orebro", orebro_ranges);
      e.factors = r.factors("factors");
      e.profile = r.integer("profile", 1, 3, false);
      e.override_reason = r.string("override_reason", false, 500);
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
      break;
    default:
      break;
  }
  if (r.failed()) return Error{r.error()};
  return e;
}

}  // namespace zorgpad
