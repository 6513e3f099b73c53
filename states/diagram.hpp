// Draws the state machine from the transition table (never by hand).
#pragma once
#include "pathway/revision.hpp"
#include <string>

namespace zorgpad {

enum class DiagramFormat { mermaid, dot };
// The transition table of pathway revision `revision` as a diagram.
std::string draw_diagram(DiagramFormat f, int revision = kCurrentRevision);

}  // namespace zorgpad
