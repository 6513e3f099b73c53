// A clinical event (spec §3) as a validated value. Built only by parse_event (or
// parse_event_text, its reader), which checks every field's type, code and range;
// the state machine then only checks what depends on the episode (state, time order, context).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "pathway/codes.hpp"
#include "pathway/date.hpp"
#include "pathway/expected.hpp"
#include "pathway/revision.hpp"
#include "pathway/rules.hpp"

namespace zorgpad {

struct Measures {
  std::optional<int> nprs;              // 0-10
  std::optional<int> qbpds;             // 0-100
  std::optional<std::vector<int>> psk;  // up to three items, each 0-10
  bool empty() const { return !nprs && !qbpds && !psk; }
  bool operator==(const Measures&) const = default;
};

struct Event {
  Trigger type = Trigger::open;
  Date at;
  std::string id;  // optional idempotency key (issue 3); empty when absent

  // open
  Date onset;
  Complaint complaint = Complaint::lbp;
  int age = 0;
  std::optional<Date> previous_episode_end;
  std::string gp, therapist;
  std::string patient;  // pseudonymous reference; a scenario gives it per episode instead
  ReferredBy referred_by = ReferredBy::self;  // revision 2
  bool referred_by_given = false;
  // The pathway revision to open the episode under: the store writes it into
  // the logged `open`; absent in a log written before revisions (revision 1)
  // and in new input (the current revision).
  std::optional<int> revision;

  // screening
  std::vector<RedFlag> red_flags;
  bool suspicion = false;
  std::vector<Exclusion> exclusions;
  std::optional<int> mrc;
  std::optional<int> screening_nprs;  // serves the LRS rule only; not a measurement
  std::optional<Complaint> screening_complaint;  // revision 2: "lrs" reclassifies (§4)

  // red_flag_review (revision 2)
  std::optional<ReviewDecision> decision;
  std::optional<std::string> note;

  // gp_request (revision 2)
  std::optional<std::string> question;

  // stratification
  std::optional<SbstAnswers> sbst;
  std::optional<OrebroAnswers> orebro;
  std::optional<Factors> factors;
  std::optional<int> profile;
  std::optional<std::string> override_reason;

  // measurement, reevaluation
  Measures measures;
  std::optional<Judgement> judgement;
  std::optional<int> new_profile;
  bool new_insights = false;

  // gp_consult, stop (a stop may carry the end `measures`, and for reason
  // red_flag the `red_flags` found; revision 2)
  std::optional<GpOutcome> outcome;
  std::optional<StopReason> reason;

  // timer events (internal, never parsed): the phase a phase timer moves to
  Phase phase_to = Phase::acute;
};

// The first field of the event that revision 1 of the pathway did not know,
// or none: an episode of revision 1 rejects such an event.
std::optional<std::string> revision2_field(const Event& e);

// Parses and validates one event object. The error names the field and what is
// wrong with it, e.g. "field 'nprs': 11 is out of range 0-10".
Expected<Event> parse_event(const nlohmann::json& j);
// The same for an event as JSON text (the log's body): what parse_event reads
// after dumping the object. Text that is not a JSON object is an error too.
Expected<Event> parse_event_text(std::string_view text);

// A patient reference given beside an event (`open --patient`, an import
// line's "patient"): the log keeps it in the `open` event, so it obeys that
// field's rule (at most 100 characters, no control character) or rebuild
// could not read the log back. The error names the field like parse_event's.
inline constexpr std::size_t kMaxPatientReference = 100;
Status check_patient_reference(std::string_view patient);

// The event as a JSON object (what the log keeps, and what `show` prints):
// the one writer of the format parse_event reads; parse_event(event_json(e))
// gives e back.
nlohmann::json event_json(const Event& e);
std::string event_text(const Event& e);

}  // namespace zorgpad
