// Inside adapters/web: what the route files share (answers, errors, query
// parameters, the caller). Not an interface of the module: web.hpp is.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/access/users.hpp"
#include "adapters/web/web.hpp"

namespace zorgpad::web::http {

using nlohmann::json;

inline std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

inline HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body) + "\n";
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

inline HttpResponse error(int status, std::string message) {
  return json_response(status, {{"error", std::move(message)}, {"status", status}});
}

// The engine's error as an answer: the caller's mistakes are 422 (a refused
// event or command, the CLI's one line), 404, 412; the database's 500.
inline HttpResponse engine_error(const Error& e) {
  switch (e.kind) {
    case ErrorKind::bad_input: return error(422, e.message);
    case ErrorKind::not_found: return error(404, e.message);
    case ErrorKind::stale: return error(412, e.message);
    case ErrorKind::store: break;
  }
  return error(500, e.message);
}

// A read's error: bad input is a bad query (400).
inline HttpResponse store_error(const Error& e) {
  if (e.kind == ErrorKind::store) return error(500, e.message);
  if (e.kind == ErrorKind::not_found) return error(404, e.message);
  return error(400, e.message);
}

inline std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

inline std::string header(const HttpRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : it->second;
}

// Query parameters, each allowed name at most once; `token` is the access
// check's and `practice` the practice's. Anything else is a mistake worth a
// 400, not a silent default.
class Params {
 public:
  static Expected<Params> parse(const HttpRequest& req, std::initializer_list<const char*> allowed) {
    Params p;
    std::set<std::string> names(allowed.begin(), allowed.end());
    for (const auto& [k, v] : req.query) {
      if (k == "token" || k == "practice") continue;
      if (!names.count(k)) return Error{"unknown query parameter '" + clip(k, 40) + "'"};
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

// Who is asking, once authenticated.
struct Principal {
  std::string user;  // as the audit log names it: "user:NAME#ID" or "local:LOGIN"
  access::Role role = access::Role::therapist;
  std::string practice;  // the one practice the caller is held to; "" for every practice
  std::string gp;        // a gp's GP code
  int64_t user_id = 0;   // 0 for the local user
  std::string address;   // the client's address
  bool local = false;    // serve on loopback without a token (docs/serve.md)
};

// What a role may do (docs/serve.md, "Users and roles").
inline bool may_read_episodes(const Principal& p) { return p.role != access::Role::gp; }
inline bool may_write_episodes(const Principal& p) {
  return p.role == access::Role::therapist || p.role == access::Role::practice_admin;
}
inline bool may_mark_done(const Principal& p) { return p.role != access::Role::gp; }
inline bool may_manage_users(const Principal& p) { return p.role == access::Role::practice_admin; }

inline HttpResponse forbidden(const Principal& p, const std::string& what) {
  return error(403, std::string("a ") + access::role_name(p.role) + " may not " + what);
}

// The routes of the write API and of the users (api_write.cpp); `practice`
// is the practice the request works on, already checked against the caller.
HttpResponse post_episode(Store& store, const Principal& who, const HttpRequest& req);
HttpResponse post_event(Store& store, const Principal& who, const std::string& episode, const HttpRequest& req);
HttpResponse post_import(Store& store, const Principal& who, const HttpRequest& req);
HttpResponse get_events(Store& store, const Principal& who, const std::string& episode, const HttpRequest& req);
HttpResponse get_users(Store& store, const Principal& who, const HttpRequest& req);
HttpResponse post_user(Store& store, const Principal& who, const HttpRequest& req);
HttpResponse post_user_revoke(Store& store, const Principal& who, const std::string& id, const HttpRequest& req);

// Appends the caller's audit row; an answer of 500 when that fails (NEN
// 7513: no access without its record).
std::optional<HttpResponse> audit_or_fail(Store& store, const std::string& action, std::vector<std::string> episodes,
                                          const std::string& outcome = "ok");

}  // namespace zorgpad::web::http
