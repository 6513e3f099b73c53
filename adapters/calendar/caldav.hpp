// Two-way CalDAV (RFC 4791): `zorgpad calendar push` writes the calendar
// tasks (adapters/calendar/calendar.hpp) to the practice's CalDAV server, one
// object resource per task; `zorgpad calendar pull` reads back the to-dos the
// scheduler marked COMPLETED and records them done, as `zorgpad task done`.
//
// Layout on the server: one calendar collection per therapist, under the
// collection URL given (`--caldav URL`): URL/<therapist code>/, created with
// MKCALENDAR when missing. A calendar per therapist rather than one calendar
// with an ATTENDEE per therapist: an ATTENDEE asks a CalDAV server to run
// iTIP scheduling (RFC 6638: invitations to a mailto: address zorgpad does
// not have), while a calendar per therapist is what every client shows as a
// separate list, and what a server's rights can share per person. Episodes
// without a therapist go to URL/zorgpad-no-therapist/.
//
// Names: the path segment of a calendar, and of an object
// ("zorgpad-task-<episode>-<seq>.ics"; "zorgpad-event-…" for VEVENT twins),
// keep the characters A-Z a-z 0-9 - . and write every other byte as _XX (hex),
// so an episode id or a therapist code of any text makes one safe segment.
//
// State: none in zorgpad. Each run asks the server (a calendar-query REPORT)
// for the objects, their ETags and their X-ZORGPAD-DIGEST, and writes only the
// objects whose digest differs from the one it would write: a new object with
// `If-None-Match: *`, a changed one with `If-Match: <the ETag just read>`, so a
// change made on the server in between is answered 412 and not overwritten.
//
// Done and cancelled tasks stay on the server, updated to STATUS:COMPLETED or
// CANCELLED (as in the exported file), so the scheduler shows what became of
// a to-do; a task closed before it was ever pushed is not created. A VEVENT
// twin (--with-events) is removed (DELETE, If-Match) once its task is closed:
// an event has no "completed". An open task whose VTODO the scheduler marked
// COMPLETED is left alone by push (pull records it).
//
// Failures are per task: a server that is down or refuses the credentials, a
// 412, an object libical cannot read — one line for each task it touched; the
// other tasks go on. Nothing is recorded done unless the scheduler's object
// reads STATUS:COMPLETED.
//
// Privacy: the report's lines name task and episode ids and server paths,
// never a patient reference; the objects on the server carry the pseudonymous
// reference in their SUMMARY.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "adapters/calendar/calendar.hpp"
#include "pathway/expected.hpp"
#include "persistence/store.hpp"

namespace zorgpad {

struct CalDavCredentials {
  std::string user, password;
};

// "user:password" on the first line of FILE (split at the first ':'; a
// trailing CR or LF dropped). Fails on a missing file, an empty user or no ':'.
Expected<CalDavCredentials> read_caldav_credentials(const std::string& path);

struct CalDavOptions {
  // http:// or https:// collection under which each therapist's calendar lives.
  std::string url;
  std::optional<CalDavCredentials> credentials;  // HTTP Basic; none: no Authorization
  CalendarOptions calendar;                      // lang, uid_domain, dashboard_url
  bool with_events = false;                      // push a VEVENT twin per open task
  int timeout_seconds = 10;                      // connect, read and write, each
};

// The path segment for a name: A-Z a-z 0-9 - . kept, every other byte _XX.
std::string caldav_segment(std::string_view name);
// The calendar collection's segment for a therapist code ("" → "zorgpad-no-therapist").
std::string therapist_calendar(std::string_view therapist);
// "zorgpad-task-<episode>-<seq>.ics" and "zorgpad-event-<episode>-<seq>.ics", escaped.
std::string todo_resource(const TaskRow& row);
std::string event_resource(const TaskRow& row);

struct CalDavLine {
  bool failed = false;
  std::string text;  // "task 12 (ep-3): created"; ids and paths only
};

struct CalDavReport {
  int created = 0, updated = 0, unchanged = 0, removed = 0;  // push
  int recorded = 0, skipped = 0;                             // pull
  int failed = 0;
  std::vector<CalDavLine> lines;  // in the order things happened
};

// Pushes every open task of the calendar kinds (and updates the objects of
// tasks closed since). Fails as a whole only on a bad URL or a store error;
// everything the server does is in the report.
Expected<CalDavReport> caldav_push(Store& store, const CalDavOptions& options);

// Records done, through Store::complete_task (audited as `task done` is), each
// open task whose VTODO the scheduler marked STATUS:COMPLETED. Writes nothing
// to the server.
Expected<CalDavReport> caldav_pull(Store& store, const CalDavOptions& options);

}  // namespace zorgpad
