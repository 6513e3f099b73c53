#include "adapters/letters/letters.hpp"

#include "adapters/letters/pdf.hpp"
#include "adapters/texts/share_dir.hpp"
#include "states/engine.hpp"

#include <kainjow/mustache.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>


namespace zorgpad {
namespace {

namespace mu = kainjow::mustache;
using nlohmann::json;

// Raised inside this file only; every public function turns it into an Error.
struct LetterFailure {
  std::string message;
};
[[noreturn]] void fail(std::string message) { throw LetterFailure{std::move(message)}; }

std::string name_of(Lang l) { return std::string(kLangs.name(l)); }
std::string strings_file(Lang l) { return "strings." + name_of(l) + ".json"; }
std::string layout_file(LetterFormat f) {
  switch (f) {
    case LetterFormat::html: return "letter.html.mustache";
    case LetterFormat::text: return "letter.txt.mustache";
    case LetterFormat::pdf: return "letter.pango.mustache";
  }
  return "letter.txt.mustache";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Partial names computed per letter or per row (aliases of a text entry).
constexpr std::array<std::string_view, 3> kComputedPartials{"t.title", "t.intro", "t.name"};

// The partial names a template uses: "{{> name}}".
std::vector<std::string> partials_used(const std::string& tmpl) {
  std::vector<std::string> names;
  for (size_t at = tmpl.find("{{>"); at != std::string::npos; at = tmpl.find("{{>", at + 3)) {
    size_t end = tmpl.find("}}", at);
    if (end == std::string::npos) break;
    std::string name = tmpl.substr(at + 3, end - at - 3);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    names.push_back(name);
  }
  return names;
}

const json& member(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) fail(where + ": missing '" + key + "'");
  return *it;
}

template <typename E, std::size_t N>
void check_words(const json& words, const char* table, const CodeTable<E, N>& codes, const std::string& file) {
  const json& t = member(words, table, file + " words");
  for (std::size_t i = 0; i < N; ++i) {
    auto it = t.find(std::string(codes.names[i]));
    if (it == t.end() || !it->is_string() || it->get<std::string>().empty())
      fail(file + ": words." + table + " has no entry for '" + std::string(codes.names[i]) + "'");
  }
}

void check_strings(const json& s, const std::string& file) {
  if (!s.is_object()) fail(file + ": not a JSON object");
  const json& text = member(s, "text", file);
  if (!text.is_object()) fail(file + ": 'text' is not an object");
  for (auto it = text.begin(); it != text.end(); ++it) {
    if (!it->is_string()) fail(file + ": text." + it.key() + " is not a string");
    const std::string v = it->get<std::string>();
    // Wording is template text: in HTML it is not escaped, so it holds no markup.
    if (v.find_first_of("<>&") != std::string::npos)
      fail(file + ": text." + it.key() + " contains '<', '>' or '&'");
    mu::mustache m{v};
    if (!m.is_valid()) fail(file + ": text." + it.key() + ": " + m.error_message());
  }
  for (TaskKind k : kLetterKinds)
    for (const char* prefix : {"title_", "intro_"})
      if (!text.contains(prefix + std::string(kTaskKinds.name(k))))
        fail(file + ": text has no '" + prefix + std::string(kTaskKinds.name(k)) + "'");

  const json& words = member(s, "words", file);
  for (const char* single : {"not_recorded", "not_measured"})
    if (!member(words, single, file + " words").is_string()) fail(file + ": words." + single + " is not a string");
  check_words(words, "states", kStates, file);
  check_words(words, "phases", kPhases, file);
  check_words(words, "phase_ranges", kPhases, file);
  check_words(words, "triggers", kTriggers, file);
  check_words(words, "complaints", kComplaints, file);
  check_words(words, "risks", kSbstRisks, file);
  check_words(words, "profiles", CodeTable<int, 3>{{"1", "2", "3"}}, file);
  check_words(words, "factors", kFactors, file);
  check_words(words, "checkpoints", kCheckpoints, file);
  check_words(words, "judgements", kJudgements, file);
  check_words(words, "referral_reasons", kReferralReasons, file);
  check_words(words, "next_steps", kReferralReasons, file);
  check_words(words, "stop_reasons", kStopReasons, file);
  check_words(words, "exclusions", kExclusions, file);
  check_words(words, "referred_by", kReferredBy, file);
  check_words(words, "red_flags", kRedFlags, file);
  check_words(words, "course", kTriggers, file);  // a sentence per event; "event:state" entries refine it
  check_words(words, "professions", kProfessions, file);
  check_words(words, "disciplines", kProfessions, file);

  const json& date = member(s, "date", file);
  const json& months = member(date, "months", file + " date");
  if (!member(date, "format", file + " date").is_string()) fail(file + ": date.format is not a string");
  if (!months.is_array() || months.size() != 12 ||
      !std::all_of(months.begin(), months.end(), [](const json& m) { return m.is_string(); }))
    fail(file + ": date.months is not a list of 12 names");
}

void check_layout(const std::string& layout, LetterFormat format, const json& text, const std::string& file) {
  mu::mustache m{layout};
  if (!m.is_valid()) fail(file + ": " + m.error_message());
  // HTML and pango markup: every value goes through the escaper; no tag may opt out.
  if (format != LetterFormat::text && (layout.find("{{{") != std::string::npos || layout.find("{{&") != std::string::npos))
    fail(file + ": unescaped tags ({{{ }}} or {{& }}) are not allowed in a markup layout");
  for (const std::string& name : partials_used(layout)) {
    bool computed = std::find(kComputedPartials.begin(), kComputedPartials.end(), name) != kComputedPartials.end();
    if (computed) continue;
    if (name.rfind("t.", 0) != 0 || !text.contains(name.substr(2)))
      fail(file + ": uses '{{> " + name + "}}', which the strings file does not define");
  }
}

// ---- values -----------------------------------------------------------------------

class Words {
 public:
  explicit Words(const json& strings) : s_(strings), w_(strings.at("words")) {}

  std::string operator()(const char* table, std::string_view code) const {
    const json& t = w_.at(table);
    auto it = t.find(std::string(code));
    if (it == t.end() || !it->is_string())
      fail("strings." + s_.value("lang", std::string("?")) + ".json: words." + table + " has no entry for '" +
           std::string(code.substr(0, 40)) + "'");
    return it->get<std::string>();
  }
  std::string single(const char* key) const { return w_.at(key).get<std::string>(); }

  std::string date(Date d) const {
    int y = 0, m = 0, day = 0;
    const std::string iso = d.iso();
    if (std::sscanf(iso.c_str(), "%d-%d-%d", &y, &m, &day) != 3 || m < 1 || m > 12) fail("bad date " + iso);
    mu::mustache tmpl{s_.at("date").at("format").get<std::string>()};
    tmpl.set_custom_escape([](const std::string& v) { return v; });  // a value: escaped where it is shown
    mu::data v;
    v.set("day", std::to_string(day));
    v.set("month", s_.at("date").at("months").at(size_t(m - 1)).get<std::string>());
    v.set("year", std::to_string(y));
    return tmpl.render(v);
  }

 private:
  const json& s_;
  const json& w_;
};

// Free text from the user (patient reference, names, reasons) on one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

std::string or_not_recorded(const std::string& s, const Words& w) {
  return s.empty() ? w.single("not_recorded") : one_line(s);
}

mu::data list_of(const std::vector<mu::data>& items) {
  mu::data l{mu::data::type::list};
  for (const auto& i : items) l << i;
  return l;
}

// How often a measure was recorded (spec §6: by a measurement, a
// reevaluation or a stop's end measurement), when the log is known.
struct Recorded {
  std::optional<int> nprs, qbpds;
  std::vector<int> psk;  // per item
};
Recorded count_recorded(const std::vector<Event>* log) {
  Recorded r;
  if (!log) return r;
  r.nprs = r.qbpds = 0;
  for (const Event& ev : *log) {
    if (ev.type != Trigger::measurement && ev.type != Trigger::reevaluation && ev.type != Trigger::stop) continue;
    if (ev.measures.nprs) ++*r.nprs;
    if (ev.measures.qbpds) ++*r.qbpds;
    if (ev.measures.psk) {
      if (r.psk.size() < ev.measures.psk->size()) r.psk.resize(ev.measures.psk->size(), 0);
      for (size_t i = 0; i < ev.measures.psk->size(); ++i) ++r.psk[i];
    }
  }
  return r;
}

// One row of the measures table; `relevance` for NPRS and QBPDS (KNGF B.3).
// `times`: how often the measure was recorded, when the log is known. A value
// recorded once has no follow-up yet: its baseline is also its latest value,
// and nothing "stayed the same".
mu::data measure_row(const std::string& name_text, std::optional<int> base, std::optional<int> latest,
                     std::optional<int> times, bool relevance, const Words& w) {
  mu::data row;
  row.set("t.name", name_text);  // the row's own wording, rendered as a partial in the row's context
  row.set("baseline", base ? std::to_string(*base) : w.single("not_measured"));
  const bool single = base && times && *times < 2;
  row.set("latest", latest && !single ? std::to_string(*latest) : w.single("not_measured"));
  if (single) {
    row.set("single", true);
    return row;
  }
  if (!base || !latest) {
    row.set("unknown", true);
    return row;
  }
  auto pct = change_percent(*base, *latest);
  if (!pct) {
    row.set("not_comparable", true);
  } else if (*pct < 0) {
    row.set("down", mu::data{"pct", mu::data{std::to_string(-*pct)}});
  } else if (*pct > 0) {
    row.set("up", mu::data{"pct", mu::data{std::to_string(*pct)}});
  } else {
    row.set(times ? "same" : "same_unknown", true);
  }
  row.set("relevant", relevance && clinically_relevant_improvement(*base, *latest));
  return row;
}

std::vector<mu::data> measure_rows(const Episode& ep, const std::vector<Event>* log, const json& text,
                                   const Words& w) {
  std::vector<mu::data> rows;
  const Measures& b = ep.baseline;
  const Measures& l = ep.latest;
  const Recorded n = count_recorded(log);
  if (b.nprs || l.nprs)
    rows.push_back(measure_row(text.at("nprs").get<std::string>(), b.nprs, l.nprs, n.nprs, true, w));
  if (b.qbpds || l.qbpds)
    rows.push_back(measure_row(text.at("qbpds").get<std::string>(), b.qbpds, l.qbpds, n.qbpds, true, w));
  size_t items = std::max(b.psk ? b.psk->size() : 0, l.psk ? l.psk->size() : 0);
  for (size_t i = 0; i < items; ++i) {
    auto at = [i](const std::optional<std::vector<int>>& v) -> std::optional<int> {
      if (v && i < v->size()) return (*v)[i];
      return std::nullopt;
    };
    std::optional<int> times;
    if (log) times = i < n.psk.size() ? n.psk[i] : 0;
    mu::data row = measure_row(text.at("psk").get<std::string>(), at(b.psk), at(l.psk), times, false, w);
    row.set("item", std::to_string(i + 1));
    rows.push_back(row);
  }
  return rows;
}

// The date the episode entered its current (terminal) state.
std::optional<Date> entered(const Episode& ep, State s) {
  const std::string_view to = kStates.name(s);
  for (auto it = ep.transitions.rbegin(); it != ep.transitions.rend(); ++it)
    if (it->event != Trigger::phase && it->to == to) return it->at;
  return std::nullopt;
}

// The n-th of the dated notes of `date` where `task` is the n-th task of its
// kind created that day (several gp_request events on one day each ask their
// own question).
const NoteRecord* note_of(const Episode& ep, const Task& task, const std::vector<NoteRecord>& notes) {
  size_t nth = 0;
  for (const Task& t : ep.tasks)
    if (t.kind == task.kind && t.created == task.created && t.seq < task.seq) ++nth;
  const NoteRecord* last = nullptr;
  for (const NoteRecord& n : notes) {
    if (n.at != task.created) continue;
    last = &n;
    if (nth-- == 0) return &n;
  }
  return last;
}

// §12: the red-flag features found up to `until`, in plain words with their dates.
std::vector<mu::data> features_found(const Episode& ep, Date until, const Words& w) {
  std::vector<mu::data> out;
  for (const FlagRecord& f : ep.red_flags) {
    if (until < f.at) continue;
    mu::data item;
    item.set("feature_date", w.date(f.at));
    item.set("feature", w("red_flags", kRedFlags.name(f.flag)));
    out.push_back(item);
  }
  return out;
}

// §12: which LRS criterion referred the episode, for reasons lrs_severe
// (MRC <= 3 or NPRS >= 8 on the day of the referral) and lrs_no_improvement
// (six weeks of complaints without sufficient reduction).
std::optional<mu::data> lrs_criterion(const Episode& ep, const std::vector<Event>* log, const Words& w) {
  if (!ep.reason) return std::nullopt;
  const std::optional<Date> on = entered(ep, State::referred);
  if (!on) return std::nullopt;
  mu::data c;
  c.set("criterion_date", w.date(*on));
  if (*ep.reason == kReferralReasons.name(ReferralReason::lrs_no_improvement)) {
    c.set("by_duration", true);
    c.set("criterion_weeks", std::to_string(std::max(0, (*on - ep.onset) / kDaysPerWeek)));
    return c;
  }
  if (*ep.reason != kReferralReasons.name(ReferralReason::lrs_severe)) return std::nullopt;
  for (auto it = ep.mrc.rbegin(); it != ep.mrc.rend(); ++it)
    if (it->at == *on && it->value <= 3) {
      c.set("by_mrc", true);
      c.set("criterion_mrc", std::to_string(it->value));
      return c;
    }
  c.set("by_nprs", true);
  // The NPRS of that day: a screening's (kept in the log only) or a measure's.
  std::optional<int> nprs;
  if (log)
    for (const Event& ev : *log)
      if (ev.at == *on) {
        if (ev.type == Trigger::screening && ev.screening_nprs && *ev.screening_nprs >= 8) nprs = ev.screening_nprs;
        if (ev.measures.nprs && *ev.measures.nprs >= 8) nprs = ev.measures.nprs;
      }
  if (!nprs && ep.latest.nprs && *ep.latest.nprs >= 8) nprs = ep.latest.nprs;
  if (nprs) c.set("criterion_nprs", std::to_string(*nprs));
  return c;
}

// The words for the reason an episode ended in its terminal state.
std::optional<std::string> status_reason(const Episode& ep, const Words& w) {
  if (!is_terminal(ep.state) || !ep.reason) return std::nullopt;
  switch (ep.state) {
    case State::referred: return w("referral_reasons", *ep.reason);
    case State::closed: return w("stop_reasons", *ep.reason);
    case State::excluded: return w("exclusions", *ep.reason);
    default: return std::nullopt;
  }
}


// A sentence of the `course` words for one transition, in plain words: the
// entry "event:state" when there is one, else the event's own.
std::string render_words(const std::string& tmpl, const mu::data& values) {
  mu::mustache m{tmpl};
  m.set_custom_escape([](const std::string& v) { return v; });  // a value: escaped where it is shown
  return m.render(values);
}

std::string course_sentence(const Episode& ep, const Transition& t, const json& words, const Words& w) {
  const json& table = words.at("course");
  const std::string trig(kTriggers.name(t.event));
  auto it = table.find(trig + ":" + t.to);
  if (it == table.end() || !it->is_string()) it = table.find(trig);
  mu::data v;
  if (t.event == Trigger::phase) {
    if (!kPhases.parse(t.to)) fail("episode: unknown phase '" + t.to.substr(0, 40) + "' in the course");
    v.set("phase", w("phases", t.to));
    const int weeks = std::max(0, (t.at - ep.onset) / kDaysPerWeek);
    v.set("weeks", std::to_string(weeks));
    v.set("one", weeks == 1);
  } else {
    if (!kStates.parse(t.to)) fail("episode: unknown state '" + t.to.substr(0, 40) + "' in the course");
    v.set("state", w("states", t.to));
    const auto to = *kStates.parse(t.to);
    if (is_terminal(to) && to == ep.state && ep.reason) {
      switch (to) {
        case State::referred: v.set("reason", w("referral_reasons", *ep.reason)); break;
        case State::closed: v.set("reason", w("stop_reasons", *ep.reason)); break;
        case State::excluded: v.set("reason", w("exclusions", *ep.reason)); break;
        default: break;
      }
    }
  }
  for (const auto& r : ep.reevaluations)
    if (r.at == t.at) v.set("judgement", w("judgements", kJudgements.name(r.judgement)));
  for (const auto& p : ep.profile_history)
    if (!(t.at < p.at)) v.set("profile", std::to_string(p.profile));
  for (const Task& task : ep.tasks)
    if (task.kind == TaskKind::reevaluation && task.due == t.at && task.checkpoint)
      v.set("checkpoint", w("checkpoints", kCheckpoints.name(*task.checkpoint)));
  return render_words(it->get<std::string>(), v);
}

// Weeks of treatment on `at` (spec §12: the course counts weeks of treatment).
std::optional<mu::data> treatment_week(const Episode& ep, Date at) {
  if (!ep.treatment_start || at < *ep.treatment_start) return std::nullopt;
  const int weeks = (at - *ep.treatment_start) / kDaysPerWeek;
  mu::data wk;
  wk.set("weeks", std::to_string(weeks));
  wk.set("one", weeks == 1);
  wk.set("first", weeks == 0);
  return wk;
}

// Every measurement up to the letter's date, dated (spec §12): NPRS, QBPDS and
// PSK as recorded by a measurement, a reevaluation or a stop's end measurement.
struct Measured {
  Date at;
  Trigger by{};
  Measures m;
};
std::vector<Measured> measurements(const std::vector<Event>* log, Date until) {
  std::vector<Measured> out;
  if (!log) return out;
  for (const Event& ev : *log) {
    if (until < ev.at) break;
    if (ev.type != Trigger::measurement && ev.type != Trigger::reevaluation && ev.type != Trigger::stop) continue;
    if (!ev.measures.nprs && !ev.measures.qbpds && !ev.measures.psk) continue;
    out.push_back({ev.at, ev.type, ev.measures});
  }
  return out;
}

mu::data letter_data(const LetterTemplates& tpl, const Episode& ep, const TaskRow& row,
                     const std::vector<Event>* log, const LetterSources& src) {
  const json& strings = tpl.strings();
  const json& text = strings.at("text");
  const Words w(strings);
  const TaskKind kind = row.task.kind;
  const std::string kind_name(kTaskKinds.name(kind));

  mu::data d;
  for (auto it = text.begin(); it != text.end(); ++it) d.set("t." + it.key(), it->get<std::string>());
  d.set("t.title", text.at("title_" + kind_name).get<std::string>());
  // An end report of an episode that ended before treatment began says so.
  const bool before_treatment = kind == TaskKind::gp_report_close && !ep.treatment_start &&
                                text.contains("intro_gp_report_close_before_treatment");
  d.set("t.intro", text.at(before_treatment ? "intro_gp_report_close_before_treatment" : "intro_" + kind_name)
                       .get<std::string>());

  d.set("lang", name_of(tpl.lang()));
  // Spec §12: the letter is dated on its task's date and shows the episode as
  // it stood then, whatever day it is printed.
  const Date today = row.task.created;
  d.set("letter_date", w.date(today));

  // The practice (letterhead), the sender, the addressee: from the practice
  // file when there is one (checked to list them: write_letter).
  const Practice* pr = src.practice;
  const Therapist* th = pr ? pr->therapist(ep.therapist) : nullptr;
  if (pr) {
    mu::data p;
    p.set("name", one_line(pr->name));
    p.set("address", one_line(pr->address));
    p.set("agb", one_line(pr->agb));
    if (!pr->phone.empty()) p.set("phone", one_line(pr->phone));
    if (!pr->email.empty()) p.set("email", one_line(pr->email));
    d.set("practice", p);
  }
  const std::string profession(kProfessions.name(th ? th->profession : Profession::fysiotherapeut));
  d.set("role_therapist", w("professions", profession));
  d.set("discipline", w("disciplines", profession));
  d.set("therapist_name", th ? one_line(th->name) : or_not_recorded(ep.therapist, w));
  if (th && !th->big.empty()) d.set("therapist_big", th->big);
  if (th && !th->agb.empty()) d.set("therapist_agb", th->agb);
  const GeneralPractitioner* gp = pr && !ep.gp.empty() ? pr->gp(ep.gp) : nullptr;
  if (gp) {
    mu::data g;
    g.set("name", one_line(gp->name));
    if (!gp->practice.empty()) g.set("practice", one_line(gp->practice));
    g.set("address", one_line(gp->address));
    if (!gp->agb.empty()) g.set("agb", gp->agb);
    d.set("gp_entry", g);
  } else if (!ep.gp.empty()) {
    d.set("gp_code", one_line(ep.gp));
  }

  // The patient's identity, supplied at print time (never stored).
  const PatientIdentity* id = src.patients ? src.patients->find(ep.patient) : nullptr;
  if (id) {
    mu::data i;
    i.set("name", one_line(id->name));
    i.set("birth_date", w.date(id->birth_date));
    if (!id->bsn.empty()) i.set("bsn", id->bsn);
    d.set("identity", i);
  }
  d.set("episode", one_line(ep.id));
  d.set("task_id", std::to_string(row.id));
  d.set("task_created", w.date(row.task.created));
  d.set("patient", or_not_recorded(ep.patient, w));
  d.set("gp", or_not_recorded(ep.gp, w));
  // KNGF C.5: the reports at the start and at the end go to the GP or the referrer.
  d.set("to_specialist", ep.referred_by == ReferredBy::specialist &&
                             (kind == TaskKind::gp_report_start || kind == TaskKind::gp_report_close));
  d.set("referred_by", w("referred_by", kReferredBy.name(ep.referred_by)));
  d.set("therapist", th ? one_line(th->name) : or_not_recorded(ep.therapist, w));

  // patient and complaint
  d.set("complaint", w("complaints", kComplaints.name(ep.complaint)));
  d.set("recurrent", ep.recurrent);
  d.set("age", std::to_string(ep.age));
  d.set("onset", w.date(ep.onset));
  const int weeks = std::max(0, (today - ep.onset) / kDaysPerWeek);
  d.set("weeks_since_onset", std::to_string(weeks));
  d.set("weeks_one", weeks == 1);
  d.set("phase", w("phases", kPhases.name(ep.phase)));
  d.set("phase_range", w("phase_ranges", kPhases.name(ep.phase)));
  d.set("opened", w.date(ep.opened));
  d.set("treatment_start", ep.treatment_start ? w.date(*ep.treatment_start) : w.single("not_recorded"));
  if (ep.treatment_start) d.set("treatment_start_date", w.date(*ep.treatment_start));
  d.set("sessions", std::to_string(ep.sessions));
  d.set("state", w("states", kStates.name(ep.state)));
  if (auto r = status_reason(ep, w)) d.set("status_reason", *r);

  // profile and why
  if (ep.profile) {
    mu::data p;
    p.set("number", std::to_string(*ep.profile));
    p.set("description", w("profiles", std::to_string(*ep.profile)));
    d.set("profile", p);
  }
  if (ep.suggested_profile) d.set("suggested", mu::data{"number", mu::data{std::to_string(*ep.suggested_profile)}});
  if (ep.override_reason && !ep.override_reason->empty()) d.set("override_reason", one_line(*ep.override_reason));
  if (ep.sbst) {
    mu::data s;
    s.set("total", std::to_string(ep.sbst->total));
    s.set("psychosocial", std::to_string(ep.sbst->psychosocial));
    s.set("risk", w("risks", kSbstRisks.name(ep.sbst->risk)));
    d.set("sbst", s);
  }
  if (ep.orebro) {
    mu::data o;
    o.set("total", std::to_string(ep.orebro->total));
    o.set("raised", ep.orebro->raised);
    d.set("orebro", o);
  }
  std::vector<mu::data> dominant, present;
  if (ep.factors)
    for (const auto& [factor, level] : *ep.factors)
      (level == FactorLevel::dominant ? dominant : present)
          .push_back(mu::data{"name", mu::data{w("factors", kFactors.name(factor))}});
  d.set("dominant_factors", list_of(dominant));
  d.set("has_dominant_factors", !dominant.empty());
  d.set("present_factors", list_of(present));
  d.set("has_present_factors", !present.empty());
  std::vector<mu::data> history;
  for (const auto& p : ep.profile_history) {
    mu::data h;
    h.set("date", w.date(p.at));
    h.set("profile", std::to_string(p.profile));
    h.set("event", w("triggers", kTriggers.name(p.event)));
    history.push_back(h);
  }
  d.set("profile_history", list_of(history));
  d.set("has_profile_history", !history.empty());
  d.set("profile3", ep.profile == 3);

  // §4, §12: every MRC value with its date (always shown for LRS)
  std::vector<mu::data> mrc;
  for (const MrcRecord& m : ep.mrc) {
    mu::data item;
    item.set("mrc_date", w.date(m.at));
    item.set("mrc_value", std::to_string(m.value));
    mrc.push_back(item);
  }
  d.set("mrc", list_of(mrc));
  d.set("has_mrc", !mrc.empty());
  d.set("mrc_section", !mrc.empty() || ep.complaint == Complaint::lrs);

  // measures
  auto rows = measure_rows(ep, log, text, w);
  d.set("measures", list_of(rows));
  d.set("has_measures", !rows.empty());
  // §12: every measurement with its date, from intake to the end measurement.
  std::vector<mu::data> dated;
  std::optional<Date> end_measured, last_measured;
  for (const Measured& m : measurements(log, today)) {
    mu::data item;
    item.set("date", w.date(m.at));
    item.set("by", w("triggers", kTriggers.name(m.by)));
    if (m.m.nprs) item.set("nprs", std::to_string(*m.m.nprs));
    if (m.m.qbpds) item.set("qbpds", std::to_string(*m.m.qbpds));
    if (m.m.psk) {
      std::string psk;
      for (int v : *m.m.psk) psk += (psk.empty() ? "" : ", ") + std::to_string(v);
      item.set("psk", psk);
    }
    if (m.by == Trigger::stop) end_measured = m.at;
    last_measured = m.at;
    dated.push_back(item);
  }
  d.set("dated_measures", list_of(dated));
  d.set("has_dated_measures", !dated.empty());

  // reevaluations, plan, course
  std::vector<mu::data> reevaluations;
  std::optional<mu::data> last_before_task;  // the interim report's answer: up to its task's date
  for (const auto& r : ep.reevaluations) {
    mu::data e;
    e.set("date", w.date(r.at));
    if (r.checkpoint) e.set("checkpoint", w("checkpoints", kCheckpoints.name(*r.checkpoint)));
    e.set("judgement", w("judgements", kJudgements.name(r.judgement)));
    e.set("derived", r.derived);
    // §8: the 30 % rule supports the judgement; a judgement that differs says so.
    if (r.measured_improvement && *r.measured_improvement != (r.judgement == Judgement::sufficient))
    {
      mu::data differs;
      differs.set("better", *r.measured_improvement);
      e.set("differs", differs);
    }
    reevaluations.push_back(e);
    if (!(row.task.created < r.at)) last_before_task = e;
  }
  if (last_before_task) d.set("last_reevaluation", *last_before_task);
  d.set("reevaluations", list_of(reevaluations));
  d.set("has_reevaluations", !reevaluations.empty());

  std::vector<mu::data> planned;
  for (const auto& t : ep.tasks)
    if (t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && t.checkpoint) {
      mu::data p;
      p.set("checkpoint", w("checkpoints", kCheckpoints.name(*t.checkpoint)));
      p.set("due", w.date(t.due));
      planned.push_back(p);
    }
  d.set("planned", list_of(planned));
  d.set("has_planned", !planned.empty());

  std::vector<mu::data> course;
  {
    mu::data open;
    open.set("date", w.date(ep.opened));
    open.set("event", w("triggers", kTriggers.name(Trigger::open)));
    open.set("sentence", render_words(strings.at("words").at("course").at("open").get<std::string>(), mu::data{}));
    course.push_back(open);
  }
  for (const auto& t : ep.transitions) {
    mu::data c;
    c.set("date", w.date(t.at));
    c.set("event", w("triggers", kTriggers.name(t.event)));
    c.set("sentence", course_sentence(ep, t, strings.at("words"), w));
    if (auto wk = treatment_week(ep, t.at)) c.set("week", *wk);
    course.push_back(c);
  }
  d.set("course", list_of(course));

  // what this letter is for
  const int weeks_in_treatment =
      ep.treatment_start ? std::max(0, (row.task.created - *ep.treatment_start) / kDaysPerWeek) : 0;
  d.set("weeks_in_treatment", std::to_string(weeks_in_treatment));
  d.set("weeks_in_treatment_one", weeks_in_treatment == 1);
  d.set("start", kind == TaskKind::gp_report_start);
  d.set("consultation", kind == TaskKind::gp_consultation);
  const std::string task_ref = "task " + std::to_string(row.id) + ": episode " + ep.id;
  if (kind == TaskKind::gp_referral) {
    mu::data r;
    if (ep.state == State::excluded) {
      // §4 rule 6, §5: a visceral cause belongs with the GP.
      r.set("reason", w("exclusions", kExclusions.name(Exclusion::visceral)));
      r.set("next_step", text.at("next_step_visceral").get<std::string>());
    } else {
      if (ep.state != State::referred || !ep.reason)
        fail(task_ref + " is not referred, so there is no referral to write");
      r.set("reason", w("referral_reasons", *ep.reason));
      r.set("next_step", w("next_steps", *ep.reason));
      if (auto c = lrs_criterion(ep, log, w)) r.set("criterion", *c);
      const bool neuro = *ep.reason == kReferralReasons.name(ReferralReason::neuro_emergency);
      if (neuro)
        for (const Task& t : ep.tasks)
          if (t.kind == TaskKind::gp_urgent_contact) r.set("phone_date", w.date(t.created));
      // §12: a referral for a red flag lists the features found.
      if (neuro || *ep.reason == kReferralReasons.name(ReferralReason::red_flag)) {
        auto features = features_found(ep, row.task.created, w);
        d.set("features_section", true);
        d.set("has_features", !features.empty());
        d.set("features", list_of(features));
      }
    }
    d.set("referral", r);
  }
  if (kind == TaskKind::gp_report_close) {
    if ((ep.state != State::closed && ep.state != State::excluded) || !ep.reason)
      fail(task_ref + " is not closed, so there is no end-of-treatment report");
    mu::data c;
    c.set("reason", status_reason(ep, w).value_or(std::string()));
    // §12: the end measurement, or plainly that there was none.
    if (end_measured) c.set("end_measured", w.date(*end_measured));
    else if (last_measured) c.set("last_measured", w.date(*last_measured));
    d.set("close", c);
  }
  if (kind == TaskKind::gp_report_interim) {
    // §11, §12: the interim report answers the question of its task's date.
    mu::data in;
    in.set("question_date", w.date(row.task.created));
    if (const NoteRecord* q = note_of(ep, row.task, ep.gp_questions); q && !q->text.empty())
      in.set("question_text", one_line(q->text));
    // The state the task found the episode in: the last transition up to its date.
    std::string then(kStates.name(ep.state));
    for (const auto& t : ep.transitions)
      if (t.event != Trigger::phase && !(row.task.created < t.at)) then = t.to;
    in.set("state_then", kStates.parse(then) ? w("states", then) : w("states", kStates.name(ep.state)));
    d.set("interim", in);
  }
  if (kind == TaskKind::gp_red_flag_notice) {
    // §4 the review's `continue`: the features found, the therapist's note, and
    // whether the pathway goes on or ends (the screening carried an exclusion).
    mu::data n;
    const NoteRecord* note = note_of(ep, row.task, ep.review_notes);
    n.set("note", note ? one_line(note->text) : w.single("not_recorded"));
    for (const auto& t : ep.transitions)
      if (t.event == Trigger::red_flag_review && t.at == row.task.created && t.to == kStates.name(State::excluded))
        n.set("notice_end_reason", ep.state == State::excluded && ep.reason ? w("exclusions", *ep.reason)
                                                                            : w("states", t.to));
    auto features = features_found(ep, row.task.created, w);
    d.set("features_section", true);
    d.set("has_features", !features.empty());
    d.set("features", list_of(features));
    d.set("notice", n);
  }
  return d;
}

// The PDF of a rendered pango layout: its first block (up to a line "@@") is
// the page header, the rest the body (adapters/letters/pdf.hpp).
Expected<std::string> pdf_of(const LetterTemplates& tpl, const std::string& rendered, const mu::data& data,
                             const TaskRow& row, const std::vector<Event>* log) {
  const json& text = tpl.strings().at("text");
  PdfLetter letter;
  const size_t sep = rendered.find("\n@@\n");
  if (sep == std::string::npos) fail(layout_file(LetterFormat::pdf) + ": no line '@@' after the page header");
  letter.header = rendered.substr(0, sep);
  letter.body = rendered.substr(sep + 4);
  letter.page_label = text.at("page_label").get<std::string>();
  letter.title = text.at("title_" + std::string(kTaskKinds.name(row.task.kind))).get<std::string>();
  letter.title = render_words(letter.title, data);
  letter.chart_title = text.at("chart_title").get<std::string>();
  letter.created = row.task.created;
  ChartSeries nprs{text.at("chart_nprs").get<std::string>(), 10, {}};
  ChartSeries qbpds{text.at("chart_qbpds").get<std::string>(), 100, {}};
  for (const Measured& m : measurements(log, row.task.created)) {
    if (m.m.nprs) nprs.points.emplace_back(m.at, *m.m.nprs);
    if (m.m.qbpds) qbpds.points.emplace_back(m.at, *m.m.qbpds);
  }
  letter.chart = {nprs, qbpds};
  const Words w(tpl.strings());
  for (const auto& series : letter.chart)
    for (const auto& [at, v] : series.points) letter.date_labels[at.days] = w.date(at);
  return render_pdf(letter);
}

}  // namespace

// kLetterKinds lists exactly the kinds codes.hpp calls letters.

std::vector<Event> clinical_events(const std::vector<StoredEvent>& stored) {
  std::vector<Event> events;
  for (const auto& e : stored)
    if (e.event) events.push_back(*e.event);  // task_done entries are not events
  return events;
}

std::string letter_kinds_list() {
  std::string s;
  for (TaskKind k : kLetterKinds) s += (s.empty() ? "" : ", ") + std::string(kTaskKinds.name(k));
  return s;
}

std::string letters_dir() { return share_dir() + "/letters"; }

Expected<LetterTemplates> LetterTemplates::load(const std::string& dir, Lang lang, LetterFormat format) {
  try {
    LetterTemplates t;
    t.lang_ = lang;
    t.format_ = format;
    const std::string sfile = strings_file(lang);
    t.strings_ = json::parse(read_file(dir + "/" + sfile), nullptr, false);
    if (t.strings_.is_discarded()) fail(sfile + ": not valid JSON");
    check_strings(t.strings_, sfile);
    t.layout_ = read_file(dir + "/" + layout_file(format));
    check_layout(t.layout_, format, t.strings_.at("text"), layout_file(format));
    return t;
  } catch (const LetterFailure& f) {
    return Error{f.message};
  } catch (const std::exception& e) {  // nlohmann type errors in a hand-edited file
    return Error{"letters: " + std::string(e.what())};
  }
}

Expected<std::string> render_letter(const LetterTemplates& templates, const Episode& ep, const TaskRow& task,
                                    Date /*today*/, const std::vector<Event>* log, const LetterSources& sources) {
  if (!is_letter(task.task.kind))
    return Error{"task " + std::to_string(task.id) + " is a " + std::string(kTaskKinds.name(task.task.kind)) +
                 " task, not a letter (letters: " + letter_kinds_list() + ")"};
  if (task.episode != ep.id)
    return Error{"task " + std::to_string(task.id) + " belongs to episode " + task.episode + ", not " + ep.id};
  // The store's task rows carry no creation date: take the task from the
  // episode, where it is complete.
  if (task.task.seq < 1 || size_t(task.task.seq) > ep.tasks.size() ||
      ep.tasks[size_t(task.task.seq - 1)].kind != task.task.kind)
    return Error{"task " + std::to_string(task.id) + " is not task " + std::to_string(task.task.seq) + " of episode " +
                 ep.id};
  TaskRow full = task;
  full.task = ep.tasks[size_t(task.task.seq - 1)];
  try {
    mu::data data = letter_data(templates, ep, full, log, sources);
    mu::mustache tmpl{templates.layout()};
    if (templates.format() == LetterFormat::text) tmpl.set_custom_escape([](const std::string& v) { return v; });
    std::string out = tmpl.render(data);
    if (!tmpl.is_valid()) fail(layout_file(templates.format()) + ": " + tmpl.error_message());
    if (templates.format() != LetterFormat::pdf) return out;
    return pdf_of(templates, out, data, full, log);
  } catch (const LetterFailure& f) {
    return Error{f.message};
  } catch (const std::exception& e) {
    return Error{"letters: " + std::string(e.what())};
  }
}

Expected<std::string> render_letter(const Episode& ep, const TaskRow& task, Lang lang, LetterFormat format,
                                    Date today, const std::vector<Event>* log, const LetterSources& sources) {
  auto templates = LetterTemplates::load(letters_dir(), lang, format);
  if (!templates) return Error{templates.message()};
  return render_letter(*templates, ep, task, today, log, sources);
}

Expected<Episode> episode_as_of(const std::string& id, const std::string& patient, const std::vector<StoredEvent>& log,
                                Date day) {
  Replayer r(id, patient);
  for (const StoredEvent& e : log) {
    if (day < e.at) break;  // the log is in order of date
    Status s = Status::Ok();
    if (e.event) s = r.opened() ? r.event(*e.event) : r.open(*e.event, kFirstRevision);
    else if (e.task > 0) s = r.task_done(e.task, e.at);
    if (!s) return Error{"episode " + id + ": its log does not replay: " + s.message()};
  }
  if (!r.opened()) return Error{"episode " + id + " was not open on " + day.iso()};
  r.advance_to(day);
  return std::move(r.episode());
}

Expected<std::string> write_letter(const LetterTemplates& templates, const std::string& patient,
                                   const std::vector<StoredEvent>& log, const TaskRow& task,
                                   const LetterSources& sources) {
  if (!is_letter(task.task.kind))
    return bad_input("task " + std::to_string(task.id) + " is a " + std::string(kTaskKinds.name(task.task.kind)) +
                     " task, not a letter (letters: " + letter_kinds_list() + ")");
  // The task's date: the full episode knows it (the store's row does not).
  auto now = episode_as_of(task.episode, patient, log, log.empty() ? Date{} : log.back().at);
  if (!now) return now.error();
  if (task.task.seq < 1 || size_t(task.task.seq) > now->tasks.size())
    return Error{"task " + std::to_string(task.id) + " is not a task of episode " + task.episode};
  const Date day = now->tasks[size_t(task.task.seq - 1)].created;
  auto then = episode_as_of(task.episode, patient, log, day);
  if (!then) return then.error();
  if (sources.practice)
    if (Status c = sources.practice->covers(*then); !c) return c.error();
  if (sources.patients && !sources.patients->find(then->patient))
    return bad_input(sources.patients->file().substr(sources.patients->file().find_last_of('/') + 1) +
                     ": no entry for the patient of " + task.episode + " (task " + std::to_string(task.id) + ")");
  std::vector<StoredEvent> upto;
  for (const StoredEvent& e : log)
    if (!(day < e.at)) upto.push_back(e);
  const std::vector<Event> clinical = clinical_events(upto);
  return render_letter(templates, *then, task, day, &clinical, sources);
}

std::string letter_file_name(const TaskRow& task, LetterFormat format) {
  std::string episode = task.episode;
  for (char& c : episode)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  return episode + "-task-" + std::to_string(task.id) + "-" + std::string(kTaskKinds.name(task.task.kind)) +
         (format == LetterFormat::html ? ".html" : format == LetterFormat::pdf ? ".pdf" : ".txt");
}

}  // namespace zorgpad
