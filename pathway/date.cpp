#include "pathway/date.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace zorgpad {

// civil_from_days (H. Hinnant), without snprintf: dates are written for
// every episode of every command.
void Date::append_iso(std::string& s) const {
  int64_t z = int64_t(days) + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  if (year < 0 || year > 9999) {  // outside what parse accepts; printed as chrono would
    using namespace std::chrono;
    year_month_day ymd{sys_days{std::chrono::days{days}}};
    char buf[24];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()));
    s += buf;
    return;
  }
  char b[10] = {char('0' + year / 1000), char('0' + year / 100 % 10), char('0' + year / 10 % 10), char('0' + year % 10), '-',
                char('0' + month / 10), char('0' + month % 10), '-', char('0' + day / 10), char('0' + day % 10)};
  s.append(b, 10);
}

std::string Date::iso() const {
  std::string s;
  append_iso(s);
  return s;
}

namespace {
std::optional<Date> parse_up_to(std::string_view s, int max_year);
}

std::optional<Date> Date::parse(std::string_view s) { return parse_up_to(s, 2999); }
std::optional<Date> Date::parse_stored(std::string_view s) { return parse_up_to(s, 9999); }

namespace {
std::optional<Date> parse_up_to(std::string_view s, int max_year) {
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
  if (y < 1900 || y > max_year || m < 0 || d < 0) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{unsigned(m)}, day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  return Date{int32_t(sys_days{ymd}.time_since_epoch().count())};
}
}  // namespace

}  // namespace zorgpad
