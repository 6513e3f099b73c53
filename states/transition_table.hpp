// The state machine as one table: rows {from, event, guard, action, to}.
// It is the single source of truth: the machine (machine.cpp) looks up the
// first row whose `from` holds the current state, whose trigger is the event
// and whose guard passes; "not allowed in state X" means no row has X and the
// event; `zorgpad diagram` draws these rows. Guards are pure predicates;
// actions are plain functions that update the episode and emit tasks.
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "pathway/codes.hpp"
#include "pathway/event.hpp"
#include "pathway/expected.hpp"
#include "states/episode.hpp"

namespace zorgpad {

// A set of care states as a bit mask. The empty set is the pseudo-state before
// the episode exists (the `open` row).
struct StateSet {
  uint32_t bits = 0;
  constexpr bool contains(State s) const { return bits & (1u << unsigned(s)); }
  constexpr bool empty() const { return bits == 0; }
};
constexpr StateSet operator|(StateSet a, StateSet b) { return {a.bits | b.bits}; }
constexpr StateSet only(State s) { return {1u << unsigned(s)}; }

using Guard = bool (*)(const Episode&, const Event&);
using Action = void (*)(Episode&, const Event&);

// `to` is a care state or kStay (the care state does not change).
struct Target {
  bool stay = false;
  State state = State::intake;
};

struct Row {
  StateSet from;
  Trigger trigger;
  const char* guard_name;  // nullptr: always
  Guard guard;
  const char* action_name;
  Action action;
  Target to;
};

std::span<const Row> transition_table();

// Rejections that depend on the episode rather than on the event alone
// (an override without reason, a reevaluation that cannot be judged).
Status check_context(const Episode& ep, const Event& ev);

// What happens on entering any terminal state: open reevaluation and
// lrs_check tasks are cancelled, timers dropped (spec §2, §11).
void on_terminal_entry(Episode& ep, Date at);

// Removes the checkpoint timer of a reevaluation task that is done or cancelled.
void drop_checkpoint_timer(Episode& ep, int task_seq);

// Names for the diagram and error messages.
std::string describe(StateSet s);

}  // namespace zorgpad
