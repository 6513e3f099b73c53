// The benchmarks' input: N generated episodes (about ten events each,
// deterministic by seed) as NDJSON import lines, shared by zorgpad_bench
// (SQLite) and zorgpad_pg_bench (PostgreSQL). See bench.cpp for the shape.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "pathway/date.hpp"

namespace {

using zorgpad::Date;
using Clock = std::chrono::steady_clock;

const int kToday = Date::parse("2025-03-03")->days;  // every generated event is dated before this day
constexpr int kFirstDay = -2000;                     // relative to kToday: the oldest generated date
constexpr int kLastDay = 100;

[[maybe_unused]] double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ---- deterministic input --------------------------------------------------------------

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int range(int lo, int hi) { return lo + int(next() % uint64_t(hi - lo + 1)); }
  bool chance(int percent) { return int(next() % 100) < percent; }
};

// A JSON object written key by key; callers give the keys in sorted order, so
// the text is exactly what nlohmann's dump() gives back (the stored log body).
class Obj {
 public:
  explicit Obj(std::string& s) : s_(s) { s_ += '{'; }
  Obj& str(const char* k, std::string_view v) { key(k); s_ += '"'; s_ += v; s_ += '"'; return *this; }
  Obj& num(const char* k, long v) { key(k); s_ += std::to_string(v); return *this; }
  Obj& raw(const char* k, std::string_view v) { key(k); s_ += v; return *this; }
  void end() { s_ += '}'; }

 private:
  void key(const char* k) {
    if (!first_) s_ += ',';
    first_ = false;
    s_ += '"';
    s_ += k;
    s_ += "\":";
  }
  std::string& s_;
  bool first_ = true;
};

struct GenEvent {
  int64_t seq = 0;
  const char* type = "";
  int day = 0;
  std::string id, body;
};

struct GenEpisode {
  std::string id, patient;
  bool active = false;
  int group = -1;    // 0-2: next timer on kToday+1+group
  int next_due = 0;  // active episodes: the day of the first pending timer
  std::vector<GenEvent> events;
  size_t n = 0;  // events used (the vector is reused)
};

class Generator {
 public:
  Generator(int64_t episodes, int due, uint64_t seed) : n_(episodes), seed_(seed) {
    for (int d = kFirstDay; d <= kLastDay; ++d) iso_.push_back(Date{kToday + d}.iso());
    int64_t a = actives();
    group_size_ = std::min<int64_t>(due, a / 4);
    stride_ = group_size_ > 0 ? std::max<int64_t>(1, a / (3 * group_size_)) : 1;
  }
  int64_t episodes() const { return n_; }
  int64_t actives() const { return n_ / 7 + (n_ % 7 > 3 ? 1 : 0); }
  int64_t group_size() const { return group_size_; }
  static int64_t active_index(int64_t a) { return 7 * a + 3; }
  const std::string& iso(int day) const { return iso_.at(size_t(day - kToday - kFirstDay)); }

  void episode(int64_t i, GenEpisode& ep) {
    Rng r(seed_ * 0x2545f4914f6cdd1dULL + uint64_t(i));
    ep.id = "ep-" + std::to_string(i + 1);
    char pat[24];
    std::snprintf(pat, sizeof pat, "pat-%08llx", (unsigned long long)(r.next() & 0xffffffffULL));
    ep.patient = pat;
    ep.n = 0;
    ep.group = -1;
    ep.active = i % 7 == 3;
    gp_ = "gp-" + std::to_string(r.range(1, 400));
    th_ = "th-" + std::to_string(r.range(1, 150));
    age_ = r.range(18, 85);
    if (ep.active) active(i / 7, r, ep);
    else closed(r, ep);
  }

 private:
  struct Plan { const char* type; int day; };

  GenEvent& add(GenEpisode& ep, const char* type, int day) {
    if (ep.n == ep.events.size()) ep.events.emplace_back();
    GenEvent& e = ep.events[ep.n++];
    e.seq = int64_t(ep.n);
    e.type = type;
    e.day = day;
    e.id = ep.id + "-" + std::to_string(e.seq);
    e.body.clear();
    return e;
  }

  void open(GenEpisode& ep, int day, int onset, bool lrs, std::optional<int> prev_end) {
    GenEvent& e = add(ep, "open", day);
    Obj o(e.body);
    o.num("age", age_).str("at", iso(day)).str("complaint", lrs ? "lrs" : "lbp").str("gp", gp_).str("id", e.id).str("onset", iso(onset));
    if (prev_end) o.str("previous_episode_end", iso(*prev_end));
    o.str("therapist", th_).str("type", "open").end();
  }
  void screening(GenEpisode& ep, Rng& r, int day, bool lrs) {
    GenEvent& e = add(ep, "screening", day);
    Obj o(e.body);
    o.str("at", iso(day)).raw("exclusions", "[]").str("id", e.id);
    if (lrs) o.num("mrc", 5);
    o.num("nprs", lrs ? r.range(3, 7) : r.range(2, 9));
    o.raw("red_flags", r.chance(5) ? "[\"fatigue\"]" : "[]").raw("suspicion", "false").str("type", "screening").end();
  }
  void measurement(GenEpisode& ep, Rng& r, int day, int nprs, int qbpds) {
    GenEvent& e = add(ep, "measurement", day);
    std::string psk = "[" + std::to_string(r.range(3, 9));
    if (r.chance(60)) psk += "," + std::to_string(r.range(3, 9));
    psk += "]";
    Obj(e.body).str("at", iso(day)).str("id", e.id).num("nprs", nprs).raw("psk", psk).num("qbpds", qbpds).str("type", "measurement").end();
  }
  void stratification(GenEpisode& ep, Rng& r, int day, int profile) {
    GenEvent& e = add(ep, "stratification", day);
    Obj o(e.body);
    o.str("at", iso(day));
    if (profile == 1) o.raw("factors", "{}");  // revision 2: factors are always evaluated
    if (profile == 2) o.raw("factors", r.chance(50) ? R"({"fear_of_movement":"present","leg_pain":"present"})" : R"({"high_pain_intensity":"present"})");
    if (profile == 3) o.raw("factors", R"({"high_disability":"present","psychosocial_stress":"dominant"})");
    o.str("id", e.id);
    if (profile == 2 && r.chance(30)) o.raw("orebro", "[6,4,5,3,4,5,6,3,4,5]");
    if (profile == 1) o.raw("sbst", "[0,1,0,0,1,0,0,0,1]");                            // low risk: profile 1
    if (profile == 3 && r.chance(50)) o.raw("sbst", "[1,1,0,1,1,1,0,1,3]");            // high risk
    o.str("type", "stratification").end();
  }
  void session(GenEpisode& ep, int day) {
    GenEvent& e = add(ep, "session", day);
    Obj(e.body).str("at", iso(day)).str("id", e.id).str("type", "session").end();
  }
  void reevaluation(GenEpisode& ep, int day, std::optional<int> nprs, std::optional<int> qbpds, const char* judgement) {
    GenEvent& e = add(ep, "reevaluation", day);
    Obj o(e.body);
    o.str("at", iso(day)).str("id", e.id);
    if (judgement) o.str("judgement", judgement);
    if (nprs) o.num("nprs", *nprs);
    if (qbpds) o.num("qbpds", *qbpds);
    o.str("type", "reevaluation").end();
  }
  void gp_consult(GenEpisode& ep, int day) {
    GenEvent& e = add(ep, "gp_consult", day);
    Obj(e.body).str("at", iso(day)).str("id", e.id).str("outcome", "continue").str("type", "gp_consult").end();
  }
  void stop(GenEpisode& ep, Rng& r, int day) {
    static const char* reasons[] = {"goals_met", "request_met", "self_sufficient", "patient_request"};
    GenEvent& e = add(ep, "stop", day);
    Obj(e.body).str("at", iso(day)).str("id", e.id).str("reason", reasons[r.range(0, 3)]).str("type", "stop").end();
  }

  // History: opened 120-900 days ago, treated, reevaluated, stopped (or referred).
  void closed(Rng& r, GenEpisode& ep) {
    int open_day = kToday - r.range(120, 900);
    bool lrs = r.chance(10);
    int pr = r.range(0, 99);
    int profile = pr < 40 ? 1 : pr < 75 ? 2 : 3;
    int onset = open_day - r.range(0, 60);
    std::optional<int> prev_end;
    if (profile > 1 && r.chance(15)) prev_end = onset - r.range(10, 400);
    // LRS with NPRS 8 or more is referred at once (§6): the bench's LRS patients have less pain
    int nprs = lrs ? r.range(4, 7) : r.range(4, 8), qbpds = r.range(20, 70);
    open(ep, open_day, onset, lrs, prev_end);
    screening(ep, r, open_day, lrs);
    measurement(ep, r, open_day, nprs, qbpds);
    int start = open_day + r.range(0, 3);
    stratification(ep, r, start, profile);
    int k = r.range(2, 4);
    for (int j = 0; j < k; ++j) session(ep, start + 2 + 3 * j);
    int cp = start + (profile == 3 ? 42 : 21);
    int outcome = r.range(0, 99);
    if (profile <= 2 && outcome < 6) {  // insufficient: back to the GP
      reevaluation(ep, cp, nprs, std::nullopt, "insufficient");
      return;
    }
    int day = cp;
    if (profile == 3 && !lrs && outcome < 10) {  // insufficient before week 12: consult the GP, continue
      reevaluation(ep, cp, nprs, std::nullopt, "insufficient");
      day = cp + r.range(3, 7);
      gp_consult(ep, day);
    } else {
      reevaluation(ep, cp, nprs * 6 / 10, qbpds / 2, "sufficient");  // >= 30 % better, judged sufficient
    }
    int m = r.range(0, 2);
    for (int j = 0; j < m; ++j) session(ep, day + 3 + 4 * j);
    stop(ep, r, day + 4 * m + r.range(1, 7));
  }

  // In treatment today; the first pending timer is on ep.next_due, after kToday.
  void active(int64_t a, Rng& r, GenEpisode& ep) {
    int due;
    if (group_size_ > 0 && a % stride_ == 0 && a / stride_ < 3 * group_size_) {
      ep.group = int((a / stride_) % 3);
      due = kToday + 1 + ep.group;
    } else {
      due = kToday + 4 + r.range(0, 37);
    }
    ep.next_due = due;
    // a: profile 1 before week 3; b: profile 2 before week 3; c: profile 2
    // after week 3; d: profile 3 before week 6; e: profile 3 after week 6.
    int flavour = due - kToday <= 20 ? r.range(0, 4) : r.range(3, 4);
    int profile = flavour == 0 ? 1 : flavour <= 2 ? 2 : 3;
    int start = due - (flavour <= 1 ? 21 : flavour <= 3 ? 42 : 84);
    int reeval = flavour == 2 ? start + 21 : flavour == 4 ? start + 42 : 0;
    int open_day = start - r.range(0, 3);
    int last = std::min(due - 1, kToday - 1);
    // Plan the sessions first: the onset depends on the last event.
    std::vector<int> sessions;
    for (int d = start + 2; d <= last && sessions.size() < 6; d += r.range(3, 5)) sessions.push_back(d);
    int last_event = std::max(sessions.empty() ? start : sessions.back(), reeval);
    // Acute onset when its phase timers cannot fall between the last event
    // and kToday+3, else chronic (no phase timers): the due ticks stay exact.
    int onset = open_day - r.range(0, 60);
    for (int t : {onset + 42, onset + 84})
      if (t > open_day && t > last_event && t <= kToday + 3) onset = open_day - r.range(85, 300);
    std::optional<int> prev_end;
    if (profile > 1 && r.chance(15)) prev_end = onset - r.range(10, 400);
    int nprs = r.range(4, 8), qbpds = r.range(20, 70);
    open(ep, open_day, onset, false, prev_end);
    screening(ep, r, open_day, false);
    measurement(ep, r, open_day, nprs, qbpds);
    stratification(ep, r, start, profile);
    bool reevaluated = false;
    for (int d : sessions) {
      if (reeval && !reevaluated && d >= reeval) {
        reevaluation(ep, reeval, nprs * 6 / 10, qbpds / 2, "sufficient");
        reevaluated = true;
      }
      session(ep, d);
    }
    if (reeval && !reevaluated) reevaluation(ep, reeval, nprs * 6 / 10, qbpds / 2, "sufficient");
  }

  int64_t n_;
  uint64_t seed_;
  int64_t group_size_ = 0, stride_ = 1;
  std::vector<std::string> iso_;
  std::string gp_, th_;
  int age_ = 0;
};

// One NDJSON import line per event; the patient on the open line only.
void append_line(std::string& out, const GenEpisode& ep, const GenEvent& e) {
  out += "{\"episode\":\"";
  out += ep.id;
  out += "\",\"event\":";
  out += e.body;
  if (e.seq == 1) {
    out += ",\"patient\":\"";
    out += ep.patient;
    out += '"';
  }
  out += "}\n";
}

// The import input as a stream, generated as it is read (nothing held in memory).
class GeneratedInput : public std::streambuf {
 public:
  explicit GeneratedInput(Generator& g) : g_(g) {}
  int64_t events = 0;

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    buf_.clear();
    while (buf_.size() < 256 * 1024 && next_ < g_.episodes()) {
      g_.episode(next_++, ep_);
      for (size_t k = 0; k < ep_.n; ++k) append_line(buf_, ep_, ep_.events[k]);
      events += int64_t(ep_.n);
    }
    if (buf_.empty()) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + buf_.size());
    return traits_type::to_int_type(*gptr());
  }

 private:
  Generator& g_;
  int64_t next_ = 0;
  std::string buf_;
  GenEpisode ep_;
};

}  // namespace
