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
// Checkpoints of `profile` counted from `treatment_start`, plus lrs_duration for
// LRS (onset + 42 when after the treatment start), keeping those due strictly
// after `after`; in due order (week checkpoints before lrs_duration on a tie).
std::vector<ScheduledCheckpoint> checkpoints(int profile, Complaint c, Date onset, Date treatment_start, Date after);
inline constexpr int kWeek12Days = 84;
// §9
inline constexpr int kProfile1Sessions = 3;

}  // namespace zorgpad
