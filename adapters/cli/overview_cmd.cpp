// `zorgpad overview`: the coordinator's overview in the terminal, the urgent
// tasks first. What counts as urgent, overdue, due this week, waiting on the
// GP or inactive is decided in
// adapters/overview (the same code serves the dashboard); this file parses
// and prints.
#include <cctype>
#include <cstdio>
#include <iostream>

#include "adapters/cli/commands.hpp"
#include "adapters/texts/printable.hpp"
#include "adapters/overview/overview.hpp"

namespace zorgpad::cli {
namespace {

std::string profile_text(const std::optional<int>& p) { return p ? std::to_string(*p) : "-"; }

void print_counts(const char* label, const Counts& counts) {
  std::printf("%-8s", label);
  bool first = true;
  for (const auto& [k, v] : counts) {
    std::printf("%s%s %lld", first ? " " : " · ", k.c_str(), (long long)v);
    first = false;
  }
  std::printf("\n");
}

void print_more(int64_t total, size_t shown) {
  if (total > int64_t(shown)) std::printf("  … and %lld more (--limit, or --json)\n", (long long)(total - int64_t(shown)));
}

void print_tasks(const char* title, const OverviewList<OverviewTask>& list) {
  std::printf("\n%s — %lld\n", title, (long long)list.total);
  if (list.items.empty()) return;
  std::printf("  %7s  %-14s %-12s %-18s %-12s %-10s %5s  %-16s %s\n", "TASK", "EPISODE", "PATIENT", "KIND", "CHECKPOINT",
              "DUE", "LATE", "STATE", "THERAPIST");
  for (const auto& t : list.items)
    std::printf("  %7lld  %-14s %-12s %-18s %-12s %-10s %5d  %-16s %s\n", (long long)t.row.id, printable(t.row.episode).c_str(),
                printable(t.episode.patient).c_str(), std::string(kTaskKinds.name(t.row.task.kind)).c_str(),
                t.row.task.checkpoint ? std::string(kCheckpoints.name(*t.row.task.checkpoint)).c_str() : "-",
                t.row.task.due.iso().c_str(), t.days_late, std::string(kStates.name(t.episode.state)).c_str(),
                printable(t.episode.therapist).c_str());
  print_more(list.total, list.items.size());
}

}  // namespace

void setup_overview(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "overview",
      "The coordinator's overview: urgent tasks first, counts, overdue reevaluations, due this week, waiting on the GP, "
      "referred this month, inactive episodes");
  struct Opts {
    FilterInput filter;
    int64_t limit = 50;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--therapist", o->filter.therapist, "only episodes of this therapist");
  cmd->add_option("--gp", o->filter.gp, "only episodes of this GP");
  cmd->add_option("--state", o->filter.state, "only episodes in this care state")->check(allowed_values(kStates));
  cmd->add_option("--phase", o->filter.phase, "only episodes in this phase")->check(allowed_values(kPhases));
  cmd->add_option("--profile", o->filter.profile, "only episodes with this treatment profile")
      ->check(allowed_values({"1", "2", "3"}));
  cmd->add_option("--search", o->filter.search, "only episodes whose id or patient reference starts with TEXT");
  cmd->add_option("--limit", o->limit, "rows per list (totals count all)")
      ->check(CLI::Range(int64_t(1), kOverviewMaxLimit));
  cmd->add_flag("--json", o->json, "print the overview as JSON (as GET /api/overview)");
  cmd->callback([o, &ctx] {
    auto filter = parse_episode_filter(o->filter);
    if (!filter) return ctx.fail_bad_input("option --" + filter.message());
    auto store = ctx.open_store();
    if (!store) return;
    OverviewOptions opts;
    opts.filter = *filter;
    opts.limit = o->limit;
    auto r = build_overview(*store, ctx.clock().today(), opts);
    if (!r) return ctx.fail(r.error());
    const Overview& ov = r.value();
    if (o->json) {
      std::cout << overview_json(ov).dump(2) << "\n";
      return;
    }
    std::printf("overview of %s — %lld episode(s)\n", ov.today.iso().c_str(), (long long)ov.episodes);
    // Urgent first, before the counts, whatever their age (spec §11).
    print_tasks("!! URGENT — red-flag reviews and urgent GP calls, open, oldest first", ov.urgent);
    std::printf("\n");
    print_counts("state", ov.by_state);
    print_counts("phase", ov.by_phase);
    print_counts("profile", ov.by_profile);
    std::string overdue_title(kOverdueName);
    for (char& c : overdue_title) c = char(std::toupper(static_cast<unsigned char>(c)));
    overdue_title += " (" + std::string(kOverdueRule) + ")";
    print_tasks(overdue_title.c_str(), ov.overdue);
    print_tasks("DUE THIS WEEK (open, due from 6 days ago to 6 days ahead)", ov.due_this_week);

    std::printf("\nWAITING ON THE GP — %lld\n", (long long)ov.waiting_on_gp.total);
    if (!ov.waiting_on_gp.items.empty())
      std::printf("  %-14s %-12s %-16s %-7s %-10s %-16s %s\n", "EPISODE", "PATIENT", "STATE", "PROFILE", "SINCE", "GP",
                  "OPEN GP TASKS");
    for (const auto& w : ov.waiting_on_gp.items) {
      std::string tasks;
      for (const auto& t : w.gp_tasks)
        tasks += (tasks.empty() ? "" : ", ") + std::string(kTaskKinds.name(t.task.kind)) + " #" + std::to_string(t.id);
      std::printf("  %-14s %-12s %-16s %-7s %-10s %-16s %s\n", printable(w.episode.id).c_str(), printable(w.episode.patient).c_str(),
                  std::string(kStates.name(w.episode.state)).c_str(), profile_text(w.episode.profile).c_str(),
                  w.since ? w.since->iso().c_str() : "-", printable(w.episode.gp).c_str(), tasks.empty() ? "-" : tasks.c_str());
    }
    print_more(ov.waiting_on_gp.total, ov.waiting_on_gp.items.size());

    std::printf("\nREFERRED THIS MONTH — %lld\n", (long long)ov.referred_this_month.total);
    for (const auto& r : ov.referred_this_month.items)
      std::printf("  %-14s %-12s %-10s %-18s %s\n", printable(r.episode.id).c_str(), printable(r.episode.patient).c_str(),
                  r.task.task.due.iso().c_str(), std::string(kTaskKinds.name(r.task.task.kind)).c_str(),
                  printable(r.episode.gp).c_str());
    print_more(ov.referred_this_month.total, ov.referred_this_month.items.size());

    std::printf("\nINACTIVE — no event for %d days or more; close and report to the GP — %lld\n", kInactiveAfterDays,
                (long long)ov.inactive.total);
    if (!ov.inactive.items.empty())
      std::printf("  %-14s %-12s %-16s %-10s %5s  %-16s %s\n", "EPISODE", "PATIENT", "STATE", "LAST EVENT", "DAYS", "THERAPIST",
                  "GP");
    for (const auto& i : ov.inactive.items)
      std::printf("  %-14s %-12s %-16s %-10s %5d  %-16s %s\n", printable(i.episode.id).c_str(), printable(i.episode.patient).c_str(),
                  std::string(kStates.name(i.episode.state)).c_str(), i.last_event.iso().c_str(), i.days_inactive,
                  printable(i.episode.therapist).c_str(), printable(i.episode.gp).c_str());
    print_more(ov.inactive.total, ov.inactive.items.size());
  });
}

}  // namespace zorgpad::cli
