// Runs events and timers through the transition table. Stateless: every
// function takes the episode by reference and either applies a command
// completely or leaves the episode untouched and returns the error.
#pragma once
#include <string>

#include "pathway/event.hpp"
#include "pathway/expected.hpp"
#include "states/episode.hpp"
#include "states/transition_table.hpp"

namespace zorgpad {

// Creates an episode from an `open` event (validated by parse_event), under
// the event's `revision`, else `default_revision`: the current one for new
// input, kFirstRevision for a log written before revisions were recorded.
Expected<Episode> open_episode(const std::string& id, const std::string& patient, const Event& open,
                               int default_revision = kCurrentRevision);

// Fires every timer due on or before `now`, in due order (phase first on a
// day). Returns the number of timers fired. Idempotent for the same `now`.
int advance(Episode& ep, Date now);

// The clock rule, then the event: fires the timers due on or before ev.at,
// checks time order, state and context, and applies the first matching row.
// All or nothing: on error `ep` is unchanged (timers included).
Status apply(Episode& ep, const Event& ev);

// Marks a task done (`task done`); allowed in every state, terminal included.
// Only open tasks can be completed.
Status complete_task(Episode& ep, int task_seq, Date at);

// The first row that would fire for this event in this episode, or the
// error (not allowed in state, no guard matched).
Expected<const Row*> match(const Episode& ep, const Event& ev);

}  // namespace zorgpad
