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

// PostgreSQL (libpqxx): `url` is a libpq connection URI
// (postgresql://…, several hosts and target_session_attrs=read-write for
// failover); `practice` is the practice the commands work on (may be empty
// for commands that name it later, such as the worker). Checks the schema
// version and the role's rights; never creates or migrates (init_pg_schema).
Expected<std::unique_ptr<Store>> open_pg_store(const std::string& url, const std::string& practice, const Clock& clock,
                                               StoreOptions options = {});
// Creates or migrates the schema `zorgpad` (run as its owner) and grants
// `app_role` (when not empty) what the application needs.
Status init_pg_schema(const std::string& url, const std::string& app_role);
bool is_postgres_url(const std::string& url);
// The backend by URL: postgresql:// or postgres:// is PostgreSQL; sqlite:///PATH
// or a plain path is a SQLite file (one practice: `practice` is ignored).
Expected<std::unique_ptr<Store>> open_store(const std::string& url, const std::string& practice, const Clock& clock,
                                            StoreOptions options = {});
// The file of a sqlite: URL or plain path.
std::string sqlite_path(const std::string& url);

// The schema versions, oldest first (exposed for the migration test).
int current_schema_version();
const char* schema_v1_sql();

}  // namespace zorgpad
