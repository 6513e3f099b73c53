// PostgreSQL repository: the reads (each its own read-only snapshot unless
// inside read() or write()) and rebuild.
#include <map>
#include <nlohmann/json.hpp>

#include "persistence/pg_repository.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::pg {

using nlohmann::json;

template <typename T, typename Fn>
Expected<T> PgRepository::reading(Fn fn) {
  if (practice_.empty()) return bad_input("no practice: give --practice CODE (or ZORGPAD_PRACTICE)");
  return guarded<T>([&]() -> Expected<T> {
    if (tx_) return fn(*tx_);
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn());
    tx_ = &tx;
    struct Reset {
      pqxx::transaction_base*& p;
      ~Reset() { p = nullptr; }
    } reset{tx_};
    begin_practice(tx);
    Expected<T> out = fn(tx);
    tx.commit();
    return out;
  });
}

namespace {

bool counted_by_state(const EpisodeFilter& f) { return !f.gp && !f.therapist && !f.search; }

// The WHERE clause of a filter, with its parameters in order after $1 (the
// practice); every value is a parameter, never spliced into the SQL.
struct Where {
  std::string sql;
  std::vector<std::string> params;
  std::string add(const std::string& value) {
    params.push_back(value);
    return "$" + std::to_string(params.size() + 1);
  }
};

Where episode_where(const EpisodeFilter& f) {
  Where w;
  w.sql = " WHERE practice = $1";
  if (f.state) w.sql += " AND state = " + w.add(std::string(kStates.name(*f.state)));
  if (f.phase) w.sql += " AND phase = " + w.add(std::string(kPhases.name(*f.phase)));
  if (f.profile) w.sql += " AND profile = " + w.add(std::to_string(*f.profile)) + "::integer";
  if (f.gp) w.sql += " AND gp = " + w.add(*f.gp);
  if (f.therapist) w.sql += " AND therapist = " + w.add(*f.therapist);
  if (f.search) {
    // A prefix, compared byte by byte (the columns' collation is "C"), as SQLite does.
    std::string lo = w.add(*f.search), hi = w.add(*f.search + "\xf4\x8f\xbf\xbf");
    w.sql += " AND (id >= " + lo + " AND id < " + hi + " OR patient >= " + lo +
             " AND patient < " + hi + ")";
  }
  return w;
}

// Runs sql with $1 = practice and the filter's parameters.
pqxx::result run(pqxx::transaction_base& tx, const std::string& sql, const std::string& practice, const std::vector<std::string>& params) {
  return tx.exec_params(sql, practice, pqxx::prepare::make_dynamic_params(params));
}

constexpr const char* kSummaryColumns = "id, patient, state, phase, profile, gp, therapist, next_due";
EpisodeSummary summary(const pqxx::row& r) {
  EpisodeSummary e;
  e.id = r[0].as<std::string>();
  e.patient = r[1].as<std::string>();
  e.state = *kStates.parse(r[2].as<std::string>());
  e.phase = *kPhases.parse(r[3].as<std::string>());
  if (!r[4].is_null()) e.profile = r[4].as<int>();
  e.gp = r[5].as<std::string>();
  e.therapist = r[6].as<std::string>();
  if (!r[7].is_null()) e.next_due = Date::parse_stored(r[7].as<std::string>());
  return e;
}

TaskRow task_row(const pqxx::row& r) {
  TaskRow t;
  t.id = r[0].as<int64_t>();
  t.episode = r[1].as<std::string>();
  t.task.seq = r[2].as<int>();
  t.task.kind = *kTaskKinds.parse(r[3].as<std::string>());
  if (!r[4].is_null()) t.task.checkpoint = kCheckpoints.parse(r[4].as<std::string>());
  t.task.due = *Date::parse_stored(r[5].as<std::string>());
  t.task.status = *kTaskStatuses.parse(r[6].as<std::string>());
  return t;
}

}  // namespace

Expected<Episode> PgRepository::episode(const std::string& id) {
  return reading<Episode>([&](pqxx::transaction_base& tx) -> Expected<Episode> {
    auto h = fetch(tx, id, false);
    if (!h) return bad_input("no episode '" + clip(id) + "'");
    return std::move(h->w.ep);
  });
}

Expected<int64_t> PgRepository::log_length(const std::string& id) {
  return reading<int64_t>([&](pqxx::transaction_base& tx) -> Expected<int64_t> {
    auto r = tx.exec_params("SELECT last_seq FROM zorgpad.episodes WHERE practice = $1 AND id = $2", practice_, id);
    if (r.empty()) return bad_input("no episode '" + clip(id) + "'");
    return r[0][0].as<int64_t>();
  });
}

Expected<std::vector<LogEntry>> PgRepository::log(const std::string& episode) {
  return reading<std::vector<LogEntry>>([&](pqxx::transaction_base& tx) -> Expected<std::vector<LogEntry>> {
    if (tx.exec_prepared("exists", practice_, episode).empty()) return bad_input("no episode '" + clip(episode) + "'");
    auto r = tx.exec_params(
        "SELECT seq, type, at, body, COALESCE(event_id, ''), recorded_at FROM zorgpad.events WHERE practice = $1 AND episode = $2 "
        "ORDER BY seq",
        practice_, episode);
    std::vector<LogEntry> out;
    for (const auto& row : r)
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), *Date::parse_stored(row[2].as<std::string>()),
                     row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<int64_t>()});
    return out;
  });
}

// Pages of kTaskChunk rows by key (due, id), all in one snapshot: libpq holds
// a whole result in memory, so one query over every open task would.
Status PgRepository::for_each_task(const TaskFilter& f, const std::function<void(const TaskRow&)>& fn) {
  constexpr int kTaskChunk = 20000;
  auto r = reading<bool>([&](pqxx::transaction_base& tx) -> Expected<bool> {
    std::optional<std::pair<std::string, int64_t>> after;
    for (;;) {
      Where w;
      w.sql = "SELECT id, episode, seq, kind, checkpoint, due, status FROM zorgpad.tasks WHERE practice = $1";
      if (f.due_before) w.sql += " AND due < " + w.add(f.due_before->iso()) + "::date";
      if (f.kind) w.sql += " AND kind = " + w.add(std::string(kTaskKinds.name(*f.kind)));
      if (f.status) w.sql += " AND status = " + w.add(std::string(kTaskStatuses.name(*f.status)));
      if (f.episode) w.sql += " AND episode = " + w.add(*f.episode);
      if (f.id) w.sql += " AND id = " + w.add(std::to_string(*f.id)) + "::bigint";
      if (after) {
        const std::string due = w.add(after->first), id = w.add(std::to_string(after->second));
        w.sql += " AND (due, id) > (" + due + "::date, " + id + "::bigint)";
      }
      w.sql += " ORDER BY due, id LIMIT " + std::to_string(kTaskChunk);
      auto rows = run(tx, w.sql, practice_, w.params);
      for (const auto& row : rows) {
        TaskRow t = task_row(row);
        after = std::make_pair(t.task.due.iso(), t.id);
        fn(t);
      }
      if (rows.size() < size_t(kTaskChunk)) return true;
    }
  });
  if (!r) return r.error();
  return Status::Ok();
}

Expected<std::vector<TaskRow>> PgRepository::tasks(const TaskFilter& f) {
  std::vector<TaskRow> out;
  if (Status s = for_each_task(f, [&](const TaskRow& r) { out.push_back(r); }); !s) return s.error();
  return out;
}

Expected<int64_t> PgRepository::episode_count() {
  return reading<int64_t>([&](pqxx::transaction_base& tx) -> Expected<int64_t> {
    return tx.exec_params("SELECT COALESCE(sum(n), 0)::bigint FROM zorgpad.episode_counts WHERE practice = $1", practice_)[0][0]
        .as<int64_t>();
  });
}

Expected<EpisodePage> PgRepository::list_episodes(const EpisodeFilter& f) {
  if (f.limit < 1 || f.limit > 1000 || f.offset < 0) return bad_input("page: limit must be 1-1000 and offset >= 0");
  return reading<EpisodePage>([&](pqxx::transaction_base& tx) -> Expected<EpisodePage> {
    EpisodePage page;
    Where w = episode_where(f);
    page.total = run(tx, counted_by_state(f) ? "SELECT COALESCE(sum(n), 0)::bigint FROM zorgpad.episode_counts" + w.sql
                                             : "SELECT count(*) FROM zorgpad.episodes" + w.sql,
                     practice_, w.params)[0][0]
                     .as<int64_t>();
    if (page.total <= f.offset) return page;
    std::string sql = std::string("SELECT ") + kSummaryColumns + " FROM zorgpad.episodes" + w.sql;
    if (f.after) sql += " AND id > " + w.add(*f.after);
    sql += " ORDER BY id LIMIT " + w.add(std::to_string(f.limit)) + "::bigint OFFSET " + w.add(std::to_string(f.offset)) +
           "::bigint";
    for (const auto& row : run(tx, sql, practice_, w.params)) page.episodes.push_back(summary(row));
    return page;
  });
}

Expected<InactivePage> PgRepository::list_inactive(const InactiveQuery& iq) {
  const EpisodeFilter& f = iq.filter;
  if (f.limit < 1 || f.limit > 1000 || f.offset < 0) return bad_input("page: limit must be 1-1000 and offset >= 0");
  InactivePage page;
  if (f.state && is_terminal(*f.state)) return page;
  return reading<InactivePage>([&](pqxx::transaction_base& tx) -> Expected<InactivePage> {
    Where w = episode_where(f);
    w.sql += " AND NOT terminal AND last_event <= " + w.add(iq.last_event_by.iso()) + "::date";
    page.total = run(tx, "SELECT count(*) FROM zorgpad.episodes" + w.sql, practice_, w.params)[0][0].as<int64_t>();
    if (page.total <= f.offset) return page;
    std::string sql = std::string("SELECT ") + kSummaryColumns + ", last_event FROM zorgpad.episodes" + w.sql;
    if (iq.after) {
      std::string at = w.add(iq.after->first.iso()), id = w.add(iq.after->second);
      sql += " AND (last_event > " + at + "::date OR last_event = " + at + "::date AND id > " + id + ")";
    }
    sql += " ORDER BY last_event, id LIMIT " + w.add(std::to_string(f.limit)) + "::bigint OFFSET " +
           w.add(std::to_string(f.offset)) + "::bigint";
    for (const auto& row : run(tx, sql, practice_, w.params)) {
      auto last = Date::parse_stored(row[8].as<std::string>());
      if (!last) return store_failure("episode " + row[0].as<std::string>() + ": unreadable last_event column");
      page.episodes.push_back({summary(row), *last});
    }
    return page;
  });
}

Expected<std::vector<std::pair<std::string, int64_t>>> PgRepository::count_episodes(CountBy by, const EpisodeFilter& f) {
  using Out = std::vector<std::pair<std::string, int64_t>>;
  return reading<Out>([&](pqxx::transaction_base& tx) -> Expected<Out> {
    Where w = episode_where(f);
    std::string sql;
    if (counted_by_state(f)) {
      const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase" : "CASE profile WHEN 0 THEN 'none' ELSE profile::text END";
      sql = std::string("SELECT ") + col + ", sum(n)::bigint FROM zorgpad.episode_counts" + w.sql +
            " GROUP BY 1 HAVING sum(n) > 0 ORDER BY 1";
    } else {
      const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase" : "COALESCE(profile::text, 'none')";
      sql = std::string("SELECT ") + col + ", count(*) FROM zorgpad.episodes" + w.sql + " GROUP BY 1 ORDER BY 1";
    }
    Out out;
    for (const auto& row : run(tx, sql, practice_, w.params)) out.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
    return out;
  });
}

Expected<int64_t> PgRepository::for_each_episode(const std::function<void(const Episode&)>& fn) {
  return reading<int64_t>([&](pqxx::transaction_base& tx) -> Expected<int64_t> {
    int64_t n = 0;
    std::string after;
    for (;;) {  // pages of 1000 in id order, all from the one snapshot
      auto r = tx.exec_params(
          "SELECT id, body FROM zorgpad.episodes WHERE practice = $1 AND id > $2 ORDER BY id LIMIT 1000",
          practice_, after);
      if (r.empty()) return n;
      for (const auto& row : r) {
        auto ep = episode_from_state_text(row[1].as<std::string>());
        if (!ep) return store_failure("episode " + row[0].as<std::string>() + ": " + ep.message());
        fn(*ep);
        ++n;
      }
      after = r[r.size() - 1][0].as<std::string>();
    }
  });
}

Expected<std::vector<std::string>> PgRepository::practices() {
  return guarded<std::vector<std::string>>([&]() -> Expected<std::vector<std::string>> {
    pqxx::read_transaction tx(conn());
    std::vector<std::string> out;
    for (const auto& row : tx.exec("SELECT code FROM zorgpad.practices ORDER BY code")) out.push_back(row[0].as<std::string>());
    return out;
  });
}

// ---- rebuild ---------------------------------------------------------------------------

// In one write transaction: every episode of the practice is replayed from
// its log (events in order, then the tick recorded after its last entry) and
// compared with its row, body, task rows and timer row; what differs is
// reported by episode id and rewritten. The counts and the timer table are
// then derived again from the episode rows.
Expected<RebuildReport> PgRepository::rebuild(const LogReplayFactory& make_replay) {
  if (practice_.empty()) return bad_input("no practice: give --practice CODE (or ZORGPAD_PRACTICE)");
  RebuildReport rep;
  Status s = write([&]() -> Status {
    rep = {};
    pqxx::transaction_base& tx = *tx_;
    // Lock the practice's episodes against commands and workers for the duration.
    tx.exec_params("SELECT 1 FROM zorgpad.episodes WHERE practice = $1 FOR UPDATE", practice_);
    std::string after;
    std::vector<std::pair<Episode, int64_t>> repairs;
    for (;;) {
      auto rows = tx.exec_params(
          "SELECT id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body, last_event, terminal, "
          "(SELECT due FROM zorgpad.timers t WHERE t.practice = e.practice AND t.episode = e.id) "
          "FROM zorgpad.episodes e WHERE practice = $1 AND id > $2 ORDER BY id LIMIT 500",
          practice_, after);
      if (rows.empty()) break;
      const std::string first = rows[0][0].as<std::string>(), last = rows[rows.size() - 1][0].as<std::string>();
      auto events = tx.exec_params(
          "SELECT episode, seq, type, body FROM zorgpad.events WHERE practice = $1 AND episode >= $2 "
          "AND episode <= $3 ORDER BY episode, seq",
          practice_, first, last);
      auto task_rows = tx.exec_params(
          "SELECT episode, seq, kind, checkpoint, due, status FROM zorgpad.tasks WHERE practice = $1 AND episode >= $2 "
          "AND episode <= $3 ORDER BY episode, seq",
          practice_, first, last);
      std::map<std::string, std::pair<int64_t, Date>> ticks;
      for (const auto& t : tx.exec_params("SELECT episode, after_seq, at FROM zorgpad.ticks WHERE practice = $1 AND episode "
                                          ">= $2 AND episode <= $3",
                                          practice_, first, last))
        ticks[t[0].as<std::string>()] = {t[1].as<int64_t>(), *Date::parse_stored(t[2].as<std::string>())};
      size_t ei = 0, ti = 0;
      for (const auto& row : rows) {
        const std::string id = row[0].as<std::string>();
        auto replay = make_replay(id);
        int64_t last_seq = 0;
        bool any = false;
        for (; ei < events.size() && events[ei][0].as<std::string>() == id; ++ei) {
          any = true;
          last_seq = events[ei][1].as<int64_t>();
          rep.events++;
          if (Status st = replay->entry(events[ei][2].as<std::string>(), events[ei][3].as<std::string>()); !st)
            return store_failure("episode " + id + " event " + std::to_string(last_seq - 1) + ": " + st.message());
        }
        rep.episodes++;
        if (!any) {
          rep.differences.push_back(id + ": projection without events");
          continue;
        }
        std::optional<Date> ticked_to;
        if (auto t = ticks.find(id); t != ticks.end() && t->second.first == last_seq) ticked_to = t->second.second;
        auto ep = replay->finish(ticked_to);
        if (!ep) return store_failure("episode " + id + ": " + ep.message());
        if (ep->patient.empty()) ep->patient = row[1].as<std::string>();
        std::vector<std::string> diffs;
        auto expect = [&](int i, const std::string& want, const char* name) {
          if ((row[i].is_null() ? std::string() : row[i].as<std::string>()) != want) diffs.push_back(name);
        };
        auto due = ep->next_due();
        expect(1, ep->patient, "patient");
        expect(2, std::string(kStates.name(ep->state)), "state");
        expect(3, std::string(kPhases.name(ep->phase)), "phase");
        expect(4, ep->profile ? std::to_string(*ep->profile) : "", "profile");
        expect(5, ep->gp, "gp");
        expect(6, ep->therapist, "therapist");
        expect(7, std::to_string(last_seq), "last_seq");
        expect(8, due ? due->iso() : "", "next_due");
        expect(9, episode_state_text(*ep), "body");
        expect(10, ep->last_event.iso(), "last_event");
        expect(11, is_terminal(ep->state) ? "t" : "f", "terminal");
        expect(12, due ? due->iso() : "", "timer");
        size_t n = 0;
        bool tasks_differ = false;
        for (; ti < task_rows.size() && task_rows[ti][0].as<std::string>() < id; ++ti) {
        }
        for (; ti < task_rows.size() && task_rows[ti][0].as<std::string>() == id; ++ti, ++n) {
          const auto& tr = task_rows[ti];
          if (n >= ep->tasks.size()) {
            tasks_differ = true;
            continue;
          }
          const Task& t = ep->tasks[n];
          if (tr[1].as<int>() != t.seq || tr[2].as<std::string>() != kTaskKinds.name(t.kind) ||
              (tr[3].is_null() ? std::string() : tr[3].as<std::string>()) != (t.checkpoint ? kCheckpoints.name(*t.checkpoint) : "") ||
              tr[4].as<std::string>() != t.due.iso() || tr[5].as<std::string>() != kTaskStatuses.name(t.status))
            tasks_differ = true;
        }
        if (tasks_differ || n != ep->tasks.size()) diffs.push_back("tasks");
        if (!diffs.empty()) {
          std::string what;
          for (const auto& d : diffs) what += (what.empty() ? "" : ", ") + d;
          rep.differences.push_back(id + ": " + what);
          repairs.push_back({std::move(*ep), last_seq});
        }
      }
      after = last;
    }
    for (auto& [episode, seq] : repairs) {
      tx.exec_params("DELETE FROM zorgpad.tasks WHERE practice = $1 AND episode = $2 AND seq > $3", practice_, episode.id,
                     int64_t(episode.tasks.size()));
      Held h;
      const std::string id = episode.id;
      h.w.ep = std::move(episode);
      h.w.last_seq = seq;
      h.repair = true;
      hold(id, std::move(h)).tasks_noted = 0;
    }
    write_back(tx);
    // The counts and the timer table follow from the episode rows.
    auto counts_differ = tx.exec_params(
        "SELECT count(*) FROM ((SELECT state, phase, COALESCE(profile, 0), count(*) FROM zorgpad.episodes WHERE practice = $1 "
        "GROUP BY 1, 2, 3) EXCEPT (SELECT state, phase, profile, n FROM zorgpad.episode_counts WHERE practice = $1 AND n <> 0)) d",
        practice_)[0][0].as<int64_t>() +
                         tx.exec_params(
                             "SELECT count(*) FROM ((SELECT state, phase, profile, n FROM zorgpad.episode_counts WHERE practice = $1 AND "
                             "n <> 0) EXCEPT (SELECT state, phase, COALESCE(profile, 0), count(*) FROM zorgpad.episodes WHERE "
                             "practice = $1 GROUP BY 1, 2, 3)) d",
                             practice_)[0][0].as<int64_t>();
    if (counts_differ > 0) {
      rep.differences.push_back("episode_counts: differ from the episode rows");
      tx.exec_params("DELETE FROM zorgpad.episode_counts WHERE practice = $1", practice_);
      tx.exec_params(
          "INSERT INTO zorgpad.episode_counts(practice, state, phase, profile, n) SELECT practice, state, phase, COALESCE(profile, 0), "
          "count(*) FROM zorgpad.episodes WHERE practice = $1 GROUP BY 1, 2, 3, 4",
          practice_);
    }
    auto stray = tx.exec_params(
        "DELETE FROM zorgpad.timers t WHERE practice = $1 AND NOT EXISTS (SELECT 1 FROM zorgpad.episodes e WHERE "
        "e.practice = t.practice AND e.id = t.episode AND e.next_due IS NOT NULL)",
        practice_);
    if (stray.affected_rows() > 0) rep.differences.push_back("timers: " + std::to_string(stray.affected_rows()) + " without a due episode");
    return Status::Ok();
  });
  if (!s) return s.error();
  return rep;
}

}  // namespace zorgpad::pg
