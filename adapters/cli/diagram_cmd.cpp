#include <iostream>

#include "adapters/cli/commands.hpp"
#include "pathway/revision.hpp"
#include "states/diagram.hpp"

namespace zorgpad::cli {

void setup_diagram(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("diagram", "Print the state machine, drawn from the transition table");
  auto format = std::make_shared<std::string>("mermaid");
  auto revision = std::make_shared<int>(kCurrentRevision);
  cmd->add_option("--format", *format, "mermaid or dot")->check(CLI::IsMember({"mermaid", "dot"}));
  cmd->add_option("--revision", *revision, "the pathway revision whose table to draw (default: the current one)")
      ->check(CLI::Range(kFirstRevision, kCurrentRevision));
  cmd->callback([format, revision, &ctx] {
    std::cout << draw_diagram(*format == "dot" ? DiagramFormat::dot : DiagramFormat::mermaid, *revision);
    ctx.status = kExitOk;
  });
}

}  // namespace zorgpad::cli
