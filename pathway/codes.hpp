// The canonical vocabulary of pathway-spec.md: every state, event, code and
// task kind, with its exact string. CLI, JSON, database and tests use these.
#pragma once
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace zorgpad {

// A fixed table of code names indexed by an enum's underlying value.
template <typename E, std::size_t N>
struct CodeTable {
  std::array<std::string_view, N> names;
  constexpr std::string_view name(E e) const { return names[static_cast<std::size_t>(e)]; }
  constexpr std::optional<E> parse(std::string_view s) const {
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == s) return static_cast<E>(i);
    return std::nullopt;
  }
  static constexpr std::size_t size() { return N; }
  constexpr E at(std::size_t i) const { return static_cast<E>(i); }
};

// §2 care states
enum class State { intake, screened, red_flag_review, treatment, reevaluation_due, gp_consultation, referred, closed,
                   excluded };
inline constexpr CodeTable<State, 9> kStates{{"intake", "screened", "red_flag_review", "treatment", "reevaluation_due",
                                              "gp_consultation", "referred", "closed", "excluded"}};
constexpr bool is_terminal(State s) {
  return s == State::referred || s == State::closed || s == State::excluded;
}

// §1 phases
enum class Phase { acute, subacute, chronic };
inline constexpr CodeTable<Phase, 3> kPhases{{"acute", "subacute", "chronic"}};

// §3 clinical events, then the two timer events (scenario-format: "phase", "checkpoint")
enum class Trigger { open, screening, red_flag_review, stratification, measurement, session, reevaluation, gp_consult,
                     gp_request, stop, phase, checkpoint };
inline constexpr CodeTable<Trigger, 12> kTriggers{{"open", "screening", "red_flag_review", "stratification",
                                                   "measurement", "session", "reevaluation", "gp_consult",
                                                   "gp_request", "stop", "phase", "checkpoint"}};
constexpr bool is_timer(Trigger t) { return t == Trigger::phase || t == Trigger::checkpoint; }

enum class Complaint { lbp, lrs };
inline constexpr CodeTable<Complaint, 2> kComplaints{{"lbp", "lrs"}};

// §4 red-flag features and clusters
enum class RedFlag {
  cauda_equina, progressive_motor_weakness, widespread_neuro,
  major_trauma, minor_trauma_with_risk,
  night_sweats, fever_chills, iv_drug_use, immunodeficiency, weight_loss_unexplained,
  systemic_infection, recent_surgery, urinary_or_skin_infection,
  age_under_18_or_over_55_new_pain, history_of_cancer, fatigue, night_pain_and_sweats,
  progressive_non_mechanical_pain, responds_to_nsaids, better_with_exercise_not_rest, family_history,
  severe_night_pain, morning_stiffness_30min, back_pain_over_5_years,
  increasing_postoperative_pain, unilateral_pyramidal_signs,
};
inline constexpr CodeTable<RedFlag, 26> kRedFlags{{
  "cauda_equina", "progressive_motor_weakness", "widespread_neuro",
  "major_trauma", "minor_trauma_with_risk",
  "night_sweats", "fever_chills", "iv_drug_use", "immunodeficiency", "weight_loss_unexplained",
  "systemic_infection", "recent_surgery", "urinary_or_skin_infection",
  "age_under_18_or_over_55_new_pain", "history_of_cancer", "fatigue", "night_pain_and_sweats",
  "progressive_non_mechanical_pain", "responds_to_nsaids", "better_with_exercise_not_rest", "family_history",
  "severe_night_pain", "morning_stiffness_30min", "back_pain_over_5_years",
  "increasing_postoperative_pain", "unilateral_pyramidal_signs"}};

enum class Cluster { neuro_emergency, fracture, infection, tumour, inflammatory, miscellaneous };
inline constexpr CodeTable<Cluster, 6> kClusters{{"neuro_emergency", "fracture", "infection", "tumour",
                                                  "inflammatory", "miscellaneous"}};

// §5 exclusions
enum class Exclusion { age_16_or_younger, pregnancy_related, coccygodynia, visceral, recent_surgery_12m };
inline constexpr CodeTable<Exclusion, 5> kExclusions{{"age_16_or_younger", "pregnancy_related", "coccygodynia",
                                                      "visceral", "recent_surgery_12m"}};

// §7 prognostic factors
enum class Factor {
  previous_episodes, high_disability, leg_pain, high_pain_intensity, poor_general_health, psychosocial_stress,
  fear_of_movement, depressive_symptoms, passive_coping, negative_expectations, high_physical_work_load,
  poor_colleague_relations, low_job_satisfaction,
};
inline constexpr CodeTable<Factor, 13> kFactors{{
  "previous_episodes", "high_disability", "leg_pain", "high_pain_intensity", "poor_general_health",
  "psychosocial_stress", "fear_of_movement", "depressive_symptoms", "passive_coping", "negative_expectations",
  "high_physical_work_load", "poor_colleague_relations", "low_job_satisfaction"}};

enum class FactorLevel { present, dominant };
inline constexpr CodeTable<FactorLevel, 2> kFactorLevels{{"present", "dominant"}};

enum class Judgement { sufficient, insufficient };
inline constexpr CodeTable<Judgement, 2> kJudgements{{"sufficient", "insufficient"}};

// §3 open: who sent the patient (direct access is `self`)
enum class ReferredBy { self, gp, specialist };
inline constexpr CodeTable<ReferredBy, 3> kReferredBy{{"self", "gp", "specialist"}};

// §4 the red-flag review's decision
enum class ReviewDecision { refer, continue_ };
inline constexpr CodeTable<ReviewDecision, 2> kReviewDecisions{{"refer", "continue"}};

enum class GpOutcome { continue_, refer };
inline constexpr CodeTable<GpOutcome, 2> kGpOutcomes{{"continue", "refer"}};

// §10 stop reasons
enum class StopReason { request_met, goals_met, no_improvement, self_sufficient, not_motivated, red_flag, patient_request };
inline constexpr CodeTable<StopReason, 7> kStopReasons{{"request_met", "goals_met", "no_improvement", "self_sufficient",
                                                        "not_motivated", "red_flag", "patient_request"}};

// Reasons an episode is referred (back) to the GP (§4, §8)
enum class ReferralReason { neuro_emergency, red_flag, lrs_severe, lrs_no_improvement, insufficient_improvement,
                            profile3_no_improvement, gp_consult_referral };
inline constexpr CodeTable<ReferralReason, 7> kReferralReasons{{
  "neuro_emergency", "red_flag", "lrs_severe", "lrs_no_improvement", "insufficient_improvement",
  "profile3_no_improvement", "gp_consult_referral"}};

// §11 tasks
enum class TaskKind { gp_report_start, gp_report_close, gp_referral, gp_urgent_contact, gp_consultation,
                      reevaluation, lrs_check, red_flag_review, session_limit, gp_report_interim, gp_red_flag_notice };
inline constexpr CodeTable<TaskKind, 11> kTaskKinds{{
  "gp_report_start", "gp_report_close", "gp_referral", "gp_urgent_contact", "gp_consultation",
  "reevaluation", "lrs_check", "red_flag_review", "session_limit", "gp_report_interim", "gp_red_flag_notice"}};
// The one table of task kinds and what each is (§11), in kTaskKinds order.
// Every adapter reads it: `letter` renders the letters, the overview lists
// the GP's and the urgent ones, the calendar exports the appointments, and
// the titles name them to people.
struct TaskKindInfo {
  TaskKind kind;
  bool letter;    // a letter to the GP (or referrer); the other kinds are work for the practice
  bool gp;        // work towards the GP: the overview's GP list
  bool calendar;  // an appointment in the practice calendar (iCalendar export)
  bool urgent;    // open ones come first in the overview, whatever their age
  const char* title_nl;
  const char* title_en;
};
inline constexpr std::array<TaskKindInfo, 11> kTaskKindTable{{
  //  kind                          letter gp     cal    urgent
  {TaskKind::gp_report_start,       true,  true,  false, false, "Startbericht huisarts", "GP letter: start of treatment"},
  {TaskKind::gp_report_close,       true,  true,  false, false, "Eindbericht huisarts", "GP letter: end of treatment"},
  {TaskKind::gp_referral,           true,  true,  false, false, "Verwijsbericht huisarts", "GP letter: referral"},
  {TaskKind::gp_urgent_contact,     false, true,  true,  true,  "Huisarts bellen (spoed)", "Phone the GP (urgent)"},
  {TaskKind::gp_consultation,       true,  true,  true,  false, "Overleg huisarts", "Consult the GP"},
  {TaskKind::reevaluation,          false, false, true,  false, "Herevaluatie", "Reevaluation"},
  {TaskKind::lrs_check,             false, false, true,  false, "Controle LRS", "LRS check"},
  {TaskKind::red_flag_review,       false, false, false, true,  "Rode vlaggen beoordelen", "Review red flags"},
  {TaskKind::session_limit,         false, false, false, false, "Profiel 1: drie behandelingen bereikt", "Profile 1: three sessions reached"},
  {TaskKind::gp_report_interim,     true,  true,  false, false, "Tussentijds verslag aan de huisarts", "Interim report to the GP"},
  {TaskKind::gp_red_flag_notice,    true,  true,  false, false, "Melding alarmsignalen aan de huisarts", "Red-flag notice to the GP"},
}};
static_assert([] {
  if (kTaskKindTable.size() != kTaskKinds.size()) return false;
  for (std::size_t i = 0; i < kTaskKindTable.size(); ++i)
    if (kTaskKindTable[i].kind != TaskKind(i)) return false;
  return true;
}(), "kTaskKindTable has a row per task kind, in kTaskKinds order");
constexpr const TaskKindInfo& task_kind_info(TaskKind k) { return kTaskKindTable[std::size_t(k)]; }
constexpr bool is_letter(TaskKind k) { return task_kind_info(k).letter; }
constexpr bool is_gp_task(TaskKind k) { return task_kind_info(k).gp; }
constexpr bool is_calendar_task(TaskKind k) { return task_kind_info(k).calendar; }
constexpr bool is_urgent(TaskKind k) { return task_kind_info(k).urgent; }

enum class TaskStatus { open, done, cancelled };
inline constexpr CodeTable<TaskStatus, 3> kTaskStatuses{{"open", "done", "cancelled"}};

// §8 checkpoints
enum class Checkpoint { week3, week6, week12, lrs_duration, followup };
inline constexpr CodeTable<Checkpoint, 5> kCheckpoints{{"week3", "week6", "week12", "lrs_duration", "followup"}};

}  // namespace zorgpad
