// The engine: the one place that turns a command (open, record, import, tick,
// complete a task, rebuild) into log entries, a new episode value and task
// changes, and the one replay of a log into an episode. It runs the state
// machine (machine.hpp) over a Repository (repository.hpp) and never touches
// SQL; every backend runs this same code. Adapters (CLI, web, letters, demo)
// hold an Engine.
//
// Every command is one transaction: it commits completely or leaves the
// database unchanged and returns the error (ErrorKind::bad_input for input
// the pathway refuses, ErrorKind::store for the database). No exception
// crosses it. Thread-safety: one Engine (and repository) per thread.
#pragma once
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>
#include <spdlog/logger.h>

#include "pathway/clock.hpp"
#include "pathway/event.hpp"
#include "pathway/expected.hpp"
#include "states/episode.hpp"
#include "states/repository.hpp"

namespace zorgpad {

// Replays an episode's events into its value: the one replay, used by
// `replay` (scenarios), by rebuild (stored logs) and by every backend.
class Replayer final : public LogReplay {
 public:
  explicit Replayer(std::string id, std::string patient = {}) : id_(std::move(id)), patient_(std::move(patient)) {}
  // The first event: opens the episode under the event's revision, else
  // `default_revision`.
  Status open(const Event& ev, int default_revision);
  Status event(const Event& ev);
  Status task_done(int task_seq, Date at);
  void advance_to(Date at);
  bool opened() const { return ep_.has_value(); }
  Episode& episode() { return *ep_; }

  // A stored entry (LogReplay): a log without a revision in its `open` is
  // revision 1's; a patient reference missing from it is taken from the row.
  Status entry(std::string_view type, std::string_view body) override;
  Expected<Episode> finish(std::optional<Date> ticked_to) override;

 private:
  std::string id_, patient_;
  std::optional<Episode> ep_;
};

// Progress of a long command (import, rebuild, adopt_all): `done` items of
// `total` (0 when the command cannot know it, as for an import's lines). Called
// at most once every kProgressEvery items, and once at the end; never from two
// threads at once (rebuild runs on several). Optional: an empty function costs
// nothing.
using Progress = std::function<void(int64_t done, int64_t total)>;
inline constexpr int64_t kProgressEvery = 256;

struct ImportReport {
  int64_t lines = 0, recorded = 0, duplicates = 0, episodes_opened = 0;
};

struct TickReport {
  int64_t episodes = 0, timers = 0;
};

// Who the commands are done for (a user of the network service, the CLI's
// login): while one is set, every write command appends its audit row in its
// own transaction (NEN 7513).
struct Actor {
  std::string user, role, address;
  // When the access happened: the real time, also when the pathway's clock
  // stands on a fixed date (--today), so that an access cannot be back-dated
  // in the audit log. None: the engine's clock.
  const Clock* audit_clock = nullptr;
};

class Engine {
 public:
  Engine(std::unique_ptr<Repository> repo, const Clock& clock, std::shared_ptr<spdlog::logger> log);

  // Creates an episode from an `open` event. Generates "ep-N" when id is empty.
  Expected<Recorded> open(const std::string& id, const std::string& patient, const Event& event);
  // Appends one clinical event. expect_seq: reject unless the episode's log ends at it.
  Expected<Recorded> record(const std::string& episode, const Event& event, std::optional<int64_t> expect_seq);
  // NDJSON lines {"episode", "patient", "event"}; committed every batch_size lines.
  // Progress counts lines read (total 0: the engine does not know it).
  Expected<ImportReport> import(std::istream& in, int batch_size, const Progress& progress = {});
  // Fires every timer due on or before `now`.
  Expected<TickReport> tick(Date now);
  // Fires the timers of at most `limit` episodes due on or before `now`, in
  // one transaction of their own, claimed so that concurrent workers never
  // take the same episode (a backend with batched_ticks() only). Returns what
  // fired; 0 episodes when nothing is left due.
  Expected<TickReport> tick_batch(Date now, int limit);
  // Takes over episodes' logs from another database (migrate), all in one
  // transaction: each log is written as it is (event ids and times kept),
  // advanced to `ticked_to` after its last entry, and the projections derived
  // by the engine; it must replay to `expected`. An episode already present
  // with the same log is left alone; with a different log it is an error and
  // nothing is written. `load` gives an episode by id (it may be called again
  // for the same id when the transaction is retried).
  struct Adoption {
    Episode expected;
    std::vector<LogEntry> log;
    std::optional<Date> ticked_to;
  };
  struct AdoptReport {
    int64_t copied = 0, present = 0;
  };
  // Progress counts episodes of ids.size() (from the start again if the
  // transaction is retried).
  Expected<AdoptReport> adopt_all(const std::vector<std::string>& ids, const std::function<Expected<Adoption>(const std::string&)>& load,
                                  const Progress& progress = {});
  // Many practices in one database (PostgreSQL): the practice the next
  // commands work on, and every practice on file.
  Status use_practice(const std::string& code) { return repo_->use_practice(code); }
  Expected<std::vector<std::string>> practices() { return repo_->practices(); }
  bool batched_ticks() const { return repo_->batched_ticks(); }
  Expected<std::vector<LogEntry>> raw_log(const std::string& episode) { return repo_->log(episode); }
  Expected<int64_t> due_count(Date now) { return repo_->due_count(now); }
  Expected<std::optional<std::string>> content_version() { return repo_->content_version(); }
  // Marks a task done, dated like an event: the clock's today, or the
  // episode's latest event or timer if later; timers due by then fire first.
  Expected<TaskRow> complete_task(int64_t task_id);
  // Re-derives every projection from the log; reports and repairs differences.
  // Progress counts episodes replayed of those on file when it started.
  Expected<RebuildReport> rebuild(const Progress& progress = {});

  // The audit trail. set_actor: who the next commands are for (none: not audited).
  void set_actor(std::optional<Actor> actor) { actor_ = std::move(actor); }
  const std::optional<Actor>& actor() const { return actor_; }
  // Appends an audit row for the actor (a read, or a write that was refused),
  // in a transaction of its own. Without an actor, nothing.
  Status audit(const std::string& action, std::vector<std::string> episodes, const std::string& outcome = "ok");
  Expected<std::vector<AuditRow>> audit_log(const AuditQuery& query) { return repo_->audit(query); }
  // Rows built elsewhere (serve's group commit of read accesses), in one
  // transaction of their own, in the practice at hand.
  Status append_audits(const std::vector<AuditRow>& rows) { return repo_->append_audits(rows); }
  // Users (every practice of the database).
  Expected<int64_t> add_user(const UserRow& user) { return repo_->add_user(user); }
  Expected<std::optional<UserRow>> user(int64_t id) { return repo_->user(id); }
  Expected<std::vector<UserRow>> users(const std::optional<std::string>& practice) { return repo_->users(practice); }
  Expected<bool> revoke_user(int64_t id) { return repo_->revoke_user(id, clock_.unix_seconds()); }
  const Clock& clock() const { return clock_; }

  // Reads.
  Expected<Episode> load(const std::string& episode) { return repo_->episode(episode); }
  // The episode's log, oldest first, read as events (one reader for every backend).
  Expected<std::vector<StoredEvent>> events(const std::string& episode);
  Expected<int64_t> log_length(const std::string& episode) { return repo_->log_length(episode); }
  Expected<std::vector<TaskRow>> tasks(const TaskFilter& filter) { return repo_->tasks(filter); }
  Status for_each_task(const TaskFilter& filter, const std::function<void(const TaskRow&)>& fn) {
    return repo_->for_each_task(filter, fn);
  }
  Expected<int64_t> episode_count() { return repo_->episode_count(); }
  // Episodes matching the filter, in id order, one page; reads the columns only.
  Expected<EpisodePage> list_episodes(const EpisodeFilter& filter) { return repo_->list_episodes(filter); }
  // Non-terminal episodes whose latest clinical event lies on or before
  // query.last_event_by, oldest last event first; one page, read through an
  // index: the cost follows the episodes found, not the episodes on file.
  Expected<InactivePage> list_inactive(const InactiveQuery& query) { return repo_->list_inactive(query); }
  // Episode counts per state, phase or profile ("none" for no profile).
  Expected<std::vector<std::pair<std::string, int64_t>>> count_episodes(CountBy by, const EpisodeFilter& filter) {
    return repo_->count_episodes(by, filter);
  }
  Expected<int64_t> for_each_episode(const std::function<void(const Episode&)>& fn) { return repo_->for_each_episode(fn); }

 private:
  Expected<Recorded> open_in(const std::string& id, const std::string& patient, const Event& event);
  Expected<Recorded> record_in(const std::string& episode, const Event& event, std::optional<int64_t> expect_seq);
  Status import_line(const nlohmann::json& j, ImportReport& rep);
  Expected<Recorded> earlier(Recorded r);
  // Inside a write: the actor's audit row for `action` on `episodes`.
  Status audit_in(const char* action, std::vector<std::string> episodes);
  AuditRow audit_row(const std::string& action, std::vector<std::string> episodes, const std::string& outcome) const;

  std::unique_ptr<Repository> repo_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  std::optional<Actor> actor_;
};

// "ep-1 event 4 (measurement)": how an error names an event.
std::string event_label(const std::string& episode, int64_t index, std::string_view type);
// The same for an event object as it was read (its "type", when a string).
std::string event_label(const std::string& episode, int64_t index, const nlohmann::json& event);

}  // namespace zorgpad
