// SQLite backend of the Store (SQLiteCpp). One RAII transaction per command;
// every SQLiteCpp exception is caught here and returned as a StoreError.
#include <fcntl.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <unordered_map>

#include "pathway/event.hpp"
#include "persistence/schema.hpp"
#include "persistence/store.hpp"
#include "states/episode_json.hpp"
#include "states/machine.hpp"

namespace zorgpad {
namespace {

using nlohmann::json;

constexpr const char* kTaskDoneType = "task_done";  // log entry of `task done`

StoreError bad(std::string m) { return {Failure::bad_input, std::move(m)}; }
StoreError broken(std::string m) { return {Failure::store, std::move(m)}; }

std::string event_label(const std::string& episode, int64_t index, const json& ev) {
  std::string type;
  if (ev.is_object() && ev.contains("type") && ev["type"].is_string()) {
    type = ev["type"].get<std::string>();
    if (type.size() > 30) type = type.substr(0, 30) + "...";
    type = " (" + type + ")";
  }
  return episode + " event " + std::to_string(index) + type;
}

// An episode loaded for a command, with what is needed to write back only
// what changed.
struct Loaded {
  Episode ep;
  std::vector<Task> tasks_before;
  int64_t last_seq = 0;
  bool is_new = false;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const Clock& clock, StoreOptions opt)
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, opt.busy_timeout_ms), clock_(clock), opt_(opt) {
    log_ = opt.logger ? opt.logger : std::make_shared<spdlog::logger>("zorgpad", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  Status init() {
    // A foreign or corrupt file fails here, on the first read.
    int app_id = db_.execAndGet("PRAGMA application_id").getInt();
    int version = db_.execAndGet("PRAGMA user_version").getInt();
    int tables = db_.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
    if (app_id != kApplicationId && (app_id != 0 || tables > 0))
      return Status::Fail("'" + db_.getFilename() + "' is not a zorgpad database");
    if (version > current_schema_version())
      return Status::Fail("the database has schema version " + std::to_string(version) +
                          ", newer than this zorgpad (" + std::to_string(current_schema_version()) + ")");
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec(opt_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    db_.exec("PRAGMA foreign_keys=ON");
    if (version < current_schema_version()) {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::EXCLUSIVE);
      version = db_.execAndGet("PRAGMA user_version").getInt();  // another process may have migrated
      for (int v = version + 1; v <= current_schema_version(); ++v) {
        db_.exec(migration_sql(v));
        log_->info("migrated schema to version {}", v);
      }
      db_.exec("PRAGMA application_id=" + std::to_string(kApplicationId));
      db_.exec("PRAGMA user_version=" + std::to_string(current_schema_version()));
      tx.commit();
    }
    return Status::Ok();
  }

  // ---- commands -------------------------------------------------------------------

  StoreResult<Recorded> open(const std::string& id, const std::string& patient, const json& event) override {
    return guarded<Recorded>([&]() -> StoreResult<Recorded> {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      std::string episode = id.empty() ? next_episode_id() : id;
      auto r = open_in_tx(episode, patient, event, 0);
      if (std::holds_alternative<StoreError>(r)) return r;
      flush();
      tx.commit();
      return r;
    });
  }

  StoreResult<Recorded> record(const std::string& episode, const json& event, std::optional<int64_t> expect_seq) override {
    return guarded<Recorded>([&]() -> StoreResult<Recorded> {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      auto r = record_in_tx(episode, event, expect_seq);
      if (std::holds_alternative<StoreError>(r)) return r;
      flush();
      tx.commit();
      return r;
    });
  }

  StoreResult<ImportReport> import(std::istream& in, int batch_size) override {
    ImportReport rep;
    int64_t committed_lines = 0;
    auto result = guarded<ImportReport>([&]() -> StoreResult<ImportReport> {
      std::string line;
      auto tx = std::make_unique<SQLite::Transaction>(db_, SQLite::TransactionBehavior::IMMEDIATE);
      int in_batch = 0;
      ImportReport pending;
      while (std::getline(in, line)) {
        ++rep.lines;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto err = import_line(line, pending);
        if (err) {
          std::string where = "line " + std::to_string(rep.lines) + ": " + err->message;
          if (committed_lines > 0) where += " (lines 1-" + std::to_string(committed_lines) + " were imported before)";
          cache_.clear();
          return StoreError{err->kind, where};
        }
        if (++in_batch >= batch_size) {
          flush();
          tx->commit();
          committed_lines = rep.lines;
          add(rep, pending);
          pending = {};
          in_batch = 0;
          tx = std::make_unique<SQLite::Transaction>(db_, SQLite::TransactionBehavior::IMMEDIATE);
        }
      }
      flush();
      tx->commit();
      add(rep, pending);
      return rep;
    });
    cache_.clear();
    return result;
  }

  StoreResult<TickReport> tick(Date now) override {
    return guarded<TickReport>([&]() -> StoreResult<TickReport> {
      TickReport rep;
      const std::string now_iso = now.iso();
      for (;;) {
        SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
        auto& q = stmt(due_q_, "SELECT id, body, last_seq FROM episodes WHERE next_due <= ? ORDER BY next_due LIMIT 2000");
        q.bind(1, now_iso);
        std::vector<std::tuple<std::string, std::string, int64_t>> rows;
        while (q.executeStep()) rows.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64());
        q.reset();
        if (rows.empty()) {
          set_clock(now);
          tx.commit();
          break;
        }
        for (auto& [id, body, seq] : rows) {
          auto ep = parse_body(body);
          if (!ep) return broken("episode " + id + ": " + ep.message());
          Loaded& l = cache_[id];
          l.tasks_before = ep->tasks;
          l.last_seq = seq;
          l.ep = std::move(*ep);
          int fired = advance(l.ep, now);
          rep.timers += fired;
          rep.episodes++;
          log_->debug("episode {}: {} timer(s) fired", id, fired);
        }
        flush();
        set_clock(now);
        tx.commit();
      }
      return rep;
    });
  }

  StoreResult<Episode> load(const std::string& episode) override {
    return guarded<Episode>([&]() -> StoreResult<Episode> {
      auto l = fetch(episode);
      if (!l) return bad("no episode '" + episode + "'");
      return std::move(l->ep);
    });
  }

  StoreResult<std::vector<StoredEvent>> events(const std::string& episode) override {
    return guarded<std::vector<StoredEvent>>([&]() -> StoreResult<std::vector<StoredEvent>> {
      SQLite::Transaction tx(db_);
      if (!exists(episode)) return bad("no episode '" + episode + "'");
      SQLite::Statement q(db_, "SELECT seq, type, at, body FROM events WHERE episode = ? ORDER BY seq");
      q.bind(1, episode);
      std::vector<StoredEvent> out;
      while (q.executeStep()) {
        StoredEvent e;
        e.seq = q.getColumn(0).getInt64();
        e.type = q.getColumn(1).getString();
        e.at = Date::parse(q.getColumn(2).getString()).value_or(Date{});
        e.body = json::parse(q.getColumn(3).getString(), nullptr, false);
        if (e.body.is_discarded()) return broken("episode " + episode + " event " + std::to_string(e.seq - 1) + ": unreadable");
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  StoreResult<std::vector<TaskRow>> tasks(const TaskFilter& f) override {
    return guarded<std::vector<TaskRow>>([&]() -> StoreResult<std::vector<TaskRow>> {
      std::string sql = "SELECT id, episode, seq, kind, checkpoint, due, status FROM tasks WHERE 1=1";
      if (f.due_before) sql += " AND due < :due";
      if (f.kind) sql += " AND kind = :kind";
      if (f.status) sql += " AND status = :status";
      if (f.episode) sql += " AND episode = :episode";
      if (f.id) sql += " AND id = :id";
      sql += " ORDER BY due, id";
      SQLite::Statement q(db_, sql);
      if (f.due_before) q.bind(":due", f.due_before->iso());
      if (f.kind) q.bind(":kind", std::string(kTaskKinds.name(*f.kind)));
      if (f.status) q.bind(":status", std::string(kTaskStatuses.name(*f.status)));
      if (f.episode) q.bind(":episode", *f.episode);
      if (f.id) q.bind(":id", *f.id);
      std::vector<TaskRow> out;
      while (q.executeStep()) out.push_back(task_row(q));
      return out;
    });
  }

  StoreResult<TaskRow> complete_task(int64_t task_id) override {
    return guarded<TaskRow>([&]() -> StoreResult<TaskRow> {
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      SQLite::Statement q(db_, "SELECT episode, seq FROM tasks WHERE id = ?");
      q.bind(1, task_id);
      if (!q.executeStep()) return bad("no task " + std::to_string(task_id));
      std::string episode = q.getColumn(0).getString();
      int seq = q.getColumn(1).getInt();
      Loaded* l = cached(episode);
      if (!l) return broken("task " + std::to_string(task_id) + " has no episode");
      Date at = std::max(clock_.today(), l->ep.last_event);
      if (Status s = zorgpad::complete_task(l->ep, seq, at); !s.ok()) {
        cache_.clear();
        return bad("task " + std::to_string(task_id) + ": " + s.message());
      }
      json body = {{"type", kTaskDoneType}, {"task", seq}, {"at", at.iso()}};
      append_event(episode, ++l->last_seq, kTaskDoneType, at, body.dump(), nullptr);
      TaskRow row{task_id, episode, l->ep.tasks[size_t(seq - 1)]};
      flush();
      tx.commit();
      log_->info("episode {}: task {} done", episode, task_id);
      return row;
    });
  }

  StoreResult<RebuildReport> rebuild() override {
    return guarded<RebuildReport>([&]() -> StoreResult<RebuildReport> {
      RebuildReport rep;
      SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
      Date clock = stored_clock();
      SQLite::Statement q(db_, "SELECT episode, seq, type, body FROM events ORDER BY episode, seq");
      SQLite::Statement stored(db_, "SELECT body, last_seq FROM episodes WHERE id = ?");
      std::string current;
      std::optional<Episode> ep;
      std::string patient;
      int64_t last_seq = 0;
      auto finish = [&]() -> std::optional<StoreError> {
        if (!ep) return std::nullopt;
        advance(*ep, clock);
        stored.bind(1, current);
        if (!stored.executeStep()) return broken("episode " + current + " has events but no projection");
        std::string body = stored.getColumn(0).getString();
        int64_t stored_seq = stored.getColumn(1).getInt64();
        stored.reset();
        std::string rebuilt = episode_state(*ep).dump();
        if (rebuilt != body || stored_seq != last_seq) {
          auto before = parse_body(body);
          rep.differences.push_back(current + ": " + describe_difference(before ? episode_state(*before) : json(), json::parse(rebuilt)));
          Loaded& l = cache_[current];
          l.ep = std::move(*ep);
          l.last_seq = last_seq;
          l.tasks_before.clear();  // rewrite every task row of this episode
          flush();
        }
        rep.episodes++;
        ep.reset();
        return std::nullopt;
      };
      while (q.executeStep()) {
        std::string episode = q.getColumn(0).getString();
        if (episode != current) {
          if (auto e = finish()) return *e;
          current = episode;
          stored.bind(1, current);
          patient.clear();
          if (stored.executeStep()) {
            auto e = parse_body(stored.getColumn(0).getString());
            if (e) patient = e->patient;
          }
          stored.reset();
        }
        last_seq = q.getColumn(1).getInt64();
        std::string type = q.getColumn(2).getString();
        json body = json::parse(q.getColumn(3).getString(), nullptr, false);
        rep.events++;
        std::string where = "episode " + current + " event " + std::to_string(last_seq - 1);
        if (type == kTaskDoneType) {
          if (!ep || body.is_discarded()) return broken(where + ": unreadable task_done entry");
          if (Status s = zorgpad::complete_task(*ep, body.at("task").get<int>(), *Date::parse(body.at("at").get<std::string>())); !s.ok())
            return broken(where + ": " + s.message());
          continue;
        }
        auto ev = parse_event(body);
        if (!ev) return broken(where + ": " + ev.message());
        if (!ep) {
          auto opened = open_episode(current, patient, *ev);
          if (!opened) return broken(where + ": " + opened.message());
          ep = std::move(*opened);
        } else if (Status s = apply(*ep, *ev); !s.ok()) {
          return broken(where + ": " + s.message());
        }
      }
      if (auto e = finish()) return *e;
      tx.commit();
      return rep;
    });
  }

  StoreResult<int64_t> episode_count() override {
    return guarded<int64_t>([&]() -> StoreResult<int64_t> {
      return db_.execAndGet("SELECT count(*) FROM episodes").getInt64();
    });
  }

  StoreResult<EpisodePage> list_episodes(const EpisodeFilter& f) override {
    return guarded<EpisodePage>([&]() -> StoreResult<EpisodePage> {
      if (f.limit < 1 || f.limit > 1000 || f.offset < 0) return bad("page: limit must be 1-1000 and offset >= 0");
      SQLite::Transaction tx(db_);  // count and page from one snapshot
      EpisodePage page;
      std::string where = episode_where(f);
      SQLite::Statement c(db_, "SELECT count(*) FROM episodes" + where);
      bind_episode_filter(c, f);
      c.executeStep();
      page.total = c.getColumn(0).getInt64();
      SQLite::Statement q(db_, "SELECT id, patient, state, phase, profile, gp, therapist, next_due FROM episodes" + where +
                                   " ORDER BY id LIMIT :limit OFFSET :offset");
      bind_episode_filter(q, f);
      q.bind(":limit", f.limit);
      q.bind(":offset", f.offset);
      while (q.executeStep()) {
        EpisodeSummary e;
        e.id = q.getColumn(0).getString();
        e.patient = q.getColumn(1).getString();
        e.state = *kStates.parse(q.getColumn(2).getString());
        e.phase = *kPhases.parse(q.getColumn(3).getString());
        if (!q.getColumn(4).isNull()) e.profile = q.getColumn(4).getInt();
        e.gp = q.getColumn(5).getString();
        e.therapist = q.getColumn(6).getString();
        if (!q.getColumn(7).isNull()) e.next_due = Date::parse(q.getColumn(7).getString());
        page.episodes.push_back(std::move(e));
      }
      return page;
    });
  }

  StoreResult<std::vector<std::pair<std::string, int64_t>>> count_episodes(CountBy by, const EpisodeFilter& f) override {
    using Out = std::vector<std::pair<std::string, int64_t>>;
    return guarded<Out>([&]() -> StoreResult<Out> {
      const char* col = by == CountBy::state ? "state" : by == CountBy::phase ? "phase" : "COALESCE(CAST(profile AS TEXT), 'none')";
      SQLite::Statement q(db_, std::string("SELECT ") + col + ", count(*) FROM episodes" + episode_where(f) + " GROUP BY 1 ORDER BY 1");
      bind_episode_filter(q, f);
      Out out;
      while (q.executeStep()) out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64());
      return out;
    });
  }

  StoreResult<int64_t> for_each_episode(const std::function<void(const Episode&)>& fn) override {
    return guarded<int64_t>([&]() -> StoreResult<int64_t> {
      SQLite::Transaction tx(db_);  // one consistent snapshot
      SQLite::Statement q(db_, "SELECT id, body FROM episodes ORDER BY rowid");
      int64_t n = 0;
      while (q.executeStep()) {
        auto ep = parse_body(q.getColumn(1).getString());
        if (!ep) return broken("episode " + q.getColumn(0).getString() + ": " + ep.message());
        fn(*ep);
        ++n;
      }
      return n;
    });
  }

 private:
  template <typename T, typename Fn>
  StoreResult<T> guarded(Fn fn) {
    try {
      return fn();
    } catch (const SQLite::Exception& e) {
      cache_.clear();
      log_->error("store error: {}", e.what());
      return broken(std::string("database error: ") + e.what());
    } catch (const std::exception& e) {
      cache_.clear();
      return broken(std::string("internal error: ") + e.what());
    }
  }

  SQLite::Statement& stmt(std::unique_ptr<SQLite::Statement>& s, const char* sql) {
    if (!s) s = std::make_unique<SQLite::Statement>(db_, sql);
    return *s;
  }

  static Expected<Episode> parse_body(const std::string& body) {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return Error{"stored episode is not JSON"};
    return episode_from_state(j);
  }

  static std::string episode_where(const EpisodeFilter& f) {
    std::string w = " WHERE 1=1";
    if (f.state) w += " AND state = :state";
    if (f.phase) w += " AND phase = :phase";
    if (f.profile) w += " AND profile = :profile";
    if (f.gp) w += " AND gp = :gp";
    if (f.therapist) w += " AND therapist = :therapist";
    if (f.search) w += " AND (id >= :search AND id < :search_end OR patient >= :search AND patient < :search_end)";
    return w;
  }
  static void bind_episode_filter(SQLite::Statement& q, const EpisodeFilter& f) {
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

  static TaskRow task_row(SQLite::Statement& q) {
    TaskRow r;
    r.id = q.getColumn(0).getInt64();
    r.episode = q.getColumn(1).getString();
    r.task.seq = q.getColumn(2).getInt();
    r.task.kind = *kTaskKinds.parse(q.getColumn(3).getString());
    if (!q.getColumn(4).isNull()) r.task.checkpoint = kCheckpoints.parse(q.getColumn(4).getString());
    r.task.due = *Date::parse(q.getColumn(5).getString());
    r.task.status = *kTaskStatuses.parse(q.getColumn(6).getString());
    return r;
  }

  std::string next_episode_id() {
    int64_t n = db_.execAndGet("SELECT COALESCE(MAX(rowid), 0) + 1 FROM episodes").getInt64();
    for (;; ++n) {
      std::string id = "ep-" + std::to_string(n);
      if (!exists(id)) return id;
    }
  }

  bool exists(const std::string& id) {
    if (cache_.count(id)) return true;
    auto& q = stmt(exists_q_, "SELECT 1 FROM episodes WHERE id = ?");
    q.bind(1, id);
    bool found = q.executeStep();
    q.reset();
    return found;
  }

  // The episode from the command's cache, else from the database.
  Loaded* cached(const std::string& id) {
    if (auto it = cache_.find(id); it != cache_.end()) return &it->second;
    auto l = fetch(id);
    if (!l) return nullptr;
    return &cache_.emplace(id, std::move(*l)).first->second;
  }

  std::optional<Loaded> fetch(const std::string& id) {
    auto& q = stmt(load_q_, "SELECT body, last_seq FROM episodes WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) { q.reset(); return std::nullopt; }
    std::string body = q.getColumn(0).getString();
    int64_t seq = q.getColumn(1).getInt64();
    q.reset();
    auto ep = parse_body(body);
    if (!ep) throw std::runtime_error("episode " + id + ": " + ep.message());
    Loaded l;
    l.tasks_before = ep->tasks;
    l.ep = std::move(*ep);
    l.last_seq = seq;
    return l;
  }

  // Returns the earlier recording of an event id, if any.
  std::optional<Recorded> earlier(const std::string& event_id) {
    if (event_id.empty()) return std::nullopt;
    auto& q = stmt(event_id_q_, "SELECT episode, seq FROM events WHERE event_id = ?");
    q.bind(1, event_id);
    std::optional<Recorded> r;
    if (q.executeStep()) r = Recorded{q.getColumn(0).getString(), q.getColumn(1).getInt64(), true};
    q.reset();
    return r;
  }

  void append_event(const std::string& episode, int64_t seq, const std::string& type, Date at, const std::string& body,
                    const std::string* event_id) {
    auto& q = stmt(insert_event_q_,
                   "INSERT INTO events(episode, seq, type, at, body, recorded_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, episode);
    q.bind(2, seq);
    q.bind(3, type);
    q.bind(4, at.iso());
    q.bind(5, body);
    q.bind(6, clock_.unix_seconds());
    if (event_id && !event_id->empty()) q.bind(7, *event_id); else q.bind(7);
    q.exec();
    q.reset();
  }

  StoreResult<Recorded> open_in_tx(const std::string& episode, const std::string& patient, const json& event, int64_t line) {
    (void)line;
    if (episode.empty() || episode.size() > 100) return bad("episode id must be 1-100 characters");
    auto ev = parse_event(event);
    if (!ev) return bad(event_label(episode, 0, event) + ": " + ev.message());
    if (ev->type != Trigger::open) return bad(event_label(episode, 0, event) + ": an episode starts with an 'open' event");
    if (auto e = earlier(ev->id)) return *e;
    if (exists(episode)) return bad(episode + ": the episode already exists");
    auto opened = open_episode(episode, patient, *ev);
    if (!opened) return bad(event_label(episode, 0, event) + ": " + opened.message());
    Loaded& l = cache_[episode];
    l.ep = std::move(*opened);
    l.is_new = true;
    l.last_seq = 1;
    append_event(episode, 1, "open", ev->at, event.dump(), &ev->id);
    log_->info("episode {}: opened", episode);
    return Recorded{episode, 1, false};
  }

  StoreResult<Recorded> record_in_tx(const std::string& episode, const json& event, std::optional<int64_t> expect_seq) {
    Loaded* l = cached(episode);
    if (!l) return bad("no episode '" + episode + "'");
    auto label = [&] { return event_label(episode, l->last_seq, event); };
    auto ev = parse_event(event);
    if (!ev) return bad(label() + ": " + ev.message());
    if (auto e = earlier(ev->id)) return *e;
    if (expect_seq && *expect_seq != l->last_seq)
      return bad(label() + ": expected the log to end at event " + std::to_string(*expect_seq) + " but it ends at " +
                 std::to_string(l->last_seq) + " (someone recorded in between)");
    if (Status s = apply(l->ep, *ev); !s.ok()) return bad(label() + ": " + s.message());
    ++l->last_seq;
    append_event(episode, l->last_seq, std::string(kTriggers.name(ev->type)), ev->at, event.dump(), &ev->id);
    log_->debug("episode {}: recorded event {} ({})", episode, l->last_seq - 1, kTriggers.name(ev->type));
    return Recorded{episode, l->last_seq, false};
  }

  std::optional<StoreError> import_line(const std::string& line, ImportReport& rep) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
    if (!j.contains("episode") || !j["episode"].is_string()) return bad("needs a string 'episode'");
    if (!j.contains("event")) return bad("needs an 'event'");
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "episode" && it.key() != "patient" && it.key() != "event")
        return bad("unknown field '" + it.key().substr(0, 40) + "'");
    std::string episode = j["episode"].get<std::string>();
    const json& event = j["event"];
    bool is_open = event.is_object() && event.contains("type") && event["type"] == "open";
    StoreResult<Recorded> r = [&]() -> StoreResult<Recorded> {
      if (is_open) {
        std::string patient = j.contains("patient") && j["patient"].is_string() ? j["patient"].get<std::string>() : "";
        return open_in_tx(episode, patient, event, rep.lines);
      }
      return record_in_tx(episode, event, std::nullopt);
    }();
    if (auto* e = std::get_if<StoreError>(&r)) return *e;
    auto& rec = std::get<Recorded>(r);
    if (rec.duplicate) rep.duplicates++;
    else if (is_open) { rep.episodes_opened++; rep.recorded++; }
    else rep.recorded++;
    return std::nullopt;
  }

  static void add(ImportReport& a, const ImportReport& b) {
    a.recorded += b.recorded;
    a.duplicates += b.duplicates;
    a.episodes_opened += b.episodes_opened;
  }

  // Writes every cached episode's projection and its changed task rows.
  void flush() {
    auto& ins = stmt(insert_episode_q_,
                     "INSERT INTO episodes(id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT(id) DO UPDATE SET state=excluded.state, phase=excluded.phase, profile=excluded.profile, "
                     "last_seq=excluded.last_seq, next_due=excluded.next_due, body=excluded.body");
    auto& task = stmt(upsert_task_q_,
                      "INSERT INTO tasks(episode, seq, kind, checkpoint, due, status) VALUES (?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT(episode, seq) DO UPDATE SET kind=excluded.kind, checkpoint=excluded.checkpoint, "
                      "due=excluded.due, status=excluded.status");
    for (auto& [id, l] : cache_) {
      const Episode& ep = l.ep;
      ins.bind(1, id);
      ins.bind(2, ep.patient);
      ins.bind(3, std::string(kStates.name(ep.state)));
      ins.bind(4, std::string(kPhases.name(ep.phase)));
      if (ep.profile) ins.bind(5, *ep.profile); else ins.bind(5);
      ins.bind(6, ep.gp);
      ins.bind(7, ep.therapist);
      ins.bind(8, l.last_seq);
      if (auto d = ep.next_due()) ins.bind(9, d->iso()); else ins.bind(9);
      ins.bind(10, episode_state(ep).dump());
      ins.exec();
      ins.reset();
      for (size_t i = 0; i < ep.tasks.size(); ++i) {
        const Task& t = ep.tasks[i];
        if (i < l.tasks_before.size() && l.tasks_before[i] == t) continue;
        task.bind(1, id);
        task.bind(2, t.seq);
        task.bind(3, std::string(kTaskKinds.name(t.kind)));
        if (t.checkpoint) task.bind(4, std::string(kCheckpoints.name(*t.checkpoint))); else task.bind(4);
        task.bind(5, t.due.iso());
        task.bind(6, std::string(kTaskStatuses.name(t.status)));
        task.exec();
        task.reset();
      }
    }
    cache_.clear();
  }

  Date stored_clock() {
    SQLite::Statement q(db_, "SELECT value FROM meta WHERE key = 'clock'");
    if (q.executeStep())
      if (auto d = Date::parse(q.getColumn(0).getString())) return *d;
    return Date{};
  }

  void set_clock(Date now) {
    if (now <= stored_clock()) return;
    SQLite::Statement q(db_, "INSERT INTO meta(key, value) VALUES ('clock', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    q.bind(1, now.iso());
    q.exec();
  }

  static std::string describe_difference(const json& before, const json& after) {
    std::string fields;
    if (!before.is_object()) return "stored projection unreadable";
    for (auto it = after.begin(); it != after.end(); ++it)
      if (!before.contains(it.key()) || before[it.key()] != it.value()) fields += (fields.empty() ? "" : ", ") + it.key();
    return fields.empty() ? "log position differs" : "differs in " + fields;
  }

  SQLite::Database db_;
  const Clock& clock_;
  StoreOptions opt_;
  std::shared_ptr<spdlog::logger> log_;
  std::unordered_map<std::string, Loaded> cache_;  // episodes touched by the running command
  std::unique_ptr<SQLite::Statement> due_q_, exists_q_, load_q_, event_id_q_, insert_event_q_, insert_episode_q_,
      upsert_task_q_;
};

}  // namespace

StoreResult<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const Clock& clock, StoreOptions options) {
  if (path != ":memory:") {
    // Create the file ourselves so it is private from the first byte.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return broken("cannot open database '" + path + "'");
    ::close(fd);
  }
  try {
    auto store = std::make_unique<SqliteStore>(path, clock, options);
    if (Status s = store->init(); !s.ok()) return broken(s.message());
    return std::unique_ptr<Store>(std::move(store));
  } catch (const SQLite::Exception& e) {
    return broken("cannot use '" + path + "' as a zorgpad database: " + e.what());
  }
}

}  // namespace zorgpad
