// `zorgpad replay`: runs the episodes of a scenario (scenario-format.md)
// through the engine with a simulated clock. Pure: text in, JSON or a one-line
// error out; nothing is printed here.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "pathway/expected.hpp"

namespace zorgpad {

Expected<nlohmann::json> replay_scenario(const std::string& text);

}  // namespace zorgpad
