// The HTTP side of `zorgpad serve`: cpp-httplib (Debian's libcpp-httplib,
// 0.11) parses requests and writes answers; the connections are ours. The
// only file that includes <httplib.h>; every route lives in WebApp (app.cpp).
//
// httplib reads a request with a timeout per recv() and no bound on the
// whole, from threads of a fixed pool: a client that sends a header line now
// and then holds a thread for as long as it likes. So GuardedServer takes
// over each accepted socket (process_and_close_socket, the hook httplib's own
// SSLServer uses) and hands httplib's request parser (the protected
// process_request) a ConnectionStream of its own, which
//   - gives each request one deadline for its request line, headers and body,
//     counted from the acceptance or from the end of the previous answer
//     (--request-timeout); a request still incomplete then gets 408;
//   - caps the request head (32 KiB) and body (64 KiB) in bytes as they come
//     in, whatever the framing (httplib bounds neither a chunked body nor a
//     POST without Content-Length);
//   - bounds the sending of an answer (60 s in all, 10 s without progress).
// Connections from one client address (IPv6: one /64) are capped
// (--max-per-client, then 429), and WorkerPool grows from --threads up to
// --max-connections threads, one per open connection. docs/serve.md,
// "Limits", tells the same for the operator.
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/web/web.hpp"

namespace zorgpad::web {
namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The limits that are not options (docs/serve.md, "Limits").
constexpr size_t kHeadMaxBytes = 32 * 1024;        // request line and headers
constexpr size_t kBodyMaxBytes = 64 * 1024;        // a request body, as sent
constexpr size_t kImportMaxBytes = 8 * 1024 * 1024;  // the body of POST /api/import (NDJSON)
constexpr time_t kKeepAliveSeconds = 5;            // the wait for the next request on an open connection
constexpr size_t kKeepAliveRequests = 5;           // requests per connection
constexpr auto kSendTimeout = seconds(60);         // sending one answer, in all
constexpr auto kSendStall = seconds(10);           // ... and without any progress
constexpr auto kLingerCut = milliseconds(250);     // after a 408, 413, 431: reading what the client still sends
constexpr auto kLingerRefused = milliseconds(50);  // after a 429, which must stay cheap under a flood
constexpr size_t kLingerMaxBytes = 64 * 1024;
constexpr auto kThreadIdle = seconds(60);  // a worker beyond --threads ends after this long unused
constexpr auto kWarnEvery = seconds(10);   // at most one warning of a kind this often

// Each worker thread opens its own Store (one-per-thread contract) the first
// time it serves a request of a given server run.
std::atomic<uint64_t> g_runs{0};

struct ThreadStore {
  uint64_t run = 0;
  std::unique_ptr<Store> store;
};

Store* thread_store(uint64_t run, const std::string& db, const std::string& practice, const Clock& clock, const StoreOptions& opts) {
  thread_local ThreadStore slot;
  if (slot.run != run || !slot.store) {
    slot.store.reset();
    auto r = open_store(db, practice, clock, opts);
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
  r.body = req.body;
  r.remote = req.remote_addr;
  // The query of the request target only: httplib also puts the fields of a
  // form-encoded body into req.params, and a body is never a query here.
  if (auto q = req.target.find('?'); q != std::string::npos) {
    httplib::Params params;
    httplib::detail::parse_query_text(req.target.substr(q + 1), params);
    for (const auto& [k, v] : params) r.query.emplace_back(k, v);
  }
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

std::string error_json(int status, const std::string& what) {
  return "{\"error\":\"" + what + "\",\"status\":" + std::to_string(status) + "}\n";
}

// ---- sockets -----------------------------------------------------------------------------

// Waits until `fd` is ready for `events` (or has an error or hang-up for the
// next recv/send to report) before `until`; false when the time is up.
bool wait_for(int fd, short events, TimePoint until) {
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(until - SteadyClock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, int(std::min<long long>(left, 60'000)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

bool numeric_address(const sockaddr_storage& sa, socklen_t len, std::string& ip, int& port) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&sa), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  ip = host;
  port = std::atoi(serv);
  return true;
}

struct Peer {
  std::string ip;
  int port = 0;
  std::string client;  // client_key(ip): what --max-per-client counts
};

Peer peer_of(int fd) {
  Peer p;
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) numeric_address(sa, len, p.ip, p.port);
  p.client = client_key(p.ip);
  return p;
}

// A whole answer of our own (408, 413, 431, 429) on a socket whose request
// httplib will not answer; best effort, without waiting: a socket's send
// buffer takes a few hundred bytes.
void say(int fd, SSL* ssl, int status, const char* reason, const std::string& what) {
  const std::string body = error_json(status, what);
  std::string msg = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n";
  if (status == 429) msg += "Retry-After: 1\r\n";
  msg += "\r\n" + body;
  if (ssl) {  // one try: a TLS record of a few hundred bytes fits the socket's buffer
    ERR_clear_error();
    SSL_write(ssl, msg.data(), int(msg.size()));
    return;
  }
  size_t off = 0;
  while (off < msg.size()) {
    const ssize_t n = ::send(fd, msg.data() + off, msg.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += size_t(n);
  }
}

// Closes after an answer of ours, first reading what the client still sends
// for a moment (until it closes too): closing over unread bytes would reset
// the connection, and the client might lose the answer before it reads it.
void linger_and_close(int fd, milliseconds linger) {
  ::shutdown(fd, SHUT_WR);
  const TimePoint until = SteadyClock::now() + linger;
  char buf[4096];
  for (size_t drained = 0; drained < kLingerMaxBytes;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      drained += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && wait_for(fd, POLLIN, until)) continue;
    break;  // the client closed too, an error, or the time is up
  }
  ::close(fd);
}

// ---- one connection ----------------------------------------------------------------------

// Why a request was cut off, if it was.
enum class Cut { none, timeout, head_too_large, body_too_large };

struct CutAnswer {
  int status;
  const char* reason;
  std::string what;
};

CutAnswer answer_for(Cut cut, seconds request_timeout) {
  switch (cut) {
    case Cut::head_too_large:
      return {431, "Request Header Fields Too Large",
              "request line and headers larger than " + std::to_string(kHeadMaxBytes / 1024) + " KiB"};
    case Cut::body_too_large:
      return {413, "Payload Too Large",
              "request body larger than " + std::to_string(kBodyMaxBytes / 1024) + " KiB (" +
                  std::to_string(kImportMaxBytes / (1024 * 1024)) + " MiB for POST /api/import)"};
    default:
      return {408, "Request Timeout",
              "the request did not arrive whole within " + std::to_string(request_timeout.count()) + " s"};
  }
}

// The socket as httplib's request parser and answer writer see it: reads
// buffered, with one deadline and byte limits per request; writes bounded in
// time. Every recv and send comes after a poll() and does not block.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, const Peer& peer, SSL* ssl = nullptr) : fd_(fd), peer_(peer), ssl_(ssl) {}

  // A new request: its deadline, fresh byte counts, the answer not started.
  void begin_request(TimePoint deadline) {
    deadline_ = deadline;
    cut_ = Cut::none;
    head_done_ = false;
    head_end_match_ = 0;
    head_bytes_ = body_bytes_ = written_ = 0;
    request_line_.clear();
    head_.clear();
    body_limit_ = kBodyMaxBytes;
    no_body_ = false;
    send_deadline_ = TimePoint::max();
  }

  // Waits for the first byte of the next request, until `idle_until` at most.
  bool wait_request(TimePoint idle_until) const {
    return pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0) || wait_for(fd_, POLLIN, std::min(idle_until, deadline_));
  }

  Cut cut() const { return cut_; }
  // A header that came with an empty value, of those whose emptiness matters ("" when none).
  const std::string& empty_header() const { return empty_header_; }
  size_t written() const { return written_; }

  bool is_readable() const override {
    if (pos_ < len_) return true;
    if (ssl_ && SSL_pending(ssl_) > 0) return true;
    if (cut_ != Cut::none) return false;
    if (wait_for(fd_, POLLIN, deadline_)) return true;
    if (SteadyClock::now() >= deadline_) cut_ = Cut::timeout;
    return false;
  }

  bool is_writable() const override { return wait_for(fd_, POLLOUT, send_until()); }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (cut_ != Cut::none) return -1;
    if (head_done_ && no_body_) return 0;  // the body is empty: what follows is the next request
    while (pos_ == len_) {
      if (!is_readable()) return -1;
      const ssize_t n = receive(buf_.data(), buf_.size());
      if (n == kAgain) continue;
      if (n <= 0) return n;  // 0: the client closed its side
      pos_ = 0;
      len_ = size_t(n);
    }
    const size_t n = admit(buf_.data() + pos_, std::min(size, len_ - pos_));
    if (n == 0) return -1;
    std::memcpy(ptr, buf_.data() + pos_, n);
    pos_ += n;
    return ssize_t(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (send_deadline_ == TimePoint::max()) send_deadline_ = SteadyClock::now() + kSendTimeout;
    if (!wait_for(fd_, POLLOUT, send_until())) return -1;
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, ptr, int(std::min<size_t>(size, 1 << 30)));
      if (n > 0) {
        written_ += size_t(n);
        return n;
      }
      const int err = SSL_get_error(ssl_, n);
      return err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ ? 0 : -1;
    }
    const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : -1;  // 0: httplib's writer calls again
    written_ += size_t(n);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_.ip;
    port = peer_.port;
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) numeric_address(sa, len, ip, port);
  }

  socket_t socket() const override { return fd_; }

 private:
  static constexpr ssize_t kAgain = -2;
  // One read from the socket (or its TLS session) without blocking: bytes,
  // 0 at the end, -1 on an error, kAgain when nothing is there yet.
  ssize_t receive(char* p, size_t n) {
    if (!ssl_) {
      const ssize_t r = ::recv(fd_, p, n, MSG_DONTWAIT);
      return r < 0 && (errno == EINTR || errno == EAGAIN) ? kAgain : r;
    }
    ERR_clear_error();
    const int r = SSL_read(ssl_, p, int(n));
    if (r > 0) return r;
    switch (SSL_get_error(ssl_, r)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        return kAgain;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        return -1;
    }
  }

  TimePoint send_until() const {
    const TimePoint stall = SteadyClock::now() + kSendStall;
    return std::min(stall, send_deadline_);
  }

  // How many of the n bytes at p the request may still take. The head ends
  // with its blank line ("\n\r\n", the way httplib's line reader ends it);
  // what follows is body.
  size_t admit(const char* p, size_t n) {
    size_t i = 0;
    for (; i < n && !head_done_; ++i) {
      if (++head_bytes_ > kHeadMaxBytes) {
        cut_ = Cut::head_too_large;
        return i;
      }
      const char c = p[i];
      if (request_line_.size() < kImportLine.size()) request_line_ += c;
      head_ += char(std::tolower(static_cast<unsigned char>(c)));
      head_end_match_ = c == '\n' ? (head_end_match_ == 2 ? 3 : 1) : (c == '\r' && head_end_match_ == 1 ? 2 : 0);
      head_done_ = head_end_match_ == 3;
      if (head_done_) {
        if (request_line_ == kImportLine) body_limit_ = kImportMaxBytes;
        // RFC 9112 §6.3: a request without Content-Length or Transfer-Encoding
        // has no body. httplib would read a POST's body until the connection
        // closes (and the client waits for the answer): it gets end of file.
        no_body_ = head_.find("\ncontent-length:") == std::string::npos &&
                   head_.find("\ntransfer-encoding:") == std::string::npos;
        // httplib drops a header line without a value; for these two an
        // empty value is a client's mistake that would silently turn a
        // guard off (an idempotent retry, a lost-update check): noted, 400.
        empty_header_.clear();
        for (const char* name : {"idempotency-key", "if-match"}) {
          const std::string key = std::string("\n") + name + ":";
          for (size_t at = head_.find(key); at != std::string::npos; at = head_.find(key, at + 1)) {
            size_t v = at + key.size();
            while (v < head_.size() && (head_[v] == ' ' || head_[v] == '\t')) ++v;
            if (v >= head_.size() || head_[v] == '\r' || head_[v] == '\n') empty_header_ = name;
          }
        }
        head_.clear();
      }
    }
    if (head_done_ && no_body_) return i;
    const size_t body = n - i;
    if (body_bytes_ + body > body_limit_) {
      cut_ = Cut::body_too_large;
      const size_t allowed = body_limit_ - body_bytes_;
      body_bytes_ = body_limit_;
      return i + allowed;
    }
    body_bytes_ += body;
    return n;
  }

  const int fd_;
  const Peer& peer_;
  SSL* const ssl_;
  std::array<char, 16 * 1024> buf_{};
  size_t pos_ = 0, len_ = 0;
  TimePoint deadline_ = TimePoint::max(), send_deadline_ = TimePoint::max();
  mutable Cut cut_ = Cut::none;
  bool head_done_ = false;
  int head_end_match_ = 0;
  size_t head_bytes_ = 0, body_bytes_ = 0, written_ = 0;
  // The import takes a larger body: told by the request line's start.
  static constexpr std::string_view kImportLine = "POST /api/import ";
  std::string request_line_;
  std::string head_;  // the head so far, in lower case, until it ends
  size_t body_limit_ = kBodyMaxBytes;
  bool no_body_ = false;
  std::string empty_header_;
};

// The stream of the connection this thread serves, for the error handler:
// httplib answers 400 when the headers stop coming, and the handler turns
// that into the 408 (or 413, 431) it was.
thread_local const ConnectionStream* t_stream = nullptr;

// At most one log line of a kind every kWarnEvery, telling how many it
// stands for: a flood of slow or surplus connections must not become a flood
// of log lines. Addresses only; nothing of a request.
class Warnings {
 public:
  enum Kind { refused, cut, kinds };
  explicit Warnings(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

  void note(Kind kind, const std::string& client, const std::string& what) {
    if (!log_) return;
    std::lock_guard lock(mu_);
    Tally& t = tallies_[kind];
    ++t.count;
    const TimePoint now = SteadyClock::now();
    if (t.last != TimePoint{} && now - t.last < kWarnEvery) return;
    log_->warn("serve: {} (client {}; {} {} since the last such line)", what, client, t.count, kNouns[kind]);
    t.count = 0;
    t.last = now;
  }

 private:
  static constexpr const char* kNouns[kinds] = {"refused", "cut off"};
  struct Tally {
    TimePoint last{};
    size_t count = 0;
  };
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mu_;
  std::array<Tally, kinds> tallies_{};
};

// The open connections: how many per client, and their sockets, so that a
// stop can end the reads that would otherwise wait out their timeouts.
class Connections {
 public:
  enum class Entry { ok, over_limit, stopping };
  explicit Connections(size_t per_client) : per_client_(per_client) {}

  Entry enter(int fd, const std::string& client) {
    std::lock_guard lock(mu_);
    if (stopping_) return Entry::stopping;
    size_t& n = open_[client];
    if (n >= per_client_) return Entry::over_limit;
    ++n;
    fds_.insert(fd);
    return Entry::ok;
  }

  // Before the socket is closed, so that stop() never touches a reused descriptor.
  void leave(int fd, const std::string& client) {
    std::lock_guard lock(mu_);
    fds_.erase(fd);
    if (auto it = open_.find(client); it != open_.end() && --it->second == 0) open_.erase(it);
  }

  // No new connections; every open one stops reading (a read returns end of
  // file at once), an answer being written is finished.
  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RD);
  }

 private:
  const size_t per_client_;
  std::mutex mu_;
  bool stopping_ = false;
  std::map<std::string, size_t> open_;
  std::set<int> fds_;
};

struct Limits {
  size_t per_client = 32;
  seconds request_timeout{10};
};

// The TLS side of `serve --tls-cert --tls-key` (OpenSSL): one context for
// the server, TLS 1.2 at least; a session per connection, its handshake
// bounded by the request deadline like the request itself.
struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

std::string ssl_error_text() {
  const unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "unknown error";
}

Expected<SslCtx> make_ssl_ctx(const std::string& cert, const std::string& key) {
  SslCtx ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return store_failure("TLS: " + ssl_error_text());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
    return bad_input("--tls-cert: cannot use '" + clip(cert) + "' (" + ssl_error_text() + ")");
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    return bad_input("--tls-key: cannot use '" + clip(key) + "' (" + ssl_error_text() + ")");
  if (SSL_CTX_check_private_key(ctx.get()) != 1) return bad_input("--tls-key: the key does not belong to --tls-cert");
  return ctx;
}

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// The handshake of a new connection, without blocking past `until`.
std::unique_ptr<SSL, SslFree> tls_accept(SSL_CTX* ctx, int fd, TimePoint until) {
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return nullptr;
  for (;;) {
    ERR_clear_error();
    const int r = SSL_accept(ssl.get());
    if (r == 1) return ssl;
    const int err = SSL_get_error(ssl.get(), r);
    if (err == SSL_ERROR_WANT_READ && wait_for(fd, POLLIN, until)) continue;
    if (err == SSL_ERROR_WANT_WRITE && wait_for(fd, POLLOUT, until)) continue;
    return nullptr;
  }
}

class GuardedServer final : public httplib::Server {
 public:
  GuardedServer(Limits limits, std::shared_ptr<spdlog::logger> log, SSL_CTX* tls = nullptr)
      : limits_(limits), tls_(tls), connections_(limits.per_client), warnings_(std::move(log)) {}

  // After bind_to_port: httplib listens with a backlog of 5, and connections
  // beyond it that arrive at once are taken in only when the client's
  // handshake is retried, a second or more later. Linux lets listen() be
  // called again with a longer backlog.
  void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }

  // From any thread: stops listening and ends the open connections' reads.
  void stop_serving() {
    connections_.stop();
    stop();
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    const Peer peer = peer_of(sock);
    switch (connections_.enter(sock, peer.client)) {
      case Connections::Entry::ok:
        break;
      case Connections::Entry::stopping:
        ::close(sock);
        return false;
      case Connections::Entry::over_limit:
        if (tls_) {  // before a handshake there is no way to say it: closed
          ::close(sock);
          warnings_.note(Warnings::refused, peer.client,
                         "a connection closed unanswered, " + std::to_string(limits_.per_client) + " open already");
          return false;
        }
        say(sock, nullptr, 429, "Too Many Requests",
            "too many connections at once from this address (at most " + std::to_string(limits_.per_client) + ")");
        linger_and_close(sock, kLingerRefused);
        warnings_.note(Warnings::refused, peer.client,
                       "a connection refused with 429, " + std::to_string(limits_.per_client) + " open already");
        return false;
    }

    std::unique_ptr<SSL, SslFree> ssl;
    if (tls_) {
      ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
      ssl = tls_accept(tls_, sock, SteadyClock::now() + limits_.request_timeout);
      if (!ssl) {  // not TLS, too slow, or refused: nothing to answer in
        connections_.leave(sock, peer.client);
        ::close(sock);
        return false;
      }
    }
    ConnectionStream strm(sock, peer, ssl.get());
    t_stream = &strm;
    bool ret = false;
    Cut cut = Cut::none;
    for (size_t left = kKeepAliveRequests; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
      const TimePoint start = SteadyClock::now();
      strm.begin_request(start + limits_.request_timeout);
      if (!strm.wait_request(start + seconds(kKeepAliveSeconds))) break;  // idle: closed without a word
      bool closed = false;
      ret = process_request(strm, left == 1, closed, nullptr);
      if ((cut = strm.cut()) != Cut::none) {
        // httplib answered already when the cut came in the headers or the body
        // (see the error handler); in the request line it gave up silently.
        if (strm.written() == 0) {
          const CutAnswer a = answer_for(cut, limits_.request_timeout);
          say(sock, ssl.get(), a.status, a.reason, a.what);
        }
        ret = false;
        break;
      }
      if (!ret || closed) break;
    }
    t_stream = nullptr;
    connections_.leave(sock, peer.client);
    if (ssl) {
      ERR_clear_error();
      SSL_shutdown(ssl.get());  // our close_notify, without waiting for the client's
    }
    if (cut != Cut::none) {
      linger_and_close(sock, kLingerCut);
      const CutAnswer a = answer_for(cut, limits_.request_timeout);
      warnings_.note(Warnings::cut, peer.client, "a request cut off with " + std::to_string(a.status) + ", " + a.what);
    } else {
      ::shutdown(sock, SHUT_RDWR);
      ::close(sock);
    }
    return ret;
  }

  const Limits limits_;
  SSL_CTX* const tls_;
  Connections connections_;
  Warnings warnings_;
};

// The worker threads: `keep` from the start and more as connections need
// them, one per open connection, up to `max`; a thread beyond `keep` ends
// after kThreadIdle unused (and closes its Store). Connections that find all
// `max` busy wait in the queue; with `max` waiting, the listening thread
// waits too and the kernel's listen backlog holds the rest.
class WorkerPool final : public httplib::TaskQueue {
 public:
  WorkerPool(size_t keep, size_t max) : keep_(keep), max_(max) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < keep_; ++i) start_locked();
  }
  ~WorkerPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return jobs_.size() < max_ || stopping_; });
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && live_ < max_) start_locked();
    work_.notify_one();
  }

  // Runs what is queued, then joins every thread.
  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_.notify_all();
    room_.notify_all();
    for (;;) {
      std::vector<std::thread> all;
      {
        std::lock_guard lock(mu_);
        for (auto& [id, t] : threads_) all.push_back(std::move(t));
        threads_.clear();
        if (ended_.joinable()) all.push_back(std::move(ended_));
      }
      if (all.empty()) return;
      for (auto& t : all) t.join();
    }
  }

 private:
  void start_locked() {
    ++live_;
    std::thread t([this] { run(); });
    threads_.emplace(t.get_id(), std::move(t));
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      ++idle_;
      const bool woken = work_.wait_for(lock, kThreadIdle, [&] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) {
        if (stopping_ || (!woken && live_ > keep_)) break;
        continue;
      }
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      room_.notify_one();
      lock.unlock();
      job();
      lock.lock();
    }
    --live_;
    // A thread that ends joins the one that ended before it and leaves its
    // own handle for the next (or for shutdown): no finished thread waits
    // long to be joined, and the listening thread never joins one.
    std::thread previous = std::move(ended_);
    if (auto it = threads_.find(std::this_thread::get_id()); it != threads_.end()) {
      ended_ = std::move(it->second);
      threads_.erase(it);
    }
    lock.unlock();
    if (previous.joinable()) previous.join();
  }

  const size_t keep_, max_;
  std::mutex mu_;
  std::condition_variable work_, room_;
  std::deque<std::function<void()>> jobs_;
  std::map<std::thread::id, std::thread> threads_;
  std::thread ended_;  // the thread that ended last, not yet joined
  size_t live_ = 0, idle_ = 0;
  bool stopping_ = false;
};

// Every connection is a descriptor, and every worker thread that has served a
// request keeps the database open (the file, its WAL, its shared memory):
// raise the soft limit on open files when --max-connections needs it.
void raise_file_limit(size_t connections, const std::shared_ptr<spdlog::logger>& log) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
  const rlim_t need = rlim_t(connections) * 4 + 64;
  if (rl.rlim_cur >= need) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need : std::min(need, rl.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < need && log)
    log->warn("serve: the open-file limit ({}) is low for --max-connections {}; connections may fail", rl.rlim_cur,
              connections);
}

}  // namespace

Status serve(const ServeOptions& o, const Clock& clock, std::ostream& out) {
  if (Status s = check_serve_options(o); !s.ok()) return s;
  auto assets = load_assets(web_dir());
  if (!assets) return Status::Fail(assets.message(), ErrorKind::store);

  StoreOptions store_opts;
  store_opts.logger = o.logger;
  {  // fail at start, not at the first request, when the database is unusable
    auto first = open_store(o.db, o.practice, clock, store_opts);
    if (!first) return Status::Fail(first.error().message, ErrorKind::store);
  }

  SslCtx tls;
  if (!o.tls_cert.empty()) {
    auto ctx = make_ssl_ctx(o.tls_cert, o.tls_key);
    if (!ctx) return ctx.error();
    tls = std::move(*ctx);
  }
  AccessPolicy policy;
  policy.loopback = is_loopback_host(o.bind);
  policy.behind_proxy = o.behind_proxy;
  policy.multi_practice = is_postgres_url(o.db);
  policy.practice = o.practice;
  // The loopback convenience: a single practice on its own machine.
  policy.local_access = policy.loopback && !o.behind_proxy;
  const bool generated = policy.local_access;
  if (generated) {
    policy.local_token = generate_token();
    const passwd* pw = ::getpwuid(::geteuid());
    policy.local_user = std::string("local:") + (pw && pw->pw_name ? pw->pw_name : std::to_string(::geteuid()).c_str());
    if (o.logger)
      o.logger->warn("serve: on loopback (not behind a proxy): anyone on this machine reads without a token, and writes "
                     "with the token printed below, as the user {} (a practice admin); every access is audited under that name",
                     policy.local_user);
  }
  WebApp app(clock, policy, std::move(*assets), o.logger);
  {
    auto practice = load_practice_option(o.practice_file);
    if (!practice) return Status::Fail(practice.message(), ErrorKind::bad_input);
    std::optional<Patients> patients;
    if (!o.patients_file.empty()) {
      auto p = load_patients(o.patients_file);
      if (!p) return Status::Fail(p.message(), ErrorKind::bad_input);
      patients = std::move(p).value();
    }
    app.set_letter_sources(std::move(practice).value(), std::move(patients));
  }
  // The audit rows of reads, group-committed by a thread with a store of its own.
  AuditQueue audit([&]() -> std::unique_ptr<Store> {
    auto r = open_store(o.db, o.practice, clock, store_opts);
    if (!r) {
      if (o.logger) o.logger->error("serve: the audit writer cannot open the database: {}", r.error().message);
      return nullptr;
    }
    return std::move(r.value());
  });
  app.set_audit_queue(&audit);
  const uint64_t run = ++g_runs;
  raise_file_limit(size_t(o.max_connections), o.logger);

  const seconds request_timeout(o.request_timeout);
  GuardedServer svr(Limits{size_t(o.max_per_client), request_timeout}, o.logger, tls.get());
  const size_t keep = size_t(o.threads), max = size_t(o.max_connections);
  svr.new_task_queue = [keep, max] { return new WorkerPool(keep, max); };
  svr.set_payload_max_length(kImportMaxBytes);  // a Content-Length above it: 413 before the body is read (others: ConnectionStream)
  svr.set_keep_alive_timeout(kKeepAliveSeconds);
  svr.set_keep_alive_max_count(kKeepAliveRequests);
  // httplib puts these on every accepted socket (SO_RCVTIMEO, SO_SNDTIMEO);
  // ConnectionStream polls with its own deadlines before each recv and send.
  svr.set_read_timeout(o.request_timeout, 0);
  svr.set_write_timeout(std::chrono::duration_cast<seconds>(kSendStall).count(), 0);
  svr.set_tcp_nodelay(true);  // small JSON answers: no Nagle delay behind the headers
  auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    WebApp::StoreFn store = [&] { return thread_store(run, o.db, o.practice, clock, store_opts); };
    if (t_stream && !t_stream->empty_header().empty()) {
      res.status = 400;
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_content(error_json(400, "the " + t_stream->empty_header() + " header is empty"), "application/json");
      return;
    }
    apply(app.handle(convert(req), store), res);
    if (tls) res.set_header("Strict-Transport-Security", "max-age=31536000");
  };
  svr.Get(R"(/.*)", handler);
  svr.Post(R"(/.*)", handler);
  svr.Put(R"(/.*)", handler);
  svr.Patch(R"(/.*)", handler);
  svr.Delete(R"(/.*)", handler);
  svr.Options(R"(/.*)", handler);
  // What httplib answers by itself (a malformed request, an unknown method, a
  // request cut off by ConnectionStream) is JSON too.
  svr.set_error_handler([request_timeout](const httplib::Request&, httplib::Response& res) {
    if (t_stream && t_stream->cut() != Cut::none) {
      const CutAnswer a = answer_for(t_stream->cut(), request_timeout);
      res.status = a.status;
      res.set_header("Connection", "close");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_content(error_json(a.status, a.what), "application/json");
      return;
    }
    if (!res.body.empty()) return;
    const char* what = res.status == 400   ? "bad request"
                       : res.status == 404 ? "no such resource"
                       : res.status == 405 ? "method not allowed"
                       : res.status == 413 ? "request too large"
                       : res.status == 414 ? "URI too long"
                                           : "request failed";
    res.set_content(error_json(res.status, what), "application/json");
  });
  // httplib adds "Keep-Alive" after the error handler has run; the answer to
  // a cut-off request closes its connection.
  svr.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    if (t_stream && t_stream->cut() != Cut::none) res.headers.erase("Keep-Alive");
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(error_json(500, "internal error"), "application/json");
  });

  int port = o.port;
  if (port == 0) {
    port = svr.bind_to_any_port(o.bind);
    if (port < 0) return Status::Fail("cannot listen on " + o.bind, ErrorKind::store);
  } else if (!svr.bind_to_port(o.bind, port)) {
    return Status::Fail("cannot listen on " + o.bind + ":" + std::to_string(port) + " (in use, or not an address here)",
                        ErrorKind::store);
  }
  svr.widen_backlog();

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
    svr.stop_serving();
  });

  const std::string base = (tls ? "https://" : "http://") + url_host(o.bind) + ":" + std::to_string(port) + "/";
  out << "zorgpad: serving " << base << "\n";
  if (generated)
    out << "zorgpad: token " << policy.local_token << " (POST needs it; open " << base << "?token=" << policy.local_token << ")\n";
  out.flush();

  const bool ok = svr.listen_after_bind();
  listening_ended = true;
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter if no signal came
  waiter.join();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!ok && !by_signal) return Status::Fail("the server stopped on an error", ErrorKind::store);
  return Status::Ok();
}

}  // namespace zorgpad::web
