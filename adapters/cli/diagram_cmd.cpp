#include <iostream>

#include "adapters/cli/commands.hpp"
#include "states/diagram.hpp"

namespace zorgpad::cli {

void setup_diagram(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("diagram", "Print the state machine, drawn from the transition table");
  auto format = std::make_shared<std::string>("mermaid");
  cmd->add_option("--format", *format, "mermaid or dot")->check(CLI::IsMember({"mermaid", "dot"}));
  cmd->callback([format, &ctx] {
    std::cout << draw_diagram(*format == "dot" ? DiagramFormat::dot : DiagramFormat::mermaid);
    ctx.status = kExitOk;
  });
}

}  // namespace zorgpad::cli
