// The routes of `zorgpad serve`, without an HTTP library (see web.hpp).
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "adapters/calendar/calendar.hpp"
#include "adapters/letters/letters.hpp"
#include "adapters/overview/overview.hpp"
#include "adapters/web/http.hpp"
#include "adapters/web/web.hpp"
#include "adapters/texts/share_dir.hpp"
#include "adapters/texts/task_titles.hpp"
#include "states/diagram.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::web {
namespace {

using nlohmann::json;
using namespace http;

// The request this thread serves, for its audit rows: the queue and the
// practice it works on (set once the practice is resolved).
struct AuditContext {
  AuditQueue* queue = nullptr;
  std::string practice;
};
thread_local AuditContext* t_audit = nullptr;


constexpr int64_t kDefaultEpisodePage = 50;
constexpr int64_t kDefaultTaskPage = 100;
constexpr int64_t kMaxPage = 1000;
constexpr const char* kCookie = "zorgpad_token";
// Headers a request may carry at most once (names in lower case, as in HttpRequest).
constexpr const char* kSingleHeaders[] = {"host", "authorization", "x-zorgpad-token", "cookie", "content-length",
                                          "x-forwarded-for", "content-type"};
// Paths any client may read without a token: the dashboard's own files and the API's description.
constexpr const char* kPublicPaths[] = {"/", "/app.js", "/app.css", "/api/openapi.yaml"};
// The slow-down of bad tokens (docs/serve.md).
constexpr int kFreeFailures = 5;
constexpr auto kFailureWindow = std::chrono::minutes(10);
constexpr int64_t kMaxWaitSeconds = 300;

// The dashboard's own files only; letters bring their own inline style and no script.
constexpr const char* kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
constexpr const char* kLetterCsp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

struct Page {
  int64_t offset = 0, limit = 0;
};
Expected<Page> parse_page(const Params& p, int64_t default_limit) {
  Page page{0, default_limit};
  if (p.has("offset")) {
    auto v = parse_int(p.get("offset"));
    if (!v) return Error{"offset: must be a whole number >= 0"};
    page.offset = *v;
  }
  if (p.has("limit")) {
    auto v = parse_int(p.get("limit"));
    if (!v || *v < 1 || *v > kMaxPage) return Error{"limit: must be 1-" + std::to_string(kMaxPage)};
    page.limit = *v;
  }
  return page;
}

Expected<EpisodeFilter> filter_of(const Params& p) {
  FilterInput in{p.get("state"), p.get("phase"), p.get("profile"), p.get("gp"), p.get("therapist"), p.get("search")};
  auto f = parse_episode_filter(in);
  if (!f) return Error{"query parameter " + f.message()};
  return f;
}

std::optional<Date> date_param(const Params& p, const std::string& name, std::string& err) {
  if (!p.has(name)) return std::nullopt;
  auto d = Date::parse(p.get(name));
  if (!d) err = name + ": '" + p.get(name).substr(0, 40) + "' is not a date (YYYY-MM-DD)";
  return d;
}

bool same_token(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string bearer_token(const HttpRequest& req) {
  std::string auth = header(req, "authorization");
  if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) return auth.substr(7);
  return header(req, "x-zorgpad-token");
}

std::string cookie_token(const HttpRequest& req) {
  std::string cookies = header(req, "cookie");
  const std::string key = std::string(kCookie) + "=";
  for (size_t pos = 0; pos < cookies.size();) {
    size_t end = cookies.find(';', pos);
    if (end == std::string::npos) end = cookies.size();
    std::string item = cookies.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(' '));
    if (item.compare(0, key.size(), key) == 0) return item.substr(key.size());
    pos = end + 1;
  }
  return {};
}

// The cookie that keeps a token given with ?token= for the reads that follow.
std::string token_cookie(const std::string& token, bool secure) {
  return std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

std::string query_token(const HttpRequest& req) {
  for (const auto& [k, v] : req.query)
    if (k == "token") return v;
  return {};
}

// "/api/tasks/12/done" → {"api", "tasks", "12", "done"}; an episode id may
// hold anything, so /api/episodes/ takes the rest of the path whole.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += path[i];
    }
  }
  return out;
}

// ---- handlers ----------------------------------------------------------------------

// The overview's body and the episodes it names (for the audit row).
Expected<std::pair<std::string, std::vector<std::string>>> build_overview_body(Store& store, Date today, const HttpRequest& req) {
  auto p = Params::parse(req, {"state", "phase", "profile", "gp", "therapist", "search", "limit"});
  if (!p) return p.error();
  auto f = filter_of(*p);
  if (!f) return f.error();
  OverviewOptions o;
  o.filter = *f;
  if (p->has("limit")) {
    auto v = parse_int(p->get("limit"));
    if (!v || *v < 1 || *v > kOverviewMaxLimit) return bad_input("limit: must be 1-" + std::to_string(kOverviewMaxLimit));
    o.limit = *v;
  }
  auto r = build_overview(store, today, o);
  if (!r) return r.error().kind == ErrorKind::store ? r.error() : bad_input(r.error().message);
  const Overview& ov = r.value();
  std::set<std::string> shown;  // every episode the overview names
  for (const auto* list : {&ov.urgent, &ov.overdue, &ov.due_this_week})
    for (const auto& t : list->items) shown.insert(t.episode.id);
  for (const auto& w : ov.waiting_on_gp.items) shown.insert(w.episode.id);
  for (const auto& x : ov.referred_this_month.items) shown.insert(x.episode.id);
  for (const auto& x : ov.inactive.items) shown.insert(x.episode.id);
  return std::make_pair(dump(overview_json(ov)) + "\n", std::vector<std::string>(shown.begin(), shown.end()));
}

HttpResponse get_episodes(Store& store, const HttpRequest& req) {
  auto p = Params::parse(req, {"state", "phase", "profile", "gp", "therapist", "search", "offset", "limit"});
  if (!p) return error(400, p.message());
  auto f = filter_of(*p);
  if (!f) return error(400, f.message());
  auto page = parse_page(*p, kDefaultEpisodePage);
  if (!page) return error(400, page.message());
  f->offset = page->offset;
  f->limit = page->limit;
  auto r = store.list_episodes(*f);
  if (!r) return store_error(r.error());
  const auto& pg = r.value();
  json out = {{"total", pg.total}, {"offset", page->offset}, {"limit", page->limit}, {"episodes", json::array()}};
  std::vector<std::string> shown;
  for (const auto& s : pg.episodes) {
    out["episodes"].push_back(summary_json(s));
    shown.push_back(s.id);
  }
  if (!shown.empty())
    if (auto failed = audit_or_fail(store, "episodes.list", std::move(shown))) return *failed;
  return json_response(200, out);
}

std::string letter_url(int64_t task_id) { return "/api/tasks/" + std::to_string(task_id) + "/letter"; }

HttpResponse get_episode(Store& store, Date today, const std::string& id, const HttpRequest& req) {
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto r = store.load(id);
  if (!r)  // load's only bad input is an unknown id
    return r.error().kind != ErrorKind::store ? error(404, "no episode '" + clip(id) + "'") : store_error(r.error());
  const Episode& ep = r.value();
  TaskFilter tf;
  tf.episode = ep.id;
  auto tr = store.tasks(tf);
  if (!tr) return store_error(tr.error());
  std::map<int, int64_t> task_ids;  // seq → id
  for (const auto& row : tr.value()) task_ids[row.task.seq] = row.id;
  auto log = store.events(ep.id);
  if (!log) return store_error(log.error());

  json out = episode_view(ep);
  out["today"] = today.iso();
  json letters = json::array();
  for (size_t i = 0; i < ep.tasks.size() && i < out["tasks"].size(); ++i) {
    const Task& t = ep.tasks[i];
    auto it = task_ids.find(t.seq);
    if (it == task_ids.end()) continue;
    out["tasks"][i]["id"] = it->second;
    out["tasks"][i]["overdue"] = is_overdue(t, today);  // the overview's rule, for the timeline
    if (is_letter(t.kind)) {
      out["tasks"][i]["letter"] = letter_url(it->second);
      letters.push_back({{"task", it->second}, {"kind", kTaskKinds.name(t.kind)}, {"due", t.due.iso()},
                         {"status", kTaskStatuses.name(t.status)}, {"html", letter_url(it->second)},
                         {"text", letter_url(it->second) + "?format=text"},
                         {"pdf", letter_url(it->second) + "?format=pdf"}});
    }
  }
  out["letters"] = letters;
  json history = json::array();
  for (const auto& e : log.value())
    history.push_back({{"seq", e.seq}, {"type", e.type}, {"at", e.at.iso()}});
  out["log"] = history;
  if (auto failed = audit_or_fail(store, "episode.read", {ep.id})) return *failed;
  HttpResponse answer = json_response(200, out);
  answer.headers.emplace_back("ETag", "\"" + std::to_string(log.value().size()) + "\"");
  return answer;
}

HttpResponse get_tasks(Store& store, const HttpRequest& req) {
  auto p = Params::parse(req, {"due_before", "kind", "status", "episode", "offset", "limit"});
  if (!p) return error(400, p.message());
  TaskFilter f;
  std::string err;
  f.due_before = date_param(*p, "due_before", err);
  if (!err.empty()) return error(400, err);
  if (p->has("kind") && !(f.kind = kTaskKinds.parse(p->get("kind"))))
    return error(400, "kind: unknown task kind '" + p->get("kind").substr(0, 40) + "'");
  if (p->has("status") && !(f.status = kTaskStatuses.parse(p->get("status"))))
    return error(400, "status: unknown status '" + p->get("status").substr(0, 40) + "' (open, done, cancelled)");
  if (p->has("episode")) f.episode = p->get("episode");
  auto page = parse_page(*p, kDefaultTaskPage);
  if (!page) return error(400, page.message());
  auto r = store.tasks(f);
  if (!r) return store_error(r.error());
  const auto& rows = r.value();
  json out = {{"total", int64_t(rows.size())}, {"offset", page->offset}, {"limit", page->limit}, {"tasks", json::array()}};
  std::set<std::string> shown;
  for (int64_t i = page->offset; i < int64_t(rows.size()) && i < page->offset + page->limit; ++i) {
    out["tasks"].push_back(task_row_json(rows[size_t(i)]));
    shown.insert(rows[size_t(i)].episode);
  }
  if (!shown.empty())
    if (auto failed = audit_or_fail(store, "tasks.list", {shown.begin(), shown.end()})) return *failed;
  return json_response(200, out);
}

std::optional<TaskRow> find_task(Store& store, int64_t id, std::optional<Error>& err) {
  TaskFilter f;
  f.id = id;
  auto r = store.tasks(f);
  if (!r) {
    err = r.error();
    return std::nullopt;
  }
  const auto& rows = r.value();
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<int64_t> task_id_of(const std::string& s) {
  auto v = parse_int(s);
  if (!v || *v < 1) return std::nullopt;
  return v;
}

HttpResponse post_task_done(Store& store, const std::string& id_text, const HttpRequest& req) {
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto id = task_id_of(id_text);
  if (!id) return error(400, "task id: '" + id_text.substr(0, 40) + "' is not a task id");
  std::optional<Error> err;
  auto row = find_task(store, *id, err);
  if (err) return store_error(*err);
  if (!row) return error(404, "no task " + std::to_string(*id));
  auto r = store.complete_task(*id);
  if (!r) {  // the engine refuses: the task is no longer open (audited as a refused write)
    if (r.error().kind != ErrorKind::bad_input) return store_error(r.error());
    if (auto failed = audit_or_fail(store, "task.done", {row->episode}, "rejected 409")) return *failed;
    return error(409, r.error().message);
  }
  return json_response(200, {{"task", task_row_json(r.value())}});
}

HttpResponse get_letter(Store& store, const Principal& who, const std::string& id_text, const HttpRequest& req,
                        const LetterSources& sources) {
  auto p = Params::parse(req, {"lang", "format"});
  if (!p) return error(400, p.message());
  auto id = task_id_of(id_text);
  if (!id) return error(400, "task id: '" + id_text.substr(0, 40) + "' is not a task id");
  std::optional<Lang> lang = Lang::nl;
  if (p->has("lang") && !(lang = kLangs.parse(p->get("lang")))) return error(400, "lang: must be nl or en");
  std::optional<LetterFormat> format = LetterFormat::html;
  if (p->has("format") && !(format = kLetterFormats.parse(p->get("format"))))
    return error(400, "format: must be html, text or pdf");
  std::optional<Error> err;
  auto row = find_task(store, *id, err);
  if (err) return store_error(*err);
  if (!row) return error(404, "no task " + std::to_string(*id));
  if (!is_letter(row->task.kind))
    return error(400, "task " + std::to_string(*id) + " is a " + std::string(kTaskKinds.name(row->task.kind)) +
                          " task, not a letter; letters exist for " + letter_kinds_list());
  auto er = store.load(row->episode);
  if (!er) return store_error(er.error());
  if (who.role == access::Role::gp && er->gp != who.gp) return error(403, "this letter is not addressed to your GP code");
  auto log = store.events(row->episode);  // the letter replays it to its task's date (spec §12)
  if (!log) return store_error(log.error());
  auto templates = LetterTemplates::load(letters_dir(), *lang, *format);
  if (!templates) return error(500, "letter: " + templates.message());
  auto letter = write_letter(*templates, er->patient, log.value(), *row, sources);
  if (!letter) return error(letter.error().kind == ErrorKind::bad_input ? 422 : 500, "letter: " + letter.message());
  if (auto failed = audit_or_fail(store, "letter.read", {row->episode})) return *failed;
  HttpResponse r;
  r.content_type = *format == LetterFormat::html ? "text/html; charset=utf-8"
                  : *format == LetterFormat::pdf ? "application/pdf"
                                                 : "text/plain; charset=utf-8";
  r.body = *letter;
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Content-Security-Policy", kLetterCsp);
  r.headers.emplace_back("Content-Disposition", "inline; filename=\"" + letter_file_name(*row, *format) + "\"");
  return r;
}

HttpResponse get_diagram(const HttpRequest& req) {
  auto p = Params::parse(req, {"format"});
  if (!p) return error(400, p.message());
  std::string f = p->has("format") ? p->get("format") : "mermaid";
  if (f != "mermaid" && f != "dot") return error(400, "format: must be mermaid or dot");
  return json_response(200, {{"format", f}, {"source", draw_diagram(f == "dot" ? DiagramFormat::dot : DiagramFormat::mermaid)}});
}

// The words for every code, for the dashboard (GET /api/texts): the
// `words` table of the letters' strings file of the language (the one table
// of wording, share/letters/strings.<lang>.json, checked as the letters
// check it) and the task kinds' titles (adapters/texts/task_titles, the
// calendar's). No patient data: not audited.
HttpResponse get_texts(const HttpRequest& req) {
  auto p = Params::parse(req, {"lang"});
  if (!p) return error(400, p.message());
  std::optional<Lang> lang = Lang::nl;
  if (p->has("lang") && !(lang = kLangs.parse(p->get("lang")))) return error(400, "lang: must be nl or en");
  auto templates = LetterTemplates::load(letters_dir(), *lang, LetterFormat::text);
  if (!templates) return error(500, "texts: " + templates.message());
  const json& strings = templates->strings();
  if (!strings.contains("words") || !strings["words"].is_object()) return error(500, "texts: the strings file has no words");
  json kinds = json::object();
  for (std::size_t i = 0; i < kTaskKinds.size(); ++i) {
    TaskKind k = kTaskKinds.at(i);
    kinds[std::string(kTaskKinds.name(k))] = task_kind_title(k, *lang == Lang::nl);
  }
  HttpResponse r = json_response(200, {{"lang", std::string(kLangs.name(*lang))}, {"words", strings["words"]},
                                       {"task_kinds", kinds}});
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

// The names the practice's episodes carry, for the dashboard's filter
// choices (GET /api/names): every therapist and GP, sorted, without "".
HttpResponse get_names(Store& store, const HttpRequest& req) {
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  std::set<std::string> therapists, gps;
  auto n = store.for_each_episode([&](const Episode& ep) {
    if (!ep.therapist.empty()) therapists.insert(ep.therapist);
    if (!ep.gp.empty()) gps.insert(ep.gp);
  });
  if (!n) return store_error(n.error());
  return json_response(200, {{"therapists", therapists}, {"gps", gps}});
}

// Recovery after one and after three months (KNGF A.2.3), the definition of
// `zorgpad demo` (adapters/demo/simulation.cpp): an episode is followed for
// D days when it has a treatment start at least D days before today; it
// recovered within D days when it was closed (stopped) with reason
// goals_met, request_met or self_sufficient fewer than D days after its
// treatment start. D is 30 and 91. Grouped by the profile given at the
// treatment start (the first stratification) and by therapist.
constexpr int kOneMonth = 30, kThreeMonths = 91;
struct Recovery {
  int64_t treated = 0, followed1 = 0, recovered1 = 0, followed3 = 0, recovered3 = 0;
  void add(bool f1, bool r1, bool f3, bool r3) {
    ++treated;
    followed1 += f1;
    recovered1 += f1 && r1;
    followed3 += f3;
    recovered3 += f3 && r3;
  }
  json to_json() const {
    return {{"treated", treated},
            {"one_month", {{"followed", followed1}, {"recovered", recovered1}}},
            {"three_months", {{"followed", followed3}, {"recovered", recovered3}}}};
  }
};

HttpResponse get_outcomes(Store& store, Date today, const HttpRequest& req) {
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  Recovery all;
  std::map<int, Recovery> by_profile;  // 0: no profile
  std::map<std::string, Recovery> by_therapist;
  auto n = store.for_each_episode([&](const Episode& ep) {
    if (!ep.treatment_start) return;
    const Date start = *ep.treatment_start;
    std::optional<int> stopped;  // days from the treatment start to a recovered stop
    if (ep.state == State::closed && ep.reason) {
      auto reason = kStopReasons.parse(*ep.reason);
      if (reason == StopReason::goals_met || reason == StopReason::request_met || reason == StopReason::self_sufficient)
        for (auto it = ep.transitions.rbegin(); it != ep.transitions.rend(); ++it)
          if (it->to == "closed") {
            stopped = it->at - start;
            break;
          }
    }
    const int followed = today - start;
    const bool f1 = followed >= kOneMonth, f3 = followed >= kThreeMonths;
    const bool r1 = stopped && *stopped < kOneMonth, r3 = stopped && *stopped < kThreeMonths;
    all.add(f1, r1, f3, r3);
    const int profile = !ep.profile_history.empty() ? ep.profile_history.front().profile : ep.profile.value_or(0);
    by_profile[profile].add(f1, r1, f3, r3);
    by_therapist[ep.therapist].add(f1, r1, f3, r3);
  });
  if (!n) return store_error(n.error());
  json out = {{"today", today.iso()},
              {"expected", {{"one_month", 0.25}, {"three_months", 0.5}}},
              {"days", {{"one_month", kOneMonth}, {"three_months", kThreeMonths}}},
              {"all", all.to_json()},
              {"by_profile", json::array()},
              {"by_therapist", json::array()}};
  for (const auto& [profile, r] : by_profile) {
    json g = r.to_json();
    g["profile"] = profile ? json(profile) : json(nullptr);
    out["by_profile"].push_back(g);
  }
  for (const auto& [therapist, r] : by_therapist) {
    json g = r.to_json();
    g["therapist"] = therapist;
    out["by_therapist"].push_back(g);
  }
  // Counts only, no episode named: the row records the access, without ids.
  if (auto failed = audit_or_fail(store, "outcomes.read", {})) return *failed;
  HttpResponse r = json_response(200, out);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse get_calendar(Store& store, const Clock& clock, const HttpRequest& req) {
  auto p = Params::parse(req, {"from", "to", "lang"});
  if (!p) return error(400, p.message());
  CalendarOptions o;
  std::string err;
  o.from = date_param(*p, "from", err);
  if (err.empty()) o.to = date_param(*p, "to", err);
  if (!err.empty()) return error(400, err);
  if (o.from && o.to && *o.to < *o.from) return error(400, "to: " + o.to->iso() + " lies before from " + o.from->iso());
  if (p->has("lang")) {
    o.lang = p->get("lang");
    if (o.lang != "nl" && o.lang != "en") return error(400, "lang: must be nl or en");
  }
  auto rows = store.tasks(TaskFilter{});
  if (!rows) return store_error(rows.error());
  auto ics = render_calendar(rows.value(), o, clock.unix_seconds());
  if (!ics) return error(500, "calendar: " + ics.message());
  std::set<std::string> shown;  // the episodes of the appointments in the export
  for (const auto& row : rows.value())
    if (is_calendar_task(row.task.kind) && (!o.from || !(row.task.due < *o.from)) && (!o.to || !(*o.to < row.task.due)))
      shown.insert(row.episode);
  if (!shown.empty())
    if (auto failed = audit_or_fail(store, "calendar.read", {shown.begin(), shown.end()})) return *failed;
  HttpResponse r;
  r.content_type = "text/calendar; charset=utf-8";
  r.body = *ics;
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Content-Disposition", "inline; filename=\"zorgpad.ics\"");
  return r;
}

HttpResponse get_health(Store& store, const HttpRequest& req) {
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto r = store.episode_count();
  if (!r) return error(503, r.error().message);
  return json_response(200, {{"status", "ok"}, {"episodes", r.value()}});
}

// The letters the caller may read: a GP's, those of the episodes addressed
// to their GP code; anyone else's, every letter of the practice.
HttpResponse get_letters(Store& store, const Principal& who, const HttpRequest& req) {
  auto p = Params::parse(req, {"status"});
  if (!p) return error(400, p.message());
  std::optional<TaskStatus> status;
  if (p->has("status") && !(status = kTaskStatuses.parse(p->get("status"))))
    return error(400, "status: unknown status '" + clip(p->get("status"), 40) + "' (open, done, cancelled)");
  std::vector<TaskRow> rows;
  auto add = [&](const TaskFilter& f) -> Status {
    auto r = store.tasks(f);
    if (!r) return r.error();
    for (auto& row : *r)
      if (is_letter(row.task.kind)) rows.push_back(std::move(row));
    return Status::Ok();
  };
  if (who.role == access::Role::gp) {
    EpisodeFilter f;
    f.gp = who.gp;
    f.limit = kMaxPage;
    for (;;) {  // the GP's episodes, a page at a time (by key)
      auto page = store.list_episodes(f);
      if (!page) return store_error(page.error());
      for (const auto& e : page->episodes) {
        TaskFilter tf;
        tf.episode = e.id;
        tf.status = status;
        if (Status s = add(tf); !s) return store_error(s.error());
      }
      if (int64_t(page->episodes.size()) < f.limit) break;
      f.after = page->episodes.back().id;
    }
  } else {
    TaskFilter tf;
    tf.status = status;
    if (Status s = add(tf); !s) return store_error(s.error());
  }
  json out = json::array();
  std::set<std::string> shown;
  for (const auto& row : rows) {
    json j = task_row_json(row);
    j["html"] = letter_url(row.id);
    j["text"] = letter_url(row.id) + "?format=text";
    j["pdf"] = letter_url(row.id) + "?format=pdf";
    out.push_back(j);
    shown.insert(row.episode);
  }
  if (!shown.empty())
    if (auto failed = audit_or_fail(store, "letters.list", {shown.begin(), shown.end()})) return *failed;
  return json_response(200, {{"total", int64_t(rows.size())}, {"letters", out}});
}

}  // namespace

namespace http {

std::optional<HttpResponse> audit_or_fail(Store& store, const std::string& action, std::vector<std::string> episodes,
                                          const std::string& outcome) {
  Status s = Status::Ok();
  if (t_audit && t_audit->queue && store.actor()) {
    const Actor& a = *store.actor();
    AuditRow row;
    row.at = (a.audit_clock ? *a.audit_clock : store.clock()).unix_seconds();
    row.practice = t_audit->practice;
    row.user = a.user;
    row.role = a.role;
    row.action = action;
    row.episodes = std::move(episodes);
    row.address = a.address;
    row.outcome = outcome;
    s = t_audit->queue->append(std::move(row));
  } else {
    s = store.audit(action, std::move(episodes), outcome);
  }
  if (!s) return error(500, "the access cannot be written to the audit log: " + s.message());
  return std::nullopt;
}

}  // namespace http

std::string web_dir() { return share_dir() + "/web"; }

Expected<Assets> load_assets(const std::string& dir) {
  const std::pair<const char*, std::pair<const char*, const char*>> files[] = {
      {"/", {"index.html", "text/html; charset=utf-8"}},
      {"/app.js", {"app.js", "text/javascript; charset=utf-8"}},
      {"/app.css", {"app.css", "text/css; charset=utf-8"}},
      {"/api/openapi.yaml", {"openapi.yaml", "application/yaml; charset=utf-8"}},
  };
  Assets out;
  for (const auto& [url, file] : files) {
    std::string path = dir + "/" + file.first;
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"cannot read the dashboard file '" + path + "' (set ZORGPAD_SHARE_DIR)"};
    std::ostringstream buf;
    buf << in.rdbuf();
    out[url] = Asset{file.second, buf.str()};
  }
  return out;
}

bool is_loopback_host(std::string_view h) {
  if (h == "localhost" || h == "::1" || h == "[::1]") return true;
  if (h.substr(0, 4) != "127.") return false;
  int dots = 0, digits = 0;
  for (char c : h.substr(4)) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (c >= '0' && c <= '9' && ++digits <= 3) {
    } else {
      return false;
    }
  }
  return dots == 2 && digits > 0;
}

std::string client_key(std::string_view ip) {
  const std::string text(ip);
  in6_addr a6{};
  if (::inet_pton(AF_INET6, text.c_str(), &a6) != 1) return text;  // IPv4 as it is (or not an address)
  char buf[INET6_ADDRSTRLEN];
  if (IN6_IS_ADDR_V4MAPPED(&a6)) return ::inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof buf) ? buf : text;
  std::fill(std::begin(a6.s6_addr) + 8, std::end(a6.s6_addr), uint8_t(0));
  return ::inet_ntop(AF_INET6, &a6, buf, sizeof buf) ? std::string(buf) + "/64" : text;
}

std::string generate_token() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int j = 0; j < 8; ++j, v >>= 4) t += hex[v & 15];
  }
  return t;
}

struct AuditQueue::Item {
  AuditRow row;
  std::optional<Status> done;
};

AuditQueue::AuditQueue(Opener open) : open_(std::move(open)), thread_([this] { run(); }) {}

AuditQueue::~AuditQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status AuditQueue::append(AuditRow row) {
  Item item{std::move(row), std::nullopt};
  std::unique_lock lock(mu_);
  if (stopping_) return Status::Fail("the server is stopping", ErrorKind::store);
  items_.push_back(&item);
  cv_.notify_all();
  cv_.wait(lock, [&] { return item.done.has_value(); });
  return *item.done;
}

void AuditQueue::run() {
  // Signals are for serve's own waiter thread (SIGINT, SIGTERM stop it cleanly).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_ptr<Store> store;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !items_.empty(); });
    if (items_.empty()) return;  // stopping, nothing left
    std::deque<Item*> batch;
    batch.swap(items_);
    lock.unlock();
    if (!store) store = open_();
    // One transaction per practice among the rows taken (PostgreSQL: each
    // practice's rows under its own row-level security).
    std::map<std::string, std::vector<Item*>> by_practice;
    for (Item* it : batch) by_practice[it->row.practice].push_back(it);
    std::vector<std::pair<Item*, Status>> results;
    for (auto& [practice, items] : by_practice) {
      Status s = store ? Status::Ok() : Status::Fail("the database cannot be opened", ErrorKind::store);
      if (s && !practice.empty()) s = store->use_practice(practice);
      std::vector<AuditRow> rows;
      for (Item* it : items) rows.push_back(it->row);
      if (s) s = store->append_audits(rows);
      for (Item* it : items) results.emplace_back(it, s);
    }
    lock.lock();
    for (auto& [it, s] : results) it->done = s;
    cv_.notify_all();
  }
}

int64_t BadTokens::wait_seconds(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return 0;
  const auto now = std::chrono::steady_clock::now();
  if (it->second.blocked_until <= now) return 0;
  return std::chrono::ceil<std::chrono::seconds>(it->second.blocked_until - now).count();
}

void BadTokens::failed(const std::string& address) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (by_address_.size() > 100000)  // forget the stale ones rather than grow without bound
    for (auto it = by_address_.begin(); it != by_address_.end();)
      it = now - it->second.first > kFailureWindow && it->second.blocked_until <= now ? by_address_.erase(it) : std::next(it);
  Entry& e = by_address_[address];
  if (e.failures == 0 || (now - e.first > kFailureWindow && e.blocked_until <= now)) {
    e.failures = 0;
    e.first = now;
  }
  ++e.failures;
  if (e.failures >= kFreeFailures) {
    const int64_t wait = std::min<int64_t>(kMaxWaitSeconds, int64_t(1) << std::min(e.failures - kFreeFailures, 20));
    e.blocked_until = now + std::chrono::seconds(wait);
  }
}

void BadTokens::succeeded(const std::string& address) {
  std::lock_guard lock(mu_);
  by_address_.erase(address);
}

WebApp::WebApp(const Clock& clock, AccessPolicy policy, Assets assets, std::shared_ptr<spdlog::logger> logger)
    : clock_(clock), policy_(std::move(policy)), assets_(std::move(assets)), log_(std::move(logger)) {}

std::optional<HttpResponse> WebApp::check_headers(const HttpRequest& req) const {
  // Headers read for access or framing must come once: with two Host headers
  // the Host check would judge one copy while another part of the chain might
  // use the other (RFC 9112 §3.2: 400).
  for (const char* name : kSingleHeaders)
    if (req.headers.count(name) > 1) return error(400, std::string("the request has more than one ") + name + " header");
  if (policy_.loopback && !policy_.behind_proxy) {
    std::string host = header(req, "host");
    if (!host.empty() && host.front() == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
      host.resize(colon);
    }
    if (!host.empty() && !is_loopback_host(host))
      return error(403, "this server answers to loopback names only (Host: '" + clip(host, 60) + "')");
  }
  return std::nullopt;
}

// Behind a proxy, the client is the last address the proxy appended to
// X-Forwarded-For (earlier entries come from the client and prove nothing).
std::string WebApp::client_address(const HttpRequest& req) const {
  if (policy_.behind_proxy) {
    std::string xff = header(req, "x-forwarded-for");
    if (auto comma = xff.rfind(','); comma != std::string::npos) xff = xff.substr(comma + 1);
    xff.erase(0, xff.find_first_not_of(' '));
    while (!xff.empty() && xff.back() == ' ') xff.pop_back();
    if (!xff.empty() && xff.size() <= 64) return xff;
  }
  return req.remote.empty() ? "unknown" : req.remote;
}

std::variant<Principal, HttpResponse> WebApp::authenticate(const HttpRequest& req, const StoreFn& store_fn,
                                                           const std::string& address) const {
  const bool read = req.method == "GET" || req.method == "HEAD";
  auto unauthorized = [&](const std::string& why) {
    auto r = error(401, why);
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"zorgpad\"");
    return r;
  };
  if (const int64_t wait = bad_tokens_.wait_seconds(address); wait > 0) {
    auto r = error(429, "too many bad tokens from this address; try again in " + std::to_string(wait) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(wait));
    return r;
  }
  // A POST takes the token from a header only: a cookie or a link cannot make a browser write.
  std::string token = bearer_token(req);
  if (token.empty() && read) token = query_token(req);
  if (token.empty() && read) token = cookie_token(req);
  Principal local;
  local.user = policy_.local_user;
  local.role = access::Role::practice_admin;
  local.practice = policy_.practice;
  local.address = address;
  local.local = true;
  if (token.empty()) {
    if (policy_.local_access && read) return local;
    if (policy_.local_access)
      return unauthorized("this action needs the token: send 'Authorization: Bearer TOKEN' (printed when serve started, or a user's)");
    return unauthorized("this server needs a user's token: send 'Authorization: Bearer TOKEN' (zorgpad user add)");
  }
  if (policy_.local_access && same_token(token, policy_.local_token)) return local;
  if (access::is_user_token(token)) {
    Store* store = store_fn ? store_fn() : nullptr;
    if (!store) return error(503, "the database cannot be opened");
    auto user = access::authenticate(*store, token);
    if (!user) return error(503, "the users cannot be read: " + user.error().message);
    if (*user) {
      bad_tokens_.succeeded(address);
      const UserRow& u = **user;
      Principal p;
      p.user = access::audit_name(u);
      p.role = *access::parse_role(u.role);
      p.practice = u.practice;
      p.gp = u.gp;
      p.user_id = u.id;
      p.address = address;
      return p;
    }
  }
  bad_tokens_.failed(address);
  if (log_) log_->warn("serve: a bad token from {}", address);
  return unauthorized("the token is not valid (unknown, revoked or mistyped)");
}

HttpResponse WebApp::handle(const HttpRequest& req, const StoreFn& store_fn) const {
  HttpResponse r;
  std::string who = "-";
  if (auto bad = check_headers(req)) {
    r = std::move(*bad);
  } else if (auto asset = assets_.find(req.path);
             asset != assets_.end() && std::find(std::begin(kPublicPaths), std::end(kPublicPaths), req.path) != std::end(kPublicPaths)) {
    if (req.method != "GET" && req.method != "HEAD") {
      r = error(405, "method " + clip(req.method, 20) + " is not allowed on " + clip(req.path) + " (allowed: GET, HEAD)");
      r.headers.emplace_back("Allow", "GET, HEAD");
    } else {
      r.content_type = asset->second.content_type;
      r.body = asset->second.body;
      r.headers.emplace_back("Cache-Control", "no-cache");
      if (req.path == "/") r.headers.emplace_back("Content-Security-Policy", kPageCsp);
      // The dashboard opened with ?token=T (a user's): the links the browser
      // follows by itself (a letter, the calendar) carry it as a cookie.
      const std::string qt = query_token(req);
      if (req.path == "/" && !qt.empty() && access::is_user_token(qt)) {
        auto auth = authenticate(req, store_fn, client_address(req));
        if (auto* p = std::get_if<Principal>(&auth); p && !p->local)
          r.headers.emplace_back("Set-Cookie", token_cookie(qt, policy_.behind_proxy));
      }
    }
  } else {
    const std::string address = client_address(req);
    auto auth = authenticate(req, store_fn, address);
    if (auto* refused = std::get_if<HttpResponse>(&auth)) {
      r = std::move(*refused);
    } else {
      const Principal& p = std::get<Principal>(auth);
      who = p.user;
      Store* store = store_fn ? store_fn() : nullptr;
      if (!store) {
        r = error(503, "the database cannot be opened");
      } else {
        static const SystemClock wall;  // the audit log's time is the real one, whatever --today says
        store->set_actor(Actor{p.user, access::role_name(p.role), p.address, &wall});
        AuditContext audit{audit_queue_, policy_.multi_practice ? policy_.practice : std::string()};
        t_audit = &audit;
        try {
          r = route(req, *store, p);
        } catch (const std::exception& e) {
          r = error(500, std::string("internal error: ") + e.what());
        }
        t_audit = nullptr;
        store->set_actor(std::nullopt);
      }
      // A page opened with ?token=… keeps the token in a cookie for the reads that follow.
      const std::string qt = query_token(req);
      if (r.status < 400 && !qt.empty() && !p.local)
        r.headers.emplace_back("Set-Cookie", token_cookie(qt, policy_.behind_proxy));
    }
  }
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  if (log_) log_->info("{} {} {} {}", req.method, clip(req.path, 60), r.status, who);  // never the query: it may hold a token
  return r;
}

// The overview at a million episodes reads every open task (seconds); the
// same question asked again before anything changed gets the same answer
// from memory. Each answer is audited all the same.
HttpResponse WebApp::overview(Store& store, Date today, const std::string& practice, const HttpRequest& req) const {
  std::string key = practice + "|" + today.iso();
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& kv : req.query)
    if (kv.first != "token" && kv.first != "practice") query.push_back(kv);
  std::sort(query.begin(), query.end());
  for (const auto& [k, v] : query) key += "|" + k + "=" + v;
  auto version = store.content_version();
  if (!version) return store_error(version.error());
  std::optional<CachedOverview> hit;
  if (*version) {
    std::lock_guard lock(overview_mu_);
    if (auto it = overviews_.find(key); it != overviews_.end() && it->second.version == **version) hit = it->second;
  }
  if (!hit) {
    auto built = build_overview_body(store, today, req);
    if (!built) return store_error(built.error());
    hit = CachedOverview{version->value_or(""), std::move(built->first), std::move(built->second)};
    if (*version) {
      std::lock_guard lock(overview_mu_);
      if (overviews_.size() >= 256) overviews_.clear();  // many filters: start over rather than grow
      overviews_[key] = *hit;
    }
  }
  if (auto failed = audit_or_fail(store, "overview.read", hit->shown)) return *failed;
  HttpResponse r;
  r.body = std::move(hit->body);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse WebApp::route(const HttpRequest& req, Store& store, const Principal& who) const {
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  const auto seg = segments(req.path);
  auto method_not_allowed = [&](const char* allowed) {
    auto r = error(405, "method " + clip(req.method, 20) + " is not allowed on " + clip(req.path) + " (allowed: " + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    return r;
  };

  // Who the caller is and what they may do: before the practice is resolved,
  // so that a page opened with a practice the caller may not see can still ask.
  if (req.path == "/api/me") {
    if (!get) return method_not_allowed("GET, HEAD");
    const bool fixed = !policy_.multi_practice || !who.practice.empty();
    json me = {{"user", who.user},
               {"role", access::role_name(who.role)},
               {"practice", who.practice.empty() ? policy_.practice : who.practice},
               {"practice_fixed", fixed},
               {"local", who.local},
               {"may", {{"read_episodes", may_read_episodes(who)},
                        {"write_episodes", may_write_episodes(who)},
                        {"mark_done", may_mark_done(who)},
                        {"manage_users", may_manage_users(who)},
                        {"read_letters", true}}}};
    if (who.user_id) me["id"] = who.user_id;
    if (!who.gp.empty()) me["gp"] = who.gp;
    return json_response(200, me);
  }
  if (req.path == "/api/practices") {
    if (!get) return method_not_allowed("GET, HEAD");
    if (!policy_.multi_practice) return json_response(200, {{"practices", json::array()}});  // one practice: nothing to name
    if (!who.practice.empty()) return json_response(200, {{"practices", json::array({who.practice})}});
    auto all = store.practices();
    if (!all) return store_error(all.error());
    return json_response(200, {{"practices", *all}});
  }

  // The practice the request works on: the caller's own, or (a coordinator,
  // a network GP) the one named, else the one served.
  std::string named;
  int practice_params = 0;
  for (const auto& [k, v] : req.query)
    if (k == "practice") {
      named = v;
      ++practice_params;
    }
  if (practice_params > 1) return error(400, "query parameter 'practice' given twice");
  std::string practice = policy_.practice;
  if (!policy_.multi_practice) {
    if (practice_params) return error(400, "practice: this database is one practice; leave ?practice= out");
  } else if (!who.practice.empty()) {
    if (practice_params && named != who.practice) return error(403, "you may not see practice '" + clip(named, 32) + "'");
    practice = who.practice;
  } else if (practice_params) {
    practice = named;
  }
  if (policy_.multi_practice) {
    if (practice.empty()) return error(400, "practice: name the practice with ?practice=CODE");
    if (Status s = store.use_practice(practice); !s) return error(400, s.message());
    if (t_audit) t_audit->practice = practice;
  }

  if (req.path == "/healthz") {
    if (!get) return method_not_allowed("GET, HEAD");
    if (!may_read_episodes(who)) return forbidden(who, "count the practice's episodes");
    return get_health(store, req);
  }
  if (req.path == "/calendar.ics") {
    if (!get) return method_not_allowed("GET, HEAD");
    if (!may_read_episodes(who)) return forbidden(who, "read the practice's calendar");
    return get_calendar(store, clock_, req);
  }
  if (seg.size() >= 2 && seg[0] == "api") {
    const Date today = clock_.today();
    if (seg[1] == "overview" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      if (!may_read_episodes(who)) return forbidden(who, "read the overview");
      return overview(store, today, practice, req);
    }
    if (seg[1] == "diagram" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      return get_diagram(req);
    }
    if (seg[1] == "texts" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      return get_texts(req);
    }
    if (seg[1] == "names" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      if (!may_read_episodes(who)) return forbidden(who, "read the practice's therapists and GPs");
      return get_names(store, req);
    }
    if (seg[1] == "outcomes" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      if (!may_read_episodes(who)) return forbidden(who, "read the practice's outcomes");
      return get_outcomes(store, today, req);
    }
    if (seg[1] == "import" && seg.size() == 2) {
      if (!post) return method_not_allowed("POST");
      return post_import(store, who, req);
    }
    if (seg[1] == "letters" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      return get_letters(store, who, req);
    }
    if (seg[1] == "episodes") {
      if (seg.size() == 2) {
        if (post) return post_episode(store, who, req);
        if (!get) return method_not_allowed("GET, HEAD, POST");
        if (!may_read_episodes(who)) return forbidden(who, "read episodes");
        return get_episodes(store, req);
      }
      std::string id = req.path.substr(std::string("/api/episodes/").size());
      constexpr std::string_view kEvents = "/events";
      if (id.size() > kEvents.size() && id.compare(id.size() - kEvents.size(), kEvents.size(), kEvents) == 0) {
        id.resize(id.size() - kEvents.size());
        if (id.empty() || id.size() > 100) return error(404, "no episode '" + clip(id) + "'");
        if (post) return post_event(store, who, id, req);
        if (!get) return method_not_allowed("GET, HEAD, POST");
        return get_events(store, who, id, req);
      }
      if (!get) return method_not_allowed("GET, HEAD");
      if (id.empty() || id.size() > 100) return error(404, "no episode '" + clip(id) + "'");
      if (!may_read_episodes(who)) return forbidden(who, "read episodes");
      return get_episode(store, today, id, req);
    }
    if (seg[1] == "tasks") {
      if (seg.size() == 2) {
        if (!get) return method_not_allowed("GET, HEAD");
        if (!may_read_episodes(who)) return forbidden(who, "read tasks");
        return get_tasks(store, req);
      }
      if (seg.size() == 4 && seg[3] == "done") {
        if (!post) return method_not_allowed("POST");
        if (!may_mark_done(who)) return forbidden(who, "mark tasks done");
        return post_task_done(store, seg[2], req);
      }
      if (seg.size() == 4 && seg[3] == "letter") {
        if (!get) return method_not_allowed("GET, HEAD");
        return get_letter(store, who, seg[2], req,
                          {practice_ ? &*practice_ : nullptr, patients_ ? &*patients_ : nullptr});
      }
    }
    if (seg[1] == "users") {
      if (seg.size() == 2) {
        if (post) return post_user(store, who, req);
        if (!get) return method_not_allowed("GET, HEAD, POST");
        return get_users(store, who, req);
      }
      if (seg.size() == 4 && seg[3] == "revoke") {
        if (!post) return method_not_allowed("POST");
        return post_user_revoke(store, who, seg[2], req);
      }
    }
  }
  return error(404, "no such resource: " + clip(req.path));
}

Status check_serve_options(const ServeOptions& o) {
  if (o.port < 0 || o.port > 65535) return Status::Fail("--port: must be 0-65535");
  if (o.max_connections < 1 || o.max_connections > 1000) return Status::Fail("--max-connections: must be 1-1000");
  if (o.threads < 1 || o.threads > 256) return Status::Fail("--threads: must be 1-256");
  if (o.threads > o.max_connections)
    return Status::Fail("--threads (" + std::to_string(o.threads) + ") cannot exceed --max-connections (" +
                        std::to_string(o.max_connections) + ")");
  if (o.max_per_client < 1 || o.max_per_client > o.max_connections)
    return Status::Fail("--max-per-client: must be 1-" + std::to_string(o.max_connections) + " (--max-connections)");
  if (o.request_timeout < 1 || o.request_timeout > 300) return Status::Fail("--request-timeout: must be 1-300 seconds");
  if (o.tls_cert.empty() != o.tls_key.empty()) return Status::Fail("--tls-cert and --tls-key go together");
  if (!o.tls_cert.empty() && o.behind_proxy) return Status::Fail("--behind-proxy: the proxy ends TLS; leave out --tls-cert and --tls-key");
  if (!is_loopback_host(o.bind) && o.tls_cert.empty() && !o.behind_proxy)
    return Status::Fail("refusing to serve on " + o.bind +
                        " without TLS: give --tls-cert and --tls-key, or --behind-proxy when a reverse proxy ends TLS "
                        "(docs/deploy.md)");
  return Status::Ok();
}

}  // namespace zorgpad::web
