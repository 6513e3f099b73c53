// The CLI is an adapter: each subcommand lives in its own file with a
// `setup_…(CLI::App&, Context&)` that registers it and its options. Rules live
// in pathway/ and states/, never here. Exit status: 0 ok, 2 bad input (one
// line on stderr, nothing written), 1 failure of the store or the system.
#pragma once
#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pathway/clock.hpp"
#include "pathway/codes.hpp"
#include <nlohmann/json.hpp>

#include "persistence/store.hpp"

namespace zorgpad::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Global options and the outcome of the subcommand that ran.
struct Context {
  std::string db;     // --db, else $ZORGPAD_DB, else ./zorgpad.db: a path, sqlite:///PATH or postgresql://…
  std::string practice;  // --practice, else $ZORGPAD_PRACTICE: the practice, with PostgreSQL
  std::string today;  // --today: the clock's date (default: the system clock)
  int status = kExitOk;

  // The injected clock: --today when given, else the system clock.
  const Clock& clock();
  // Opens the store at `db`; on failure prints the error, sets status, returns null.
  // A SQLite file that is not there is such a failure (exit 2, and no file
  // is created) unless `create` (init).
  std::unique_ptr<Store> open_store(StoreOptions options = {}, bool create = false);
  // False, with "no database 'FILE' (create one with `zorgpad init`)" printed
  // and status 2, when `db` names a SQLite file that does not exist. A
  // PostgreSQL URL passes (its schema is checked when it is opened).
  bool require_database();
  // Prints a store error and sets the exit status from its kind.
  void fail(const Error& e);
  void fail_bad_input(const std::string& message);

 private:
  std::unique_ptr<Clock> clock_;
};

// Prints "zorgpad: <message>" on stderr as one line.
void print_error(const std::string& message);
// Reads FILE, or standard input for "-". A NUL byte is an error (it would
// end the text silently for every reader after this one).
Expected<std::string> read_input(const std::string& path);
// Writes through a temporary file in the same directory, synced and renamed
// into place, readable by the owner only (0600): every file zorgpad writes
// may hold patient data.
Status write_private_file(const std::string& path, const std::string& content);
// Progress of a long command (import, rebuild, migrate) on standard error,
// only when it is a terminal: "rebuild: 12000 of 50000 episodes (24 %),
// 8100/s, about 5 s left", redrawn in place with \r at most four times a
// second and erased by finish() (or the destructor), so that what the command
// prints afterwards stands alone. Quiet when standard error is not a
// terminal (scripts, logs, tests): callback() is then empty and the engine
// skips the counting.
class ProgressLine {
 public:
  ProgressLine(std::string what, std::string unit);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  bool active() const { return active_; }
  // The total when the engine reports none (an import's lines, counted by the CLI).
  void set_total(int64_t total) { known_total_ = total; }
  Progress callback();
  void update(int64_t done, int64_t total);
  void finish();

 private:
  std::string what_, unit_;
  bool active_ = false, drawn_ = false;
  int64_t known_total_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// The allowed values in an option's help ("TEXT:{open,done,cancelled}"), for
// options whose command checks the value itself (and says what is wrong in
// its own words): this validator only describes, it never refuses.
CLI::Validator allowed_values(const std::vector<std::string_view>& names);
template <typename E, std::size_t N>
CLI::Validator allowed_values(const CodeTable<E, N>& table) {
  return allowed_values(std::vector<std::string_view>(table.names.begin(), table.names.end()));
}

// Parses a date option; prints the error and returns nullopt when malformed.
std::optional<Date> parse_date_option(Context& ctx, const std::string& name, const std::string& value);

void setup_replay(CLI::App& app, Context& ctx);
void setup_diagram(CLI::App& app, Context& ctx);
void setup_init(CLI::App& app, Context& ctx);
void setup_open(CLI::App& app, Context& ctx);
void setup_record(CLI::App& app, Context& ctx);
void setup_import(CLI::App& app, Context& ctx);
void setup_tick(CLI::App& app, Context& ctx);
void setup_worker(CLI::App& app, Context& ctx);
void setup_migrate(CLI::App& app, Context& ctx);
void setup_show(CLI::App& app, Context& ctx);
void setup_tasks(CLI::App& app, Context& ctx);
void setup_task(CLI::App& app, Context& ctx);
void setup_rebuild(CLI::App& app, Context& ctx);
void setup_demo(CLI::App& app, Context& ctx);
void setup_calendar(CLI::App& app, Context& ctx);
void setup_fhir(CLI::App& app, Context& ctx);
void setup_letter(CLI::App& app, Context& ctx);
void setup_letters(CLI::App& app, Context& ctx);
void setup_overview(CLI::App& app, Context& ctx);
void setup_serve(CLI::App& app, Context& ctx);
void setup_user(CLI::App& app, Context& ctx);
void setup_audit(CLI::App& app, Context& ctx);

}  // namespace zorgpad::cli
