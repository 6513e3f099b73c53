#include <iostream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_init(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("init", "Create (or migrate) the database");
  cmd->callback([&ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    std::cout << "database ready: " << ctx.db << "\n";
  });
}

}  // namespace zorgpad::cli
