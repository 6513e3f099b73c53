// `zorgpad serve` without a socket (adapters/web): the header rules of
// WebApp::handle, the client address --max-per-client counts by, and the
// limits check_serve_options accepts. The server itself (timeouts, caps,
// threads) is tested as a process by tests/cli/web_slow_clients.py.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/web/web.hpp"

using namespace zorgpad;
using namespace zorgpad::web;

namespace {

HttpRequest get(const std::string& path, std::initializer_list<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  for (const auto& h : headers) r.headers.emplace(h);
  return r;
}

// /healthz without a store answers 503: anything else is the header check.
int status_of(const WebApp& app, const HttpRequest& req) { return app.handle(req, nullptr).status; }

}  // namespace

TEST_CASE("a request with two Host headers gets 400, whatever the copies say", "[web]") {
  ManualClock clock(*Date::parse("2027-03-01"));
  for (bool loopback : {true, false}) {
    AccessPolicy policy;
    policy.loopback = loopback;
    policy.local_access = true;  // reads without a token: what is left is the header check
    const WebApp app(clock, policy, Assets{});
    CHECK(status_of(app, get("/healthz", {{"host", "127.0.0.1:8080"}})) == 503);
    CHECK(status_of(app, get("/healthz", {{"host", "127.0.0.1:8080"}, {"host", "127.0.0.1:8080"}})) == 400);
    CHECK(status_of(app, get("/healthz", {{"host", "127.0.0.1:8080"}, {"host", "evil.example"}})) == 400);
    CHECK(status_of(app, get("/healthz", {{"host", "evil.example"}, {"host", "127.0.0.1"}})) == 400);
    const auto r = app.handle(get("/healthz", {{"host", "localhost"}, {"host", "localhost"}}), nullptr);
    CHECK(r.body.find("more than one host header") != std::string::npos);
  }
}

TEST_CASE("the headers that carry the token come once too", "[web]") {
  ManualClock clock(*Date::parse("2027-03-01"));
  AccessPolicy policy;
  policy.local_access = true;
  policy.local_token = "0123456789abcdef0123";
  const WebApp app(clock, policy, Assets{});
  const std::string bearer = "Bearer " + policy.local_token;
  CHECK(status_of(app, get("/healthz", {{"authorization", bearer}})) == 503);
  CHECK(status_of(app, get("/healthz", {{"authorization", bearer}, {"authorization", "Bearer x"}})) == 400);
  CHECK(status_of(app, get("/healthz", {{"x-zorgpad-token", policy.local_token}, {"x-zorgpad-token", policy.local_token}})) == 400);
  CHECK(status_of(app, get("/healthz", {{"cookie", "zorgpad_token=" + policy.local_token}, {"cookie", "a=b"}})) == 400);
  CHECK(status_of(app, get("/healthz", {{"content-length", "0"}, {"content-length", "5"}})) == 400);
  CHECK(status_of(app, get("/healthz", {{"x-forwarded-for", "192.0.2.1"}, {"x-forwarded-for", "192.0.2.2"}})) == 400);
  // Headers WebApp does not read may repeat.
  CHECK(status_of(app, get("/healthz", {{"authorization", bearer}, {"accept", "a"}, {"accept", "b"}})) == 503);
}

TEST_CASE("connections are counted per IPv4 address and per IPv6 /64", "[web]") {
  CHECK(client_key("127.0.0.1") == "127.0.0.1");
  CHECK(client_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(client_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64");
  CHECK(client_key("2001:db8:1:2::9") == client_key("2001:db8:1:2:ffff::1"));
  CHECK(client_key("2001:db8:1:3::9") != client_key("2001:db8:1:2::9"));
  CHECK(client_key("::1") == "::/64");
  CHECK(client_key("") == "");
}

TEST_CASE("serve's limits are checked before it starts", "[web]") {
  ServeOptions o;
  CHECK(check_serve_options(o).ok());
  o.threads = 200;
  CHECK(!check_serve_options(o).ok());  // more than --max-connections (128)
  o.max_connections = 200;
  CHECK(check_serve_options(o).ok());
  o.max_connections = 1001;
  CHECK(!check_serve_options(o).ok());
  o = ServeOptions{};
  o.max_per_client = 0;
  CHECK(!check_serve_options(o).ok());
  o.max_per_client = 129;
  CHECK(!check_serve_options(o).ok());
  o = ServeOptions{};
  o.request_timeout = 0;
  CHECK(!check_serve_options(o).ok());
  o.request_timeout = 301;
  CHECK(!check_serve_options(o).ok());
}

TEST_CASE("repeated bad tokens from one address are slowed down, doubling", "[web]") {
  BadTokens bad;
  for (int i = 0; i < 4; ++i) bad.failed("192.0.2.1");
  CHECK(bad.wait_seconds("192.0.2.1") == 0);  // four mistakes are free
  bad.failed("192.0.2.1");
  CHECK(bad.wait_seconds("192.0.2.1") == 1);
  bad.failed("192.0.2.1");
  CHECK(bad.wait_seconds("192.0.2.1") == 2);
  bad.failed("192.0.2.1");
  CHECK(bad.wait_seconds("192.0.2.1") == 4);
  CHECK(bad.wait_seconds("192.0.2.2") == 0);  // another address is not held up
  for (int i = 0; i < 30; ++i) bad.failed("192.0.2.1");
  CHECK(bad.wait_seconds("192.0.2.1") == 300);  // at most five minutes
  bad.succeeded("192.0.2.1");
  CHECK(bad.wait_seconds("192.0.2.1") == 0);
}

TEST_CASE("a server that answers 429 to a blocked address says when to come back", "[web]") {
  ManualClock clock(*Date::parse("2027-03-01"));
  AccessPolicy policy;
  policy.loopback = false;
  const WebApp app(clock, policy, Assets{});
  HttpRequest req = get("/api/episodes", {{"authorization", "Bearer not-a-token"}});
  req.remote = "192.0.2.9";
  for (int i = 0; i < 5; ++i) CHECK(app.handle(req, nullptr).status == 401);
  const auto r = app.handle(req, nullptr);
  CHECK(r.status == 429);
  bool retry_after = false;
  for (const auto& [k, v] : r.headers) retry_after |= k == "Retry-After" && v == "1";
  CHECK(retry_after);
}

TEST_CASE("off loopback, serve needs TLS or a proxy that ends it", "[web]") {
  ServeOptions o;
  o.bind = "0.0.0.0";
  CHECK(!check_serve_options(o).ok());
  CHECK(check_serve_options(o).message().find("without TLS") != std::string::npos);
  o.behind_proxy = true;
  CHECK(check_serve_options(o).ok());
  o.behind_proxy = false;
  o.tls_cert = "cert.pem";
  CHECK(!check_serve_options(o).ok());  // a certificate without its key
  o.tls_key = "key.pem";
  CHECK(check_serve_options(o).ok());
}
