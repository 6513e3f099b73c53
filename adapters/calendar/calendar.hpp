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
// Privacy: the exported file names episodes only, never the patient
// reference, the GP or the therapist. The objects pushed to a CalDAV server
// (adapters/calendar/caldav.hpp) name the pseudonymous patient reference in
// their SUMMARY, so that the practice's own scheduler shows whom to call; they
// go to the practice's server only, under its credentials.
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
  // CalDAV objects only: the web UI's base URL; each object then carries a
  // URL property to its episode (episode_url). Empty: no URL.
  std::string dashboard_url;
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

// ---- CalDAV objects (pushed and read back by adapters/calendar/caldav.hpp) ----------

// "zorgpad-event-<episode>-<seq>@<uid_domain>": the UID of a task's VEVENT twin
// (`calendar push --with-events`), never the VTODO's: a UID names one object.
std::string event_uid(const TaskRow& row, const CalendarOptions& options);

// "Herevaluatie week 6 — P0298" ("en": "Reevaluation week 6 — P0298"): the
// task's title with its checkpoint, and the pseudonymous patient reference
// (the episode id when the episode has none).
std::string caldav_summary(const TaskRow& row, std::string_view patient, std::string_view lang);

// The dashboard's episode route: BASE (without its trailing '/') +
// "/#episode=" + the episode id percent-encoded, as the web UI reads it.
std::string episode_url(std::string_view base, std::string_view episode);

// One CalDAV object resource: a VCALENDAR holding a single component.
// `digest` is a hash of the object without its DTSTAMP; the object carries it
// as X-ZORGPAD-DIGEST, so that a push can tell, from what the server returns,
// whether the object it would write differs from the one there.
struct CalDavObject {
  std::string text;  // CRLF line ends
  std::string digest;
};

// The task's VTODO as the file export renders it, with the CalDAV summary
// (caldav_summary), a URL to the episode when options.dashboard_url is set,
// X-ZORGPAD-STATUS (open, done, cancelled: what zorgpad knew, which a
// scheduler leaves alone) and X-ZORGPAD-DIGEST. Fails on an unknown language
// or a libical error.
Expected<CalDavObject> caldav_todo(const TaskRow& row, std::string_view patient, const CalendarOptions& options,
                                   int64_t dtstamp);

// The VEVENT twin of an open task, for clients that ignore VTODO: an all-day,
// transparent event on the due day, same summary, URL and alarm.
Expected<CalDavObject> caldav_event(const TaskRow& row, std::string_view patient, const CalendarOptions& options,
                                    int64_t dtstamp);

// What zorgpad reads back from an object on a CalDAV server: its first VTODO
// (or, when it has none, its VEVENT).
struct RemoteObject {
  bool todo = true;     // a VTODO; false: a VEVENT
  std::string uid;
  std::string status;   // "NEEDS-ACTION", "COMPLETED", "CANCELLED", ...; empty when absent
  std::string digest;   // X-ZORGPAD-DIGEST; empty when absent
  std::string zorgpad_status;  // X-ZORGPAD-STATUS: the task's status in zorgpad when it was pushed
};

// Parses one object resource with libical. Fails (with a short reason, no
// content) when it is not a VCALENDAR with a VTODO or VEVENT that has a UID,
// or when libical reports an error in it.
Expected<RemoteObject> read_caldav_object(std::string_view text);

}  // namespace zorgpad
