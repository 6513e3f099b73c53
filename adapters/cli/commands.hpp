// The CLI is an adapter: each subcommand lives in its own file with a
// `setup_…(CLI::App&)` that registers it and its options. Rules live in
// pathway/ and states/, never here. Exit status: 0 ok, 2 bad input, 1 failure.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace zorgpad::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Prints "zorgpad: <message>" on stderr as one line.
void print_error(const std::string& message);
// Reads FILE, or standard input for "-". Error message on failure.
bool read_input(const std::string& path, std::string& out, std::string& error);

// Each setup registers a subcommand whose callback stores its exit status here.
struct Outcome { int status = kExitOk; };

void setup_replay(CLI::App& app, Outcome& outcome);
void setup_diagram(CLI::App& app, Outcome& outcome);

}  // namespace zorgpad::cli
