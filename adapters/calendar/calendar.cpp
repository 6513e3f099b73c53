#include "adapters/calendar/calendar.hpp"
#include "adapters/texts/task_titles.hpp"

#include <libical/ical.h>

#include <cstdio>
#include <memory>

namespace zorgpad {
namespace {

struct ComponentFree {
  void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
using Component = std::unique_ptr<icalcomponent, ComponentFree>;

struct BufferFree {
  void operator()(char* p) const { icalmemory_free_buffer(p); }
};

bool known_lang(std::string_view lang) { return lang == "nl" || lang == "en"; }

icaltimetype date_value(Date d) {
  icaltimetype t = icaltime_null_date();
  int y = 0, m = 0, day = 0;
  std::string iso = d.iso();  // YYYY-MM-DD, checked when the date was parsed
  std::sscanf(iso.c_str(), "%d-%d-%d", &y, &m, &day);
  t.year = y;
  t.month = m;
  t.day = day;
  t.is_date = 1;
  return t;
}

void add(icalcomponent* c, icalproperty* p) { icalcomponent_add_property(c, p); }

icalcomponent* make_vtodo(const TaskRow& row, const CalendarOptions& o, icaltimetype stamp) {
  const bool nl = o.lang == "nl";
  const std::string summary = task_summary(row, o.lang);
  icalcomponent* todo = icalcomponent_new_vtodo();
  add(todo, icalproperty_new_uid(task_uid(row, o).c_str()));
  add(todo, icalproperty_new_dtstamp(stamp));
  add(todo, icalproperty_new_summary(summary.c_str()));
  std::string what = std::string(kTaskKinds.name(row.task.kind));
  if (row.task.checkpoint) what += ", " + std::string(kCheckpoints.name(*row.task.checkpoint));
  const std::string id = std::to_string(row.id);
  std::string description = nl ? "zorgpad-taak " + id + " (" + what + ") van episode " + row.episode + "."
                                : "zorgpad task " + id + " (" + what + ") of episode " + row.episode + ".";
  if (row.task.status == TaskStatus::open)
    description += (nl ? " Afvinken: zorgpad task done " : " Mark done: zorgpad task done ") + id;
  add(todo, icalproperty_new_description(description.c_str()));
  // A date-only DUE: the checkpoint is a day, the practice books the hour.
  add(todo, icalproperty_new_due(date_value(row.task.due)));
  add(todo, icalproperty_new_class(ICAL_CLASS_CONFIDENTIAL));
  if (row.task.kind == TaskKind::gp_urgent_contact) add(todo, icalproperty_new_priority(1));
  // A task changes at most once (open -> done or cancelled) and its due date
  // never moves (a rescheduled checkpoint is a new task), so the status alone
  // gives a SEQUENCE that only grows: clients that compare SEQUENCE on
  // re-import take the closed version over the open one.
  add(todo, icalproperty_new_sequence(row.task.status == TaskStatus::open ? 0 : 1));
  switch (row.task.status) {
    case TaskStatus::open: add(todo, icalproperty_new_status(ICAL_STATUS_NEEDSACTION)); break;
    case TaskStatus::done:
      add(todo, icalproperty_new_status(ICAL_STATUS_COMPLETED));
      add(todo, icalproperty_new_percentcomplete(100));
      break;
    case TaskStatus::cancelled: add(todo, icalproperty_new_status(ICAL_STATUS_CANCELLED)); break;
  }
  // The reminder the day before, for open tasks only. It is relative to the
  // END of the to-do, i.e. its DUE: an alarm relative to the START would need
  // a DTSTART, which these to-dos do not have (RFC 5545 3.8.6.3).
  if (row.task.status == TaskStatus::open) {
    icalcomponent* alarm = icalcomponent_new_valarm();
    add(alarm, icalproperty_new_action(ICAL_ACTION_DISPLAY));
    icaltriggertype trigger{};
    trigger.time = icaltime_null_time();
    trigger.duration = icaldurationtype_from_string("-P1D");
    icalproperty* tp = icalproperty_new_trigger(trigger);
    icalproperty_add_parameter(tp, icalparameter_new_related(ICAL_RELATED_END));
    add(alarm, tp);
    const std::string text = (nl ? "Morgen: " : "Tomorrow: ") + summary;
    add(alarm, icalproperty_new_description(text.c_str()));
    icalcomponent_add_component(todo, alarm);
  }
  return todo;
}

}  // namespace

std::string task_uid(const TaskRow& row, const CalendarOptions& options) {
  return "zorgpad-task-" + row.episode + "-" + std::to_string(row.task.seq) + "@" + options.uid_domain;
}

std::string task_summary(const TaskRow& row, std::string_view lang) {
  return task_title(row.task, lang != "en") + " — " + row.episode;
}

Expected<std::string> render_calendar(const std::vector<TaskRow>& rows, const CalendarOptions& options,
                                      int64_t dtstamp) {
  if (!known_lang(options.lang)) return Error{"calendar: unknown language '" + options.lang.substr(0, 20) + "' (nl, en)"};
  const bool nl = options.lang == "nl";
  icalerror_clear_errno();
  Component cal{icalcomponent_new_vcalendar()};
  if (!cal) return Error{"calendar: libical could not create a calendar"};
  add(cal.get(), icalproperty_new_version("2.0"));
  add(cal.get(), icalproperty_new_prodid("-//zorgpad//zorgpad care pathway//NL"));
  add(cal.get(), icalproperty_new_calscale("GREGORIAN"));
  icalproperty* name = icalproperty_new_x(nl ? "zorgpad — herevaluaties en huisartscontacten"
                                             : "zorgpad — reevaluations and GP contacts");
  icalproperty_set_x_name(name, "X-WR-CALNAME");
  add(cal.get(), name);
  // Subscribed calendars: refresh hourly (RFC 7986; X-PUBLISHED-TTL for older clients).
  icalproperty* refresh = icalproperty_new_refreshinterval(icaldurationtype_from_string("PT1H"));
  icalproperty_add_parameter(refresh, icalparameter_new_value(ICAL_VALUE_DURATION));
  add(cal.get(), refresh);
  icalproperty* ttl = icalproperty_new_x("PT1H");
  icalproperty_set_x_name(ttl, "X-PUBLISHED-TTL");
  add(cal.get(), ttl);

  const icaltimetype stamp = icaltime_from_timet_with_zone(time_t(dtstamp), 0, icaltimezone_get_utc_timezone());
  for (const auto& row : rows) {
    if (!is_calendar_task(row.task.kind)) continue;
    if (options.from && row.task.due < *options.from) continue;
    if (options.to && row.task.due > *options.to) continue;
    icalcomponent_add_component(cal.get(), make_vtodo(row, options, stamp));
  }
  if (icalerrno != ICAL_NO_ERROR) return Error{std::string("calendar: libical: ") + icalerror_strerror(icalerrno)};
  std::unique_ptr<char, BufferFree> text{icalcomponent_as_ical_string_r(cal.get())};
  if (!text) return Error{"calendar: libical could not serialise the calendar"};
  return std::string(text.get());
}

Expected<std::string> render_calendar(Store& store, const Clock& clock, const CalendarOptions& options) {
  TaskFilter f;
  if (options.to) f.due_before = *options.to + 1;
  // Every status, although the issue asked for open and cancelled tasks only:
  // done tasks go out as COMPLETED, so a subscribed calendar (or a re-import)
  // learns that a to-do was completed instead of keeping it open for ever.
  auto r = store.tasks(f);
  if (!r) return Error{r.error().message};
  return render_calendar(r.value(), options, clock.unix_seconds());
}

}  // namespace zorgpad
