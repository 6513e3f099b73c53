// SQLite repository: opening and migrating the file, transactions, and the
// write side (the unit of work of states/repository.hpp).
#include "persistence/sqlite_repository.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <spdlog/sinks/null_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "persistence/schema.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::sqlite {

CountKey count_key(const Episode& ep) {
  return {std::string(kStates.name(ep.state)), std::string(kPhases.name(ep.phase)), ep.profile.value_or(0)};
}

SqliteRepository::SqliteRepository(const std::string& path, const Clock& clock, StoreOptions opt)
    // NOMUTEX: a connection belongs to one thread (one store per thread), so
    // SQLite need not lock it on every call.
    : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, opt.busy_timeout_ms),
      clock_(clock),
      opt_(opt),
      log_(opt.logger ? opt.logger : std::make_shared<spdlog::logger>("zorgpad", std::make_shared<spdlog::sinks::null_sink_mt>())) {}

Status SqliteRepository::init() {
  // A foreign or corrupt file fails here, on the first read. The three reads
  // share one snapshot: another process may be creating the schema of a new
  // file at this moment (concurrent `init`s), and its commit falling between
  // them read as "tables but no application id", a foreign file.
  int app_id = 0, version = 0, tables = 0;
  {
    SQLite::Transaction snapshot(db_);
    app_id = db_.execAndGet("PRAGMA application_id").getInt();
    version = db_.execAndGet("PRAGMA user_version").getInt();
    tables = db_.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
    snapshot.commit();
  }
  if (app_id != kApplicationId && (app_id != 0 || tables > 0))
    return Status::Fail("'" + db_.getFilename() + "' is not a zorgpad database", ErrorKind::store);
  if (version > current_schema_version())
    return Status::Fail("the database has schema version " + std::to_string(version) + ", newer than this zorgpad (" +
                            std::to_string(current_schema_version()) + ")",
                        ErrorKind::store);
  db_.exec("PRAGMA journal_mode=WAL");
  db_.exec(opt_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA foreign_keys=ON");
  // 64 MiB of page cache (allocated as used): a practice's indexes stay in
  // memory during an import or a tick instead of being re-read per page.
  db_.exec("PRAGMA cache_size=-65536");
  if (version < current_schema_version()) {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::EXCLUSIVE);
    version = db_.execAndGet("PRAGMA user_version").getInt();  // another process may have migrated
    for (int v = version + 1; v <= current_schema_version(); ++v) {
      db_.exec(migration_sql(v));
      if (v == kRewriteBodiesAt) {
        if (Status st = rewrite_bodies(); !st.ok()) return st;  // the transaction rolls back
      }
      log_->info("migrated schema to version {}", v);
    }
    db_.exec("PRAGMA application_id=" + std::to_string(kApplicationId));
    db_.exec("PRAGMA user_version=" + std::to_string(current_schema_version()));
    tx.commit();
  }
  return Status::Ok();
}

// Reads every stored body and writes it again in the current form. A body of
// an earlier schema lacks the newer fields; the reader gives them their
// defaults, which are what the episode's own revision derives.
Status SqliteRepository::rewrite_bodies() {
  SQLite::Statement q(db_, "SELECT rowid, id, body FROM episodes WHERE rowid > ? ORDER BY rowid LIMIT 2000");
  SQLite::Statement up(db_, "UPDATE episodes SET body = ? WHERE rowid = ?");
  // A page of rows at a time: a regional store holds gigabytes of bodies.
  std::vector<std::pair<int64_t, std::string>> page;
  int64_t after = 0;
  do {
    page.clear();
    q.bind(1, after);
    while (q.executeStep()) {
      std::string id = q.getColumn(1).getString();
      auto ep = episode_from_state_text(q.getColumn(2).getString());
      if (!ep)
        return Status::Fail("episode " + id + ": " + ep.message() + "; the migration to schema version " +
                                std::to_string(kRewriteBodiesAt) + " changed nothing",
                            ErrorKind::store);
      page.emplace_back(q.getColumn(0).getInt64(), episode_state_text(*ep));
    }
    q.reset();
    for (const auto& [rowid, body] : page) {
      up.bind(1, body);
      up.bind(2, rowid);
      up.exec();
      up.reset();
    }
    if (!page.empty()) after = page.back().first;
  } while (!page.empty());
  return Status::Ok();
}

SQLite::Statement& SqliteRepository::stmt(std::unique_ptr<SQLite::Statement>& s, const char* sql) {
  if (!s) s = std::make_unique<SQLite::Statement>(db_, sql);
  // A kept statement whose step threw (a read error, a full disk) is left
  // running, and its next bind would be refused as misuse: every command
  // after a failed one would fail too (found by the fault injection test).
  // Reset on every hand-out; on a statement already reset it costs nothing.
  s->tryReset();
  return *s;
}

// ---- transactions ------------------------------------------------------------------

Held& SqliteRepository::hold(const std::string& id, Held h) {
  h.tasks_noted = h.w.ep.tasks.size();
  auto [it, inserted] = held_.insert_or_assign(id, std::move(h));
  if (inserted) order_.push_back(id);
  return it->second;
}

void SqliteRepository::forget() {
  held_.clear();
  order_.clear();
  new_tasks_.clear();
}

Status SqliteRepository::write(const std::function<Status()>& body) {
  forget();
  return guarded<void>([&]() -> Status {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    struct InWrite {
      bool& flag;
      explicit InWrite(bool& f) : flag(f) { flag = true; }
      ~InWrite() { flag = false; }
    } in_write(in_write_);
    Status s = body();
    if (!s) {
      forget();  // rolled back by tx: what the command held is gone too
      return s;
    }
    write_back();
    tx.commit();
    return s;
  });
}

Status SqliteRepository::read(const std::function<Status()>& body) {
  return guarded<void>([&]() -> Status {
    SQLite::Transaction tx(db_);
    return body();
  });
}

// ---- the unit of work --------------------------------------------------------------

std::optional<Held> SqliteRepository::fetch(const std::string& id) {
  auto& q = stmt(load_q_, "SELECT body, last_seq, state, phase, profile, last_event, terminal FROM episodes WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) {
    q.reset();
    return std::nullopt;
  }
  std::string body = q.getColumn(0).getString();
  Held h;
  h.w.last_seq = q.getColumn(1).getInt64();
  h.counted = CountKey{q.getColumn(2).getString(), q.getColumn(3).getString(), q.getColumn(4).isNull() ? 0 : q.getColumn(4).getInt()};
  h.stored_last_event = q.getColumn(5).getString();
  h.stored_terminal = q.getColumn(6).getInt() != 0;
  q.reset();
  auto ep = episode_from_state_text(body);
  if (!ep) throw std::runtime_error("episode " + id + ": " + ep.message());
  h.tasks_before = ep->tasks;
  h.w.ep = std::move(*ep);
  return h;
}

Expected<Working*> SqliteRepository::load(const std::string& id) {
  return guarded<Working*>([&]() -> Expected<Working*> {
    if (auto it = held_.find(id); it != held_.end()) return &it->second.w;
    auto h = fetch(id);
    if (!h) return static_cast<Working*>(nullptr);
    return &hold(id, std::move(*h)).w;
  });
}

Expected<Working*> SqliteRepository::create(Episode ep) {
  std::string id = ep.id;
  if (held_.count(id)) return store_failure("episode " + id + " is created twice");
  Held h;
  h.w.ep = std::move(ep);
  h.is_new = true;
  Held& held = hold(id, std::move(h));
  held.tasks_noted = 0;  // the tasks `open` created are new
  return &held.w;
}

bool SqliteRepository::row_exists(const std::string& id) {
  if (held_.count(id)) return true;
  auto& q = stmt(exists_q_, "SELECT 1 FROM episodes WHERE id = ?");
  q.bind(1, id);
  bool found = q.executeStep();
  q.reset();
  return found;
}

Expected<bool> SqliteRepository::exists(const std::string& id) {
  return guarded<bool>([&]() -> Expected<bool> { return row_exists(id); });
}

Expected<std::string> SqliteRepository::next_episode_id() {
  return guarded<std::string>([&]() -> Expected<std::string> {
    int64_t n = db_.execAndGet("SELECT COALESCE(MAX(rowid), 0) + 1 FROM episodes").getInt64();
    for (;; ++n) {
      std::string id = "ep-" + std::to_string(n);
      if (!row_exists(id)) return id;
    }
  });
}

Expected<std::optional<Recorded>> SqliteRepository::find_event(const std::string& event_id) {
  using Out = std::optional<Recorded>;
  if (event_id.empty()) return Out{};
  return guarded<Out>([&]() -> Expected<Out> {
    auto& q = stmt(event_id_q_, "SELECT episode, seq FROM events WHERE event_id = ?");
    q.bind(1, event_id);
    Out r;
    if (q.executeStep()) r = Recorded{q.getColumn(0).getString(), q.getColumn(1).getInt64(), true};
    q.reset();
    return r;
  });
}

Status SqliteRepository::append(const std::string& episode, const LogEntry& e) {
  // The command that appends this entry created the episode's tasks past
  // those noted so far: they take their ids in this order.
  if (auto it = held_.find(episode); it != held_.end()) {
    Held& h = it->second;
    for (size_t i = h.tasks_noted; i < h.w.ep.tasks.size(); ++i) new_tasks_.emplace_back(episode, int(i + 1));
    h.tasks_noted = h.w.ep.tasks.size();
  }
  return guarded<void>([&]() -> Status {
    auto& q = stmt(insert_event_q_,
                   "INSERT INTO events(episode, seq, type, at, body, recorded_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, episode);
    q.bind(2, e.seq);
    q.bind(3, e.type);
    q.bind(4, e.at.iso());
    q.bind(5, e.body);
    q.bind(6, e.recorded_at != 0 ? e.recorded_at : clock_.unix_seconds());
    if (!e.event_id.empty()) q.bind(7, e.event_id); else q.bind(7);
    q.exec();
    q.reset();
    return Status::Ok();
  });
}

Status SqliteRepository::flush() {
  return guarded<void>([&]() -> Status {
    write_back();
    return Status::Ok();
  });
}

Expected<std::vector<Working*>> SqliteRepository::load_due(Date now, int limit) {
  using Out = std::vector<Working*>;
  return guarded<Out>([&]() -> Expected<Out> {
    auto& q = stmt(due_q_,
                   "SELECT id, body, last_seq, state, phase, profile, last_event, terminal FROM episodes "
                   "WHERE next_due <= ? ORDER BY next_due LIMIT ?");
    q.bind(1, now.iso());
    q.bind(2, limit);
    Out out;
    std::vector<std::pair<std::string, Held>> rows;
    while (q.executeStep()) {
      Held h;
      std::string id = q.getColumn(0).getString();
      auto ep = episode_from_state_text(q.getColumn(1).getString());
      if (!ep) {
        q.reset();
        return store_failure("episode " + id + ": " + ep.message());
      }
      h.w.last_seq = q.getColumn(2).getInt64();
      h.counted = CountKey{q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).isNull() ? 0 : q.getColumn(5).getInt()};
      h.stored_last_event = q.getColumn(6).getString();
      h.stored_terminal = q.getColumn(7).getInt() != 0;
      h.tasks_before = ep->tasks;
      h.w.ep = std::move(*ep);
      rows.emplace_back(std::move(id), std::move(h));
    }
    q.reset();
    for (auto& [id, h] : rows) out.push_back(&hold(id, std::move(h)).w);
    return out;
  });
}

Status SqliteRepository::log_tick(Date now) {
  return guarded<void>([&]() -> Status {
    SQLite::Statement t(db_,
                        "INSERT INTO ticks(at, after_entry, recorded_at) "
                        "VALUES (?, (SELECT COALESCE(MAX(rowid), 0) FROM events), ?)");
    t.bind(1, now.iso());
    t.bind(2, clock_.unix_seconds());
    t.exec();
    return Status::Ok();
  });
}

Expected<std::optional<std::pair<std::string, int>>> SqliteRepository::task_ref(int64_t task_id) {
  using Out = std::optional<std::pair<std::string, int>>;
  return guarded<Out>([&]() -> Expected<Out> {
    SQLite::Statement q(db_, "SELECT episode, seq FROM tasks WHERE id = ?");
    q.bind(1, task_id);
    if (!q.executeStep()) return Out{};
    return Out{std::pair{q.getColumn(0).getString(), q.getColumn(1).getInt()}};
  });
}

// Writes every held episode's projection and its changed task rows.
void SqliteRepository::write_back() {
  auto& ins = stmt(insert_episode_q_,
                   "INSERT INTO episodes(id, patient, state, phase, profile, gp, therapist, last_seq, next_due, body, last_event, terminal) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT(id) DO UPDATE SET patient=excluded.patient, gp=excluded.gp, therapist=excluded.therapist, state=excluded.state, phase=excluded.phase, profile=excluded.profile, "
                   "last_seq=excluded.last_seq, next_due=excluded.next_due, body=excluded.body, last_event=excluded.last_event, terminal=excluded.terminal");
  // The patient reference never changes after `open`: leaving it out of the
  // SET spares the patient index a delete and insert per episode written. gp
  // and therapist are set by `open` only: out of the SET, their indexes are
  // not touched either. last_event and terminal, the index of non-terminal
  // episodes by last event, are set only when one of them changes (an event
  // on a new day, the end of the episode), never by a tick.
  auto& upd = stmt(update_episode_q_, "UPDATE episodes SET state=?, phase=?, profile=?, last_seq=?, next_due=?, body=? WHERE id=?");
  auto& upd_activity = stmt(update_activity_q_,
                            "UPDATE episodes SET state=?, phase=?, profile=?, last_seq=?, next_due=?, body=?, "
                            "last_event=?, terminal=? WHERE id=?");
  auto& task = stmt(upsert_task_q_,
                    "INSERT INTO tasks(episode, seq, kind, checkpoint, due, status) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(episode, seq) DO UPDATE SET kind=excluded.kind, checkpoint=excluded.checkpoint, "
                    "due=excluded.due, status=excluded.status");
  auto write_task = [&](const std::string& id, const Task& t) {
    task.bind(1, id);
    task.bind(2, t.seq);
    task.bind(3, std::string(kTaskKinds.name(t.kind)));
    if (t.checkpoint) task.bind(4, std::string(kCheckpoints.name(*t.checkpoint))); else task.bind(4);
    task.bind(5, t.due.iso());
    task.bind(6, std::string(kTaskStatuses.name(t.status)));
    task.exec();
    task.reset();
  };
  Counts delta;
  for (const std::string& id : order_) {
    Held& h = held_.at(id);
    const Episode& ep = h.w.ep;
    const std::string last_event = ep.last_event.iso();
    // Nothing commits that does not read back: the body is read again and
    // must give the same episode, or the command rolls back.
    const std::string body = episode_state_text(ep);
    if (auto back = episode_from_state_text(body); !back || *back != ep)
      throw std::runtime_error("episode " + id + ": the new state does not read back (" +
                               (back ? std::string("it reads back different") : back.message()) + "); nothing was recorded");
    if (h.is_new || h.repair) {
      ins.bind(1, id);
      ins.bind(2, ep.patient);
      ins.bind(3, std::string(kStates.name(ep.state)));
      ins.bind(4, std::string(kPhases.name(ep.phase)));
      if (ep.profile) ins.bind(5, *ep.profile); else ins.bind(5);
      ins.bind(6, ep.gp);
      ins.bind(7, ep.therapist);
      ins.bind(8, h.w.last_seq);
      if (auto d = ep.next_due()) ins.bind(9, d->iso()); else ins.bind(9);
      ins.bind(10, body);
      ins.bind(11, last_event);
      ins.bind(12, int(is_terminal(ep.state)));
      ins.exec();
      ins.reset();
    } else {
      const bool activity = h.stored_last_event != last_event || h.stored_terminal != is_terminal(ep.state);
      auto& u = activity ? upd_activity : upd;
      u.bind(1, std::string(kStates.name(ep.state)));
      u.bind(2, std::string(kPhases.name(ep.phase)));
      if (ep.profile) u.bind(3, *ep.profile); else u.bind(3);
      u.bind(4, h.w.last_seq);
      if (auto d = ep.next_due()) u.bind(5, d->iso()); else u.bind(5);
      u.bind(6, body);
      if (activity) {
        u.bind(7, last_event);
        u.bind(8, int(is_terminal(ep.state)));
      }
      u.bind(activity ? 9 : 7, id);
      u.exec();
      u.reset();
    }
    if (!h.repair) {  // rebuild rewrites the counts itself
      CountKey now = count_key(ep);
      if (!h.counted || *h.counted != now) {
        if (h.counted) delta[*h.counted]--;
        delta[now]++;
      }
    }
  }
  // Task rows: first the tasks the commands created, in the order they
  // created them (a new row's id is the next one: ids follow the input, not
  // the batching); then, episode by episode, changed tasks and those a timer
  // created.
  for (const auto& [id, seq] : new_tasks_) write_task(id, held_.at(id).w.ep.tasks[size_t(seq - 1)]);
  for (const std::string& id : order_) {
    const Held& h = held_.at(id);
    const Episode& ep = h.w.ep;
    for (size_t i = 0; i < ep.tasks.size(); ++i) {
      const Task& t = ep.tasks[i];
      if (i >= h.tasks_before.size() && i < h.tasks_noted) continue;  // written above
      if (i < h.tasks_before.size() && h.tasks_before[i] == t) continue;
      write_task(id, t);
    }
  }
  add_counts(delta);
  forget();
}

// Adds each n to episode_counts (a row per state, phase and profile).
void SqliteRepository::add_counts(const Counts& counts) {
  auto& add = stmt(count_q_,
                   "INSERT INTO episode_counts(state, phase, profile, n) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT(state, phase, profile) DO UPDATE SET n = n + excluded.n");
  for (const auto& [k, n] : counts) {
    if (n == 0) continue;
    add.bind(1, std::get<0>(k));
    add.bind(2, std::get<1>(k));
    add.bind(3, std::get<2>(k));
    add.bind(4, n);
    add.exec();
    add.reset();
  }
}

}  // namespace zorgpad::sqlite

namespace zorgpad {

Expected<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const Clock& clock, StoreOptions options) {
  if (path != ":memory:") {
    // Create the file ourselves so it is private from the first byte. Only
    // when it does not exist yet: close() on a file this process already has
    // open would drop SQLite's POSIX locks on it (a server with a store per
    // thread would then lose its locks when another store opens).
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return store_failure("cannot open database '" + path + "'");
    if (fd >= 0) ::close(fd);
  }
  auto logger = options.logger ? options.logger
                               : std::make_shared<spdlog::logger>("zorgpad", std::make_shared<spdlog::sinks::null_sink_mt>());
  options.logger = logger;
  // First use: several processes may set up the same new file at once (four
  // `init`s). The schema is created in one exclusive transaction that the
  // others wait for, but switching a new file to WAL can answer "busy"
  // without waiting: then open again, within the busy timeout.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  for (;;) {
    try {
      auto repo = std::make_unique<sqlite::SqliteRepository>(path, clock, options);
      if (Status s = repo->init(); !s.ok()) return store_failure(s.message());
      return std::make_unique<Store>(std::move(repo), clock, logger);
    } catch (const SQLite::Exception& e) {
      if ((e.getErrorCode() & 0xff) == SQLITE_BUSY && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      return store_failure("cannot use '" + path + "' as a zorgpad database: " + e.what());
    }
  }
}

}  // namespace zorgpad
