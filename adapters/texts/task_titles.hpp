// What a task is called, in Dutch or English: one table for every adapter
// that shows tasks to people (the calendar, FHIR Task.description, ...).
#pragma once
#include <string>

#include "pathway/codes.hpp"
#include "states/episode.hpp"

namespace zorgpad {

// "Herevaluatie" / "Reevaluation", "Startbericht huisarts" / "GP letter: start of treatment".
std::string task_kind_title(TaskKind kind, bool dutch);
// "week 6", "LRS na 6 weken klachten" / "LRS after 6 weeks of complaints",
// "Herevaluatie (vervolg)" / "Follow-up reevaluation".
std::string checkpoint_title(Checkpoint c, bool dutch);
// The kind, with the checkpoint of a reevaluation task: "Herevaluatie week 6";
// a follow-up reevaluation is "Herevaluatie (vervolg)" / "Follow-up reevaluation".
std::string task_title(const Task& t, bool dutch);

}  // namespace zorgpad
