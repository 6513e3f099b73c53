// The CLI is an adapter: each subcommand lives in its own file with a
// `setup_…(CLI::App&, Context&)` that registers it and its options. Rules live
// in pathway/ and states/, never here. Exit status: 0 ok, 2 bad input (one
// line on stderr, nothing written), 1 failure of the store or the system.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "pathway/clock.hpp"
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
  std::unique_ptr<Store> open_store(StoreOptions options = {});
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
