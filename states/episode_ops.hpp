// Small changes to an episode that every revision's actions make the same
// way: adding a task or a timer, cancelling a task, recording measures.
// Plain functions over the value; no rule lives here.
#pragma once
#include <optional>

#include "pathway/event.hpp"
#include "states/episode.hpp"

namespace zorgpad::ops {

// Appends a task (seq = its 1-based place) and returns its seq.
int add_task(Episode& ep, TaskKind kind, Date due, Date at, std::optional<Checkpoint> cp = std::nullopt);
// Keeps timers sorted by due date; phase before checkpoint on a day; stable otherwise.
void add_timer(Episode& ep, Timer t);
// A reevaluation task with its checkpoint timer.
int add_checkpoint(Episode& ep, Checkpoint cp, Date due, Date at);
// Removes the checkpoint timer of a reevaluation task that is done or cancelled.
void drop_checkpoint_timer(Episode& ep, int task_seq);
// Marks an open task done or cancelled; its checkpoint timer goes with it.
void finish_task(Episode& ep, Task& t, TaskStatus status, Date at);
// The first value of each measure is its baseline; every value the latest.
void record_measures(Episode& ep, const Measures& m);

}  // namespace zorgpad::ops
