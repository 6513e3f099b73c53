#include <cstring>
#include <cerrno>
#include <unistd.h>
#include <fcntl.h>
#include <pwd.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

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

std::unique_ptr<Store> Context::open_store(StoreOptions options) {
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

int main(int argc, char** argv) {
  using namespace zorgpad::cli;
  // Diagnostics go to stderr at warning level unless ZORGPAD_LOG=info|debug;
  // the store logs episode ids only, never patient data.
  auto logger = spdlog::stderr_logger_mt("zorgpad");
  logger->set_level(spdlog::level::warn);
  if (const char* lvl = std::getenv("ZORGPAD_LOG")) logger->set_level(spdlog::level::from_str(lvl));

  CLI::App app{"zorgpad — the low back pain care pathway (KNGF 2021, KCE 295) as a workflow engine"};
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
  app.add_option("--today", ctx.today, "the clock's date, YYYY-MM-DD (default: today)")
      ->check([](const std::string& v) { return zorgpad::Date::parse(v) ? "" : "not a date (YYYY-MM-DD)"; });
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    print_error(e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return kExitFailure;
  }
  return ctx.status;
}
