// The transition table is the single source of truth (style.md): the diagram is
// drawn from it and the "not allowed in state" errors follow it.
#include <set>
#include <sstream>

#include "fixtures.hpp"
#include "states/diagram.hpp"
#include "states/transition_table.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// Arrows the table implies: one per row and from-state, one for the `open` row.
size_t arrows_implied_by_table() {
  size_t arrows = 0;
  for (const Row& row : transition_table()) {
    if (row.from.empty()) { ++arrows; continue; }
    for (size_t i = 0; i < kStates.size(); ++i) arrows += row.from.contains(State(i)) ? 1 : 0;
  }
  return arrows;
}

std::string label(const Row& row) {
  std::string l(kTriggers.name(row.trigger));
  if (row.guard_name) l += " [" + std::string(row.guard_name) + "]";
  return l + " / " + row.action_name;
}

bool table_allows(State s, Trigger t) {
  for (const Row& row : transition_table())
    if (row.trigger == t && row.from.contains(s)) return true;
  return false;
}

}  // namespace

// ---- the table ----------------------------------------------------------------------

TEST_CASE("every care state is entered by some row of the table", "[table][spec-2]") {
  std::set<State> to;
  for (const Row& row : transition_table())
    if (!row.to.stay) to.insert(row.to.state);
  CHECK(to.size() == kStates.size());
}

TEST_CASE("every trigger has a row in the table", "[table][spec-2][spec-3]") {
  std::set<Trigger> triggers;
  for (const Row& row : transition_table()) triggers.insert(row.trigger);
  CHECK(triggers.size() == kTriggers.size());
}

TEST_CASE("no row leaves a terminal state", "[table][spec-2]") {
  for (const Row& row : transition_table())
    for (State s : {State::referred, State::closed, State::excluded}) CHECK_FALSE(row.from.contains(s));
}

TEST_CASE("an event is not allowed in a state exactly when no row has that state and trigger", "[table][spec-3]") {
  for (size_t i = 0; i < kStates.size(); ++i) {
    State s = State(i);
    Episode ep = in_state(s);
    for (Trigger t : {Trigger::screening, Trigger::red_flag_review, Trigger::stratification, Trigger::measurement,
                      Trigger::session, Trigger::reevaluation, Trigger::gp_consult, Trigger::gp_request, Trigger::stop}) {
      Event e;
      e.type = t;
      e.at = std::max(ep.last_event, ep.last_fired);
      auto m = match(ep, e);
      std::string why = m ? std::string() : m.message();
      INFO(kStates.name(s) << " + " << kTriggers.name(t) << ": " << why);
      CHECK((why.rfind("not allowed in state", 0) == 0) == !table_allows(s, t));
    }
  }
}

// ---- the diagram ----------------------------------------------------------------------

TEST_CASE("the diagram shows every care state as the target of an arrow", "[table][diagram][spec-2]") {
  std::string mermaid = draw_diagram(DiagramFormat::mermaid);
  for (size_t i = 0; i < kStates.size(); ++i) {
    std::string name(kStates.name(State(i)));
    INFO(name);
    CHECK_THAT(mermaid, Catch::Contains(" --> " + name + " : "));
  }
}

TEST_CASE("the diagram labels arrows with every trigger", "[table][diagram][spec-2]") {
  std::string mermaid = draw_diagram(DiagramFormat::mermaid);
  for (size_t i = 0; i < kTriggers.size(); ++i) {
    std::string name(kTriggers.name(Trigger(i)));
    INFO(name);
    CHECK_THAT(mermaid, Catch::Contains(" : " + name + " "));
  }
}

TEST_CASE("the diagram labels each row with its trigger, guard and action", "[table][diagram][spec-2]") {
  std::string mermaid = draw_diagram(DiagramFormat::mermaid);
  for (const Row& row : transition_table()) {
    INFO(label(row));
    CHECK_THAT(mermaid, Catch::Contains(" : " + label(row) + "\n"));
  }
}

TEST_CASE("the mermaid diagram draws one arrow per row and from-state of the table", "[table][diagram][spec-2]") {
  std::string mermaid = draw_diagram(DiagramFormat::mermaid);
  size_t final_markers = count(mermaid, " --> [*]\n");
  CHECK(final_markers == 3);  // referred, closed, excluded
  CHECK(count(mermaid, " --> ") - final_markers == arrows_implied_by_table());
}

TEST_CASE("the dot diagram draws one edge per row and from-state of the table", "[table][diagram][spec-2]") {
  std::string dot = draw_diagram(DiagramFormat::dot);
  CHECK(count(dot, " -> ") == arrows_implied_by_table());
}

TEST_CASE("a row that keeps the state is drawn as a self-loop", "[table][diagram][spec-2]") {
  std::string mermaid = draw_diagram(DiagramFormat::mermaid);
  CHECK_THAT(mermaid, Catch::Contains("  treatment --> treatment : measurement / measure\n"));
  CHECK_THAT(mermaid, Catch::Contains("  gp_consultation --> gp_consultation : checkpoint / checkpoint_due\n"));
}

TEST_CASE("the diagram starts at intake with open", "[table][diagram][spec-2]") {
  CHECK_THAT(draw_diagram(DiagramFormat::mermaid), Catch::Contains("  [*] --> intake : open / open\n"));
  CHECK_THAT(draw_diagram(DiagramFormat::dot), Catch::Contains("  start -> intake [label=\"open / open\"];\n"));
}

TEST_CASE("terminal states have no outgoing arrow but the end marker", "[table][diagram][spec-2]") {
  std::istringstream lines(draw_diagram(DiagramFormat::mermaid));
  for (std::string line; std::getline(lines, line);)
    for (const char* terminal : {"referred", "closed", "excluded"})
      if (line.rfind("  " + std::string(terminal) + " --> ", 0) == 0) CHECK(line == "  " + std::string(terminal) + " --> [*]");
}

TEST_CASE("the dot diagram marks terminal states with a double border", "[table][diagram][spec-2]") {
  std::string dot = draw_diagram(DiagramFormat::dot);
  CHECK_THAT(dot, Catch::StartsWith("digraph zorgpad {"));
  CHECK(count(dot, "[peripheries=2]") == 3);
  CHECK_THAT(dot, Catch::Contains("  excluded [peripheries=2];\n"));
}
