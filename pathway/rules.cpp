#include "pathway/rules.hpp"

#include <algorithm>

namespace zorgpad {

Phase phase_on(Date onset, Date day) {
  int d = day - onset;
  if (d < kSubacuteDay) return Phase::acute;
  if (d < kChronicDay) return Phase::subacute;
  return Phase::chronic;
}

std::vector<PhaseChange> phase_changes_after(Date onset, Date from) {
  std::vector<PhaseChange> out;
  if (onset + kSubacuteDay > from) out.push_back({onset + kSubacuteDay, Phase::subacute});
  if (onset + kChronicDay > from) out.push_back({onset + kChronicDay, Phase::chronic});
  return out;
}

bool is_recurrent(Date onset, std::optional<Date> previous_end) {
  return previous_end && onset - *previous_end < kRecurrenceDays;
}

std::vector<Cluster> clusters_of(RedFlag f) {
  using R = RedFlag;
  using C = Cluster;
  switch (f) {
    case R::cauda_equina: case R::progressive_motor_weakness: case R::widespread_neuro: return {C::neuro_emergency};
    case R::major_trauma: case R::minor_trauma_with_risk: return {C::fracture};
    case R::night_sweats: case R::fever_chills: case R::iv_drug_use: case R::immunodeficiency:
    case R::systemic_infection: case R::recent_surgery: case R::urinary_or_skin_infection: return {C::infection};
    case R::weight_loss_unexplained: return {C::infection, C::tumour};
    case R::age_under_18_or_over_55_new_pain: case R::history_of_cancer: case R::fatigue:
    case R::night_pain_and_sweats: return {C::tumour};
    case R::progressive_non_mechanical_pain: case R::responds_to_nsaids: case R::better_with_exercise_not_rest:
    case R::family_history: case R::severe_night_pain: case R::morning_stiffness_30min:
    case R::back_pain_over_5_years: return {C::inflammatory};
    case R::increasing_postoperative_pain: case R::unilateral_pyramidal_signs: return {C::miscellaneous};
  }
  return {};
}

bool has_neuro_emergency(const std::vector<RedFlag>& flags) {
  return std::any_of(flags.begin(), flags.end(), [](RedFlag f) {
    auto c = clusters_of(f);
    return std::find(c.begin(), c.end(), Cluster::neuro_emergency) != c.end();
  });
}

std::vector<Cluster> flagged_clusters(const std::vector<RedFlag>& flags) {
  std::array<int, kClusters.size()> count{};
  std::vector<RedFlag> seen;  // a feature named twice counts once
  for (RedFlag f : flags) {
    if (std::find(seen.begin(), seen.end(), f) != seen.end()) continue;
    seen.push_back(f);
    for (Cluster c : clusters_of(f)) ++count[size_t(c)];
  }
  std::vector<Cluster> out;
  for (size_t i = 0; i < count.size(); ++i)
    if (Cluster(i) != Cluster::neuro_emergency && count[i] >= 2) out.push_back(Cluster(i));
  return out;
}

bool is_lrs_severe(Complaint c, std::optional<int> mrc, std::optional<int> nprs) {
  return c == Complaint::lrs && ((mrc && *mrc <= 3) || (nprs && *nprs >= 8));
}

std::vector<Exclusion> effective_exclusions(int age, const std::vector<Exclusion>& given) {
  std::vector<Exclusion> out;
  bool implied = age <= kExclusionAge;
  if (implied) out.push_back(Exclusion::age_16_or_younger);
  for (Exclusion e : given)
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  return out;
}

SbstScore score_sbst(const SbstAnswers& a) {
  SbstScore s;
  for (int i = 0; i < 8; ++i) {
    s.total += a[i];
    if (i >= 4) s.psychosocial += a[i];
  }
  int item9 = a[8] >= 3 ? 1 : 0;
  s.total += item9;
  s.psychosocial += item9;
  s.risk = s.total <= 3 ? SbstRisk::low : s.psychosocial >= 4 ? SbstRisk::high : SbstRisk::medium;
  return s;
}

OrebroScore score_orebro(const OrebroAnswers& a) {
  OrebroScore s;
  for (int i = 0; i < 10; ++i) {
    int item = i + 1;
    bool reversed = item == 6 || item == 9 || item == 10;
    s.total += reversed ? 10 - a[i] : a[i];
  }
  s.raised = s.total > kOrebroRaisedAbove;
  return s;
}

bool clinically_relevant_improvement(int baseline, int now) {
  return baseline > 0 && 10 * (baseline - now) >= 3 * baseline;
}

std::optional<int> change_percent(int baseline, int now) {
  if (baseline == 0) return std::nullopt;
  // Truncated toward zero, so a change shown as -30 % is always a reduction of
  // at least 30 % (27 -> 19 is -29 %, not the rounded -30 %, and is not
  // clinically relevant).
  return 100 * (now - baseline) / baseline;
}

int profile_from_factors(const Factors& f) {
  bool present = false;
  for (const auto& [code, level] : f) {
    if (level == FactorLevel::dominant) return 3;
    present = true;
  }
  return present ? 2 : 1;
}

int profile_from_sbst(SbstRisk r) { return r == SbstRisk::low ? 1 : r == SbstRisk::medium ? 2 : 3; }

std::optional<int> suggest_profile(const std::optional<Factors>& factors, const std::optional<SbstScore>& sbst,
                                   const std::optional<OrebroScore>& orebro) {
  std::optional<int> best;
  auto consider = [&](int p) { best = best ? std::max(*best, p) : p; };
  if (factors) consider(profile_from_factors(*factors));
  if (sbst) consider(profile_from_sbst(sbst->risk));
  if (orebro && orebro->raised) consider(2);
  return best;
}

std::vector<ScheduledCheckpoint> checkpoints_revision1(int profile, Complaint c, Date onset, Date start, Date after) {
  std::vector<ScheduledCheckpoint> all;
  auto week = [&](Checkpoint cp, int w) { all.push_back({cp, start + w * kDaysPerWeek}); };
  switch (profile) {
    case 1: week(Checkpoint::week3, 3); break;
    case 2: week(Checkpoint::week3, 3); week(Checkpoint::week6, 6); break;
    default: week(Checkpoint::week6, 6); week(Checkpoint::week12, 12); break;
  }
  if (c == Complaint::lrs && onset + kSubacuteDay > start) all.push_back({Checkpoint::lrs_duration, onset + kSubacuteDay});
  std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.due < b.due; });
  std::vector<ScheduledCheckpoint> out;
  for (auto& cp : all)
    if (cp.due > after) out.push_back(cp);
  return out;
}

// ==== revision 2 =======================================================================

bool reclassifies_as_lrs(Complaint current, std::optional<Complaint> given, std::optional<int> mrc) {
  if (current == Complaint::lrs) return false;
  return given == Complaint::lrs || (mrc && *mrc < kMrcFullStrength);
}

bool motor_loss_within_48_hours(std::optional<Date> previous_at, std::optional<int> previous_mrc, Date at, int mrc) {
  return previous_at && previous_mrc && mrc <= kMrcSevere && *previous_mrc > mrc && at - *previous_at <= kMrcFallDays;
}

std::vector<RedFlag> screening_features(const std::vector<RedFlag>& given, bool motor_loss_within_48h) {
  std::vector<RedFlag> out;
  for (RedFlag f : given)
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  if (motor_loss_within_48h &&
      std::find(out.begin(), out.end(), RedFlag::progressive_motor_weakness) == out.end())
    out.push_back(RedFlag::progressive_motor_weakness);
  return out;
}

namespace {
bool in_cluster(RedFlag f, Cluster c) {
  auto cs = clusters_of(f);
  return std::find(cs.begin(), cs.end(), c) != cs.end();
}
}  // namespace

bool has_referral_feature(const std::vector<RedFlag>& flags) {
  return std::any_of(flags.begin(), flags.end(),
                     [](RedFlag f) { return in_cluster(f, Cluster::fracture) || in_cluster(f, Cluster::miscellaneous); });
}

bool is_review_feature(RedFlag f) {
  return in_cluster(f, Cluster::infection) || in_cluster(f, Cluster::tumour) || in_cluster(f, Cluster::inflammatory);
}

std::vector<RedFlag> review_features(const std::vector<RedFlag>& flags) {
  std::vector<RedFlag> out;
  for (RedFlag f : flags)
    if (is_review_feature(f) && std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  return out;
}

bool opens_review(const std::vector<RedFlag>& flags, const std::vector<RedFlag>& reviewed) {
  auto features = review_features(flags);
  if (features.size() < 2) return false;
  return std::any_of(features.begin(), features.end(),
                     [&](RedFlag f) { return std::find(reviewed.begin(), reviewed.end(), f) == reviewed.end(); });
}

bool lrs_pain_refers(Complaint c, std::optional<int> nprs) {
  return c == Complaint::lrs && nprs && *nprs >= kLrsSevereNprs;
}

std::optional<bool> measured_improvement(std::optional<int> baseline_nprs, std::optional<int> nprs,
                                         std::optional<int> baseline_qbpds, std::optional<int> qbpds) {
  bool comparable = false, improved = false;
  auto consider = [&](std::optional<int> base, std::optional<int> now) {
    if (!base || !now || *base == 0) return;
    comparable = true;
    improved = improved || clinically_relevant_improvement(*base, *now);
  };
  consider(baseline_nprs, nprs);
  consider(baseline_qbpds, qbpds);
  if (!comparable) return std::nullopt;
  return improved;
}

std::vector<ScheduledCheckpoint> week_checkpoints(int profile, Date start, Date after) {
  std::vector<ScheduledCheckpoint> all;
  if (profile == 1) all = {{Checkpoint::week3, start + 21}};
  if (profile == 2) all = {{Checkpoint::week3, start + 21}, {Checkpoint::week6, start + 42}};
  if (profile == 3) all = {{Checkpoint::week6, start + 42}, {Checkpoint::week12, start + kWeek12Days}};
  std::vector<ScheduledCheckpoint> out;
  for (const auto& c : all)
    if (c.due > after) out.push_back(c);
  return out;
}

Date lrs_duration_due(Date onset, Date from) { return std::max(onset + kSubacuteDay, from + kLrsDurationMinDays); }

bool six_weeks_of_complaints(Date onset, Date at) { return at - onset >= kSubacuteDay; }

bool at_or_after_week(Date start, Date at, int week) { return at - start >= week * kDaysPerWeek; }

bool steps_up(int current, int new_profile) { return new_profile > current; }

bool end_report_due(bool start_report_sent, ReferredBy referred_by) {
  return start_report_sent || referred_by != ReferredBy::self;
}

}  // namespace zorgpad
