#include <fstream>
#include <iostream>
#include <sstream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void print_error(const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::cerr << "zorgpad: " << line << "\n";
}

bool read_input(const std::string& path, std::string& out, std::string& error) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) { error = "cannot read '" + path + "'"; return false; }
    buf << in.rdbuf();
  }
  out = buf.str();
  return true;
}

}  // namespace zorgpad::cli

int main(int argc, char** argv) {
  using namespace zorgpad::cli;
  CLI::App app{"zorgpad — the low back pain care pathway (KNGF 2021, KCE 295) as a workflow engine"};
  app.require_subcommand(1);
  Outcome outcome;
  setup_replay(app, outcome);
  setup_diagram(app, outcome);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    print_error(e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return kExitFailure;
  }
  return outcome.status;
}
