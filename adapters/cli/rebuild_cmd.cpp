#include <iostream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_rebuild(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("rebuild", "Re-derive every projection from the event log; report differences");
  cmd->callback([&ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    ProgressLine progress("rebuild", "episodes");
    auto r = store->rebuild(progress.callback());
    progress.finish();
    if (!r) return ctx.fail(r.error());
    const auto& rep = r.value();
    for (const auto& d : rep.differences) std::cout << "difference: " << d << "\n";
    std::cout << "rebuilt " << rep.episodes << " episodes from " << rep.events << " events: "
              << rep.differences.size() << " difference(s)" << (rep.differences.empty() ? "" : ", repaired") << "\n";
  });
}

}  // namespace zorgpad::cli
