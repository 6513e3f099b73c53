// The episode store: an append-only event log per episode with projections
// (episode, timers, tasks) kept in the same transaction. The interface is
// small on purpose: a SQLite backend today, a PostgreSQL backend with several
// workers later. Every method is one command: it commits completely or leaves
// the store unchanged and returns the error. No exception crosses it.
// Thread-safety: one Store object per thread; several processes may share a
// database (writers wait for each other).
#pragma once
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <variant>

#include "pathway/clock.hpp"
#include "pathway/expected.hpp"
#include "states/episode.hpp"

namespace zorgpad {

// Why a command failed: bad input (exit 2) or the store itself (exit 1).
enum class Failure { bad_input, store };
struct StoreError {
  Failure kind;
  std::string message;
};
template <typename T>
using StoreResult = std::variant<T, StoreError>;

struct Recorded {
  std::string episode;
  int64_t seq = 0;         // the event's place in the episode's log
  bool duplicate = false;  // the event id was recorded before; nothing changed
};

struct TaskRow {
  int64_t id = 0;
  std::string episode;
  Task task;
};

// One entry of an episode's log: a clinical event or a `task_done` entry.
struct StoredEvent {
  int64_t seq = 0;
  std::string type;
  Date at;
  nlohmann::json body;  // the event as recorded
};

struct TaskFilter {
  std::optional<Date> due_before;  // due strictly before
  std::optional<TaskKind> kind;
  std::optional<TaskStatus> status;
  std::optional<std::string> episode;
  std::optional<int64_t> id;
};

struct EpisodeFilter {
  std::optional<State> state;
  std::optional<Phase> phase;
  std::optional<int> profile;
  std::optional<std::string> gp, therapist;
  std::optional<std::string> search;  // episode id or patient reference, prefix match
  std::optional<std::string> after;   // only ids after this one (paging by key; the total ignores it)
  int64_t offset = 0;
  int64_t limit = 50;  // at most 1000
};

struct EpisodeSummary {
  std::string id, patient;
  State state{};
  Phase phase{};
  std::optional<int> profile;
  std::string gp, therapist;
  std::optional<Date> next_due;
};

struct EpisodePage {
  int64_t total = 0;  // matching episodes, ignoring offset/limit
  std::vector<EpisodeSummary> episodes;
};

// A non-terminal episode and the date of its latest clinical event.
struct InactiveEpisode {
  EpisodeSummary episode;
  Date last_event;
};

struct InactivePage {
  int64_t total = 0;  // matching episodes, ignoring offset/limit/after
  std::vector<InactiveEpisode> episodes;
};

struct InactiveQuery {
  Date last_event_by;    // only episodes whose latest clinical event lies on or before this date
  EpisodeFilter filter;  // as for list_episodes; offset and limit (1-1000) apply, filter.after does not
  std::optional<std::pair<Date, std::string>> after;  // paging by key: only (last_event, id) after this one
};

// What to count episodes by, for overviews.
enum class CountBy { state, phase, profile };

struct ImportReport {
  int64_t lines = 0, recorded = 0, duplicates = 0, episodes_opened = 0;
};

struct TickReport {
  int64_t episodes = 0, timers = 0;
};

struct RebuildReport {
  int64_t episodes = 0, events = 0;
  std::vector<std::string> differences;  // "ep-1: field 'state'", episode ids only
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates an episode from an `open` event. Generates "ep-N" when id is empty.
  virtual StoreResult<Recorded> open(const std::string& id, const std::string& patient, const nlohmann::json& event) = 0;
  // Appends one clinical event. expect_seq: reject unless the episode's log ends at it.
  virtual StoreResult<Recorded> record(const std::string& episode, const nlohmann::json& event,
                                       std::optional<int64_t> expect_seq) = 0;
  // NDJSON lines {"episode", "patient", "event"}; committed every batch_size lines.
  virtual StoreResult<ImportReport> import(std::istream& in, int batch_size) = 0;
  // Fires every timer due on or before `now`.
  virtual StoreResult<TickReport> tick(Date now) = 0;
  virtual StoreResult<Episode> load(const std::string& episode) = 0;
  // The episode's log, oldest first.
  virtual StoreResult<std::vector<StoredEvent>> events(const std::string& episode) = 0;
  virtual StoreResult<std::vector<TaskRow>> tasks(const TaskFilter& filter) = 0;
  virtual StoreResult<TaskRow> complete_task(int64_t task_id) = 0;
  // Re-derives every projection from the log; reports and repairs differences.
  virtual StoreResult<RebuildReport> rebuild() = 0;
  virtual StoreResult<int64_t> episode_count() = 0;
  // Episodes matching the filter, in id order, one page; reads the columns only.
  virtual StoreResult<EpisodePage> list_episodes(const EpisodeFilter& filter) = 0;
  // Non-terminal episodes whose latest clinical event lies on or before
  // query.last_event_by, filtered like list_episodes, oldest last event first
  // (ties in id order); one page. Read through the index of non-terminal
  // episodes by last event (schema 5): the cost follows the episodes found,
  // not the episodes on file.
  virtual StoreResult<InactivePage> list_inactive(const InactiveQuery& query) = 0;
  // Episode counts per state, phase or profile ("none" for no profile), filtered
  // like list_episodes (offset/limit ignored).
  virtual StoreResult<std::vector<std::pair<std::string, int64_t>>> count_episodes(CountBy by, const EpisodeFilter& filter) = 0;
  // Visits every episode projection (for summaries and exports).
  virtual StoreResult<int64_t> for_each_episode(const std::function<void(const Episode&)>& fn) = 0;
};

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
StoreResult<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const Clock& clock,
                                                      StoreOptions options = {});

// The schema versions, oldest first (exposed for the migration test).
int current_schema_version();
const char* schema_v1_sql();

}  // namespace zorgpad
