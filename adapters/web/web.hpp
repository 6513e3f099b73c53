// `zorgpad serve`: the coordinator's dashboard and a JSON API over the same
// store and engine as the CLI. Nothing here decides anything clinical: the
// overview comes from adapters/overview, episodes and tasks from the Store,
// the one write (a task marked done) is Store::complete_task, the diagram is
// drawn from the transition table, the calendar and the letters are those of
// adapters/calendar and adapters/letters.
//
// Two layers: WebApp (app.cpp) turns an HttpRequest into an HttpResponse and
// knows no HTTP library, so the routes, the access rules and the errors are
// plain functions; serve() (server.cpp, the only file that includes
// <httplib.h>) lets cpp-httplib parse requests on worker threads of its own
// pool and hands each request to WebApp with the Store of the worker thread
// that serves it (Store objects are one-per-thread; SQLite in WAL mode lets
// reads go on while a writer commits). server.cpp also bounds what a client
// can hold: the time and bytes a request may take, the connections per
// client address, the threads (see the limits in ServeOptions).
//
// Access (see docs/serve.md, "Users and roles"):
//   - a user token ("zp_…", `zorgpad user add`) names a user with a role:
//     therapist, practice_admin, coordinator or gp; the role decides the
//     routes, the user's practice the data (a coordinator and a network GP
//     name the practice with ?practice=CODE on PostgreSQL);
//   - on a loopback address and not --behind-proxy, a request without a
//     token reads as the local user ("local:LOGIN", a practice admin of the
//     one practice served); writes need the token printed at start; both
//     are audited under that name;
//   - the token travels as `Authorization: Bearer T` or `X-Zorgpad-Token: T`;
//     reads may also carry it as `?token=T` (a calendar subscription, the
//     first page load) or the `zorgpad_token` cookie that such a page load
//     sets (HttpOnly, SameSite=Strict); a POST accepts the header forms only,
//     so another site cannot make a browser act;
//   - repeated bad tokens from one address are slowed down: after 5 within
//     10 minutes, 429 with Retry-After (1 s, doubling, at most 5 minutes);
//   - on loopback, a request whose Host header names anything but a loopback
//     name is refused (403), so a rebound DNS name cannot read the data;
//   - a request with more than one Host, Authorization, X-Zorgpad-Token,
//     Cookie, Content-Length or X-Forwarded-For header is refused (400): which
//     of two copies counts would be a guess;
//   - every read of a patient's data and every write appends a row to the
//     audit log (NEN 7513), a write's in its own transaction.
//
// Web assets (index.html, app.js, app.css) are files under
// $ZORGPAD_SHARE_DIR/web, else under the share directory compiled in
// (ZORGPAD_SHARE_DIR, the source tree's share/); they are read once at start.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/logger.h>

#include "pathway/clock.hpp"
#include "pathway/expected.hpp"
#include "adapters/practice/practice.hpp"
#include "persistence/store.hpp"

namespace zorgpad::web {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::multimap<std::string, std::string> headers;         // names in lower case, every copy as sent
  std::string body;
  std::string remote;  // the peer's address
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct AccessPolicy {
  // The loopback convenience: reads without a token, writes with local_token,
  // as local_user. Off behind a proxy and off loopback.
  bool local_access = false;
  std::string local_token;
  std::string local_user = "local:zorgpad";
  bool loopback = true;        // check the Host header against loopback names
  bool behind_proxy = false;   // the client's address is the last X-Forwarded-For entry
  bool multi_practice = false; // PostgreSQL: a request works on one practice of many
  std::string practice;        // the practice served by default (serve --practice)
};

struct Asset {
  std::string content_type, body;
};
using Assets = std::map<std::string, Asset>;  // by URL path: "/", "/app.js", "/app.css"

// $ZORGPAD_SHARE_DIR/web when that variable is set, else ZORGPAD_SHARE_DIR/web.
std::string web_dir();
// Reads the dashboard's files; fails naming the file that is missing.
Expected<Assets> load_assets(const std::string& dir);

// "127.0.0.1" (any of 127/8), "::1", "[::1]", "localhost".
bool is_loopback_host(std::string_view host);
// 32 hex digits from std::random_device.
std::string generate_token();

// The routes. Thread-safety: handle() is const and keeps no state between
// calls; several threads call it at once, each with its own Store.
namespace http {
struct Principal;
}

// The audit rows of reads (and of refused writes), committed in groups: a
// request hands its row over and waits until the transaction that holds it
// has committed, so no answer leaves before its record; one transaction
// carries the rows of every request that came while the previous one
// committed. A write command's own row stays in the command's transaction.
class AuditQueue {
 public:
  using Opener = std::function<std::unique_ptr<Store>()>;
  explicit AuditQueue(Opener open);
  ~AuditQueue();
  AuditQueue(const AuditQueue&) = delete;
  AuditQueue& operator=(const AuditQueue&) = delete;
  // Blocks until the row is committed (or its transaction failed).
  Status append(AuditRow row);

 private:
  struct Item;
  void run();
  Opener open_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item*> items_;
  bool stopping_ = false;
  std::thread thread_;
};

// Bad tokens per client address, for the slow-down (thread-safe).
class BadTokens {
 public:
  // Seconds the address must wait; 0: it may try.
  int64_t wait_seconds(const std::string& address);
  void failed(const std::string& address);
  void succeeded(const std::string& address);

 private:
  struct Entry {
    int failures = 0;
    std::chrono::steady_clock::time_point first{}, blocked_until{};
  };
  std::mutex mu_;
  std::map<std::string, Entry> by_address_;
};

class WebApp {
 public:
  using StoreFn = std::function<Store*()>;  // the calling thread's store; null when it cannot be opened

  WebApp(const Clock& clock, AccessPolicy policy, Assets assets, std::shared_ptr<spdlog::logger> logger = nullptr);
  // Audit rows of reads through this queue (serve); without one, each its own transaction.
  void set_audit_queue(AuditQueue* queue) { audit_queue_ = queue; }
  // The practice and patients files of `serve --practice-file/--patients`,
  // read once at start: the letters' letterhead and the patients' identity.
  void set_letter_sources(std::optional<Practice> practice, std::optional<Patients> patients) {
    practice_ = std::move(practice);
    patients_ = std::move(patients);
  }
  HttpResponse handle(const HttpRequest& req, const StoreFn& store) const;

 private:
  std::optional<HttpResponse> check_headers(const HttpRequest& req) const;
  std::string client_address(const HttpRequest& req) const;
  // The caller, or the answer that refuses them.
  std::variant<http::Principal, HttpResponse> authenticate(const HttpRequest& req, const StoreFn& store,
                                                           const std::string& address) const;
  HttpResponse route(const HttpRequest& req, Store& store, const http::Principal& who) const;

  const Clock& clock_;
  AccessPolicy policy_;
  Assets assets_;
  std::shared_ptr<spdlog::logger> log_;
  mutable BadTokens bad_tokens_;
  AuditQueue* audit_queue_ = nullptr;
  std::optional<Practice> practice_;
  std::optional<Patients> patients_;
  // Overviews by practice, date and query, good while the store's
  // content_version() stays the same (SQLite; docs/serve.md).
  struct CachedOverview {
    std::string version, body;
    std::vector<std::string> shown;  // the episodes it names, for the audit row
  };
  mutable std::mutex overview_mu_;
  mutable std::map<std::string, CachedOverview> overviews_;
  HttpResponse overview(Store& store, Date today, const std::string& practice, const HttpRequest& req) const;
};

struct ServeOptions {
  std::string db;
  std::string practice;  // with PostgreSQL: the practice served
  std::string practice_file, patients_file;  // for the letters (adapters/practice); read at start
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (printed at start)
  std::string tls_cert, tls_key;  // PEM files; both or neither
  bool behind_proxy = false;       // TLS ends at a reverse proxy (docs/deploy.md)
  // Each open connection holds a worker thread from its acceptance until it
  // closes; a thread opens its own Store when it first serves a request.
  int threads = 8;             // worker threads kept running
  int max_connections = 128;   // connections served at once: the most threads there will be
  int max_per_client = 32;     // connections open at once from one client address (IPv6: one /64)
  int request_timeout = 10;    // seconds for a whole request (line, headers, body) to arrive
  std::shared_ptr<spdlog::logger> logger;
};

// Bad options (exit 2): a non-loopback address without TLS or --behind-proxy,
// one of --tls-cert/--tls-key without the other, a port out of range, a limit out of its range
// (threads 1-256 and at most max_connections, max_connections 1-1000,
// max_per_client 1-max_connections, request_timeout 1-300).
Status check_serve_options(const ServeOptions& options);

// What --max-per-client counts connections by, from a numeric address: an
// IPv4 address itself (also when written IPv4-mapped, "::ffff:a.b.c.d"), an
// IPv6 address's /64 ("2001:db8:1:2::/64"), since one host commonly holds a
// whole /64; anything unparsable as given.
std::string client_key(std::string_view ip);

// Serves until SIGINT or SIGTERM. Prints on `out`, once listening, the line
// "zorgpad: serving http://HOST:PORT/" and, when the token was generated,
// "zorgpad: token TOKEN (POST needs it; open http://HOST:PORT/?token=TOKEN)".
// Fails when the database, the assets or the address cannot be used.
Status serve(const ServeOptions& options, const Clock& clock, std::ostream& out);

}  // namespace zorgpad::web
