// The PostgreSQL repository (libpqxx 6.4): SQL only, the same engine as
// SQLite runs over it. One connection per repository; every command is one
// READ COMMITTED transaction that first sets its practice with
// set_config('zorgpad.practice', …, true) (transaction-local: a pooled
// connection carries nothing over), and names the practice in every query as
// well. Episodes are locked with FOR UPDATE when loaded; workers claim due
// timers with FOR UPDATE OF episodes SKIP LOCKED. The write-back of a
// transaction is a handful of set-based statements (json_to_recordset), not a
// statement per row. Split over pg_repository.cpp (connection, write side)
// and pg_queries.cpp (reads, rebuild).
#pragma once
#include <map>
#include <memory>
#include <tuple>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <pqxx/pqxx>
#include <spdlog/logger.h>

#include "pathway/clock.hpp"
#include "persistence/store.hpp"
#include "states/repository.hpp"

namespace zorgpad::pg {

// The first line of a libpq or server message.
std::string first_line_of(std::string s);
// A practice code: letters, digits, '-' and '_', 1 to 32.
bool valid_practice_code(const std::string& code);

// Thrown inside a write transaction when what it read is seen to have moved
// under it (another transaction committed between two of its statements):
// write() runs the transaction again.
struct LostRace : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Held {
  Working w;
  std::vector<Task> tasks_before;
  bool is_new = false;
  bool repair = false;
  bool claimed = false;  // loaded by load_due: log_tick records its tick
  std::optional<std::tuple<std::string, std::string, int>> counted;
  std::optional<Date> stored_next_due;
  size_t tasks_noted = 0;
};

class PgRepository final : public Repository {
 public:
  PgRepository(const std::string& url, std::string practice, const Clock& clock, StoreOptions opt);
  // Connects and checks the schema version and the role's rights.
  Status init();

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

  Status use_practice(const std::string& code) override;
  Expected<std::vector<std::string>> practices() override;
  bool batched_ticks() const override { return true; }
  Expected<std::vector<LogEntry>> log(const std::string& episode) override;
  Status note_ticked(const std::string& episode, int64_t after_seq, Date at) override;
  Status prefetch(const std::vector<std::string>& event_ids, const std::vector<std::string>& episodes) override;
  Expected<int64_t> due_count(Date now) override;

  Expected<int64_t> add_user(const UserRow& user) override;
  Expected<std::optional<UserRow>> user(int64_t id) override;
  Expected<std::vector<UserRow>> users(const std::optional<std::string>& practice) override;
  Expected<bool> revoke_user(int64_t id, int64_t at) override;
  Status append_audit(const AuditRow& row) override;
  Status append_audits(const std::vector<AuditRow>& rows) override;
  Expected<std::vector<AuditRow>> audit(const AuditQuery& query) override;

 private:
  template <typename T, typename Fn>
  Expected<T> guarded(Fn fn);
  // Runs fn(tx) in the running transaction, or in a read-only snapshot of its own.
  template <typename T, typename Fn>
  Expected<T> reading(Fn fn);
  pqxx::connection& conn();  // connects (again) when needed
  Status write_once(const std::function<Status()>& body, bool* lost_race);
  Status write_tx(const std::function<Status()>& body);
  void begin_practice(pqxx::transaction_base& tx);
  Held held_from(const pqxx::row& r, int first);  // body, last_seq, state, phase, profile, next_due from column `first`
  std::optional<Held> fetch(pqxx::transaction_base& tx, const std::string& id, bool lock);
  Held& hold(const std::string& id, Held h);
  void forget();
  void write_back(pqxx::transaction_base& tx);

  std::string url_, practice_;
  const Clock& clock_;
  StoreOptions opt_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<pqxx::connection> conn_;
  pqxx::transaction_base* tx_ = nullptr;  // the running transaction, if any
  bool practice_known_ = false;           // the practice's row exists
  bool broken_ = false;                   // the connection was lost: replace it before the next transaction
  std::unordered_map<std::string, Held> held_;
  std::vector<std::string> order_;
  std::vector<std::pair<std::string, int>> new_tasks_;
  std::vector<std::pair<std::string, LogEntry>> appended_;  // written at the write-back, in one statement
  std::unordered_map<std::string, std::pair<std::string, int64_t>> appended_ids_;  // event id -> (episode, seq)
  std::vector<std::pair<std::string, int64_t>> claimed_;    // episodes fired by load_due, with their log length
  std::vector<std::tuple<std::string, int64_t, Date>> ticked_;
  // What prefetch found (or did not) in this transaction.
  std::unordered_map<std::string, std::pair<std::string, int64_t>> known_events_;
  std::unordered_set<std::string> absent_events_, absent_episodes_;
};

template <typename T, typename Fn>
Expected<T> PgRepository::guarded(Fn fn) {
  try {
    return fn();
  } catch (const pqxx::broken_connection& e) {
    forget();
    // Connect again before the next transaction (a failover, a restart); not
    // here: the transaction that saw it may still be open on the connection.
    broken_ = true;
    return store_failure("the connection to PostgreSQL was lost; nothing of this command was recorded");
  } catch (const pqxx::sql_error& e) {
    // Inside a write transaction, a lost race goes up to write(), which runs
    // the transaction again.
    if (tx_ && (dynamic_cast<const pqxx::unique_violation*>(&e) || dynamic_cast<const pqxx::deadlock_detected*>(&e))) throw;
    forget();
    std::string what = first_line_of(e.what());
    log_->debug("store error: {}", what);
    return store_failure("database error: " + what);
  } catch (const LostRace& e) {
    if (tx_) throw;
    forget();
    return store_failure(std::string("the command lost a race with another too often: ") + e.what());
  } catch (const std::exception& e) {
    forget();
    return store_failure(std::string("internal error: ") + e.what());
  }
}

}  // namespace zorgpad::pg
