#include "adapters/texts/task_titles.hpp"

namespace zorgpad {

std::string task_kind_title(TaskKind kind, bool nl) {
  auto t = [nl](const char* dutch, const char* english) { return std::string(nl ? dutch : english); };
  switch (kind) {
    case TaskKind::gp_report_start: return t("Startbericht huisarts", "GP letter: start of treatment");
    case TaskKind::gp_report_close: return t("Eindbericht huisarts", "GP letter: end of treatment");
    case TaskKind::gp_referral: return t("Verwijsbericht huisarts", "GP letter: referral");
    case TaskKind::gp_urgent_contact: return t("Huisarts bellen (spoed)", "Phone the GP (urgent)");
    case TaskKind::gp_consultation: return t("Overleg huisarts", "Consult the GP");
    case TaskKind::reevaluation: return t("Herevaluatie", "Reevaluation");
    case TaskKind::lrs_check: return t("Controle LRS", "LRS check");
    case TaskKind::red_flag_review: return t("Rode vlaggen beoordelen", "Review red flags");
    case TaskKind::session_limit: return t("Profiel 1: drie behandelingen bereikt", "Profile 1: three sessions reached");
    case TaskKind::gp_report_interim: return t("Tussentijds verslag aan de huisarts", "Interim report to the GP");
    case TaskKind::gp_red_flag_notice: return t("Melding alarmsignalen aan de huisarts", "Red-flag notice to the GP");
  }
  return {};  // every kind is handled above
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
