// `zorgpad audit`: who saw or changed which episode, when, from where (NEN
// 7513). Reads the append-only audit log of the practice; newest first.
#include <ctime>
#include <iostream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

namespace {

std::string utc(int64_t t) {
  std::time_t tt = std::time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void setup_audit(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("audit", "Who read or changed a patient's data: the audit log, newest first");
  struct Opts { std::string episode, user, since; bool json = false; int64_t limit = 1000; };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--episode", o->episode, "only accesses to this episode");
  cmd->add_option("--user", o->user, "only this user (as the log names them: user:NAME#ID, local:LOGIN, cli:LOGIN)");
  cmd->add_option("--since", o->since, "only from this date on (YYYY-MM-DD, UTC)");
  cmd->add_option("--limit", o->limit, "at most this many rows")->check(CLI::Range(1, 1000000));
  cmd->add_flag("--json", o->json, "JSON lines");
  cmd->callback([o, &ctx] {
    AuditQuery q;
    q.limit = o->limit;
    if (!o->episode.empty()) q.episode = o->episode;
    if (!o->user.empty()) q.user = o->user;
    if (!o->since.empty()) {
      auto d = parse_date_option(ctx, "--since", o->since);
      if (!d) return;
      q.since = int64_t(d->days) * 86400;
    }
    auto store = ctx.open_store();
    if (!store) return;
    auto rows = store->audit_log(q);
    if (!rows) return ctx.fail(rows.error());
    for (const auto& r : *rows) {
      if (o->json) {
        std::cout << nlohmann::json{{"id", r.id}, {"at", utc(r.at)}, {"user", r.user}, {"role", r.role}, {"action", r.action},
                                    {"episodes", r.episodes}, {"address", r.address}, {"outcome", r.outcome}}
                         .dump()
                  << "\n";
        continue;
      }
      std::string eps;
      for (const auto& e : r.episodes) eps += (eps.empty() ? "" : ",") + e;
      std::cout << utc(r.at) << "\t" << r.user << "\t" << r.role << "\t" << r.action << "\t" << (eps.empty() ? "-" : eps)
                << "\t" << r.address << "\t" << r.outcome << "\n";
    }
  });
}

}  // namespace zorgpad::cli
