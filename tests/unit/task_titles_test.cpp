// The task titles shared by the calendar and FHIR adapters.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "adapters/texts/task_titles.hpp"

using namespace zorgpad;

TEST_CASE("every task kind has its own Dutch and English title", "[texts]") {
  for (bool dutch : {true, false}) {
    std::set<std::string> seen;
    for (size_t i = 0; i < kTaskKinds.size(); ++i) {
      TaskKind k = kTaskKinds.at(i);
      std::string title = task_kind_title(k, dutch);
      INFO(kTaskKinds.name(k) << (dutch ? " (nl)" : " (en)"));
      CHECK_FALSE(title.empty());
      CHECK(title != std::string(kTaskKinds.name(k)));  // words, not the code
      CHECK(seen.insert(title).second);
    }
  }
  CHECK(task_kind_title(TaskKind::gp_report_start, true) != task_kind_title(TaskKind::gp_report_start, false));
}

TEST_CASE("a reevaluation task is titled with its checkpoint", "[texts]") {
  Task t;
  t.kind = TaskKind::reevaluation;
  t.checkpoint = Checkpoint::week6;
  CHECK(task_title(t, true) == "Herevaluatie week 6");
  CHECK(task_title(t, false) == "Reevaluation week 6");
  t.checkpoint = Checkpoint::lrs_duration;
  CHECK(task_title(t, true) == "Herevaluatie LRS na 6 weken klachten");
  t.kind = TaskKind::gp_urgent_contact;
  t.checkpoint.reset();
  CHECK(task_title(t, true) == "Huisarts bellen (spoed)");
  for (size_t i = 0; i < kCheckpoints.size(); ++i) CHECK_FALSE(checkpoint_title(kCheckpoints.at(i), false).empty());
}

TEST_CASE("the revision-2 task kinds and the follow-up checkpoint have their titles", "[texts][spec-11]") {
  CHECK(task_kind_title(TaskKind::gp_report_interim, true) == "Tussentijds verslag aan de huisarts");
  CHECK(task_kind_title(TaskKind::gp_report_interim, false) == "Interim report to the GP");
  CHECK(task_kind_title(TaskKind::gp_red_flag_notice, true) == "Melding alarmsignalen aan de huisarts");
  CHECK(task_kind_title(TaskKind::gp_red_flag_notice, false) == "Red-flag notice to the GP");
  CHECK(checkpoint_title(Checkpoint::followup, true) == "Herevaluatie (vervolg)");
  CHECK(checkpoint_title(Checkpoint::followup, false) == "Follow-up reevaluation");
  Task t;
  t.kind = TaskKind::reevaluation;
  t.checkpoint = Checkpoint::followup;
  CHECK(task_title(t, true) == "Herevaluatie (vervolg)");
  CHECK(task_title(t, false) == "Follow-up reevaluation");
}
