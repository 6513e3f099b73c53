// JSON of an episode. `episode_view` is the object of scenario-format.md
// (replay output, `show --json`); `episode_state` adds what the machine needs
// to go on (timers, counters) and `episode_from_state` reads it back, so a
// stored projection restores the exact value.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pathway/expected.hpp"
#include "states/episode.hpp"

namespace zorgpad {

nlohmann::json episode_view(const Episode& ep);
nlohmann::json task_view(const Task& t);
// The stored form (the one writer; a body of the store is exactly this text).
std::string episode_state_text(const Episode& ep);
// The same, parsed (tests and tools).
nlohmann::json episode_state(const Episode& ep);
// Reads a stored state: its JSON text (the store's body, read with simdjson),
// or the parsed object (passed on as its dump).
Expected<Episode> episode_from_state_text(std::string_view text);
Expected<Episode> episode_from_state(const nlohmann::json& j);

}  // namespace zorgpad
