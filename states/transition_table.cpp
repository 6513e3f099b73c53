// Revision 2 of the pathway (spec revision of 2026-12-01): the table new
// episodes follow. Guards are pure predicates over (episode, event) built
// from the rules in pathway/rules.hpp; actions are plain functions. Rows are
// tried top to bottom and the first whose state, event and guard match wins,
// so the order of the rows is the order of the spec's "first match wins".
#include <algorithm>
#include <array>

#include "states/episode_ops.hpp"
#include "states/transition_table.hpp"

namespace zorgpad::r2 {
namespace {

using ops::add_task;
using ops::record_measures;

// ---- derivations shared by guards and actions ----------------------------------------

// §4: what a screening finds, after the reclassification and the 48-hour rule.
struct Finding {
  Complaint complaint = Complaint::lbp;  // after any reclassification
  bool reclassified = false;
  std::vector<RedFlag> features;         // given, plus progressive_motor_weakness by the 48-hour rule
  std::vector<Exclusion> exclusions;     // age_16_or_younger first when implied
};
Finding find(const Episode& ep, const Event& ev) {
  Finding f;
  f.reclassified = reclassifies_as_lrs(ep.complaint, ev.screening_complaint, ev.mrc);
  f.complaint = f.reclassified ? Complaint::lrs : ep.complaint;
  bool fall = ev.mrc && !ep.mrc.empty() &&
              motor_loss_within_48_hours(ep.mrc.back().at, ep.mrc.back().value, ev.at, *ev.mrc);
  f.features = screening_features(ev.red_flags, fall);
  f.exclusions = effective_exclusions(ep.age, ev.exclusions);
  return f;
}

// §7: the scores and factors of a stratification and the profile they
// suggest; a recurrent episode counts previous_episodes as present.
struct Suggestion {
  std::optional<SbstScore> sbst;
  std::optional<OrebroScore> orebro;
  std::optional<Factors> factors;
  std::optional<int> profile;
};
Suggestion suggestion_for(const Episode& ep, const Event& ev) {
  Suggestion s;
  if (ev.sbst) s.sbst = score_sbst(*ev.sbst);
  if (ev.orebro) s.orebro = score_orebro(*ev.orebro);
  s.factors = ev.factors;
  if (ep.recurrent) {
    if (!s.factors) s.factors = Factors{};
    s.factors->try_emplace(Factor::previous_episodes, FactorLevel::present);
  }
  s.profile = suggest_profile(s.factors, s.sbst, s.orebro);
  return s;
}

bool has_open_reevaluation(const Episode& ep, auto pred) {
  return std::any_of(ep.tasks.begin(), ep.tasks.end(), [&](const Task& t) {
    return t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && pred(t);
  });
}
// §2: an open reevaluation task due on or before `at` (returning to treatment
// goes to reevaluation_due then).
bool reevaluation_due_by(const Episode& ep, Date at) {
  return has_open_reevaluation(ep, [&](const Task& t) { return t.due <= at; });
}
bool has_task(const Episode& ep, TaskKind k) {
  return std::any_of(ep.tasks.begin(), ep.tasks.end(), [&](const Task& t) { return t.kind == k; });
}

// ---- bookkeeping used by actions ------------------------------------------------------

void note_flags(Episode& ep, Date at, const std::vector<RedFlag>& flags) {
  for (RedFlag f : flags)
    if (std::none_of(ep.red_flags.begin(), ep.red_flags.end(), [&](const FlagRecord& r) { return r.flag == f; }))
      ep.red_flags.push_back({at, f});
}

// §4: every screening counts, keeps its MRC, reclassifies and records its
// features before any rule acts on it.
Finding screen(Episode& ep, const Event& ev) {
  Finding f = find(ep, ev);
  ep.screenings++;
  if (ev.mrc) ep.mrc.push_back({ev.at, *ev.mrc});
  ep.complaint = f.complaint;
  note_flags(ep, ev.at, f.features);
  return f;
}

// §4: a screening that ends in rule 5 or 7: the first one as LRS emits the
// control visit; a reclassification after the treatment start schedules
// lrs_duration.
void lrs_follow_up(Episode& ep, const Event& ev, const Finding& f) {
  if (f.complaint != Complaint::lrs) return;
  if (!ep.lrs_check_emitted) {
    ep.lrs_check_emitted = true;
    add_task(ep, TaskKind::lrs_check, ev.at + kLrsCheckDays, ev.at);
  }
  if (f.reclassified && ep.treatment_start)
    ops::add_checkpoint(ep, Checkpoint::lrs_duration, lrs_duration_due(ep.onset, ev.at), ev.at);
}

// §4, §8, §10: the referral letter, after the phone call for a neurological emergency.
void refer(Episode& ep, Date at, ReferralReason r) {
  ep.reason = std::string(kReferralReasons.name(r));
  if (r == ReferralReason::neuro_emergency) add_task(ep, TaskKind::gp_urgent_contact, at, at);
  add_task(ep, TaskKind::gp_referral, at, at);
}

// §10: the end report on ending closed or excluded.
void end_report(Episode& ep, Date at) {
  if (end_report_due(has_task(ep, TaskKind::gp_report_start), ep.referred_by))
    add_task(ep, TaskKind::gp_report_close, at, at);
}

// §4 rule 6 (and a review's `continue` over a pending exclusion): the first
// exclusion is the reason; a visceral cause is also a referral letter.
void exclude(Episode& ep, Date at, const std::vector<Exclusion>& exclusions) {
  ep.reason = std::string(kExclusions.name(exclusions.front()));
  if (std::find(exclusions.begin(), exclusions.end(), Exclusion::visceral) != exclusions.end())
    add_task(ep, TaskKind::gp_referral, at, at);
  end_report(ep, at);
}

// §8 follow-up: when no reevaluation task is open and due after `at`, one
// three weeks later.
void follow_up(Episode& ep, Date at) {
  if (!has_open_reevaluation(ep, [&](const Task& t) { return t.due > at; }))
    ops::add_checkpoint(ep, Checkpoint::followup, at + kFollowupDays, at);
}

// ---- guards ---------------------------------------------------------------------------

// §4 screening rules 1-5 and 6 (first match wins)
bool g_neuro_emergency(const Episode& ep, const Event& ev) { return has_neuro_emergency(find(ep, ev).features); }
bool g_suspicion(const Episode&, const Event& ev) { return ev.suspicion; }
bool g_fracture_or_misc(const Episode& ep, const Event& ev) { return has_referral_feature(find(ep, ev).features); }
bool g_lrs_severe(const Episode& ep, const Event& ev) {
  return is_lrs_severe(find(ep, ev).complaint, ev.mrc, ev.screening_nprs);
}
bool g_two_features(const Episode& ep, const Event& ev) { return opens_review(find(ep, ev).features, ep.reviewed); }
bool g_exclusion(const Episode& ep, const Event& ev) { return !find(ep, ev).exclusions.empty(); }

// §6 LRS pain: NPRS >= 8 recorded by a measurement, reevaluation or stop
bool g_lrs_pain(const Episode& ep, const Event& ev) { return lrs_pain_refers(ep.complaint, ev.measures.nprs); }

// §4 the review's decision
bool g_refer_decision(const Episode&, const Event& ev) { return ev.decision == ReviewDecision::refer; }
bool g_continue_excluded(const Episode& ep, const Event& ev) {
  return ev.decision == ReviewDecision::continue_ && ep.review && !ep.review->exclusions.empty();
}
bool g_continue_to_screened(const Episode& ep, const Event& ev) {
  return ev.decision == ReviewDecision::continue_ && ep.review &&
         (ep.review->from == State::intake || ep.review->from == State::screened);
}
bool g_continue_to_gp(const Episode& ep, const Event& ev) {
  return ev.decision == ReviewDecision::continue_ && ep.review && ep.review->from == State::gp_consultation;
}
bool g_continue_reevaluation_due(const Episode& ep, const Event& ev) {
  return ev.decision == ReviewDecision::continue_ && ep.review &&
         (ep.review->from == State::reevaluation_due ||
          (ep.review->from == State::treatment && reevaluation_due_by(ep, ev.at)));
}
bool g_continue_to_treatment(const Episode& ep, const Event& ev) {
  return ev.decision == ReviewDecision::continue_ && ep.review && ep.review->from == State::treatment;
}

// §8 reevaluation outcomes
bool g_sufficient(const Episode&, const Event& ev) { return ev.judgement == Judgement::sufficient; }
bool g_lrs_six_weeks(const Episode& ep, const Event& ev) {
  return ep.complaint == Complaint::lrs && six_weeks_of_complaints(ep.onset, ev.at);
}
bool g_profile2_from_week6(const Episode& ep, const Event& ev) {
  return *ep.profile == 2 && at_or_after_week(*ep.treatment_start, ev.at, 6);
}
bool g_profile12_new_profile(const Episode& ep, const Event& ev) { return *ep.profile <= 2 && ev.new_profile; }
bool g_profile12_new_insights(const Episode& ep, const Event& ev) { return *ep.profile <= 2 && ev.new_insights; }
bool g_profile12(const Episode& ep, const Event&) { return *ep.profile <= 2; }
bool g_profile3_before_week12(const Episode& ep, const Event& ev) {
  return *ep.profile == 3 && !at_or_after_week(*ep.treatment_start, ev.at, 12);
}
bool g_profile3_from_week12(const Episode& ep, const Event& ev) {
  return *ep.profile == 3 && at_or_after_week(*ep.treatment_start, ev.at, 12);
}

// §8 the GP's answer
bool g_gp_continue_due(const Episode& ep, const Event& ev) {
  return ev.outcome == GpOutcome::continue_ && reevaluation_due_by(ep, ev.at);
}
bool g_gp_continue(const Episode&, const Event& ev) { return ev.outcome == GpOutcome::continue_; }
bool g_gp_refer(const Episode&, const Event& ev) { return ev.outcome == GpOutcome::refer; }

// §10 stop
bool g_stop_neuro_emergency(const Episode&, const Event& ev) {
  return ev.reason == StopReason::red_flag && has_neuro_emergency(ev.red_flags);
}
bool g_stop_red_flag(const Episode&, const Event& ev) { return ev.reason == StopReason::red_flag; }

// ---- actions ----------------------------------------------------------------------------

void a_open(Episode& ep, const Event& ev) {
  ep.opened = ev.at;
  ep.onset = ev.onset;
  ep.complaint = ev.complaint;
  ep.age = ev.age;
  ep.previous_episode_end = ev.previous_episode_end;
  ep.recurrent = is_recurrent(ev.onset, ev.previous_episode_end);
  ep.gp = ev.gp;
  ep.therapist = ev.therapist;
  ep.referred_by = ev.referred_by;
  ep.phase = phase_on(ev.onset, ev.at);
  for (const auto& pc : phase_changes_after(ev.onset, ev.at)) {
    Timer t;
    t.due = pc.due;
    t.kind = Trigger::phase;
    t.to_phase = pc.to;
    ops::add_timer(ep, t);
  }
}

// §4 rules 1-4
void a_refer_neuro_emergency(Episode& ep, const Event& ev) { screen(ep, ev); refer(ep, ev.at, ReferralReason::neuro_emergency); }
void a_refer_red_flag(Episode& ep, const Event& ev) { screen(ep, ev); refer(ep, ev.at, ReferralReason::red_flag); }
void a_refer_lrs_severe(Episode& ep, const Event& ev) { screen(ep, ev); refer(ep, ev.at, ReferralReason::lrs_severe); }
// §4 rule 5: the pathway waits for the therapist's decision
void a_open_review(Episode& ep, const Event& ev) {
  Finding f = screen(ep, ev);
  ep.review = PendingReview{ep.state, f.exclusions};
  for (RedFlag r : review_features(f.features))
    if (std::find(ep.reviewed.begin(), ep.reviewed.end(), r) == ep.reviewed.end()) ep.reviewed.push_back(r);
  add_task(ep, TaskKind::red_flag_review, ev.at, ev.at);
  lrs_follow_up(ep, ev, f);
}
// §4: in the review, a screening that ends in rule 5, 6 or 7 leaves it as it is
void a_screen_in_review(Episode& ep, const Event& ev) {
  Finding f = screen(ep, ev);
  for (RedFlag r : review_features(f.features))
    if (std::find(ep.reviewed.begin(), ep.reviewed.end(), r) == ep.reviewed.end()) ep.reviewed.push_back(r);
  for (Exclusion x : f.exclusions)
    if (std::find(ep.review->exclusions.begin(), ep.review->exclusions.end(), x) == ep.review->exclusions.end())
      ep.review->exclusions.push_back(x);
  // Without an exclusion the screening itself ends in rule 5 or 7: an LRS
  // reclassification here still needs its control visit and lrs_duration.
  if (f.exclusions.empty()) lrs_follow_up(ep, ev, f);
}
// §4 rule 6
void a_exclude(Episode& ep, const Event& ev) {
  Finding f = screen(ep, ev);
  exclude(ep, ev.at, f.exclusions);
}
// §4 rule 7
void a_screen(Episode& ep, const Event& ev) {
  Finding f = screen(ep, ev);
  lrs_follow_up(ep, ev, f);
}

// §4 the review's decision; either marks the review task done
void decided(Episode& ep, Date at) {
  for (auto& t : ep.tasks)
    if (t.kind == TaskKind::red_flag_review && t.status == TaskStatus::open) ops::finish_task(ep, t, TaskStatus::done, at);
}
void a_review_refer(Episode& ep, const Event& ev) {
  decided(ep, ev.at);
  ep.review.reset();
  refer(ep, ev.at, ReferralReason::red_flag);
}
void a_review_continue(Episode& ep, const Event& ev) {
  decided(ep, ev.at);
  ep.review_notes.push_back({ev.at, ev.note.value_or("")});
  add_task(ep, TaskKind::gp_red_flag_notice, ev.at, ev.at);
  auto exclusions = ep.review->exclusions;
  ep.review.reset();
  if (!exclusions.empty()) exclude(ep, ev.at, exclusions);
}

// §7
void a_stratify(Episode& ep, const Event& ev) {
  Suggestion s = suggestion_for(ep, ev);
  ep.sbst = s.sbst;
  ep.orebro = s.orebro;
  ep.factors = s.factors;
  ep.suggested_profile = s.profile;
  ep.profile = ev.profile ? *ev.profile : *ep.suggested_profile;
  ep.override_reason = ev.override_reason;
  ep.treatment_start = ev.at;
  ep.profile_history.push_back({ev.at, *ep.profile, ep.suggested_profile, Trigger::stratification});
  add_task(ep, TaskKind::gp_report_start, ev.at, ev.at);
  // §8: tasks created together in due order, week checkpoints before lrs_duration on a tie.
  std::vector<ScheduledCheckpoint> cps = week_checkpoints(*ep.profile, ev.at, ev.at);
  if (ep.complaint == Complaint::lrs) cps.push_back({Checkpoint::lrs_duration, lrs_duration_due(ep.onset, ev.at)});
  std::stable_sort(cps.begin(), cps.end(), [](const auto& a, const auto& b) { return a.due < b.due; });
  for (const auto& cp : cps) ops::add_checkpoint(ep, cp.checkpoint, cp.due, ev.at);
}

// §6, §9
void a_measure(Episode& ep, const Event& ev) { record_measures(ep, ev.measures); }
void a_measure_refer_lrs(Episode& ep, const Event& ev) {
  record_measures(ep, ev.measures);
  refer(ep, ev.at, ReferralReason::lrs_severe);
}
void a_session(Episode& ep, const Event& ev) {
  ep.sessions++;
  if (ep.profile == 1 && ep.sessions > kProfile1Sessions && !ep.session_limit_emitted) {
    ep.session_limit_emitted = true;
    add_task(ep, TaskKind::session_limit, ev.at, ev.at);
  }
}

// §8: every reevaluation is recorded with the 30 % rule beside the judgement,
// completes every reevaluation task due on or before its date, then its
// measures become the latest. Runs before the outcome-specific part.
void reevaluate(Episode& ep, const Event& ev) {
  ReevaluationRecord rec;
  rec.at = ev.at;
  rec.judgement = *ev.judgement;
  rec.measured_improvement =
      measured_improvement(ep.baseline.nprs, ev.measures.nprs, ep.baseline.qbpds, ev.measures.qbpds);
  for (auto& t : ep.tasks)
    if (t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && t.due <= ev.at) {
      if (!rec.checkpoint) rec.checkpoint = t.checkpoint;
      ops::finish_task(ep, t, TaskStatus::done, ev.at);
    }
  ep.reevaluations.push_back(rec);
  record_measures(ep, ev.measures);
}
void a_reevaluate_refer_lrs_pain(Episode& ep, const Event& ev) { reevaluate(ep, ev); refer(ep, ev.at, ReferralReason::lrs_severe); }
void a_reevaluate_continue(Episode& ep, const Event& ev) { reevaluate(ep, ev); }
void a_refer_lrs_no_improvement(Episode& ep, const Event& ev) { reevaluate(ep, ev); refer(ep, ev.at, ReferralReason::lrs_no_improvement); }
void a_consult_gp(Episode& ep, const Event& ev) { reevaluate(ep, ev); add_task(ep, TaskKind::gp_consultation, ev.at, ev.at); }
void a_change_profile(Episode& ep, const Event& ev) {
  reevaluate(ep, ev);
  ep.profile = *ev.new_profile;
  ep.profile_history.push_back({ev.at, *ep.profile, std::nullopt, Trigger::reevaluation});
  for (auto& t : ep.tasks)
    if (t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && t.due > ev.at &&
        t.checkpoint != Checkpoint::lrs_duration)
      ops::finish_task(ep, t, TaskStatus::cancelled, ev.at);
  for (const auto& cp : week_checkpoints(*ep.profile, *ep.treatment_start, ev.at))
    ops::add_checkpoint(ep, cp.checkpoint, cp.due, ev.at);
  follow_up(ep, ev.at);
}
void a_keep_with_new_insights(Episode& ep, const Event& ev) { reevaluate(ep, ev); follow_up(ep, ev.at); }
void a_refer_insufficient(Episode& ep, const Event& ev) { reevaluate(ep, ev); refer(ep, ev.at, ReferralReason::insufficient_improvement); }
void a_refer_profile3(Episode& ep, const Event& ev) { reevaluate(ep, ev); refer(ep, ev.at, ReferralReason::profile3_no_improvement); }

// §8 the consultation
void consultation_done(Episode& ep, Date at) {
  for (auto& t : ep.tasks)
    if (t.kind == TaskKind::gp_consultation && t.status == TaskStatus::open) ops::finish_task(ep, t, TaskStatus::done, at);
}
void a_gp_continue(Episode& ep, const Event& ev) { consultation_done(ep, ev.at); follow_up(ep, ev.at); }
void a_gp_refer(Episode& ep, const Event& ev) { consultation_done(ep, ev.at); refer(ep, ev.at, ReferralReason::gp_consult_referral); }

// §11 the GP asks for an interim report
void a_interim_report(Episode& ep, const Event& ev) {
  ep.gp_questions.push_back({ev.at, ev.question.value_or("")});
  add_task(ep, TaskKind::gp_report_interim, ev.at, ev.at);
}

// §10: the end measurement is recorded before the stop takes effect
void stopping(Episode& ep, const Event& ev) {
  record_measures(ep, ev.measures);
  note_flags(ep, ev.at, ev.red_flags);
}
void a_stop_neuro_emergency(Episode& ep, const Event& ev) { stopping(ep, ev); refer(ep, ev.at, ReferralReason::neuro_emergency); }
void a_stop_refer_lrs_pain(Episode& ep, const Event& ev) { stopping(ep, ev); refer(ep, ev.at, ReferralReason::lrs_severe); }
void a_stop_refer_red_flag(Episode& ep, const Event& ev) { stopping(ep, ev); refer(ep, ev.at, ReferralReason::red_flag); }
void a_close(Episode& ep, const Event& ev) {
  stopping(ep, ev);
  ep.reason = std::string(kStopReasons.name(*ev.reason));
  end_report(ep, ev.at);
}

void a_advance_phase(Episode& ep, const Event& ev) { ep.phase = ev.phase_to; }
void a_checkpoint_due(Episode&, const Event&) {}

// ---- the table ----------------------------------------------------------------------------

constexpr State I = State::intake, S = State::screened, V = State::red_flag_review, T = State::treatment,
                R = State::reevaluation_due, G = State::gp_consultation, REF = State::referred,
                CLO = State::closed, EXC = State::excluded;
constexpr StateSet kNone{};
constexpr StateSet kActive = only(I) | only(S) | only(V) | only(T) | only(R) | only(G);  // every non-terminal state
constexpr StateSet kOutsideReview = only(I) | only(S) | only(T) | only(R) | only(G);
constexpr StateSet kLater = only(S) | only(T) | only(R) | only(G);  // screened onwards, not in a review
constexpr StateSet kAfterIntake = only(S) | only(V) | only(T) | only(R) | only(G);
constexpr StateSet kTreating = only(T) | only(R) | only(G);
constexpr StateSet kReevaluable = only(T) | only(R);
constexpr Target to(State s) { return {false, s}; }
constexpr Target kStay{true, State::intake};

#define G_(f) &(#f)[2], f  // the name without its "g_"
#define A_(f) &(#f)[2], f  // the name without its "a_"
#define ALWAYS nullptr, nullptr

// clang-format off
constexpr std::array kTable{
//  from            event                       guard                              action                             to
Row{kNone,          Trigger::open,              ALWAYS,                            A_(a_open),                        to(I)},
// §4 screening, first match wins. Rules 1-4 in every non-terminal state.
Row{kActive,        Trigger::screening,         G_(g_neuro_emergency),             A_(a_refer_neuro_emergency),       to(REF)},
Row{kActive,        Trigger::screening,         G_(g_suspicion),                   A_(a_refer_red_flag),              to(REF)},
Row{kActive,        Trigger::screening,         G_(g_fracture_or_misc),            A_(a_refer_red_flag),              to(REF)},
Row{kActive,        Trigger::screening,         G_(g_lrs_severe),                  A_(a_refer_lrs_severe),            to(REF)},
// rules 5-7 inside a review leave it as it is
Row{only(V),        Trigger::screening,         ALWAYS,                            A_(a_screen_in_review),            kStay},
Row{kOutsideReview, Trigger::screening,         G_(g_two_features),                A_(a_open_review),                 to(V)},
Row{kOutsideReview, Trigger::screening,         G_(g_exclusion),                   A_(a_exclude),                     to(EXC)},
Row{only(I),        Trigger::screening,         ALWAYS,                            A_(a_screen),                      to(S)},
Row{kLater,         Trigger::screening,         ALWAYS,                            A_(a_screen),                      kStay},
// §4 the review: refer, or continue with a note to where the screening would have led
Row{only(V),        Trigger::red_flag_review,   G_(g_refer_decision),              A_(a_review_refer),                to(REF)},
Row{only(V),        Trigger::red_flag_review,   G_(g_continue_excluded),           A_(a_review_continue),             to(EXC)},
Row{only(V),        Trigger::red_flag_review,   G_(g_continue_to_screened),        A_(a_review_continue),             to(S)},
Row{only(V),        Trigger::red_flag_review,   G_(g_continue_to_gp),              A_(a_review_continue),             to(G)},
Row{only(V),        Trigger::red_flag_review,   G_(g_continue_reevaluation_due),   A_(a_review_continue),             to(R)},
Row{only(V),        Trigger::red_flag_review,   G_(g_continue_to_treatment),       A_(a_review_continue),             to(T)},
// §7 stratification
Row{only(S),        Trigger::stratification,    ALWAYS,                            A_(a_stratify),                    to(T)},
// §6 measurement (LRS pain refers first), §9 sessions
Row{kActive,        Trigger::measurement,       G_(g_lrs_pain),                    A_(a_measure_refer_lrs),           to(REF)},
Row{kActive,        Trigger::measurement,       ALWAYS,                            A_(a_measure),                     kStay},
Row{kTreating,      Trigger::session,           ALWAYS,                            A_(a_session),                     kStay},
// §8 reevaluation outcomes, first match wins (LRS pain of §6 before all)
Row{kReevaluable,   Trigger::reevaluation,      G_(g_lrs_pain),                    A_(a_reevaluate_refer_lrs_pain),   to(REF)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_sufficient),                  A_(a_reevaluate_continue),         to(T)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_lrs_six_weeks),               A_(a_refer_lrs_no_improvement),    to(REF)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_profile2_from_week6),         A_(a_consult_gp),                  to(G)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_profile12_new_profile),       A_(a_change_profile),              to(T)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_profile12_new_insights),      A_(a_keep_with_new_insights),      to(T)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_profile12),                   A_(a_refer_insufficient),          to(REF)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_profile3_before_week12),      A_(a_consult_gp),                  to(G)},
Row{kReevaluable,   Trigger::reevaluation,      G_(g_profile3_from_week12),        A_(a_refer_profile3),              to(REF)},
// §8 consultation with the GP; returning to treatment follows §2
Row{only(G),        Trigger::gp_consult,        G_(g_gp_continue_due),             A_(a_gp_continue),                 to(R)},
Row{only(G),        Trigger::gp_consult,        G_(g_gp_continue),                 A_(a_gp_continue),                 to(T)},
Row{only(G),        Trigger::gp_consult,        G_(g_gp_refer),                    A_(a_gp_refer),                    to(REF)},
// §11 the GP asks for an interim report
Row{kAfterIntake,   Trigger::gp_request,        ALWAYS,                            A_(a_interim_report),              kStay},
// §10 stop: a neuro_emergency red flag, then LRS pain, then a red flag or a review refers; else closed
Row{kActive,        Trigger::stop,              G_(g_stop_neuro_emergency),        A_(a_stop_neuro_emergency),        to(REF)},
Row{kActive,        Trigger::stop,              G_(g_lrs_pain),                    A_(a_stop_refer_lrs_pain),         to(REF)},
Row{kActive,        Trigger::stop,              G_(g_stop_red_flag),               A_(a_stop_refer_red_flag),         to(REF)},
Row{only(V),        Trigger::stop,              ALWAYS,                            A_(a_stop_refer_red_flag),         to(REF)},
Row{kOutsideReview, Trigger::stop,              ALWAYS,                            A_(a_close),                       to(CLO)},
// timers: §1 phase changes, §8 checkpoints coming due
Row{kActive,        Trigger::phase,             ALWAYS,                            A_(a_advance_phase),               kStay},
Row{only(T),        Trigger::checkpoint,        ALWAYS,                            A_(a_checkpoint_due),              to(R)},
Row{only(R) | only(G) | only(V), Trigger::checkpoint, ALWAYS,                      A_(a_checkpoint_due),              kStay},
};
// clang-format on

#undef G_
#undef A_
#undef ALWAYS

}  // namespace

std::span<const Row> table() { return kTable; }

Status check_context(const Episode& ep, const Event& ev) {
  if (ev.type == Trigger::stratification) {
    if (!ev.factors)
      return Status::Fail("missing field 'factors': the profile rests on the therapist's evaluation of the "
                          "prognostic factors; give {} when none is present (§7)");
    if (ev.override_reason && ev.override_reason->find_first_not_of(" \t\r\n") == std::string::npos)
      return Status::Fail("field 'override_reason': is blank (§3)");
    auto suggestion = suggestion_for(ep, ev).profile;
    if (ev.profile && suggestion && *ev.profile < *suggestion && !ev.override_reason)
      return Status::Fail("profile " + std::to_string(*ev.profile) + " is below the suggested profile " +
                          std::to_string(*suggestion) + " and needs an 'override_reason' (§7)");
  }
  if (ev.type == Trigger::reevaluation) {
    if (!ev.judgement)
      return Status::Fail("missing field 'judgement': the patient and the therapist judge, the 30 % rule only "
                          "supports it (§8)");
    if (ev.new_profile && ep.profile && !steps_up(*ep.profile, *ev.new_profile))
      return Status::Fail("field 'new_profile': " + std::to_string(*ev.new_profile) +
                          " is not higher than the current profile " + std::to_string(*ep.profile) +
                          " (the pathway only steps up, §8)");
  }
  return Status::Ok();
}

void on_terminal_entry(Episode& ep, Date at) {
  for (auto& t : ep.tasks) {
    if (t.status != TaskStatus::open) continue;
    if (t.kind == TaskKind::reevaluation || t.kind == TaskKind::lrs_check) {
      t.status = TaskStatus::cancelled;
      t.closed = at;
    } else if (t.kind == TaskKind::red_flag_review) {  // §4: referred or excluded from the review
      t.status = TaskStatus::done;
      t.closed = at;
    }
  }
  ep.review.reset();
  ep.timers.clear();
}

}  // namespace zorgpad::r2
