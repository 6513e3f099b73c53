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
#include "pathway/revision.hpp"
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

// A revision of the pathway: its table, its rejections that depend on the
// episode rather than on the event alone (a profile below the suggestion
// without a reason, a reevaluation without a judgement), and what happens on
// entering a terminal state. An episode runs under the revision it was opened
// with, for good: its log replays under the rules it was recorded with.
// Adding revision N+1: copy nothing, write transition_table_rN+1.cpp with its
// rows, register it in revisions(), raise kCurrentRevision; older episodes
// keep their table (docs/revisions.md).
struct PathwayRevision {
  int number = 0;
  const char* since;  // the date of the spec revision
  std::span<const Row> table;
  Status (*check_context)(const Episode&, const Event&);
  void (*on_terminal_entry)(Episode&, Date);
};

// The revision `n` (kFirstRevision..kCurrentRevision).
const PathwayRevision& pathway_revision(int n);
bool is_known_revision(int n);

// The table of revision `n` (default: the current one, what new episodes follow).
std::span<const Row> transition_table(int revision = kCurrentRevision);

// The episode's revision's context checks and terminal entry.
Status check_context(const Episode& ep, const Event& ev);
void on_terminal_entry(Episode& ep, Date at);

// Each revision's parts (transition_table_r1.cpp, transition_table.cpp).
namespace r1 {
std::span<const Row> table();
Status check_context(const Episode& ep, const Event& ev);
void on_terminal_entry(Episode& ep, Date at);
}  // namespace r1
namespace r2 {
std::span<const Row> table();
Status check_context(const Episode& ep, const Event& ev);
void on_terminal_entry(Episode& ep, Date at);
}  // namespace r2

// Names for the diagram and error messages.
std::string describe(StateSet s);

}  // namespace zorgpad
