// Draws the state machine from the transition table (never by hand).
#pragma once
#include <string>

namespace zorgpad {

enum class DiagramFormat { mermaid, dot };
std::string draw_diagram(DiagramFormat f);

}  // namespace zorgpad
