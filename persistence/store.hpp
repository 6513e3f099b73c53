// Opening a store: an Engine (states/engine.hpp) over a backend's
// repository. The SQLite backend is the embedded default; a backend is SQL
// only, every rule runs in the engine.
#pragma once
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "pathway/clock.hpp"
#include "pathway/expected.hpp"
#include "states/engine.hpp"

namespace zorgpad {

// What the adapters hold: the engine over a store.
using Store = Engine;

struct StoreOptions {
  bool synchronous_full = true;  // survive power loss on every commit
  int busy_timeout_ms = 60000;   // concurrent writers wait this long
  std::shared_ptr<spdlog::logger> logger;  // episode ids only, never patient data
  // rebuild: parts of the episode range replayed in parallel; 0 = one per
  // core (at most 4) from 5,000 episodes on, else one.
  int rebuild_parts = 0;
};

// Opens (creating with mode 0600 when missing) and migrates a SQLite store.
// `clock` must outlive the store. Fails cleanly on a corrupt or foreign file.
Expected<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const Clock& clock, StoreOptions options = {});

// The schema versions, oldest first (exposed for the migration test).
int current_schema_version();
const char* schema_v1_sql();

}  // namespace zorgpad
