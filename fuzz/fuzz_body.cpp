// libFuzzer: the stored-body reader. Any input is read or refused; what is
// read writes back (episode_state_text) to a body that reads back equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "states/episode_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ep = zorgpad::episode_from_state_text(text);
  if (!ep) return 0;
  auto back = zorgpad::episode_from_state_text(zorgpad::episode_state_text(*ep));
  if (!back || !(*back == *ep)) std::abort();
  return 0;
}
