// The durable store's commands (persistence/store.hpp, issue 3): each one
// commits completely or leaves the store as it was, event ids make commands
// idempotent, --expect-seq is an optimistic lock, and several Store objects on
// one file (several processes) see each other's work.
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "persistence/store.hpp"
#include "store_fixture.hpp"
#include "states/episode_json.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {


template <typename T>
Error error_of(Expected<T> r) {
  if (r.ok()) FAIL("the command succeeded, an error was expected");
  return r.error();
}

std::unique_ptr<Store> open_store(const std::string& path, const Clock& clock) {
  return take(open_sqlite_store(path, clock));
}

json open_event(const char* at = "2026-01-05", const char* onset = "2026-01-01") {
  return {{"type", "open"}, {"at", at}, {"onset", onset}, {"complaint", "lbp"}, {"age", 45}, {"gp", "G1"}, {"therapist", "T1"}};
}
const json kScreening = json::parse(R"({"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []})");
const json kMeasurement = json::parse(R"({"type": "measurement", "at": "2026-01-05", "nprs": 6, "qbpds": 40})");
const json kProfile2 = json::parse(R"({"type": "stratification", "at": "2026-01-05", "factors": {"leg_pain": "present"}})");

json session(const char* at) { return {{"type", "session"}, {"at", at}}; }

// ep in treatment, profile 2: log open, screening, measurement, stratification.
void treated(Store& s, const std::string& ep, const std::string& patient = "P1") {
  take(s.open(ep, patient, ev(open_event())));
  take(s.record(ep, ev(kScreening), std::nullopt));
  take(s.record(ep, ev(kMeasurement), std::nullopt));
  take(s.record(ep, ev(kProfile2), std::nullopt));
}

// Every row of every table, as text: "the database content".
std::string content(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  std::string out;
  for (const char* table : {"episodes", "events", "tasks", "meta", "ticks", "episode_counts"}) {
    SQLite::Statement q(db, std::string("SELECT * FROM ") + table + " ORDER BY 1, 2");
    while (q.executeStep()) {
      out += table;
      for (int i = 0; i < q.getColumnCount(); ++i) out += "|" + (q.getColumn(i).isNull() ? "NULL" : q.getColumn(i).getString());
      out += "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("an opened episode is stored in intake with its open event as log entry 1", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(dir.file("z.db"), clock);
  Recorded r = take(s->open("ep-1", "P1", ev(open_event())));
  CHECK(r.episode == "ep-1");
  CHECK(r.seq == 1);
  CHECK_FALSE(r.duplicate);
  Episode ep = take(s->load("ep-1"));
  CHECK(ep.state == State::intake);
  CHECK(ep.patient == "P1");
  CHECK(ep.gp == "G1");
  auto log = take(s->events("ep-1"));
  REQUIRE(log.size() == 1);
  CHECK(log[0].seq == 1);
  CHECK(log[0].type == "open");
  CHECK(log[0].at == day("2026-01-05"));
  nlohmann::json logged = open_event();
  logged["patient"] = "P1";  // the log keeps the patient reference for rebuild
  logged["revision"] = kCurrentRevision;  // and the pathway revision the episode follows
  REQUIRE(log[0].event);
  CHECK(event_json(*log[0].event) == logged);
  CHECK(take(s->episode_count()) == 1);
}

TEST_CASE("open without an id generates distinct ep-N ids", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(dir.file("z.db"), clock);
  take(s->open("ep-2", "P1", ev(open_event())));  // a taken id is skipped
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    std::string id = take(s->open("", "P1", ev(open_event()))).episode;
    CHECK_THAT(id, Catch::Matches("ep-[0-9]+"));
    CHECK(id != "ep-2");
    ids.insert(id);
    CHECK(take(s->load(id)).id == id);
  }
  CHECK(ids.size() == 3);
  CHECK(take(s->episode_count()) == 4);
  CHECK(error_of(s->open("ep-3", "P1", ev(open_event()))).kind == ErrorKind::bad_input);
  CHECK(error_of(s->open(std::string(101, 'e'), "P1", ev(open_event()))).kind == ErrorKind::bad_input);
}

TEST_CASE("record appends one log entry and updates the projection and its tasks together", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(dir.file("z.db"), clock);
  treated(*s, "ep-1");
  Episode ep = take(s->load("ep-1"));
  CHECK(ep.state == State::treatment);
  CHECK(ep.profile == 2);
  auto log = take(s->events("ep-1"));
  REQUIRE(log.size() == 4);
  CHECK(log[3].type == "stratification");
  CHECK(log[3].seq == 4);
  TaskFilter f;
  f.episode = "ep-1";
  auto rows = take(s->tasks(f));
  REQUIRE(rows.size() == ep.tasks.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].episode == "ep-1");
    CHECK(rows[i].task.kind == ep.tasks[i].kind);
    CHECK(rows[i].task.due == ep.tasks[i].due);
    CHECK(rows[i].task.checkpoint == ep.tasks[i].checkpoint);
  }
  Recorded r = take(s->record("ep-1", ev(session("2026-01-06")), std::nullopt));
  CHECK(r.seq == 5);
  CHECK(take(s->load("ep-1")).sessions == 1);
}

TEST_CASE("a rejected event names the episode and the event and changes nothing", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  treated(*s, "ep-1");
  const std::string before = content(path);
  // Events the pathway refuses (the engine), and events that do not parse
  // (the engine reads them in an import; the CLI names them the same way).
  struct Case { const char* name; json event; const char* says; };
  std::vector<Case> refused = {
      {"not allowed", json::parse(R"({"type": "gp_consult", "at": "2026-01-06", "outcome": "refer"})"), "treatment"},
      {"backwards", session("2026-01-04"), "2026-01-04"},
  };
  std::vector<Case> unreadable = {
      {"out of range", json::parse(R"({"type": "measurement", "at": "2026-01-06", "nprs": 11})"), "'nprs'"},
      {"unknown field", json::parse(R"({"type": "session", "at": "2026-01-06", "x": 1})"), "'x'"},
      {"not an object", json::array({1, 2}), "object"},
  };
  for (const auto& c : refused) {
    SECTION(c.name) {
      Error e = error_of(s->record("ep-1", ev(c.event), std::nullopt));
      CHECK(e.kind == ErrorKind::bad_input);
      CHECK_THAT(e.message, Catch::Contains("ep-1 event 4"));
      CHECK_THAT(e.message, Catch::Contains(c.says));
      CHECK(e.message.find('\n') == std::string::npos);
      CHECK(content(path) == before);
    }
  }
  for (const auto& c : unreadable) {
    SECTION(c.name) {
      std::istringstream in(json{{"episode", "ep-1"}, {"event", c.event}}.dump() + "\n");
      Error e = error_of(s->import(in, 10));
      CHECK(e.kind == ErrorKind::bad_input);
      CHECK_THAT(e.message, Catch::Contains("ep-1 event 4"));
      CHECK_THAT(e.message, Catch::Contains(c.says));
      CHECK(e.message.find('\n') == std::string::npos);
      CHECK(content(path) == before);
    }
  }
  SECTION("unknown episode") {
    Error e = error_of(s->record("ep-9", ev(session("2026-01-06")), std::nullopt));
    CHECK(e.kind == ErrorKind::not_found);  // 404 over HTTP, exit 2 from the CLI
    CHECK_THAT(e.message, Catch::Contains("ep-9"));
    CHECK(content(path) == before);
  }
  SECTION("a bad open event") {
    json open = open_event();
    open["complaint"] = "neck";
    std::istringstream in(json{{"episode", "ep-2"}, {"patient", "P2"}, {"event", open}}.dump() + "\n");
    Error e = error_of(s->import(in, 10));
    CHECK(e.kind == ErrorKind::bad_input);
    CHECK_THAT(e.message, Catch::Contains("ep-2 event 0"));
    CHECK(content(path) == before);
  }
}

TEST_CASE("an event id is recorded once and repeating it reports the first result and changes nothing", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  json open = open_event();
  open["id"] = "o-1";
  CHECK(take(s->open("ep-1", "P1", ev(open))).seq == 1);
  json scr = kScreening;
  scr["id"] = "s-1";
  CHECK(take(s->record("ep-1", ev(scr), std::nullopt)).seq == 2);
  const std::string before = content(path);

  Recorded again = take(s->record("ep-1", ev(scr), std::nullopt));
  CHECK(again.episode == "ep-1");
  CHECK(again.seq == 2);
  CHECK(again.duplicate);
  CHECK(content(path) == before);
  json other = session("2026-01-07");
  other["id"] = "s-1";  // same id, other body, other episode: still the first result
  take(s->open("ep-2", "P2", ev(open_event())));
  const std::string with_ep2 = content(path);
  Recorded dup = take(s->record("ep-2", ev(other), std::nullopt));
  CHECK(dup.episode == "ep-1");
  CHECK(dup.seq == 2);
  CHECK(dup.duplicate);
  CHECK(content(path) == with_ep2);

  Recorded reopened = take(s->open("ep-3", "P3", ev(open)));
  CHECK(reopened.episode == "ep-1");
  CHECK(reopened.seq == 1);
  CHECK(reopened.duplicate);
  CHECK(error_of(s->load("ep-3")).kind == ErrorKind::bad_input);
  CHECK(take(s->events("ep-1")).size() == 2);
}

TEST_CASE("expect_seq accepts the log's end and rejects a stale or future one", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  treated(*s, "ep-1");
  const std::string before = content(path);
  for (int64_t n : {0, 3, 5, 100}) {
    Error e = error_of(s->record("ep-1", ev(session("2026-01-06")), n));
    CHECK(e.kind == ErrorKind::stale);  // 412 over HTTP, exit 2 from the CLI
    CHECK_THAT(e.message, Catch::Contains("ep-1 event 4"));
  }
  CHECK(content(path) == before);
  CHECK(take(s->record("ep-1", ev(session("2026-01-06")), int64_t(4))).seq == 5);
  CHECK(error_of(s->record("ep-1", ev(session("2026-01-06")), int64_t(4))).kind == ErrorKind::stale);
  // a retry of a command that did succeed: the event id wins over the stale expectation
  json retried = session("2026-01-07");
  retried["id"] = "retry-1";
  CHECK(take(s->record("ep-1", ev(retried), int64_t(5))).seq == 6);
  Recorded retry = take(s->record("ep-1", ev(retried), int64_t(5)));
  CHECK(retry.duplicate);
  CHECK(retry.seq == 6);
}

TEST_CASE("two stores on one file see each other's commands", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("z.db");
  auto a = open_store(path, clock);
  auto b = open_store(path, clock);
  treated(*a, "ep-1");
  CHECK(take(b->record("ep-1", ev(session("2026-01-06")), int64_t(4))).seq == 5);
  CHECK(take(a->record("ep-1", ev(session("2026-01-07")), int64_t(5))).seq == 6);
  CHECK(take(b->load("ep-1")).sessions == 2);
  CHECK(take(a->load("ep-1")).sessions == 2);
}

// A command that fails must not leave its loaded episodes behind: the next
// command of the same Store object would otherwise work on (and write back) a
// stale copy while another process has moved the episode on.
TEST_CASE("a rejected command leaves no stale episode behind for the next command", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("z.db");
  auto a = open_store(path, clock);
  auto b = open_store(path, clock);
  treated(*a, "ep-1");
  treated(*a, "ep-2", "P2");

  SECTION("after a bad event") {
    std::istringstream in(R"({"episode": "ep-1", "event": {"type": "measurement", "at": "2026-01-06", "nprs": 11}})" "\n");
    error_of(a->import(in, 10));
  }
  SECTION("after an event not allowed in the state") {
    error_of(a->record("ep-1", ev(json::parse(R"({"type": "gp_consult", "at": "2026-01-06", "outcome": "refer"})")), std::nullopt));
  }
  SECTION("after a stale expect_seq") {
    error_of(a->record("ep-1", ev(session("2026-01-06")), int64_t(2)));
  }
  // another process records into ep-1 in between
  CHECK(take(b->record("ep-1", ev(session("2026-01-06")), std::nullopt)).seq == 5);
  // store a goes on with another episode, then with ep-1
  take(a->record("ep-2", ev(session("2026-01-06")), std::nullopt));
  CHECK(take(b->load("ep-1")).sessions == 1);
  auto r = a->record("ep-1", ev(session("2026-01-07")), std::nullopt);
  if (!r) FAIL("record after the rejected command failed: " << r.error().message);
  CHECK(r.value().seq == 6);
  CHECK(take(b->load("ep-1")).sessions == 2);
  CHECK(take(b->rebuild()).differences.empty());
}

TEST_CASE("tick fires every due timer once and a repeated tick fires nothing", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(dir.file("z.db"), clock);
  treated(*s, "ep-1");  // onset 2026-01-01: subacute 02-12, chronic 03-26; week3 01-26, week6 02-16
  take(s->open("ep-2", "P2", ev(open_event())));
  TickReport t1 = take(s->tick(day("2026-01-26")));
  CHECK(t1.timers == 1);
  CHECK(t1.episodes == 1);
  CHECK(take(s->load("ep-1")).state == State::reevaluation_due);
  CHECK(take(s->tick(day("2026-01-26"))).timers == 0);
  TickReport t2 = take(s->tick(day("2026-04-01")));
  CHECK(t2.timers == 3 + 2);  // ep-1: subacute, week6 (fires, changes nothing), chronic; ep-2: subacute, chronic
  Episode ep = take(s->load("ep-1"));
  CHECK(ep.phase == Phase::chronic);
  CHECK(take(s->load("ep-2")).phase == Phase::chronic);
  CHECK(take(s->tick(day("2026-04-01"))).timers == 0);
  CHECK(take(s->rebuild()).differences.empty());
}

TEST_CASE("complete_task marks the task done, logs it, and refuses a second time", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-08"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  treated(*s, "ep-1");
  TaskFilter f;
  f.kind = TaskKind::gp_report_start;
  auto rows = take(s->tasks(f));
  REQUIRE(rows.size() == 1);
  TaskRow done = take(s->complete_task(rows[0].id));
  CHECK(done.task.status == TaskStatus::done);
  CHECK(done.episode == "ep-1");
  f.status = TaskStatus::done;
  CHECK(take(s->tasks(f)).size() == 1);
  auto log = take(s->events("ep-1"));
  REQUIRE(log.size() == 5);
  CHECK(log[4].type == "task_done");
  CHECK(log[4].at == day("2026-01-08"));
  CHECK(take(s->load("ep-1")).tasks[0].status == TaskStatus::done);
  const std::string before = content(path);
  CHECK(error_of(s->complete_task(rows[0].id)).kind == ErrorKind::bad_input);
  CHECK(error_of(s->complete_task(9999)).kind == ErrorKind::not_found);
  CHECK(content(path) == before);
  CHECK(take(s->rebuild()).differences.empty());
}

TEST_CASE("tasks filter by due date, kind, status, episode and id", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(dir.file("z.db"), clock);
  treated(*s, "ep-1");  // gp_report_start 01-05, reevaluation 01-26 (week3), 02-16 (week6)
  treated(*s, "ep-2", "P2");
  auto all = take(s->tasks({}));
  CHECK(all.size() == 6);
  for (size_t i = 1; i < all.size(); ++i) CHECK(std::pair(all[i - 1].task.due, all[i - 1].id) < std::pair(all[i].task.due, all[i].id));
  TaskFilter f;
  f.due_before = day("2026-01-26");
  CHECK(take(s->tasks(f)).size() == 2);
  f = {};
  f.kind = TaskKind::reevaluation;
  auto re = take(s->tasks(f));
  CHECK(re.size() == 4);
  for (const auto& r : re) CHECK(r.task.checkpoint.has_value());
  f.episode = "ep-2";
  CHECK(take(s->tasks(f)).size() == 2);
  f = {};
  f.id = all[3].id;
  auto one = take(s->tasks(f));
  REQUIRE(one.size() == 1);
  CHECK(one[0].id == all[3].id);
  f = {};
  f.status = TaskStatus::cancelled;
  CHECK(take(s->tasks(f)).empty());
}

TEST_CASE("list_episodes pages and filters and count_episodes groups", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(dir.file("z.db"), clock);
  treated(*s, "ep-1", "P-100");
  take(s->open("ep-2", "P-200", ev(open_event())));
  take(s->open("ep-3", "Q-300", ev(open_event())));
  take(s->record("ep-3", ev(kScreening), std::nullopt));
  EpisodeFilter f;
  EpisodePage all = take(s->list_episodes(f));
  CHECK(all.total == 3);
  REQUIRE(all.episodes.size() == 3);
  CHECK(all.episodes[0].id == "ep-1");
  CHECK(all.episodes[0].state == State::treatment);
  CHECK(all.episodes[0].profile == 2);
  CHECK(all.episodes[0].gp == "G1");
  CHECK(all.episodes[0].next_due == day("2026-01-26"));
  f.search = "P-";
  CHECK(take(s->list_episodes(f)).total == 2);
  f = {};
  f.state = State::screened;
  EpisodePage screened = take(s->list_episodes(f));
  REQUIRE(screened.episodes.size() == 1);
  CHECK(screened.episodes[0].id == "ep-3");
  f = {};
  f.limit = 1;
  f.offset = 1;
  EpisodePage page = take(s->list_episodes(f));
  CHECK(page.total == 3);
  REQUIRE(page.episodes.size() == 1);
  CHECK(page.episodes[0].id == "ep-2");
  f = {};
  f.after = "ep-1";  // paging by key: ids after it, the total as without it
  EpisodePage after = take(s->list_episodes(f));
  CHECK(after.total == 3);
  REQUIRE(after.episodes.size() == 2);
  CHECK(after.episodes[0].id == "ep-2");
  CHECK(after.episodes[1].id == "ep-3");
  f.limit = 0;
  CHECK(error_of(s->list_episodes(f)).kind == ErrorKind::bad_input);
  f.limit = 1001;
  CHECK(error_of(s->list_episodes(f)).kind == ErrorKind::bad_input);
  auto by_state = take(s->count_episodes(CountBy::state, {}));
  CHECK(by_state == std::vector<std::pair<std::string, int64_t>>{{"intake", 1}, {"screened", 1}, {"treatment", 1}});
  auto by_profile = take(s->count_episodes(CountBy::profile, {}));
  CHECK(by_profile == std::vector<std::pair<std::string, int64_t>>{{"2", 1}, {"none", 2}});
  int n = 0;
  CHECK(take(s->for_each_episode([&](const Episode&) { ++n; })) == 3);
  CHECK(n == 3);
}

TEST_CASE("import commits whole batches and a bad line keeps the batches before it", "[store]") {
  TempDir dir;
  ManualClock clock(day("2026-01-05"));
  const std::string path = dir.file("z.db");
  auto s = open_store(path, clock);
  auto line = [](const char* ep, json ev) { return json{{"episode", ep}, {"patient", "P"}, {"event", ev}}.dump() + "\n"; };
  json o1 = open_event(), o2 = open_event(), s1 = kScreening, m1 = kMeasurement;
  o1["id"] = "i-1";
  o2["id"] = "i-2";
  s1["id"] = "i-3";
  m1["id"] = "i-4";
  m1["at"] = "2026-01-06";
  std::string good = line("ep-1", o1) + "\n" + line("ep-2", o2) + line("ep-1", s1) + line("ep-1", m1);

  SECTION("a clean import") {
    std::istringstream in(good);
    ImportReport rep = take(s->import(in, 2));
    CHECK(rep.lines == 5);
    CHECK(rep.recorded == 4);
    CHECK(rep.episodes_opened == 2);
    CHECK(rep.duplicates == 0);
    const std::string before = content(path);
    std::istringstream again(good);
    ImportReport rep2 = take(s->import(again, 2));
    CHECK(rep2.recorded == 0);
    CHECK(rep2.duplicates == 4);
    CHECK(content(path) == before);
    CHECK(take(s->load("ep-1")).latest.nprs == 6);
  }
  SECTION("a bad line") {
    std::string text = line("ep-1", o1) + line("ep-2", o2) + line("ep-1", s1) +
                       line("ep-1", json::parse(R"({"type": "measurement", "at": "2026-01-06", "nprs": 11})")) +
                       line("ep-2", kScreening);
    std::istringstream in(text);
    Error e = error_of(s->import(in, 2));
    CHECK(e.kind == ErrorKind::bad_input);
    CHECK_THAT(e.message, Catch::Contains("line 4"));
    CHECK_THAT(e.message, Catch::Contains("ep-1 event 2"));
    CHECK_THAT(e.message, Catch::Contains("lines 1-2 were imported"));
    CHECK(take(s->episode_count()) == 2);
    CHECK(take(s->events("ep-1")).size() == 1);  // line 3 was in the batch that failed
    CHECK(take(s->load("ep-1")).state == State::intake);
    CHECK(take(s->rebuild()).differences.empty());
  }
  SECTION("lines that are not import lines") {
    for (std::string bad : {std::string("not json\n"), std::string("[1]\n"), json{{"episode", 1}, {"event", o1}}.dump() + "\n",
                            json{{"episode", "ep-1"}}.dump() + "\n", json{{"episode", "ep-1"}, {"event", o1}, {"x", 1}}.dump() + "\n"}) {
      std::istringstream in(bad);
      Error e = error_of(s->import(in, 10));
      CHECK(e.kind == ErrorKind::bad_input);
      CHECK_THAT(e.message, Catch::Contains("line 1"));
    }
    CHECK(take(s->episode_count()) == 0);
  }
}

// The overview's counts come from episode_counts, kept in the same transaction
// as the episode rows; after every kind of command they must equal a count of
// the rows themselves, for every grouping and filter.
TEST_CASE("episode_counts equal a count of the episode rows after every command", "[store]") {
  TempDir dir;
  const std::string path = dir.file("z.db");
  ManualClock clock(day("2026-01-05"));
  auto s = open_store(path, clock);
  auto check = [&](const char* after) {
    INFO("after " << after);
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    for (CountBy by : {CountBy::state, CountBy::phase, CountBy::profile}) {
      const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase" : "COALESCE(CAST(profile AS TEXT), 'none')";
      for (std::optional<State> state : {std::optional<State>(), std::optional<State>(State::treatment)}) {
        EpisodeFilter f;
        f.state = state;
        std::vector<std::pair<std::string, int64_t>> direct;
        SQLite::Statement q(db, std::string("SELECT ") + col + ", count(*) FROM episodes" +
                                    (state ? " WHERE state = 'treatment'" : "") + " GROUP BY 1 ORDER BY 1");
        while (q.executeStep()) direct.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64());
        CHECK(take(s->count_episodes(by, f)) == direct);
        int64_t total = 0;
        for (const auto& [k, n] : direct) total += n;
        CHECK(take(s->list_episodes(f)).total == total);
      }
    }
    CHECK(take(s->episode_count()) == db.execAndGet("SELECT count(*) FROM episodes").getInt64());
  };
  treated(*s, "ep-1");
  treated(*s, "ep-2");
  take(s->open("ep-3", "P3", ev(open_event())));
  check("open and record");
  std::istringstream in(R"({"episode": "ep-4", "event": {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 30}}
{"episode": "ep-4", "event": {"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []}}
{"episode": "ep-3", "event": {"type": "screening", "at": "2026-01-05", "red_flags": ["fatigue"], "exclusions": []}}
)");
  take(s->import(in, 2));
  check("import");
  take(s->record("ep-2", ev(json::parse(R"({"type": "stop", "at": "2026-01-10", "reason": "goals_met"})")), std::nullopt));
  check("stop");
  take(s->tick(day("2026-02-20")));  // ep-1: week-3 checkpoint, subacute phase
  check("tick");
  TaskFilter tf;
  tf.episode = "ep-1";
  tf.status = TaskStatus::open;
  take(s->complete_task(take(s->tasks(tf)).at(0).id));
  check("task done");
  // a failed command changes no count
  CHECK_FALSE(s->record("ep-1", ev(open_event("2026-03-01")), std::nullopt).ok());
  check("a rejected event");
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE episode_counts SET n = n + 5 WHERE state = 'closed'");
  }
  RebuildReport rep = take(s->rebuild());
  CHECK(rep.differences == std::vector<std::string>{"episode_counts: differ from the episode rows"});
  check("rebuild");
  CHECK(take(s->rebuild()).differences.empty());
}
