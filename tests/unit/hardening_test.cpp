// Issue 16 (hardening): each finding of the adversarial run has a test here
// or in tests/cli/hardening_cli.py.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <vector>
#include <string>

#include "adapters/texts/printable.hpp"
#include "persistence/store.hpp"
#include "states/episode_json.hpp"
#include "states/machine.hpp"
#include "store_fixture.hpp"

using namespace zorgpad;
using namespace zorgpad::test;
using nlohmann::json;

namespace {

json open_json(const char* at = "2026-05-04") {
  return {{"type", "open"}, {"at", at}, {"onset", "2026-04-30"}, {"complaint", "lbp"}, {"age", 53}};
}

}  // namespace

TEST_CASE("a date near the year 3000 leaves the episode readable: timers past 2999 read back", "[hardening][store]") {
  TempDir dir;
  ManualClock clock(day("2026-05-04"));
  auto s = take(open_sqlite_store(dir.file("z.db"), clock));
  take(s->open("e1", "P1", ev(open_json())));
  take(s->record("e1", ev({{"type", "screening"}, {"at", "2026-05-04"}, {"red_flags", json::array()}}), std::nullopt));
  // Profile 1 from 2999-12-31: the week-3, -6 and -12 checkpoints fall in the year 3000.
  Recorded r = take(s->record("e1", ev({{"type", "stratification"}, {"at", "2999-12-31"}, {"factors", json::object()}, {"profile", 1}}),
                              std::nullopt));
  CHECK(r.state == State::treatment);
  Episode ep = take(s->load("e1"));
  REQUIRE(ep.next_due());
  CHECK(ep.next_due()->iso().rfind("3000-", 0) == 0);
  CHECK(take(s->tasks({})).size() == ep.tasks.size());
  CHECK(take(s->rebuild()).differences.empty());
  // and a tick in the year 3000 (a derived date, never input) fires them
  CHECK(take(s->tick(*Date::parse_stored("3000-03-25"))).timers > 0);
  CHECK(take(s->load("e1")).state == State::reevaluation_due);
}

TEST_CASE("the stored-date reader accepts the years a derived date can reach; input stays 1900-2999", "[hardening]") {
  CHECK_FALSE(Date::parse("3000-01-01"));
  CHECK(Date::parse("2999-12-31"));
  REQUIRE(Date::parse_stored("3000-03-25"));
  CHECK(Date::parse_stored("3000-03-25")->iso() == "3000-03-25");
  CHECK_FALSE(Date::parse_stored("1899-12-31"));
}

TEST_CASE("a NUL byte in an import line is bad input and imports nothing", "[hardening][store]") {
  TempDir dir;
  ManualClock clock(day("2026-05-04"));
  auto s = take(open_sqlite_store(dir.file("z.db"), clock));
  std::string line = json{{"episode", "e1"}, {"event", open_json()}}.dump();
  std::istringstream in(line + std::string("\0GARBAGE{{", 10) + "\n");
  auto r = s->import(in, 10);
  REQUIRE_FALSE(r.ok());
  CHECK(r.kind() == ErrorKind::bad_input);
  CHECK_THAT(r.message(), Catch::Contains("NUL"));
  CHECK(take(s->episode_count()) == 0);
}

TEST_CASE("a control character in an identifier is refused; free text keeps line breaks and tabs", "[hardening][events]") {
  for (const char* field : {"gp", "therapist", "patient", "id"}) {
    json j = open_json();
    j[field] = std::string("Dr. \x1b[2J") + field;
    auto e = parse_event(j);
    INFO(field);
    REQUIRE_FALSE(e.ok());
    CHECK_THAT(e.message(), Catch::Contains(std::string("field '") + field + "'") && Catch::Contains("U+001B"));
  }
  json del = open_json();
  del["gp"] = "Dr. \x7f";
  CHECK_THAT(parse_event(del).message(), Catch::Contains("U+007F"));
  json tab_in_name = open_json();
  tab_in_name["therapist"] = "A\tB";
  CHECK_FALSE(parse_event(tab_in_name).ok());
  json note = {{"type", "red_flag_review"}, {"at", "2026-05-05"}, {"decision", "continue"}, {"note", "regel 1\nregel 2\r\n\tingesprongen"}};
  auto ok = parse_event(note);
  REQUIRE(ok.ok());
  CHECK(*ok->note == "regel 1\nregel 2\r\n\tingesprongen");
  note["note"] = "bel\x07";
  CHECK_THAT(parse_event(note).message(), Catch::Contains("U+0007"));
}

TEST_CASE("printable shows C0, DEL and C1 controls and keeps UTF-8", "[hardening][cli]") {
  CHECK(printable("P-001") == "P-001");
  CHECK(printable("Ünal ≤ 38 °C") == "Ünal ≤ 38 °C");
  CHECK(printable("\x1b[2Jx") == "\\x1B[2Jx");
  CHECK(printable("a\nb\x7f") == "a\\x0Ab\\x7F");
  CHECK(printable("\xc2\x9b" "31m") == "\\u009B31m");  // CSI as a C1 control
}

TEST_CASE("an error echoes at most 100 bytes of a long episode id", "[hardening][store]") {
  TempDir dir;
  ManualClock clock(day("2026-05-04"));
  auto s = take(open_sqlite_store(dir.file("z.db"), clock));
  const std::string id(100000, 'x');
  auto r = s->record(id, ev({{"type", "session"}, {"at", "2026-05-04"}}), std::nullopt);
  REQUIRE_FALSE(r.ok());
  CHECK(r.message().size() < 200);
  CHECK(clip(std::string(150, 'a')).size() == 103);
  CHECK(clip("ééé", 3) == "é...");  // never half a UTF-8 character
}

TEST_CASE("the body writer escapes every control character as a JSON library does", "[hardening][golden]") {
  Episode ep = take(open_episode("ep-c", "P", ev(open_json())));
  std::string all;
  for (int c = 1; c < 0x20; ++c) all += char(c);
  ep.gp = all + "\x7f\"\\é";  // not reachable from input any more; an old store may hold it
  const std::string text = episode_state_text(ep);
  CHECK(text == json::parse(text).dump());
  auto back = episode_from_state_text(text);
  REQUIRE(back.ok());
  CHECK(back->gp == ep.gp);
}

TEST_CASE("task ids do not depend on how an import is cut into batches", "[hardening][store]") {
  // The golden episodes, interleaved line by line so that batches cut
  // through many episodes at once.
  std::ifstream in(std::string(ZORGPAD_TEST_DATA) + "/golden/episodes.ndjson");
  std::map<std::string, std::vector<std::string>> by_episode;
  std::vector<std::string> order;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::string id = json::parse(line)["episode"].get<std::string>();
    if (!by_episode.count(id)) order.push_back(id);
    by_episode[id].push_back(line);
  }
  std::string text;
  for (size_t k = 0;; ++k) {
    bool any = false;
    for (const auto& id : order)
      if (k < by_episode[id].size()) {
        text += by_episode[id][k] + "\n";
        any = true;
      }
    if (!any) break;
  }
  auto ids = [&](int batch) {
    TempDir dir;
    ManualClock clock(day("2026-12-01"));
    auto s = take(open_sqlite_store(dir.file("z.db"), clock));
    std::istringstream lines(text);
    take(s->import(lines, batch));
    take(s->tick(day("2026-12-01")));
    std::vector<std::tuple<int64_t, std::string, int>> out;
    for (const auto& row : take(s->tasks({}))) out.emplace_back(row.id, row.episode, row.task.seq);
    std::sort(out.begin(), out.end());
    return out;
  };
  auto one = ids(1);
  REQUIRE(one.size() > 50);
  CHECK(ids(7) == one);
  CHECK(ids(1000) == one);
}

TEST_CASE("an error naming an unknown field is one line, whatever the field's name", "[hardening][events]") {
  // found by fuzz/fuzz_event: a field named "\nset" broke the error in two
  auto e = parse_event_text(R"({"type": "open", "at": "2026-0", "\nset": "2026-01-00", "age": 40})");
  REQUIRE_FALSE(e.ok());
  CHECK(e.message().find('\n') == std::string::npos);
  CHECK_THAT(e.message(), Catch::Contains("\\x0A"));
}

TEST_CASE("an error echoing an episode id with a line break is one line", "[hardening][store]") {
  TempDir dir;
  ManualClock clock(day("2026-05-04"));
  auto s = take(open_sqlite_store(dir.file("z.db"), clock));
  auto r = s->load("ep\n1");
  REQUIRE_FALSE(r.ok());
  CHECK(r.message().find('\n') == std::string::npos);
  CHECK_THAT(r.message(), Catch::Contains("ep\\x0A1"));
}

// Found by fuzz_commands (fuzz/regressions/fuzz_commands/patient-longer-than-100):
// a patient reference given beside the event (`open --patient`, an import
// line's "patient") was logged in the `open` event without the event field's
// rule, and rebuild then refused the whole database.
TEST_CASE("a patient reference given beside the event obeys the event field's rule", "[hardening][store]") {
  TempDir dir;
  ManualClock clock(day("2026-05-04"));
  auto s = take(open_sqlite_store(dir.file("z.db"), clock));
  const std::string longest(kMaxPatientReference, 'P'), longer(kMaxPatientReference + 1, 'P');

  auto r = s->open("e1", longer, ev(open_json()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.kind() == ErrorKind::bad_input);
  CHECK_THAT(r.message(), Catch::Contains("field 'patient': longer than 100 characters"));
  auto esc = s->open("e1", "P\x1b[31m", ev(open_json()));
  REQUIRE_FALSE(esc.ok());
  CHECK_THAT(esc.message(), Catch::Contains("control character U+001B"));

  std::istringstream in(json{{"episode", "e2"}, {"patient", longer}, {"event", open_json()}}.dump() + "\n");
  auto imported = s->import(in, 10);
  REQUIRE_FALSE(imported.ok());
  CHECK_THAT(imported.message(), Catch::Contains("field 'patient': longer than 100 characters"));
  CHECK(take(s->episode_count()) == 0);

  // At the limit it is taken, and the log reads back.
  take(s->open("e3", longest, ev(open_json())));
  CHECK(take(s->load("e3")).patient == longest);
  CHECK(take(s->rebuild()).differences.empty());
}

// Found by fuzz_commands (fuzz/regressions/fuzz_commands/unknown-key-with-line-break):
// an import line's unknown key was echoed with its line break.
TEST_CASE("an import line's unknown key and a new episode id are echoed on one line; ids hold no control characters", "[hardening][store]") {
  TempDir dir;
  ManualClock clock(day("2026-05-04"));
  auto s = take(open_sqlite_store(dir.file("z.db"), clock));
  std::istringstream in(json{{"episode", "e1"}, {"pati\nt", "P1"}, {"event", open_json()}}.dump() + "\n");
  auto r = s->import(in, 10);
  REQUIRE_FALSE(r.ok());
  CHECK(r.message().find('\n') == std::string::npos);
  CHECK_THAT(r.message(), Catch::Contains("unknown field 'pati\\x0At'"));

  std::istringstream id(json{{"episode", "a\nb"}, {"event", open_json()}}.dump() + "\n");
  auto bad_id = s->import(id, 10);
  REQUIRE_FALSE(bad_id.ok());
  CHECK(bad_id.message().find('\n') == std::string::npos);
  CHECK_THAT(bad_id.message(), Catch::Contains("contains a control character"));
  CHECK(take(s->episode_count()) == 0);
}
