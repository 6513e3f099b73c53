// libFuzzer: commands through the engine on an in-memory store. The input is
// NDJSON import lines (one batch per line, so that a bad line leaves the
// earlier ones); after the import every episode must load, its state must
// read back, a tick must work and rebuild must find nothing to repair.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "pathway/clock.hpp"
#include "persistence/store.hpp"
#include "states/episode_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static zorgpad::ManualClock clock(*zorgpad::Date::parse("2026-06-01"));
  auto store = zorgpad::open_sqlite_store(":memory:", clock);
  if (!store) std::abort();
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto imported = (*store)->import(in, 1);
  if (!imported && imported.message().find('\n') != std::string::npos) std::abort();
  bool ok = true;
  auto n = (*store)->for_each_episode([&](const zorgpad::Episode& ep) {
    auto back = zorgpad::episode_from_state_text(zorgpad::episode_state_text(ep));
    if (!back || !(*back == ep)) ok = false;
  });
  if (!n || !ok) std::abort();
  if (!(*store)->tick(*zorgpad::Date::parse("2027-06-01"))) std::abort();
  auto rebuilt = (*store)->rebuild();
  if (!rebuilt || !rebuilt->differences.empty()) std::abort();
  return 0;
}
