#include "states/machine.hpp"

#include "states/episode_ops.hpp"

namespace zorgpad {
namespace {

void record_transition(Episode& ep, Date at, Trigger trig, State from) {
  if (ep.state != from)
    ep.transitions.push_back({at, trig, std::string(kStates.name(from)), std::string(kStates.name(ep.state))});
}

void run_row(Episode& ep, const Row& row, const Event& ev) {
  State from = ep.state;
  Phase phase_before = ep.phase;
  row.action(ep, ev);
  if (!row.to.stay) ep.state = row.to.state;
  if (ev.type == Trigger::phase && ep.phase != phase_before)
    ep.transitions.push_back({ev.at, Trigger::phase, std::string(kPhases.name(phase_before)),
                              std::string(kPhases.name(ep.phase))});
  record_transition(ep, ev.at, ev.type, from);
  if (is_terminal(ep.state) && !is_terminal(from)) on_terminal_entry(ep, ev.at);
}

}  // namespace

Expected<const Row*> match(const Episode& ep, const Event& ev) {
  bool allowed = false;
  for (const Row& row : transition_table(ep.revision)) {
    if (row.trigger != ev.type || !row.from.contains(ep.state)) continue;
    allowed = true;
    if (!row.guard || row.guard(ep, ev)) return &row;
  }
  return Error{allowed ? "no rule of the pathway applies in state '" + std::string(kStates.name(ep.state)) + "'"
                       : "not allowed in state '" + std::string(kStates.name(ep.state)) + "'" +
                             (is_terminal(ep.state) ? " (the episode has ended)" : "")};
}

Expected<Episode> open_episode(const std::string& id, const std::string& patient, const Event& ev,
                               int default_revision) {
  if (ev.type != Trigger::open) return Error{"an episode must start with an 'open' event"};
  int revision = ev.revision.value_or(default_revision);
  if (!is_known_revision(revision)) return Error{"unknown pathway revision " + std::to_string(revision)};
  if (revision < 2 && ev.referred_by_given) return Error{"unknown field 'referred_by' (the episode follows pathway revision 1)"};
  const Row* row = nullptr;
  for (const Row& r : transition_table(revision))
    if (r.from.empty() && r.trigger == Trigger::open) row = &r;
  Episode ep;
  ep.revision = revision;
  ep.id = id;
  ep.patient = patient;
  row->action(ep, ev);
  ep.state = row->to.state;
  ep.last_event = ev.at;
  ep.last_fired = ev.at;
  ep.events = 1;
  return ep;
}

int advance(Episode& ep, Date now) {
  int fired = 0;
  while (!ep.timers.empty() && ep.timers.front().due <= now) {
    Timer t = ep.timers.front();
    ep.timers.erase(ep.timers.begin());
    Event ev;
    ev.type = t.kind;
    ev.at = t.due;
    ev.phase_to = t.to_phase;
    if (auto row = match(ep, ev)) run_row(ep, **row, ev);
    ep.last_fired = t.due;
    ++fired;
  }
  return fired;
}

Status apply(Episode& ep, const Event& ev) {
  if (ev.type == Trigger::open) return Status::Fail("the episode is already open");
  if (ev.at < ep.last_event)
    return Status::Fail("date " + ev.at.iso() + " is before the episode's last event (" + ep.last_event.iso() + ")");
  // A timer that already fired (by a tick) cannot be un-fired: an event dated
  // before it would make the live episode differ from a replay of its log.
  if (ev.at < ep.last_fired)
    return Status::Fail("date " + ev.at.iso() + " is before a timer that already fired on " + ep.last_fired.iso());
  // All or nothing: match and check_context only read, and run_row cannot
  // fail, so the copy is needed only when timers fire first (advance changes
  // the episode before the checks). Most events fire none and skip the copy.
  auto checked_run = [&ev](Episode& target) -> Status {
    auto row = match(target, ev);
    if (!row) return row.status();
    if (Status s = check_context(target, ev); !s.ok()) return s;
    run_row(target, **row, ev);
    target.last_event = ev.at;
    target.events++;
    return Status::Ok();
  };
  if (ep.timers.empty() || ep.timers.front().due > ev.at) return checked_run(ep);  // advance would fire nothing
  Episode next = ep;
  advance(next, ev.at);
  if (Status s = checked_run(next); !s.ok()) return s;
  ep = std::move(next);
  return Status::Ok();
}

Status complete_task(Episode& ep, int task_seq, Date at) {
  if (task_seq < 1 || task_seq > int(ep.tasks.size())) return Status::Fail("no such task");
  Task& t = ep.tasks[size_t(task_seq - 1)];
  if (t.status != TaskStatus::open)
    return Status::Fail("task is already " + std::string(kTaskStatuses.name(t.status)));
  ops::finish_task(ep, t, TaskStatus::done, at);  // its checkpoint timer goes with it
  return Status::Ok();
}

}  // namespace zorgpad
