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
  policy.token = "0123456789abcdef0123";
  policy.reads_need_token = true;
  const WebApp app(clock, policy, Assets{});
  const std::string bearer = "Bearer " + policy.token;
  CHECK(status_of(app, get("/healthz", {{"authorization", bearer}})) == 503);
  CHECK(status_of(app, get("/healthz", {{"authorization", bearer}, {"authorization", "Bearer x"}})) == 400);
  CHECK(status_of(app, get("/healthz", {{"x-zorgpad-token", policy.token}, {"x-zorgpad-token", policy.token}})) == 400);
  CHECK(status_of(app, get("/healthz", {{"cookie", "zorgpad_token=" + policy.token}, {"cookie", "a=b"}})) == 400);
  CHECK(status_of(app, get("/healthz", {{"content-length", "0"}, {"content-length", "5"}})) == 400);
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
