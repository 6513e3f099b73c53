#include "adapters/overview/overview.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "states/episode_json.hpp"

namespace zorgpad {
namespace {

using nlohmann::json;

constexpr int64_t kPage = 1000;        // the store's largest page
constexpr size_t kMaxFilterText = 200;  // gp, therapist, search

bool has_episode_filter(const EpisodeFilter& f) {
  return f.state || f.phase || f.profile || f.gp || f.therapist || f.search;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Finds episode summaries through the store's own filtered listing, so that
// "matches the filter" has one meaning: the store's. Per episode it asks for
// the page of the episode's id (prefix search, id order) and keeps the exact
// match; or, when that is cheaper, it reads the whole filtered set once.
class Resolver {
 public:
  Resolver(Store& store, EpisodeFilter filter) : store_(store), filter_(std::move(filter)) {
    filter_.offset = 0;
    filtered_ = has_episode_filter(filter_);
  }

  bool filtered() const { return filtered_; }

  // `candidates` episodes are about to be asked for; when filtering and the
  // filtered set is no larger, it is read in full (pages in id order).
  std::optional<Error> prepare(size_t candidates) {
    if (!filtered_ || complete_ || candidates == 0) return std::nullopt;
    EpisodeFilter g = filter_;
    g.limit = 1;
    auto first = store_.list_episodes(g);
    if (!first) return first.error();
    // Read the set when it is no larger than the candidates (which are in
    // memory already), page after page by id: an offset would re-read every
    // page before it.
    const int64_t total = first->total;
    if (total > int64_t(candidates)) return std::nullopt;
    g.limit = kPage;
    for (;;) {
      auto page = store_.list_episodes(g);
      if (!page) return page.error();
      const auto& episodes = page->episodes;
      for (auto& s : episodes) cache_[s.id] = s;
      if (int64_t(episodes.size()) < kPage || (g.after && episodes.back().id <= *g.after)) break;
      g.after = episodes.back().id;
    }
    complete_ = true;
    return std::nullopt;
  }

  // The episode's summary when it exists and matches the filter.
  Expected<std::optional<EpisodeSummary>> get(const std::string& id) {
    if (auto it = cache_.find(id); it != cache_.end()) return it->second;
    if (complete_) return std::optional<EpisodeSummary>{};
    EpisodeFilter g = filter_;
    g.search = id;  // the user's search, if any, is checked below
    g.limit = kPage;
    std::optional<EpisodeSummary> found;
    for (g.offset = 0;; g.offset += kPage) {
      auto page = store_.list_episodes(g);
      if (!page) return page.error();
      bool past = false;
      for (auto& s : page->episodes) {
        if (s.id == id) { found = s; break; }
        if (s.id > id) { past = true; break; }  // id order: the exact id comes before its extensions
      }
      if (found || past || int64_t(page->episodes.size()) < kPage) break;
    }
    // The store's search is a prefix match on the id or the patient reference.
    if (found && filter_.search && !starts_with(found->id, *filter_.search) && !starts_with(found->patient, *filter_.search))
      found.reset();
    cache_[id] = found;
    return found;
  }

 private:
  Store& store_;
  EpisodeFilter filter_;
  bool filtered_ = false;
  bool complete_ = false;  // cache_ holds every episode of the filtered set
  std::unordered_map<std::string, std::optional<EpisodeSummary>> cache_;
};

// Keeps the rows whose episode matches, counting all and keeping `limit`.
// Unfiltered, only the kept rows need their episode looked up.
template <typename Make, typename Item>
std::optional<Error> pick(Resolver& resolver, const std::vector<const TaskRow*>& rows, int64_t limit,
                               OverviewList<Item>& out, Make make) {
  for (const TaskRow* r : rows) {
    const bool keep = int64_t(out.items.size()) < limit;
    std::optional<EpisodeSummary> s;
    if (resolver.filtered() || keep) {
      auto g = resolver.get(r->episode);
      if (!g) return g.error();
      s = *g;
      if (!s) continue;
    }
    ++out.total;
    if (keep) out.items.push_back(make(*r, std::move(*s)));
  }
  return std::nullopt;
}

Counts with_zeros(const Counts& got, const std::vector<std::string>& names) {
  Counts out;
  for (const auto& n : names) {
    int64_t c = 0;
    for (const auto& [k, v] : got)
      if (k == n) c = v;
    out.emplace_back(n, c);
  }
  return out;
}

template <typename E, size_t N>
std::vector<std::string> names_of(const CodeTable<E, N>& t) {
  std::vector<std::string> out;
  for (size_t i = 0; i < N; ++i) out.emplace_back(t.names[i]);
  return out;
}

template <typename E, size_t N>
std::string list_of(const CodeTable<E, N>& t) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + std::string(t.names[i]);
  return out;
}

json counts_json(const Counts& c) {
  json j = json::object();
  for (const auto& [k, v] : c) j[k] = v;
  return j;
}

json task_with_episode(const TaskRow& row, const EpisodeSummary& e) {
  json j = task_row_json(row);
  j["patient"] = e.patient;
  j["state"] = kStates.name(e.state);
  j["phase"] = kPhases.name(e.phase);
  j["profile"] = e.profile ? json(*e.profile) : json(nullptr);
  j["gp"] = e.gp;
  j["therapist"] = e.therapist;
  return j;
}

}  // namespace

bool is_overdue(const Task& t, Date today) {
  return t.kind == TaskKind::reevaluation && t.status == TaskStatus::open && t.due + kOverdueAfterDays <= today;
}

bool is_due_this_week(const Task& t, Date today) {
  return t.status == TaskStatus::open && t.due + (kDaysPerWeek - 1) >= today && t.due < today + kDaysPerWeek;
}

bool is_urgent_task(const Task& t) { return t.status == TaskStatus::open && is_urgent(t.kind); }

bool is_inactive(State state, Date last_event, Date today) {
  return !is_terminal(state) && last_event + kInactiveAfterDays <= today;
}

// The GP letters (codes.hpp decides which kinds are letters) and the phone call.

Date month_start(Date d) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{days{d.days}}};
  return Date{int32_t(sys_days{ymd.year() / ymd.month() / 1}.time_since_epoch().count())};
}

Date next_month_start(Date d) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{days{d.days}}};
  year_month next = ymd.year() / ymd.month() + months{1};
  return Date{int32_t(sys_days{next / 1}.time_since_epoch().count())};
}

Expected<Overview> build_overview(Store& store, Date today, const OverviewOptions& o) {
  if (o.limit < 1 || o.limit > kOverviewMaxLimit)
    return bad_input("limit: must be 1-" + std::to_string(kOverviewMaxLimit));
  Overview ov;
  ov.today = today;
  EpisodeFilter f = o.filter;
  f.offset = 0;
  f.limit = 1;

  // Counts, straight from the store's GROUP BY.
  std::vector<std::string> profiles{"1", "2", "3", "none"};
  const std::pair<CountBy, Counts*> counted[] = {{CountBy::state, &ov.by_state}, {CountBy::phase, &ov.by_phase},
                                                 {CountBy::profile, &ov.by_profile}};
  for (auto [by, out] : counted) {
    auto r = store.count_episodes(by, f);
    if (!r) return r.error();
    *out = with_zeros(*r, by == CountBy::state   ? names_of(kStates)
                                    : by == CountBy::phase ? names_of(kPhases)
                                                           : profiles);
  }
  for (const auto& [k, v] : ov.by_state) ov.episodes += v;

  // Every open task, once (due order), streamed from the store: only the
  // rows a list may show are kept; the GP tasks (often most of the open
  // tasks: letters not yet sent) only as each episode's earliest due date.
  // Then the referral tasks already done this month.
  TaskFilter open_f;
  open_f.status = TaskStatus::open;
  const Date month = month_start(today), next_month = next_month_start(today);
  std::vector<TaskRow> urgent_rows, overdue_rows, week_rows, referral_rows;
  std::vector<std::string> gp_order;             // episodes with an open GP task, longest waiting first
  std::unordered_map<std::string, Date> gp_since;  // ... and the earliest due date among their GP tasks
  Status streamed = store.for_each_task(open_f, [&](const TaskRow& row) {  // due order: oldest first
    if (is_urgent_task(row.task)) urgent_rows.push_back(row);
    if (is_overdue(row.task, today)) overdue_rows.push_back(row);
    if (is_due_this_week(row.task, today)) week_rows.push_back(row);
    if (is_gp_task(row.task.kind) && gp_since.emplace(row.episode, row.task.due).second) gp_order.push_back(row.episode);
    if ((row.task.kind == TaskKind::gp_referral || row.task.kind == TaskKind::gp_urgent_contact) &&
        row.task.due >= month && row.task.due < next_month)
      referral_rows.push_back(row);
  });
  if (!streamed) return streamed.error();
  for (TaskKind k : {TaskKind::gp_referral, TaskKind::gp_urgent_contact}) {
    TaskFilter tf;
    tf.kind = k;
    tf.status = TaskStatus::done;
    tf.due_before = next_month;
    Status s = store.for_each_task(tf, [&](const TaskRow& row) {
      if (row.task.due >= month) referral_rows.push_back(row);
    });
    if (!s) return s.error();
  }
  auto pointers = [](const std::vector<TaskRow>& rows) {
    std::vector<const TaskRow*> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(&r);
    return out;
  };
  const std::vector<const TaskRow*> urgent = pointers(urgent_rows), overdue = pointers(overdue_rows),
                                    due_week = pointers(week_rows);
  std::vector<const TaskRow*> referrals = pointers(referral_rows);
  // Most recent referral first; one per episode (a referred episode is terminal).
  std::stable_sort(referrals.begin(), referrals.end(), [](const TaskRow* a, const TaskRow* b) {
    return a->task.due != b->task.due ? a->task.due > b->task.due : a->id > b->id;
  });
  {
    std::unordered_set<std::string> seen;
    std::erase_if(referrals, [&](const TaskRow* r) { return !seen.insert(r->episode).second; });
  }

  // Episodes in gp_consultation (already filtered by the store), by id.
  std::map<std::string, EpisodeSummary> in_gp_state;
  if (!f.state || *f.state == State::gp_consultation) {
    EpisodeFilter g = f;
    g.state = State::gp_consultation;
    g.limit = kPage;
    for (;;) {  // page after page by id: an offset would re-read every page before it
      auto page = store.list_episodes(g);
      if (!page) return page.error();
      const auto& episodes = page->episodes;
      for (auto& s : episodes) in_gp_state.emplace(s.id, s);
      if (int64_t(episodes.size()) < kPage) break;
      g.after = episodes.back().id;
    }
  }

  Resolver resolver(store, f);
  const std::vector<const TaskRow*>& referrals_c = referrals;
  if (resolver.filtered()) {
    std::unordered_set<std::string_view> candidates;
    for (const std::vector<const TaskRow*>* list : {&urgent, &overdue, &due_week, &referrals_c})
      for (const TaskRow* r : *list) candidates.insert(r->episode);
    for (const auto& id : gp_order) candidates.insert(id);
    if (auto e = resolver.prepare(candidates.size())) return *e;
  }

  auto make_task = [today](const TaskRow& r, EpisodeSummary s) { return OverviewTask{r, std::move(s), today - r.task.due}; };
  if (auto e = pick(resolver, urgent, o.limit, ov.urgent, make_task)) return *e;
  if (auto e = pick(resolver, overdue, o.limit, ov.overdue, make_task)) return *e;
  if (auto e = pick(resolver, due_week, o.limit, ov.due_this_week, make_task)) return *e;
  if (auto e = pick(resolver, referrals, o.limit, ov.referred_this_month,
                    [](const TaskRow& r, EpisodeSummary s) { return Referral{std::move(s), r}; }))
    return *e;

  // Waiting on the GP. The open gp_* tasks come in due order, so the order
  // in which episodes first appear is longest waiting first; episodes in
  // gp_consultation without an open GP task follow, by id.
  std::vector<std::string_view> order(gp_order.begin(), gp_order.end());
  for (const auto& [id, s] : in_gp_state)
    if (!gp_since.count(id)) order.push_back(id);
  for (std::string_view id : order) {
    const bool keep = int64_t(ov.waiting_on_gp.items.size()) < o.limit;
    std::optional<EpisodeSummary> s;
    if (auto it = in_gp_state.find(std::string(id)); it != in_gp_state.end()) {
      s = it->second;
    } else if (resolver.filtered() || keep) {
      auto g = resolver.get(std::string(id));
      if (!g) return g.error();
      if (!(s = *g)) continue;
    }
    ++ov.waiting_on_gp.total;
    if (!keep) continue;
    WaitingOnGp w;
    w.episode = std::move(*s);
    if (auto it = gp_since.find(std::string(id)); it != gp_since.end()) w.since = it->second;
    ov.waiting_on_gp.items.push_back(std::move(w));
  }
  // The open GP tasks of the episodes shown (due order), read per episode.
  for (auto& w : ov.waiting_on_gp.items) {
    if (!w.since) continue;
    TaskFilter tf;
    tf.episode = w.episode.id;
    tf.status = TaskStatus::open;
    Status s = store.for_each_task(tf, [&](const TaskRow& row) {
      if (is_gp_task(row.task.kind)) w.gp_tasks.push_back(row);
    });
    if (!s) return s.error();
  }

  // Inactive: one filtered store query over the index of non-terminal
  // episodes by last event. is_inactive is the same rule, for one episode.
  InactiveQuery iq;
  iq.last_event_by = Date{today.days - kInactiveAfterDays};
  iq.filter = f;
  iq.filter.limit = o.limit;
  auto inactive = store.list_inactive(iq);
  if (!inactive) return inactive.error();
  ov.inactive.total = inactive->total;
  for (auto& i : inactive.value().episodes)
    ov.inactive.items.push_back({std::move(i.episode), i.last_event, today - i.last_event});
  return ov;
}

json summary_json(const EpisodeSummary& e) {
  return {{"id", e.id},
          {"patient", e.patient},
          {"state", kStates.name(e.state)},
          {"phase", kPhases.name(e.phase)},
          {"profile", e.profile ? json(*e.profile) : json(nullptr)},
          {"gp", e.gp},
          {"therapist", e.therapist},
          {"next_due", e.next_due ? json(e.next_due->iso()) : json(nullptr)}};
}

json task_row_json(const TaskRow& r) {
  json j = {{"id", r.id}, {"episode", r.episode}};
  j.update(task_view(r.task));
  return j;
}

json overview_json(const Overview& ov) {
  json j;
  j["today"] = ov.today.iso();
  j["episodes"] = ov.episodes;
  j["counts"] = {{"state", counts_json(ov.by_state)}, {"phase", counts_json(ov.by_phase)},
                 {"profile", counts_json(ov.by_profile)}};
  auto tasks = [](const OverviewList<OverviewTask>& l) {
    json a = json::array();
    for (const auto& t : l.items) {
      json row = task_with_episode(t.row, t.episode);
      row["days_late"] = t.days_late;
      a.push_back(std::move(row));
    }
    return json{{"total", l.total}, {"tasks", a}};
  };
  j["urgent"] = tasks(ov.urgent);
  j["overdue"] = tasks(ov.overdue);
  j["due_this_week"] = tasks(ov.due_this_week);
  json waiting = json::array();
  for (const auto& w : ov.waiting_on_gp.items) {
    json e = summary_json(w.episode);
    e["since"] = w.since ? json(w.since->iso()) : json(nullptr);
    e["tasks"] = json::array();
    for (const auto& t : w.gp_tasks) e["tasks"].push_back(task_row_json(t));
    waiting.push_back(std::move(e));
  }
  j["waiting_on_gp"] = {{"total", ov.waiting_on_gp.total}, {"episodes", waiting}};
  json referred = json::array();
  for (const auto& r : ov.referred_this_month.items) {
    json e = summary_json(r.episode);
    e["referred"] = r.task.task.due.iso();
    e["task"] = task_row_json(r.task);
    referred.push_back(std::move(e));
  }
  j["referred_this_month"] = {{"total", ov.referred_this_month.total}, {"episodes", referred}};
  json inactive = json::array();
  for (const auto& i : ov.inactive.items) {
    json e = summary_json(i.episode);
    e["last_event"] = i.last_event.iso();
    e["days_inactive"] = i.days_inactive;
    inactive.push_back(std::move(e));
  }
  j["inactive"] = {{"total", ov.inactive.total}, {"episodes", inactive}};
  return j;
}

Expected<EpisodeFilter> parse_episode_filter(const FilterInput& in) {
  EpisodeFilter f;
  auto quote = [](const std::string& s) { return "'" + s.substr(0, 40) + "'"; };
  if (!in.state.empty() && !(f.state = kStates.parse(in.state)))
    return Error{"state: unknown state " + quote(in.state) + " (one of " + list_of(kStates) + ")"};
  if (!in.phase.empty() && !(f.phase = kPhases.parse(in.phase)))
    return Error{"phase: unknown phase " + quote(in.phase) + " (one of " + list_of(kPhases) + ")"};
  if (!in.profile.empty()) {
    if (in.profile != "1" && in.profile != "2" && in.profile != "3")
      return Error{"profile: " + quote(in.profile) + " is not a profile (1, 2 or 3)"};
    f.profile = in.profile[0] - '0';
  }
  const std::pair<const char*, const std::string*> texts[] = {
      {"gp", &in.gp}, {"therapist", &in.therapist}, {"search", &in.search}};
  for (auto [name, value] : texts)
    if (value->size() > kMaxFilterText)
      return Error{std::string(name) + ": longer than " + std::to_string(kMaxFilterText) + " characters"};
  if (!in.gp.empty()) f.gp = in.gp;
  if (!in.therapist.empty()) f.therapist = in.therapist;
  if (!in.search.empty()) f.search = in.search;
  return f;
}

}  // namespace zorgpad
