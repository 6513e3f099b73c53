#include "states/engine.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "states/machine.hpp"

namespace zorgpad {

using nlohmann::json;

std::string event_label(const std::string& episode, int64_t index, std::string_view type) {
  std::string label = clip(episode) + " event " + std::to_string(index);
  if (!type.empty()) label += " (" + (type.size() > 30 ? std::string(type.substr(0, 30)) + "..." : std::string(type)) + ")";
  return label;
}

std::string event_label(const std::string& episode, int64_t index, const json& ev) {
  std::string type;
  if (ev.is_object() && ev.contains("type") && ev["type"].is_string()) type = ev["type"].get<std::string>();
  return event_label(episode, index, std::string_view(type));
}

// ---- the replay ----------------------------------------------------------------------

Status Replayer::open(const Event& ev, int default_revision) {
  if (ep_) return Status::Fail("the episode is already open");
  if (ev.type != Trigger::open) return Status::Fail("an episode must start with an 'open' event");
  auto opened = open_episode(id_, patient_.empty() ? ev.patient : patient_, ev, default_revision);
  if (!opened) return opened.status();
  ep_ = std::move(*opened);
  return Status::Ok();
}

Status Replayer::event(const Event& ev) {
  if (!ep_) return open(ev, kCurrentRevision);
  return apply(*ep_, ev);
}

Status Replayer::task_done(int task_seq, Date at) {
  if (!ep_) return Status::Fail("a task_done entry before the episode was opened");
  advance(*ep_, at);
  return complete_task(*ep_, task_seq, at);
}

void Replayer::advance_to(Date at) {
  if (ep_) advance(*ep_, at);
}

Status Replayer::entry(std::string_view type, std::string_view body) {
  if (type == kTaskDoneEntry || type == "tick") {
    // {"type": "task_done", "task": N, "at": DATE}; "tick" entries of schema 2 carry only "at".
    json j = json::parse(body.begin(), body.end(), nullptr, false);
    auto at = j.is_object() && j.contains("at") && j["at"].is_string() ? Date::parse_stored(j["at"].get<std::string>()) : std::nullopt;
    if (!ep_ || !at) return Status::Fail("unreadable " + std::string(type) + " entry");
    if (type != kTaskDoneEntry) {
      advance(*ep_, *at);
      return Status::Ok();
    }
    if (!j.contains("task") || !j["task"].is_number_integer()) return Status::Fail("unreadable task_done entry");
    return task_done(j["task"].get<int>(), *at);
  }
  auto ev = parse_event_text(body);
  if (!ev) return ev.status();
  // A log written before revisions were recorded is revision 1's.
  if (!ep_) return open(*ev, kFirstRevision);
  return apply(*ep_, *ev);
}

Expected<Episode> Replayer::finish(std::optional<Date> ticked_to) {
  if (!ep_) return Error{"the log has no open entry"};
  if (ticked_to) advance(*ep_, *ticked_to);
  return std::move(*ep_);
}

// ---- commands ------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<Repository> repo, const Clock& clock, std::shared_ptr<spdlog::logger> log)
    : repo_(std::move(repo)), clock_(clock), log_(std::move(log)) {}

Expected<Recorded> Engine::open(const std::string& id, const std::string& patient, const Event& event) {
  std::optional<Recorded> out;
  Status s = repo_->write([&]() -> Status {
    auto r = open_in(id, patient, event);
    if (!r) return r.status();
    out = std::move(*r);
    return audit_in(out->duplicate ? "episode.open.repeat" : "episode.open", {out->episode});
  });
  if (!s) return s.error();
  return std::move(*out);
}

Expected<Recorded> Engine::record(const std::string& episode, const Event& event, std::optional<int64_t> expect_seq) {
  std::optional<Recorded> out;
  Status s = repo_->write([&]() -> Status {
    auto r = record_in(episode, event, expect_seq);
    if (!r) return r.status();
    out = std::move(*r);
    return audit_in(out->duplicate ? "event.record.repeat" : "event.record", {out->episode});
  });
  if (!s) return s.error();
  return std::move(*out);
}

// An event id recorded before: where, and the episode as it is now.
Expected<Recorded> Engine::earlier(Recorded r) {
  // Read only, so that a duplicate writes nothing; an episode opened earlier
  // in this transaction (an import batch) is not in the database yet.
  if (auto ep = repo_->episode(r.episode); ep) {
    r.state = ep->state;
    r.phase = ep->phase;
    return r;
  } else if (ep.kind() != ErrorKind::bad_input) {
    return ep.error();
  }
  auto w = repo_->load(r.episode);
  if (!w) return w.error();
  if (!*w) return store_failure("event " + clip(r.episode) + " of an episode that does not exist");
  r.state = (*w)->ep.state;
  r.phase = (*w)->ep.phase;
  return r;
}

Expected<Recorded> Engine::open_in(const std::string& given_id, const std::string& given_patient, const Event& event) {
  std::string episode = given_id;
  if (episode.empty()) {
    auto next = repo_->next_episode_id();
    if (!next) return next.error();
    episode = std::move(*next);
  }
  if (episode.size() > 100) return bad_input("episode id must be 1-100 characters");
  // Users type ids and see them in lists, letters and errors: no control
  // characters (an import took "a\nb"; noticed while fixing a fuzz finding).
  for (unsigned char c : episode)
    if (c < 0x20 || c == 0x7f) return bad_input("episode id " + clip(episode) + ": contains a control character");
  const std::string label = event_label(episode, 0, kTriggers.name(event.type));
  if (event.type != Trigger::open) return bad_input(label + ": an episode must start with an 'open' event");
  if (auto e = repo_->find_event(event.id); !e) return e.error();
  else if (*e) return earlier(**e);
  auto exists = repo_->exists(episode);
  if (!exists) return exists.error();
  if (*exists) {
    // Another transaction may have opened it with this very event since the
    // event id was looked up (PostgreSQL reads each statement afresh): then
    // the answer is the one a retry one after the other gets.
    if (auto again = repo_->find_event(event.id); !again) return again.error();
    else if (*again) return earlier(**again);
    return bad_input(clip(episode) + ": the episode already exists");
  }
  if (!event.patient.empty() && !given_patient.empty() && event.patient != given_patient)
    return bad_input(label + ": the event's 'patient' differs from the one given");
  // Found by fuzz_commands: a longer reference was logged, and rebuild then
  // refused the whole database.
  if (Status st = check_patient_reference(given_patient); !st.ok()) return bad_input(label + ": " + st.message());
  Event logged = event;  // the log keeps the patient reference, so rebuild can recreate the projection
  if (!given_patient.empty()) logged.patient = given_patient;
  auto opened = open_episode(episode, logged.patient, event);
  if (!opened) return bad_input(label + ": " + opened.message());
  logged.revision = opened->revision;  // and the pathway revision the episode follows for good
  auto w = repo_->create(std::move(*opened));
  if (!w) return w.error();
  (*w)->last_seq = 1;
  if (Status s = repo_->append(episode, {1, "open", event.at, event_text(logged), event.id}); !s) return s.error();
  log_->info("episode {}: opened", episode);
  return Recorded{episode, 1, false, (*w)->ep.state, (*w)->ep.phase};
}

Expected<Recorded> Engine::record_in(const std::string& episode, const Event& event, std::optional<int64_t> expect_seq) {
  auto loaded = repo_->load(episode);
  if (!loaded) return loaded.error();
  Working* w = *loaded;
  if (!w) return not_found("no episode '" + clip(episode) + "'");
  const std::string label = event_label(episode, w->last_seq, kTriggers.name(event.type));
  if (auto e = repo_->find_event(event.id); !e) return e.error();
  else if (*e) return earlier(**e);
  if (expect_seq && *expect_seq != w->last_seq)
    return stale(label + ": expected the log to end at event " + std::to_string(*expect_seq) + " but it ends at " +
                     std::to_string(w->last_seq) + " (someone recorded in between)");
  if (Status s = apply(w->ep, event); !s) return bad_input(label + ": " + s.message());
  ++w->last_seq;
  if (Status s = repo_->append(episode, {w->last_seq, std::string(kTriggers.name(event.type)), event.at, event_text(event), event.id}); !s)
    return s.error();
  log_->debug("episode {}: recorded event {} ({})", episode, w->last_seq - 1, kTriggers.name(event.type));
  return Recorded{episode, w->last_seq, false, w->ep.state, w->ep.phase};
}

// A line of an import: its number and its JSON (discarded when it is not JSON).
struct ImportLine {
  int64_t number = 0;
  json j;
  bool nul = false;
};

Status Engine::import_line(const json& j, ImportReport& rep) {
  if (j.is_discarded() || !j.is_object()) return bad_input("not a JSON object");
  if (!j.contains("episode") || !j["episode"].is_string()) return bad_input("needs a string 'episode'");
  if (!j.contains("event")) return bad_input("needs an 'event'");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "episode" && it.key() != "patient" && it.key() != "event")
      return bad_input("unknown field '" + clip(it.key(), 40) + "'");  // a key "pati\nt": one line (fuzz_commands)
  if (j.contains("patient") && !j["patient"].is_string()) return bad_input("'patient' must be a string");
  const std::string episode = j["episode"].get<std::string>();
  const json& body = j["event"];
  const bool is_open = body.is_object() && body.contains("type") && body["type"] == "open";
  if (episode.empty() || episode.size() > 100) return bad_input("episode id must be 1-100 characters");
  auto event = parse_event(body);
  if (!event) {
    int64_t index = 0;
    if (!is_open) {
      auto w = repo_->load(episode);
      if (!w) return w.error();
      if (!*w) return bad_input("no episode '" + clip(episode) + "'");
      index = (*w)->last_seq;
    }
    return bad_input(event_label(episode, index, body) + ": " + event.message());
  }
  Expected<Recorded> r = is_open ? open_in(episode, j.contains("patient") && j["patient"].is_string() ? j["patient"].get<std::string>() : "", *event)
                                 : record_in(episode, *event, std::nullopt);
  if (!r) return r.status();
  if (r->duplicate) rep.duplicates++;
  else if (is_open) { rep.episodes_opened++; rep.recorded++; }
  else rep.recorded++;
  return Status::Ok();
}

Expected<ImportReport> Engine::import(std::istream& in, int batch_size, const Progress& progress) {
  ImportReport rep;
  int64_t committed_lines = 0;
  bool more = true;
  while (more) {
    ImportReport batch;
    int64_t lines = rep.lines;
    // The batch's lines are read first (the transaction's body can then run
    // again, and the repository can look up their event ids and episodes at
    // once: repo_->prefetch).
    std::vector<ImportLine> parsed;
    std::vector<std::string> event_ids, episodes;
    std::string line;
    while (int64_t(parsed.size()) < batch_size) {
      if (!std::getline(in, line)) { more = false; break; }
      ++lines;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ImportLine l{lines, json(), line.find('\0') != std::string::npos};
      if (!l.nul) l.j = json::parse(line, nullptr, false);
      if (l.j.is_object()) {
        if (auto e = l.j.find("episode"); e != l.j.end() && e->is_string()) episodes.push_back(e->get<std::string>());
        if (auto ev = l.j.find("event"); ev != l.j.end() && ev->is_object())
          if (auto id = ev->find("id"); id != ev->end() && id->is_string()) event_ids.push_back(id->get<std::string>());
      }
      parsed.push_back(std::move(l));
    }
    Status s = repo_->write([&]() -> Status {
      batch = {};
      if (Status p = repo_->prefetch(event_ids, episodes); !p) return p;
      for (const ImportLine& l : parsed) {
        Status e = l.nul ? bad_input("the line contains a NUL byte") : import_line(l.j, batch);
        if (!e) {
          std::string where = "line " + std::to_string(l.number) + ": " + e.message();
          if (committed_lines > 0) where += " (lines 1-" + std::to_string(committed_lines) + " were imported before)";
          return Error{where, e.kind() == ErrorKind::store ? ErrorKind::store : ErrorKind::bad_input};
        }
        if (progress && l.number % kProgressEvery == 0) progress(l.number, 0);
      }
      if (!actor_ || episodes.empty()) return Status::Ok();
      std::vector<std::string> touched = episodes;
      std::sort(touched.begin(), touched.end());
      touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
      return audit_in("import", std::move(touched));
    });
    if (!s) return s.error();
    rep.lines = lines;
    committed_lines = lines;
    rep.recorded += batch.recorded;
    rep.duplicates += batch.duplicates;
    rep.episodes_opened += batch.episodes_opened;
  }
  if (progress) progress(rep.lines, 0);
  return rep;
}

// One transaction: every due timer fires, or none (a second tick waits for
// the write lock and then finds nothing due). The log gets one tick row, not
// an entry per episode: rebuild advances each episode to the latest tick
// after its last entry.
Expected<TickReport> Engine::tick(Date now) {
  TickReport rep;
  Status s = repo_->write([&]() -> Status {
    rep = {};
    for (;;) {
      auto due = repo_->load_due(now, 2000);
      if (!due) return due.status();
      if (due->empty()) break;
      for (Working* w : *due) {
        int fired = advance(w->ep, now);
        rep.timers += fired;
        rep.episodes++;
        log_->debug("episode {}: {} timer(s) fired", w->ep.id, fired);
      }
      if (Status f = repo_->flush(); !f) return f;
    }
    if (rep.episodes > 0) return repo_->log_tick(now);
    return Status::Ok();
  });
  if (!s) return s.error();
  return rep;
}

Expected<std::vector<StoredEvent>> Engine::events(const std::string& episode) {
  auto raw = repo_->log(episode);
  if (!raw) return raw.error();
  std::vector<StoredEvent> out;
  out.reserve(raw->size());
  for (const LogEntry& l : *raw) {
    StoredEvent e;
    e.seq = l.seq;
    e.type = l.type;
    e.at = l.at;
    auto unreadable = [&] { return store_failure("episode " + clip(episode) + " event " + std::to_string(e.seq - 1) + ": unreadable"); };
    if (e.type == kTaskDoneEntry) {
      json j = json::parse(l.body, nullptr, false);
      if (!j.is_object() || !j.contains("task") || !j["task"].is_number_integer()) return unreadable();
      e.task = j["task"].get<int>();
    } else if (e.type != "tick") {  // schema 2 logged ticks per episode
      auto ev = parse_event_text(l.body);
      if (!ev) return unreadable();
      e.event = std::move(*ev);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Expected<TickReport> Engine::tick_batch(Date now, int limit) {
  if (!repo_->batched_ticks()) return store_failure("this database fires timers in one transaction only: use tick");
  TickReport rep;
  Status s = repo_->write([&]() -> Status {
    rep = {};
    auto due = repo_->load_due(now, limit);
    if (!due) return due.status();
    for (Working* w : *due) {
      int fired = advance(w->ep, now);
      rep.timers += fired;
      rep.episodes++;
      log_->debug("episode {}: {} timer(s) fired", w->ep.id, fired);
    }
    if (rep.episodes > 0) return repo_->log_tick(now);
    return Status::Ok();
  });
  if (!s) return s.error();
  return rep;
}

Expected<Engine::AdoptReport> Engine::adopt_all(const std::vector<std::string>& ids,
                                                const std::function<Expected<Adoption>(const std::string&)>& load,
                                                const Progress& progress) {
  AdoptReport rep;
  const int64_t total = int64_t(ids.size());
  Status s = repo_->write([&]() -> Status {
    rep = {};
    int64_t done = 0;
    for (const std::string& id : ids) {
      if (progress && done > 0 && done % kProgressEvery == 0) progress(done, total);
      ++done;
      auto a = load(id);
      if (!a) return a.status();
      const std::vector<LogEntry>& log = a->log;
      if (log.empty()) return bad_input("episode " + clip(id) + ": the log is empty");
      for (size_t i = 0; i < log.size(); ++i)
        if (log[i].seq != int64_t(i + 1)) return bad_input("episode " + clip(id) + ": the log has a gap at entry " + std::to_string(i + 1));
      auto there = repo_->exists(id);
      if (!there) return there.status();
      if (*there) {
        auto stored = repo_->log(id);
        if (!stored) return stored.status();
        auto same = [](const LogEntry& x, const LogEntry& y) {
          return x.seq == y.seq && x.type == y.type && x.at == y.at && x.body == y.body && x.event_id == y.event_id;
        };
        if (!std::equal(stored->begin(), stored->end(), log.begin(), log.end(), same))
          return bad_input("episode " + clip(id) + " is already in the database with a different log; nothing was copied");
        rep.present++;
        continue;
      }
      Replayer r(id, a->expected.patient);
      for (const LogEntry& e : log)
        if (Status st = r.entry(e.type, e.body); !st) return bad_input(event_label(id, e.seq - 1, std::string_view(e.type)) + ": " + st.message());
      auto ep = r.finish(a->ticked_to);
      if (!ep) return bad_input("episode " + clip(id) + ": " + ep.message());
      if (*ep != a->expected) return bad_input("episode " + clip(id) + ": its log does not replay to the stored episode; nothing was copied");
      auto w = repo_->create(std::move(*ep));
      if (!w) return w.status();
      (*w)->last_seq = log.back().seq;
      for (const LogEntry& e : log)
        if (Status st = repo_->append(id, e); !st) return st;
      if (a->ticked_to)
        if (Status t = repo_->note_ticked(id, log.back().seq, *a->ticked_to); !t) return t;
      // Written out as the transaction goes (a practice may hold millions of
      // events); committed, or rolled back, as a whole.
      if (++rep.copied % 500 == 0)
        if (Status f = repo_->flush(); !f) return f;
    }
    return Status::Ok();
  });
  if (!s) return s.error();
  if (progress) progress(total, total);
  return rep;
}

Expected<TaskRow> Engine::complete_task(int64_t task_id) {
  std::optional<TaskRow> row;
  Status s = repo_->write([&]() -> Status {
    auto ref = repo_->task_ref(task_id);
    if (!ref) return ref.status();
    if (!*ref) return not_found("no task " + std::to_string(task_id));
    const auto& [episode, seq] = **ref;
    auto loaded = repo_->load(episode);
    if (!loaded) return loaded.status();
    Working* w = *loaded;
    if (!w) return store_failure("task " + std::to_string(task_id) + " has no episode");
    // Completing a task is dated like an event: timers due by then fire first.
    Date at = std::max({clock_.today(), w->ep.last_event, w->ep.last_fired});
    advance(w->ep, at);
    if (Status c = zorgpad::complete_task(w->ep, seq, at); !c) return bad_input("task " + std::to_string(task_id) + ": " + c.message());
    json body = {{"type", kTaskDoneEntry}, {"task", seq}, {"at", at.iso()}};
    ++w->last_seq;
    if (Status a = repo_->append(episode, {w->last_seq, kTaskDoneEntry, at, body.dump(), ""}); !a) return a;
    row = TaskRow{task_id, episode, w->ep.tasks[size_t(seq - 1)]};
    return audit_in("task.done", {episode});
  });
  if (!s) return s.error();
  log_->info("episode {}: task {} done", row->episode, task_id);
  return std::move(*row);
}

AuditRow Engine::audit_row(const std::string& action, std::vector<std::string> episodes, const std::string& outcome) const {
  AuditRow row;
  row.at = (actor_->audit_clock ? *actor_->audit_clock : clock_).unix_seconds();
  row.user = actor_->user;
  row.role = actor_->role;
  row.address = actor_->address;
  row.action = action;
  row.episodes = std::move(episodes);
  row.outcome = outcome;
  return row;
}

Status Engine::audit_in(const char* action, std::vector<std::string> episodes) {
  if (!actor_) return Status::Ok();
  return repo_->append_audit(audit_row(action, std::move(episodes), "ok"));
}

Status Engine::audit(const std::string& action, std::vector<std::string> episodes, const std::string& outcome) {
  if (!actor_) return Status::Ok();
  return repo_->append_audit(audit_row(action, std::move(episodes), outcome));
}

Expected<RebuildReport> Engine::rebuild(const Progress& progress) {
  if (!progress) return repo_->rebuild([](const std::string& id) { return std::make_unique<Replayer>(id); });
  // The repository asks for a replay per episode, from several threads on a
  // large store: counted here, so that the SQL layer knows nothing of it.
  auto total = repo_->episode_count();
  if (!total) return total.error();
  std::atomic<int64_t> started{0};
  std::mutex reporting;
  auto r = repo_->rebuild([&](const std::string& id) {
    const int64_t n = ++started;
    if (n % kProgressEvery == 0)
      if (std::unique_lock lock(reporting, std::try_to_lock); lock.owns_lock()) progress(std::min(n, *total), *total);
    return std::make_unique<Replayer>(id);
  });
  if (r) progress(r->episodes, r->episodes);
  return r;
}

}  // namespace zorgpad
