#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_demo(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("demo", "Simulate a practice over six months on the database");
  cmd->callback([&ctx] { ctx.fail_bad_input("demo: not built yet"); });
}

}  // namespace zorgpad::cli
