// zorgpad_bench: what the engine costs above the database itself.
//
// Builds a store of N generated episodes (about ten events each, in-process,
// deterministic) and measures, each phase in its own forked child so that its
// peak resident memory (ru_maxrss) is its own:
//   gen         the input generator alone (it is included in both imports)
//   import      Store::import in batches  vs  raw prepared INSERTs of the same rows
//   rebuild     Store::rebuild, warm cache vs  a raw scan of the same log
//   record      one durable Store::record per commit (synchronous=FULL)
//               vs  one raw single-row INSERT per FULL commit
//   tick        Store::tick with `--due` timers due, three times, then with
//               every timer due  vs  reading and rewriting the same episode rows
//   scale       the same due tick on a second store of --compare-episodes
//
// The data: episode i is active (still in treatment, with timers) when
// i % 7 == 3, else closed (history, no timers). Every event is dated before
// kToday. Three groups of `--due` active episodes have their next timer on
// kToday+1, +2 and +3 (exactly one timer each); every other active episode's
// next timer lies between kToday+4 and kToday+41. So `tick kToday+1` fires
// exactly `--due` timers whatever the number of episodes on file.
//
// Usage: zorgpad_bench [--episodes N] [--db PATH] [--phases gen,import,...]
//                      [--json] [--keep] [--records N] [--due N] [--batch N]
//                      [--compare-episodes N] [--seed N]
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "pathway/clock.hpp"
#include "pathway/date.hpp"
#include "persistence/store.hpp"

#include "bench/generator.hpp"

namespace {

using nlohmann::json;

// ---- raw SQLite --------------------------------------------------------------------------

// The events table of the store (schema v1 + v2) without the foreign key to
// episodes (the raw baseline has no episodes): same columns, same indexes.
constexpr const char* kRawSchema = R"sql(
CREATE TABLE IF NOT EXISTS events(
  episode     TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  type        TEXT NOT NULL,
  at          TEXT NOT NULL,
  body        TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  event_id    TEXT,
  PRIMARY KEY (episode, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events(event_id) WHERE event_id IS NOT NULL;
)sql";

class Raw {
 public:
  Raw(const std::string& path, bool full) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path);
    sqlite3_busy_timeout(db_, 60000);
    exec("PRAGMA journal_mode=WAL");
    exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    exec("PRAGMA cache_size=-65536");  // the store's pragmas, all of them
  }
  ~Raw() {
    for (auto* s : stmts_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(std::string("raw sqlite: ") + m + " in " + sql);
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_));
    stmts_.push_back(s);
    return s;
  }
  void done(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("step: ") + sqlite3_errmsg(db_));
    sqlite3_reset(s);
  }
  int64_t scalar(const char* sql) {
    sqlite3_stmt* s = prepare(sql);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return v;
  }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;
};

void bind_text(sqlite3_stmt* s, int i, std::string_view v) { sqlite3_bind_text(s, i, v.data(), int(v.size()), SQLITE_STATIC); }

// Binds the row the store's append_event writes for this event.
void bind_event(sqlite3_stmt* ins, const GenEpisode& ep, const GenEvent& e, const std::string& at, int64_t recorded_at) {
  bind_text(ins, 1, ep.id);
  sqlite3_bind_int64(ins, 2, e.seq);
  bind_text(ins, 3, e.type);
  bind_text(ins, 4, at);
  bind_text(ins, 5, e.body);
  sqlite3_bind_int64(ins, 6, recorded_at);
  bind_text(ins, 7, e.id);
}

constexpr const char* kRawInsert = "INSERT INTO events(episode, seq, type, at, body, recorded_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)";

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
}

// Reads the database files once so that the measurement runs on a warm cache.
void warm(const std::string& path) {
  std::vector<char> buf(1 << 20);
  for (const char* suffix : {"", "-wal"}) {
    int fd = ::open((path + suffix).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    while (::read(fd, buf.data(), buf.size()) > 0) {
    }
    ::close(fd);
  }
}

// ---- the phases ----------------------------------------------------------------------

struct Options {
  int64_t episodes = 100000;
  int64_t compare_episodes = 100000;
  std::string db;
  std::vector<std::string> phases{"gen", "import", "rebuild", "record", "tick", "scale"};
  bool json_line = false, keep = false;
  int batch = 5000, records = 1000, due = 1000;
  uint64_t seed = 42;
};

zorgpad::ManualClock& bench_clock() {
  static zorgpad::ManualClock clock{Date{kToday}};
  return clock;
}

std::unique_ptr<zorgpad::Store> open_store(const std::string& path, bool full) {
  zorgpad::StoreOptions opt;
  opt.synchronous_full = full;
  auto r = zorgpad::open_sqlite_store(path, bench_clock(), opt);
  if (!r) throw std::runtime_error("open store: " + r.message());
  return std::move(r.value());
}

template <typename T>
T ok(zorgpad::Expected<T>&& r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.message());
  return std::move(r.value());
}

json phase_gen(const Options& o) {
  Generator g(o.episodes, o.due, o.seed);
  GenEpisode ep;
  std::string line;
  int64_t events = 0, bytes = 0, body_bytes = 0;
  auto t0 = Clock::now();
  for (int64_t i = 0; i < g.episodes(); ++i) {
    g.episode(i, ep);
    for (size_t k = 0; k < ep.n; ++k) {
      line.clear();
      append_line(line, ep, ep.events[k]);
      bytes += int64_t(line.size());
      body_bytes += int64_t(ep.events[k].body.size());
    }
    events += int64_t(ep.n);
  }
  double s = seconds_since(t0);
  return {{"events", events}, {"episodes", g.episodes()}, {"actives", g.actives()}, {"seconds", s},
          {"events_per_s", events / s}, {"ndjson_bytes", bytes}, {"avg_body_bytes", double(body_bytes) / double(events)}};
}

json phase_raw_import(const Options& o, const std::string& path) {
  remove_db(path);
  Generator g(o.episodes, o.due, o.seed);
  GenEpisode ep;
  Raw raw(path, false);
  raw.exec(kRawSchema);
  sqlite3_stmt* ins = raw.prepare(kRawInsert);
  int64_t recorded_at = bench_clock().unix_seconds();
  int64_t events = 0;
  int in_batch = 0;
  auto t0 = Clock::now();
  raw.exec("BEGIN IMMEDIATE");
  for (int64_t i = 0; i < g.episodes(); ++i) {
    g.episode(i, ep);
    for (size_t k = 0; k < ep.n; ++k) {
      const GenEvent& e = ep.events[k];
      bind_event(ins, ep, e, g.iso(e.day), recorded_at);
      raw.done(ins);
      ++events;
      if (++in_batch >= o.batch) {
        raw.exec("COMMIT");
        raw.exec("BEGIN IMMEDIATE");
        in_batch = 0;
      }
    }
  }
  raw.exec("COMMIT");
  double s = seconds_since(t0);
  return {{"events", events}, {"seconds", s}, {"events_per_s", events / s}};
}

json phase_import(const Options& o, const std::string& path, Generator& g) {
  remove_db(path);
  auto store = open_store(path, false);  // as `zorgpad import`: WAL, synchronous=NORMAL
  GeneratedInput buf(g);
  std::istream in(&buf);
  auto t0 = Clock::now();
  auto rep = ok(store->import(in, o.batch), "import");
  double s = seconds_since(t0);
  json out = {{"events", rep.recorded}, {"episodes", rep.episodes_opened}, {"seconds", s}, {"events_per_s", rep.recorded / s}};
  store.reset();

  // Self-check: every event was accepted as generated, the stored bodies are
  // the generated text (same row sizes as the baseline) and the due groups are exact.
  if (rep.recorded != buf.events || rep.episodes_opened != g.episodes())
    throw std::runtime_error("import recorded " + std::to_string(rep.recorded) + " of " + std::to_string(buf.events) + " events");
  Raw db(path, false);
  int64_t due1 = 0;
  {
    sqlite3_stmt* q = db.prepare("SELECT count(*) FROM episodes WHERE next_due = ?");
    bind_text(q, 1, g.iso(kToday + 1));
    if (sqlite3_step(q) == SQLITE_ROW) due1 = sqlite3_column_int64(q, 0);
  }
  if (due1 != g.group_size())
    throw std::runtime_error("episodes due on day 1: " + std::to_string(due1) + ", expected " + std::to_string(g.group_size()));
  sqlite3_stmt* bodies = db.prepare("SELECT body FROM events WHERE episode = ? ORDER BY seq");
  GenEpisode ep;
  for (int64_t i : {int64_t(0), int64_t(3), g.episodes() / 2, g.episodes() - 1}) {
    if (i < 0 || i >= g.episodes()) continue;
    g.episode(i, ep);
    bind_text(bodies, 1, ep.id);
    for (size_t k = 0; k < ep.n; ++k) {
      if (sqlite3_step(bodies) != SQLITE_ROW) throw std::runtime_error(ep.id + ": missing events");
      std::string stored = reinterpret_cast<const char*>(sqlite3_column_text(bodies, 0));
      // The store keeps the patient reference in the open entry (for rebuild).
      json stored_j = json::parse(stored), generated = json::parse(ep.events[k].body);
      if (!generated.contains("patient")) stored_j.erase("patient");
      if (k == 0 && !generated.contains("revision")) stored_j.erase("revision");  // and the pathway revision
      // The log keeps the canonical form: a field at its default (null, an
      // empty list, false) is not written.
      for (auto it = generated.begin(); it != generated.end();)
        it = it->is_null() || (it->is_array() && it->empty()) || (it->is_boolean() && !it->get<bool>()) ? generated.erase(it) : std::next(it);
      if (stored_j != generated) throw std::runtime_error(ep.id + ": stored body differs from the generated event: " + stored);
    }
    sqlite3_reset(bodies);
  }
  out["due_day1"] = due1;
  return out;
}

json phase_raw_scan(const std::string& raw_path) {
  warm(raw_path);
  Raw raw(raw_path, true);
  sqlite3_stmt* q = raw.prepare("SELECT episode, seq, type, body FROM events ORDER BY episode, seq");
  int64_t rows = 0, bytes = 0;
  auto t0 = Clock::now();
  while (sqlite3_step(q) == SQLITE_ROW) {
    bytes += sqlite3_column_bytes(q, 0) + sqlite3_column_bytes(q, 2) + sqlite3_column_bytes(q, 3) + sqlite3_column_int64(q, 1) % 2;
    ++rows;
  }
  double s = seconds_since(t0);
  return {{"events", rows}, {"seconds", s}, {"events_per_s", rows / s}, {"bytes", bytes}};
}

json phase_rebuild(const std::string& path) {
  warm(path);
  auto store = open_store(path, true);
  auto t0 = Clock::now();
  auto rep = ok(store->rebuild(), "rebuild");
  double s = seconds_since(t0);
  if (!rep.differences.empty()) throw std::runtime_error("rebuild found differences, first: " + rep.differences.front());
  return {{"events", rep.events}, {"episodes", rep.episodes}, {"seconds", s}, {"events_per_s", rep.events / s}};
}

// The episodes the durable-record phases write to: active ones, spread over the file.
std::vector<int64_t> record_targets(const Options& o, const Generator& g) {
  std::vector<int64_t> out;
  int64_t a = g.actives();
  int64_t n = std::min<int64_t>(o.records, a);
  for (int64_t k = 0; k < n; ++k) out.push_back(Generator::active_index((k * 7919 + 13) % a));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  std::shuffle(out.begin(), out.end(), std::mt19937_64(o.seed));
  return out;
}

std::string record_body(const Generator& g, const std::string& id) {
  std::string body;
  Obj(body).str("at", g.iso(kToday)).str("id", id).str("type", "session").end();
  return body;
}

json latency_summary(std::vector<double> ms, double seconds) {
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, size_t(p * double(ms.size())))]; };
  return {{"commits", ms.size()}, {"seconds", seconds}, {"events_per_s", double(ms.size()) / seconds},
          {"p50_ms", pct(0.5)}, {"p99_ms", pct(0.99)}};
}

json phase_raw_record(const Options& o, const std::string& raw_path) {
  Generator g(o.episodes, o.due, o.seed);
  Raw raw(raw_path, true);  // a durable commit: WAL, synchronous=FULL
  sqlite3_stmt* ins = raw.prepare(kRawInsert);
  sqlite3_stmt* begin = raw.prepare("BEGIN IMMEDIATE");
  sqlite3_stmt* commit = raw.prepare("COMMIT");
  GenEpisode ep;
  std::vector<double> ms;
  int64_t recorded_at = bench_clock().unix_seconds();
  auto targets = record_targets(o, g);
  auto t0 = Clock::now();
  for (int64_t i : targets) {
    g.episode(i, ep);
    GenEvent e;
    e.seq = int64_t(ep.n) + 1;
    e.type = "session";
    e.id = "rec-" + ep.id;
    e.body = record_body(g, e.id);
    auto t = Clock::now();
    raw.done(begin);
    bind_event(ins, ep, e, g.iso(kToday), recorded_at);
    raw.done(ins);
    raw.done(commit);
    ms.push_back(seconds_since(t) * 1000);
  }
  return latency_summary(ms, seconds_since(t0));
}

json phase_record(const Options& o, const std::string& path) {
  Generator g(o.episodes, o.due, o.seed);
  auto store = open_store(path, true);  // the default: every commit survives power loss
  std::vector<std::pair<std::string, json>> cmds;
  for (int64_t i : record_targets(o, g)) {
    std::string episode = "ep-" + std::to_string(i + 1);
    cmds.emplace_back(episode, json::parse(record_body(g, "rec-" + episode)));
  }
  std::vector<double> ms;
  auto t0 = Clock::now();
  for (auto& [episode, ev] : cmds) {
    auto t = Clock::now();
    auto event = zorgpad::parse_event(ev);  // timed: the CLI's command parses as the old store did
    if (!event) throw std::runtime_error("record: " + event.message());
    auto rec = ok(store->record(episode, *event, std::nullopt), "record");
    ms.push_back(seconds_since(t) * 1000);
    if (rec.duplicate) throw std::runtime_error("record: " + episode + " was recorded before (run import first)");
  }
  return latency_summary(ms, seconds_since(t0));
}

// The SQLite floor of a tick: find the due episode rows by the same index and
// rewrite each (the same bytes, so the store is unchanged), 2000 rows per
// durable commit like the store.
json raw_tick(Raw& db, int from, int day) {
  sqlite3_stmt* q = db.prepare(
      "SELECT rowid, next_due, body FROM episodes WHERE next_due >= ?2 AND next_due <= ?1 AND (next_due > ?2 OR rowid > ?3) "
      "ORDER BY next_due, rowid LIMIT 2000");
  // Each row is rewritten changed (SQLite skips writing a row whose bytes are
  // unchanged) and moved past the ticks to come, as the store moves it to its
  // next timer: a new body of the same size and a later next_due.
  sqlite3_stmt* upd = db.prepare("UPDATE episodes SET body = ?, next_due = ? WHERE rowid = ?");
  const std::string later = Date{day + 400}.iso();  // past every later tick of the run
  std::string now = Date{day}.iso(), after_due = Date{from}.iso();
  int64_t after_rowid = -1, rows = 0;
  auto t0 = Clock::now();
  for (;;) {
    db.exec("BEGIN IMMEDIATE");
    bind_text(q, 1, now);
    bind_text(q, 2, after_due);
    sqlite3_bind_int64(q, 3, after_rowid);
    std::vector<std::pair<int64_t, std::string>> batch;
    std::string last_due = after_due;
    while (sqlite3_step(q) == SQLITE_ROW) {
      batch.emplace_back(sqlite3_column_int64(q, 0), reinterpret_cast<const char*>(sqlite3_column_text(q, 2)));
      last_due = reinterpret_cast<const char*>(sqlite3_column_text(q, 1));
    }
    sqlite3_reset(q);
    after_due = last_due;  // bound SQLITE_STATIC: changed only once the statement is reset
    for (auto& [rowid, body] : batch) {
      if (!body.empty()) body[body.size() / 2] ^= 1;
      bind_text(upd, 1, body);
      bind_text(upd, 2, later);
      sqlite3_bind_int64(upd, 3, rowid);
      db.done(upd);
    }
    db.exec("COMMIT");
    if (!batch.empty()) after_rowid = batch.back().first;
    rows += int64_t(batch.size());
    if (batch.size() < 2000) break;
  }
  double s = seconds_since(t0);
  return {{"episodes", rows}, {"ms", s * 1000}, {"seconds", s}, {"rows_per_s", rows / s}};
}

// The raw ticks rewrite rows of a copy of the engine's database: the store's
// own ticks run on the original afterwards.
json phase_raw_tick(const std::string& engine_path, bool all) {
  const std::string path = engine_path + ".rawtick";
  remove_db(path);
  {
    Raw src(engine_path, false);
    src.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  std::filesystem::copy_file(engine_path, path);
  {  // written back now, so that the first durable commit does not wait for the copy
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  struct Cleanup {
    std::string p;
    ~Cleanup() { remove_db(p); }
  } cleanup{path};
  Raw db(path, true);
  warm(path);
  // Like the store's ticks: the due days one by one (the store moves the rows
  // it fired to a later day; these stay, so each day starts at its own), then all.
  if (all) return raw_tick(db, kFirstDay + kToday, kToday + 3650);
  json out = json::array();
  for (int d = 1; d <= 3; ++d) out.push_back(raw_tick(db, kToday + d, kToday + d));
  return out;
}

json tick_once(zorgpad::Store& store, int day) {
  auto t0 = Clock::now();
  auto rep = ok(store.tick(Date{day}), "tick");
  double s = seconds_since(t0);
  return {{"now", Date{day}.iso()}, {"timers", rep.timers}, {"episodes", rep.episodes}, {"ms", s * 1000}, {"seconds", s},
          {"timers_per_s", rep.timers / s}};
}

json phase_tick_due(const Options& o, const std::string& path, int days) {
  Generator g(o.episodes, o.due, o.seed);
  auto store = open_store(path, true);
  json out = json::array();
  for (int d = 1; d <= days; ++d) {
    json t = tick_once(*store, kToday + d);
    if (t["timers"].get<int64_t>() != g.group_size() || t["episodes"].get<int64_t>() != g.group_size())
      throw std::runtime_error("tick " + t["now"].get<std::string>() + " fired " + t["timers"].dump() + " timers in " +
                               t["episodes"].dump() + " episodes, expected " + std::to_string(g.group_size()));
    out.push_back(t);
  }
  return out;
}

json phase_tick_all(const std::string& path) {
  auto store = open_store(path, true);
  return tick_once(*store, kToday + 3650);
}

// ---- running phases in children ------------------------------------------------------

struct Outcome {
  json result;
  double rss_mb = 0;
};

Outcome in_child(const std::string& name, const std::function<json()>& fn) {
  std::cout.flush();
  std::cerr.flush();
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::close(fds[0]);
    int rc = 0;
    std::string text;
    try {
      text = fn().dump();
    } catch (const std::exception& e) {
      text = json{{"error", e.what()}}.dump();
      rc = 1;
    }
    for (size_t off = 0; off < text.size();) {
      ssize_t w = ::write(fds[1], text.data() + off, text.size() - off);
      if (w <= 0) break;
      off += size_t(w);
    }
    ::close(fds[1]);
    ::_exit(rc);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t r; (r = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, size_t(r));
  ::close(fds[0]);
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  Outcome out;
  out.rss_mb = double(ru.ru_maxrss) / 1024.0;
  out.result = json::parse(text, nullptr, false);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.result.is_discarded() ||
      (out.result.is_object() && out.result.contains("error")))
    throw std::runtime_error(name + " failed: " + (out.result.is_object() && out.result.contains("error")
                                                        ? out.result["error"].get<std::string>()
                                                        : "exit status " + std::to_string(status)));
  std::cerr << "  " << name << " done (peak RSS " << long(out.rss_mb) << " MB)\n";
  return out;
}

// ---- report --------------------------------------------------------------------------------

std::string human(double v, int decimals = 0) {
  if (std::isnan(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  std::string s = b, out;  // thousands separators on the integer part
  size_t start = s[0] == '-' ? 1 : 0, end = std::min(s.find('.'), s.size());
  out = s.substr(0, start);
  for (size_t i = start; i < end; ++i) {
    out += s[i];
    size_t left = end - i - 1;
    if (left > 0 && left % 3 == 0) out += ',';
  }
  return out + s.substr(end);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int usage(const char* msg) {
  if (msg) std::cerr << "zorgpad_bench: " << msg << "\n";
  std::cerr << "usage: zorgpad_bench [--episodes N] [--db PATH] [--phases gen,import,rebuild,record,tick,scale]\n"
               "                     [--json] [--keep] [--records N] [--due N] [--batch N] [--compare-episodes N] [--seed N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--episodes") o.episodes = std::stoll(value());
      else if (a == "--compare-episodes") o.compare_episodes = std::stoll(value());
      else if (a == "--db") o.db = value();
      else if (a == "--phases") {
        o.phases.clear();
        std::stringstream ss(value());
        for (std::string p; std::getline(ss, p, ',');) o.phases.push_back(p);
      } else if (a == "--json") o.json_line = true;
      else if (a == "--keep") o.keep = true;
      else if (a == "--records") o.records = std::stoi(value());
      else if (a == "--due") o.due = std::stoi(value());
      else if (a == "--batch") o.batch = std::stoi(value());
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--help" || a == "-h") { usage(nullptr); return 0; }
      else return usage(("unknown option " + a).c_str());
    } catch (const std::exception& e) {
      return usage(e.what());
    }
  }
  for (const auto& p : o.phases)
    if (p != "gen" && p != "import" && p != "rebuild" && p != "record" && p != "tick" && p != "scale")
      return usage(("unknown phase " + p).c_str());
  if (o.episodes < 1 || o.batch < 1 || o.records < 1 || o.due < 1) return usage("numbers must be positive");
  auto has = [&](const char* p) { return std::find(o.phases.begin(), o.phases.end(), p) != o.phases.end(); };

  std::string dir;
  bool remove_files = !o.keep && o.db.empty();
  if (o.db.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/zorgpad-bench-XXXXXX";
    if (!::mkdtemp(tmpl.data())) { std::cerr << "zorgpad_bench: cannot create a temporary directory\n"; return 1; }
    dir = tmpl;
    o.db = dir + "/engine.db";
  }
  const std::string engine = o.db, raw = o.db + ".raw", scale = o.db + ".scale";

  json report = {{"episodes", o.episodes}, {"batch", o.batch}, {"sqlite", sqlite3_libversion()}, {"db", engine}};
  json rss = json::object();
  int rc = 0;
  try {
    Generator g(o.episodes, o.due, o.seed);
    report["actives"] = g.actives();
    report["due_per_tick"] = g.group_size();
    std::cerr << "zorgpad_bench: " << o.episodes << " episodes (" << g.actives() << " in treatment), db " << engine << "\n";
    if (has("gen")) {
      auto r = in_child("gen", [&] { return phase_gen(o); });
      report["gen"] = r.result;
      rss["gen"] = r.rss_mb;
    }
    if (has("import")) {
      auto r = in_child("raw import", [&] { return phase_raw_import(o, raw); });
      report["raw_import"] = r.result;
      rss["raw_import"] = r.rss_mb;
      r = in_child("import", [&] { return phase_import(o, engine, g); });
      report["import"] = r.result;
      rss["import"] = r.rss_mb;
    }
    if (has("rebuild")) {
      auto r = in_child("raw scan", [&] { return phase_raw_scan(raw); });
      report["raw_scan"] = r.result;
      rss["raw_scan"] = r.rss_mb;
      r = in_child("rebuild", [&] { return phase_rebuild(engine); });
      report["rebuild"] = r.result;
      rss["rebuild"] = r.rss_mb;
    }
    if (has("record")) {
      auto r = in_child("raw record", [&] { return phase_raw_record(o, raw); });
      report["raw_record"] = r.result;
      rss["raw_record"] = r.rss_mb;
      r = in_child("record", [&] { return phase_record(o, engine); });
      report["record"] = r.result;
      rss["record"] = r.rss_mb;
    }
    if (has("tick")) {
      auto r = in_child("raw tick (due)", [&] { return phase_raw_tick(engine, false); });
      report["raw_tick_due"] = r.result;
      rss["raw_tick_due"] = r.rss_mb;
      r = in_child("tick (due)", [&] { return phase_tick_due(o, engine, 3); });
      report["tick_due"] = r.result;
      rss["tick_due"] = r.rss_mb;
      r = in_child("raw tick (all)", [&] { return phase_raw_tick(engine, true); });
      report["raw_tick_all"] = r.result;
      rss["raw_tick_all"] = r.rss_mb;
      r = in_child("tick (all)", [&] { return phase_tick_all(engine); });
      report["tick_all"] = r.result;
      rss["tick_all"] = r.rss_mb;
    }
    if (has("scale") && o.compare_episodes > 0 && o.compare_episodes < o.episodes) {
      Options small = o;
      small.episodes = o.compare_episodes;
      Generator gs(small.episodes, small.due, small.seed);
      auto r = in_child("scale: import", [&] { return phase_import(small, scale, gs); });
      report["scale_import"] = r.result;
      r = in_child("scale: tick (due)", [&] { return phase_tick_due(small, scale, 3); });
      report["scale_tick_due"] = r.result;
      report["scale_episodes"] = small.episodes;
      rss["scale_tick_due"] = r.rss_mb;
    }
  } catch (const std::exception& e) {
    std::cerr << "zorgpad_bench: " << e.what() << "\n";
    rc = 1;
  }
  report["peak_rss_mb"] = rss;
  if (remove_files) {
    remove_db(engine);
    remove_db(raw);
    remove_db(scale);
    if (!dir.empty()) ::rmdir(dir.c_str());
  }

  // The table.
  auto num = [&](const char* phase, const char* key) -> double {
    return report.contains(phase) && report[phase].is_object() && report[phase].contains(key) ? report[phase][key].get<double>() : NAN;
  };
  auto ticks_ms = [&](const char* phase) {
    std::vector<double> v;
    if (report.contains(phase))
      for (auto& t : report[phase]) v.push_back(t["ms"].get<double>());
    return median(v);
  };
  auto mb = [&](const char* phase) { return rss.contains(phase) ? human(rss[phase].get<double>()) + " MB" : std::string("-"); };
  struct Line { std::string figure, engine, raw, ratio, target, verdict, mem; };
  std::vector<Line> lines;
  auto ratio_line = [&](const std::string& figure, const char* ph, const char* raw_ph, const char* key, const char* unit,
                        double target_ratio, double target_abs, const std::string& target) {
    double e = num(ph, key), r = num(raw_ph, key);
    if (std::isnan(e)) return;
    double ratio = e / r;
    bool met = (target_ratio <= 0 || ratio >= target_ratio) && (target_abs <= 0 || e >= target_abs);
    lines.push_back({figure, human(e) + unit, std::isnan(r) ? "-" : human(r) + unit, std::isnan(r) ? "-" : human(ratio, 2) + "x", target,
                     met ? "met" : "NOT MET", mb(ph) + " / " + mb(raw_ph)});
    report["verdict"][ph] = met;
  };
  ratio_line("import, batches of " + std::to_string(o.batch) + " lines", "import", "raw_import", "events_per_s", " ev/s", 0.5, 0,
             ">= 0.5x raw");
  ratio_line("record, 1 event per FULL commit", "record", "raw_record", "events_per_s", " ev/s", 0.6, 0, ">= 0.6x raw");
  if (report.contains("tick_due")) {
    double e = ticks_ms("tick_due"), r = ticks_ms("raw_tick_due");
    bool met = e < 50;
    lines.push_back({"tick, " + std::to_string(report["due_per_tick"].get<int64_t>()) + " due (median of 3)", human(e, 1) + " ms",
                     human(r, 1) + " ms", human(r / e, 2) + "x", "< 50 ms", met ? "met" : "NOT MET",
                     mb("tick_due") + " / " + mb("raw_tick_due")});
    report["verdict"]["tick_due"] = met;
  }
  if (report.contains("tick_all")) {
    double e = num("tick_all", "timers_per_s"), r = num("raw_tick_all", "rows_per_s");
    double episodes_per_s = num("tick_all", "episodes") / num("tick_all", "seconds");
    bool met = e >= 20000;
    lines.push_back({"tick, every timer due (" + human(num("tick_all", "timers")) + ")", human(e) + " timers/s",
                     human(r) + " rows/s", human(episodes_per_s / r, 2) + "x", ">= 20,000/s", met ? "met" : "NOT MET",
                     mb("tick_all") + " / " + mb("raw_tick_all")});
    report["verdict"]["tick_all"] = met;
  }
  if (report.contains("scale_tick_due")) {
    double e = ticks_ms("scale_tick_due");
    bool met = e < 50;
    lines.push_back({"tick, same due, " + human(o.compare_episodes) + " episodes", human(e, 1) + " ms", "-", "-", "< 50 ms",
                     met ? "met" : "NOT MET", mb("scale_tick_due")});
  }
  ratio_line("rebuild, warm cache (raw: scan)", "rebuild", "raw_scan", "events_per_s", " ev/s", 0, 1e6, ">= 1,000,000/s");
  double peak = 0;
  for (auto& [k, v] : rss.items())
    if (k.rfind("raw", 0) != 0 && k != "gen") peak = std::max(peak, v.get<double>());
  if (!rss.empty()) {
    lines.push_back({"peak RSS, engine phases", human(peak) + " MB", "-", "-", "< 200 MB", peak < 200 ? "met" : "NOT MET", ""});
    report["verdict"]["rss"] = peak < 200;
  }

  std::printf("zorgpad_bench: %s episodes, %s events (%.1f per episode), SQLite %s\n", human(double(o.episodes)).c_str(),
              human(num("import", "events")).c_str(), num("import", "events") / double(o.episodes), sqlite3_libversion());
  if (report.contains("gen"))
    std::printf("input generator alone: %s ev/s (included in both imports)\n", human(num("gen", "events_per_s")).c_str());
  std::printf("%-40s %18s %18s %7s %16s %8s  %s\n", "figure", "engine", "raw SQLite", "ratio", "target", "", "peak RSS engine / raw");
  for (auto& l : lines)
    std::printf("%-40s %18s %18s %7s %16s %8s  %s\n", l.figure.c_str(), l.engine.c_str(), l.raw.c_str(), l.ratio.c_str(),
                l.target.c_str(), l.verdict.c_str(), l.mem.c_str());
  if (o.json_line) std::printf("%s\n", report.dump().c_str());
  return rc;
}
