// What the engine needs from a database: the repository interface. A backend
// (persistence/: SQLite today, PostgreSQL next) implements it with SQL only;
// every pathway rule stays in the engine (states/engine.hpp), which calls it.
//
// The unit of work: inside write(), load() hands out the episode held by the
// running transaction (one copy per episode, however often it is loaded); the
// engine changes it in place and appends log entries; flush() and the commit
// write every episode handed out back as its projection (episode row, task
// rows, counts). A failed command rolls back and forgets what it loaded.
//
// Every method returns the one result type; no exception crosses it.
// Thread-safety: one repository per thread; several processes may share a
// database (writers wait for each other).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pathway/date.hpp"
#include "pathway/event.hpp"
#include "pathway/expected.hpp"
#include "states/episode.hpp"

namespace zorgpad {

// The log entry of `task done` (entries of clinical events are named by their
// trigger).
inline constexpr const char* kTaskDoneEntry = "task_done";

// One entry of an episode's log, as it is written.
struct LogEntry {
  int64_t seq = 0;       // 1-based place in the episode's log
  std::string type;      // the event's type, or kTaskDoneEntry
  Date at;
  std::string body;      // JSON text
  std::string event_id;  // the idempotency key; empty when none
  int64_t recorded_at = 0;  // when it was written (Unix seconds); 0: now, by the clock
};

// One entry of an episode's log, as it is read: a clinical event, or a task
// marked done.
struct StoredEvent {
  int64_t seq = 0;
  std::string type;
  Date at;
  std::optional<Event> event;  // clinical entries
  int task = 0;                // task_done entries: the task's number in the episode
};

// An episode held by a write transaction, with the length of its log.
struct Working {
  Episode ep;
  int64_t last_seq = 0;
};

struct Recorded {
  std::string episode;
  int64_t seq = 0;         // the event's place in the episode's log
  bool duplicate = false;  // the event id was recorded before; nothing changed
  State state{};           // the episode after the command
  Phase phase{};
};

struct TaskRow {
  int64_t id = 0;
  std::string episode;
  Task task;
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

struct RebuildReport {
  int64_t episodes = 0, events = 0;
  std::vector<std::string> differences;  // "ep-1: field 'state'", episode ids only
};

// ---- users and the audit log (NEN 7513) ---------------------------------------------
// A user of the network service. The token itself is never stored: only its
// SHA-256 (the token is 32 random bytes, so a fast hash is as good as a slow
// one). Roles: "therapist", "practice_admin", "coordinator", "gp".
struct UserRow {
  int64_t id = 0;
  std::string name, role;
  std::string practice;  // the practice a therapist, practice admin (or gp, when given) belongs to; "" for all
  std::string gp;        // a gp's GP code
  std::string token_hash;  // 64 hex digits
  int64_t created_at = 0;  // Unix seconds
  std::optional<int64_t> revoked_at;
};

// One access to patients' data: who, when, what, from where. Append-only.
struct AuditRow {
  int64_t id = 0;
  int64_t at = 0;  // Unix seconds, from the clock
  std::string practice;
  std::string user;  // "user:NAME#ID", "local:LOGIN" (serve on loopback without a token), "cli:LOGIN"
  std::string role;
  std::string action;  // "episode.read", "event.record", "letter.read", ...
  std::vector<std::string> episodes;
  std::string address;  // the client's address; "local" for the CLI
  std::string outcome;  // "ok", or the refusal: "rejected 422", "denied 403"
};

struct AuditQuery {
  std::optional<std::string> episode, user;
  std::optional<int64_t> since;  // Unix seconds, inclusive
  int64_t limit = 1000;
};

// Replays one episode's stored log: the engine's (states/engine.hpp), handed
// to the repository's rebuild so that the backend replays nothing itself.
class LogReplay {
 public:
  virtual ~LogReplay() = default;
  // The next entry of the episode's log, oldest first.
  virtual Status entry(std::string_view type, std::string_view body) = 0;
  // After the last entry: the episode, advanced to `ticked_to` (the latest
  // tick logged after its last entry) when given.
  virtual Expected<Episode> finish(std::optional<Date> ticked_to) = 0;
};
// A fresh replay of the episode `id` (one per episode; called from several
// threads at once).
using LogReplayFactory = std::function<std::unique_ptr<LogReplay>(const std::string& id)>;

class Repository {
 public:
  virtual ~Repository() = default;

  // ---- transactions ---------------------------------------------------------------
  // Runs `body` in one write transaction: commits when it returns Ok (after
  // writing back every episode handed out), rolls back otherwise. A database
  // failure inside is returned as an ErrorKind::store error. `body` may run
  // more than once: a backend retries a transaction that lost a race with
  // another (PostgreSQL: a key another transaction inserted first, a
  // deadlock), so it must start from scratch each time.
  virtual Status write(const std::function<Status()>& body) = 0;
  // Runs `body` on one consistent read snapshot.
  virtual Status read(const std::function<Status()>& body) = 0;

  // ---- inside write() ------------------------------------------------------------
  // The episode held by this transaction, or nullptr when there is none.
  virtual Expected<Working*> load(const std::string& id) = 0;
  // A new episode (log empty); written back with the others.
  virtual Expected<Working*> create(Episode ep) = 0;
  virtual Expected<bool> exists(const std::string& id) = 0;
  // An unused "ep-N".
  virtual Expected<std::string> next_episode_id() = 0;
  // Where an event id was recorded before, if it was.
  virtual Expected<std::optional<Recorded>> find_event(const std::string& event_id) = 0;
  virtual Status append(const std::string& episode, const LogEntry& entry) = 0;
  // Writes back the episodes handed out so far (they stay held).
  virtual Status flush() = 0;
  // The first `limit` episodes with a timer due on or before `now`, by due date.
  virtual Expected<std::vector<Working*>> load_due(Date now, int limit) = 0;
  // Logs that every timer due on or before `now` fired (one row per tick).
  virtual Status log_tick(Date now) = 0;
  // The episode and number of a task, by the task's id.
  virtual Expected<std::optional<std::pair<std::string, int>>> task_ref(int64_t task_id) = 0;

  // ---- reads (each its own snapshot) ---------------------------------------------
  // The episode's projection; an unknown id is bad input.
  virtual Expected<Episode> episode(const std::string& id) = 0;
  // The length of the episode's log (the index of its next entry).
  virtual Expected<int64_t> log_length(const std::string& episode) = 0;
  virtual Expected<std::vector<TaskRow>> tasks(const TaskFilter& filter) = 0;
  // The same rows, one at a time (due, id order) from one snapshot, without
  // holding them all: the overview's pass over every open task.
  virtual Status for_each_task(const TaskFilter& filter, const std::function<void(const TaskRow&)>& fn) = 0;
  virtual Expected<int64_t> episode_count() = 0;
  virtual Expected<EpisodePage> list_episodes(const EpisodeFilter& filter) = 0;
  virtual Expected<InactivePage> list_inactive(const InactiveQuery& query) = 0;
  virtual Expected<std::vector<std::pair<std::string, int64_t>>> count_episodes(CountBy by, const EpisodeFilter& filter) = 0;
  virtual Expected<int64_t> for_each_episode(const std::function<void(const Episode&)>& fn) = 0;

  // ---- rebuild ---------------------------------------------------------------------
  // In one write transaction: replays every episode's log with `replay`,
  // compares the result with the stored projections, repairs and reports the
  // differences (episode ids only).
  virtual Expected<RebuildReport> rebuild(const LogReplayFactory& replay) = 0;

  // ---- many practices (PostgreSQL); a SQLite file is one practice ----------------
  // The practice the next transactions work on.
  // (A SQLite file is one practice: it accepts any code and stays itself.)
  virtual Status use_practice(const std::string& /*code*/) { return Status::Ok(); }
  // Every practice in the database ("" for the one of a SQLite file).
  virtual Expected<std::vector<std::string>> practices() { return std::vector<std::string>{""}; }
  // True when load_due may be cut into batches, each its own transaction
  // (log_tick then records the ticks of the episodes loaded by load_due, not
  // of every episode): the claim of many workers.
  virtual bool batched_ticks() const { return false; }
  // Inside write(), before a batch of commands (an import): the event ids and
  // episodes the batch names, so that a backend over a network can look them
  // all up (and lock the episodes) in one round trip instead of one per line.
  // Only a hint: find_event, exists and load answer the same without it.
  virtual Status prefetch(const std::vector<std::string>& /*event_ids*/, const std::vector<std::string>& /*episodes*/) {
    return Status::Ok();
  }
  // The episodes with a timer due on or before `now` (its own snapshot),
  // those other transactions hold included.
  virtual Expected<int64_t> due_count(Date now) = 0;
  // A text that changes whenever the episodes' projections may have changed
  // (an entry appended to any log, a tick): a cache of a derived answer (the
  // overview) is good while it stays the same. None: the backend cannot say
  // cheaply, and nothing is cached.
  virtual Expected<std::optional<std::string>> content_version() { return std::optional<std::string>(); }
  // The episode's log as written (entries in order, with their event ids).
  virtual Expected<std::vector<LogEntry>> log(const std::string& episode) = 0;
  // Inside write(): the episode (held) was advanced to `at` after log entry
  // `after_seq` (a tick), as log_tick records it for the episodes it fired.
  virtual Status note_ticked(const std::string& /*episode*/, int64_t /*after_seq*/, Date /*at*/) {
    return Status::Fail("this backend logs ticks for the whole database only", ErrorKind::store);
  }

  // ---- users and the audit log ------------------------------------------------------
  // Users are of the database (every practice); each call its own transaction.
  virtual Expected<int64_t> add_user(const UserRow& user) = 0;  // the new id
  virtual Expected<std::optional<UserRow>> user(int64_t id) = 0;
  virtual Expected<std::vector<UserRow>> users(const std::optional<std::string>& practice) = 0;
  // False when there is no such user or it was revoked before.
  virtual Expected<bool> revoke_user(int64_t id, int64_t at) = 0;
  // Appends to the audit log of the practice at hand: inside write(), in that
  // transaction; outside, in a transaction of its own.
  virtual Status append_audit(const AuditRow& row) = 0;
  // Several rows of the practice at hand in one transaction of their own (a
  // group commit of the audit rows of many reads).
  virtual Status append_audits(const std::vector<AuditRow>& rows) = 0;
  // Newest first.
  virtual Expected<std::vector<AuditRow>> audit(const AuditQuery& query) = 0;
};

}  // namespace zorgpad
