// The SQLite repository (SQLiteCpp): SQL only. Commands run in one RAII
// transaction each; every SQLiteCpp exception is caught at the method
// boundary and returned as an ErrorKind::store error. Split over four files:
// sqlite_repository.cpp (opening, migrations, the write side),
// sqlite_queries.cpp (reads), sqlite_rebuild.cpp (rebuild) and
// sqlite_access.cpp (users, the audit log).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/logger.h>

#include "pathway/clock.hpp"
#include "persistence/store.hpp"
#include "states/repository.hpp"

namespace zorgpad::sqlite {

// Where an episode is counted in episode_counts: state, phase, profile (0: none).
using CountKey = std::tuple<std::string, std::string, int>;
using Counts = std::map<CountKey, int64_t>;
CountKey count_key(const Episode& ep);

// An episode held by the running transaction, with what is needed to write
// back only what changed.
struct Held {
  Working w;
  std::vector<Task> tasks_before;
  bool is_new = false;
  bool repair = false;  // rebuild rewrites every column, the patient reference too
  std::optional<CountKey> counted;  // the stored row's count key; none for a new episode
  // The stored row's last_event and terminal columns: when neither changes,
  // the row is written without them and the index of non-terminal episodes
  // by last event (schema 5) is not touched (a tick never changes them).
  std::string stored_last_event;
  bool stored_terminal = false;
  size_t tasks_noted = 0;  // tasks whose creation is already in the transaction's task order
};

class SqliteRepository final : public Repository {
 public:
  SqliteRepository(const std::string& path, const Clock& clock, StoreOptions opt);
  Status init();  // checks the file, migrates

  Status write(const std::function<Status()>& body) override;
  Status read(const std::function<Status()>& body) override;

  Expected<Working*> load(const std::string& id) override;
  Expected<Working*> create(Episode ep) override;
  Expected<bool> exists(const std::string& id) override;
  Expected<std::string> next_episode_id() override;
  Expected<std::optional<Recorded>> find_event(const std::string& event_id) override;
  Status append(const std::string& episode, const LogEntry& entry) override;
  Status flush() override;
  Expected<std::vector<Working*>> load_due(Date now, int limit) override;
  Status log_tick(Date now) override;
  Expected<std::optional<std::pair<std::string, int>>> task_ref(int64_t task_id) override;

  Expected<Episode> episode(const std::string& id) override;
  Expected<int64_t> log_length(const std::string& episode) override;
  Expected<std::vector<TaskRow>> tasks(const TaskFilter& filter) override;
  Status for_each_task(const TaskFilter& filter, const std::function<void(const TaskRow&)>& fn) override;
  Expected<int64_t> episode_count() override;
  Expected<EpisodePage> list_episodes(const EpisodeFilter& filter) override;
  Expected<InactivePage> list_inactive(const InactiveQuery& query) override;
  Expected<std::vector<std::pair<std::string, int64_t>>> count_episodes(CountBy by, const EpisodeFilter& filter) override;
  Expected<int64_t> for_each_episode(const std::function<void(const Episode&)>& fn) override;

  Expected<RebuildReport> rebuild(const LogReplayFactory& replay) override;
  Expected<std::vector<LogEntry>> log(const std::string& episode) override;
  Expected<int64_t> due_count(Date now) override;
  Expected<std::optional<std::string>> content_version() override;

  Expected<int64_t> add_user(const UserRow& user) override;
  Expected<std::optional<UserRow>> user(int64_t id) override;
  Expected<std::vector<UserRow>> users(const std::optional<std::string>& practice) override;
  Expected<bool> revoke_user(int64_t id, int64_t at) override;
  Status append_audit(const AuditRow& row) override;
  Status append_audits(const std::vector<AuditRow>& rows) override;
  Expected<std::vector<AuditRow>> audit(const AuditQuery& query) override;

 private:
  // Runs fn, turning a database exception into an error; an exception
  // forgets what the command loaded (the transaction is rolled back).
  template <typename T, typename Fn>
  Expected<T> guarded(Fn fn);
  SQLite::Statement& stmt(std::unique_ptr<SQLite::Statement>& s, const char* sql);
  Status rewrite_bodies();
  std::optional<Held> fetch(const std::string& id);
  bool row_exists(const std::string& id);
  void write_back();
  void add_counts(const Counts& counts);
  void insert_audit(const AuditRow& row);

  SQLite::Database db_;
  const Clock& clock_;
  StoreOptions opt_;
  std::shared_ptr<spdlog::logger> log_;
  std::unordered_map<std::string, Held> held_;  // episodes handed out in the running transaction
  // Stable task ids (issue 16): task rows are inserted in the order the
  // commands created them, and episode rows in the order they were first
  // held, so that ids do not depend on how an import is cut into batches.
  std::vector<std::string> order_;                     // held episode ids, first held first
  std::vector<std::pair<std::string, int>> new_tasks_;  // (episode, task number) in creation order
  Held& hold(const std::string& id, Held h);  // holds (or replaces) an episode, keeping order_
  void forget();                              // drops what the transaction held
  bool in_write_ = false;
  std::unique_ptr<SQLite::Statement> due_q_, exists_q_, load_q_, event_id_q_, insert_event_q_, insert_episode_q_,
      update_episode_q_, update_activity_q_, upsert_task_q_, count_q_,
      user_q_, audit_q_;
};

template <typename T, typename Fn>
Expected<T> SqliteRepository::guarded(Fn fn) {
  try {
    return fn();  // an error returned is an answer (a read that found nothing), not a failed transaction
  } catch (const SQLite::Exception& e) {
    forget();
    log_->debug("store error: {}", e.what());
    return store_failure(std::string("database error: ") + e.what());
  } catch (const std::exception& e) {
    forget();
    return store_failure(std::string("internal error: ") + e.what());
  }
}

}  // namespace zorgpad::sqlite
