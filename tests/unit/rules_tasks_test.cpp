// §11 tasks: numbering, order within one event, what terminal entry cancels.
#include "fixtures.hpp"

using namespace zorgpad;
using namespace zorgpad::test;

TEST_CASE("a screening's tasks are listed in due order", "[tasks][spec-11]") {
  Episode ep = opened({{"complaint", "lrs"}});
  must_apply(ep, screening("2026-01-05", {{"red_flags", {"night_sweats", "fever_chills"}}}));
  REQUIRE(ep.tasks.size() == 2);
  CHECK(ep.tasks[0].kind == TaskKind::red_flag_review);
  CHECK(ep.tasks[0].due == d("2026-01-05"));
  CHECK(ep.tasks[1].kind == TaskKind::lrs_check);
  CHECK(ep.tasks[1].due == d("2026-01-07"));
}

TEST_CASE("a stratification's tasks are listed in due order", "[tasks][spec-11]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}});
  REQUIRE(ep.tasks.size() == 5);  // lrs_check from the screening, then the stratification's four
  CHECK(ep.tasks[1].kind == TaskKind::gp_report_start);
  CHECK(ep.tasks[1].due == d("2026-01-05"));
  CHECK(ep.tasks[2].checkpoint == Checkpoint::week3);
  CHECK(ep.tasks[2].due == d("2026-01-26"));
  CHECK(ep.tasks[3].checkpoint == Checkpoint::lrs_duration);
  CHECK(ep.tasks[3].due == d("2026-02-12"));
  CHECK(ep.tasks[4].checkpoint == Checkpoint::week6);
  CHECK(ep.tasks[4].due == d("2026-02-16"));
}

TEST_CASE("tasks are numbered from 1 in creation order", "[tasks][spec-11]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}});
  for (size_t i = 0; i < ep.tasks.size(); ++i) CHECK(ep.tasks[i].seq == int(i) + 1);
}

TEST_CASE("a new task is open and records the day it was created", "[tasks][spec-11]") {
  Episode ep = screened();
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-08"}, {"profile", 1}, {"factors", json::object()}});
  CHECK(task(ep, 2).status == TaskStatus::open);
  CHECK(task(ep, 2).created == d("2026-01-08"));
  CHECK_FALSE(task(ep, 2).closed);
}

TEST_CASE("only reevaluation tasks carry a checkpoint", "[tasks][spec-11]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}});
  for (const auto& t : ep.tasks) CHECK(t.checkpoint.has_value() == (t.kind == TaskKind::reevaluation));
}

TEST_CASE("becoming terminal cancels the open reevaluation tasks", "[tasks][spec-11]") {
  Episode ep = in_treatment(2);
  must_apply(ep, stop("2026-01-10", "patient_request"));
  CHECK(task(ep, 2).status == TaskStatus::cancelled);
  CHECK(task(ep, 3).status == TaskStatus::cancelled);
  CHECK(task(ep, 3).closed == d("2026-01-10"));
}

TEST_CASE("becoming terminal cancels an open lrs_check", "[tasks][spec-11]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}});
  must_apply(ep, stop("2026-01-06", "patient_request"));
  CHECK(task(ep, 1).kind == TaskKind::lrs_check);
  CHECK(task(ep, 1).status == TaskStatus::cancelled);
}

TEST_CASE("becoming terminal leaves the GP report tasks open", "[tasks][spec-11]") {
  Episode ep = in_treatment(2);
  must_apply(ep, stop("2026-01-10"));
  CHECK(count_tasks(ep, TaskKind::gp_report_start, TaskStatus::open) == 1);
  CHECK(count_tasks(ep, TaskKind::gp_report_close, TaskStatus::open) == 1);
}

TEST_CASE("becoming terminal leaves session_limit and the red-flag notice open", "[tasks][spec-11]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, {{"type", "red_flag_review"}, {"at", "2026-01-05"}, {"decision", "continue"}, {"note", "a cold"}});
  must_apply(ep, {{"type", "stratification"}, {"at", "2026-01-05"}, {"profile", 1}, {"factors", json::object()}});
  for (const char* at : {"2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"}) must_apply(ep, session(at));
  must_apply(ep, stop("2026-01-10"));
  CHECK(count_tasks(ep, TaskKind::gp_red_flag_notice, TaskStatus::open) == 1);
  CHECK(count_tasks(ep, TaskKind::session_limit, TaskStatus::open) == 1);
}

TEST_CASE("becoming terminal from the review marks the red_flag_review task done", "[tasks][spec-11][spec-4]") {
  Episode ep = in_red_flag_review();
  must_apply(ep, screening("2026-01-06", {{"red_flags", {"cauda_equina"}}}));
  CHECK(ep.state == State::referred);
  CHECK(task(ep, 1).kind == TaskKind::red_flag_review);
  CHECK(task(ep, 1).status == TaskStatus::done);
  CHECK(task(ep, 1).closed == d("2026-01-06"));
}

TEST_CASE("becoming terminal leaves done tasks done", "[tasks][spec-11]") {
  Episode ep = in_treatment(2, {{"complaint", "lrs"}});
  REQUIRE(complete_task(ep, 1, d("2026-01-07")).ok());  // the lrs_check
  must_apply(ep, stop("2026-01-10"));
  CHECK(task(ep, 1).status == TaskStatus::done);
  CHECK(task(ep, 1).closed == d("2026-01-07"));
}

TEST_CASE("a neuro emergency during treatment cancels the reevaluation tasks and leaves the urgent contact open", "[tasks][spec-11][spec-4]") {
  Episode ep = in_treatment(1);
  must_apply(ep, screening("2026-01-12", {{"red_flags", {"cauda_equina"}}}));
  CHECK(task(ep, 2).status == TaskStatus::cancelled);
  CHECK(count_tasks(ep, TaskKind::gp_urgent_contact, TaskStatus::open) == 1);
  CHECK(count_tasks(ep, TaskKind::gp_referral, TaskStatus::open) == 1);
}

TEST_CASE("an exclusion during treatment cancels the reevaluation tasks", "[tasks][spec-11][spec-5]") {
  Episode ep = in_treatment(3);
  must_apply(ep, screening("2026-01-12", {{"exclusions", {"pregnancy_related"}}}));
  CHECK(count_tasks(ep, TaskKind::reevaluation, TaskStatus::cancelled) == 2);
}
