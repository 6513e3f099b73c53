#include <cstdio>
#include <filesystem>
#include <iostream>

#include "adapters/cli/commands.hpp"
#include "adapters/demo/simulation.hpp"
#include "adapters/overview/overview.hpp"

namespace zorgpad::cli {

namespace {

void print_counts(Store& store, CountBy by, const char* title) {
  auto r = store.count_episodes(by, EpisodeFilter{});
  if (!r.ok()) return;
  std::cout << "  " << title << ":";
  for (const auto& [name, n] : r.value()) std::cout << "  " << name << " " << n;
  std::cout << "\n";
}

int percent(int part, int whole) { return whole ? (100 * part + whole / 2) / whole : 0; }

}  // namespace

void setup_demo(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("demo",
      "Simulate a physiotherapy practice over six months on the database (never one that already holds episodes)");
  auto o = std::make_shared<DemoOptions>();
  cmd->add_option("--episodes", o->episodes, "episodes to simulate")->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", o->seed, "random seed (the same seed gives the same practice)");
  cmd->callback([o, &ctx] {
    StoreOptions opt;
    opt.synchronous_full = false;  // a simulation: commits stay atomic, fsync per commit is not needed
    o->end = ctx.clock().today();
    ManualClock sim_clock(o->end);  // the store's clock follows the simulated days
    auto opened = open_store(ctx.db, ctx.practice, sim_clock, opt);
    if (!opened) return ctx.fail_bad_input(opened.error().message);
    auto store = std::move(opened.value());
    auto count = store->episode_count();
    if (!count) return ctx.fail(count.error());
    if (count.value() > 0)
      return ctx.fail_bad_input("demo: '" + ctx.db + "' already holds " + std::to_string(count.value()) +
                                " episodes; the demo only writes into an empty database (use --db NEW.db)");
    auto r = simulate_practice(*store, sim_clock, *o);
    if (!r) return ctx.fail(r.error());
    const DemoSummary& s = r.value();
    std::string path = std::filesystem::absolute(ctx.db).string();
    std::cout << "zorgpad demo: a practice of " << s.episodes << " episodes from " << (o->end + -o->days).iso() << " to "
              << o->end.iso() << ", " << s.events << " events, daily ticks\n\n"
              << "Where the episodes stand\n";
    print_counts(*store, CountBy::state, "state");
    print_counts(*store, CountBy::phase, "phase");
    print_counts(*store, CountBy::profile, "profile");
    std::cout << "  recovered (KNGF A.2.3 expects about 25 % after one month, 50 % after three):\n"
              << "    within 1 month of the treatment start: " << s.recovered_1_of_followed << " of " << s.followed_1_month
              << " followed that long (" << percent(s.recovered_1_of_followed, s.followed_1_month) << " %)\n"
              << "    within 3 months: " << s.recovered_3_of_followed << " of " << s.followed_3_months << " ("
              << percent(s.recovered_3_of_followed, s.followed_3_months) << " %)\n\n";
    TaskFilter open;
    open.status = TaskStatus::open;
    auto tasks = store->tasks(open);
    if (!tasks) return ctx.fail(tasks.error());
    std::map<std::string, int> by_kind;
    int overdue = 0;
    for (const auto& t : tasks.value()) {
      by_kind[std::string(kTaskKinds.name(t.task.kind))]++;
      if (is_overdue(t.task, o->end)) ++overdue;  // the overview's rule, the one definition
    }
    // The practice file and an invented patients file beside the database
    // (docs/letters.md): what a practice supplies when it prints letters.
    std::string stem = is_postgres_url(ctx.db) ? std::string("zorgpad-demo") : path;
    if (stem.size() > 3 && stem.compare(stem.size() - 3, 3, ".db") == 0) stem.resize(stem.size() - 3);
    const std::string practice_path = stem + ".practice.toml", patients_path = stem + ".patients.csv";
    if (Status w = write_private_file(practice_path, practice_toml(demo_practice())); !w) return ctx.fail(w.error());
    if (Status w = write_private_file(patients_path, demo_patients_csv(s, o->seed)); !w) return ctx.fail(w.error());
    std::cout << "Open tasks\n";
    for (const auto& [kind, n] : by_kind) std::printf("  %-18s %d\n", kind.c_str(), n);
    std::cout << "  " << kOverdueName << " (" << kOverdueRule << "): " << overdue << "\n\n"
              << "Database: " << path << "\nGo on with:\n"
              << "  build/zorgpad --db " << path << " tasks --status open\n"
              << "  build/zorgpad --db " << path << " show ep-1\n"
              << "  build/zorgpad --db " << path << " overview\n"
              << "  build/zorgpad --db " << path << " serve      # the coordinator's dashboard on http://127.0.0.1:8080\n"
              << "  build/zorgpad --db " << path << " letters --pending --format pdf --out letters \\\n"
              << "      --practice-file " << practice_path << " --patients " << patients_path << "\n"
              << "(the practice file and the invented patients file were written beside the database)\n";
  });
}

}  // namespace zorgpad::cli
