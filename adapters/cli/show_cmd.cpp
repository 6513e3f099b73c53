#include <cstdio>
#include <iostream>

#include "adapters/cli/commands.hpp"
#include "adapters/texts/printable.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::cli {

namespace {
std::string opt_int(const std::optional<int>& v) { return v ? std::to_string(*v) : "-"; }
std::string measure_line(const char* name, const std::optional<int>& base, const std::optional<int>& now) {
  std::string s = std::string(name) + " " + opt_int(base) + " -> " + opt_int(now);
  if (base && now)
    if (auto pct = change_percent(*base, *now)) s += " (" + std::string(*pct > 0 ? "+" : "") + std::to_string(*pct) + " %)";
  return s;
}
}  // namespace

void setup_show(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("show", "Show an episode: state, phase, profile, scores, tasks, dated history");
  struct Opts { std::string episode; bool json = false; };
  auto o = std::make_shared<Opts>();
  cmd->add_option("EPISODE", o->episode, "episode id")->required();
  cmd->add_flag("--json", o->json, "print the episode object of the replay output");
  cmd->callback([o, &ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    auto r = store->load(o->episode);
    if (!r) return ctx.fail(r.error());
    const Episode& ep = r.value();
    if (Status a = store->audit("episode.read", {ep.id}); !a) return ctx.fail(a.error());
    if (o->json) {
      std::cout << episode_view(ep).dump(2) << "\n";
      return;
    }
    TaskFilter f;
    f.episode = ep.id;
    auto tr = store->tasks(f);
    if (!tr) return ctx.fail(tr.error());
    std::cout << "episode   " << printable(ep.id) << "  (patient " << printable(ep.patient) << ")\n"
              << "state     " << kStates.name(ep.state) << (ep.reason && is_terminal(ep.state) ? " — " + printable(*ep.reason) : "") << "\n"
              << "phase     " << kPhases.name(ep.phase) << "  (onset " << ep.onset.iso() << ", opened " << ep.opened.iso() << ")\n"
              << "complaint " << kComplaints.name(ep.complaint) << (ep.recurrent ? ", recurrent" : "") << "\n"
              << "profile   " << opt_int(ep.profile) << "  (suggested " << opt_int(ep.suggested_profile) << ")\n";
    if (ep.sbst)
      std::cout << "STarT Back " << ep.sbst->total << "/9, psychosocial " << ep.sbst->psychosocial << "/5, "
                << kSbstRisks.name(ep.sbst->risk) << " risk\n";
    if (ep.orebro) std::cout << "Örebro    " << ep.orebro->total << (ep.orebro->raised ? " (raised)" : "") << "\n";
    std::cout << "measures  " << measure_line("NPRS", ep.baseline.nprs, ep.latest.nprs) << "; "
              << measure_line("QBPDS", ep.baseline.qbpds, ep.latest.qbpds) << "\n"
              << "sessions  " << ep.sessions << "\n\ntasks\n";
    for (const auto& row : tr.value())
      std::printf("  #%-7lld %-18s %-12s due %s  %s\n", (long long)row.id, std::string(kTaskKinds.name(row.task.kind)).c_str(),
                  row.task.checkpoint ? std::string(kCheckpoints.name(*row.task.checkpoint)).c_str() : "",
                  row.task.due.iso().c_str(), std::string(kTaskStatuses.name(row.task.status)).c_str());
    std::cout << "\nhistory\n  " << ep.opened.iso() << "  open -> intake\n";
    for (const auto& t : ep.transitions)
      std::cout << "  " << t.at.iso() << "  " << kTriggers.name(t.event) << ": " << t.from << " -> " << t.to << "\n";
  });
}

}  // namespace zorgpad::cli
