// SQLite repository: rebuild. Reads every episode's log in id order, has the
// engine's replay (states/engine.hpp) derive the episode, compares it with
// the stored projection columns, body and task rows, and repairs what
// differs. Episodes are independent: on a database file the id range is
// split over the cores, each part read by its own connection inside this
// command's write transaction (so every part sees the same snapshot).
#include <sqlite3.h>

#include <algorithm>
#include <thread>

#include "persistence/sqlite_repository.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::sqlite {
namespace {

constexpr int64_t kParallelFrom = 5000;  // episodes; fewer are rebuilt on one core

// The ticks in log order (after_entry: the log's last rowid when the tick
// ran); each carries the latest date of itself and every later tick.
using TickList = std::vector<std::pair<int64_t, Date>>;

// What rebuild found in one range of episode ids.
struct RangeScan {
  int64_t episodes = 0, events = 0;
  std::vector<std::string> differences;
  std::vector<std::pair<Episode, int64_t>> repairs;  // re-derived episodes that differ, with their log position
  Counts counts;  // every episode row of the range as it is after the repairs
  std::optional<Error> error;
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
                     const LogReplayFactory& make_replay) {
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
    rep.error = store_failure(std::move(m));
    return std::move(rep);
  };
  bool row_ok = rows.step(), task_ok = task_rows.step();
  std::string current;
  std::unique_ptr<LogReplay> replay;
  std::optional<Episode> ep;
  int64_t last_seq = 0, last_entry = 0;
  auto col = [](Cursor& c, int i) { return c.text(i); };
  auto stored_key = [&]() -> CountKey {
    return {std::string(col(rows, 2)), std::string(col(rows, 3)), int(rows.int64(4))};
  };
  auto finish = [&]() -> std::optional<std::string> {
    if (!replay) return std::nullopt;
    auto tick = std::lower_bound(ticks.begin(), ticks.end(), last_entry,
                                 [](const std::pair<int64_t, Date>& t, int64_t entry) { return t.first < entry; });
    auto replayed = replay->finish(tick != ticks.end() ? std::optional(tick->second) : std::nullopt);
    replay.reset();
    if (!replayed) return "episode " + current + ": " + replayed.message();
    ep = std::move(*replayed);
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
      std::string body = episode_state_text(*ep);
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
      expect(10, ep->last_event.iso(), "last_event");
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
          col(task_rows, 3) != (t.checkpoint ? kCheckpoints.name(*t.checkpoint) : "") || col(task_rows, 4) != t.due.iso() ||
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
    return std::nullopt;
  };
  while (q.step()) {
    std::string_view episode = q.text(0);
    if (episode != current) {
      if (auto e = finish()) return fail(*e);
      current = std::string(episode);
      replay = make_replay(current);
    }
    last_seq = q.int64(1);
    last_entry = q.int64(4);
    rep.events++;
    if (Status s = replay->entry(q.text(2), q.text(3)); !s)
      return fail("episode " + current + " event " + std::to_string(last_seq - 1) + ": " + s.message());
  }
  if (auto e = finish()) return fail(*e);
  while (row_ok) {
    rep.differences.push_back(std::string(col(rows, 0)) + ": projection without events");
    rep.counts[stored_key()]++;
    row_ok = rows.step();
  }
  return rep;
}

}  // namespace

// Replays each episode's log (events in order, task_done entries and the
// ticks after its last entry at their dates) and compares the result with
// every stored projection; differences are reported by episode id and
// repaired. Episodes are independent: on a database file the id range is
// split over the cores, each part read by its own connection inside this
// command's write transaction (so every part sees the same snapshot).
Expected<RebuildReport> SqliteRepository::rebuild(const LogReplayFactory& replay) {
  return guarded<RebuildReport>([&]() -> Expected<RebuildReport> {
    RebuildReport rep;
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    TickList ticks;
    {
      SQLite::Statement tq(db_, "SELECT after_entry, at, id FROM ticks ORDER BY after_entry, id");
      while (tq.executeStep()) {
        auto at = Date::parse_stored(tq.getColumn(1).getString());
        if (!at) return store_failure("tick " + tq.getColumn(2).getString() + ": unreadable date");
        ticks.emplace_back(tq.getColumn(0).getInt64(), *at);
      }
      for (size_t i = ticks.size(); i-- > 1;) ticks[i - 1].second = std::max(ticks[i - 1].second, ticks[i].second);
    }
    // Boundaries: episode ids splitting the episodes into equal parts.
    std::vector<std::string> bounds{""};
    const std::string file = db_.getFilename();
    int64_t total = db_.execAndGet("SELECT count(*) FROM episodes").getInt64();
    unsigned parts = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    if (total < kParallelFrom) parts = 1;
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
            scans[k] = scan_range(db, bounds[k], bounds[k + 1], ticks, replay);
          } catch (const std::exception& e) {
            scans[k].error = store_failure(std::string("database error: ") + e.what());
          }
        });
      try {
        scans[0] = scan_range(db_, bounds[0], bounds[1], ticks, replay);
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
        Held h;
        const std::string id = episode.id;
        h.w.ep = std::move(episode);
        h.w.last_seq = seq;
        h.repair = true;  // tasks_before empty: every task row is written
        hold(id, std::move(h)).tasks_noted = 0;
      }
    write_back();
    tx.commit();
    return rep;
  });
}

}  // namespace zorgpad::sqlite
