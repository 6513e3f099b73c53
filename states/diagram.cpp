#include "states/diagram.hpp"

#include <sstream>

#include "states/transition_table.hpp"

namespace zorgpad {
namespace {

// One arrow per (row, from-state); a `stay` row draws a self-loop.
template <typename Fn>
void for_each_arrow(int revision, Fn fn) {
  for (const Row& row : transition_table(revision)) {
    std::string label(kTriggers.name(row.trigger));
    if (row.guard_name) label += " [" + std::string(row.guard_name) + "]";
    label += " / " + std::string(row.action_name);
    if (row.from.empty()) {
      fn(std::string(), std::string(kStates.name(row.to.state)), label);
      continue;
    }
    for (size_t i = 0; i < kStates.size(); ++i) {
      State s = State(i);
      if (!row.from.contains(s)) continue;
      State to = row.to.stay ? s : row.to.state;
      fn(std::string(kStates.name(s)), std::string(kStates.name(to)), label);
    }
  }
}

}  // namespace

std::string draw_diagram(DiagramFormat f, int revision) {
  std::ostringstream out;
  if (f == DiagramFormat::mermaid) {
    out << "stateDiagram-v2\n";
    for_each_arrow(revision, [&](const std::string& from, const std::string& to, const std::string& label) {
      out << "  " << (from.empty() ? "[*]" : from) << " --> " << to << " : " << label << "\n";
    });
    for (size_t i = 0; i < kStates.size(); ++i)
      if (is_terminal(State(i))) out << "  " << kStates.name(State(i)) << " --> [*]\n";
  } else {
    out << "digraph zorgpad {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n  start [shape=point];\n";
    for (size_t i = 0; i < kStates.size(); ++i)
      if (is_terminal(State(i))) out << "  " << kStates.name(State(i)) << " [peripheries=2];\n";
    for_each_arrow(revision, [&](const std::string& from, const std::string& to, const std::string& label) {
      out << "  " << (from.empty() ? "start" : from) << " -> " << to << " [label=\"" << label << "\"];\n";
    });
    out << "}\n";
  }
  return out.str();
}

}  // namespace zorgpad
