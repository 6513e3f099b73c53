// The coordinator's overview (adapters/overview): what counts as overdue, due
// this week, waiting on the GP and referred this month, over a real store.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "adapters/overview/overview.hpp"

#include "store_fixture.hpp"

using namespace zorgpad;
using zorgpad::test::ev;
using nlohmann::json;

namespace {

Date day(const char* iso) { return *Date::parse(iso); }

Task task(TaskKind kind, const char* due, TaskStatus status = TaskStatus::open) {
  Task t;
  t.kind = kind;
  t.due = day(due);
  t.status = status;
  return t;
}

// A store in a temporary file, removed at the end; the clock stands at `today`.
struct Fixture {
  std::filesystem::path path;
  ManualClock clock{day("2026-03-02")};
  std::unique_ptr<Store> store;

  Fixture() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() / ("zorgpad-overview-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".db");
    auto r = open_sqlite_store(path.string(), clock);
    REQUIRE(r.ok());
    store = std::move(r.value());
  }
  ~Fixture() {
    store.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  }

  void ok(const Expected<Recorded>& r) {
    if (!r) FAIL(r.error().message);
  }
  void open(const std::string& id, const char* at, const std::string& therapist = "T1", const std::string& gp = "GP1",
            const std::string& complaint = "lbp") {
    ok(store->open(id, "P-" + id, ev({{"type", "open"}, {"at", at}, {"onset", at}, {"complaint", complaint}, {"age", 40},
                                   {"gp", gp}, {"therapist", therapist}})));
  }
  void record(const std::string& id, const json& event) { ok(store->record(id, ev(event), std::nullopt)); }
  // Screened and stratified into profile 1 on `at`: week-3 reevaluation due at + 21.
  void treat(const std::string& id, const char* at, const std::string& therapist = "T1") {
    open(id, at, therapist);
    record(id, {{"type", "screening"}, {"at", at}, {"red_flags", json::array()}, {"exclusions", json::array()}});
    record(id, {{"type", "stratification"}, {"at", at}, {"profile", 1}, {"factors", json::object()}});
  }
  Overview overview(const char* today, OverviewOptions o = {}) {
    clock.set(day(today));
    auto t = store->tick(day(today));
    REQUIRE(t.ok());
    auto r = build_overview(*store, day(today), o);
    if (!r) FAIL(r.error().message);
    return r.value();
  }
  int64_t task_id(const std::string& episode, TaskKind kind) {
    TaskFilter f;
    f.episode = episode;
    f.kind = kind;
    auto r = store->tasks(f);
    REQUIRE(r.ok());
    REQUIRE(!r.value().empty());
    return r.value().front().id;
  }
};

std::vector<std::string> episodes_of(const OverviewList<OverviewTask>& l) {
  std::vector<std::string> out;
  for (const auto& t : l.items) out.push_back(t.row.episode);
  return out;
}

int64_t count_of(const Counts& c, const std::string& key) {
  for (const auto& [k, v] : c)
    if (k == key) return v;
  return -1;
}

}  // namespace

TEST_CASE("a reevaluation still open 7 days after its due date is overdue, 6 days is not", "[overview][spec-11]") {
  const Date today = day("2026-04-20");
  CHECK(is_overdue(task(TaskKind::reevaluation, "2026-04-13"), today));
  CHECK(is_overdue(task(TaskKind::reevaluation, "2026-03-01"), today));
  CHECK_FALSE(is_overdue(task(TaskKind::reevaluation, "2026-04-14"), today));
  CHECK_FALSE(is_overdue(task(TaskKind::reevaluation, "2026-04-13", TaskStatus::done), today));
  CHECK_FALSE(is_overdue(task(TaskKind::reevaluation, "2026-04-13", TaskStatus::cancelled), today));
  CHECK_FALSE(is_overdue(task(TaskKind::lrs_check, "2026-03-01"), today));  // §11: reevaluations only
}

TEST_CASE("due this week runs from six days back to six days ahead, so a reevaluation never drops out of sight",
          "[overview][spec-11]") {
  const Date today = day("2026-04-20");
  CHECK(is_due_this_week(task(TaskKind::reevaluation, "2026-04-14"), today));
  CHECK(is_due_this_week(task(TaskKind::reevaluation, "2026-04-20"), today));
  CHECK(is_due_this_week(task(TaskKind::gp_report_start, "2026-04-26"), today));
  CHECK_FALSE(is_due_this_week(task(TaskKind::gp_report_start, "2026-04-27"), today));
  CHECK_FALSE(is_due_this_week(task(TaskKind::reevaluation, "2026-04-13"), today));  // overdue instead
  CHECK_FALSE(is_due_this_week(task(TaskKind::reevaluation, "2026-04-21", TaskStatus::done), today));
}

TEST_CASE("the GP tasks are the seven gp_* kinds, the interim report and the red-flag notice included",
          "[overview][spec-11]") {
  for (TaskKind k : {TaskKind::gp_report_start, TaskKind::gp_report_close, TaskKind::gp_referral,
                     TaskKind::gp_urgent_contact, TaskKind::gp_consultation, TaskKind::gp_report_interim,
                     TaskKind::gp_red_flag_notice})
    CHECK(is_gp_task(k));
  for (size_t i = 0; i < kTaskKinds.size(); ++i)  // every gp_* kind, whatever is added later
    CHECK(is_gp_task(kTaskKinds.at(i)) == kTaskKinds.name(kTaskKinds.at(i)).starts_with("gp_"));
  for (TaskKind k : {TaskKind::reevaluation, TaskKind::lrs_check, TaskKind::red_flag_review, TaskKind::session_limit})
    CHECK_FALSE(is_gp_task(k));
}

TEST_CASE("overdue reevaluations come oldest first and the total counts past the limit", "[overview][spec-11]") {
  Fixture fx;
  fx.treat("ep-b", "2026-03-09");  // week 3 due 03-30
  fx.treat("ep-a", "2026-03-02");  // week 3 due 03-23
  fx.treat("ep-c", "2026-03-20");  // week 3 due 04-10: not yet overdue on 04-13
  auto ov = fx.overview("2026-04-13");
  CHECK(episodes_of(ov.overdue) == std::vector<std::string>{"ep-a", "ep-b"});
  CHECK(ov.overdue.total == 2);
  CHECK(ov.overdue.items[0].days_late == 21);
  CHECK(ov.overdue.items[0].episode.patient == "P-ep-a");
  CHECK(ov.overdue.items[0].episode.state == State::reevaluation_due);
  CHECK(episodes_of(ov.due_this_week) == std::vector<std::string>{"ep-c"});

  OverviewOptions one;
  one.limit = 1;
  auto limited = fx.overview("2026-04-13", one);
  CHECK(episodes_of(limited.overdue) == std::vector<std::string>{"ep-a"});
  CHECK(limited.overdue.total == 2);
}

TEST_CASE("marking an overdue reevaluation done takes it off the overview", "[overview][spec-11]") {
  Fixture fx;
  fx.treat("ep-a", "2026-03-02");
  REQUIRE(fx.overview("2026-04-13").overdue.total == 1);
  auto done = fx.store->complete_task(fx.task_id("ep-a", TaskKind::reevaluation));
  REQUIRE(done.ok());
  CHECK(fx.overview("2026-04-13").overdue.total == 0);
}

TEST_CASE("the filters apply to the counts and to every list", "[overview]") {
  Fixture fx;
  fx.treat("ep-1", "2026-03-02", "Anna");
  fx.treat("ep-2", "2026-03-02", "Bram");
  fx.treat("ep-3", "2026-03-03", "Anna");
  OverviewOptions anna;
  anna.filter.therapist = "Anna";
  auto ov = fx.overview("2026-04-13", anna);
  CHECK(ov.episodes == 2);
  CHECK(episodes_of(ov.overdue) == std::vector<std::string>{"ep-1", "ep-3"});
  CHECK(ov.waiting_on_gp.total == 2);  // their gp_report_start letters are open
  for (const auto& w : ov.waiting_on_gp.items) CHECK(w.episode.therapist == "Anna");

  OverviewOptions search;
  search.filter.search = "ep-2";
  CHECK(episodes_of(fx.overview("2026-04-13", search).overdue) == std::vector<std::string>{"ep-2"});

  OverviewOptions screened;
  screened.filter.state = State::screened;
  auto none = fx.overview("2026-04-13", screened);
  CHECK(none.episodes == 0);
  CHECK(none.overdue.total == 0);
  CHECK(none.waiting_on_gp.total == 0);
}

TEST_CASE("waiting on the GP: episodes with an open GP task, longest waiting first", "[overview][spec-11]") {
  Fixture fx;
  fx.treat("ep-late", "2026-03-09");
  fx.treat("ep-early", "2026-03-02");
  auto ov = fx.overview("2026-03-10");
  REQUIRE(ov.waiting_on_gp.total == 2);
  CHECK(ov.waiting_on_gp.items[0].episode.id == "ep-early");
  CHECK(ov.waiting_on_gp.items[0].since == day("2026-03-02"));
  REQUIRE(ov.waiting_on_gp.items[0].gp_tasks.size() == 1);
  CHECK(ov.waiting_on_gp.items[0].gp_tasks[0].task.kind == TaskKind::gp_report_start);
  REQUIRE((fx.store->complete_task(fx.task_id("ep-early", TaskKind::gp_report_start))).ok());
  auto after = fx.overview("2026-03-10");
  REQUIRE(after.waiting_on_gp.total == 1);
  CHECK(after.waiting_on_gp.items[0].episode.id == "ep-late");
}

TEST_CASE("referred this month: a referral of this calendar month, letter sent or not", "[overview][spec-4]") {
  Fixture fx;
  for (const char* id : {"ep-feb", "ep-mar"}) fx.open(id, id == std::string("ep-feb") ? "2026-02-20" : "2026-03-05");
  fx.record("ep-feb", {{"type", "screening"}, {"at", "2026-02-20"}, {"red_flags", {"cauda_equina"}}, {"exclusions", json::array()}});
  fx.record("ep-mar", {{"type", "screening"}, {"at", "2026-03-05"}, {"suspicion", true}, {"red_flags", json::array()},
                       {"exclusions", json::array()}});
  auto ov = fx.overview("2026-03-10");
  REQUIRE(ov.referred_this_month.total == 1);
  CHECK(ov.referred_this_month.items[0].episode.id == "ep-mar");
  CHECK(ov.referred_this_month.items[0].task.task.kind == TaskKind::gp_referral);
  CHECK(count_of(ov.by_state, "referred") == 2);
  REQUIRE((fx.store->complete_task(fx.task_id("ep-mar", TaskKind::gp_referral))).ok());
  CHECK(fx.overview("2026-03-10").referred_this_month.total == 1);  // a sent letter does not undo the referral
  CHECK(fx.overview("2026-04-01").referred_this_month.total == 0);
}

TEST_CASE("counts name every state, phase and profile, zeros included", "[overview]") {
  Fixture fx;
  fx.treat("ep-1", "2026-03-02");
  fx.open("ep-2", "2026-03-02");
  auto ov = fx.overview("2026-03-02");
  CHECK(ov.episodes == 2);
  CHECK(ov.by_state.size() == kStates.size());
  CHECK(count_of(ov.by_state, "treatment") == 1);
  CHECK(count_of(ov.by_state, "intake") == 1);
  CHECK(count_of(ov.by_state, "excluded") == 0);
  CHECK(count_of(ov.by_phase, "acute") == 2);
  CHECK(count_of(ov.by_profile, "1") == 1);
  CHECK(count_of(ov.by_profile, "none") == 1);
  json j = overview_json(ov);
  CHECK(j["counts"]["state"]["gp_consultation"] == 0);
  CHECK(j["today"] == "2026-03-02");
}

TEST_CASE("a limit outside 1-1000 is bad input", "[overview]") {
  Fixture fx;
  OverviewOptions o;
  o.limit = 0;
  auto r = build_overview(*fx.store, day("2026-03-02"), o);
  REQUIRE(!r.ok());
  CHECK(r.error().kind == ErrorKind::bad_input);
}

TEST_CASE("filter text is checked and the message names the field", "[overview]") {
  auto f = parse_episode_filter({"treatment", "chronic", "3", "GP1", "Anna", "ep-"});
  REQUIRE(f.ok());
  CHECK(f->state == State::treatment);
  CHECK(f->phase == Phase::chronic);
  CHECK(f->profile == 3);
  CHECK(f->therapist == "Anna");
  auto bad_state = parse_episode_filter({"treated", "", "", "", "", ""});
  REQUIRE_FALSE(bad_state.ok());
  CHECK(bad_state.message().rfind("state: unknown state 'treated'", 0) == 0);
  CHECK_FALSE(parse_episode_filter({"", "", "4", "", "", ""}).ok());
  CHECK_FALSE(parse_episode_filter({"", "", "", "", "", std::string(201, 'x')}).ok());
}

TEST_CASE("months start on the first and roll over at the year's end", "[overview]") {
  CHECK(month_start(day("2026-12-31")) == day("2026-12-01"));
  CHECK(next_month_start(day("2026-12-31")) == day("2027-01-01"));
  CHECK(next_month_start(day("2026-01-31")) == day("2026-02-01"));
}

// A filter whose episodes span several of the store's pages (1,000 each) is
// read page after page by id: every list counts all of them.
TEST_CASE("a filtered overview over more episodes than one store page counts them all", "[overview]") {
  Fixture fx;
  const int n = 2500;
  std::ostringstream lines;
  for (int i = 0; i < n; ++i) {
    json ep = "ep-" + std::to_string(10000 + i);
    std::string therapist = i % 2 ? "Bram" : "Anna";
    lines << json{{"episode", ep}, {"patient", "P"}, {"event", {{"type", "open"}, {"at", "2026-03-02"}, {"onset", "2026-03-02"},
                                                                  {"complaint", "lbp"}, {"age", 40}, {"gp", "GP1"}, {"therapist", therapist}}}}.dump()
          << "\n";
    lines << json{{"episode", ep}, {"event", {{"type", "screening"}, {"at", "2026-03-02"}, {"red_flags", json::array()}, {"exclusions", json::array()}}}}.dump()
          << "\n";
    lines << json{{"episode", ep}, {"event", {{"type", "stratification"}, {"at", "2026-03-02"}, {"profile", 1}, {"factors", json::object()}}}}.dump() << "\n";
  }
  std::istringstream in(lines.str());
  auto r = fx.store->import(in, 5000);
  REQUIRE(r.ok());
  REQUIRE(r.value().episodes_opened == n);
  OverviewOptions anna;
  anna.filter.therapist = "Anna";
  auto ov = fx.overview("2026-04-13", anna);
  CHECK(ov.episodes == n / 2);
  CHECK(ov.overdue.total == n / 2);
  CHECK(ov.waiting_on_gp.total == n / 2);
  for (const auto& t : ov.overdue.items) CHECK(t.episode.therapist == "Anna");
  OverviewOptions treated;
  treated.filter.state = State::reevaluation_due;
  auto all = fx.overview("2026-04-13", treated);
  CHECK(all.episodes == n);
  CHECK(all.overdue.total == n);
  CHECK(all.waiting_on_gp.total == n);
}

// Episodes in gp_consultation whose GP tasks are all done are still waiting on
// the GP; more of them than one store page (1,000) are read page after page.
TEST_CASE("waiting on the GP counts every episode in gp_consultation over several store pages", "[overview][spec-11]") {
  Fixture fx;
  const int n = 1100;
  std::ostringstream lines;
  auto line = [&](const std::string& ep, json ev) { lines << json{{"episode", ep}, {"event", std::move(ev)}}.dump() << "\n"; };
  for (int i = 0; i < n; ++i) {
    std::string ep = "ep-" + std::to_string(10000 + i);
    line(ep, {{"type", "open"}, {"at", "2026-03-02"}, {"onset", "2026-03-02"}, {"complaint", "lbp"}, {"age", 40}});
    line(ep, {{"type", "screening"}, {"at", "2026-03-02"}, {"red_flags", json::array()}, {"exclusions", json::array()}});
    line(ep, {{"type", "stratification"}, {"at", "2026-03-02"}, {"profile", 3}, {"factors", {{"fear_of_movement", "dominant"}}}});
    line(ep, {{"type", "reevaluation"}, {"at", "2026-03-23"}, {"judgement", "insufficient"}});
  }
  std::istringstream in(lines.str());
  auto r = fx.store->import(in, 5000);
  REQUIRE(r.ok());
  TaskFilter gp_open;
  gp_open.status = TaskStatus::open;
  auto open_tasks = fx.store->tasks(gp_open);
  REQUIRE(open_tasks.ok());
  for (const auto& t : open_tasks.value())
    if (is_gp_task(t.task.kind)) REQUIRE((fx.store->complete_task(t.id)).ok());
  auto ov = fx.overview("2026-03-24");
  CHECK(count_of(ov.by_state, "gp_consultation") == n);
  CHECK(ov.waiting_on_gp.total == n);
  REQUIRE(ov.waiting_on_gp.items.size() == 50);
  CHECK(ov.waiting_on_gp.items.front().episode.id == "ep-10000");
  CHECK(!ov.waiting_on_gp.items.front().since);
}

// ---- spec §11, revision 2: urgent tasks first, inactive episodes ----------------------------

namespace {

std::vector<std::string> episodes_of(const OverviewList<InactiveOverview>& l) {
  std::vector<std::string> out;
  for (const auto& i : l.items) out.push_back(i.episode.id);
  return out;
}

std::vector<TaskKind> kinds_of(const OverviewList<OverviewTask>& l) {
  std::vector<TaskKind> out;
  for (const auto& t : l.items) out.push_back(t.row.task.kind);
  return out;
}

// Two features of the infection cluster: an open red_flag_review task due `at`.
void red_flags(Fixture& fx, const std::string& id, const char* at, const std::string& therapist = "T1") {
  fx.open(id, at, therapist);
  fx.record(id, {{"type", "screening"}, {"at", at}, {"red_flags", {"night_sweats", "fever_chills"}}, {"exclusions", json::array()}});
}

// cauda_equina: referred, with an open gp_urgent_contact task due `at`.
void cauda_equina(Fixture& fx, const std::string& id, const char* at, const std::string& therapist = "T1") {
  fx.open(id, at, therapist);
  fx.record(id, {{"type", "screening"}, {"at", at}, {"red_flags", {"cauda_equina"}}, {"exclusions", json::array()}});
}

}  // namespace

TEST_CASE("an open red_flag_review or gp_urgent_contact task is urgent whatever its due date", "[overview][spec-11]") {
  CHECK(is_urgent_task(task(TaskKind::red_flag_review, "2026-01-01")));
  CHECK(is_urgent_task(task(TaskKind::gp_urgent_contact, "2030-01-01")));
  CHECK_FALSE(is_urgent_task(task(TaskKind::red_flag_review, "2026-01-01", TaskStatus::done)));
  CHECK_FALSE(is_urgent_task(task(TaskKind::gp_urgent_contact, "2026-01-01", TaskStatus::cancelled)));
  for (TaskKind k : {TaskKind::gp_referral, TaskKind::reevaluation, TaskKind::lrs_check, TaskKind::gp_red_flag_notice})
    CHECK_FALSE(is_urgent_task(task(k, "2026-01-01")));
}

TEST_CASE("urgent tasks come first in the overview whatever their age, oldest first", "[overview][spec-11]") {
  Fixture fx;
  red_flags(fx, "ep-rf-old", "2026-01-05");     // 97 days before the overview: long out of "due this week"
  cauda_equina(fx, "ep-cauda", "2026-04-12");   // referred (terminal): its call stays urgent
  red_flags(fx, "ep-rf-new", "2026-04-12");
  fx.treat("ep-overdue", "2026-03-02");         // an overdue reevaluation is not urgent
  auto ov = fx.overview("2026-04-12");
  CHECK(episodes_of(ov.urgent) == std::vector<std::string>{"ep-rf-old", "ep-cauda", "ep-rf-new"});
  CHECK(kinds_of(ov.urgent) ==
        std::vector<TaskKind>{TaskKind::red_flag_review, TaskKind::gp_urgent_contact, TaskKind::red_flag_review});
  CHECK(ov.urgent.total == 3);
  CHECK(ov.urgent.items[0].days_late == 97);
  CHECK(ov.urgent.items[1].episode.state == State::referred);
  CHECK(episodes_of(ov.overdue) == std::vector<std::string>{"ep-overdue"});
  // the same tasks stay in the other lists they belong to
  const auto due = episodes_of(ov.due_this_week);
  CHECK(std::find(due.begin(), due.end(), "ep-rf-old") == due.end());
  CHECK(std::find(due.begin(), due.end(), "ep-rf-new") != due.end());
  json j = overview_json(ov);
  REQUIRE(j["urgent"]["tasks"].size() == 3);
  CHECK(j["urgent"]["total"] == 3);
  CHECK(j["urgent"]["tasks"][0]["kind"] == "red_flag_review");
  CHECK(j["urgent"]["tasks"][0]["episode"] == "ep-rf-old");
  CHECK(j["urgent"]["tasks"][0]["days_late"] == 97);
  CHECK(j["urgent"]["tasks"][1]["state"] == "referred");

  OverviewOptions one;
  one.limit = 1;
  auto limited = fx.overview("2026-04-12", one);
  CHECK(episodes_of(limited.urgent) == std::vector<std::string>{"ep-rf-old"});
  CHECK(limited.urgent.total == 3);
}

TEST_CASE("an urgent task marked done is no longer listed as urgent", "[overview][spec-11]") {
  Fixture fx;
  red_flags(fx, "ep-rf", "2026-03-02");
  cauda_equina(fx, "ep-cauda", "2026-03-02");
  REQUIRE(fx.overview("2026-03-02").urgent.total == 2);
  REQUIRE((fx.store->complete_task(fx.task_id("ep-rf", TaskKind::red_flag_review))).ok());
  auto ov = fx.overview("2026-03-02");
  CHECK(episodes_of(ov.urgent) == std::vector<std::string>{"ep-cauda"});
  REQUIRE((fx.store->complete_task(fx.task_id("ep-cauda", TaskKind::gp_urgent_contact))).ok());
  CHECK(fx.overview("2026-03-02").urgent.total == 0);
}

TEST_CASE("the filters apply to the urgent tasks", "[overview][spec-11]") {
  Fixture fx;
  red_flags(fx, "ep-anna", "2026-03-02", "Anna");
  cauda_equina(fx, "ep-bram", "2026-03-03", "Bram");
  OverviewOptions anna;
  anna.filter.therapist = "Anna";
  CHECK(episodes_of(fx.overview("2026-03-10", anna).urgent) == std::vector<std::string>{"ep-anna"});
  OverviewOptions referred;
  referred.filter.state = State::referred;
  CHECK(episodes_of(fx.overview("2026-03-10", referred).urgent) == std::vector<std::string>{"ep-bram"});
  OverviewOptions search;
  search.filter.search = "P-ep-b";  // the patient reference
  CHECK(episodes_of(fx.overview("2026-03-10", search).urgent) == std::vector<std::string>{"ep-bram"});
  OverviewOptions none;
  none.filter.gp = "GP2";
  CHECK(fx.overview("2026-03-10", none).urgent.total == 0);
}

TEST_CASE("an episode whose last event lies 41 days back is not inactive, 42 days is", "[overview][spec-11]") {
  CHECK_FALSE(is_inactive(State::treatment, day("2026-03-02"), day("2026-04-12")));
  CHECK(is_inactive(State::treatment, day("2026-03-02"), day("2026-04-13")));
  Fixture fx;
  fx.treat("ep-a", "2026-03-02");  // its week-3 and week-6 checkpoints fire meanwhile: timers are not events
  auto at41 = fx.overview("2026-04-12");
  CHECK(at41.inactive.total == 0);
  CHECK(at41.inactive.items.empty());
  auto at42 = fx.overview("2026-04-13");
  REQUIRE(at42.inactive.total == 1);
  CHECK(at42.inactive.items[0].episode.id == "ep-a");
  CHECK(at42.inactive.items[0].episode.state == State::reevaluation_due);
  CHECK(at42.inactive.items[0].last_event == day("2026-03-02"));
  CHECK(at42.inactive.items[0].days_inactive == 42);
  json j = overview_json(at42);
  CHECK(j["inactive"]["total"] == 1);
  CHECK(j["inactive"]["episodes"][0]["id"] == "ep-a");
  CHECK(j["inactive"]["episodes"][0]["last_event"] == "2026-03-02");
  CHECK(j["inactive"]["episodes"][0]["days_inactive"] == 42);
  CHECK(j["inactive"]["episodes"][0]["therapist"] == "T1");
}

TEST_CASE("a new event makes an inactive episode active again; marking a task done does not", "[overview][spec-11]") {
  Fixture fx;
  fx.treat("ep-a", "2026-03-02");
  REQUIRE(fx.overview("2026-04-13").inactive.total == 1);
  REQUIRE((fx.store->complete_task(fx.task_id("ep-a", TaskKind::gp_report_start))).ok());
  CHECK(fx.overview("2026-04-13").inactive.total == 1);  // the practice's work, not the patient's
  fx.record("ep-a", {{"type", "session"}, {"at", "2026-04-13"}});
  CHECK(fx.overview("2026-04-13").inactive.total == 0);
  CHECK(fx.overview("2026-05-24").inactive.total == 0);  // 41 days after the session
  CHECK(fx.overview("2026-05-25").inactive.total == 1);
}

TEST_CASE("a terminal episode is never inactive", "[overview][spec-11]") {
  Fixture fx;
  cauda_equina(fx, "ep-referred", "2026-01-05");
  fx.treat("ep-closed", "2026-01-05");
  fx.record("ep-closed", {{"type", "stop"}, {"at", "2026-01-06"}, {"reason", "goals_met"}});
  fx.treat("ep-quiet", "2026-01-05");
  auto ov = fx.overview("2026-06-01");
  CHECK(episodes_of(ov.inactive) == std::vector<std::string>{"ep-quiet"});
  CHECK_FALSE(is_inactive(State::closed, day("2026-01-06"), day("2026-06-01")));
  CHECK_FALSE(is_inactive(State::referred, day("2026-01-05"), day("2026-06-01")));
  CHECK_FALSE(is_inactive(State::excluded, day("2026-01-05"), day("2026-06-01")));
  // closing the quiet episode (spec §11: close it and report) takes it off the list
  fx.record("ep-quiet", {{"type", "stop"}, {"at", "2026-06-01"}, {"reason", "not_motivated"}});
  CHECK(fx.overview("2026-06-01").inactive.total == 0);
  OverviewOptions closed;
  closed.filter.state = State::closed;
  CHECK(fx.overview("2026-06-01", closed).inactive.total == 0);
}

TEST_CASE("inactive episodes come longest quiet first and honour the filters and the limit", "[overview][spec-11]") {
  Fixture fx;
  fx.treat("ep-b", "2026-01-12", "Anna");
  fx.treat("ep-a", "2026-01-12", "Bram");  // same day: by id
  fx.treat("ep-c", "2026-01-05", "Anna");
  fx.open("ep-intake", "2026-02-01", "Anna");  // never screened: inactive too
  fx.treat("ep-recent", "2026-03-01", "Anna");
  auto ov = fx.overview("2026-03-14");
  CHECK(episodes_of(ov.inactive) == std::vector<std::string>{"ep-c", "ep-a", "ep-b"});
  auto later = fx.overview("2026-03-15");  // ep-intake's 42nd day without an event
  CHECK(episodes_of(later.inactive) == std::vector<std::string>{"ep-c", "ep-a", "ep-b", "ep-intake"});

  OverviewOptions anna;
  anna.filter.therapist = "Anna";
  CHECK(episodes_of(fx.overview("2026-03-15", anna).inactive) == std::vector<std::string>{"ep-c", "ep-b", "ep-intake"});
  OverviewOptions intake;
  intake.filter.state = State::intake;
  CHECK(episodes_of(fx.overview("2026-03-15", intake).inactive) == std::vector<std::string>{"ep-intake"});
  OverviewOptions search;
  search.filter.search = "ep-b";
  CHECK(episodes_of(fx.overview("2026-03-15", search).inactive) == std::vector<std::string>{"ep-b"});
  OverviewOptions profile2;
  profile2.filter.profile = 2;
  CHECK(fx.overview("2026-03-15", profile2).inactive.total == 0);
  OverviewOptions two;
  two.limit = 2;
  auto limited = fx.overview("2026-03-15", two);
  CHECK(episodes_of(limited.inactive) == std::vector<std::string>{"ep-c", "ep-a"});
  CHECK(limited.inactive.total == 4);
}

TEST_CASE("the counts per state name red_flag_review", "[overview][spec-2]") {
  Fixture fx;
  fx.open("ep-1", "2026-03-02");
  auto ov = fx.overview("2026-03-02");
  CHECK(count_of(ov.by_state, "red_flag_review") == 0);
  CHECK(overview_json(ov)["counts"]["state"].contains("red_flag_review"));
  auto f = parse_episode_filter({"red_flag_review", "", "", "", "", ""});
  REQUIRE(f.ok());
  CHECK(f->state == State::red_flag_review);
}
