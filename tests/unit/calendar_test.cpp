// The practice scheduler's calendar (adapters/calendar): one VTODO per task of
// the calendar kinds, stable UIDs, statuses, alarms relative to DUE.
#include <catch2/catch.hpp>
#include <libical/ical.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "adapters/calendar/caldav.hpp"
#include "adapters/calendar/calendar.hpp"

#include "store_fixture.hpp"

using namespace zorgpad;
using zorgpad::test::ev;

namespace {

Date day(const char* iso) { return *Date::parse(iso); }

TaskRow row(int64_t id, std::string episode, int seq, TaskKind kind, const char* due,
            TaskStatus status = TaskStatus::open, std::optional<Checkpoint> checkpoint = std::nullopt) {
  TaskRow r;
  r.id = id;
  r.episode = std::move(episode);
  r.task.seq = seq;
  r.task.kind = kind;
  r.task.due = day(due);
  r.task.status = status;
  r.task.checkpoint = checkpoint;
  return r;
}

std::string render(const std::vector<TaskRow>& rows, CalendarOptions o = {}, int64_t stamp = 1767225600) {
  auto r = render_calendar(rows, o, stamp);
  REQUIRE(r.ok());
  return *r;
}

// The calendar parsed back by libical; VTODOs in order.
struct Parsed {
  std::unique_ptr<icalcomponent, void (*)(icalcomponent*)> cal{nullptr, icalcomponent_free};
  std::vector<icalcomponent*> todos;
};
Parsed parse(const std::string& text) {
  Parsed p;
  p.cal.reset(icalparser_parse_string(text.c_str()));
  REQUIRE(p.cal);
  for (auto* c = icalcomponent_get_first_component(p.cal.get(), ICAL_VTODO_COMPONENT); c;
       c = icalcomponent_get_next_component(p.cal.get(), ICAL_VTODO_COMPONENT))
    p.todos.push_back(c);
  return p;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t nl; (nl = text.find("\r\n", pos)) != std::string::npos; pos = nl + 2) out.push_back(text.substr(pos, nl - pos));
  return out;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

const std::vector<TaskRow> kRows = {
    row(11, "ep-123", 2, TaskKind::reevaluation, "2026-04-13", TaskStatus::open, Checkpoint::week6),
    row(12, "ep-5", 1, TaskKind::lrs_check, "2026-03-04", TaskStatus::done),
    row(13, "ep-7", 4, TaskKind::gp_consultation, "2026-04-20", TaskStatus::open),
    row(14, "ep-2", 1, TaskKind::gp_urgent_contact, "2026-03-02", TaskStatus::open),
    row(15, "ep-9", 3, TaskKind::reevaluation, "2026-03-23", TaskStatus::cancelled, Checkpoint::week3),
};

}  // namespace

TEST_CASE("each calendar task becomes one VTODO whose UID comes from the episode and task number",
          "[calendar][spec-11]") {
  auto p = parse(render(kRows));
  REQUIRE(p.todos.size() == kRows.size());
  CHECK(std::string(icalcomponent_get_uid(p.todos[0])) == "zorgpad-task-ep-123-2@zorgpad");
  CHECK(std::string(icalcomponent_get_uid(p.todos[3])) == "zorgpad-task-ep-2-1@zorgpad");
  CalendarOptions o;
  o.uid_domain = "praktijk.example";
  CHECK(task_uid(kRows[1], o) == "zorgpad-task-ep-5-1@praktijk.example");
}

TEST_CASE("the calendar does not depend on the export time except for DTSTAMP", "[calendar]") {
  const std::string a = render(kRows, {}, 1767225600);
  const std::string b = render(kRows, {}, 1767225600 + 86400 * 40 + 3661);
  CHECK(a != b);
  auto la = lines(a), lb = lines(b);
  REQUIRE(la.size() == lb.size());
  for (size_t i = 0; i < la.size(); ++i)
    if (la[i].rfind("DTSTAMP", 0) != 0) CHECK(la[i] == lb[i]);
  CHECK(count(a, "DTSTAMP:20260101T000000Z") == int(kRows.size()));
  CHECK(count(b, "DTSTAMP:20260210T010101Z") == int(kRows.size()));
}

TEST_CASE("summaries are Dutch by default and name the checkpoint and the episode", "[calendar][spec-8]") {
  CHECK(task_summary(kRows[0], "nl") == "Herevaluatie week 6 — ep-123");
  CHECK(task_summary(kRows[1], "nl") == "Controle LRS — ep-5");
  CHECK(task_summary(kRows[2], "nl") == "Overleg huisarts — ep-7");
  CHECK(task_summary(kRows[3], "nl") == "Huisarts bellen (spoed) — ep-2");
  CHECK(task_summary(row(1, "ep-4", 5, TaskKind::reevaluation, "2026-04-06", TaskStatus::open, Checkpoint::lrs_duration), "nl") ==
        "Herevaluatie LRS na 6 weken klachten — ep-4");
  auto p = parse(render(kRows));
  CHECK(std::string(icalcomponent_get_summary(p.todos[0])) == "Herevaluatie week 6 — ep-123");
}

TEST_CASE("English summaries on request, same UIDs", "[calendar]") {
  CalendarOptions en;
  en.lang = "en";
  CHECK(task_summary(kRows[0], "en") == "Reevaluation week 6 — ep-123");
  CHECK(task_summary(kRows[3], "en") == "Phone the GP (urgent) — ep-2");
  auto nl = parse(render(kRows)), e = parse(render(kRows, en));
  for (size_t i = 0; i < kRows.size(); ++i)
    CHECK(std::string(icalcomponent_get_uid(nl.todos[i])) == icalcomponent_get_uid(e.todos[i]));
}

TEST_CASE("task status maps to NEEDS-ACTION, COMPLETED and CANCELLED", "[calendar][spec-11]") {
  auto p = parse(render(kRows));
  CHECK(icalcomponent_get_status(p.todos[0]) == ICAL_STATUS_NEEDSACTION);
  CHECK(icalcomponent_get_status(p.todos[1]) == ICAL_STATUS_COMPLETED);
  CHECK(icalcomponent_get_status(p.todos[4]) == ICAL_STATUS_CANCELLED);
  // SEQUENCE grows when a task closes, so re-imports prefer the closed version
  CHECK(icalcomponent_get_sequence(p.todos[0]) == 0);
  CHECK(icalcomponent_get_sequence(p.todos[1]) == 1);
}

TEST_CASE("DUE is the task's due day as a date value", "[calendar]") {
  const std::string text = render(kRows);
  CHECK(count(text, "DUE;VALUE=DATE:20260413") == 1);
  auto p = parse(text);
  icaltimetype due = icalcomponent_get_due(p.todos[0]);
  CHECK(due.is_date == 1);
  CHECK(due.year == 2026);
  CHECK(due.month == 4);
  CHECK(due.day == 13);
}

TEST_CASE("open tasks get a display alarm the day before DUE, related to END, closed tasks none", "[calendar]") {
  auto p = parse(render(kRows));
  for (size_t i = 0; i < kRows.size(); ++i) {
    icalcomponent* alarm = icalcomponent_get_first_component(p.todos[i], ICAL_VALARM_COMPONENT);
    if (kRows[i].task.status != TaskStatus::open) {
      CHECK(alarm == nullptr);
      continue;
    }
    REQUIRE(alarm != nullptr);
    CHECK(icalcomponent_get_first_property(p.todos[i], ICAL_DTSTART_PROPERTY) == nullptr);
    icalproperty* trig = icalcomponent_get_first_property(alarm, ICAL_TRIGGER_PROPERTY);
    REQUIRE(trig);
    icalparameter* rel = icalproperty_get_first_parameter(trig, ICAL_RELATED_PARAMETER);
    REQUIRE(rel);
    CHECK(icalparameter_get_related(rel) == ICAL_RELATED_END);
    CHECK(icaldurationtype_as_int(icalproperty_get_trigger(trig).duration) == -86400);
    CHECK(icalproperty_get_action(icalcomponent_get_first_property(alarm, ICAL_ACTION_PROPERTY)) == ICAL_ACTION_DISPLAY);
  }
  CHECK(count(render(kRows), "TRIGGER;RELATED=END:-P1D") == 3);
}

TEST_CASE("letters, red-flag reviews and session limits are not in the calendar", "[calendar][spec-11]") {
  std::vector<TaskRow> rows = {row(1, "ep-1", 1, TaskKind::gp_report_start, "2026-03-02"),
                               row(2, "ep-1", 2, TaskKind::gp_report_close, "2026-03-02"),
                               row(3, "ep-1", 3, TaskKind::gp_referral, "2026-03-02"),
                               row(4, "ep-1", 4, TaskKind::red_flag_review, "2026-03-02"),
                               row(5, "ep-1", 5, TaskKind::session_limit, "2026-03-02")};
  CHECK(parse(render(rows)).todos.empty());
  for (const auto& r : rows) CHECK_FALSE(is_calendar_task(r.task.kind));
  CHECK(is_calendar_task(TaskKind::reevaluation));
  CHECK(is_calendar_task(TaskKind::lrs_check));
  CHECK(is_calendar_task(TaskKind::gp_consultation));
  CHECK(is_calendar_task(TaskKind::gp_urgent_contact));
}

TEST_CASE("the from and to options are inclusive bounds on the due date", "[calendar]") {
  CalendarOptions o;
  o.from = day("2026-03-04");
  o.to = day("2026-04-13");
  auto p = parse(render(kRows, o));
  std::vector<std::string> uids;
  for (auto* t : p.todos) uids.push_back(icalcomponent_get_uid(t));
  CHECK(uids == std::vector<std::string>{"zorgpad-task-ep-123-2@zorgpad", "zorgpad-task-ep-5-1@zorgpad",
                                         "zorgpad-task-ep-9-3@zorgpad"});
}

TEST_CASE("an unknown language is an error", "[calendar]") {
  CalendarOptions o;
  o.lang = "de";
  auto r = render_calendar(kRows, o, 0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.message().find("language") != std::string::npos);
}

TEST_CASE("text is escaped and long lines are folded at 75 octets without splitting a character", "[calendar]") {
  std::vector<TaskRow> rows;
  std::string id = "ep,1;x\\y";
  for (int n = 0; n < 40; ++n) {
    rows.push_back(row(n + 1, id, 1, TaskKind::gp_consultation, "2026-03-02"));
    id += "é";
  }
  const std::string text = render(rows);
  for (const auto& l : lines(text)) {
    CHECK(l.size() <= 75);
    // a folded line never starts inside a UTF-8 sequence (a continuation byte after the space)
    if (l.size() > 1 && l[0] == ' ') CHECK((static_cast<unsigned char>(l[1]) & 0xC0) != 0x80);
  }
  auto p = parse(text);
  REQUIRE(p.todos.size() == rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(std::string(icalcomponent_get_summary(p.todos[i])) == "Overleg huisarts — " + rows[i].episode);
    CHECK(std::string(icalcomponent_get_uid(p.todos[i])) == task_uid(rows[i], {}));
  }
}

TEST_CASE("the store overload exports the store's tasks of every status, stamped by the clock", "[calendar]") {
  ManualClock clock(day("2026-03-02"));
  auto opened = open_sqlite_store(":memory:", clock);
  REQUIRE(opened.ok());
  auto& store = *opened.value();
  auto o = store.open("ep-1", "P-001", ev({{"type", "open"}, {"at", "2026-03-02"}, {"onset", "2026-02-20"},
                                        {"complaint", "lrs"}, {"age", 40}}));
  REQUIRE(o.ok());
  auto s = store.record("ep-1", ev({{"type", "screening"}, {"at", "2026-03-02"}, {"mrc", 5}, {"nprs", 4}}), std::nullopt);
  REQUIRE(s.ok());
  auto st = store.record("ep-1", ev({{"type", "stop"}, {"at", "2026-03-03"}, {"reason", "patient_request"}}), std::nullopt);
  REQUIRE(st.ok());

  auto r = render_calendar(store, clock, {});
  REQUIRE(r.ok());
  auto p = parse(*r);
  REQUIRE(p.todos.size() == 1);  // lrs_check (cancelled); the closing letter is not in the calendar
  CHECK(std::string(icalcomponent_get_uid(p.todos[0])) == "zorgpad-task-ep-1-1@zorgpad");
  CHECK(icalcomponent_get_status(p.todos[0]) == ICAL_STATUS_CANCELLED);
  CHECK(r->find("DTSTAMP:20260302T000000Z") != std::string::npos);
  CHECK(r->find("P-001") == std::string::npos);
}

// ---- CalDAV objects (calendar push / pull) -------------------------------------------

namespace {

CalDavObject todo_object(const TaskRow& r, std::string_view patient = "P0298", CalendarOptions o = {},
                         int64_t stamp = 1767225600) {
  auto obj = caldav_todo(r, patient, o, stamp);
  REQUIRE(obj.ok());
  return *obj;
}

// The one component of a CalDAV object, parsed back by libical.
struct One {
  std::unique_ptr<icalcomponent, void (*)(icalcomponent*)> cal{nullptr, icalcomponent_free};
  icalcomponent* c = nullptr;
};
One parse_one(const std::string& text, icalcomponent_kind kind) {
  One o;
  o.cal.reset(icalparser_parse_string(text.c_str()));
  REQUIRE(o.cal);
  REQUIRE(icalcomponent_count_components(o.cal.get(), ICAL_ANY_COMPONENT) == 1);
  o.c = icalcomponent_get_first_component(o.cal.get(), kind);
  REQUIRE(o.c);
  return o;
}

}  // namespace

TEST_CASE("a pushed VTODO keeps the exported UID (episode and task number), one object per task",
          "[calendar][caldav]") {
  auto o = parse_one(todo_object(kRows[0]).text, ICAL_VTODO_COMPONENT);
  CHECK(std::string(icalcomponent_get_uid(o.c)) == "zorgpad-task-ep-123-2@zorgpad");
  CHECK(std::string(icalcomponent_get_uid(o.c)) == task_uid(kRows[0], {}));
  CHECK(todo_resource(kRows[0]) == "zorgpad-task-ep-123-2.ics");
}

TEST_CASE("a VEVENT twin has a UID of its own, all day on the due date, booking no time", "[calendar][caldav]") {
  auto ev = caldav_event(kRows[0], "P0298", {}, 1767225600);
  REQUIRE(ev.ok());
  auto o = parse_one(ev->text, ICAL_VEVENT_COMPONENT);
  CHECK(std::string(icalcomponent_get_uid(o.c)) == "zorgpad-event-ep-123-2@zorgpad");
  CHECK(event_resource(kRows[0]) == "zorgpad-event-ep-123-2.ics");
  CHECK(ev->text.find("DTSTART;VALUE=DATE:20260413") != std::string::npos);
  CHECK(ev->text.find("DTEND;VALUE=DATE:20260414") != std::string::npos);
  CHECK(ev->text.find("TRANSP:TRANSPARENT") != std::string::npos);
  CHECK(ev->digest != todo_object(kRows[0]).digest);
}

TEST_CASE("the pushed SUMMARY names the checkpoint and the pseudonymous patient reference, else the episode",
          "[calendar][caldav]") {
  CHECK(caldav_summary(kRows[0], "P0298", "nl") == "Herevaluatie week 6 — P0298");
  CHECK(caldav_summary(kRows[0], "P0298", "en") == "Reevaluation week 6 — P0298");
  CHECK(caldav_summary(kRows[1], "P0298", "nl") == "Controle LRS — P0298");
  CHECK(caldav_summary(kRows[3], "", "nl") == "Huisarts bellen (spoed) — ep-2");
  auto o = parse_one(todo_object(kRows[0]).text, ICAL_VTODO_COMPONENT);
  CHECK(std::string(icalcomponent_get_summary(o.c)) == "Herevaluatie week 6 — P0298");
}

TEST_CASE("pushed VTODOs map open, done and cancelled to NEEDS-ACTION, COMPLETED and CANCELLED",
          "[calendar][caldav][spec-11]") {
  CHECK(icalcomponent_get_status(parse_one(todo_object(kRows[0]).text, ICAL_VTODO_COMPONENT).c) == ICAL_STATUS_NEEDSACTION);
  CHECK(icalcomponent_get_status(parse_one(todo_object(kRows[1]).text, ICAL_VTODO_COMPONENT).c) == ICAL_STATUS_COMPLETED);
  CHECK(icalcomponent_get_status(parse_one(todo_object(kRows[4]).text, ICAL_VTODO_COMPONENT).c) == ICAL_STATUS_CANCELLED);
  auto back = read_caldav_object(todo_object(kRows[1]).text);
  REQUIRE(back.ok());
  CHECK(back->todo);
  CHECK(back->status == "COMPLETED");
}

TEST_CASE("the digest ignores DTSTAMP and changes with what a push would change", "[calendar][caldav]") {
  const auto a = todo_object(kRows[0], "P0298", {}, 1767225600);
  const auto b = todo_object(kRows[0], "P0298", {}, 1767225600 + 86400 * 3);
  CHECK(a.text != b.text);
  CHECK(a.digest == b.digest);
  TaskRow closed = kRows[0];
  closed.task.status = TaskStatus::done;
  CHECK(todo_object(closed).digest != a.digest);
  CHECK(todo_object(kRows[0], "P0299").digest != a.digest);
  CalendarOptions with_url;
  with_url.dashboard_url = "https://zorgpad.example";
  CHECK(todo_object(kRows[0], "P0298", with_url).digest != a.digest);
  auto back = read_caldav_object(a.text);
  REQUIRE(back.ok());
  CHECK(back->digest == a.digest);
  CHECK(back->uid == "zorgpad-task-ep-123-2@zorgpad");
}

TEST_CASE("the URL of a pushed object is the dashboard's episode route, the id percent-encoded", "[calendar][caldav]") {
  CHECK(episode_url("https://zorgpad.example/", "ep-1") == "https://zorgpad.example/#episode=ep-1");
  CHECK(episode_url("https://zorgpad.example", "a b/é") == "https://zorgpad.example/#episode=a%20b%2F%C3%A9");
  CalendarOptions o;
  o.dashboard_url = "https://zorgpad.example/";
  auto one = parse_one(todo_object(kRows[0], "P0298", o).text, ICAL_VTODO_COMPONENT);
  icalproperty* url = icalcomponent_get_first_property(one.c, ICAL_URL_PROPERTY);
  REQUIRE(url);
  CHECK(std::string(icalproperty_get_url(url)) == "https://zorgpad.example/#episode=ep-123");
  CHECK(todo_object(kRows[0]).text.find("URL:") == std::string::npos);
}

TEST_CASE("an object that is not a VCALENDAR with a VTODO or VEVENT with a UID is refused", "[calendar][caldav]") {
  CHECK_FALSE(read_caldav_object("").ok());
  CHECK_FALSE(read_caldav_object("hello").ok());
  CHECK_FALSE(read_caldav_object("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n").ok());
  CHECK_FALSE(read_caldav_object("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n").ok());
  CHECK_FALSE(read_caldav_object("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID\r\nEND:VTODO\r\nEND:VCALENDAR\r\n").ok());
  CHECK_FALSE(read_caldav_object(std::string("BEGIN:VCALENDAR\r\n\0", 17)).ok());
  auto ok = read_caldav_object("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:u1\r\nSTATUS:COMPLETED\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
  REQUIRE(ok.ok());
  CHECK(ok->uid == "u1");
  CHECK(ok->status == "COMPLETED");
  CHECK(ok->digest.empty());
}

TEST_CASE("calendar and object names keep A-Z a-z 0-9 - . and write every other byte as _XX", "[calendar][caldav]") {
  CHECK(caldav_segment("ep-1.2") == "ep-1.2");
  CHECK(caldav_segment("Fysio de Vries") == "Fysio_20de_20Vries");
  CHECK(caldav_segment("a/b_c") == "a_2Fb_5Fc");
  CHECK(caldav_segment("é") == "_C3_A9");
  CHECK(caldav_segment("..") == "_2E_2E");
  CHECK(therapist_calendar("") == "zorgpad-no-therapist");
  CHECK(therapist_calendar("T2") == "T2");
  CHECK(todo_resource(row(1, "ep/1", 3, TaskKind::lrs_check, "2026-03-04")) == "zorgpad-task-ep_2F1-3.ics");
}

TEST_CASE("a credentials file is user:password on its first line, split at the first colon", "[calendar][caldav]") {
  char path[] = "/tmp/zorgpad-cred-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream(path) << "praktijk:ge:heim\r\nsecond line\n";
  }
  auto c = read_caldav_credentials(path);
  REQUIRE(c.ok());
  CHECK(c->user == "praktijk");
  CHECK(c->password == "ge:heim");
  {
    std::ofstream(path) << "no colon\n";
  }
  CHECK_FALSE(read_caldav_credentials(path).ok());
  std::remove(path);
  CHECK_FALSE(read_caldav_credentials(path).ok());
}
