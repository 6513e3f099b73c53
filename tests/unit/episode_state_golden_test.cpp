// The stored episode body has one writer, episode_state_text. These golden
// files pin its bytes: tests/data/golden/bodies.ndjson was written by the
// previous release (nlohmann's dump of the episode's JSON tree, before the
// direct writer was the only one) from the events of episodes.ndjson: 40
// scenario episodes and one whose strings need the escapes (quote, backslash, line breaks, tab) and
// UTF-8. A change of the stored form must change these files on purpose.
#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "persistence/store.hpp"
#include "states/engine.hpp"
#include "states/episode_json.hpp"
#include "store_fixture.hpp"

using namespace zorgpad;
using nlohmann::json;

namespace {

std::vector<json> read_lines(const std::string& name) {
  std::ifstream in(std::string(ZORGPAD_TEST_DATA) + "/golden/" + name);
  REQUIRE(in);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::map<std::string, std::string> golden_bodies() {
  std::map<std::string, std::string> out;
  for (const json& j : read_lines("bodies.ndjson")) out[j["id"].get<std::string>()] = j["body"].get<std::string>();
  return out;
}

}  // namespace

TEST_CASE("the stored episode body is byte for byte the golden file of every episode", "[golden][store]") {
  const auto golden = golden_bodies();
  REQUIRE(golden.size() >= 40);
  std::map<std::string, Replayer> replays;
  for (const json& line : read_lines("episodes.ndjson")) {
    const std::string id = line["episode"].get<std::string>();
    auto it = replays.find(id);
    if (it == replays.end()) it = replays.emplace(id, Replayer(id, line.value("patient", ""))).first;
    REQUIRE(it->second.event(zorgpad::test::ev(line["event"])).ok());
  }
  REQUIRE(replays.size() == golden.size());
  for (auto& [id, replay] : replays) {
    INFO(id);
    CHECK(episode_state_text(replay.episode()) == golden.at(id));
    // and the reader gives the same episode back
    auto back = episode_from_state_text(golden.at(id));
    REQUIRE(back.ok());
    CHECK(*back == replay.episode());
  }
}

TEST_CASE("an import writes the golden bodies into the store", "[golden][store]") {
  const auto golden = golden_bodies();
  zorgpad::test::TempDir dir;
  ManualClock clock(zorgpad::test::day("2026-12-01"));
  auto store = zorgpad::test::take(open_sqlite_store(dir.file("g.db"), clock));
  std::ifstream in(std::string(ZORGPAD_TEST_DATA) + "/golden/episodes.ndjson");
  REQUIRE(zorgpad::test::take(store->import(in, 100)).episodes_opened == int64_t(golden.size()));
  SQLite::Database db(dir.file("g.db"), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT id, body FROM episodes ORDER BY id");
  size_t n = 0;
  while (q.executeStep()) {
    const std::string id = q.getColumn(0).getString();
    INFO(id);
    CHECK(q.getColumn(1).getString() == golden.at(id));
    ++n;
  }
  CHECK(n == golden.size());
}

TEST_CASE("the logged event is the event: parse_event of event_json gives it back, unchanged", "[golden][store]") {
  for (const json& line : read_lines("episodes.ndjson")) {
    const json& input = line["event"];
    INFO(input.dump());
    Event e = zorgpad::test::ev(input);
    json written = event_json(e);
    // the canonical form: the input without fields at their defaults
    json canonical = input;
    for (auto it = canonical.begin(); it != canonical.end();)
      it = it->is_null() || (it->is_array() && it->empty()) || (it->is_boolean() && !it->get<bool>()) ? canonical.erase(it)
                                                                                                       : std::next(it);
    CHECK(written == canonical);
    auto back = parse_event_text(event_text(e));
    REQUIRE(back.ok());
    CHECK(event_json(*back) == written);
  }
}
