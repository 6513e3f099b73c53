// SQLite repository: the reads. Each is its own snapshot; none changes the
// database.
#include "persistence/sqlite_repository.hpp"

#include <nlohmann/json.hpp>

#include "states/episode_json.hpp"

namespace zorgpad::sqlite {
namespace {

// A filter by state, phase and profile only is answered from episode_counts
// (which has those columns, profile 0 for none).
bool counted_by_state(const EpisodeFilter& f) { return !f.gp && !f.therapist && !f.search; }

std::string episode_where(const EpisodeFilter& f) {
  std::string w = " WHERE 1=1";
  if (f.state) w += " AND state = :state";
  if (f.phase) w += " AND phase = :phase";
  if (f.profile) w += " AND profile = :profile";
  if (f.gp) w += " AND gp = :gp";
  if (f.therapist) w += " AND therapist = :therapist";
  if (f.search) w += " AND (id >= :search AND id < :search_end OR patient >= :search AND patient < :search_end)";
  return w;
}
void bind_episode_filter(SQLite::Statement& q, const EpisodeFilter& f) {
  if (f.state) q.bind(":state", std::string(kStates.name(*f.state)));
  if (f.phase) q.bind(":phase", std::string(kPhases.name(*f.phase)));
  if (f.profile) q.bind(":profile", *f.profile);
  if (f.gp) q.bind(":gp", *f.gp);
  if (f.therapist) q.bind(":therapist", *f.therapist);
  if (f.search) {
    q.bind(":search", *f.search);
    q.bind(":search_end", *f.search + "\xff");
  }
}

// The columns of an EpisodeSummary, in summary()'s order.
constexpr const char* kSummaryColumns = "id, patient, state, phase, profile, gp, therapist, next_due";
EpisodeSummary summary(SQLite::Statement& q) {
  EpisodeSummary e;
  e.id = q.getColumn(0).getString();
  e.patient = q.getColumn(1).getString();
  e.state = *kStates.parse(q.getColumn(2).getString());
  e.phase = *kPhases.parse(q.getColumn(3).getString());
  if (!q.getColumn(4).isNull()) e.profile = q.getColumn(4).getInt();
  e.gp = q.getColumn(5).getString();
  e.therapist = q.getColumn(6).getString();
  if (!q.getColumn(7).isNull()) e.next_due = Date::parse_stored(q.getColumn(7).getString());
  return e;
}

TaskRow task_row(SQLite::Statement& q) {
  TaskRow r;
  r.id = q.getColumn(0).getInt64();
  r.episode = q.getColumn(1).getString();
  r.task.seq = q.getColumn(2).getInt();
  r.task.kind = *kTaskKinds.parse(q.getColumn(3).getString());
  if (!q.getColumn(4).isNull()) r.task.checkpoint = kCheckpoints.parse(q.getColumn(4).getString());
  r.task.due = *Date::parse_stored(q.getColumn(5).getString());
  r.task.status = *kTaskStatuses.parse(q.getColumn(6).getString());
  return r;
}

}  // namespace

Expected<Episode> SqliteRepository::episode(const std::string& id) {
  return guarded<Episode>([&]() -> Expected<Episode> {
    auto h = fetch(id);
    if (!h) return bad_input("no episode '" + clip(id) + "'");
    return std::move(h->w.ep);
  });
}

Expected<int64_t> SqliteRepository::log_length(const std::string& id) {
  return guarded<int64_t>([&]() -> Expected<int64_t> {
    SQLite::Statement q(db_, "SELECT last_seq FROM episodes WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return bad_input("no episode '" + clip(id) + "'");
    return q.getColumn(0).getInt64();
  });
}

// Every change of a projection comes with a log entry (a command) or a tick
// row (timers fired): the largest rowid of each is the version. Two index
// lookups.
Expected<std::optional<std::string>> SqliteRepository::content_version() {
  return guarded<std::optional<std::string>>([&]() -> Expected<std::optional<std::string>> {
    SQLite::Transaction tx(db_);
    const int64_t events = db_.execAndGet("SELECT COALESCE(max(rowid), 0) FROM events").getInt64();
    const int64_t ticks = db_.execAndGet("SELECT COALESCE(max(id), 0) FROM ticks").getInt64();
    return std::optional<std::string>("e" + std::to_string(events) + ".t" + std::to_string(ticks));
  });
}

Expected<int64_t> SqliteRepository::due_count(Date now) {
  return guarded<int64_t>([&]() -> Expected<int64_t> {
    SQLite::Statement q(db_, "SELECT count(*) FROM episodes WHERE next_due <= ?");
    q.bind(1, now.iso());
    q.executeStep();
    return q.getColumn(0).getInt64();
  });
}

Expected<std::vector<LogEntry>> SqliteRepository::log(const std::string& episode) {
  return guarded<std::vector<LogEntry>>([&]() -> Expected<std::vector<LogEntry>> {
    SQLite::Transaction tx(db_);
    if (!row_exists(episode)) return bad_input("no episode '" + clip(episode) + "'");
    SQLite::Statement q(db_, "SELECT seq, type, at, body, COALESCE(event_id, ''), recorded_at FROM events WHERE episode = ? ORDER BY seq");
    q.bind(1, episode);
    std::vector<LogEntry> out;
    while (q.executeStep()) {
      auto at = Date::parse_stored(q.getColumn(2).getString());
      if (!at) return store_failure("episode " + episode + " event " + std::to_string(q.getColumn(0).getInt64() - 1) + ": unreadable date");
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(), *at, q.getColumn(3).getString(), q.getColumn(4).getString(),
                     q.getColumn(5).getInt64()});
    }
    return out;
  });
}

Status SqliteRepository::for_each_task(const TaskFilter& f, const std::function<void(const TaskRow&)>& fn) {
  return guarded<void>([&]() -> Status {
    // Open tasks come from their covering index alone: the status is the literal.
    const bool open_only = f.status && *f.status == TaskStatus::open;
    std::string sql = std::string("SELECT id, episode, seq, kind, checkpoint, due, ") + (open_only ? "'open'" : "status") +
                      " FROM tasks WHERE 1=1";
    if (f.due_before) sql += " AND due < :due";
    if (f.kind) sql += " AND kind = :kind";
    // Open tasks by a literal, so that the planner uses the index of open tasks.
    if (f.status) sql += open_only ? " AND status = 'open'" : " AND status = :status";
    if (f.episode) sql += " AND episode = :episode";
    if (f.id) sql += " AND id = :id";
    sql += " ORDER BY due, id";
    SQLite::Statement q(db_, sql);
    if (f.due_before) q.bind(":due", f.due_before->iso());
    if (f.kind) q.bind(":kind", std::string(kTaskKinds.name(*f.kind)));
    if (f.status && !open_only) q.bind(":status", std::string(kTaskStatuses.name(*f.status)));
    if (f.episode) q.bind(":episode", *f.episode);
    if (f.id) q.bind(":id", *f.id);
    while (q.executeStep()) fn(task_row(q));
    return Status::Ok();
  });
}

Expected<std::vector<TaskRow>> SqliteRepository::tasks(const TaskFilter& f) {
  std::vector<TaskRow> out;
  if (Status s = for_each_task(f, [&](const TaskRow& r) { out.push_back(r); }); !s) return s.error();
  return out;
}

Expected<int64_t> SqliteRepository::episode_count() {
  return guarded<int64_t>([&]() -> Expected<int64_t> {
    return db_.execAndGet("SELECT COALESCE(sum(n), 0) FROM episode_counts").getInt64();
  });
}

Expected<EpisodePage> SqliteRepository::list_episodes(const EpisodeFilter& f) {
  return guarded<EpisodePage>([&]() -> Expected<EpisodePage> {
    if (f.limit < 1 || f.limit > 1000 || f.offset < 0) return bad_input("page: limit must be 1-1000 and offset >= 0");
    SQLite::Transaction tx(db_);  // count and page from one snapshot
    EpisodePage page;
    std::string where = episode_where(f);
    SQLite::Statement c(db_, counted_by_state(f) ? "SELECT COALESCE(sum(n), 0) FROM episode_counts" + where
                                                 : "SELECT count(*) FROM episodes" + where);
    bind_episode_filter(c, f);
    c.executeStep();
    page.total = c.getColumn(0).getInt64();
    // Nothing on this page: spare the row query, which reads every episode
    // row when only the state, phase or profile is filtered (no index).
    if (page.total <= f.offset) return page;
    SQLite::Statement q(db_, std::string("SELECT ") + kSummaryColumns + " FROM episodes" + where +
                                 (f.after ? " AND id > :after" : "") + " ORDER BY id LIMIT :limit OFFSET :offset");
    bind_episode_filter(q, f);
    if (f.after) q.bind(":after", *f.after);
    q.bind(":limit", f.limit);
    q.bind(":offset", f.offset);
    while (q.executeStep()) page.episodes.push_back(summary(q));
    return page;
  });
}

Expected<InactivePage> SqliteRepository::list_inactive(const InactiveQuery& iq) {
  return guarded<InactivePage>([&]() -> Expected<InactivePage> {
    const EpisodeFilter& f = iq.filter;
    if (f.limit < 1 || f.limit > 1000 || f.offset < 0) return bad_input("page: limit must be 1-1000 and offset >= 0");
    InactivePage page;
    if (f.state && is_terminal(*f.state)) return page;  // a terminal episode is never inactive
    SQLite::Transaction tx(db_);  // count and page from one snapshot
    // `terminal = 0` literally: the condition of the partial index
    // episodes_inactive (last_event, id), which then gives the rows in order.
    const std::string where = episode_where(f) + " AND terminal = 0 AND last_event <= :by";
    const std::string by = iq.last_event_by.iso();
    SQLite::Statement c(db_, "SELECT count(*) FROM episodes" + where);
    bind_episode_filter(c, f);
    c.bind(":by", by);
    c.executeStep();
    page.total = c.getColumn(0).getInt64();
    if (page.total <= f.offset) return page;
    SQLite::Statement q(db_, std::string("SELECT ") + kSummaryColumns + ", last_event FROM episodes" + where +
                                 (iq.after ? " AND (last_event > :after_at OR last_event = :after_at AND id > :after_id)" : "") +
                                 " ORDER BY last_event, id LIMIT :limit OFFSET :offset");
    bind_episode_filter(q, f);
    q.bind(":by", by);
    if (iq.after) {
      q.bind(":after_at", iq.after->first.iso());
      q.bind(":after_id", iq.after->second);
    }
    q.bind(":limit", f.limit);
    q.bind(":offset", f.offset);
    while (q.executeStep()) {
      auto last = Date::parse_stored(q.getColumn(8).getString());
      if (!last) return store_failure("episode " + q.getColumn(0).getString() + ": unreadable last_event column");
      page.episodes.push_back({summary(q), *last});
    }
    return page;
  });
}

Expected<std::vector<std::pair<std::string, int64_t>>> SqliteRepository::count_episodes(CountBy by, const EpisodeFilter& f) {
  using Out = std::vector<std::pair<std::string, int64_t>>;
  return guarded<Out>([&]() -> Expected<Out> {
    std::string sql;
    if (counted_by_state(f)) {  // from the counts, not the episode rows
      const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase"
                                                                        : "CASE profile WHEN 0 THEN 'none' ELSE CAST(profile AS TEXT) END";
      sql = std::string("SELECT ") + col + ", sum(n) FROM episode_counts" + episode_where(f) + " GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1";
    } else {
      const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase" : "COALESCE(CAST(profile AS TEXT), 'none')";
      sql = std::string("SELECT ") + col + ", count(*) FROM episodes" + episode_where(f) + " GROUP BY 1 ORDER BY 1";
    }
    SQLite::Statement q(db_, sql);
    bind_episode_filter(q, f);
    Out out;
    while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64());
    return out;
  });
}

Expected<int64_t> SqliteRepository::for_each_episode(const std::function<void(const Episode&)>& fn) {
  return guarded<int64_t>([&]() -> Expected<int64_t> {
    SQLite::Transaction tx(db_);  // one consistent snapshot
    SQLite::Statement q(db_, "SELECT id, body FROM episodes ORDER BY rowid");
    int64_t n = 0;
    while (q.executeStep()) {
      auto ep = episode_from_state_text(q.getColumn(1).getString());
      if (!ep) return store_failure("episode " + q.getColumn(0).getString() + ": " + ep.message());
      fn(*ep);
      ++n;
    }
    return n;
  });
}

}  // namespace zorgpad::sqlite
