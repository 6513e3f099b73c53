// PostgreSQL repository: connecting, the schema check, transactions and the
// write side (the unit of work of states/repository.hpp).
#include "persistence/pg_repository.hpp"

#include <spdlog/sinks/null_sink.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "persistence/pg_schema.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::pg {

using nlohmann::json;
using CountKey = std::tuple<std::string, std::string, int>;

namespace {

CountKey count_key(const Episode& ep) {
  return {std::string(kStates.name(ep.state)), std::string(kPhases.name(ep.phase)), ep.profile.value_or(0)};
}

const char* kEpisodeColumns = "body, last_seq, state, phase, profile, next_due";

// The write-back of a transaction: $1 practice, then one JSON array per
// table (episodes, timers to set, timers to drop, task rows, log entries,
// ticks, count changes) and $9 the clock's time for the ticks.
constexpr const char* kWriteBack = R"sql(
WITH ep AS (
  INSERT INTO zorgpad.episodes(practice, id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body, last_event, terminal)
  SELECT $1, x.id, x.patient, x.state, x.phase, x.profile, x.gp, x.therapist, x.last_seq, x.next_due, x.body, x.last_event, x.terminal
  FROM json_to_recordset($2::json) AS x(id text, patient text, state text, phase text, profile integer, gp text, therapist text,
                                        last_seq bigint, next_due date, body text, last_event date, terminal boolean)
  ON CONFLICT (practice, id) DO UPDATE SET patient = excluded.patient, state = excluded.state, phase = excluded.phase,
    profile = excluded.profile, gp = excluded.gp, therapist = excluded.therapist, last_seq = excluded.last_seq,
    next_due = excluded.next_due, body = excluded.body, last_event = excluded.last_event, terminal = excluded.terminal
), timer_set AS (
  INSERT INTO zorgpad.timers(practice, episode, due)
  SELECT $1, x.episode, x.due FROM json_to_recordset($3::json) AS x(episode text, due date)
  ON CONFLICT (practice, episode) DO UPDATE SET due = excluded.due
), timer_drop AS (
  DELETE FROM zorgpad.timers WHERE practice = $1 AND episode = ANY(ARRAY(SELECT json_array_elements_text($4::json)))
), task AS (
  INSERT INTO zorgpad.tasks(practice, episode, seq, kind, checkpoint, due, status)
  SELECT $1, x.episode, x.seq, x.kind, x.checkpoint, x.due, x.status
  FROM json_to_recordset($5::json) AS x(n bigint, episode text, seq integer, kind text, checkpoint text, due date, status text)
  ORDER BY x.n
  ON CONFLICT (practice, episode, seq) DO UPDATE SET kind = excluded.kind, checkpoint = excluded.checkpoint, due = excluded.due,
    status = excluded.status
), event AS (
  INSERT INTO zorgpad.events(practice, episode, seq, type, at, body, recorded_at, event_id)
  SELECT $1, x.episode, x.seq, x.type, x.at, x.body, x.recorded_at, x.event_id
  FROM json_to_recordset($6::json) AS x(episode text, seq bigint, type text, at date, body text, event_id text, recorded_at bigint)
), tick AS (
  INSERT INTO zorgpad.ticks(practice, episode, after_seq, at, recorded_at)
  SELECT $1, x.episode, x.after_seq, x.at, $9 FROM json_to_recordset($7::json) AS x(episode text, after_seq bigint, at date)
  ON CONFLICT (practice, episode) DO UPDATE SET after_seq = excluded.after_seq, at = excluded.at, recorded_at = excluded.recorded_at
), count_change AS (
  INSERT INTO zorgpad.episode_counts(practice, state, phase, profile, n)
  SELECT $1, x.state, x.phase, x.profile, x.n FROM json_to_recordset($8::json) AS x(state text, phase text, profile integer, n bigint)
  ON CONFLICT (practice, state, phase, profile) DO UPDATE SET n = zorgpad.episode_counts.n + excluded.n
)
SELECT 1
)sql";

}  // namespace

std::string first_line_of(std::string s) {
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  // libpq quotes a malformed URI whole, password included: never print one.
  static const std::regex password("(://[^:/@\"\\s]*:)[^@\"\\s]*@");
  s = std::regex_replace(s, password, "$1***@");
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

bool valid_practice_code(const std::string& code) {
  static const std::regex re("[A-Za-z0-9_-]{1,32}");
  return std::regex_match(code, re);
}

PgRepository::PgRepository(const std::string& url, std::string practice, const Clock& clock, StoreOptions opt)
    : url_(url),
      practice_(std::move(practice)),
      clock_(clock),
      opt_(opt),
      log_(opt.logger ? opt.logger : std::make_shared<spdlog::logger>("zorgpad", std::make_shared<spdlog::sinks::null_sink_mt>())) {}

pqxx::connection& PgRepository::conn() {
  if (broken_ && !tx_) {
    conn_.reset();
    broken_ = false;
  }
  if (!conn_) {
    // Never hang on an unreachable host: libpq waits this long per host
    // unless the URL or the environment says otherwise.
    ::setenv("PGCONNECT_TIMEOUT", "10", 0);
    conn_ = std::make_unique<pqxx::connection>(url_);
    pqxx::nontransaction setup(*conn_);
    // Session settings that carry no practice: a transaction left open by a
    // stuck process is ended by the server, dates read as ISO text.
    setup.exec("SET idle_in_transaction_session_timeout = '60s'; SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'");
    conn_->prepare("load", std::string("SELECT ") + kEpisodeColumns + " FROM zorgpad.episodes WHERE practice = $1 AND id = $2");
    conn_->prepare("load_lock", std::string("SELECT ") + kEpisodeColumns +
                                    " FROM zorgpad.episodes WHERE practice = $1 AND id = $2 FOR UPDATE");
    conn_->prepare("exists", "SELECT 1 FROM zorgpad.episodes WHERE practice = $1 AND id = $2");
    conn_->prepare("event_id", "SELECT episode, seq FROM zorgpad.events WHERE practice = $1 AND event_id = $2");
    conn_->prepare("practice", "SELECT set_config('zorgpad.practice', $1, true)");
    conn_->prepare("write_back", kWriteBack);
  }
  return *conn_;
}

Status PgRepository::init() {
  try {
    pqxx::read_transaction tx(conn());
    auto has = tx.exec("SELECT to_regclass('zorgpad.meta') IS NOT NULL, has_schema_privilege('zorgpad', 'USAGE')");
    if (!has[0][0].as<bool>())
      return Status::Fail("the database has no zorgpad schema: run `zorgpad init --app-role ROLE` as its owner first", ErrorKind::store);
    if (!has[0][1].as<bool>()) return Status::Fail("this role may not use the zorgpad schema: grant it the application role", ErrorKind::store);
    auto v = tx.exec("SELECT value FROM zorgpad.meta WHERE key = 'schema_version'");
    int version = v.empty() ? 0 : std::atoi(v[0][0].c_str());
    if (version > schema_version())
      return Status::Fail("the database has schema version " + std::to_string(version) + ", newer than this zorgpad (" +
                              std::to_string(schema_version()) + ")",
                          ErrorKind::store);
    if (version < schema_version())
      return Status::Fail("the database has schema version " + std::to_string(version) + ", older than this zorgpad (" +
                              std::to_string(schema_version()) + "): run `zorgpad init` as its owner to migrate it",
                          ErrorKind::store);
    auto rights = tx.exec(
        "SELECT has_table_privilege('zorgpad.events', 'INSERT') AND has_table_privilege('zorgpad.episodes', 'UPDATE') "
        "AND has_table_privilege('zorgpad.timers', 'DELETE') AND has_sequence_privilege('zorgpad.task_ids', 'USAGE')");
    if (!rights[0][0].as<bool>()) return Status::Fail("this role may not write to the zorgpad tables: grant it the application role", ErrorKind::store);
    return Status::Ok();
  } catch (const pqxx::broken_connection& e) {
    return Status::Fail("cannot connect to PostgreSQL: " + first_line_of(e.what()), ErrorKind::store);
  } catch (const std::exception& e) {
    return Status::Fail("cannot use the PostgreSQL database: " + first_line_of(e.what()), ErrorKind::store);
  }
}

Status PgRepository::use_practice(const std::string& code) {
  if (!valid_practice_code(code)) return bad_input("practice '" + clip(code) + "': letters, digits, '-' and '_' only, 1 to 32");
  if (code != practice_) practice_known_ = false;
  practice_ = code;
  return Status::Ok();
}

void PgRepository::begin_practice(pqxx::transaction_base& tx) {
  tx.exec_prepared("practice", practice_);
}

// ---- transactions ------------------------------------------------------------------

Held& PgRepository::hold(const std::string& id, Held h) {
  h.tasks_noted = h.w.ep.tasks.size();
  auto [it, inserted] = held_.insert_or_assign(id, std::move(h));
  if (inserted) order_.push_back(id);
  return it->second;
}

void PgRepository::forget() {
  held_.clear();
  order_.clear();
  new_tasks_.clear();
  appended_.clear();
  appended_ids_.clear();
  claimed_.clear();
  ticked_.clear();
  known_events_.clear();
  absent_events_.clear();
  absent_episodes_.clear();
}

Status PgRepository::write(const std::function<Status()>& body) {
  if (practice_.empty()) return bad_input("no practice: give --practice CODE (or ZORGPAD_PRACTICE)");
  // A transaction that lost a race (a concurrent one inserted the same event
  // id or episode first, or a deadlock) runs again: it then finds what the
  // other committed, as if the two had run one after the other.
  for (int attempt = 1;; ++attempt) {
    bool lost_race = false;
    Status s = write_once(body, attempt < 4 ? &lost_race : nullptr);
    if (!lost_race) return s;
    log_->debug("transaction lost a race; running it again (attempt {})", attempt + 1);
  }
}

Status PgRepository::write_once(const std::function<Status()>& body, bool* lost_race) {
  forget();
  return guarded<void>([&]() -> Status {
    try {
      return write_tx(body);
    } catch (const pqxx::unique_violation&) {
      if (!lost_race) throw;
      *lost_race = true;
    } catch (const pqxx::deadlock_detected&) {
      if (!lost_race) throw;
      *lost_race = true;
    } catch (const LostRace&) {
      if (!lost_race) throw;
      *lost_race = true;
    }
    forget();
    return Status::Ok();
  });
}

Status PgRepository::write_tx(const std::function<Status()>& body) {
  {
    pqxx::work tx(conn());
    tx_ = &tx;
    struct Reset {
      pqxx::transaction_base*& p;
      ~Reset() { p = nullptr; }
    } reset{tx_};
    begin_practice(tx);
    if (!practice_known_) {
      tx.exec_params("INSERT INTO zorgpad.practices(code) VALUES ($1) ON CONFLICT DO NOTHING", practice_);
    }
    Status s = body();
    if (!s) {
      forget();
      return s;  // tx rolls back as it goes out of scope (quietly, also on a lost connection)
    }
    write_back(tx);
    tx.commit();
    practice_known_ = true;
    return s;
  }
}

Status PgRepository::read(const std::function<Status()>& body) {
  if (practice_.empty()) return bad_input("no practice: give --practice CODE (or ZORGPAD_PRACTICE)");
  return guarded<void>([&]() -> Status {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn());
    tx_ = &tx;
    struct Reset {
      pqxx::transaction_base*& p;
      ~Reset() { p = nullptr; }
    } reset{tx_};
    begin_practice(tx);
    Status s = body();
    tx.commit();
    return s;
  });
}

// ---- the unit of work --------------------------------------------------------------

Held PgRepository::held_from(const pqxx::row& r, int c) {
  Held h;
  auto ep = episode_from_state_text(r[c].as<std::string>());
  if (!ep) throw std::runtime_error("episode: " + ep.message());
  h.w.last_seq = r[c + 1].as<int64_t>();
  h.counted = CountKey{r[c + 2].as<std::string>(), r[c + 3].as<std::string>(), r[c + 4].is_null() ? 0 : r[c + 4].as<int>()};
  if (!r[c + 5].is_null()) h.stored_next_due = Date::parse_stored(r[c + 5].as<std::string>());
  h.tasks_before = ep->tasks;
  h.w.ep = std::move(*ep);
  return h;
}

std::optional<Held> PgRepository::fetch(pqxx::transaction_base& tx, const std::string& id, bool lock) {
  auto r = tx.exec_prepared(lock ? "load_lock" : "load", practice_, id);
  if (r.empty()) return std::nullopt;
  return held_from(r[0], 0);
}

// Lists of ids go in as one JSON array and are matched with
// `= ANY(ARRAY(SELECT json_array_elements_text(…)))`: an index condition
// whatever the statistics say. (`IN (SELECT …)` let the planner, which knows
// nothing of a practice new since the last ANALYZE, scan the practice's rows
// and test each against the whole list: seconds per batch.)
Status PgRepository::prefetch(const std::vector<std::string>& event_ids, const std::vector<std::string>& episodes) {
  return guarded<void>([&]() -> Status {
    // Episodes first, then event ids: each statement sees what was committed
    // when it began, so an event id found absent here belongs to no episode
    // found absent above (a concurrent import of the same lines then loses
    // the race at its write-back and runs again, finding them all).
    std::vector<std::string> wanted;
    for (const auto& id : episodes)
      if (!held_.count(id)) wanted.push_back(id);
    if (!wanted.empty()) {
      // Locked in id order: two imports over the same episodes wait, never deadlock here.
      std::sort(wanted.begin(), wanted.end());
      wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
      json ids = wanted;
      for (const auto& row : tx_->exec_params(std::string("SELECT id, ") + kEpisodeColumns +
                                                  " FROM zorgpad.episodes WHERE practice = $1 AND id = ANY(ARRAY(SELECT json_array_elements_text($2::json))) "
                                                  "ORDER BY id FOR UPDATE",
                                              practice_, ids.dump())) {
        std::string id = row[0].as<std::string>();
        if (!held_.count(id)) hold(id, held_from(row, 1));
      }
      for (const auto& id : wanted)
        if (!held_.count(id)) absent_episodes_.insert(id);
    }
    if (!event_ids.empty()) {
      json ids = event_ids;
      for (const auto& row : tx_->exec_params("SELECT event_id, episode, seq FROM zorgpad.events WHERE practice = $1 AND event_id IS NOT NULL "
                                              "AND event_id = ANY(ARRAY(SELECT json_array_elements_text($2::json)))",
                                              practice_, ids.dump()))
        known_events_[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<int64_t>()};
      for (const auto& id : event_ids)
        if (!known_events_.count(id)) absent_events_.insert(id);
    }
    return Status::Ok();
  });
}

Expected<Working*> PgRepository::load(const std::string& id) {
  return guarded<Working*>([&]() -> Expected<Working*> {
    if (auto it = held_.find(id); it != held_.end()) return &it->second.w;
    if (absent_episodes_.count(id)) return static_cast<Working*>(nullptr);
    auto h = fetch(*tx_, id, true);
    if (!h) return static_cast<Working*>(nullptr);
    return &hold(id, std::move(*h)).w;
  });
}

Expected<Working*> PgRepository::create(Episode ep) {
  std::string id = ep.id;
  if (held_.count(id)) return store_failure("episode " + id + " is created twice");
  Held h;
  h.w.ep = std::move(ep);
  h.is_new = true;
  Held& held = hold(id, std::move(h));
  held.tasks_noted = 0;
  return &held.w;
}

Expected<bool> PgRepository::exists(const std::string& id) {
  return guarded<bool>([&]() -> Expected<bool> {
    if (held_.count(id)) return true;
    if (absent_episodes_.count(id)) return false;
    return !tx_->exec_prepared("exists", practice_, id).empty();
  });
}

Expected<std::string> PgRepository::next_episode_id() {
  return guarded<std::string>([&]() -> Expected<std::string> {
    // Two commands generating an id at once in one practice take turns.
    tx_->exec_params("SELECT pg_advisory_xact_lock(hashtext('zorgpad.ep.' || $1))", practice_);
    int64_t n = tx_->exec_params("SELECT count(*) + 1 FROM zorgpad.episodes WHERE practice = $1", practice_)[0][0].as<int64_t>();
    for (;; ++n) {
      std::string id = "ep-" + std::to_string(n);
      if (!held_.count(id) && tx_->exec_prepared("exists", practice_, id).empty()) return id;
    }
  });
}

Expected<std::optional<Recorded>> PgRepository::find_event(const std::string& event_id) {
  using Out = std::optional<Recorded>;
  if (event_id.empty()) return Out{};
  if (auto it = appended_ids_.find(event_id); it != appended_ids_.end()) return Out{Recorded{it->second.first, it->second.second, true}};
  if (auto it = known_events_.find(event_id); it != known_events_.end()) {
    // The prefetch read the episodes, then the event ids: an event of an
    // episode it found absent was committed in between.
    if (absent_episodes_.count(it->second.first)) throw LostRace("episode " + it->second.first + " appeared during the prefetch");
    return Out{Recorded{it->second.first, it->second.second, true}};
  }
  if (absent_events_.count(event_id)) return Out{};
  return guarded<Out>([&]() -> Expected<Out> {
    auto r = tx_->exec_prepared("event_id", practice_, event_id);
    if (r.empty()) return Out{};
    return Out{Recorded{r[0][0].as<std::string>(), r[0][1].as<int64_t>(), true}};
  });
}

Status PgRepository::append(const std::string& episode, const LogEntry& e) {
  if (auto it = held_.find(episode); it != held_.end()) {
    Held& h = it->second;
    for (size_t i = h.tasks_noted; i < h.w.ep.tasks.size(); ++i) new_tasks_.emplace_back(episode, int(i + 1));
    h.tasks_noted = h.w.ep.tasks.size();
  }
  if (!e.event_id.empty()) appended_ids_[e.event_id] = {episode, e.seq};
  appended_.emplace_back(episode, e);
  return Status::Ok();
}

Status PgRepository::flush() {
  return guarded<void>([&]() -> Status {
    write_back(*tx_);
    return Status::Ok();
  });
}

Expected<std::vector<Working*>> PgRepository::load_due(Date now, int limit) {
  using Out = std::vector<Working*>;
  return guarded<Out>([&]() -> Expected<Out> {
    // The claim: episodes whose timer is due, locked; an episode another
    // transaction holds (a worker, a command) is skipped, not waited for. The
    // engine then fires what is due in the body read under the lock, so a
    // timer another worker fired meanwhile does not fire again.
    auto r = tx_->exec_params(
        std::string("SELECT e.id, e.") + "body, e.last_seq, e.state, e.phase, e.profile, e.next_due "
        "FROM zorgpad.timers t JOIN zorgpad.episodes e ON e.practice = t.practice AND e.id = t.episode "
        "WHERE t.practice = $1 AND t.due <= $2::date ORDER BY t.due LIMIT $3 FOR UPDATE OF e SKIP LOCKED",
        practice_, now.iso(), limit);
    Out out;
    for (const auto& row : r) {
      std::string id = row[0].as<std::string>();
      if (held_.count(id)) continue;
      Held h = held_from(row, 1);
      if (!h.w.ep.next_due() || *h.w.ep.next_due() > now) continue;  // fired meanwhile: the timer row was stale
      h.claimed = true;
      out.push_back(&hold(id, std::move(h)).w);
    }
    return out;
  });
}

Status PgRepository::log_tick(Date now) {
  return guarded<void>([&]() -> Status {
    write_back(*tx_);
    for (const auto& [id, seq] : claimed_) ticked_.emplace_back(id, seq, now);
    claimed_.clear();
    write_back(*tx_);
    return Status::Ok();
  });
}

Expected<int64_t> PgRepository::due_count(Date now) {
  return guarded<int64_t>([&]() -> Expected<int64_t> {
    pqxx::read_transaction tx(conn());
    tx.exec_prepared("practice", practice_);
    return tx.exec_params("SELECT count(*) FROM zorgpad.timers WHERE practice = $1 AND due <= $2::date", practice_, now.iso())[0][0]
        .as<int64_t>();
  });
}

Status PgRepository::note_ticked(const std::string& episode, int64_t after_seq, Date at) {
  ticked_.emplace_back(episode, after_seq, at);
  return Status::Ok();
}

Expected<std::optional<std::pair<std::string, int>>> PgRepository::task_ref(int64_t task_id) {
  using Out = std::optional<std::pair<std::string, int>>;
  return guarded<Out>([&]() -> Expected<Out> {
    auto r = tx_->exec_params("SELECT episode, seq FROM zorgpad.tasks WHERE practice = $1 AND id = $2", practice_, task_id);
    if (r.empty()) return Out{};
    return Out{std::pair{r[0][0].as<std::string>(), r[0][1].as<int>()}};
  });
}

// Writes every held episode, its timer row, its changed task rows, the
// appended log entries and the ticks: one statement per table.
void PgRepository::write_back(pqxx::transaction_base& tx) {
  const int64_t now_s = clock_.unix_seconds();
  json episodes = json::array(), timers_set = json::array(), timers_drop = json::array(), task_rows = json::array();
  std::map<CountKey, int64_t> delta;
  for (const std::string& id : order_) {
    Held& h = held_.at(id);
    const Episode& ep = h.w.ep;
    const std::string body = episode_state_text(ep);
    if (auto back = episode_from_state_text(body); !back || *back != ep)
      throw std::runtime_error("episode " + id + ": the new state does not read back (" +
                               (back ? std::string("it reads back different") : back.message()) + "); nothing was recorded");
    auto due = ep.next_due();
    episodes.push_back({{"id", id},
                        {"patient", ep.patient},
                        {"state", kStates.name(ep.state)},
                        {"phase", kPhases.name(ep.phase)},
                        {"profile", ep.profile ? json(*ep.profile) : json()},
                        {"gp", ep.gp},
                        {"therapist", ep.therapist},
                        {"last_seq", h.w.last_seq},
                        {"next_due", due ? json(due->iso()) : json()},
                        {"body", body},
                        {"last_event", ep.last_event.iso()},
                        {"terminal", is_terminal(ep.state)}});
    if (h.is_new || h.repair || due != h.stored_next_due) {
      if (due) timers_set.push_back({{"episode", id}, {"due", due->iso()}});
      else if (!h.is_new) timers_drop.push_back(id);
    }
    if (!h.repair) {
      CountKey now = count_key(ep);
      if (!h.counted || *h.counted != now) {
        if (h.counted) delta[*h.counted]--;
        delta[now]++;
      }
    }
    if (h.claimed) claimed_.emplace_back(id, h.w.last_seq);
  }
  auto task_json = [&](const std::string& id, const Task& t) {
    task_rows.push_back({{"n", task_rows.size()},
                         {"episode", id},
                         {"seq", t.seq},
                         {"kind", kTaskKinds.name(t.kind)},
                         {"checkpoint", t.checkpoint ? json(kCheckpoints.name(*t.checkpoint)) : json()},
                         {"due", t.due.iso()},
                         {"status", kTaskStatuses.name(t.status)}});
  };
  // New tasks first, in the order the commands created them (their ids
  // follow it), then changed ones and those timers created.
  for (const auto& [id, seq] : new_tasks_) task_json(id, held_.at(id).w.ep.tasks[size_t(seq - 1)]);
  for (const std::string& id : order_) {
    const Held& h = held_.at(id);
    for (size_t i = 0; i < h.w.ep.tasks.size(); ++i) {
      const Task& t = h.w.ep.tasks[i];
      if (i >= h.tasks_before.size() && i < h.tasks_noted) continue;
      if (i < h.tasks_before.size() && h.tasks_before[i] == t) continue;
      task_json(id, t);
    }
  }
  json events = json::array(), ticks = json::array(), counts = json::array();
  for (const auto& [episode, e] : appended_)
    events.push_back({{"episode", episode},
                      {"seq", e.seq},
                      {"type", e.type},
                      {"at", e.at.iso()},
                      {"body", e.body},
                      {"event_id", e.event_id.empty() ? json() : json(e.event_id)},
                      {"recorded_at", e.recorded_at != 0 ? e.recorded_at : now_s}});
  for (const auto& [episode, seq, at] : ticked_) ticks.push_back({{"episode", episode}, {"after_seq", seq}, {"at", at.iso()}});
  // Sorted by key (a std::map): two transactions add in the same order.
  for (const auto& [key, n] : delta)
    if (n != 0) counts.push_back({{"state", std::get<0>(key)}, {"phase", std::get<1>(key)}, {"profile", std::get<2>(key)}, {"n", n}});
  if (!(episodes.empty() && timers_set.empty() && timers_drop.empty() && task_rows.empty() && events.empty() && ticks.empty() &&
        counts.empty())) {
    // One statement, one round trip: each table's rows come as one JSON
    // array; the statements in WITH all run, to completion, whatever the
    // final SELECT reads. (The foreign keys of events and tasks to episodes
    // are checked at commit.)
    tx.exec_prepared("write_back", practice_, episodes.dump(), timers_set.dump(), timers_drop.dump(), task_rows.dump(), events.dump(),
                     ticks.dump(), counts.dump(), now_s);
  }
  auto claimed = std::move(claimed_);
  forget();
  claimed_ = std::move(claimed);  // log_tick, later in this transaction, records their ticks
}


}  // namespace zorgpad::pg

namespace zorgpad {

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

Expected<std::unique_ptr<Store>> open_pg_store(const std::string& url, const std::string& practice, const Clock& clock,
                                               StoreOptions options) {
  if (!practice.empty() && !pg::valid_practice_code(practice))
    return bad_input("practice '" + clip(practice) + "': letters, digits, '-' and '_' only, 1 to 32");
  auto logger = options.logger ? options.logger
                               : std::make_shared<spdlog::logger>("zorgpad", std::make_shared<spdlog::sinks::null_sink_mt>());
  options.logger = logger;
  auto repo = std::make_unique<pg::PgRepository>(url, practice, clock, options);
  if (Status s = repo->init(); !s.ok()) return store_failure(s.message());
  return std::make_unique<Store>(std::move(repo), clock, logger);
}

Status init_pg_schema(const std::string& url, const std::string& app_role) {
  try {
    ::setenv("PGCONNECT_TIMEOUT", "10", 0);
    pqxx::connection c(url);
    pqxx::work tx(c);
    // One migrating process at a time.
    tx.exec("SELECT pg_advisory_xact_lock(hashtext('zorgpad.migrate'))");
    tx.exec("CREATE SCHEMA IF NOT EXISTS zorgpad");
    tx.exec("CREATE TABLE IF NOT EXISTS zorgpad.meta(key text PRIMARY KEY, value text NOT NULL)");
    auto v = tx.exec("SELECT value FROM zorgpad.meta WHERE key = 'schema_version'");
    int version = v.empty() ? 0 : std::atoi(v[0][0].c_str());
    if (version > pg::schema_version())
      return Status::Fail("the database has schema version " + std::to_string(version) + ", newer than this zorgpad (" +
                          std::to_string(pg::schema_version()) + ")");
    for (int to = version + 1; to <= pg::schema_version(); ++to) tx.exec(pg::migration_sql(to));
    tx.exec_params(
        "INSERT INTO zorgpad.meta(key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        std::to_string(pg::schema_version()));
    if (!app_role.empty()) {
      if (tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", app_role).empty())
        return Status::Fail("no role '" + clip(app_role) + "' in the database: create it first (CREATE ROLE " + clip(app_role) + " NOLOGIN)");
      tx.exec(pg::grants_sql(tx.quote_name(app_role)));
    }
    tx.commit();
    return Status::Ok();
  } catch (const pqxx::broken_connection& e) {
    return Status::Fail("cannot connect to PostgreSQL: " + pg::first_line_of(e.what()));
  } catch (const std::exception& e) {
    return Status::Fail("cannot create the zorgpad schema: " + pg::first_line_of(e.what()));
  }
}

}  // namespace zorgpad
