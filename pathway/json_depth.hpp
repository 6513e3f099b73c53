// How deeply a JSON value nests, checked before anything prints it: printing
// (nlohmann's dump, simdjson's to_string) recurses once per level, so a
// hostile input nested a million levels deep would overflow the stack.
#pragma once
#include <nlohmann/json.hpp>

namespace zorgpad {

// Whether `v` nests at most `levels` levels of objects and lists (a scalar:
// none). The recursion stops after `levels` levels.
inline bool json_nesting_within(const nlohmann::json& v, int levels) {
  if (!v.is_structured()) return true;
  if (levels == 0) return false;
  for (const auto& item : v)
    if (!json_nesting_within(item, levels - 1)) return false;
  return true;
}

}  // namespace zorgpad
