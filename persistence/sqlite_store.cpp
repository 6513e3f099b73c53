// SQLite backend of the Store (SQLiteCpp). One RAII transaction per command;
// every SQLiteCpp exception is caught here and returned as a StoreError.
#include <fcntl.h>
#include <cerrno>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "pathway/event.hpp"
#include "persistence/schema.hpp"
#include "persistence/store.hpp"
#include "states/episode_json.hpp"
#include "states/machine.hpp"

namespace zorgpad {
namespace {

using nlohmann::json;

constexpr const char* kTaskDoneType = "task_done";  // log entry of `task done`
constexpr const char* kTickType = "tick";            // log entry of schema 2: timers fired up to `at`

StoreError bad(std::string m) { return {Failure::bad_input, std::move(m)}; }
StoreError broken(std::string m) { return {Failure::store, std::move(m)}; }

std::string event_label(const std::string& episode, int64_t index, const json& ev) {
  std::string type;
  if (ev.is_object() && ev.contains("type") && ev["type"].is_string()) {
    type = ev["type"].get<std::string>();
    if (type.size() > 30) type = type.substr(0, 30) + "...";
    type = " (" + type + ")";
  }
  return episode + " event " + std::to_string(index) + type;
}

// ---- writing the projection body without a JSON tree --------------------------------
// The stored body is episode_state(ep).dump(): nlohmann builds a tree of
// std::map nodes and serializes it, which for an episode is most of the cost
// of import, tick and rebuild (rebuild writes every episode to compare it).
// write_body writes the same text directly, for the common case only: every
// string plain printable ASCII. Anything else returns false and the caller
// takes the nlohmann path, so the bytes written are the same either way. The
// keys are in nlohmann's order (std::map: sorted bytewise). Keep in step with
// states/episode_json.cpp; the store checks its first bodies against it.
// Bodies are read by episode_from_state_text (simdjson), which needs no such
// shortcut.

// Date::iso without snprintf, for the years Date::parse accepts.
void append_date(std::string& s, Date d) {
  // civil_from_days (H. Hinnant), days since 1970-01-01
  int64_t z = int64_t(d.days) + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  if (year < 1900 || year > 2999) {
    s += d.iso();
    return;
  }
  char b[10] = {char('0' + year / 1000), char('0' + year / 100 % 10), char('0' + year / 10 % 10), char('0' + year % 10), '-',
                char('0' + month / 10), char('0' + month % 10), '-', char('0' + day / 10), char('0' + day % 10)};
  s.append(b, 10);
}

std::string iso(Date d) {
  std::string s;
  append_date(s, d);
  return s;
}

class BodyWriter {
 public:
  explicit BodyWriter(std::string& s) : s_(s) {}
  bool ok = true;

  BodyWriter& lit(std::string_view v) { s_ += v; return *this; }
  BodyWriter& num(int64_t v) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    s_.append(b, size_t(r.ptr - b));
    return *this;
  }
  BodyWriter& boolean(bool v) { s_ += v ? "true" : "false"; return *this; }
  BodyWriter& str(std::string_view v) {
    for (char c : v)
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ok = false;  // escapes, UTF-8: the tree's job
    s_ += '"';
    s_ += v;
    s_ += '"';
    return *this;
  }
  BodyWriter& date(Date d) { s_ += '"'; append_date(s_, d); s_ += '"'; return *this; }
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

// episode_state(ep).dump(), or false when a string needs the tree.
bool write_body(const Episode& ep, std::string& s) {
  s.clear();
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
  return w.ok;
}

// Where an episode is counted in episode_counts: state, phase, profile (0: none).
using CountKey = std::tuple<std::string, std::string, int>;
using Counts = std::map<CountKey, int64_t>;

CountKey count_key(const Episode& ep) {
  return {std::string(kStates.name(ep.state)), std::string(kPhases.name(ep.phase)), ep.profile.value_or(0)};
}

// An episode loaded for a command, with what is needed to write back only
// what changed.
struct Loaded {
  Episode ep;
  std::vector<Task> tasks_before;
  int64_t last_seq = 0;
  bool is_new = false;
  bool repair = false;  // rebuild rewrites every column, the patient reference too
  std::optional<CountKey> counted;  // the stored row's count key; none for a new episode
  // The stored row's last_event and terminal columns: when neither changes,
  // the row is written without them and the index of non-terminal episodes
  // by last event (schema 5) is not touched (a tick never changes them).
  std::string stored_last_event;
  bool stored_terminal = false;
};

// The columns of the index of non-terminal episodes by last event.
bool activity_changed(const Loaded& l) {
  return l.stored_last_event != iso(l.ep.last_event) || l.stored_terminal != is_terminal(l.ep.state);
}

// The stored projection body of an episode: written by write_body, checked
// against episode_state (nlohmann) on the first bodies each codec writes, and
// by the JSON tree for anything it does not cover (or once a check failed);
// read by episode_from_state_text. One codec per thread.
class BodyCodec {
 public:
  explicit BodyCodec(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

  std::string text(const Episode& ep) {
    std::string s;
    if (fast_write_ && write_body(ep, s)) {
      if (write_checks_ >= kSelfChecks) return s;
      ++write_checks_;
      std::string tree = episode_state(ep).dump();
      if (tree == s) return s;
      fast_write_ = false;
      log_->error("episode {}: the direct projection writer differs from episode_state; using episode_state", ep.id);
      return tree;
    }
    return episode_state(ep).dump();
  }

 private:
  static constexpr int kSelfChecks = 16;
  std::shared_ptr<spdlog::logger> log_;
  bool fast_write_ = true;
  int write_checks_ = 0;
};

// The ticks in log order (after_entry: the log's last rowid when the tick
// ran); each carries the latest date of itself and every later tick.
using TickList = std::vector<std::pair<int64_t, Date>>;

// What rebuild found in one range of episode ids.
struct RangeScan {
  int64_t episodes = 0, events = 0;
  std::vector<std::string> differences;
  std::vector<std::pair<Episode, int64_t>> repairs;  // re-derived episodes that differ, with their log position
  Counts counts;  // every episode row of the range as it is after the repairs
  std::optional<StoreError> error;
};

// A read-only statement over one id range (:lo and :hi bound when not empty)
// through SQLite's C interface; text() is valid until the next step().
class Cursor {
 public:
  Cursor(SQLite::Database& db, const std::string& sql, const std::string& lo, const std::string& hi) : db_(db.getHandle()) {
    if (int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st_, nullptr); rc != SQLITE_OK) throw SQLite::Exception(db_, rc);
    if (!lo.empty()) sqlite3_bind_text(st_, sqlite3_bind_parameter_index(st_, ":lo"), lo.data(), int(lo.size()), SQLITE_STATIC);
    if (!hi.empty()) sqlite3_bind_text(st_, sqlite3_bind_parameter_index(st_, ":hi"), hi.data(), int(hi.size()), SQLITE_STATIC);
  }
  ~Cursor() { sqlite3_finalize(st_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // The next row; false at the end; throws on an error.
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw SQLite::Exception(db_, rc);
    return false;
  }
  // Column text without a copy; NULL reads as empty.
  std::string_view text(int i) const {
    const char* t = reinterpret_cast<const char*>(sqlite3_column_text(st_, i));
    return t ? std::string_view(t, size_t(sqlite3_column_bytes(st_, i))) : std::string_view();
  }
  int64_t int64(int i) const { return sqlite3_column_int64(st_, i); }  // NULL reads as 0

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

// Replays the log of every episode with lo <= id < hi (an empty bound is
// open) and compares the result with the stored projections: the episode
// row's columns and body, and its task rows. Three cursors in episode order
// are merged, so the cost is one pass over each table. Reads only: `db` may be
// a worker's own connection.
RangeScan scan_range(SQLite::Database& db, const std::string& lo, const std::string& hi, const TickList& ticks,
                     BodyCodec& codec) {
  RangeScan rep;
  auto range = [&](const char* col) {
    std::string w;
    if (!lo.empty()) w += std::string(" WHERE ") + col + " >= :lo";
    if (!hi.empty()) w += std::string(lo.empty() ? " WHERE " : " AND ") + col + " < :hi";
    return w;
  };
  // The three cursors use SQLite's C interface: a SQLiteCpp Column per field
  // costs a shared_ptr copy, which shows at ten million events.
  Cursor q(db, "SELECT episode, seq, type, body, rowid FROM events" + range("episode") + " ORDER BY episode, seq", lo, hi);
  Cursor rows(db,
              "SELECT id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body, last_event, terminal "
              "FROM episodes" + range("id") + " ORDER BY id", lo, hi);
  Cursor task_rows(db, "SELECT episode, seq, kind, checkpoint, due, status FROM tasks" + range("episode") + " ORDER BY episode, seq",
                   lo, hi);
  auto fail = [&](std::string m) {
    rep.error = broken(std::move(m));
    return std::move(rep);
  };
  bool row_ok = rows.step(), task_ok = task_rows.step();
  std::string current;
  std::optional<Episode> ep;
  int64_t last_seq = 0, last_entry = 0;
  auto col = [](Cursor& c, int i) { return c.text(i); };
  auto stored_key = [&]() -> CountKey {
    return {std::string(col(rows, 2)), std::string(col(rows, 3)), int(rows.int64(4))};
  };
  auto finish = [&]() {
    if (!ep) return;
    auto tick = std::lower_bound(ticks.begin(), ticks.end(), last_entry,
                                 [](const std::pair<int64_t, Date>& t, int64_t entry) { return t.first < entry; });
    if (tick != ticks.end()) advance(*ep, tick->second);
    // episode rows before this one have no events at all
    while (row_ok && col(rows, 0) < current) {
      rep.differences.push_back(std::string(col(rows, 0)) + ": projection without events");
      rep.counts[stored_key()]++;
      row_ok = rows.step();
    }
    std::vector<std::string> diffs;
    std::optional<CountKey> counted;
    if (row_ok && col(rows, 0) == current) {
      counted = stored_key();
      if (ep->patient.empty()) ep->patient = std::string(col(rows, 1));  // a log written before the open entry kept it
      std::string body = codec.text(*ep);
      auto expect = [&](int i, std::string_view want, const char* name) {
        if (col(rows, i) != want) diffs.push_back(name);
      };
      expect(1, ep->patient, "patient");
      expect(2, kStates.name(ep->state), "state");
      expect(3, kPhases.name(ep->phase), "phase");
      expect(4, ep->profile ? std::to_string(*ep->profile) : "", "profile");
      expect(5, ep->gp, "gp");
      expect(6, ep->therapist, "therapist");
      expect(7, std::to_string(last_seq), "last_seq");
      expect(8, ep->next_due() ? ep->next_due()->iso() : "", "next_due");
      if (col(rows, 9) != body) diffs.push_back("body");
      expect(10, iso(ep->last_event), "last_event");
      expect(11, is_terminal(ep->state) ? "1" : "0", "terminal");
      row_ok = rows.step();
    } else {
      diffs.push_back("projection missing");
    }
    while (task_ok && col(task_rows, 0) < current) task_ok = task_rows.step();
    size_t n = 0;
    bool tasks_differ = false;
    for (; task_ok && col(task_rows, 0) == current; task_ok = task_rows.step(), ++n) {
      if (n >= ep->tasks.size()) { tasks_differ = true; continue; }
      const Task& t = ep->tasks[n];
      if (task_rows.int64(1) != t.seq || col(task_rows, 2) != kTaskKinds.name(t.kind) ||
          col(task_rows, 3) != (t.checkpoint ? kCheckpoints.name(*t.checkpoint) : "") || col(task_rows, 4) != iso(t.due) ||
          col(task_rows, 5) != kTaskStatuses.name(t.status))
        tasks_differ = true;
    }
    if (tasks_differ || n != ep->tasks.size()) diffs.push_back("tasks");
    if (!diffs.empty()) {
      std::string what;
      for (const auto& d : diffs) what += (what.empty() ? "" : ", ") + d;
      rep.differences.push_back(current + ": " + what);
      counted = count_key(*ep);  // the repaired row
      rep.repairs.push_back({std::move(*ep), last_seq});
    }
    rep.counts[*counted]++;
    rep.episodes++;
    ep.reset();
  };
  while (q.step()) {
    std::string_view episode = q.text(0);
    if (episode != current) {
      finish();
      current = std::string(episode);
    }
    last_seq = q.int64(1);
    last_entry = q.int64(4);
    std::string_view type = q.text(2);
    std::string_view body_text = q.text(3);
    rep.events++;
    auto where = [&] { return "episode " + current + " event " + std::to_string(last_seq - 1); };
    if (type == kTaskDoneType || type == kTickType) {
      json body = json::parse(body_text.begin(), body_text.end(), nullptr, false);
      auto at = body.is_object() && body.contains("at") && body["at"].is_string() ? Date::parse(body["at"].get<std::string>())
                                                                                   : std::nullopt;
      if (!ep || !at) return fail(where() + ": unreadable " + std::string(type) + " entry");
      advance(*ep, *at);
      if (type == kTaskDoneType) {
        if (!body.contains("task") || !body["task"].is_number_integer()) return fail(where() + ": unreadable task_done entry");
        if (Status s = zorgpad::complete_task(*ep, body["task"].get<int>(), *at); !s.ok())
          return fail(where() + ": " + s.message());
      }
      continue;
    }
    auto ev = parse_event_text(body_text);
    if (!ev) return fail(where() + ": " + ev.message());
    if (!ep) {
      // A log written before revisions were recorded is revision 1's.
      auto opened = open_episode(current, ev->patient, *ev, kFirstRevision);
      if (!opened) return fail(where() + ": " + opened.message());
      ep = std::move(*opened);
    } else if (Status s = apply(*ep, *ev); !s.ok()) {
      return fail(where() + ": " + s.message());
    }
  }
  finish();
  while (row_ok) {
    rep.differences.push_back(std::string(col(rows, 0)) + ": projection without events");
    rep.counts[stored_key()]++;
    row_ok = rows.step();
  }
  return rep;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const Clock& clock, StoreOptions opt)
      // NOMUTEX: a connection belongs to one thread (one Store per thread),
      // so SQLite need not lock it on every call.
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, opt.busy_timeout_ms),
        clock_(clock),
        opt_(opt),
        log_(opt.logger ? opt.logger
                        : std::make_shared<spdlog::logger>("zorgpad", std::make_shared<spdlog::sinks::null_sink_mt>())) {}

  Status init() {
    // A foreign or corrupt file fails here, on the first read.
    int app_id = db_.execAndGet("PRAGMA application_id").getInt();
    int version = db_.execAndGet("PRAGMA user_version").getInt();
    int tables = db_.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
    if (app_id != kApplicationId && (app_id != 0 || tables > 0))
      return Status::Fail("'" + db_.getFilename() + "' is not a zorgpad database");
    if (version > current_schema_version())
      return Status::Fail("the database has schema version " + std::to_string(version) +
                          ", newer than this zorgpad (" + std::to_string(current_schema_version()) + ")");
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec(opt_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db_.exec("PRAGMA foreign_keys=ON");
    // 64 MiB of page cache (allocated as used): a practice's indexes stay in
    // memory during an import or a tick instead of being re-read per page.
    db_.exec("PRAGMA cache_size=-65536");
    if (version < current_schema_version()) {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::EXCLUSIVE);
      version = db_.execAndGet("PRAGMA user_version").getInt();  // another process may have migrated
      for (int v = version + 1; v <= current_schema_version(); ++v) {
        db_.exec(migration_sql(v));
        if (v == kRewriteBodiesAt) {
          if (Status st = rewrite_bodies(); !st.ok()) return st;  // the transaction rolls back
        }
        log_->info("migrated schema to version {}", v);
      }
      db_.exec("PRAGMA application_id=" + std::to_string(kApplicationId));
      db_.exec("PRAGMA user_version=" + std::to_string(current_schema_version()));
      tx.commit();
    }
    return Status::Ok();
  }

  // Reads every stored body and writes it again in the current form. A body
  // of an earlier schema lacks the newer fields; the reader gives them their
  // defaults, which are what the episode's own revision derives.
  Status rewrite_bodies() {
    BodyCodec codec(log_);
    SQLite::Statement q(db_, "SELECT rowid, id, body FROM episodes WHERE rowid > ? ORDER BY rowid LIMIT 2000");
    SQLite::Statement up(db_, "UPDATE episodes SET body = ? WHERE rowid = ?");
    // A page of rows at a time: a regional store holds gigabytes of bodies.
    std::vector<std::pair<int64_t, std::string>> page;
    int64_t after = 0;
    do {
      page.clear();
      q.bind(1, after);
      while (q.executeStep()) {
        std::string id = q.getColumn(1).getString();
        auto ep = episode_from_state_text(q.getColumn(2).getString());
        if (!ep) return Status::Fail("episode " + id + ": " + ep.message() + "; the migration to schema version " +
                                     std::to_string(kRewriteBodiesAt) + " changed nothing");
        page.emplace_back(q.getColumn(0).getInt64(), codec.text(*ep));
      }
      q.reset();
      for (const auto& [rowid, body] : page) {
        up.bind(1, body);
        up.bind(2, rowid);
        up.exec();
        up.reset();
      }
      if (!page.empty()) after = page.back().first;
    } while (!page.empty());
    return Status::Ok();
  }

  // ---- commands -------------------------------------------------------------------

  StoreResult<Recorded> open(const std::string& id, const std::string& patient, const json& event) override {
    return guarded<Recorded>([&]() -> StoreResult<Recorded> {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      std::string episode = id.empty() ? next_episode_id() : id;
      auto r = open_in_tx(episode, patient, event);
      if (std::holds_alternative<StoreError>(r)) return r;
      flush();
      tx.commit();
      return r;
    });
  }

  StoreResult<Recorded> record(const std::string& episode, const json& event, std::optional<int64_t> expect_seq) override {
    return guarded<Recorded>([&]() -> StoreResult<Recorded> {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      auto r = record_in_tx(episode, event, expect_seq);
      if (std::holds_alternative<StoreError>(r)) return r;
      flush();
      tx.commit();
      return r;
    });
  }

  StoreResult<ImportReport> import(std::istream& in, int batch_size) override {
    ImportReport rep;
    int64_t committed_lines = 0;
    auto result = guarded<ImportReport>([&]() -> StoreResult<ImportReport> {
      std::string line;
      auto tx = std::make_unique<SQLite::Transaction>(db_, SQLite::TransactionBehavior::IMMEDIATE);
      int in_batch = 0;
      ImportReport pending;
      while (std::getline(in, line)) {
        ++rep.lines;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto err = import_line(line, pending);
        if (err) {
          std::string where = "line " + std::to_string(rep.lines) + ": " + err->message;
          if (committed_lines > 0) where += " (lines 1-" + std::to_string(committed_lines) + " were imported before)";
          cache_.clear();
          return StoreError{err->kind, where};
        }
        if (++in_batch >= batch_size) {
          flush();
          tx->commit();
          committed_lines = rep.lines;
          add(rep, pending);
          pending = {};
          in_batch = 0;
          tx = std::make_unique<SQLite::Transaction>(db_, SQLite::TransactionBehavior::IMMEDIATE);
        }
      }
      flush();
      tx->commit();
      add(rep, pending);
      return rep;
    });
    cache_.clear();
    return result;
  }

  // One transaction: every due timer fires, or none (a second tick waits
  // for the write lock and then finds nothing due). The log gets one `ticks`
  // row, not an entry per episode: rebuild advances each episode to the
  // latest tick after its last entry.
  StoreResult<TickReport> tick(Date now) override {
    return guarded<TickReport>([&]() -> StoreResult<TickReport> {
      TickReport rep;
      const std::string now_iso = iso(now);
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      for (;;) {
        auto& q = stmt(due_q_,
                       "SELECT id, body, last_seq, state, phase, profile, last_event, terminal FROM episodes "
                       "WHERE next_due <= ? ORDER BY next_due LIMIT 2000");
        q.bind(1, now_iso);
        struct Due {
          std::string id, body;
          int64_t seq;
          CountKey counted;
          std::string last_event;
          bool terminal;
        };
        std::vector<Due> rows;
        while (q.executeStep())
          rows.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64(),
                          CountKey{q.getColumn(3).getString(), q.getColumn(4).getString(),
                                   q.getColumn(5).isNull() ? 0 : q.getColumn(5).getInt()},
                          q.getColumn(6).getString(), q.getColumn(7).getInt() != 0});
        q.reset();
        if (rows.empty()) break;
        for (auto& [id, body, seq, counted, last_event, terminal] : rows) {
          auto ep = episode_from_state_text(body);
          if (!ep) return broken("episode " + id + ": " + ep.message());
          Loaded& l = cache_[id];
          l.tasks_before = ep->tasks;
          l.last_seq = seq;
          l.counted = std::move(counted);
          l.stored_last_event = std::move(last_event);
          l.stored_terminal = terminal;
          l.ep = std::move(*ep);
          int fired = advance(l.ep, now);
          rep.timers += fired;
          rep.episodes++;
          log_->debug("episode {}: {} timer(s) fired", id, fired);
        }
        flush();
      }
      if (rep.episodes > 0) {
        SQLite::Statement t(db_,
                            "INSERT INTO ticks(at, after_entry, recorded_at) "
                            "VALUES (?, (SELECT COALESCE(MAX(rowid), 0) FROM events), ?)");
        t.bind(1, now_iso);
        t.bind(2, clock_.unix_seconds());
        t.exec();
      }
      tx.commit();
      return rep;
    });
  }

  StoreResult<Episode> load(const std::string& episode) override {
    return guarded<Episode>([&]() -> StoreResult<Episode> {
      auto l = fetch(episode);
      if (!l) return bad("no episode '" + episode + "'");
      return std::move(l->ep);
    });
  }

  StoreResult<std::vector<StoredEvent>> events(const std::string& episode) override {
    return guarded<std::vector<StoredEvent>>([&]() -> StoreResult<std::vector<StoredEvent>> {
      SQLite::Transaction tx(db_);
      if (!exists(episode)) return bad("no episode '" + episode + "'");
      SQLite::Statement q(db_, "SELECT seq, type, at, body FROM events WHERE episode = ? ORDER BY seq");
      q.bind(1, episode);
      std::vector<StoredEvent> out;
      while (q.executeStep()) {
        StoredEvent e;
        e.seq = q.getColumn(0).getInt64();
        e.type = q.getColumn(1).getString();
        e.at = Date::parse(q.getColumn(2).getString()).value_or(Date{});
        e.body = json::parse(q.getColumn(3).getString(), nullptr, false);
        if (e.body.is_discarded()) return broken("episode " + episode + " event " + std::to_string(e.seq - 1) + ": unreadable");
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  StoreResult<std::vector<TaskRow>> tasks(const TaskFilter& f) override {
    return guarded<std::vector<TaskRow>>([&]() -> StoreResult<std::vector<TaskRow>> {
      // Open tasks come from their covering index alone: the status is the literal.
      const bool open_only = f.status && *f.status == TaskStatus::open;
      std::string sql = std::string("SELECT id, episode, seq, kind, checkpoint, due, ") + (open_only ? "'open'" : "status") +
                        " FROM tasks WHERE 1=1";
      if (f.due_before) sql += " AND due < :due";
      if (f.kind) sql += " AND kind = :kind";
      // Open tasks by a literal, so that the planner uses the index of open tasks.
      if (f.status) sql += open_only ? " AND status = 'open'" : " AND status = :status";
      if (f.episode) sql += " AND episode = :episode";
      if (f.id) sql += " AND id = :id";
      sql += " ORDER BY due, id";
      SQLite::Statement q(db_, sql);
      if (f.due_before) q.bind(":due", f.due_before->iso());
      if (f.kind) q.bind(":kind", std::string(kTaskKinds.name(*f.kind)));
      if (f.status && !open_only) q.bind(":status", std::string(kTaskStatuses.name(*f.status)));
      if (f.episode) q.bind(":episode", *f.episode);
      if (f.id) q.bind(":id", *f.id);
      std::vector<TaskRow> out;
      while (q.executeStep()) out.push_back(task_row(q));
      return out;
    });
  }

  StoreResult<TaskRow> complete_task(int64_t task_id) override {
    return guarded<TaskRow>([&]() -> StoreResult<TaskRow> {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement q(db_, "SELECT episode, seq FROM tasks WHERE id = ?");
      q.bind(1, task_id);
      if (!q.executeStep()) return bad("no task " + std::to_string(task_id));
      std::string episode = q.getColumn(0).getString();
      int seq = q.getColumn(1).getInt();
      Loaded* l = cached(episode);
      if (!l) return broken("task " + std::to_string(task_id) + " has no episode");
      // Completing a task is dated like an event: timers due by then fire first.
      Date at = std::max({clock_.today(), l->ep.last_event, l->ep.last_fired});
      advance(l->ep, at);
      if (Status s = zorgpad::complete_task(l->ep, seq, at); !s.ok())
        return bad("task " + std::to_string(task_id) + ": " + s.message());
      json body = {{"type", kTaskDoneType}, {"task", seq}, {"at", at.iso()}};
      append_event(episode, ++l->last_seq, kTaskDoneType, at, body.dump(), nullptr);
      TaskRow row{task_id, episode, l->ep.tasks[size_t(seq - 1)]};
      flush();
      tx.commit();
      log_->info("episode {}: task {} done", episode, task_id);
      return row;
    });
  }

  // Replays each episode's log (events in order, task_done entries and the
  // ticks after its last entry at their dates) and compares the result with
  // every stored projection; differences are reported by episode id and
  // repaired. Episodes are independent: on a database file the id range is
  // split over the cores, each part read by its own connection inside this
  // command's write transaction (so every part sees the same snapshot).
  StoreResult<RebuildReport> rebuild() override {
    return guarded<RebuildReport>([&]() -> StoreResult<RebuildReport> {
      RebuildReport rep;
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      TickList ticks;
      {
        SQLite::Statement tq(db_, "SELECT after_entry, at, id FROM ticks ORDER BY after_entry, id");
        while (tq.executeStep()) {
          auto at = Date::parse(tq.getColumn(1).getString());
          if (!at) return broken("tick " + tq.getColumn(2).getString() + ": unreadable date");
          ticks.emplace_back(tq.getColumn(0).getInt64(), *at);
        }
        for (size_t i = ticks.size(); i-- > 1;) ticks[i - 1].second = std::max(ticks[i - 1].second, ticks[i].second);
      }
      // Boundaries: episode ids splitting the episodes into equal parts.
      std::vector<std::string> bounds{""};
      const std::string file = db_.getFilename();
      int64_t total = db_.execAndGet("SELECT count(*) FROM episodes").getInt64();
      unsigned parts = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
      if (total < kParallelRebuildFrom) parts = 1;
      if (opt_.rebuild_parts > 0) parts = unsigned(opt_.rebuild_parts);
      if (file.empty()) parts = 1;  // an in-memory database has no second connection
      for (unsigned k = 1; k < parts; ++k) {
        SQLite::Statement b(db_, "SELECT id FROM episodes ORDER BY id LIMIT 1 OFFSET ?");
        b.bind(1, total * k / parts);
        if (b.executeStep() && b.getColumn(0).getString() > bounds.back()) bounds.push_back(b.getColumn(0).getString());
      }
      bounds.push_back("");
      std::vector<RangeScan> scans(bounds.size() - 1);
      {
        std::vector<std::thread> workers;
        for (size_t k = 1; k < scans.size(); ++k)
          workers.emplace_back([&, k] {
            try {
              SQLite::Database db(file, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, opt_.busy_timeout_ms);
              db.exec("PRAGMA cache_size=-8192");  // a sequential scan needs little cache
              SQLite::Transaction read(db);
              BodyCodec codec(log_);
              scans[k] = scan_range(db, bounds[k], bounds[k + 1], ticks, codec);
            } catch (const std::exception& e) {
              scans[k].error = broken(std::string("database error: ") + e.what());
            }
          });
        try {
          scans[0] = scan_range(db_, bounds[0], bounds[1], ticks, codec_);
        } catch (...) {
          for (auto& w : workers) w.join();
          throw;
        }
        for (auto& w : workers) w.join();
      }
      Counts counts;
      for (auto& scan : scans) {
        if (scan.error) return *scan.error;
        rep.episodes += scan.episodes;
        rep.events += scan.events;
        rep.differences.insert(rep.differences.end(), std::make_move_iterator(scan.differences.begin()),
                               std::make_move_iterator(scan.differences.end()));
        for (const auto& [k, n] : scan.counts) counts[k] += n;
      }
      // The counts must be those of the episode rows as repaired.
      Counts stored;
      {
        SQLite::Statement c(db_, "SELECT state, phase, profile, n FROM episode_counts WHERE n != 0");
        while (c.executeStep())
          stored[{c.getColumn(0).getString(), c.getColumn(1).getString(), c.getColumn(2).getInt()}] = c.getColumn(3).getInt64();
      }
      if (stored != counts) {
        rep.differences.push_back("episode_counts: differ from the episode rows");
        db_.exec("DELETE FROM episode_counts");
        add_counts(counts);
      }
      // Repair: rewrite each differing episode row and all its task rows.
      SQLite::Statement drop(db_, "DELETE FROM tasks WHERE episode = ? AND seq > ?");
      for (auto& scan : scans)
        for (auto& [episode, seq] : scan.repairs) {
          drop.bind(1, episode.id);
          drop.bind(2, int64_t(episode.tasks.size()));
          drop.exec();
          drop.reset();
          Loaded& l = cache_[episode.id];
          l.ep = std::move(episode);
          l.last_seq = seq;
          l.tasks_before.clear();
          l.repair = true;
        }
      flush();
      tx.commit();
      return rep;
    });
  }

  StoreResult<int64_t> episode_count() override {
    return guarded<int64_t>([&]() -> StoreResult<int64_t> {
      return db_.execAndGet("SELECT COALESCE(sum(n), 0) FROM episode_counts").getInt64();
    });
  }

  StoreResult<EpisodePage> list_episodes(const EpisodeFilter& f) override {
    return guarded<EpisodePage>([&]() -> StoreResult<EpisodePage> {
      if (f.limit < 1 || f.limit > 1000 || f.offset < 0) return bad("page: limit must be 1-1000 and offset >= 0");
      SQLite::Transaction tx(db_);  // count and page from one snapshot
      EpisodePage page;
      std::string where = episode_where(f);
      SQLite::Statement c(db_, counted_by_state(f) ? "SELECT COALESCE(sum(n), 0) FROM episode_counts" + where
                                                   : "SELECT count(*) FROM episodes" + where);
      bind_episode_filter(c, f);
      c.executeStep();
      page.total = c.getColumn(0).getInt64();
      // Nothing on this page: spare the row query, which reads every episode
      // row when only the state, phase or profile is filtered (no index).
      if (page.total <= f.offset) return page;
      SQLite::Statement q(db_, std::string("SELECT ") + kSummaryColumns + " FROM episodes" + where +
                                   (f.after ? " AND id > :after" : "") + " ORDER BY id LIMIT :limit OFFSET :offset");
      bind_episode_filter(q, f);
      if (f.after) q.bind(":after", *f.after);
      q.bind(":limit", f.limit);
      q.bind(":offset", f.offset);
      while (q.executeStep()) page.episodes.push_back(summary(q));
      return page;
    });
  }

  StoreResult<InactivePage> list_inactive(const InactiveQuery& iq) override {
    return guarded<InactivePage>([&]() -> StoreResult<InactivePage> {
      const EpisodeFilter& f = iq.filter;
      if (f.limit < 1 || f.limit > 1000 || f.offset < 0) return bad("page: limit must be 1-1000 and offset >= 0");
      InactivePage page;
      if (f.state && is_terminal(*f.state)) return page;  // a terminal episode is never inactive
      SQLite::Transaction tx(db_);  // count and page from one snapshot
      // `terminal = 0` literally: the condition of the partial index
      // episodes_inactive (last_event, id), which then gives the rows in order.
      const std::string where = episode_where(f) + " AND terminal = 0 AND last_event <= :by";
      const std::string by = iso(iq.last_event_by);
      SQLite::Statement c(db_, "SELECT count(*) FROM episodes" + where);
      bind_episode_filter(c, f);
      c.bind(":by", by);
      c.executeStep();
      page.total = c.getColumn(0).getInt64();
      if (page.total <= f.offset) return page;
      SQLite::Statement q(db_, std::string("SELECT ") + kSummaryColumns + ", last_event FROM episodes" + where +
                                   (iq.after ? " AND (last_event > :after_at OR last_event = :after_at AND id > :after_id)" : "") +
                                   " ORDER BY last_event, id LIMIT :limit OFFSET :offset");
      bind_episode_filter(q, f);
      q.bind(":by", by);
      if (iq.after) {
        q.bind(":after_at", iso(iq.after->first));
        q.bind(":after_id", iq.after->second);
      }
      q.bind(":limit", f.limit);
      q.bind(":offset", f.offset);
      while (q.executeStep()) {
        auto last = Date::parse(q.getColumn(8).getString());
        if (!last) return broken("episode " + q.getColumn(0).getString() + ": unreadable last_event column");
        page.episodes.push_back({summary(q), *last});
      }
      return page;
    });
  }

  StoreResult<std::vector<std::pair<std::string, int64_t>>> count_episodes(CountBy by, const EpisodeFilter& f) override {
    using Out = std::vector<std::pair<std::string, int64_t>>;
    return guarded<Out>([&]() -> StoreResult<Out> {
      std::string sql;
      if (counted_by_state(f)) {  // from the counts, not the episode rows
        const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase"
                                                                          : "CASE profile WHEN 0 THEN 'none' ELSE CAST(profile AS TEXT) END";
        sql = std::string("SELECT ") + col + ", sum(n) FROM episode_counts" + episode_where(f) + " GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1";
      } else {
        const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase" : "COALESCE(CAST(profile AS TEXT), 'none')";
        sql = std::string("SELECT ") + col + ", count(*) FROM episodes" + episode_where(f) + " GROUP BY 1 ORDER BY 1";
      }
      SQLite::Statement q(db_, sql);
      bind_episode_filter(q, f);
      Out out;
      while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64());
      return out;
    });
  }

  StoreResult<int64_t> for_each_episode(const std::function<void(const Episode&)>& fn) override {
    return guarded<int64_t>([&]() -> StoreResult<int64_t> {
      SQLite::Transaction tx(db_);  // one consistent snapshot
      SQLite::Statement q(db_, "SELECT id, body FROM episodes ORDER BY rowid");
      int64_t n = 0;
      while (q.executeStep()) {
        auto ep = episode_from_state_text(q.getColumn(1).getString());
        if (!ep) return broken("episode " + q.getColumn(0).getString() + ": " + ep.message());
        fn(*ep);
        ++n;
      }
      return n;
    });
  }

 private:
  template <typename T, typename Fn>
  StoreResult<T> guarded(Fn fn) {
    try {
      StoreResult<T> r = fn();
      // A rejected command rolled back: forget what it loaded, so the next
      // command reads the database again instead of a stale copy.
      if (std::holds_alternative<StoreError>(r)) cache_.clear();
      return r;
    } catch (const SQLite::Exception& e) {
      cache_.clear();
      log_->debug("store error: {}", e.what());
      return broken(std::string("database error: ") + e.what());
    } catch (const std::exception& e) {
      cache_.clear();
      return broken(std::string("internal error: ") + e.what());
    }
  }

  SQLite::Statement& stmt(std::unique_ptr<SQLite::Statement>& s, const char* sql) {
    if (!s) s = std::make_unique<SQLite::Statement>(db_, sql);
    return *s;
  }

  // A filter by state, phase and profile only is answered from episode_counts
  // (which has those columns, profile 0 for none).
  static bool counted_by_state(const EpisodeFilter& f) { return !f.gp && !f.therapist && !f.search; }

  static std::string episode_where(const EpisodeFilter& f) {
    std::string w = " WHERE 1=1";
    if (f.state) w += " AND state = :state";
    if (f.phase) w += " AND phase = :phase";
    if (f.profile) w += " AND profile = :profile";
    if (f.gp) w += " AND gp = :gp";
    if (f.therapist) w += " AND therapist = :therapist";
    if (f.search) w += " AND (id >= :search AND id < :search_end OR patient >= :search AND patient < :search_end)";
    return w;
  }
  static void bind_episode_filter(SQLite::Statement& q, const EpisodeFilter& f) {
    if (f.state) q.bind(":state", std::string(kStates.name(*f.state)));
    if (f.phase) q.bind(":phase", std::string(kPhases.name(*f.phase)));
    if (f.profile) q.bind(":profile", *f.profile);
    if (f.gp) q.bind(":gp", *f.gp);
    if (f.therapist) q.bind(":therapist", *f.therapist);
    if (f.search) {
      q.bind(":search", *f.search);
      q.bind(":search_end", *f.search + "\xff");
    }
  }

  // The columns of an EpisodeSummary, in summary()'s order.
  static constexpr const char* kSummaryColumns = "id, patient, state, phase, profile, gp, therapist, next_due";
  static EpisodeSummary summary(SQLite::Statement& q) {
    EpisodeSummary e;
    e.id = q.getColumn(0).getString();
    e.patient = q.getColumn(1).getString();
    e.state = *kStates.parse(q.getColumn(2).getString());
    e.phase = *kPhases.parse(q.getColumn(3).getString());
    if (!q.getColumn(4).isNull()) e.profile = q.getColumn(4).getInt();
    e.gp = q.getColumn(5).getString();
    e.therapist = q.getColumn(6).getString();
    if (!q.getColumn(7).isNull()) e.next_due = Date::parse(q.getColumn(7).getString());
    return e;
  }

  static TaskRow task_row(SQLite::Statement& q) {
    TaskRow r;
    r.id = q.getColumn(0).getInt64();
    r.episode = q.getColumn(1).getString();
    r.task.seq = q.getColumn(2).getInt();
    r.task.kind = *kTaskKinds.parse(q.getColumn(3).getString());
    if (!q.getColumn(4).isNull()) r.task.checkpoint = kCheckpoints.parse(q.getColumn(4).getString());
    r.task.due = *Date::parse(q.getColumn(5).getString());
    r.task.status = *kTaskStatuses.parse(q.getColumn(6).getString());
    return r;
  }

  std::string next_episode_id() {
    int64_t n = db_.execAndGet("SELECT COALESCE(MAX(rowid), 0) + 1 FROM episodes").getInt64();
    for (;; ++n) {
      std::string id = "ep-" + std::to_string(n);
      if (!exists(id)) return id;
    }
  }

  bool exists(const std::string& id) {
    if (cache_.count(id)) return true;
    auto& q = stmt(exists_q_, "SELECT 1 FROM episodes WHERE id = ?");
    q.bind(1, id);
    bool found = q.executeStep();
    q.reset();
    return found;
  }

  // The episode from the command's cache, else from the database.
  Loaded* cached(const std::string& id) {
    if (auto it = cache_.find(id); it != cache_.end()) return &it->second;
    auto l = fetch(id);
    if (!l) return nullptr;
    return &cache_.emplace(id, std::move(*l)).first->second;
  }

  std::optional<Loaded> fetch(const std::string& id) {
    auto& q = stmt(load_q_, "SELECT body, last_seq, state, phase, profile, last_event, terminal FROM episodes WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) { q.reset(); return std::nullopt; }
    std::string body = q.getColumn(0).getString();
    int64_t seq = q.getColumn(1).getInt64();
    CountKey counted{q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).isNull() ? 0 : q.getColumn(4).getInt()};
    std::string last_event = q.getColumn(5).getString();
    bool terminal = q.getColumn(6).getInt() != 0;
    q.reset();
    auto ep = episode_from_state_text(body);
    if (!ep) throw std::runtime_error("episode " + id + ": " + ep.message());
    Loaded l;
    l.tasks_before = ep->tasks;
    l.ep = std::move(*ep);
    l.last_seq = seq;
    l.counted = std::move(counted);
    l.stored_last_event = std::move(last_event);
    l.stored_terminal = terminal;
    return l;
  }

  // Returns the earlier recording of an event id, if any.
  std::optional<Recorded> earlier(const std::string& event_id) {
    if (event_id.empty()) return std::nullopt;
    auto& q = stmt(event_id_q_, "SELECT episode, seq FROM events WHERE event_id = ?");
    q.bind(1, event_id);
    std::optional<Recorded> r;
    if (q.executeStep()) r = Recorded{q.getColumn(0).getString(), q.getColumn(1).getInt64(), true};
    q.reset();
    return r;
  }

  void append_event(const std::string& episode, int64_t seq, const std::string& type, Date at, const std::string& body,
                    const std::string* event_id) {
    auto& q = stmt(insert_event_q_,
                   "INSERT INTO events(episode, seq, type, at, body, recorded_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, episode);
    q.bind(2, seq);
    q.bind(3, type);
    q.bind(4, iso(at));
    q.bind(5, body);
    q.bind(6, clock_.unix_seconds());
    if (event_id && !event_id->empty()) q.bind(7, *event_id); else q.bind(7);
    q.exec();
    q.reset();
  }

  StoreResult<Recorded> open_in_tx(const std::string& episode, const std::string& given_patient, const json& event) {
    if (episode.empty() || episode.size() > 100) return bad("episode id must be 1-100 characters");
    auto ev = parse_event(event);
    if (!ev) return bad(event_label(episode, 0, event) + ": " + ev.message());
    if (ev->type != Trigger::open) return bad(event_label(episode, 0, event) + ": an episode must start with an 'open' event");
    if (auto e = earlier(ev->id)) return *e;
    if (exists(episode)) return bad(episode + ": the episode already exists");
    std::string patient = given_patient.empty() ? ev->patient : given_patient;
    if (!ev->patient.empty() && !given_patient.empty() && ev->patient != given_patient)
      return bad(event_label(episode, 0, event) + ": the event's 'patient' differs from the one given");
    auto opened = open_episode(episode, patient, *ev);
    if (!opened) return bad(event_label(episode, 0, event) + ": " + opened.message());
    Loaded& l = cache_[episode];
    l.ep = std::move(*opened);
    l.is_new = true;
    l.last_seq = 1;
    json logged = event;  // the log keeps the patient reference, so rebuild can recreate the projection
    if (!patient.empty()) logged["patient"] = patient;
    logged["revision"] = l.ep.revision;  // and the pathway revision the episode follows for good
    append_event(episode, 1, "open", ev->at, logged.dump(), &ev->id);
    log_->info("episode {}: opened", episode);
    return Recorded{episode, 1, false};
  }

  StoreResult<Recorded> record_in_tx(const std::string& episode, const json& event, std::optional<int64_t> expect_seq) {
    Loaded* l = cached(episode);
    if (!l) return bad("no episode '" + episode + "'");
    auto label = [&] { return event_label(episode, l->last_seq, event); };
    std::string body;  // what the log keeps: the text that was read
    auto ev = parse_event(event, &body);
    if (!ev) return bad(label() + ": " + ev.message());
    if (auto e = earlier(ev->id)) return *e;
    if (expect_seq && *expect_seq != l->last_seq)
      return bad(label() + ": expected the log to end at event " + std::to_string(*expect_seq) + " but it ends at " +
                 std::to_string(l->last_seq) + " (someone recorded in between)");
    if (Status s = apply(l->ep, *ev); !s.ok()) return bad(label() + ": " + s.message());
    ++l->last_seq;
    append_event(episode, l->last_seq, std::string(kTriggers.name(ev->type)), ev->at, body, &ev->id);
    log_->debug("episode {}: recorded event {} ({})", episode, l->last_seq - 1, kTriggers.name(ev->type));
    return Recorded{episode, l->last_seq, false};
  }

  std::optional<StoreError> import_line(const std::string& line, ImportReport& rep) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
    if (!j.contains("episode") || !j["episode"].is_string()) return bad("needs a string 'episode'");
    if (!j.contains("event")) return bad("needs an 'event'");
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "episode" && it.key() != "patient" && it.key() != "event")
        return bad("unknown field '" + it.key().substr(0, 40) + "'");
    std::string episode = j["episode"].get<std::string>();
    const json& event = j["event"];
    bool is_open = event.is_object() && event.contains("type") && event["type"] == "open";
    StoreResult<Recorded> r = [&]() -> StoreResult<Recorded> {
      if (is_open) {
        std::string patient = j.contains("patient") && j["patient"].is_string() ? j["patient"].get<std::string>() : "";
        return open_in_tx(episode, patient, event);
      }
      return record_in_tx(episode, event, std::nullopt);
    }();
    if (auto* e = std::get_if<StoreError>(&r)) return *e;
    auto& rec = std::get<Recorded>(r);
    if (rec.duplicate) rep.duplicates++;
    else if (is_open) { rep.episodes_opened++; rep.recorded++; }
    else rep.recorded++;
    return std::nullopt;
  }

  static void add(ImportReport& a, const ImportReport& b) {
    a.recorded += b.recorded;
    a.duplicates += b.duplicates;
    a.episodes_opened += b.episodes_opened;
  }

  // Writes every cached episode's projection and its changed task rows.
  void flush() {
    auto& ins = stmt(insert_episode_q_,
                     "INSERT INTO episodes(id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body, last_event, terminal) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT(id) DO UPDATE SET patient=excluded.patient, gp=excluded.gp, therapist=excluded.therapist, state=excluded.state, phase=excluded.phase, profile=excluded.profile, "
                     "last_seq=excluded.last_seq, next_due=excluded.next_due, body=excluded.body, last_event=excluded.last_event, terminal=excluded.terminal");
    // The patient reference never changes after `open`: leaving it out of the
    // SET spares the patient index a delete and insert per episode written.
    // gp and therapist are set by `open` only: out of the SET, their indexes
    // are not touched either.
    // last_event and terminal, the index of non-terminal episodes by last
    // event, are set only when one of them changes (an event on a new day,
    // the end of the episode), never by a tick.
    auto& upd = stmt(update_episode_q_,
                     "UPDATE episodes SET state=?, phase=?, profile=?, last_seq=?, next_due=?, body=? WHERE id=?");
    auto& upd_activity = stmt(update_activity_q_,
                              "UPDATE episodes SET state=?, phase=?, profile=?, last_seq=?, next_due=?, body=?, "
                              "last_event=?, terminal=? WHERE id=?");
    Counts delta;
    auto& task = stmt(upsert_task_q_,
                      "INSERT INTO tasks(episode, seq, kind, checkpoint, due, status) VALUES (?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT(episode, seq) DO UPDATE SET kind=excluded.kind, checkpoint=excluded.checkpoint, "
                      "due=excluded.due, status=excluded.status");
    for (auto& [id, l] : cache_) {
      const Episode& ep = l.ep;
      if (l.is_new || l.repair) {
        ins.bind(1, id);
        ins.bind(2, ep.patient);
        ins.bind(3, std::string(kStates.name(ep.state)));
        ins.bind(4, std::string(kPhases.name(ep.phase)));
        if (ep.profile) ins.bind(5, *ep.profile); else ins.bind(5);
        ins.bind(6, ep.gp);
        ins.bind(7, ep.therapist);
        ins.bind(8, l.last_seq);
        if (auto d = ep.next_due()) ins.bind(9, iso(*d)); else ins.bind(9);
        ins.bind(10, codec_.text(ep));
        ins.bind(11, iso(ep.last_event));
        ins.bind(12, int(is_terminal(ep.state)));
        ins.exec();
        ins.reset();
      } else {
        const bool activity = activity_changed(l);
        auto& u = activity ? upd_activity : upd;
        u.bind(1, std::string(kStates.name(ep.state)));
        u.bind(2, std::string(kPhases.name(ep.phase)));
        if (ep.profile) u.bind(3, *ep.profile); else u.bind(3);
        u.bind(4, l.last_seq);
        if (auto d = ep.next_due()) u.bind(5, iso(*d)); else u.bind(5);
        u.bind(6, codec_.text(ep));
        if (activity) {
          u.bind(7, iso(ep.last_event));
          u.bind(8, int(is_terminal(ep.state)));
        }
        u.bind(activity ? 9 : 7, id);
        u.exec();
        u.reset();
      }
      if (!l.repair) {  // rebuild rewrites the counts itself
        CountKey now = count_key(ep);
        if (!l.counted || *l.counted != now) {
          if (l.counted) delta[*l.counted]--;
          delta[now]++;
        }
      }
      for (size_t i = 0; i < ep.tasks.size(); ++i) {
        const Task& t = ep.tasks[i];
        if (i < l.tasks_before.size() && l.tasks_before[i] == t) continue;
        task.bind(1, id);
        task.bind(2, t.seq);
        task.bind(3, std::string(kTaskKinds.name(t.kind)));
        if (t.checkpoint) task.bind(4, std::string(kCheckpoints.name(*t.checkpoint))); else task.bind(4);
        task.bind(5, iso(t.due));
        task.bind(6, std::string(kTaskStatuses.name(t.status)));
        task.exec();
        task.reset();
      }
    }
    add_counts(delta);
    cache_.clear();
  }

  // Adds each n to episode_counts (a row per state, phase and profile).
  void add_counts(const Counts& counts) {
    auto& add = stmt(count_q_,
                     "INSERT INTO episode_counts(state, phase, profile, n) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(state, phase, profile) DO UPDATE SET n = n + excluded.n");
    for (const auto& [k, n] : counts) {
      if (n == 0) continue;
      add.bind(1, std::get<0>(k));
      add.bind(2, std::get<1>(k));
      add.bind(3, std::get<2>(k));
      add.bind(4, n);
      add.exec();
      add.reset();
    }
  }

  SQLite::Database db_;
  const Clock& clock_;
  StoreOptions opt_;
  std::shared_ptr<spdlog::logger> log_;
  std::unordered_map<std::string, Loaded> cache_;  // episodes touched by the running command
  BodyCodec codec_{log_};
  static constexpr int64_t kParallelRebuildFrom = 5000;  // episodes; fewer are rebuilt on one core
  std::unique_ptr<SQLite::Statement> due_q_, exists_q_, load_q_, event_id_q_, insert_event_q_, insert_episode_q_,
      update_episode_q_, update_activity_q_, upsert_task_q_, count_q_;
};

}  // namespace

StoreResult<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const Clock& clock, StoreOptions options) {
  if (path != ":memory:") {
    // Create the file ourselves so it is private from the first byte.
    // Only when it does not exist yet: close() on a file this process already
    // has open would drop SQLite's POSIX locks on it (a server with a Store
    // per thread would then lose its locks when another Store opens).
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return broken("cannot open database '" + path + "'");
    if (fd >= 0) ::close(fd);
  }
  try {
    auto store = std::make_unique<SqliteStore>(path, clock, options);
    if (Status s = store->init(); !s.ok()) return broken(s.message());
    return std::unique_ptr<Store>(std::move(store));
  } catch (const SQLite::Exception& e) {
    return broken("cannot use '" + path + "' as a zorgpad database: " + e.what());
  }
}

}  // namespace zorgpad
