// `zorgpad migrate --from practice.db --to postgresql://… --practice CODE`:
// moves a practice's SQLite store into a network database. The log is
// copied entry by entry (event ids kept); the projections are derived again
// in the target by the engine, and each episode must come out equal to the
// source's. One transaction for the whole practice: all of it or nothing;
// running it again changes nothing.
#include <unistd.h>

#include <iostream>

#include <spdlog/spdlog.h>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_migrate(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("migrate", "Copy a practice's SQLite store into a PostgreSQL database (idempotent)");
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  cmd->add_option("--from", *from, "the practice's SQLite file")->required();
  cmd->add_option("--to", *to, "the PostgreSQL URL (postgresql://…)")->required();
  cmd->callback([&ctx, from, to] {
    if (!is_postgres_url(*to)) return ctx.fail_bad_input("--to: not a PostgreSQL URL (postgresql://…)");
    if (ctx.practice.empty()) return ctx.fail_bad_input("migrate: give the practice (--practice CODE)");
    if (is_postgres_url(*from)) return ctx.fail_bad_input("--from: a SQLite file, not a PostgreSQL URL");
    if (::access(sqlite_path(*from).c_str(), R_OK) != 0) return ctx.fail_bad_input("--from: cannot read '" + clip(*from) + "'");
    StoreOptions opt;
    opt.logger = spdlog::get("zorgpad");
    auto source = open_store(*from, "", ctx.clock(), opt);
    if (!source) return ctx.fail_bad_input(source.error().message);
    auto target = open_store(*to, ctx.practice, ctx.clock(), opt);
    if (!target) return ctx.fail_bad_input(target.error().message);
    std::vector<std::string> ids;
    auto n = (*source)->for_each_episode([&](const Episode& ep) { ids.push_back(ep.id); });
    if (!n) return ctx.fail(n.error());
    Store& src = **source;
    ProgressLine progress("migrate", "episodes");
    auto r = (*target)->adopt_all(ids, [&src](const std::string& id) -> Expected<Engine::Adoption> {
      auto ep = src.load(id);
      if (!ep) return ep.error();
      auto log = src.raw_log(id);
      if (!log) return log.error();
      // The source logged its ticks for the whole file; the episode was
      // advanced to its latest fired timer after its last entry, if any
      // (adopt_all checks that the log then replays to the same episode).
      std::optional<Date> ticked_to;
      if (!log->empty() && ep->last_fired > log->back().at) ticked_to = ep->last_fired;
      return Engine::Adoption{std::move(*ep), std::move(*log), ticked_to};
    }, progress.callback());
    progress.finish();
    if (!r) return ctx.fail(r.error());
    const int64_t copied = r->copied, present = r->present;
    std::cout << "migrate: " << copied << " episode(s) copied, " << present << " already there, practice " << ctx.practice << "\n";
  });
}

}  // namespace zorgpad::cli
