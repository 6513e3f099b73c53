// The practice scheduler's calendar (RFC 5545): the tasks someone has to book
// or make a call for — `reevaluation`, `lrs_check`, `gp_consultation`,
// `gp_urgent_contact` — as one VTODO each, generated with libical (which does
// the line folding and escaping). `zorgpad calendar` writes it to a file;
// `zorgpad serve` serves the same text at a URL calendars subscribe to.
//
// Stable across exports: a task's UID comes from its identity in the store
// (episode id and the task's sequence number in that episode, both derived
// from the event log), never from the export time, so re-importing or
// refreshing a subscription updates a to-do instead of adding a second one.
// Only DTSTAMP (from the injected clock) changes between two exports of an
// unchanged store.
//
// Privacy: the calendar names episodes only, never the patient reference, the
// GP or the therapist.
//
// Thread-safety: the functions keep no state of their own and use libical's
// re-entrant calls (`*_r`); several threads may render at once, each with its
// own Store.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pathway/clock.hpp"
#include "pathway/expected.hpp"
#include "persistence/store.hpp"

namespace zorgpad {

struct CalendarOptions {
  std::optional<Date> from, to;        // due dates in [from, to], both inclusive; none: unbounded
  std::string lang = "nl";             // "nl" (default) or "en": summaries and alarm texts
  std::string uid_domain = "zorgpad";  // right-hand side of every UID ("…@zorgpad")
};

// The task kinds the calendar carries: is_calendar_task of the task-kind
// table (pathway/codes.hpp).

// "zorgpad-task-<episode>-<seq>@<uid_domain>": the same for the task in every export.
std::string task_uid(const TaskRow& row, const CalendarOptions& options);

// "Herevaluatie week 6 — ep-123" (lang "nl") or "Reevaluation week 6 — ep-123" ("en").
std::string task_summary(const TaskRow& row, std::string_view lang);

// Renders the given rows (filtered by kind and date range, in the given order)
// as a VCALENDAR with CRLF line ends. `dtstamp` is seconds since the epoch.
// Fails on an unknown language or when libical reports an error.
Expected<std::string> render_calendar(const std::vector<TaskRow>& rows, const CalendarOptions& options,
                                      int64_t dtstamp);

// Reads every task of the calendar kinds (open, done and cancelled) from the
// store and renders it; DTSTAMP comes from `clock`.
Expected<std::string> render_calendar(Store& store, const Clock& clock, const CalendarOptions& options);

}  // namespace zorgpad
