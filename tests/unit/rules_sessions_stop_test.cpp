// §9 sessions, §10 stopping.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

namespace {
void sessions(Episode& ep, std::initializer_list<const char*> dates) {
  for (const char* at : dates) must_apply(ep, session(at));
}
}  // namespace

// ---- §9 sessions ------------------------------------------------------------------

TEST_CASE("three sessions in profile 1 emit no session_limit", "[sessions][spec-9]") {
  Episode ep = in_treatment(1);
  sessions(ep, {"2026-01-06", "2026-01-08", "2026-01-12"});
  CHECK(ep.sessions == 3);
  CHECK(count_tasks(ep, TaskKind::session_limit) == 0);
}

TEST_CASE("the fourth session in profile 1 emits session_limit due that day", "[sessions][spec-9]") {
  Episode ep = in_treatment(1);
  sessions(ep, {"2026-01-06", "2026-01-08", "2026-01-12", "2026-01-14"});
  REQUIRE(count_tasks(ep, TaskKind::session_limit) == 1);
  CHECK(ep.tasks.back().kind == TaskKind::session_limit);
  CHECK(ep.tasks.back().due == d("2026-01-14"));
}

TEST_CASE("the fifth session in profile 1 emits no second session_limit", "[sessions][spec-9]") {
  Episode ep = in_treatment(1);
  sessions(ep, {"2026-01-06", "2026-01-08", "2026-01-12", "2026-01-14", "2026-01-16", "2026-01-19"});
  CHECK(ep.sessions == 6);
  CHECK(count_tasks(ep, TaskKind::session_limit) == 1);
}

TEST_CASE("sessions in profile 2 have no limit", "[sessions][spec-9]") {
  Episode ep = in_treatment(2);
  sessions(ep, {"2026-01-06", "2026-01-08", "2026-01-12", "2026-01-14", "2026-01-16"});
  CHECK(ep.sessions == 5);
  CHECK(count_tasks(ep, TaskKind::session_limit) == 0);
}

TEST_CASE("sessions in profile 3 have no limit", "[sessions][spec-9]") {
  Episode ep = in_treatment(3);
  sessions(ep, {"2026-01-06", "2026-01-08", "2026-01-12", "2026-01-14", "2026-01-16"});
  CHECK(count_tasks(ep, TaskKind::session_limit) == 0);
}

TEST_CASE("the fourth session in profile 1 counts sessions while reevaluation is due", "[sessions][spec-9]") {
  Episode ep = in_reevaluation_due(1);
  sessions(ep, {"2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29"});
  CHECK(ep.state == State::reevaluation_due);
  CHECK(count_tasks(ep, TaskKind::session_limit) == 1);
}

TEST_CASE("sessions are counted while waiting for the GP", "[sessions][spec-9]") {
  Episode ep = in_gp_consultation();
  sessions(ep, {"2026-02-17", "2026-02-18"});
  CHECK(ep.sessions == 2);
  CHECK(ep.state == State::gp_consultation);
}

// ---- §10 stop -------------------------------------------------------------------------

TEST_CASE("each stop reason but red_flag closes the episode with that reason", "[stop][spec-10]") {
  for (const char* reason : {"request_met", "goals_met", "no_improvement", "self_sufficient", "not_motivated",
                             "patient_request"}) {
    INFO(reason);
    Episode ep = in_treatment(1);
    must_apply(ep, stop("2026-01-12", reason));
    CHECK(ep.state == State::closed);
    CHECK(ep.reason == reason);
  }
}

TEST_CASE("each stop that closes a treated episode emits gp_report_close due that day", "[stop][spec-10][spec-11]") {
  for (const char* reason : {"request_met", "goals_met", "no_improvement", "self_sufficient", "not_motivated",
                             "patient_request"}) {
    INFO(reason);
    Episode ep = in_treatment(1);
    must_apply(ep, stop("2026-01-12", reason));
    CHECK(count_tasks(ep, TaskKind::gp_report_close) == 1);
    CHECK(ep.tasks.back().kind == TaskKind::gp_report_close);
    CHECK(ep.tasks.back().due == d("2026-01-12"));
  }
}

TEST_CASE("revision 1: a stop for a red flag closes the episode with a closing report", "[stop][spec-10][revision-1]") {
  Episode ep = in_treatment(1, revision1());
  must_apply(ep, stop("2026-01-12", "red_flag"));
  CHECK(ep.state == State::closed);
  CHECK(ep.reason == "red_flag");
  CHECK(ep.tasks.back().kind == TaskKind::gp_report_close);
  CHECK(count_tasks(ep, TaskKind::gp_referral) == 0);
}

TEST_CASE("stop records the transition to closed", "[stop][spec-10]") {
  Episode ep = in_treatment(1);
  must_apply(ep, stop("2026-01-12"));
  CHECK(ep.transitions.back() == Transition{d("2026-01-12"), Trigger::stop, "treatment", "closed"});
}

TEST_CASE("a direct-access patient who stops in screened gets no end report", "[stop][spec-10]") {
  Episode ep = screened();
  must_apply(ep, stop("2026-01-06", "request_met"));
  CHECK(ep.state == State::closed);
  CHECK(ep.tasks.empty());
}

TEST_CASE("stop while waiting for the GP leaves the gp_consultation task open", "[stop][spec-10][spec-11]") {
  Episode ep = in_gp_consultation();
  must_apply(ep, stop("2026-02-18", "patient_request"));
  CHECK(ep.state == State::closed);
  CHECK(count_tasks(ep, TaskKind::gp_consultation, TaskStatus::open) == 1);
}
