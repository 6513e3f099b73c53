// libFuzzer: the event reader. Any input either parses or is refused with
// one line; what parses writes back (event_json) and reads back unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pathway/event.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = zorgpad::parse_event_text(text);
  if (!e) {
    if (e.message().empty() || e.message().find('\n') != std::string::npos) std::abort();
    return 0;
  }
  auto back = zorgpad::parse_event_text(zorgpad::event_text(*e));
  if (!back || zorgpad::event_json(*back) != zorgpad::event_json(*e)) std::abort();
  return 0;
}
