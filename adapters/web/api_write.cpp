// The write API (POST /api/episodes, /api/episodes/{id}/events, /api/import),
// the dated log (GET /api/episodes/{id}/events) and the users of a practice
// (/api/users). Every rule stays in the engine; this file turns requests into
// its commands and its answers and errors into HTTP (docs/serve.md, "The
// write API").
#include <cctype>
#include <sstream>

#include "adapters/web/http.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::web::http {
namespace {

constexpr int64_t kDefaultImportBatch = 500;
constexpr size_t kMaxIdempotencyKey = 100;

// The JSON body of a POST: 400 when it is not JSON or not of an accepted type.
// The media type of Content-Type, without parameters, in lower case.
std::string media_type(const HttpRequest& req) {
  std::string type = header(req, "content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (char& c : type) c = char(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

Expected<json> json_body(const HttpRequest& req) {
  const std::string type = media_type(req);
  if (!type.empty() && type != "application/json")
    return bad_input("the body must be JSON (Content-Type: application/json), not '" + clip(type, 60) + "'");
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return bad_input(req.body.empty() ? "the request has no body (JSON expected)" : "the body is not valid JSON");
  return j;
}

// The Idempotency-Key header, when given, becomes the event's id (an id in
// the event itself does the same; when both are given they must agree).
Status apply_idempotency_key(const HttpRequest& req, json& event) {
  if (!req.headers.count("idempotency-key")) return Status::Ok();
  if (req.headers.count("idempotency-key") > 1) return bad_input("the request has more than one Idempotency-Key header");
  const std::string key = header(req, "idempotency-key");
  if (key.empty() || key.size() > kMaxIdempotencyKey) return bad_input("Idempotency-Key: 1-100 characters");
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e) return bad_input("Idempotency-Key: printable characters without spaces only");
  if (!event.is_object()) return Status::Ok();  // the event's own error follows
  if (auto id = event.find("id"); id != event.end() && !(id->is_string() && *id == key))
    return bad_input("Idempotency-Key: differs from the event's 'id'");
  event["id"] = key;
  return Status::Ok();
}

// If-Match: the log length the writer last saw ("4", or the ETag "\"4\"").
Expected<std::optional<int64_t>> if_match(const HttpRequest& req) {
  if (!req.headers.count("if-match")) return std::optional<int64_t>();
  if (req.headers.count("if-match") > 1) return bad_input("the request has more than one If-Match header");
  std::string v = header(req, "if-match");
  if (v == "*") return std::optional<int64_t>();  // any current version: the episode must exist, as it must anyway
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  auto n = parse_int(v);
  if (!n) return bad_input("If-Match: the episode's log length as sent in its ETag (a whole number), not '" + clip(v, 40) + "'");
  return std::optional<int64_t>(*n);
}

// Percent-encodes all but RFC 3986's unreserved characters.
std::string url_encode(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string etag(int64_t last_seq) { return "\"" + std::to_string(last_seq) + "\""; }

// The answer to a recorded event: what was recorded, and the episode now.
HttpResponse recorded_answer(Store& store, const Recorded& rec) {
  auto ep = store.load(rec.episode);
  if (!ep) return store_error(ep.error());
  auto len = store.log_length(rec.episode);
  if (!len) return store_error(len.error());
  json out = {{"recorded", {{"episode", rec.episode}, {"event", rec.seq - 1}, {"seq", rec.seq}, {"duplicate", rec.duplicate}}},
              {"episode", episode_view(*ep)}};
  HttpResponse r = json_response(rec.duplicate ? 200 : 201, out);
  r.headers.emplace_back("ETag", etag(*len));
  r.headers.emplace_back("Location", "/api/episodes/" + url_encode(rec.episode));
  return r;
}

// A refused write: nothing of it was written, and the attempt is audited.
HttpResponse refused(Store& store, const std::string& action, std::vector<std::string> episodes, HttpResponse answer) {
  if (auto failed = audit_or_fail(store, action, std::move(episodes), "rejected " + std::to_string(answer.status))) return *failed;
  return answer;
}


}  // namespace

HttpResponse post_episode(Store& store, const Principal& who, const HttpRequest& req) {
  if (!may_write_episodes(who)) return forbidden(who, "record events");
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto body = json_body(req);
  if (!body) return error(400, body.message());
  if (!body->is_object()) return error(400, "the body must be an object {\"episode\", \"patient\", \"event\"}");
  for (auto it = body->begin(); it != body->end(); ++it)
    if (it.key() != "episode" && it.key() != "patient" && it.key() != "event")
      return error(400, "unknown field '" + clip(it.key(), 40) + "' (episode, patient, event)");
  if (!body->contains("event")) return error(400, "the body needs an 'event' (the open event)");
  std::string id, patient;
  if (auto e = body->find("episode"); e != body->end()) {
    if (!e->is_string()) return error(400, "'episode' must be a string");
    id = e->get<std::string>();
    if (id.empty() || id.size() > 100) return error(400, "episode id must be 1-100 characters");
    // /api/episodes/{id}/events would be ambiguous for an id with a '/'.
    if (id.find('/') != std::string::npos) return error(400, "episode id: a '/' cannot be addressed over HTTP");
  }
  if (auto e = body->find("patient"); e != body->end()) {
    if (!e->is_string()) return error(400, "'patient' must be a string");
    patient = e->get<std::string>();
  }
  json& event = (*body)["event"];
  if (Status s = apply_idempotency_key(req, event); !s) return error(400, s.message());
  std::vector<std::string> named;
  if (!id.empty()) named.push_back(id);
  auto parsed = parse_event(event);
  if (!parsed)
    return refused(store, "episode.open", named, error(422, event_label(id.empty() ? "new episode" : id, 0, event) + ": " + parsed.message()));
  auto r = store.open(id, patient, *parsed);
  if (!r) return r.kind() == ErrorKind::store ? engine_error(r.error()) : refused(store, "episode.open", named, engine_error(r.error()));
  return recorded_answer(store, *r);
}

HttpResponse post_event(Store& store, const Principal& who, const std::string& episode, const HttpRequest& req) {
  if (!may_write_episodes(who)) return forbidden(who, "record events");
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto body = json_body(req);
  if (!body) return error(400, body.message());
  if (Status s = apply_idempotency_key(req, *body); !s) return error(400, s.message());
  auto expect = if_match(req);
  if (!expect) return error(400, expect.message());
  auto parsed = parse_event(*body);
  if (!parsed) {
    // Named by its place in the log, as the CLI's `record` names it.
    auto at = store.log_length(episode);
    if (!at) return at.kind() == ErrorKind::store ? store_error(at.error()) : error(404, "no episode '" + clip(episode) + "'");
    return refused(store, "event.record", {episode}, error(422, event_label(episode, *at, *body) + ": " + parsed.message()));
  }
  auto r = store.record(episode, *parsed, *expect);
  if (!r) {
    if (r.kind() == ErrorKind::store) return engine_error(r.error());
    if (r.kind() == ErrorKind::not_found) return engine_error(r.error());  // no episode of this practice: nothing to audit
    return refused(store, "event.record", {episode}, engine_error(r.error()));
  }
  return recorded_answer(store, *r);
}

HttpResponse post_import(Store& store, const Principal& who, const HttpRequest& req) {
  if (!may_write_episodes(who)) return forbidden(who, "import events");
  auto p = Params::parse(req, {"batch"});
  if (!p) return error(400, p.message());
  int64_t batch = kDefaultImportBatch;
  if (p->has("batch")) {
    auto v = parse_int(p->get("batch"));
    if (!v || *v < 1 || *v > 5000) return error(400, "batch: must be 1-5000");
    batch = *v;
  }
  const std::string type = media_type(req);
  if (!type.empty() && type != "application/x-ndjson")
    return error(400, "the body must be NDJSON (Content-Type: application/x-ndjson), not '" + clip(type, 60) + "'");
  std::istringstream in(req.body);
  auto r = store.import(in, int(batch));
  if (!r) return r.kind() == ErrorKind::store ? engine_error(r.error()) : refused(store, "import", {}, error(422, r.error().message));
  const auto& rep = *r;
  return json_response(200, {{"lines", rep.lines}, {"recorded", rep.recorded}, {"episodes_opened", rep.episodes_opened},
                             {"duplicates", rep.duplicates}});
}

HttpResponse get_events(Store& store, const Principal& who, const std::string& episode, const HttpRequest& req) {
  if (!may_read_episodes(who)) return forbidden(who, "read episodes");
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto log = store.raw_log(episode);
  if (!log) return log.kind() == ErrorKind::store ? store_error(log.error()) : error(404, "no episode '" + clip(episode) + "'");
  json events = json::array();
  for (const auto& e : *log) {
    json body = json::parse(e.body, nullptr, false);
    events.push_back({{"seq", e.seq}, {"event", e.seq - 1}, {"type", e.type}, {"at", e.at.iso()},
                      {"recorded_at", e.recorded_at}, {"id", e.event_id.empty() ? json(nullptr) : json(e.event_id)},
                      {"body", body.is_discarded() ? json(nullptr) : body}});
  }
  if (auto failed = audit_or_fail(store, "events.read", {episode})) return *failed;
  HttpResponse r = json_response(200, {{"episode", episode}, {"events", events}});
  r.headers.emplace_back("ETag", etag(int64_t(log->size())));
  return r;
}

HttpResponse get_users(Store& store, const Principal& who, const HttpRequest& req) {
  if (!may_manage_users(who)) return forbidden(who, "manage users");
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto rows = store.users(who.practice.empty() ? std::nullopt : std::optional<std::string>(who.practice));
  if (!rows) return store_error(rows.error());
  json out = json::array();
  for (const auto& u : *rows) out.push_back(access::user_json(u));
  return json_response(200, {{"users", out}});
}

HttpResponse post_user(Store& store, const Principal& who, const HttpRequest& req) {
  if (!may_manage_users(who)) return forbidden(who, "manage users");
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto body = json_body(req);
  if (!body) return error(400, body.message());
  if (!body->is_object()) return error(400, "the body must be an object {\"name\", \"role\"}");
  for (auto it = body->begin(); it != body->end(); ++it)
    if (it.key() != "name" && it.key() != "role" && it.key() != "practice")
      return error(400, "unknown field '" + clip(it.key(), 40) + "' (name, role, practice)");
  auto str = [&](const char* k) { return body->contains(k) && (*body)[k].is_string() ? (*body)[k].get<std::string>() : std::string(); };
  auto role = access::parse_role(str("role"));
  if (!role) return error(400, std::string("role: one of therapist, practice_admin"));
  if (*role != access::Role::therapist && *role != access::Role::practice_admin)
    return error(403, "a practice admin adds therapists and practice admins of their practice only");
  access::NewUser u{str("name"), *role, who.practice, ""};
  if (u.practice.empty()) u.practice = str("practice");  // a single-practice file served locally
  else if (body->contains("practice") && str("practice") != who.practice)
    return error(403, "a practice admin adds users of their own practice only");
  auto added = access::add_user(store, u);
  if (!added) return error(added.kind() == ErrorKind::store ? 500 : 400, added.error().message);
  json out = access::user_json(added->user);
  return json_response(201, {{"user", out}, {"token", added->token}});
}

HttpResponse post_user_revoke(Store& store, const Principal& who, const std::string& id_text, const HttpRequest& req) {
  if (!may_manage_users(who)) return forbidden(who, "manage users");
  auto p = Params::parse(req, {});
  if (!p) return error(400, p.message());
  auto id = parse_int(id_text);
  if (!id || *id < 1) return error(400, "user id: '" + clip(id_text, 40) + "' is not a user id");
  auto u = store.user(*id);
  if (!u) return store_error(u.error());
  if (!*u || (!who.practice.empty() && (*u)->practice != who.practice)) return error(404, "no user " + std::to_string(*id) + " in this practice");
  auto r = store.revoke_user(*id);
  if (!r) return store_error(r.error());
  auto now = store.user(*id);
  if (!now || !*now) return error(500, "the user vanished");
  return json_response(200, {{"user", access::user_json(**now)}, {"revoked", *r}});
}

}  // namespace zorgpad::web::http
