// The injected clock. Rules never read the wall clock: they receive a Date.
// Only SystemClock (used by the production CLI when no --now is given) reads it.
#pragma once
#include <cstdint>

#include "pathway/date.hpp"

namespace zorgpad {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Date today() const = 0;
  // Seconds since the epoch, for audit timestamps (`recorded_at`) only.
  virtual int64_t unix_seconds() const = 0;
};

// Wall-clock day in UTC. The one place in the code base that reads real time.
class SystemClock final : public Clock {
 public:
  Date today() const override;
  int64_t unix_seconds() const override;
};

// A clock that stands where it is put: replay, tests, `tick --now`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Date d) : now_(d) {}
  Date today() const override { return now_; }
  int64_t unix_seconds() const override { return int64_t(now_.days) * 86400; }
  void set(Date d) { now_ = d; }

 private:
  Date now_;
};

}  // namespace zorgpad
