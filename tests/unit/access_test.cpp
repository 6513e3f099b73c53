// Users, tokens and the audit log (issue 14) at the engine and store level:
// a write command's audit row is part of its transaction, a token opens its
// own user only, the audit log cannot be edited. The HTTP side is tested as
// processes (tests/cli/web_audit.py, tests/pg/pg_web_roles.py).
#include <catch2/catch.hpp>

#include <SQLiteCpp/SQLiteCpp.h>

#include "adapters/access/users.hpp"
#include "store_fixture.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {

std::unique_ptr<Store> open(const std::string& path, const Clock& clock) { return take(open_sqlite_store(path, clock)); }

json open_json() { return {{"type", "open"}, {"at", "2026-01-05"}, {"onset", "2026-01-01"}, {"age", 40}, {"complaint", "lbp"}}; }

int64_t audit_rows(const std::string& path) {
  SQLite::Database db(path);
  return db.execAndGet("SELECT count(*) FROM audit").getInt64();
}

}  // namespace

TEST_CASE("a write command appends its actor's audit row in its own transaction", "[access]") {
  TempDir dir;
  ManualClock clock(day("2026-01-10"));
  const std::string path = dir.file("a.db");
  auto s = open(path, clock);
  s->set_actor(Actor{"user:Anna#1", "therapist", "192.0.2.1"});
  take(s->open("ep-1", "P1", ev(open_json())));
  auto rows = take(s->audit_log({}));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].action == "episode.open");
  CHECK(rows[0].user == "user:Anna#1");
  CHECK(rows[0].role == "therapist");
  CHECK(rows[0].address == "192.0.2.1");
  CHECK(rows[0].episodes == std::vector<std::string>{"ep-1"});
  CHECK(rows[0].outcome == "ok");
  CHECK(rows[0].at == clock.unix_seconds());

  // A refused event: the command rolls back, its audit row with it.
  CHECK(!s->record("ep-1", ev({{"type", "session"}, {"at", "2026-01-06"}}), std::nullopt));
  CHECK(audit_rows(path) == 1);
  // A retry of a recorded event id is audited as a repeat, and changes nothing else.
  json screening = {{"type", "screening"}, {"at", "2026-01-06"}, {"red_flags", json::array()}, {"suspicion", false}, {"id", "k1"}};
  take(s->record("ep-1", ev(screening), std::nullopt));
  take(s->record("ep-1", ev(screening), std::nullopt));
  rows = take(s->audit_log({}));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].action == "event.record.repeat");  // newest first
  CHECK(rows[1].action == "event.record");
}

TEST_CASE("without an actor nothing is audited; the audit time may come from a clock of its own", "[access]") {
  TempDir dir;
  ManualClock clock(day("2026-01-10"));
  const std::string path = dir.file("a.db");
  auto s = open(path, clock);
  take(s->open("ep-1", "P1", ev(open_json())));
  CHECK(s->audit("episode.read", {"ep-1"}).ok());
  CHECK(audit_rows(path) == 0);
  ManualClock wall(day("2026-12-02"));
  s->set_actor(Actor{"cli:root", "cli", "local", &wall});
  CHECK(s->audit("episode.read", {"ep-1"}).ok());
  auto rows = take(s->audit_log({}));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at == wall.unix_seconds());  // not the pathway's --today
}

TEST_CASE("the audit log answers who saw an episode, by user and since a time", "[access]") {
  TempDir dir;
  ManualClock clock(day("2026-01-10"));
  auto s = open(dir.file("a.db"), clock);
  s->set_actor(Actor{"user:Anna#1", "therapist", "a"});
  CHECK(s->audit("episodes.list", {"ep-1", "ep-2"}).ok());
  s->set_actor(Actor{"user:Ben#2", "coordinator", "b"});
  clock.set(day("2026-01-12"));
  CHECK(s->audit("episode.read", {"ep-2"}).ok());
  AuditQuery q;
  q.episode = "ep-2";
  CHECK(take(s->audit_log(q)).size() == 2);
  q.episode = "ep-1";
  auto one = take(s->audit_log(q));
  REQUIRE(one.size() == 1);
  CHECK(one[0].user == "user:Anna#1");
  CHECK(one[0].episodes == std::vector<std::string>{"ep-1", "ep-2"});
  AuditQuery by_user;
  by_user.user = "user:Ben#2";
  CHECK(take(s->audit_log(by_user)).size() == 1);
  AuditQuery since;
  since.since = day("2026-01-11").days * int64_t(86400);
  auto late = take(s->audit_log(since));
  REQUIRE(late.size() == 1);
  CHECK(late[0].user == "user:Ben#2");
}

TEST_CASE("the audit log is append-only", "[access]") {
  TempDir dir;
  ManualClock clock(day("2026-01-10"));
  const std::string path = dir.file("a.db");
  auto s = open(path, clock);
  s->set_actor(Actor{"user:Anna#1", "therapist", "a"});
  CHECK(s->audit("episode.read", {"ep-1"}).ok());
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  CHECK_THROWS_WITH(db.exec("DELETE FROM audit"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(db.exec("UPDATE audit SET user = 'someone else'"), Catch::Contains("append-only"));
  CHECK_THROWS_WITH(db.exec("UPDATE audit SET episodes = '[]'"), Catch::Contains("append-only"));
  CHECK(audit_rows(path) == 1);
}

TEST_CASE("a user's token opens that user only; the database keeps its hash", "[access]") {
  TempDir dir;
  ManualClock clock(day("2026-01-10"));
  const std::string path = dir.file("a.db");
  auto s = open(path, clock);
  auto anna = take(access::add_user(*s, {"Anna", access::Role::therapist, "noord", ""}));
  auto ben = take(access::add_user(*s, {"Ben", access::Role::coordinator, "", ""}));
  CHECK(anna.token.rfind("zp_" + std::to_string(anna.user.id) + "_", 0) == 0);
  CHECK(anna.token != ben.token);
  auto who = take(access::authenticate(*s, anna.token));
  REQUIRE(who);
  CHECK(who->name == "Anna");
  CHECK(who->practice == "noord");
  // The stored hash is not the token, nor does the token occur in the row.
  CHECK(who->token_hash.size() == 64);
  CHECK(anna.token.find(who->token_hash) == std::string::npos);
  {
    SQLite::Database db(path);
    SQLite::Statement q(db, "SELECT count(*) FROM users WHERE token_hash LIKE '%' || ? || '%'");
    q.bind(1, anna.token.substr(anna.token.rfind('_') + 1));
    q.executeStep();
    CHECK(q.getColumn(0).getInt() == 0);
  }
  // Another user's id with Anna's secret, a changed character, malformed forms: nobody.
  std::string swapped = "zp_" + std::to_string(ben.user.id) + anna.token.substr(anna.token.rfind('_'));
  CHECK(!take(access::authenticate(*s, swapped)));
  std::string changed = anna.token;
  changed.back() = changed.back() == 'A' ? 'B' : 'A';
  CHECK(!take(access::authenticate(*s, changed)));
  for (const char* bad : {"", "zp_", "zp_1", "zp_x_abc", "zp_1_short", "0123456789abcdef0123456789abcdef"})
    CHECK(!take(access::authenticate(*s, bad)));
  // Revoked: refused from then on.
  CHECK(take(s->revoke_user(anna.user.id)));
  CHECK(!take(access::authenticate(*s, anna.token)));
  CHECK(!take(s->revoke_user(anna.user.id)));  // revoked before
  CHECK(take(access::authenticate(*s, ben.token)));
}

TEST_CASE("a user needs what their role needs", "[access]") {
  TempDir dir;
  ManualClock clock(day("2026-01-10"));
  auto s = open(dir.file("a.db"), clock);
  CHECK(!access::add_user(*s, {"Anna", access::Role::therapist, "", ""}));        // a therapist belongs to a practice
  CHECK(!access::add_user(*s, {"Adm", access::Role::practice_admin, "", ""}));    // so does a practice admin
  CHECK(!access::add_user(*s, {"Dr", access::Role::gp, "", ""}));                 // a gp has a GP code
  CHECK(!access::add_user(*s, {"Anna", access::Role::therapist, "noord", "GP-1"}));  // only a gp has one
  CHECK(!access::add_user(*s, {"", access::Role::coordinator, "", ""}));          // a name
  CHECK(!access::add_user(*s, {std::string("a\nb"), access::Role::coordinator, "", ""}));
  CHECK(access::add_user(*s, {"Dr", access::Role::gp, "", "GP-1"}));
  CHECK(take(s->users(std::nullopt)).size() == 1);
}
