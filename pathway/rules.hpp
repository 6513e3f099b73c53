// The clinical rules of pathway-spec.md as pure functions over value types.
// No state, no I/O, no clock: every input is an argument. Thread-safe.
#pragma once
#include <array>
#include <map>
#include <optional>
#include <vector>

#include "pathway/codes.hpp"
#include "pathway/date.hpp"

namespace zorgpad {

// ---- §1 time ---------------------------------------------------------------
inline constexpr int kSubacuteDay = 42;  // onset + 42: subacute
inline constexpr int kChronicDay = 84;   // onset + 84: chronic
inline constexpr int kRecurrenceDays = 30;

Phase phase_on(Date onset, Date day);
// The dated phase changes still ahead of `from` (strictly after it).
struct PhaseChange { Date due; Phase to; };
std::vector<PhaseChange> phase_changes_after(Date onset, Date from);
// KCE 1.2: the new onset lies less than 30 days after the previous episode's end.
bool is_recurrent(Date onset, std::optional<Date> previous_episode_end);

// ---- §4 red flags ------------------------------------------------------------
// Clusters a feature belongs to (weight_loss_unexplained is in two).
std::vector<Cluster> clusters_of(RedFlag f);
bool has_neuro_emergency(const std::vector<RedFlag>& flags);
// Clusters (other than neuro_emergency) with two or more of the given features.
std::vector<Cluster> flagged_clusters(const std::vector<RedFlag>& flags);
// KNGF B.1.2: an LRS patient with MRC <= 3 or NPRS >= 8 goes back to the GP.
bool is_lrs_severe(Complaint c, std::optional<int> mrc, std::optional<int> nprs);
inline constexpr int kLrsCheckDays = 2;

// ---- §5 exclusions -------------------------------------------------------------
inline constexpr int kExclusionAge = 16;
// The exclusions that apply: the given ones, with age_16_or_younger first when
// the age at open implies it and it was not given.
std::vector<Exclusion> effective_exclusions(int age, const std::vector<Exclusion>& given);

// ---- §6 questionnaires -----------------------------------------------------------
enum class SbstRisk { low, medium, high };
inline constexpr CodeTable<SbstRisk, 3> kSbstRisks{{"low", "medium", "high"}};
struct SbstScore { int total = 0; int psychosocial = 0; SbstRisk risk = SbstRisk::low;
                   bool operator==(const SbstScore&) const = default; };
using SbstAnswers = std::array<int, 9>;  // items 1-8: 0/1; item 9: 0-4
SbstScore score_sbst(const SbstAnswers& a);

struct OrebroScore { int total = 0; bool raised = false; bool operator==(const OrebroScore&) const = default; };
using OrebroAnswers = std::array<int, 10>;  // item 1: 1-10; items 2-10: 0-10
OrebroScore score_orebro(const OrebroAnswers& a);
inline constexpr int kOrebroRaisedAbove = 49;

// ---- §6 outcome measures -----------------------------------------------------------
// At least 30 % reduction from a comparable (non-zero) baseline, in integers.
bool clinically_relevant_improvement(int baseline, int now);
// Change from baseline in whole percent, truncated toward zero (negative = reduction); none for baseline 0.
std::optional<int> change_percent(int baseline, int now);

// ---- §7 stratification -------------------------------------------------------------
using Factors = std::map<Factor, FactorLevel>;
int profile_from_factors(const Factors& f);
int profile_from_sbst(SbstRisk r);
// Highest of the applicable suggestions; none when nothing applies.
// `factors` applies when given or when the episode is recurrent (it then
// includes previous_episodes, added by the caller).
std::optional<int> suggest_profile(const std::optional<Factors>& factors, const std::optional<SbstScore>& sbst,
                                   const std::optional<OrebroScore>& orebro);

// ---- §8 checkpoints ------------------------------------------------------------------
struct ScheduledCheckpoint { Checkpoint checkpoint; Date due; };
// Revision 1: checkpoints of `profile` counted from `treatment_start`, plus
// lrs_duration for LRS (onset + 42 when after the treatment start), keeping
// those due strictly after `after`; in due order (week checkpoints before
// lrs_duration on a tie). Kept unchanged for episodes of revision 1.
std::vector<ScheduledCheckpoint> checkpoints_revision1(int profile, Complaint c, Date onset, Date treatment_start,
                                                       Date after);
inline constexpr int kWeek12Days = 84;

// ==== revision 2 =======================================================================

// ---- §4 screening ----------------------------------------------------------------------
// A screening reclassifies an LBP episode as LRS when it says `complaint: "lrs"`
// or records weakness of a key muscle (MRC below 5). LRS never turns back.
bool reclassifies_as_lrs(Complaint current, std::optional<Complaint> given, std::optional<int> mrc);
inline constexpr int kMrcFullStrength = 5;
// The 48-hour rule: an MRC of 3 or less while the previous recorded MRC was
// higher and at most two days earlier is motor loss arising within 48 hours.
inline constexpr int kMrcFallDays = 2;
inline constexpr int kMrcSevere = 3;
bool motor_loss_within_48_hours(std::optional<Date> previous_at, std::optional<int> previous_mrc, Date at, int mrc);
// The features a screening counts: those given, with progressive_motor_weakness
// added when the 48-hour rule applies.
std::vector<RedFlag> screening_features(const std::vector<RedFlag>& given, bool motor_loss_within_48h);
// Rule 3: a fracture or miscellaneous feature is a complete clinical picture.
bool has_referral_feature(const std::vector<RedFlag>& flags);
// Rule 5: the distinct codes of the infection, tumour and inflammatory clusters.
bool is_review_feature(RedFlag f);
std::vector<RedFlag> review_features(const std::vector<RedFlag>& flags);
// Rule 5: two or more distinct such codes open a review, unless every one of
// them has been reviewed before (after a `continue`).
bool opens_review(const std::vector<RedFlag>& flags, const std::vector<RedFlag>& reviewed);
// Rule 4 and §6: LRS with MRC <= 3 or NPRS >= 8 (screening); NPRS >= 8 on a
// measurement, reevaluation or stop.
inline constexpr int kLrsSevereNprs = 8;
bool lrs_pain_refers(Complaint c, std::optional<int> nprs);

// ---- §6 outcome measures -----------------------------------------------------------------
// The 30 % rule on a reevaluation's own NPRS and QBPDS against the baselines
// recorded before it: true when either improved by 30 % or more, false when one
// is comparable and neither did, none when nothing is comparable.
std::optional<bool> measured_improvement(std::optional<int> baseline_nprs, std::optional<int> nprs,
                                         std::optional<int> baseline_qbpds, std::optional<int> qbpds);

// ---- §8 checkpoints and outcomes -------------------------------------------------------------
// The week checkpoints of `profile` from `treatment_start`, due strictly after `after`.
std::vector<ScheduledCheckpoint> week_checkpoints(int profile, Date treatment_start, Date after);
// lrs_duration, scheduled at the treatment start or at a reclassification
// after it (`from`): the later of onset + 42 and two weeks after `from`.
inline constexpr int kLrsDurationMinDays = 14;
Date lrs_duration_due(Date onset, Date from);
// Outcome rule 2: six weeks of complaints or more on the reevaluation's date.
bool six_weeks_of_complaints(Date onset, Date at);
// Outcome rule 3 and 7/8: "week N" counts from the treatment start.
inline constexpr int kWeek6Days = 42;
bool at_or_after_week(Date treatment_start, Date at, int week);
// `new_profile` must step up: higher than the current profile.
bool steps_up(int current, int new_profile);
// Follow-up: three weeks after an insufficient reevaluation kept in treatment
// or a GP's `continue`.
inline constexpr int kFollowupDays = 21;

// ---- §10 end report ----------------------------------------------------------------------
// gp_report_close is due when a start report was sent or the patient came on referral.
bool end_report_due(bool start_report_sent, ReferredBy referred_by);
// §9
inline constexpr int kProfile1Sessions = 3;

}  // namespace zorgpad
