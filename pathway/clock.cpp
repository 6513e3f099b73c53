#include "pathway/clock.hpp"

#include <chrono>

namespace zorgpad {

Date SystemClock::today() const {
  auto now = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  return Date{int32_t(now.time_since_epoch().count())};
}

int64_t SystemClock::unix_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace zorgpad
