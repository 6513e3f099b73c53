// The HTTP side of `zorgpad serve`: cpp-httplib (Debian's libcpp-httplib) with
// its thread pool. The only file that includes <httplib.h>; every route lives
// in WebApp (app.cpp).
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <thread>

#include "adapters/web/web.hpp"

namespace zorgpad::web {
namespace {

// Each worker thread opens its own Store (one-per-thread contract) the first
// time it serves a request of a given server run.
std::atomic<uint64_t> g_runs{0};

struct ThreadStore {
  uint64_t run = 0;
  std::unique_ptr<Store> store;
};

Store* thread_store(uint64_t run, const std::string& db, const Clock& clock, const StoreOptions& opts) {
  thread_local ThreadStore slot;
  if (slot.run != run || !slot.store) {
    slot.store.reset();
    auto r = open_sqlite_store(db, clock, opts);
    if (r) {
      slot.store = std::move(r.value());
      slot.run = run;
    } else if (opts.logger) {
      opts.logger->error("serve: {}", r.error().message);
    }
  }
  return slot.store.get();
}

HttpRequest convert(const httplib::Request& req) {
  HttpRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.params) r.query.emplace_back(k, v);
  for (const auto& [k, v] : req.headers) {
    std::string name = k;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    r.headers.emplace(std::move(name), v);
  }
  return r;
}

void apply(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [k, v] : from.headers) to.set_header(k, v);
  to.set_content(from.body, from.content_type.c_str());
}

std::string url_host(const std::string& bind) {
  return bind.find(':') != std::string::npos && bind.front() != '[' ? "[" + bind + "]" : bind;
}

}  // namespace

Status serve(const ServeOptions& o, const Clock& clock, std::ostream& out) {
  if (Status s = check_serve_options(o); !s.ok()) return s;
  auto assets = load_assets(web_dir());
  if (!assets) return Status::Fail(assets.message());

  StoreOptions store_opts;
  store_opts.logger = o.logger;
  {  // fail at start, not at the first request, when the database is unusable
    auto first = open_sqlite_store(o.db, clock, store_opts);
    if (!first) return Status::Fail(first.error().message);
  }

  AccessPolicy policy;
  const bool generated = o.token.empty();
  policy.token = generated ? generate_token() : o.token;
  policy.reads_need_token = !generated;  // an explicit token guards every request
  policy.loopback = is_loopback_host(o.bind);
  const WebApp app(clock, policy, std::move(*assets), o.logger);
  const uint64_t run = ++g_runs;

  httplib::Server svr;
  const size_t threads = size_t(o.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(64 * 1024);
  svr.set_read_timeout(10, 0);
  svr.set_write_timeout(10, 0);
  svr.set_keep_alive_timeout(5);
  svr.set_tcp_nodelay(true);  // small JSON answers: no Nagle delay behind the headers
  auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    WebApp::StoreFn store = [&] { return thread_store(run, o.db, clock, store_opts); };
    apply(app.handle(convert(req), store), res);
  };
  svr.Get(R"(/.*)", handler);
  svr.Post(R"(/.*)", handler);
  svr.Put(R"(/.*)", handler);
  svr.Patch(R"(/.*)", handler);
  svr.Delete(R"(/.*)", handler);
  svr.Options(R"(/.*)", handler);
  // What httplib answers by itself (a malformed request, an unknown method) is JSON too.
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const char* what = res.status == 400   ? "bad request"
                       : res.status == 404 ? "no such resource"
                       : res.status == 405 ? "method not allowed"
                       : res.status == 413 ? "request too large"
                       : res.status == 414 ? "URI too long"
                                           : "request failed";
    res.set_content(std::string("{\"error\":\"") + what + "\",\"status\":" + std::to_string(res.status) + "}\n",
                    "application/json");
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("{\"error\":\"internal error\",\"status\":500}\n", "application/json");
  });

  int port = o.port;
  if (port == 0) {
    port = svr.bind_to_any_port(o.bind);
    if (port < 0) return Status::Fail("cannot listen on " + o.bind);
  } else if (!svr.bind_to_port(o.bind, port)) {
    return Status::Fail("cannot listen on " + o.bind + ":" + std::to_string(port) + " (in use, or not an address here)");
  }

  // SIGINT/SIGTERM stop the server from a thread of our own (no work in a
  // signal handler); a client that goes away must not kill us with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);  // inherited by every thread started below
  std::atomic<bool> by_signal{false}, listening_ended{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (!listening_ended) {
      by_signal = true;
      if (o.logger) o.logger->info("serve: signal {}, stopping", sig);
    }
    svr.stop();
  });

  const std::string base = "http://" + url_host(o.bind) + ":" + std::to_string(port) + "/";
  out << "zorgpad: serving " << base << "\n";
  if (generated)
    out << "zorgpad: token " << policy.token << " (POST needs it; open " << base << "?token=" << policy.token << ")\n";
  out.flush();

  const bool ok = svr.listen_after_bind();
  listening_ended = true;
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter if no signal came
  waiter.join();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!ok && !by_signal) return Status::Fail("the server stopped on an error");
  return Status::Ok();
}

}  // namespace zorgpad::web
