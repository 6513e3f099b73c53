#include <cstring>
#include <cerrno>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <pwd.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string_view>
#include <vector>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void print_error(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "zorgpad: " << line << "\n";
}

Expected<std::string> read_input(const std::string& path) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return bad_input("cannot read '" + clip(path) + "'");
    buf << in.rdbuf();
  }
  std::string text = buf.str();
  if (auto nul = text.find('\0'); nul != std::string::npos)
    return bad_input("the input contains a NUL byte (at byte " + std::to_string(nul) + ")");
  return text;
}

Status write_private_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  auto failed = [&] { return Status::Fail("cannot write '" + clip(path) + "': " + std::strerror(errno), ErrorKind::store); };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failed();
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = failed();
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = failed();
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

CLI::Validator allowed_values(const std::vector<std::string_view>& names) {
  std::string set;
  for (auto n : names) set += (set.empty() ? "" : ",") + std::string(n);
  return CLI::Validator([](std::string&) { return std::string(); }, "{" + set + "}");
}

std::optional<Date> parse_date_option(Context& ctx, const std::string& name, const std::string& value) {
  auto d = Date::parse(value);
  if (!d) ctx.fail_bad_input("option " + name + ": '" + value.substr(0, 40) + "' is not a date (YYYY-MM-DD)");
  return d;
}

const Clock& Context::clock() {
  if (!clock_) {
    if (!today.empty()) clock_ = std::make_unique<ManualClock>(*Date::parse(today));
    else clock_ = std::make_unique<SystemClock>();
  }
  return *clock_;
}

bool Context::require_database() {
  if (is_postgres_url(db)) return true;  // a server's database is created by its owner (init --app-role)
  const std::string path = sqlite_path(db);
  struct stat st;
  // Anything but "no such file" is for opening to report (a directory, no permission).
  if (path.empty() || ::stat(path.c_str(), &st) == 0 || errno != ENOENT) return true;
  fail_bad_input("no database '" + clip(db) + "' (create one with `zorgpad init`)");
  return false;
}

std::unique_ptr<Store> Context::open_store(StoreOptions options, bool create) {
  if (!create && !require_database()) return nullptr;
  if (!options.logger) options.logger = spdlog::get("zorgpad");
  auto r = zorgpad::open_store(db, practice, clock(), options);
  if (!r) {
    print_error(r.error().message);
    status = kExitBadInput;  // the file named is not usable as a zorgpad store
    return nullptr;
  }
  // What the CLI writes is audited under the login that ran it (NEN 7513).
  const passwd* pw = ::getpwuid(::geteuid());
  static const SystemClock wall;  // the audit log's time is the real one, whatever --today says
  r.value()->set_actor(
      Actor{std::string("cli:") + (pw && pw->pw_name ? pw->pw_name : std::to_string(::geteuid()).c_str()), "cli", "local", &wall});
  return std::move(r.value());
}

void Context::fail(const Error& e) {
  print_error(e.message);
  status = e.kind == ErrorKind::store ? kExitFailure : kExitBadInput;
}

void Context::fail_bad_input(const std::string& message) {
  print_error(message);
  status = kExitBadInput;
}

}  // namespace zorgpad::cli

namespace {

using namespace zorgpad::cli;

// Levenshtein distance: insertions, deletions and substitutions, one each.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t(0));
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate nearest to `word`, when near enough to be a typo (at most
// two edits, or a third of the word); empty otherwise.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates)
    if (size_t d = edit_distance(word, c); d < best_distance && d < std::max(word.size(), c.size())) {
      best = c;
      best_distance = d;
    }
  return best;
}

std::vector<CLI::App*> subcommands_of(CLI::App* app) {
  return app->get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
}

CLI::App* subcommand_named(CLI::App* app, const std::string& name) {
  for (CLI::App* sub : subcommands_of(app))
    if (sub->check_name(name)) return sub;
  return nullptr;
}

// The option `name` (--long or -s) of `app` or of an app above it (global
// options may follow the subcommand: fallthrough).
CLI::Option* option_named(CLI::App* app, const std::string& name) {
  for (; app; app = app->get_parent())
    for (CLI::Option* opt : app->get_options())
      if (opt->check_name(name)) return opt;
  return nullptr;
}

std::string command_path(CLI::App* app) {
  std::string path;
  for (; app && app->get_parent(); app = app->get_parent()) path = app->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// After CLI11 refused the command line: the first word it did not know (a
// subcommand or an option), named with the nearest known one. Walks the
// arguments as CLI11 does: subcommands descend, an option that takes a value
// skips it. Empty when every word is known (then CLI11's own message says
// what is wrong: a missing or invalid value).
std::string unknown_word_message(CLI::App& top, int argc, char** argv) {
  CLI::App* app = &top;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      const std::string name = arg.substr(0, arg.find('='));
      if (CLI::Option* opt = option_named(app, name)) {
        if (opt->get_type_size() != 0 && name.size() == arg.size()) ++i;  // its value
        continue;
      }
      std::vector<std::string> names;
      for (CLI::App* a = app; a; a = a->get_parent())
        for (CLI::Option* opt : a->get_options()) {
          for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
          for (const auto& s : opt->get_snames()) names.push_back("-" + s);
        }
      const std::string path = command_path(app);
      std::string msg = "unknown option '" + zorgpad::clip(name, 40) + "'" + (path.empty() ? "" : " of '" + path + "'");
      if (auto near = nearest(name, names); !near.empty()) return msg + "; did you mean '" + near + "'?";
      return msg + " (see zorgpad " + (path.empty() ? "" : path + " ") + "--help)";
    }
    if (CLI::App* sub = subcommand_named(app, arg)) {
      app = sub;
      continue;
    }
    // A word that is no subcommand, where only a subcommand can stand.
    const auto subs = subcommands_of(app);
    if (subs.empty() || !app->get_options([](CLI::Option* o) { return o->get_positional(); }).empty()) continue;
    std::vector<std::string> names;
    for (CLI::App* sub : subs) names.push_back(sub->get_name());
    const std::string path = command_path(app);
    std::string msg = path.empty() ? "unknown command '" + zorgpad::clip(arg, 40) + "'"
                                   : "unknown command '" + zorgpad::clip(arg, 40) + "' of '" + path + "'";
    if (auto near = nearest(arg, names); !near.empty()) return msg + "; did you mean '" + near + "'?";
    return msg + " (see zorgpad " + (path.empty() ? "" : path + " ") + "--help)";
  }
  return {};
}

// `letters` writes the open letter tasks, the only ones it can write: its
// --pending flag says so and changes nothing. Marked required, the help
// called a flag with nothing to choose "REQUIRED"; it is optional here (the
// help says it is the default), and `letters --pending` works as before.
// Left alone once letter_cmd.cpp declares the flag optional itself.
void honest_letters_pending(CLI::App& app) {
  CLI::App* letters = subcommand_named(&app, "letters");
  CLI::Option* pending = letters ? letters->get_option_no_throw("--pending") : nullptr;
  if (pending && pending->get_required())
    pending->required(false)->description("the letter tasks still open: what `letters` writes, the flag given or not (the default)");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace zorgpad::cli;
  // Diagnostics go to stderr at warning level unless ZORGPAD_LOG=info|debug;
  // the store logs episode ids only, never patient data.
  auto logger = spdlog::stderr_logger_mt("zorgpad");
  logger->set_level(spdlog::level::warn);
  if (const char* lvl = std::getenv("ZORGPAD_LOG")) logger->set_level(spdlog::level::from_str(lvl));

  CLI::App app{"zorgpad — the low back pain care pathway (KNGF 2021, KCE 295) as a workflow engine"};
  // Every option's help shows its default (and a validator its allowed values).
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", std::string("zorgpad ") + ZORGPAD_VERSION, "print the version and exit");
  app.require_subcommand(1);
  // Global options (--db, --practice, --today) may also follow the subcommand.
  app.fallthrough();
  Context ctx;
  const char* env_db = std::getenv("ZORGPAD_DB");
  ctx.db = env_db && *env_db ? env_db : "zorgpad.db";
  app.add_option("--db", ctx.db,
                 "the database: a SQLite file (a path or sqlite:///PATH) or a PostgreSQL URL (postgresql://…) "
                 "(default: $ZORGPAD_DB, else ./zorgpad.db)");
  const char* env_practice = std::getenv("ZORGPAD_PRACTICE");
  if (env_practice) ctx.practice = env_practice;
  app.add_option("--practice", ctx.practice,
                 "the practice (PostgreSQL: one database for many practices; default: $ZORGPAD_PRACTICE)");
  app.add_option("--today", ctx.today, "the clock's date, YYYY-MM-DD (default: $ZORGPAD_TODAY, else the real today)")
      ->envname("ZORGPAD_TODAY")
      ->check([](const std::string& v) { return zorgpad::Date::parse(v) ? "" : "not a date (YYYY-MM-DD; from --today or $ZORGPAD_TODAY)"; });
  setup_replay(app, ctx);
  setup_diagram(app, ctx);
  setup_init(app, ctx);
  setup_open(app, ctx);
  setup_record(app, ctx);
  setup_import(app, ctx);
  setup_tick(app, ctx);
  setup_worker(app, ctx);
  setup_migrate(app, ctx);
  setup_show(app, ctx);
  setup_tasks(app, ctx);
  setup_task(app, ctx);
  setup_rebuild(app, ctx);
  setup_demo(app, ctx);
  setup_calendar(app, ctx);
  setup_fhir(app, ctx);
  setup_letter(app, ctx);
  setup_letters(app, ctx);
  setup_overview(app, ctx);
  setup_serve(app, ctx);
  setup_user(app, ctx);
  setup_audit(app, ctx);
  honest_letters_pending(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    const std::string unknown = unknown_word_message(app, argc, argv);
    print_error(unknown.empty() ? e.what() : unknown);
    return kExitBadInput;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return kExitFailure;
  }
  return ctx.status;
}
