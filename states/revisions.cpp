// The registry of pathway revisions: which table, context checks and terminal
// entry an episode of revision N runs under. See transition_table.hpp.
#include <array>

#include "states/episode_ops.hpp"
#include "states/transition_table.hpp"

namespace zorgpad {
namespace {

const std::array<PathwayRevision, 2>& revisions() {
  static const std::array<PathwayRevision, 2> all{{
      {1, "2026-11-01", r1::table(), &r1::check_context, &r1::on_terminal_entry},
      {2, "2026-12-01", r2::table(), &r2::check_context, &r2::on_terminal_entry},
  }};
  static_assert(kCurrentRevision == 2, "register the new revision here");
  return all;
}

}  // namespace

bool is_known_revision(int n) { return n >= kFirstRevision && n <= kCurrentRevision; }

const PathwayRevision& pathway_revision(int n) {
  return revisions()[size_t((is_known_revision(n) ? n : kCurrentRevision) - kFirstRevision)];
}

std::span<const Row> transition_table(int revision) { return pathway_revision(revision).table; }

Status check_context(const Episode& ep, const Event& ev) { return pathway_revision(ep.revision).check_context(ep, ev); }

void on_terminal_entry(Episode& ep, Date at) { pathway_revision(ep.revision).on_terminal_entry(ep, at); }

std::string describe(StateSet s) {
  std::string out;
  for (size_t i = 0; i < kStates.size(); ++i)
    if (s.contains(State(i))) out += (out.empty() ? "" : ", ") + std::string(kStates.name(State(i)));
  return out;
}

}  // namespace zorgpad
