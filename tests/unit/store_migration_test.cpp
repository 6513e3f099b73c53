// Schema migration (issue 3): a store written by schema version 1 (before
// event ids) opens with the current code, is migrated to the current version
// in place, keeps its data readable and gains idempotent event ids.
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "pathway/event.hpp"
#include "persistence/schema.hpp"
#include "persistence/store.hpp"
#include "store_fixture.hpp"
#include "states/episode_json.hpp"
#include "states/machine.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {


const std::vector<json> kEvents = {
    json::parse(R"({"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 52, "gp": "G"})"),
    json::parse(R"({"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []})"),
    json::parse(R"({"type": "measurement", "at": "2026-01-05", "nprs": 7, "qbpds": 50})"),
    json::parse(R"({"type": "stratification", "at": "2026-01-06", "factors": {"leg_pain": "present"}})"),
};

// The episode the events above make, as the engine computes it: a log written
// before pathway revisions were recorded is revision 1's.
Episode expected_episode() {
  auto ep = open_episode("ep-1", "P-1", *parse_event(kEvents[0]), kFirstRevision);
  REQUIRE(ep.ok());
  for (size_t i = 1; i < kEvents.size(); ++i) REQUIRE(apply(*ep, *parse_event(kEvents[i])).ok());
  return *ep;
}

// A store as schema version 1 wrote it: v1 tables, one episode with its log
// (no event_id column yet), its projection and task rows. With `tick_at`, a
// tick fired the episode's timers up to then and left a `tick` entry in its
// log, as versions 1 and 2 did.
void write_v1_store(const std::string& path, std::optional<Date> tick_at = std::nullopt) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec(schema_v1_sql());
  db.exec("PRAGMA user_version = 1");
  db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
  SQLite::Transaction tx(db);
  for (size_t i = 0; i < kEvents.size(); ++i) {
    SQLite::Statement q(db, "INSERT INTO events(episode, seq, type, at, body, recorded_at) VALUES ('ep-1', ?, ?, ?, ?, 1767571200)");
    q.bind(1, int64_t(i + 1));
    q.bind(2, kEvents[i]["type"].get<std::string>());
    q.bind(3, kEvents[i]["at"].get<std::string>());
    q.bind(4, kEvents[i].dump());
    q.exec();
  }
  Episode ep = expected_episode();
  int64_t last_seq = int64_t(kEvents.size());
  if (tick_at) {
    REQUIRE(advance(ep, *tick_at) > 0);
    SQLite::Statement q(db, "INSERT INTO events(episode, seq, type, at, body, recorded_at) VALUES ('ep-1', ?, 'tick', ?, ?, 1767571200)");
    q.bind(1, ++last_seq);
    q.bind(2, tick_at->iso());
    q.bind(3, json{{"type", "tick"}, {"at", tick_at->iso()}}.dump());
    q.exec();
  }
  SQLite::Statement e(db,
                      "INSERT INTO episodes(id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body) "
                      "VALUES ('ep-1', 'P-1', ?, ?, 2, 'G', '', ?, ?, ?)");
  e.bind(1, std::string(kStates.name(ep.state)));
  e.bind(2, std::string(kPhases.name(ep.phase)));
  e.bind(3, last_seq);
  if (auto d = ep.next_due()) e.bind(4, d->iso()); else e.bind(4);
  e.bind(5, episode_state(ep).dump());
  e.exec();
  for (const Task& t : ep.tasks) {
    SQLite::Statement q(db, "INSERT INTO tasks(episode, seq, kind, checkpoint, due, status) VALUES ('ep-1', ?, ?, ?, ?, ?)");
    q.bind(1, t.seq);
    q.bind(2, std::string(kTaskKinds.name(t.kind)));
    if (t.checkpoint) q.bind(3, std::string(kCheckpoints.name(*t.checkpoint))); else q.bind(3);
    q.bind(4, t.due.iso());
    q.bind(5, std::string(kTaskStatuses.name(t.status)));
    q.exec();
  }
  db.exec("INSERT INTO meta(key, value) VALUES ('clock', '2026-01-06')");
  tx.commit();
}

bool has_column(SQLite::Database& db, const char* table, const char* column) {
  SQLite::Statement q(db, std::string("SELECT count(*) FROM pragma_table_info('") + table + "') WHERE name = ?");
  q.bind(1, column);
  q.executeStep();
  return q.getColumn(0).getInt() == 1;
}

}  // namespace

TEST_CASE("a version-1 store is migrated to the current schema on open", "[store][migration]") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  write_v1_store(path);
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    REQUIRE_FALSE(has_column(db, "events", "event_id"));
  }
  ManualClock clock(day("2026-01-07"));
  auto s = take(open_sqlite_store(path, clock));
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == current_schema_version());
    CHECK(db.execAndGet("PRAGMA application_id").getInt() == kApplicationId);
    CHECK(has_column(db, "events", "event_id"));
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name = 'events_event_id'").getInt() == 1);
    CHECK(db.execAndGet("SELECT count(*) FROM events").getInt() == 4);
  }

  SECTION("the data is still readable") {
    Episode ep = take(s->load("ep-1"));
    CHECK(ep == expected_episode());
    CHECK(episode_view(ep) == episode_view(expected_episode()));
    auto log = take(s->events("ep-1"));
    REQUIRE(log.size() == 4);
    for (size_t i = 0; i < log.size(); ++i) {
      REQUIRE(log[i].event);
      CHECK(event_json(*log[i].event) == event_json(ev(kEvents[i])));
    }
    CHECK(take(s->tasks({})).size() == ep.tasks.size());
    CHECK(take(s->list_episodes({})).total == 1);
    CHECK(take(s->rebuild()).differences.empty());
  }
  SECTION("new events are recorded, with event ids working") {
    json event = json::parse(R"({"type": "session", "at": "2026-01-07", "id": "after-migration-1"})");
    Recorded r = take(s->record("ep-1", ev(event), int64_t(4)));
    CHECK(r.seq == 5);
    CHECK_FALSE(r.duplicate);
    Recorded again = take(s->record("ep-1", ev(event), std::nullopt));
    CHECK(again.duplicate);
    CHECK(again.seq == 5);
    CHECK(take(s->load("ep-1")).sessions == 1);
    json open = kEvents[0];
    open["id"] = "open-2";
    CHECK(take(s->open("ep-2", "P-2", ev(open))).seq == 1);
    CHECK(take(s->open("ep-3", "P-3", ev(open))).episode == "ep-2");
    CHECK(take(s->rebuild()).differences.empty());
  }
  SECTION("the old events, without ids, stay as they were") {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM events WHERE event_id IS NULL").getInt() == 4);
  }
}

TEST_CASE("opening a migrated store again changes nothing", "[store][migration]") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  write_v1_store(path);
  ManualClock clock(day("2026-01-07"));
  { auto s = take(open_sqlite_store(path, clock)); }
  auto dump = [&] {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    std::string out = std::to_string(db.execAndGet("PRAGMA user_version").getInt()) + "\n";
    SQLite::Statement q(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name");
    while (q.executeStep()) out += q.getColumn(0).getString() + " " + q.getColumn(1).getString() + " " + q.getColumn(2).getString() + "\n";
    return out;
  };
  const std::string once = dump();
  { auto s = take(open_sqlite_store(path, clock)); }
  CHECK(dump() == once);
}

TEST_CASE("two stores opening a version-1 store at once both succeed", "[store][migration]") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  write_v1_store(path);
  ManualClock clock(day("2026-01-07"));
  auto a = take(open_sqlite_store(path, clock));
  auto b = take(open_sqlite_store(path, clock));
  CHECK(take(a->load("ep-1")) == take(b->load("ep-1")));
}

TEST_CASE("a log with the per-episode tick entries of schema 2 rebuilds without difference after migration", "[store][migration]") {
  TempDir dir;
  const std::string path = dir.file("v1-tick.db");
  write_v1_store(path, day("2026-01-27"));  // fires the week-3 checkpoint of 2026-01-27
  ManualClock clock(day("2026-01-28"));
  auto s = take(open_sqlite_store(path, clock));
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name IN ('ticks', 'tasks_open_due')").getInt() == 2);
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name = 'tasks_status_due'").getInt() == 0);
  }
  Episode before = take(s->load("ep-1"));
  CHECK(before.state == State::reevaluation_due);
  RebuildReport rep = take(s->rebuild());
  CHECK(rep.events == int64_t(kEvents.size()) + 1);
  CHECK(rep.differences.empty());
  CHECK(take(s->load("ep-1")) == before);
  // a tick of the new schema on top: a row of `ticks`, and rebuild still agrees
  CHECK(take(s->tick(day("2026-03-01"))).timers > 0);
  CHECK(take(s->rebuild()).differences.empty());
}

// Schema 5: episodes.last_event (the latest clinical event, from the body)
// and terminal, indexed for the overview's inactive episodes (spec §11).
TEST_CASE("migrating to schema 5 fills last_event and terminal from the stored rows and indexes them",
          "[store][migration][spec-11]") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  write_v1_store(path);
  {  // a closed episode too, as schema 1 stored it: its log, row and task rows
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Transaction tx(db);
    std::vector<json> events = kEvents;
    events.push_back(json::parse(R"({"type": "stop", "at": "2026-01-08", "reason": "goals_met"})"));
    auto closed = open_episode("ep-0", "", *parse_event(events[0]), kFirstRevision);  // a log of schema 1
    REQUIRE(closed.ok());
    for (size_t i = 0; i < events.size(); ++i) {
      if (i > 0) REQUIRE(apply(*closed, *parse_event(events[i])).ok());
      SQLite::Statement q(db, "INSERT INTO events(episode, seq, type, at, body, recorded_at) VALUES ('ep-0', ?, ?, ?, ?, 1767571200)");
      q.bind(1, int64_t(i + 1));
      q.bind(2, events[i]["type"].get<std::string>());
      q.bind(3, events[i]["at"].get<std::string>());
      q.bind(4, events[i].dump());
      q.exec();
    }
    REQUIRE(closed->state == State::closed);
    closed->patient = "P-0";
    SQLite::Statement e(db,
                        "INSERT INTO episodes(id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body) "
                        "VALUES ('ep-0', 'P-0', 'closed', ?, ?, 'G', '', ?, NULL, ?)");
    e.bind(1, std::string(kPhases.name(closed->phase)));
    if (closed->profile) e.bind(2, *closed->profile); else e.bind(2);
    e.bind(3, int64_t(events.size()));
    e.bind(4, episode_state(*closed).dump());
    e.exec();
    for (const Task& t : closed->tasks) {
      SQLite::Statement q(db, "INSERT INTO tasks(episode, seq, kind, checkpoint, due, status) VALUES ('ep-0', ?, ?, ?, ?, ?)");
      q.bind(1, t.seq);
      q.bind(2, std::string(kTaskKinds.name(t.kind)));
      if (t.checkpoint) q.bind(3, std::string(kCheckpoints.name(*t.checkpoint))); else q.bind(3);
      q.bind(4, t.due.iso());
      q.bind(5, std::string(kTaskStatuses.name(t.status)));
      q.exec();
    }
    tx.commit();
  }
  ManualClock clock(day("2026-03-01"));
  auto s = take(open_sqlite_store(path, clock));
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT last_event FROM episodes WHERE id = 'ep-1'").getString() == "2026-01-06");
    CHECK(db.execAndGet("SELECT terminal FROM episodes WHERE id = 'ep-1'").getInt() == 0);
    CHECK(db.execAndGet("SELECT last_event FROM episodes WHERE id = 'ep-0'").getString() == "2026-01-08");
    CHECK(db.execAndGet("SELECT terminal FROM episodes WHERE id = 'ep-0'").getInt() == 1);
    CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name = 'episodes_inactive'").getInt() == 1);
    // the overview's query is answered by the index, not by reading every row
    SQLite::Statement plan(db, "EXPLAIN QUERY PLAN SELECT id FROM episodes WHERE 1=1 AND terminal = 0 AND last_event <= '2026-02-01' "
                               "ORDER BY last_event, id LIMIT 50");
    std::string detail;
    while (plan.executeStep()) detail += plan.getColumn(3).getString() + "\n";
    CHECK_THAT(detail, Catch::Contains("episodes_inactive"));
    CHECK_THAT(detail, !Catch::Contains("TEMP B-TREE"));
  }
  InactiveQuery q;
  q.last_event_by = day("2026-01-18");  // 42 days before the clock
  InactivePage page = take(s->list_inactive(q));
  REQUIRE(page.total == 1);  // ep-1; ep-0 is closed
  CHECK(page.episodes[0].episode.id == "ep-1");
  CHECK(page.episodes[0].last_event == day("2026-01-06"));
  CHECK(take(s->rebuild()).differences.empty());

  // a new event moves the column; the episode is no longer inactive
  take(s->record("ep-1", ev(json::parse(R"({"type": "session", "at": "2026-02-20"})")), std::nullopt));
  CHECK(take(s->list_inactive(q)).total == 0);
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT last_event FROM episodes WHERE id = 'ep-1'").getString() == "2026-02-20");
  }
  CHECK(take(s->rebuild()).differences.empty());
}

TEST_CASE("rebuild reports and repairs a wrong last_event or terminal column", "[store][migration][recovery][spec-11]") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  write_v1_store(path);
  ManualClock clock(day("2026-03-01"));
  auto s = take(open_sqlite_store(path, clock));
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE episodes SET last_event = '2025-12-01', terminal = 1 WHERE id = 'ep-1'");
  }
  InactiveQuery q;
  q.last_event_by = day("2026-01-18");
  CHECK(take(s->list_inactive(q)).total == 0);  // hidden by the wrong terminal column
  RebuildReport rep = take(s->rebuild());
  CHECK(rep.differences == std::vector<std::string>{"ep-1: last_event, terminal"});
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT last_event FROM episodes WHERE id = 'ep-1'").getString() == "2026-01-06");
    CHECK(db.execAndGet("SELECT terminal FROM episodes WHERE id = 'ep-1'").getInt() == 0);
  }
  CHECK(take(s->list_inactive(q)).total == 1);
  CHECK(take(s->rebuild()).differences.empty());
}
