// zorgpad_pg_bench: what the engine costs above PostgreSQL itself (issue 13).
// Each figure is measured next to a raw PostgreSQL baseline in the same run:
//   import   Store::import in batches, one practice     vs  plain batched
//            multi-row INSERTs of the same event rows (same sizes) into a
//            table with the events table's keys
//   workers  1, 2 and 4 threads, each a worker with its own connection,
//            firing every due timer of --practices practices (tick_batch over
//            the practices in a random order)  vs  the same number of threads
//            running a bare claim-and-delete loop (SKIP LOCKED, batches of
//            --claim) over as many timer rows; duplicates and lost timers
//            counted for both
//   record   one durable Store::record per commit, p50/p99  vs  one raw
//            single-row INSERT per commit (synchronous_commit on)
//   scale    --scale-due due episodes spread over 100 practices among
//            --scale-episodes others whose timers are not due: time for one
//            worker to fire them, next to the same with 1 % of the others
//            (the others are filler rows in episodes and timers, inserted by
//            SQL: their bodies are never read)
// It needs a database with the schema (`zorgpad init` as the owner): --url
// is an application role's URL (row-level security applies), --owner-url the
// owner's (the raw tables and the filler rows).
//
// Usage: zorgpad_pg_bench --url URL --owner-url URL [--episodes N] [--practices N]
//          [--batch N] [--claim N] [--records N] [--scale-episodes N] [--scale-due N]
//          [--phases import,workers,record,scale] [--json]
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <istream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "bench/generator.hpp"
#include "pathway/clock.hpp"
#include "pathway/event.hpp"
#include "persistence/store.hpp"

namespace {

using nlohmann::json;

struct Options {
  std::string url, owner_url;
  int64_t episodes = 20000;  // import and record; workers: spread over the practices
  int practices = 50;
  int batch = 5000, claim = 200, records = 500;
  int64_t scale_episodes = 1000000;
  int scale_due = 1000;
  std::vector<std::string> phases{"import", "workers", "record", "scale"};
  bool json_line = false;
  uint64_t seed = 42;
};

zorgpad::ManualClock& bench_clock() {
  static zorgpad::ManualClock clock{Date{kToday}};
  return clock;
}

std::unique_ptr<zorgpad::Store> open(const Options& o, const std::string& practice) {
  auto r = zorgpad::open_pg_store(o.url, practice, bench_clock());
  if (!r) throw std::runtime_error("open: " + r.message());
  return std::move(r.value());
}

template <typename T>
T ok(zorgpad::Expected<T>&& r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.message());
  return std::move(r.value());
}

std::string human(double v, int decimals = 0) {
  if (std::isnan(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  std::string s = b, out;
  size_t end = std::min(s.find('.'), s.size());
  for (size_t i = 0; i < end; ++i) {
    out += s[i];
    if ((end - i - 1) % 3 == 0 && i + 1 < end) out += ',';
  }
  return out + s.substr(end);
}

json latency(std::vector<double> ms, double seconds) {
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, size_t(p * double(ms.size())))]; };
  return {{"commits", ms.size()}, {"seconds", seconds}, {"per_s", double(ms.size()) / seconds}, {"p50_ms", pct(0.5)}, {"p99_ms", pct(0.99)}};
}

// Imports `n` generated episodes into `practice`; returns events recorded.
int64_t import_practice(const Options& o, const std::string& practice, int64_t n, uint64_t seed) {
  auto store = open(o, practice);
  Generator g(n, 1, seed);
  GeneratedInput buf(g);
  std::istream in(&buf);
  auto rep = ok(store->import(in, o.batch), "import");
  if (rep.recorded != buf.events) throw std::runtime_error(practice + ": import recorded " + std::to_string(rep.recorded) + " of " + std::to_string(buf.events));
  return rep.recorded;
}

// ---- import --------------------------------------------------------------------------

json phase_raw_import(const Options& o) {
  pqxx::connection c(o.owner_url);
  {
    pqxx::work tx(c);
    tx.exec("DROP TABLE IF EXISTS bench_raw_events; CREATE TABLE bench_raw_events(practice text NOT NULL, episode text COLLATE \"C\" NOT NULL, "
            "seq bigint NOT NULL, type text NOT NULL, at date NOT NULL, body text NOT NULL, recorded_at bigint NOT NULL, event_id text, "
            "PRIMARY KEY (practice, episode, seq)); CREATE UNIQUE INDEX ON bench_raw_events(practice, event_id) WHERE event_id IS NOT NULL");
    tx.commit();
  }
  Generator g(o.episodes, 1, o.seed);
  GenEpisode ep;
  const int64_t recorded_at = bench_clock().unix_seconds();
  int64_t events = 0;
  std::string sql;
  int rows = 0;
  auto t0 = Clock::now();
  auto flush = [&] {
    if (rows == 0) return;
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
    sql.clear();
    rows = 0;
  };
  for (int64_t i = 0; i < g.episodes(); ++i) {
    g.episode(i, ep);
    for (size_t k = 0; k < ep.n; ++k) {
      const GenEvent& e = ep.events[k];
      sql += rows == 0 ? "INSERT INTO bench_raw_events VALUES " : ",";
      sql += "('raw'," + c.quote(ep.id) + "," + std::to_string(e.seq) + "," + c.quote(std::string(e.type)) + ",'" + g.iso(e.day) + "'," +
             c.quote(e.body) + "," + std::to_string(recorded_at) + "," + (e.id.empty() ? std::string("NULL") : c.quote(e.id)) + ")";
      ++events;
      if (++rows >= o.batch) flush();
    }
  }
  flush();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return {{"events", events}, {"seconds", s}, {"events_per_s", events / s}};
}

json phase_import(const Options& o) {
  auto t0 = Clock::now();
  int64_t events = import_practice(o, "bench-import", o.episodes, o.seed);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return {{"events", events}, {"seconds", s}, {"events_per_s", events / s}};
}

// ---- workers ---------------------------------------------------------------------------

const Date kFireAt{kToday + 45};  // every pending timer of the generated episodes is due by then

json run_workers(const Options& o, const std::string& prefix, int threads) {
  std::vector<std::string> practices;
  for (int p = 0; p < o.practices; ++p) practices.push_back(prefix + "-" + std::to_string(p));
  std::atomic<int64_t> timers{0}, episodes{0};
  std::mutex m;
  std::string error;
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        auto store = open(o, "");
        std::vector<std::string> order = practices;
        std::shuffle(order.begin(), order.end(), std::mt19937(unsigned(t) * 7919u + 1u));
        for (const auto& p : order) {
          if (auto s = store->use_practice(p); !s) throw std::runtime_error(s.message());
          for (;;) {
            auto r = ok(store->tick_batch(kFireAt, o.claim), "tick_batch");
            timers += r.timers;
            episodes += r.episodes;
            if (r.episodes == 0) break;
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(m);
        error = e.what();
      }
    });
  for (auto& th : pool) th.join();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!error.empty()) throw std::runtime_error(error);
  // Lost: a due timer left. (A duplicate would be a second task row for one
  // (episode, seq), which the key refuses, or more timers than one worker fired.)
  int64_t left = 0;
  pqxx::connection c(o.url);
  for (const auto& p : practices) {
    pqxx::work tx(c);
    tx.exec_params("SELECT set_config('zorgpad.practice', $1, true)", p);
    left += tx.exec_params("SELECT count(*) FROM zorgpad.timers WHERE practice = $1 AND due <= $2::date", p, kFireAt.iso())[0][0].as<int64_t>();
    tx.commit();
  }
  return {{"threads", threads}, {"timers", timers.load()}, {"episodes", episodes.load()}, {"seconds", s},
          {"timers_per_s", double(timers) / s}, {"episodes_per_s", double(episodes) / s}, {"left_due", left}};
}

json run_raw_claim(const Options& o, int threads, int64_t rows) {
  {
    pqxx::connection c(o.owner_url);
    pqxx::work tx(c);
    tx.exec("DROP TABLE IF EXISTS bench_raw_timers; CREATE TABLE bench_raw_timers(practice text NOT NULL, episode text COLLATE \"C\" NOT NULL, "
            "due date NOT NULL, PRIMARY KEY (practice, episode)); CREATE INDEX ON bench_raw_timers(practice, due)");
    tx.exec_params("INSERT INTO bench_raw_timers SELECT 'p-' || (i % $2), 'ep-' || i, $3::date FROM generate_series(1, $1) i", rows,
                   o.practices, Date{kToday + 1}.iso());
    tx.exec("ANALYZE bench_raw_timers");
    tx.commit();
  }
  std::atomic<int64_t> claimed{0};
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      pqxx::connection c(o.owner_url);
      c.prepare("claim",
                "DELETE FROM bench_raw_timers WHERE (practice, episode) IN (SELECT practice, episode FROM bench_raw_timers "
                "WHERE due <= $1::date ORDER BY due LIMIT $2 FOR UPDATE SKIP LOCKED)");
      for (;;) {
        pqxx::work tx(c);
        auto r = tx.exec_prepared("claim", kFireAt.iso(), o.claim);
        tx.commit();
        claimed += int64_t(r.affected_rows());
        if (r.affected_rows() == 0) break;
      }
    });
  for (auto& th : pool) th.join();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return {{"threads", threads}, {"rows", rows}, {"claimed", claimed.load()}, {"seconds", s}, {"rows_per_s", double(claimed) / s},
          {"duplicates", std::max<int64_t>(0, claimed - rows)}, {"lost", std::max<int64_t>(0, rows - claimed)}};
}

// The least a fire must do: claim a due row and write the episode's new
// state back. Rows of an episode's size (`body_bytes`, the average stored
// body), each claimed (SKIP LOCKED, batches of --claim) and rewritten with a
// body of the same size and its next due date, committed per batch.
json run_raw_fire(const Options& o, int threads, int64_t rows, int64_t body_bytes) {
  {
    pqxx::connection c(o.owner_url);
    pqxx::work tx(c);
    tx.exec("DROP TABLE IF EXISTS bench_raw_eps; CREATE TABLE bench_raw_eps(practice text NOT NULL, episode text COLLATE \"C\" NOT NULL, "
            "due date NOT NULL, body text NOT NULL, PRIMARY KEY (practice, episode)); CREATE INDEX ON bench_raw_eps(practice, due)");
    tx.exec_params("INSERT INTO bench_raw_eps SELECT 'p-' || (i % $2), 'ep-' || i, $3::date, "
                   "left(repeat(md5(i::text), ($4 / 32) + 1), $4) FROM generate_series(1, $1) i",
                   rows, o.practices, Date{kToday + 1}.iso(), body_bytes);
    tx.exec("ANALYZE bench_raw_eps");
    tx.commit();
  }
  std::atomic<int64_t> fired{0};
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      pqxx::connection c(o.owner_url);
      c.prepare("fire",
                "WITH c AS (SELECT practice, episode FROM bench_raw_eps WHERE due <= $1::date ORDER BY due LIMIT $2 FOR UPDATE SKIP LOCKED) "
                "UPDATE bench_raw_eps r SET due = $3::date, body = left(md5(r.episode) || r.body, length(r.body)) "
                "FROM c WHERE r.practice = c.practice AND r.episode = c.episode");
      for (;;) {
        pqxx::work tx(c);
        auto r = tx.exec_prepared("fire", kFireAt.iso(), o.claim, Date{kToday + 400}.iso());
        tx.commit();
        fired += int64_t(r.affected_rows());
        if (r.affected_rows() == 0) break;
      }
    });
  for (auto& th : pool) th.join();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return {{"threads", threads}, {"rows", rows}, {"fired", fired.load()}, {"body_bytes", body_bytes}, {"seconds", s},
          {"rows_per_s", double(fired) / s}};
}

// The average size of the stored episode bodies of the practices `prefix`-*.
int64_t average_body(const Options& o, const std::string& prefix) {
  pqxx::connection c(o.url);
  pqxx::work tx(c);
  tx.exec_params("SELECT set_config('zorgpad.practice', $1, true)", prefix + "-0");
  auto r = tx.exec_params("SELECT COALESCE(avg(length(body)), 0)::bigint FROM zorgpad.episodes WHERE practice = $1", prefix + "-0");
  return r[0][0].as<int64_t>();
}

// ---- record ------------------------------------------------------------------------------

json phase_record(const Options& o) {
  auto store = open(o, "bench-import");
  Generator g(o.episodes, 1, o.seed);
  std::vector<double> ms;
  int64_t a = g.actives(), n = std::min<int64_t>(o.records, a);
  GenEpisode ep;
  auto t0 = Clock::now();
  for (int64_t k = 0; k < n; ++k) {
    g.episode(Generator::active_index((k * 7919 + 13) % a), ep);
    auto ev = ok(zorgpad::parse_event_text("{\"at\":\"" + Date{kToday}.iso() + "\",\"id\":\"rec-" + ep.id + "\",\"type\":\"session\"}"), "event");
    auto t = Clock::now();
    ok(store->record(ep.id, ev, std::nullopt), "record");
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return latency(ms, std::chrono::duration<double>(Clock::now() - t0).count());
}

json phase_raw_record(const Options& o) {
  pqxx::connection c(o.owner_url);
  c.prepare("ins", "INSERT INTO bench_raw_events VALUES ('rec', $1, 1, 'session', $2::date, $3, 0, $1)");
  std::vector<double> ms;
  auto t0 = Clock::now();
  for (int k = 0; k < o.records; ++k) {
    std::string id = "raw-rec-" + std::to_string(k);
    auto t = Clock::now();
    pqxx::work tx(c);
    tx.exec_prepared("ins", id, Date{kToday}.iso(), "{\"at\":\"" + Date{kToday}.iso() + "\",\"id\":\"" + id + "\",\"type\":\"session\"}");
    tx.commit();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  return latency(ms, std::chrono::duration<double>(Clock::now() - t0).count());
}

// ---- scale ------------------------------------------------------------------------------

// Filler: `n` episodes over 100 practices whose timers are far from due.
void add_filler(const Options& o, const std::string& prefix, int64_t n) {
  pqxx::connection c(o.owner_url);
  for (int p = 0; p < 100; ++p) {
    pqxx::work tx(c);
    const std::string practice = prefix + "-" + std::to_string(p);
    tx.exec_params("SELECT set_config('zorgpad.practice', $1, true)", practice);
    tx.exec_params("INSERT INTO zorgpad.practices VALUES ($1) ON CONFLICT DO NOTHING", practice);
    const int64_t per = n / 100;
    tx.exec_params(
        "INSERT INTO zorgpad.episodes(practice, id, patient, state, phase, last_seq, next_due, body, last_event, terminal) "
        "SELECT $1, 'fill-' || i, 'P' || i, 'in_treatment', 'chronic', 5, $3::date, '{}', $4::date, false FROM generate_series(1, $2) i",
        practice, per, Date{kToday + 400}.iso(), Date{kToday - 10}.iso());
    tx.exec_params("INSERT INTO zorgpad.timers(practice, episode, due) SELECT $1, 'fill-' || i, $3::date FROM generate_series(1, $2) i",
                   practice, per, Date{kToday + 400}.iso());
    tx.commit();
  }
  pqxx::nontransaction a(c);
  a.exec("ANALYZE zorgpad.episodes; ANALYZE zorgpad.timers");
}

json phase_scale(const Options& o, const std::string& prefix, int64_t others) {
  // The due ones: real episodes, scale_due/100 per practice.
  const int64_t per = std::max<int64_t>(1, o.scale_due / 100);
  for (int p = 0; p < 100; ++p) {
    // Generator(7*per): `per` active episodes (i % 7 == 3), the rest closed.
    import_practice(o, prefix + "-" + std::to_string(p), per * 7, o.seed + uint64_t(p));
  }
  add_filler(o, prefix, others);
  Options one = o;
  one.practices = 100;
  auto r = run_workers(one, prefix, 1);
  r["others"] = others;
  return r;
}

int usage(const char* msg) {
  if (msg) std::cerr << "zorgpad_pg_bench: " << msg << "\n";
  std::cerr << "usage: zorgpad_pg_bench --url URL --owner-url URL [--episodes N] [--practices N] [--batch N] [--claim N]\n"
               "         [--records N] [--scale-episodes N] [--scale-due N] [--phases import,workers,record,scale] [--json]\n";
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
      if (a == "--url") o.url = value();
      else if (a == "--owner-url") o.owner_url = value();
      else if (a == "--episodes") o.episodes = std::stoll(value());
      else if (a == "--practices") o.practices = std::stoi(value());
      else if (a == "--batch") o.batch = std::stoi(value());
      else if (a == "--claim") o.claim = std::stoi(value());
      else if (a == "--records") o.records = std::stoi(value());
      else if (a == "--scale-episodes") o.scale_episodes = std::stoll(value());
      else if (a == "--scale-due") o.scale_due = std::stoi(value());
      else if (a == "--json") o.json_line = true;
      else if (a == "--phases") {
        o.phases.clear();
        std::stringstream ss(value());
        for (std::string p; std::getline(ss, p, ',');) o.phases.push_back(p);
      } else return usage(("unknown option " + a).c_str());
    } catch (const std::exception& e) {
      return usage(e.what());
    }
  }
  if (o.url.empty() || o.owner_url.empty()) return usage("--url and --owner-url are needed");
  auto has = [&](const char* p) { return std::find(o.phases.begin(), o.phases.end(), p) != o.phases.end(); };
  json report = {{"episodes", o.episodes}, {"practices", o.practices}, {"batch", o.batch}, {"claim", o.claim}};
  try {
    {
      pqxx::connection c(o.url);
      report["server"] = c.server_version();
    }
    if (has("import") || has("record")) {
      std::cerr << "pg_bench: import " << o.episodes << " episodes\n";
      report["raw_import"] = phase_raw_import(o);
      report["import"] = phase_import(o);
    }
    if (has("record")) {
      std::cerr << "pg_bench: record\n";
      report["raw_record"] = phase_raw_record(o);
      report["record"] = phase_record(o);
    }
    if (has("workers")) {
      for (int threads : {1, 2, 4}) {
        const std::string prefix = "w" + std::to_string(threads);
        std::cerr << "pg_bench: workers x" << threads << ": importing " << o.practices << " practices\n";
        // Two importers at a time (one per core).
        std::vector<std::thread> imp;
        std::atomic<int> next{0};
        std::string error;
        std::mutex m;
        for (int t = 0; t < 2; ++t)
          imp.emplace_back([&] {
            try {
              for (int p; (p = next++) < o.practices;) import_practice(o, prefix + "-" + std::to_string(p), o.episodes / o.practices, o.seed + uint64_t(p));
            } catch (const std::exception& e) {
              std::lock_guard<std::mutex> lock(m);
              error = e.what();
            }
          });
        for (auto& t : imp) t.join();
        if (!error.empty()) throw std::runtime_error(error);
        auto r = run_workers(o, prefix, threads);
        report["workers"].push_back(r);
        report["raw_claim"].push_back(run_raw_claim(o, threads, r["episodes"].get<int64_t>()));
        report["raw_fire"].push_back(run_raw_fire(o, threads, r["episodes"].get<int64_t>(), average_body(o, prefix)));
      }
    }
    if (has("scale")) {
      int64_t small = std::max<int64_t>(100, o.scale_episodes / 100);
      std::cerr << "pg_bench: scale: " << small << " others\n";
      report["scale_small"] = phase_scale(o, "s1", small);
      std::cerr << "pg_bench: scale: " << o.scale_episodes << " others\n";
      report["scale_large"] = phase_scale(o, "s2", o.scale_episodes);
    }
  } catch (const std::exception& e) {
    std::cerr << "zorgpad_pg_bench: " << e.what() << "\n";
    if (o.json_line) std::printf("%s\n", report.dump().c_str());
    return 1;
  }
  auto get = [&](const json& j, const char* k) { return j.contains(k) ? j[k].get<double>() : NAN; };
  std::printf("zorgpad_pg_bench: PostgreSQL %d, %s episodes\n", report.value("server", 0), human(double(o.episodes)).c_str());
  std::printf("%-46s %16s %16s %7s %10s\n", "figure", "engine", "raw PostgreSQL", "ratio", "target");
  if (report.contains("import")) {
    double e = get(report["import"], "events_per_s"), r = get(report["raw_import"], "events_per_s");
    std::printf("%-46s %16s %16s %7s %10s\n", ("import, batches of " + std::to_string(o.batch)).c_str(), (human(e) + " ev/s").c_str(),
                (human(r) + " ev/s").c_str(), (human(e / r, 2) + "x").c_str(), ">= 0.5x");
  }
  if (report.contains("workers"))
    for (size_t i = 0; i < report["workers"].size(); ++i) {
      const json& w = report["workers"][i];
      const json& r = report["raw_claim"][i];
      double e = get(w, "episodes_per_s"), raw = get(r, "rows_per_s");
      std::printf("%-46s %16s %16s %7s %10s\n",
                  ("timers, " + std::to_string(w["threads"].get<int>()) + " worker(s): episodes fired/s (" + human(get(w, "timers_per_s")) +
                   " timers/s)")
                      .c_str(),
                  human(e).c_str(), (human(raw) + " rows/s").c_str(), (human(e / raw, 2) + "x").c_str(), ">= 0.5x");
      std::printf("%-46s %16s %16s\n", "   left due / duplicates+lost (raw)", human(get(w, "left_due")).c_str(),
                  human(get(r, "duplicates") + get(r, "lost")).c_str());
      if (report.contains("raw_fire")) {
        const json& f = report["raw_fire"][i];
        double rf = get(f, "rows_per_s");
        std::printf("%-46s %16s %16s %7s\n", ("   vs claim + rewrite a " + human(get(f, "body_bytes")) + "-byte row").c_str(), "",
                    (human(rf) + " rows/s").c_str(), (human(e / rf, 2) + "x").c_str());
      }
    }
  if (report.contains("record")) {
    for (const char* k : {"p50_ms", "p99_ms"}) {
      double e = get(report["record"], k), r = get(report["raw_record"], k);
      std::printf("%-46s %16s %16s %7s %10s\n", (std::string("durable record, ") + k).c_str(), (human(e, 2) + " ms").c_str(),
                  (human(r, 2) + " ms").c_str(), (human(r / e, 2) + "x").c_str(), "-");
    }
  }
  if (report.contains("scale_large")) {
    for (const char* k : {"scale_small", "scale_large"}) {
      const json& s = report[k];
      std::printf("%-46s %16s\n",
                  (human(get(s, "episodes")) + " due among " + human(get(s, "others")) + " others (100 practices)").c_str(),
                  (human(get(s, "seconds") * 1000, 1) + " ms").c_str());
    }
  }
  if (o.json_line) std::printf("%s\n", report.dump().c_str());
  return 0;
}
