// Progress of a long command on standard error (import, rebuild, migrate);
// see ProgressLine in commands.hpp.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

namespace {
constexpr auto kRedrawEvery = std::chrono::milliseconds(250);  // at most four redraws a second
}

ProgressLine::ProgressLine(std::string what, std::string unit)
    : what_(std::move(what)), unit_(std::move(unit)), active_(::isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { finish(); }

Progress ProgressLine::callback() {
  if (!active_) return {};
  return [this](int64_t done, int64_t total) { update(done, total); };
}

void ProgressLine::update(int64_t done, int64_t total) {
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  drawn_ = true;
  if (total <= 0) total = known_total_;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? double(done) / seconds : 0;
  std::string line = what_ + ": " + std::to_string(done);
  if (total > 0)
    line += " of " + std::to_string(total) + " " + unit_ + " (" + std::to_string(100 * std::min(done, total) / total) + " %)";
  else
    line += " " + unit_;
  if (rate >= 1) line += ", " + std::to_string(int64_t(rate)) + "/s";
  if (total > 0 && rate >= 1 && done < total) {
    const int64_t left = int64_t(double(total - done) / rate + 0.5);
    line += left > 0 ? ", about " + std::to_string(left) + " s left" : ", under a second left";
  }
  // \r back to the start of the line, the text, and erase what a longer
  // earlier line left after it.
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", stderr);  // the line goes: the summary on standard output stands alone
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace zorgpad::cli
