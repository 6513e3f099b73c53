// The routes of `zorgpad serve`, without an HTTP library (see web.hpp).
#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "adapters/calendar/calendar.hpp"
#include "adapters/letters/letters.hpp"
#include "adapters/overview/overview.hpp"
#include "adapters/web/web.hpp"
#include "states/diagram.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::web {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultEpisodePage = 50;
constexpr int64_t kDefaultTaskPage = 100;
constexpr int64_t kMaxPage = 1000;
constexpr const char* kCookie = "zorgpad_token";
// Headers a request may carry at most once (names in lower case, as in HttpRequest).
constexpr const char* kSingleHeaders[] = {"host", "authorization", "x-zorgpad-token", "cookie", "content-length"};

// The dashboard's own files only; letters bring their own inline style and no script.
constexpr const char* kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
constexpr const char* kLetterCsp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body) + "\n";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse error(int status, std::string message) {
  return json_response(status, {{"error", std::move(message)}, {"status", status}});
}

HttpResponse store_error(const Error& e) {
  return e.kind == ErrorKind::bad_input ? error(400, e.message) : error(500, e.message);
}

// Query parameters, each allowed name at most once; `token` is the access
// check's. Anything else is a mistake worth a 400, not a silent default.
class Params {
 public:
  static Expected<Params> parse(const HttpRequest& req, std::initializer_list<const char*> allowed) {
    Params p;
    std::set<std::string> names(allowed.begin(), allowed.end());
    for (const auto& [k, v] : req.query) {
      if (k == "token") continue;
      if (!names.count(k)) return Error{"unknown query parameter '" + k.substr(0, 40) + "'"};
      if (!p.values_.emplace(k, v).second) return Error{"query parameter '" + k + "' given twice"};
    }
    return p;
  }
  std::string get(const std::string& k) const {
    auto it = values_.find(k);
    return it == values_.end() ? std::string() : it->second;
  }
  bool has(const std::string& k) const { return values_.count(k) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

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

std::string header(const HttpRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : it->second;
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

HttpResponse get_overview(Store& store, Date today, const HttpRequest& req) {
  auto p = Params::parse(req, {"state", "phase", "profile", "gp", "therapist", "search", "limit"});
  if (!p) return error(400, p.message());
  auto f = filter_of(*p);
  if (!f) return error(400, f.message());
  OverviewOptions o;
  o.filter = *f;
  if (p->has("limit")) {
    auto v = parse_int(p->get("limit"));
    if (!v || *v < 1 || *v > kOverviewMaxLimit) return error(400, "limit: must be 1-" + std::to_string(kOverviewMaxLimit));
    o.limit = *v;
  }
  auto r = build_overview(store, today, o);
  if (!r) return store_error(r.error());
  return json_response(200, overview_json(r.value()));
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
  for (const auto& s : pg.episodes) out["episodes"].push_back(summary_json(s));
  return json_response(200, out);
}

std::string letter_url(int64_t task_id) { return "/api/tasks/" + std::to_string(task_id) + "/letter"; }

HttpResponse get_episode(Store& store, Date today, const std::string& id, const HttpRequest& req) {
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto r = store.load(id);
  if (!r)  // load's only bad input is an unknown id
    return r.error().kind == ErrorKind::bad_input ? error(404, "no episode '" + id.substr(0, 100) + "'") : store_error(r.error());
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
                         {"text", letter_url(it->second) + "?format=text"}});
    }
  }
  out["letters"] = letters;
  json history = json::array();
  for (const auto& e : log.value())
    history.push_back({{"seq", e.seq}, {"type", e.type}, {"at", e.at.iso()}});
  out["log"] = history;
  return json_response(200, out);
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
  for (int64_t i = page->offset; i < int64_t(rows.size()) && i < page->offset + page->limit; ++i)
    out["tasks"].push_back(task_row_json(rows[size_t(i)]));
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
  if (!r)  // the engine refuses: the task is no longer open
    return r.error().kind == ErrorKind::bad_input ? error(409, r.error().message) : store_error(r.error());
  return json_response(200, {{"task", task_row_json(r.value())}});
}

HttpResponse get_letter(Store& store, Date today, const std::string& id_text, const HttpRequest& req) {
  auto p = Params::parse(req, {"lang", "format"});
  if (!p) return error(400, p.message());
  auto id = task_id_of(id_text);
  if (!id) return error(400, "task id: '" + id_text.substr(0, 40) + "' is not a task id");
  std::optional<Lang> lang = Lang::nl;
  if (p->has("lang") && !(lang = kLangs.parse(p->get("lang")))) return error(400, "lang: must be nl or en");
  std::optional<LetterFormat> format = LetterFormat::html;
  if (p->has("format") && !(format = kLetterFormats.parse(p->get("format"))))
    return error(400, "format: must be html or text");
  std::optional<Error> err;
  auto row = find_task(store, *id, err);
  if (err) return store_error(*err);
  if (!row) return error(404, "no task " + std::to_string(*id));
  if (!is_letter(row->task.kind))
    return error(400, "task " + std::to_string(*id) + " is a " + std::string(kTaskKinds.name(row->task.kind)) +
                          " task, not a letter; letters exist for " + letter_kinds_list());
  auto er = store.load(row->episode);
  if (!er) return store_error(er.error());
  auto log = store.events(row->episode);  // the letter tells "not measured again" from "unchanged"
  if (!log) return store_error(log.error());
  std::vector<Event> clinical = clinical_events(log.value());
  auto letter = render_letter(er.value(), *row, *lang, *format, today, &clinical);
  if (!letter) return error(500, "letter: " + letter.message());
  HttpResponse r;
  r.content_type = *format == LetterFormat::html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8";
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
  auto ics = render_calendar(store, clock, o);
  if (!ics) return error(500, "calendar: " + ics.message());
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

}  // namespace

std::string web_dir() {
  const char* env = std::getenv("ZORGPAD_SHARE_DIR");
  std::string base = env && *env ? env : ZORGPAD_SHARE_DIR;
  return base + "/web";
}

Expected<Assets> load_assets(const std::string& dir) {
  const std::pair<const char*, std::pair<const char*, const char*>> files[] = {
      {"/", {"index.html", "text/html; charset=utf-8"}},
      {"/app.js", {"app.js", "text/javascript; charset=utf-8"}},
      {"/app.css", {"app.css", "text/css; charset=utf-8"}},
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

WebApp::WebApp(const Clock& clock, AccessPolicy policy, Assets assets, std::shared_ptr<spdlog::logger> logger)
    : clock_(clock), policy_(std::move(policy)), assets_(std::move(assets)), log_(std::move(logger)) {}

std::optional<HttpResponse> WebApp::check_access(const HttpRequest& req) const {
  // Headers read for access or framing must come once: with two Host headers
  // the Host check would judge one copy while another part of the chain might
  // use the other (RFC 9112 §3.2: 400).
  for (const char* name : kSingleHeaders)
    if (req.headers.count(name) > 1) return error(400, std::string("the request has more than one ") + name + " header");
  if (policy_.loopback) {
    std::string host = header(req, "host");
    if (!host.empty() && host.front() == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
      host.resize(colon);
    }
    if (!host.empty() && !is_loopback_host(host))
      return error(403, "this server answers to loopback names only (Host: '" + host.substr(0, 60) + "')");
  }
  if (policy_.token.empty()) return std::nullopt;
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (!read) {
    if (same_token(bearer_token(req), policy_.token)) return std::nullopt;
    auto r = error(401, "this action needs the token: send 'Authorization: Bearer TOKEN' (printed when serve started)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"zorgpad\"");
    return r;
  }
  if (!policy_.reads_need_token) return std::nullopt;
  if (same_token(bearer_token(req), policy_.token) || same_token(cookie_token(req), policy_.token) ||
      same_token(query_token(req), policy_.token))
    return std::nullopt;
  auto r = error(401, "this server needs its token: open /?token=TOKEN, or send 'Authorization: Bearer TOKEN'");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"zorgpad\"");
  return r;
}

HttpResponse WebApp::handle(const HttpRequest& req, const StoreFn& store) const {
  HttpResponse r;
  if (auto denied = check_access(req)) {
    r = std::move(*denied);
  } else {
    try {
      r = route(req, store);
    } catch (const std::exception& e) {
      r = error(500, std::string("internal error: ") + e.what());
    }
    // A page opened with ?token=… keeps the token in a cookie for the reads that follow.
    if (policy_.reads_need_token && r.status < 400 && same_token(query_token(req), policy_.token))
      r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=" + policy_.token + "; Path=/; HttpOnly; SameSite=Strict");
  }
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  if (log_) log_->info("{} {} {}", req.method, req.path, r.status);
  return r;
}

HttpResponse WebApp::route(const HttpRequest& req, const StoreFn& store_fn) const {
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  const auto seg = segments(req.path);
  auto method_not_allowed = [&](const char* allowed) {
    auto r = error(405, "method " + req.method.substr(0, 20) + " is not allowed on " + req.path.substr(0, 100) +
                            " (allowed: " + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    return r;
  };
  auto with_store = [&](auto fn) -> HttpResponse {
    Store* s = store_fn ? store_fn() : nullptr;
    if (!s) return error(503, "the database cannot be opened");
    return fn(*s);
  };

  if (auto it = assets_.find(req.path); it != assets_.end()) {
    if (!get) return method_not_allowed("GET, HEAD");
    auto p = Params::parse(req, {});
    if (!p) return error(400, p.message());
    HttpResponse r;
    r.content_type = it->second.content_type;
    r.body = it->second.body;
    r.headers.emplace_back("Cache-Control", "no-cache");
    if (req.path == "/") r.headers.emplace_back("Content-Security-Policy", kPageCsp);
    return r;
  }
  if (req.path == "/healthz") {
    if (!get) return method_not_allowed("GET, HEAD");
    return with_store([&](Store& s) { return get_health(s, req); });
  }
  if (req.path == "/calendar.ics") {
    if (!get) return method_not_allowed("GET, HEAD");
    return with_store([&](Store& s) { return get_calendar(s, clock_, req); });
  }
  if (seg.size() >= 2 && seg[0] == "api") {
    const Date today = clock_.today();
    if (seg[1] == "overview" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      return with_store([&](Store& s) { return get_overview(s, today, req); });
    }
    if (seg[1] == "diagram" && seg.size() == 2) {
      if (!get) return method_not_allowed("GET, HEAD");
      return get_diagram(req);
    }
    if (seg[1] == "episodes") {
      if (!get) return method_not_allowed("GET, HEAD");
      if (seg.size() == 2) return with_store([&](Store& s) { return get_episodes(s, req); });
      const std::string id = req.path.substr(std::string("/api/episodes/").size());
      if (id.empty() || id.size() > 100) return error(404, "no episode '" + id.substr(0, 100) + "'");
      return with_store([&](Store& s) { return get_episode(s, today, id, req); });
    }
    if (seg[1] == "tasks") {
      if (seg.size() == 2) {
        if (!get) return method_not_allowed("GET, HEAD");
        return with_store([&](Store& s) { return get_tasks(s, req); });
      }
      if (seg.size() == 4 && seg[3] == "done") {
        if (!post) return method_not_allowed("POST");
        return with_store([&](Store& s) { return post_task_done(s, seg[2], req); });
      }
      if (seg.size() == 4 && seg[3] == "letter") {
        if (!get) return method_not_allowed("GET, HEAD");
        return with_store([&](Store& s) { return get_letter(s, today, seg[2], req); });
      }
    }
  }
  return error(404, "no such resource: " + req.path.substr(0, 100));
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
  if (!o.token.empty() && o.token.size() < 16) return Status::Fail("the token must have at least 16 characters");
  for (char c : o.token)
    if (c <= ' ' || c == ';' || c == ',' || c == '"' || c == '\\' || c == 0x7f)
      return Status::Fail("the token may hold printable characters only (no spaces, ';', ',', '\"', '\\')");
  if (!is_loopback_host(o.bind) && o.token.empty())
    return Status::Fail("refusing to serve on " + o.bind +
                        " without a token: give --token or set ZORGPAD_TOKEN (every request will need it)");
  return Status::Ok();
}

}  // namespace zorgpad::web
