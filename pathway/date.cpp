#include "pathway/date.hpp"

#include <chrono>
#include <cstdio>

namespace zorgpad {

std::string Date::iso() const {
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()));
  return buf;
}

std::optional<Date> Date::parse(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (y < 1900 || y > 2999 || m < 0 || d < 0) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{unsigned(m)}, day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  return Date{int32_t(sys_days{ymd}.time_since_epoch().count())};
}

}  // namespace zorgpad
