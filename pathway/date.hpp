// Clinical dates: day granularity, ISO 8601 `YYYY-MM-DD`. A Date is a count of
// days since 1970-01-01, so date arithmetic is integer arithmetic.
#pragma once
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zorgpad {

struct Date {
  int32_t days = 0;  // days since 1970-01-01
  auto operator<=>(const Date&) const = default;
  Date operator+(int d) const { return Date{days + d}; }
  int operator-(Date o) const { return days - o.days; }
  std::string iso() const;
  void append_iso(std::string& out) const;  // iso(), appended
  // Strict ISO parse of input: exactly YYYY-MM-DD, a real calendar day,
  // years 1900-2999.
  static std::optional<Date> parse(std::string_view s);
  // A date zorgpad wrote itself (a stored body, a column, the log): the same
  // form, years 1900-9999. A date derived from input (a timer 84 days after
  // 2999-12-31, a checkpoint) may lie past 2999 and must read back.
  static std::optional<Date> parse_stored(std::string_view s);
};

constexpr int kDaysPerWeek = 7;

}  // namespace zorgpad
