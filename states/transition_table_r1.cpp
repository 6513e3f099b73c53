#include "states/transition_table.hpp"
#include "states/episode_ops.hpp"

#include <algorithm>
#include <array>

namespace zorgpad::r1 {
namespace {

// Revision 1 of the pathway (2026-11), frozen: episodes opened under it replay
// and go on under these rows. Do not change them; a new rule is a new revision.

using ops::add_task;
using ops::add_timer;
using ops::record_measures;

void schedule_checkpoints(Episode& ep, Date at) {
  for (const auto& cp : checkpoints_revision1(*ep.profile, ep.complaint, ep.onset, *ep.treatment_start, at))
    ops::add_checkpoint(ep, cp.checkpoint, cp.due, at);
}

void cancel_task(Episode& ep, Task& t, Date at) { ops::finish_task(ep, t, TaskStatus::cancelled, at); }

void refer(Episode& ep, const Event& ev, ReferralReason r) {
  ep.reason = std::string(kReferralReasons.name(r));
  add_task(ep, r == ReferralReason::neuro_emergency ? TaskKind::gp_urgent_contact : TaskKind::gp_referral, ev.at, ev.at);
}

// ---- pure derivations used by guards ----------------------------------------------

// The reevaluation task a reevaluation at ev.at completes: the earliest open one
// due on or before that date (tasks are in creation order; ties keep it).
const Task* completed_checkpoint_task(const Episode& ep, Date at) {
  const Task* best = nullptr;
  for (const auto& t : ep.tasks)
    if (t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && t.due <= at && (!best || t.due < best->due))
      best = &t;
  return best;
}

// §8: the judgement given, else derived from a >= 30 % NPRS or QBPDS reduction
// against a non-zero baseline recorded before this reevaluation. None when
// neither is possible.
struct Judged { Judgement judgement; bool derived; };
std::optional<Judged> judge(const Episode& ep, const Event& ev) {
  if (ev.judgement) return Judged{*ev.judgement, false};
  bool comparable = false, improved = false;
  auto consider = [&](const std::optional<int>& base, const std::optional<int>& now) {
    if (!base || !now || *base == 0) return;
    comparable = true;
    improved = improved || clinically_relevant_improvement(*base, *now);
  };
  consider(ep.baseline.nprs, ev.measures.nprs);
  consider(ep.baseline.qbpds, ev.measures.qbpds);
  if (!comparable) return std::nullopt;
  return Judged{improved ? Judgement::sufficient : Judgement::insufficient, true};
}

// §7: the scores and factors of a stratification and the profile they suggest;
// a recurrent episode counts previous_episodes as present.
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

int days_since_start(const Episode& ep, Date at) { return at - *ep.treatment_start; }

// ---- guards -----------------------------------------------------------------------

bool g_neuro_emergency(const Episode&, const Event& ev) { return has_neuro_emergency(ev.red_flags); }
bool g_suspicion(const Episode&, const Event& ev) { return ev.suspicion; }
bool g_lrs_severe(const Episode& ep, const Event& ev) { return is_lrs_severe(ep.complaint, ev.mrc, ev.screening_nprs); }
bool g_exclusion(const Episode& ep, const Event& ev) { return !effective_exclusions(ep.age, ev.exclusions).empty(); }

bool g_sufficient(const Episode& ep, const Event& ev) {
  auto j = judge(ep, ev);
  return j && j->judgement == Judgement::sufficient;
}
bool g_at_lrs_duration(const Episode& ep, const Event& ev) {
  const Task* t = completed_checkpoint_task(ep, ev.at);
  return t && t->checkpoint == Checkpoint::lrs_duration;
}
bool g_profile12_higher(const Episode& ep, const Event& ev) {
  return *ep.profile <= 2 && ev.new_profile && *ev.new_profile > *ep.profile;
}
bool g_profile12_new_insights(const Episode& ep, const Event& ev) { return *ep.profile <= 2 && ev.new_insights; }
bool g_profile12(const Episode& ep, const Event&) { return *ep.profile <= 2; }
bool g_profile3_before_week12(const Episode& ep, const Event& ev) {
  return *ep.profile == 3 && days_since_start(ep, ev.at) < kWeek12Days;
}
bool g_profile3_from_week12(const Episode& ep, const Event& ev) {
  return *ep.profile == 3 && days_since_start(ep, ev.at) >= kWeek12Days;
}
bool g_continue(const Episode&, const Event& ev) { return ev.outcome == GpOutcome::continue_; }
bool g_refer(const Episode&, const Event& ev) { return ev.outcome == GpOutcome::refer; }

// ---- actions ----------------------------------------------------------------------

void a_open(Episode& ep, const Event& ev) {
  ep.opened = ev.at;
  ep.onset = ev.onset;
  ep.complaint = ev.complaint;
  ep.age = ev.age;
  ep.previous_episode_end = ev.previous_episode_end;
  ep.recurrent = is_recurrent(ev.onset, ev.previous_episode_end);
  ep.gp = ev.gp;
  ep.therapist = ev.therapist;
  ep.phase = phase_on(ev.onset, ev.at);
  for (const auto& pc : phase_changes_after(ev.onset, ev.at)) {
    Timer t;
    t.due = pc.due;
    t.kind = Trigger::phase;
    t.to_phase = pc.to;
    add_timer(ep, t);
  }
}

void a_urgent_contact(Episode& ep, const Event& ev) { ep.screenings++; refer(ep, ev, ReferralReason::neuro_emergency); }
void a_refer_red_flag(Episode& ep, const Event& ev) { ep.screenings++; refer(ep, ev, ReferralReason::red_flag); }
void a_refer_lrs_severe(Episode& ep, const Event& ev) { ep.screenings++; refer(ep, ev, ReferralReason::lrs_severe); }
void a_exclude(Episode& ep, const Event& ev) {
  ep.screenings++;
  ep.reason = std::string(kExclusions.name(effective_exclusions(ep.age, ev.exclusions).front()));
}
void a_screen(Episode& ep, const Event& ev) {
  bool first = ep.screenings == 0;
  ep.screenings++;
  if (!flagged_clusters(ev.red_flags).empty()) add_task(ep, TaskKind::red_flag_review, ev.at, ev.at);
  if (first && ep.complaint == Complaint::lrs) add_task(ep, TaskKind::lrs_check, ev.at + kLrsCheckDays, ev.at);
}

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
  schedule_checkpoints(ep, ev.at);
}

void a_measure(Episode& ep, const Event& ev) { record_measures(ep, ev.measures); }

void a_session(Episode& ep, const Event& ev) {
  ep.sessions++;
  if (ep.profile == 1 && ep.sessions > kProfile1Sessions && !ep.session_limit_emitted) {
    ep.session_limit_emitted = true;
    add_task(ep, TaskKind::session_limit, ev.at, ev.at);
  }
}

// Common to every reevaluation outcome: judge, complete the checkpoint task,
// record the measures. Runs before the outcome-specific part.
void reevaluate(Episode& ep, const Event& ev) {
  auto j = judge(ep, ev);  // before the measures become the latest
  const Task* done = completed_checkpoint_task(ep, ev.at);
  ReevaluationRecord rec{ev.at, j->judgement, j->derived, std::nullopt, std::nullopt};  // no measured_improvement: revision 2
  if (done) {
    Task& t = ep.tasks[size_t(done->seq - 1)];
    rec.checkpoint = t.checkpoint;
    t.status = TaskStatus::done;
    t.closed = ev.at;
    ops::drop_checkpoint_timer(ep, t.seq);
  }
  ep.reevaluations.push_back(rec);
  record_measures(ep, ev.measures);
}
void a_reevaluate_continue(Episode& ep, const Event& ev) { reevaluate(ep, ev); }
void a_refer_lrs_no_improvement(Episode& ep, const Event& ev) { reevaluate(ep, ev); refer(ep, ev, ReferralReason::lrs_no_improvement); }
void a_change_profile(Episode& ep, const Event& ev) {
  reevaluate(ep, ev);
  ep.profile = *ev.new_profile;
  ep.profile_history.push_back({ev.at, *ep.profile, std::nullopt, Trigger::reevaluation});
  for (auto& t : ep.tasks)
    if (t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && t.due > ev.at) cancel_task(ep, t, ev.at);
  schedule_checkpoints(ep, ev.at);
}
void a_refer_insufficient(Episode& ep, const Event& ev) { reevaluate(ep, ev); refer(ep, ev, ReferralReason::insufficient_improvement); }
void a_consult_gp(Episode& ep, const Event& ev) { reevaluate(ep, ev); add_task(ep, TaskKind::gp_consultation, ev.at, ev.at); }
void a_refer_profile3(Episode& ep, const Event& ev) { reevaluate(ep, ev); refer(ep, ev, ReferralReason::profile3_no_improvement); }

void consultation_done(Episode& ep, Date at) {
  for (auto& t : ep.tasks)
    if (t.kind == TaskKind::gp_consultation && t.status == TaskStatus::open) { t.status = TaskStatus::done; t.closed = at; }
}
void a_gp_continue(Episode& ep, const Event& ev) { consultation_done(ep, ev.at); }
void a_gp_refer(Episode& ep, const Event& ev) { consultation_done(ep, ev.at); refer(ep, ev, ReferralReason::gp_consult_referral); }

void a_close(Episode& ep, const Event& ev) {
  ep.reason = std::string(kStopReasons.name(*ev.reason));
  add_task(ep, TaskKind::gp_report_close, ev.at, ev.at);
}

void a_advance_phase(Episode& ep, const Event& ev) { ep.phase = ev.phase_to; }
void a_checkpoint_due(Episode&, const Event&) {}

// ---- the table ----------------------------------------------------------------------

constexpr State I = State::intake, S = State::screened, T = State::treatment, R = State::reevaluation_due,
                G = State::gp_consultation;
constexpr StateSet kNone{};
constexpr StateSet kActive = only(I) | only(S) | only(T) | only(R) | only(G);  // every non-terminal state
constexpr StateSet kLater = only(S) | only(T) | only(R) | only(G);             // screened onwards
constexpr StateSet kTreating = only(T) | only(R) | only(G);
constexpr StateSet kReevaluable = only(T) | only(R);
constexpr Target to(State s) { return {false, s}; }
constexpr Target kStay{true, State::intake};

#define G_(f) &(#f)[2], f  // the name without its "g_"
#define A_(f) &(#f)[2], f  // the name without its "a_"
#define ALWAYS nullptr, nullptr

// clang-format off
constexpr std::array kTable{
//  from         event                      guard                          action                           to
Row{kNone,       Trigger::open,            ALWAYS,                         A_(a_open),                      to(I)},
// §4 screening, first match wins; rules 1-4 in every non-terminal state
Row{kActive,     Trigger::screening,       G_(g_neuro_emergency),          A_(a_urgent_contact),            to(State::referred)},
Row{kActive,     Trigger::screening,       G_(g_suspicion),                A_(a_refer_red_flag),            to(State::referred)},
Row{kActive,     Trigger::screening,       G_(g_lrs_severe),               A_(a_refer_lrs_severe),          to(State::referred)},
Row{kActive,     Trigger::screening,       G_(g_exclusion),                A_(a_exclude),                   to(State::excluded)},
Row{only(I),     Trigger::screening,       ALWAYS,                         A_(a_screen),                    to(S)},
Row{kLater,      Trigger::screening,       ALWAYS,                         A_(a_screen),                    kStay},
// §7 stratification
Row{only(S),     Trigger::stratification,  ALWAYS,                         A_(a_stratify),                  to(T)},
// §6 measurement, §9 sessions
Row{kActive,     Trigger::measurement,     ALWAYS,                         A_(a_measure),                   kStay},
Row{kTreating,   Trigger::session,         ALWAYS,                         A_(a_session),                   kStay},
// §8 reevaluation outcomes, first match wins
Row{kReevaluable, Trigger::reevaluation,   G_(g_sufficient),               A_(a_reevaluate_continue),       to(T)},
Row{kReevaluable, Trigger::reevaluation,   G_(g_at_lrs_duration),          A_(a_refer_lrs_no_improvement),  to(State::referred)},
Row{kReevaluable, Trigger::reevaluation,   G_(g_profile12_higher),         A_(a_change_profile),            to(T)},
Row{kReevaluable, Trigger::reevaluation,   G_(g_profile12_new_insights),   A_(a_reevaluate_continue),       to(T)},
Row{kReevaluable, Trigger::reevaluation,   G_(g_profile12),                A_(a_refer_insufficient),        to(State::referred)},
Row{kReevaluable, Trigger::reevaluation,   G_(g_profile3_before_week12),   A_(a_consult_gp),                to(G)},
Row{kReevaluable, Trigger::reevaluation,   G_(g_profile3_from_week12),     A_(a_refer_profile3),            to(State::referred)},
// §8 consultation with the GP
Row{only(G),     Trigger::gp_consult,      G_(g_continue),                 A_(a_gp_continue),               to(T)},
Row{only(G),     Trigger::gp_consult,      G_(g_refer),                    A_(a_gp_refer),                  to(State::referred)},
// §10 stop
Row{kLater,      Trigger::stop,            ALWAYS,                         A_(a_close),                     to(State::closed)},
// timers: §1 phase changes, §8 checkpoints coming due
Row{kActive,     Trigger::phase,           ALWAYS,                         A_(a_advance_phase),             kStay},
Row{only(T),     Trigger::checkpoint,      ALWAYS,                         A_(a_checkpoint_due),            to(R)},
Row{only(R) | only(G), Trigger::checkpoint, ALWAYS,                        A_(a_checkpoint_due),            kStay},
};
// clang-format on

#undef G_
#undef A_
#undef ALWAYS

}  // namespace

std::span<const Row> table() { return kTable; }

Status check_context(const Episode& ep, const Event& ev) {
  if (auto f = revision2_field(ev))
    return Status::Fail("unknown field '" + *f + "' (the episode follows pathway revision 1)");
  if (ev.type == Trigger::stratification) {
    // §7: a profile below the suggestion needs an override_reason.
    auto suggestion = suggestion_for(ep, ev).profile;
    if (!ev.profile && !suggestion)
      return Status::Fail("the answers given suggest no profile (a non-raised Örebro alone); give 'profile'");
    if (ev.profile && suggestion && *ev.profile < *suggestion && (!ev.override_reason || ev.override_reason->empty()))
      return Status::Fail("profile " + std::to_string(*ev.profile) + " is below the suggested profile " +
                          std::to_string(*suggestion) + " and needs an 'override_reason'");
  }
  if (ev.type == Trigger::reevaluation && !judge(ep, ev))
    return Status::Fail("no 'judgement' and no NPRS or QBPDS comparable with a non-zero baseline");
  return Status::Ok();
}

void on_terminal_entry(Episode& ep, Date at) {
  for (auto& t : ep.tasks)
    if (t.status == TaskStatus::open && (t.kind == TaskKind::reevaluation || t.kind == TaskKind::lrs_check)) {
      t.status = TaskStatus::cancelled;
      t.closed = at;
    }
  ep.timers.clear();
}

}  // namespace zorgpad::r1
