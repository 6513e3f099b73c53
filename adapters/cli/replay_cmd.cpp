#include <iostream>

#include "adapters/cli/commands.hpp"
#include "adapters/replay/scenario.hpp"

namespace zorgpad::cli {

void setup_replay(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("replay", "Run a scenario through the engine on a private store; print the outcome as JSON");
  auto file = std::make_shared<std::string>();
  cmd->add_option("FILE", *file, "scenario JSON file, or - for standard input")->required();
  cmd->callback([file, &ctx] {
    auto text = read_input(*file);
    if (!text) return ctx.fail(text.error());
    auto result = replay_scenario(*text);
    if (!result) { print_error(result.message()); ctx.status = kExitBadInput; return; }
    std::cout << result->dump(2) << "\n";
  });
}

}  // namespace zorgpad::cli
