#include "states/episode_ops.hpp"

#include <algorithm>

namespace zorgpad::ops {

int add_task(Episode& ep, TaskKind kind, Date due, Date at, std::optional<Checkpoint> cp) {
  Task t;
  t.seq = int(ep.tasks.size()) + 1;
  t.kind = kind;
  t.due = due;
  t.checkpoint = cp;
  t.created = at;
  ep.tasks.push_back(t);
  return t.seq;
}

void add_timer(Episode& ep, Timer t) {
  auto key = [](const Timer& x) { return std::pair{x.due, x.kind == Trigger::phase ? 0 : 1}; };
  auto pos = std::upper_bound(ep.timers.begin(), ep.timers.end(), t,
                              [&](const Timer& a, const Timer& b) { return key(a) < key(b); });
  ep.timers.insert(pos, t);
}

int add_checkpoint(Episode& ep, Checkpoint cp, Date due, Date at) {
  int seq = add_task(ep, TaskKind::reevaluation, due, at, cp);
  Timer t;
  t.due = due;
  t.kind = Trigger::checkpoint;
  t.task_seq = seq;
  add_timer(ep, t);
  return seq;
}

void drop_checkpoint_timer(Episode& ep, int task_seq) {
  std::erase_if(ep.timers, [&](const Timer& x) { return x.kind == Trigger::checkpoint && x.task_seq == task_seq; });
}

void finish_task(Episode& ep, Task& t, TaskStatus status, Date at) {
  t.status = status;
  t.closed = at;
  drop_checkpoint_timer(ep, t.seq);
}

void record_measures(Episode& ep, const Measures& m) {
  if (m.nprs) { if (!ep.baseline.nprs) ep.baseline.nprs = m.nprs; ep.latest.nprs = m.nprs; }
  if (m.qbpds) { if (!ep.baseline.qbpds) ep.baseline.qbpds = m.qbpds; ep.latest.qbpds = m.qbpds; }
  if (m.psk) { if (!ep.baseline.psk) ep.baseline.psk = m.psk; ep.latest.psk = m.psk; }
}

}  // namespace zorgpad::ops
