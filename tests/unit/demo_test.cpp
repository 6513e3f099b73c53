// `zorgpad demo`: the simulated practice goes through the real store and engine.
#include <catch2/catch.hpp>

#include "adapters/demo/simulation.hpp"

#include "store_fixture.hpp"

using namespace zorgpad;
using zorgpad::test::ev;

namespace {
struct Run {
  DemoSummary summary;
  std::vector<std::pair<std::string, int64_t>> states;
  int64_t episodes = 0;
};
Run simulate(uint32_t seed) {
  ManualClock clock(*Date::parse("2026-11-22"));
  StoreOptions options;
  options.synchronous_full = false;
  auto opened = open_sqlite_store(":memory:", clock, options);
  REQUIRE(opened.ok());
  auto& store = *opened.value();
  DemoOptions o;
  o.seed = seed;
  o.end = clock.today();
  auto r = simulate_practice(store, clock, o);
  REQUIRE(r.ok());
  Run run;
  run.summary = r.value();
  run.states = (store.count_episodes(CountBy::state, {})).value();
  run.episodes = (store.episode_count()).value();
  return run;
}
}  // namespace

TEST_CASE("the demo practice holds the requested episodes in many different states", "[demo]") {
  Run run = simulate(7);
  CHECK(run.episodes == 300);
  CHECK(run.states.size() >= 6);
  CHECK(run.summary.events > 5 * 300);
}

TEST_CASE("the demo practice recovers about a quarter in one month and half in three (KNGF A.2.3)", "[demo]") {
  Run run = simulate(7);
  const auto& s = run.summary;
  REQUIRE(s.followed_1_month > 100);
  REQUIRE(s.followed_3_months > 50);
  double one = double(s.recovered_1_of_followed) / s.followed_1_month;
  double three = double(s.recovered_3_of_followed) / s.followed_3_months;
  CHECK(one > 0.15);
  CHECK(one < 0.35);
  CHECK(three > 0.38);
  CHECK(three < 0.62);
}

TEST_CASE("the demo practice is the same for the same seed", "[demo]") {
  Run a = simulate(11), b = simulate(11), c = simulate(12);
  CHECK(a.states == b.states);
  CHECK(a.summary.events == b.summary.events);
  CHECK(a.summary.events != c.summary.events);
}
