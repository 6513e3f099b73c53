// Recovery of the durable store (issue 3, leveldb's db/recovery_test.cc in
// spirit): `rebuild` re-derives every projection from the event log, reports
// exactly the episodes that differed and repairs them; the file is private;
// a file that is not a zorgpad store is refused with a Error, untouched.
#include <catch2/catch.hpp>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "persistence/schema.hpp"
#include "persistence/store.hpp"
#include "store_fixture.hpp"
#include "states/episode_json.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {


std::unique_ptr<Store> open_store(const std::string& path, const Clock& clock) {
  return take(open_sqlite_store(path, clock));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

Event ev(const char* text) { return zorgpad::test::ev(json::parse(text)); }

// Three episodes: ep-1 treatment (profile 2), ep-2 treatment (profile 1, a task
// done), ep-3 closed. A tick has fired ep-1's and ep-2's week-3 checkpoints.
void populate(Store& s) {
  for (const char* id : {"ep-1", "ep-2", "ep-3"}) {
    take(s.open(id, std::string("P-") + id,
                ev(R"({"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 50})")));
    take(s.record(id, ev(R"({"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []})"), std::nullopt));
    take(s.record(id, ev(R"({"type": "measurement", "at": "2026-01-05", "nprs": 6, "qbpds": 40})"), std::nullopt));
  }
  take(s.record("ep-1", ev(R"({"type": "stratification", "at": "2026-01-05", "factors": {"leg_pain": "present"}})"), std::nullopt));
  take(s.record("ep-2", ev(R"({"type": "stratification", "at": "2026-01-05", "sbst": [0,0,0,0,0,0,0,0,0], "factors": {}})"), std::nullopt));
  take(s.record("ep-3", ev(R"({"type": "stratification", "at": "2026-01-05", "profile": 1, "factors": {}})"), std::nullopt));
  take(s.record("ep-3", ev(R"({"type": "stop", "at": "2026-01-12", "reason": "goals_met"})"), std::nullopt));
  TaskFilter f;
  f.episode = "ep-2";
  f.kind = TaskKind::gp_report_start;
  take(s.complete_task(take(s.tasks(f)).at(0).id));
  take(s.tick(day("2026-01-27")));
}

// Projection columns and task rows, as text.
std::string projections(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::string out;
  for (const char* sql : {"SELECT id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body FROM episodes ORDER BY id",
                          // without the row id: a deleted task row comes back with a new one
                          "SELECT episode, seq, kind, checkpoint, due, status FROM tasks ORDER BY episode, seq"}) {
    SQLite::Statement q(db, sql);
    while (q.executeStep()) {
      for (int i = 0; i < q.getColumnCount(); ++i) out += (q.getColumn(i).isNull() ? "NULL" : q.getColumn(i).getString()) + "|";
      out += "\n";
    }
  }
  return out;
}

// The lines of `got` that differ from `want`, shortened: empty when equal.
std::string differing_lines(const std::string& got, const std::string& want) {
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) out.push_back(s.substr(start, nl - start));
    return out;
  };
  auto g = split(got), w = split(want);
  std::string out;
  for (size_t i = 0; i < std::max(g.size(), w.size()); ++i) {
    std::string a = i < g.size() ? g[i] : "(none)", b = i < w.size() ? w[i] : "(none)";
    if (a != b) out += "got  " + a.substr(0, 160) + "\nwant " + b.substr(0, 160) + "\n";
  }
  return out;
}

void corrupt(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec(sql);
}

}  // namespace

TEST_CASE("rebuild of an intact store reports no differences and changes nothing", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-27"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  populate(*s);
  const std::string before = projections(path);
  RebuildReport rep = take(s->rebuild());
  CHECK(rep.episodes == 3);
  // 4 each, ep-3's stop, ep-2's task_done (dated 01-27, it fired ep-2's week3
  // first); the tick that fired ep-1's week3 is a row of its own, not a log entry
  CHECK(rep.events == 3 * 4 + 1 + 1);
  CHECK(rep.differences.empty());
  CHECK(differing_lines(projections(path), before) == "");
}

TEST_CASE("rebuild reports exactly the episode whose projection was corrupted and repairs it", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-27"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  populate(*s);
  const std::string intact = projections(path);
  const Episode ep2 = take(s->load("ep-2"));

  SECTION("the state inside the stored episode") {
    corrupt(path, "UPDATE episodes SET body = json_set(body, '$.state', 'closed') WHERE id = 'ep-2'");
  }
  SECTION("the sessions counter inside the stored episode") {
    corrupt(path, "UPDATE episodes SET body = json_set(body, '$.sessions', 7) WHERE id = 'ep-2'");
  }
  SECTION("the state column") {
    corrupt(path, "UPDATE episodes SET state = 'closed' WHERE id = 'ep-2'");
  }
  SECTION("the state column and the stored episode") {
    corrupt(path, "UPDATE episodes SET state = 'closed', body = json_set(body, '$.state', 'closed') WHERE id = 'ep-2'");
  }
  SECTION("the profile and next_due columns") {
    corrupt(path, "UPDATE episodes SET profile = 3, next_due = '2026-01-01' WHERE id = 'ep-2'");
  }
  SECTION("the log position") {
    corrupt(path, "UPDATE episodes SET last_seq = 2 WHERE id = 'ep-2'");
  }
  SECTION("a task row's status") {
    corrupt(path, "UPDATE tasks SET status = 'open' WHERE episode = 'ep-2' AND kind = 'gp_report_start'");
  }
  SECTION("a deleted task row") {
    corrupt(path, "DELETE FROM tasks WHERE episode = 'ep-2' AND kind = 'reevaluation'");
  }
  SECTION("the stored episode unreadable") {
    corrupt(path, "UPDATE episodes SET body = '{\"not\": \"an episode\"}' WHERE id = 'ep-2'");
  }

  RebuildReport rep = take(s->rebuild());
  REQUIRE(rep.differences.size() == 1);
  CHECK_THAT(rep.differences[0], Catch::StartsWith("ep-2: "));
  CHECK(rep.episodes == 3);
  Episode repaired = take(s->load("ep-2"));
  CHECK(repaired.patient == ep2.patient);
  CHECK(episode_state(repaired) == episode_state(ep2));
  CHECK(differing_lines(projections(path), intact) == "");
  CHECK(take(s->rebuild()).differences.empty());
  EpisodeFilter closed;
  closed.state = State::closed;
  EpisodePage page = take(s->list_episodes(closed));
  REQUIRE(page.episodes.size() == 1);
  CHECK(page.episodes[0].id == "ep-3");
}

TEST_CASE("rebuild after a tick fired a checkpoint whose task was then done finds no difference", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-27"));
  auto s = open_store(dir.file("z.db"), clock);
  populate(*s);  // the tick of 2026-01-27 moved ep-1 to reevaluation_due (week3, 2026-01-26)
  Episode before = take(s->load("ep-1"));
  REQUIRE(before.state == State::reevaluation_due);
  TaskFilter f;
  f.episode = "ep-1";
  f.kind = TaskKind::reevaluation;
  auto tasks = take(s->tasks(f));
  REQUIRE(tasks.size() == 2);
  take(s->complete_task(tasks[0].id));  // the week-3 task, done by the practice after it came due
  Episode done = take(s->load("ep-1"));
  CHECK(done.state == State::reevaluation_due);
  RebuildReport rep = take(s->rebuild());
  CHECK(rep.differences.empty());
  CHECK(episode_view(take(s->load("ep-1"))) == episode_view(done));
}

TEST_CASE("rebuild after a tick is stable: timers re-fire up to the stored clock only", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(dir.file("z.db"), clock);
  populate(*s);
  take(s->tick(day("2026-03-01")));
  const Episode ep1 = take(s->load("ep-1"));
  CHECK(ep1.phase == Phase::subacute);
  CHECK(take(s->rebuild()).differences.empty());
  CHECK(take(s->load("ep-1")) == ep1);
}

// Rebuild advances every episode to the store's clock (the latest tick). An
// episode whose events are dated before that clock but were recorded after
// the tick has not been advanced yet: that is the live state, not damage.
TEST_CASE("rebuild finds no difference in an episode recorded, backdated, after the last tick", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-03-01"));
  auto s = open_store(dir.file("z.db"), clock);
  take(s->open("ep-1", "P-1", ev(R"({"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 50})")));
  take(s->tick(day("2026-03-01")));
  // entered today, dated in January: its subacute phase timer (2026-02-12) waits for the next tick
  take(s->open("ep-2", "P-2", ev(R"({"type": "open", "at": "2026-01-10", "onset": "2026-01-01", "complaint": "lbp", "age": 50})")));
  const Episode live = take(s->load("ep-2"));
  RebuildReport rep = take(s->rebuild());
  CHECK(rep.differences.empty());
  CHECK(episode_state(take(s->load("ep-2"))) == episode_state(live));
  // by the next tick at the latest it is at the store's clock
  take(s->tick(day("2026-03-01")));
  CHECK(take(s->load("ep-2")).phase == Phase::subacute);
  CHECK(take(s->rebuild()).differences.empty());
}

// The log is the source of truth: a lost projection row is re-derived from it,
// patient reference included.
TEST_CASE("rebuild recreates a lost projection row from the log", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-27"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  populate(*s);
  const std::string intact = projections(path);
  const Episode ep3 = take(s->load("ep-3"));
  corrupt(path, "DELETE FROM episodes WHERE id = 'ep-3'");
  auto r = s->rebuild();
  if (!r) FAIL("rebuild failed: " << r.error().message);
  RebuildReport rep = r.value();
  REQUIRE(rep.differences.size() == 1);
  CHECK_THAT(rep.differences[0], Catch::StartsWith("ep-3: "));
  Episode back = take(s->load("ep-3"));
  CHECK(back.patient == "P-ep-3");
  CHECK(episode_state(back) == episode_state(ep3));
  CHECK(differing_lines(projections(path), intact) == "");
}

TEST_CASE("the database file is created private (mode 0600)", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("z.db");
  const mode_t old = ::umask(0);  // even with a permissive umask
  auto r = open_sqlite_store(path, clock);
  ::umask(old);
  REQUIRE(r.ok());
  auto& s = r.value();
  take(s->open("ep-1", "P", ev(R"({"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 50})")));
  for (std::string f : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) continue;
    INFO(f);
    CHECK((st.st_mode & 0777) == 0600);
  }
}

TEST_CASE("a file that is not a zorgpad store is refused with a Error and left as it was", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("other.db");

  SECTION("a foreign SQLite database") {
    {
      SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      db.exec("CREATE TABLE patients(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO patients(name) VALUES ('x');");
    }
    const std::string before = read_file(path);
    Expected<std::unique_ptr<Store>> r = open_sqlite_store(path, clock);  // no exception escapes
    REQUIRE(!r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not a zorgpad database"));
    CHECK(read_file(path) == before);
  }
  SECTION("random bytes") {
    std::mt19937 rng(7);
    std::string bytes(8192, '\0');
    for (char& c : bytes) c = char(rng() & 0xff);
    write_file(path, bytes);
    Expected<std::unique_ptr<Store>> r = open_sqlite_store(path, clock);
    REQUIRE(!r.ok());
    CHECK(r.error().message.find('\n') == std::string::npos);
    CHECK(read_file(path) == bytes);
  }
  SECTION("a SQLite header followed by garbage") {
    std::mt19937 rng(8);
    std::string bytes = std::string("SQLite format 3") + '\0';
    while (bytes.size() < 8192) bytes += char(rng() & 0xff);
    write_file(path, bytes);
    Expected<std::unique_ptr<Store>> r = open_sqlite_store(path, clock);
    REQUIRE(!r.ok());
    CHECK(read_file(path) == bytes);
  }
  SECTION("a zorgpad store of a newer schema version") {
    {
      auto s = open_store(path, clock);
    }
    {
      SQLite::Database db(path, SQLite::OPEN_READWRITE);
      db.exec("PRAGMA user_version = " + std::to_string(current_schema_version() + 1));
    }
    Expected<std::unique_ptr<Store>> r = open_sqlite_store(path, clock);
    REQUIRE(!r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("newer"));
  }
  SECTION("a folder") {
    std::filesystem::create_directory(path);
    Expected<std::unique_ptr<Store>> r = open_sqlite_store(path, clock);
    REQUIRE(!r.ok());
  }
}

TEST_CASE("an empty file becomes a new store", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("empty.db");
  write_file(path, "");
  auto s = open_store(path, clock);
  CHECK(take(s->episode_count()) == 0);
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("PRAGMA application_id").getInt() == kApplicationId);
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == current_schema_version());
}

// Rebuild splits the episode id range over the cores (each part read by its
// own connection); the parts must together find and repair exactly what one
// pass does, in the same order.
TEST_CASE("rebuild in parallel parts reports and repairs the same differences as one pass", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-27"));
  const std::string path = dir.file("z.db");
  {
    auto s = open_store(path, clock);
    for (int i = 0; i < 40; ++i) {
      std::string id = "ep-" + std::to_string(100 + i);
      take(s->open(id, "P-" + std::to_string(i),
                   ev(R"({"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 50})")));
      take(s->record(id, ev(R"({"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []})"), std::nullopt));
      take(s->record(id, ev(R"({"type": "measurement", "at": "2026-01-05", "nprs": 6, "qbpds": 40})"), std::nullopt));
      if (i % 2) take(s->record(id, ev(R"({"type": "stratification", "at": "2026-01-05", "profile": 2, "factors": {"leg_pain": "present"}})"), std::nullopt));
    }
    take(s->tick(day("2026-01-27")));
  }
  const std::string intact = projections(path);
  corrupt(path, "UPDATE episodes SET state = 'closed' WHERE id = 'ep-101'");
  corrupt(path, "UPDATE episodes SET patient = 'someone else' WHERE id = 'ep-117'");
  corrupt(path, "DELETE FROM tasks WHERE episode = 'ep-125'");
  corrupt(path, "UPDATE episodes SET body = json_set(body, '$.sessions', 7) WHERE id = 'ep-139'");
  const std::string copy = dir.file("copy.db");
  std::filesystem::copy_file(path, copy);

  auto rebuild_with = [&](const std::string& file, int parts) {
    StoreOptions opt;
    opt.rebuild_parts = parts;
    auto s = take(open_sqlite_store(file, clock, opt));
    return take(s->rebuild());
  };
  RebuildReport one = rebuild_with(copy, 1);
  RebuildReport three = rebuild_with(path, 3);
  CHECK(three.episodes == 40);
  CHECK(three.events == one.events);
  CHECK(three.differences == one.differences);
  REQUIRE(three.differences.size() == 4);
  CHECK_THAT(three.differences[0], Catch::StartsWith("ep-101: "));
  CHECK(three.differences[1] == "ep-117: patient");
  CHECK(three.differences[2] == "ep-125: tasks");
  CHECK_THAT(three.differences[3], Catch::StartsWith("ep-139: "));
  CHECK(differing_lines(projections(path), intact) == "");
  CHECK(projections(copy) == projections(path));
  CHECK(rebuild_with(path, 3).differences.empty());
}

// A tick is one command, so one transaction: when one due episode cannot be
// read, no timer of any episode fires and no tick is recorded, even when the
// tick has already gone through a first batch (2,000) of due episodes.
TEST_CASE("a tick that fails on one episode fires no timer in any episode", "[store][recovery]") {
  TempDir dir;
  ManualClock clock(day("2026-01-27"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  std::ostringstream lines;
  const int n = 2001;
  for (int i = 0; i < n; ++i) {
    std::string ep = "\"episode\": \"ep-" + std::to_string(i) + "\", ";
    lines << "{" << ep << R"("event": {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 50}})" << "\n";
    lines << "{" << ep << R"("event": {"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []}})" << "\n";
    // week-3 checkpoints on 2026-01-26, the last episode's on 2026-01-27: a tick reaches it last
    lines << "{" << ep << R"("event": {"type": "stratification", "at": ")" << (i == n - 1 ? "2026-01-06" : "2026-01-05")
          << R"(", "profile": 1, "factors": {}}})" << "\n";
  }
  std::istringstream in(lines.str());
  REQUIRE(take(s->import(in, 10000)).episodes_opened == n);
  s.reset();
  corrupt(path, "UPDATE episodes SET body = 'not an episode' WHERE id = 'ep-" + std::to_string(n - 1) + "'");
  const std::string before = projections(path);
  s = open_store(path, clock);
  auto r = s->tick(day("2026-02-01"));
  REQUIRE(!r.ok());
  CHECK(r.error().kind == ErrorKind::store);
  CHECK_THAT(r.error().message, Catch::Contains("ep-" + std::to_string(n - 1)));
  s.reset();
  CHECK(differing_lines(projections(path), before) == "");
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT count(*) FROM ticks").getInt() == 0);
  CHECK(db.execAndGet("SELECT count(*) FROM episodes WHERE state = 'reevaluation_due'").getInt() == 0);
}
