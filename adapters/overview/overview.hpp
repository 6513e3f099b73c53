// The coordinator's overview (spec §11): the urgent tasks first, then how
// many episodes stand where, which reevaluations are overdue, what is due this
// week, who is waiting on the GP, who was referred this month and which
// episodes have gone quiet. `zorgpad overview` prints it and
// `zorgpad serve` shows it (GET /api/overview, the dashboard); both call
// build_overview, so every rule of what counts as overdue or due lives here
// and nowhere else. The filter parsing and the JSON of an episode summary and
// a task row are shared the same way.
//
// Definitions (dates are the injected clock's `today`):
//   urgent         an open `red_flag_review` or `gp_urgent_contact` task
//                  (is_urgent in codes.hpp), whatever its age or due date and
//                  whatever the state of its episode, oldest first (due date,
//                  then task id); shown before every other list. Such a task
//                  also stays in the other lists it qualifies for;
//   overdue        an open `reevaluation` task whose due date lies 7 or more
//                  days back (due + 7 <= today), oldest first;
//   due this week  an open task of any kind due from today - 6 through
//                  today + 6: the next seven days, and the last six so that a
//                  reevaluation stays in sight until it counts as overdue;
//   waiting on GP  episodes in `gp_consultation` and episodes with an open
//                  gp_* task (every letter: gp_report_start,
//                  gp_report_interim, gp_report_close, gp_red_flag_notice,
//                  gp_referral, gp_consultation; and gp_urgent_contact),
//                  longest waiting first;
//   referred this month
//                  episodes whose `gp_referral` or `gp_urgent_contact` task
//                  (created on the day of the referral, due that day) falls
//                  in today's calendar month, up to today;
//   inactive       non-terminal episodes without a clinical event for 42 days
//                  or more (last_event + 42 <= today: 41 days is not yet
//                  inactive), longest quiet first (last event, then id), with
//                  the date of that event and the days since. Timers (phase
//                  changes, checkpoints) and tasks marked done are not events
//                  of the patient: they do not count. The patient may have
//                  stopped coming: close the episode and report to the GP.
// Every list honours the episode filter (state, phase, profile, gp,
// therapist, search), holds at most `limit` rows and reports its full total.
//
// Cost: the counts and the episode pages come from the store's indexed
// list/count queries; the task lists (urgent among them) read the open tasks
// once (columns only, no episode bodies) and look up an episode summary per
// listed row, or, when filtering, the smaller of the filtered episodes and
// the episodes of the candidate tasks. The inactive episodes come from one
// store query (Store::list_inactive) over the index of non-terminal episodes
// by last event (schema 5): its cost follows the inactive episodes, not the
// episodes on file, and the filters are applied in the same query.
// Thread-safety: no shared state; pass the calling thread's own Store.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pathway/date.hpp"
#include "pathway/expected.hpp"
#include "persistence/store.hpp"

namespace zorgpad {

inline constexpr int kOverdueAfterDays = 7;    // spec §11
inline constexpr int kInactiveAfterDays = 42;  // spec §11
inline constexpr int64_t kOverviewMaxLimit = 1000;
// How the overdue list is named wherever it is counted (the overview, the
// demo's summary): is_overdue's rule in words.
inline constexpr std::string_view kOverdueName = "overdue reevaluations";
inline constexpr std::string_view kOverdueRule = "open 7 or more days past due";
static_assert(kOverdueAfterDays == 7, "kOverdueRule names the number of days");

// A reevaluation task still open `kOverdueAfterDays` days after its due date.
bool is_overdue(const Task& task, Date today);
// Open and due from today - 6 through today + 6.
bool is_due_this_week(const Task& task, Date today);
// An open red_flag_review or gp_urgent_contact task, whatever its due date.
bool is_urgent_task(const Task& task);
// Not terminal, and no clinical event for kInactiveAfterDays days or more.
bool is_inactive(State state, Date last_event, Date today);

struct OverviewOptions {
  EpisodeFilter filter;  // offset/limit of the filter are ignored
  int64_t limit = 50;    // rows per list, 1 to kOverviewMaxLimit; totals count everything
};

// A task with the summary of its episode.
struct OverviewTask {
  TaskRow row;
  EpisodeSummary episode;
  int days_late = 0;  // today - due; negative: days until due
};

struct WaitingOnGp {
  EpisodeSummary episode;
  std::vector<TaskRow> gp_tasks;  // its open gp_* tasks, due order
  std::optional<Date> since;      // the earliest due date among them
};

struct InactiveOverview {
  EpisodeSummary episode;
  Date last_event;       // the latest clinical event
  int days_inactive = 0;  // today - last_event, at least kInactiveAfterDays
};

struct Referral {
  EpisodeSummary episode;
  TaskRow task;  // the gp_referral or gp_urgent_contact task; its due date is the referral date
};

template <typename T>
struct OverviewList {
  int64_t total = 0;     // everything that qualifies
  std::vector<T> items;  // the first `limit` of them
};

using Counts = std::vector<std::pair<std::string, int64_t>>;

struct Overview {
  Date today;
  int64_t episodes = 0;  // matching the filter
  Counts by_state, by_phase, by_profile;  // every state, phase, profile 1-3 and "none", zeros included
  OverviewList<OverviewTask> urgent, overdue, due_this_week;
  OverviewList<WaitingOnGp> waiting_on_gp;
  OverviewList<Referral> referred_this_month;
  OverviewList<InactiveOverview> inactive;
};

[[nodiscard]] Expected<Overview> build_overview(Store& store, Date today, const OverviewOptions& options);

// The overview as JSON (the CLI's `overview --json`, GET /api/overview).
nlohmann::json overview_json(const Overview& overview);

// {"id", "patient", "state", "phase", "profile", "gp", "therapist", "next_due"}
nlohmann::json summary_json(const EpisodeSummary& e);
// {"id", "episode", "kind", ["checkpoint",] "due", "status"}: `tasks --json` rows.
nlohmann::json task_row_json(const TaskRow& r);

// The episode filters as text (CLI options, query parameters); empty: not given.
struct FilterInput {
  std::string state, phase, profile, gp, therapist, search;
};
// Checks and converts them. The message starts with the field's name
// ("state: unknown state 'x' (intake, screened, ...)") so that each adapter
// can say where it came from.
Expected<EpisodeFilter> parse_episode_filter(const FilterInput& in);

// First day of the month of `d`, and of the month after it.
Date month_start(Date d);
Date next_month_start(Date d);

}  // namespace zorgpad
