// FHIR R4 export: an episode (or all of them) as a Bundle of type
// "collection" or "transaction" (JSON), for the GP's or a regional system's
// records. docs/fhir.md lists the resources, codes and profiles.
//
// Per episode: Patient (the pseudonymous reference only, shared by the
// episodes of one reference), EpisodeOfCare, CarePlan, one Task per task,
// a QuestionnaireResponse per questionnaire (STarT Back, Örebro) and
// Observations for NPRS (LOINC 72514-3), QBPDS and PSK (local codes: LOINC
// has none for them). Status mappings:
//   EpisodeOfCare: non-terminal -> active; referred, closed -> finished (the
//     episode ended, by referral or by stopping); excluded -> cancelled (the
//     pathway never applied).
//   CarePlan: intake, screened -> draft (no treatment profile yet); treatment,
//     reevaluation_due, gp_consultation -> active; red_flag_review -> on-hold
//     (the pathway waits for the therapist's decision, spec §4); referred,
//     closed -> completed; excluded -> revoked.
//   Task: open -> requested, done -> completed, cancelled -> cancelled; the
//     urgent kinds (gp_urgent_contact, red_flag_review; spec §11) have
//     priority "urgent". Task.code carries the kind and, for a reevaluation,
//     the checkpoint (followup included); a kind or checkpoint without a title
//     in adapters/texts yet is displayed by its code.
//
// Stable across exports: every fullUrl is "urn:uuid:" + a name-based UUID
// (RFC 4122 version 5) of the resource's identity in the store ("Task/ep-3/2"),
// and resource ids are the same UUIDs, so re-exporting gives the same ids.
// Only Bundle.timestamp (from the injected clock) changes.
//
// The event log: the Episode projection keeps the questionnaire scores and the
// baseline and latest measures, not the answers or the dates of each
// measurement. Given the episode's clinical events (EpisodeRecord::events), the
// export carries every answer and one dated Observation per measurement;
// without them it carries the scores and the baseline and latest values.
//
// The JSON is an ordered_json, so every resource starts with resourceType as
// FHIR recommends.
//
// Thread-safety: pure functions over values; the Store overload uses the Store
// it is given (one per thread, as the Store requires).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>

#include "adapters/practice/practice.hpp"

#include "pathway/clock.hpp"
#include "pathway/event.hpp"
#include "persistence/store.hpp"
#include "states/episode.hpp"

namespace zorgpad {

struct EpisodeRecord {
  EpisodeRecord() = default;
  EpisodeRecord(Episode e, std::optional<std::vector<Event>> ev) : episode(std::move(e)), events(std::move(ev)) {}
  Episode episode;
  // The episode's clinical events, oldest first, when the caller has the log.
  std::optional<std::vector<Event>> events;
  // Its stored log and the store's task ids by task number (export_fhir
  // fills them), for the letters of the Communications.
  std::vector<StoredEvent> stored;
  std::map<int, int64_t> task_ids;
};

struct FhirOptions {
  FhirOptions() = default;
  explicit FhirOptions(std::string language) : lang(std::move(language)) {}
  std::string lang = "nl";  // "nl" (default) or "en": display texts
  // Issue 11, for a Dutch GP system:
  // The practice file: Organization, Practitioner and PractitionerRole with
  // AGB (and BIG) identifiers for the practice, its therapists and the GPs.
  // Without it therapist and GP are display texts, as before.
  const Practice* practice = nullptr;
  // The patients file: name, birth date and BSN on Patient, only when given.
  const Patients* patients = nullptr;
  // "collection" (default) or "transaction": every entry a PUT to
  // Type/<stable id>, so posting the Bundle twice changes nothing.
  bool transaction = false;
  // The PDF of a sent letter (a letter task that is done), for its
  // Communication; without it (or when it fails) the Communication names the
  // letter in text.
  std::function<Expected<std::string>(const EpisodeRecord&, const Task&)> letter_pdf;
};

// The FHIR codes of the status mappings above.
std::string_view fhir_episode_status(State s);
std::string_view fhir_careplan_status(State s);
std::string_view fhir_task_status(TaskStatus s);

// A name-based UUID (version 5, SHA-1) in zorgpad's namespace, lower-case.
std::string name_uuid(std::string_view name);
// RFC 4122 version 5 in any namespace (16 bytes); exposed for the known-answer test.
std::string uuid_v5(const unsigned char (&ns)[16], std::string_view name);

// The Bundle of the given episodes, in the given order. `timestamp` is seconds
// since the epoch (Bundle.timestamp). Fails only on an unknown language.
Expected<nlohmann::ordered_json> fhir_bundle(const std::vector<EpisodeRecord>& episodes,
                                             const FhirOptions& options, int64_t timestamp);

// One episode (`episode`) or every episode (nullopt) from the store. An
// unknown episode is bad input.
Expected<nlohmann::ordered_json> export_fhir(Store& store, const Clock& clock,
                                                const std::optional<std::string>& episode, const FhirOptions& options);

}  // namespace zorgpad
