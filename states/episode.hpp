// The episode: one patient's course through the pathway, as a plain value.
// It is the projection of its event log: the state machine (machine.hpp) is the
// only code that changes it, and replaying the same events gives the same value.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pathway/codes.hpp"
#include "pathway/date.hpp"
#include "pathway/event.hpp"
#include "pathway/rules.hpp"

namespace zorgpad {

struct Task {
  int seq = 0;  // 1-based, in creation order within the episode
  TaskKind kind{};
  Date due;
  TaskStatus status = TaskStatus::open;
  std::optional<Checkpoint> checkpoint;  // reevaluation tasks only
  Date created;
  std::optional<Date> closed;  // when marked done or cancelled
  bool operator==(const Task&) const = default;
};

struct Timer {
  Date due;
  Trigger kind = Trigger::phase;  // phase or checkpoint
  Phase to_phase = Phase::acute;  // phase timers
  int task_seq = 0;               // checkpoint timers: the reevaluation task
  bool operator==(const Timer&) const = default;
};

struct Transition {
  Date at;
  Trigger event{};
  std::string from, to;  // state names, or phase names for a phase change
  bool operator==(const Transition&) const = default;
};

struct ProfileChange {
  Date at;
  int profile = 0;
  std::optional<int> suggested;
  Trigger event{};
  bool operator==(const ProfileChange&) const = default;
};

struct ReevaluationRecord {
  Date at;
  Judgement judgement{};
  bool derived = false;                  // revision 1: the judgement was derived from the 30 % rule
  std::optional<Checkpoint> checkpoint;  // the earliest checkpoint whose task it completed
  // Revision 2 (§8): the 30 % rule on this reevaluation's own NPRS/QBPDS
  // against their baselines; none when nothing was comparable.
  std::optional<bool> measured_improvement;
  bool operator==(const ReevaluationRecord&) const = default;
};

// §4: every MRC value with its date.
struct MrcRecord {
  Date at;
  int value = 0;
  bool operator==(const MrcRecord&) const = default;
};

// §4: a red-flag feature as first found (screening or a stop for a red flag).
struct FlagRecord {
  Date at;
  RedFlag flag{};
  bool operator==(const FlagRecord&) const = default;
};

// A dated free text: the review's note (§4), the GP's question (§3 gp_request).
struct NoteRecord {
  Date at;
  std::string text;
  bool operator==(const NoteRecord&) const = default;
};

// §4 the red-flag review in progress: where the episode returns on
// `continue`, and the exclusions its screenings carried.
struct PendingReview {
  State from = State::intake;
  std::vector<Exclusion> exclusions;  // age first, in the order found
  bool operator==(const PendingReview&) const = default;
};

struct Episode {
  std::string id, patient;
  // The pathway revision the episode was opened under; its log is replayed
  // under that revision's table for good (states/revisions.hpp).
  int revision = 1;
  // from `open`
  Date opened, onset;
  Complaint complaint = Complaint::lbp;
  int age = 0;
  std::optional<Date> previous_episode_end;
  bool recurrent = false;
  std::string gp, therapist;
  ReferredBy referred_by = ReferredBy::self;  // revision 2

  State state = State::intake;
  Phase phase = Phase::acute;
  std::optional<std::string> reason;  // terminal states only

  // stratification
  std::optional<int> profile, suggested_profile;
  std::optional<SbstScore> sbst;
  std::optional<OrebroScore> orebro;
  std::optional<Factors> factors;
  std::optional<std::string> override_reason;
  std::optional<Date> treatment_start;

  int screenings = 0;
  int sessions = 0;
  bool session_limit_emitted = false;
  Measures baseline, latest;

  std::vector<Task> tasks;
  std::vector<Timer> timers;  // kept in due order (phase before checkpoint on a day)
  std::vector<Transition> transitions;
  std::vector<ProfileChange> profile_history;
  std::vector<ReevaluationRecord> reevaluations;

  // revision 2
  std::vector<MrcRecord> mrc;               // §4, in order
  std::vector<FlagRecord> red_flags;        // §4, each code once, first found
  std::vector<RedFlag> reviewed;            // §4, codes a review has decided on (or is deciding on)
  std::optional<PendingReview> review;      // set while in red_flag_review
  std::vector<NoteRecord> review_notes;     // §4, the notes of `continue`
  std::vector<NoteRecord> gp_questions;     // §3, gp_request questions (empty text when none given)
  bool lrs_check_emitted = false;           // §4, once per episode

  Date last_event;   // the date of the latest clinical event
  Date last_fired;   // due date of the latest timer that fired
  int64_t events = 0;  // clinical events applied (the log's sequence number)

  bool operator==(const Episode&) const = default;

  std::optional<Date> next_due() const {
    if (timers.empty()) return std::nullopt;
    return timers.front().due;
  }
};

}  // namespace zorgpad
