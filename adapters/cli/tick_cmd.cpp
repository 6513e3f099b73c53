#include <iostream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_tick(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("tick", "Fire every timer due on or before now (phase changes, checkpoints)");
  auto now = std::make_shared<std::string>();
  cmd->add_option("--now", *now, "the date to advance to (default: the clock's today)");
  cmd->callback([now, &ctx] {
    Date date = ctx.clock().today();
    if (!now->empty()) {
      auto d = parse_date_option(ctx, "--now", *now);
      if (!d) return;
      date = *d;
    }
    auto store = ctx.open_store();
    if (!store) return;
    auto r = store->tick(date);
    if (!r) return ctx.fail(r.error());
    const auto& rep = r.value();
    std::cout << "tick " << date.iso() << ": " << rep.timers << " timer(s) fired in " << rep.episodes << " episode(s)\n";
  });
}

}  // namespace zorgpad::cli
