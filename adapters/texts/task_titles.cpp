#include "adapters/texts/task_titles.hpp"

namespace zorgpad {

std::string task_kind_title(TaskKind kind, bool nl) {
  const TaskKindInfo& info = task_kind_info(kind);
  return nl ? info.title_nl : info.title_en;
}

std::string checkpoint_title(Checkpoint c, bool nl) {
  switch (c) {
    case Checkpoint::week3: return "week 3";
    case Checkpoint::week6: return "week 6";
    case Checkpoint::week12: return "week 12";
    case Checkpoint::lrs_duration: return nl ? "LRS na 6 weken klachten" : "LRS after 6 weeks of complaints";
    case Checkpoint::followup: return nl ? "Herevaluatie (vervolg)" : "Follow-up reevaluation";
  }
  return {};  // every checkpoint is handled above
}

std::string task_title(const Task& t, bool nl) {
  // The follow-up's title names the reevaluation itself: "Herevaluatie (vervolg)", not "Herevaluatie Herevaluatie (vervolg)".
  if (t.kind == TaskKind::reevaluation && t.checkpoint == Checkpoint::followup) return checkpoint_title(*t.checkpoint, nl);
  std::string s = task_kind_title(t.kind, nl);
  if (t.checkpoint) s += " " + checkpoint_title(*t.checkpoint, nl);
  return s;
}

}  // namespace zorgpad
