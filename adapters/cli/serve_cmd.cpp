// `zorgpad serve`: the dashboard and the JSON API (adapters/web). This file
// only reads the options; the access rules are documented in web.hpp and
// docs/serve.md.
#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>

#include "adapters/cli/commands.hpp"
#include "adapters/web/web.hpp"

namespace zorgpad::cli {

void setup_serve(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("serve", "Serve the coordinator's dashboard and the JSON API over HTTP");
  auto o = std::make_shared<web::ServeOptions>();
  cmd->add_option("--bind", o->bind, "address to listen on (any but loopback needs TLS or --behind-proxy)");
  cmd->add_option("--port", o->port, "port (0 picks a free one)")->check(CLI::Range(0, 65535));
  cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate (chain) to serve HTTPS with")->check(CLI::ExistingFile);
  cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  cmd->add_flag("--behind-proxy", o->behind_proxy,
                "a reverse proxy ends TLS and appends the client's address to X-Forwarded-For; no access without a "
                "user's token (docs/deploy.md)");
  cmd->add_option("--threads", o->threads,
                  "worker threads kept running, each with its own database connection")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-connections", o->max_connections,
                  "connections served at once, one worker thread each; more wait")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-per-client", o->max_per_client,
                  "connections open at once from one address (IPv6: one /64); more get 429")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--request-timeout", o->request_timeout,
                  "seconds a connection has to send a whole request; then 408 and closed")
      ->check(CLI::Range(1, 300));
  cmd->add_option("--practice-file", o->practice_file,
                  "the practice file for the letters (TOML; default: $ZORGPAD_PRACTICE_FILE)");
  cmd->add_option("--patients", o->patients_file,
                  "the patients file for the letters (CSV or JSON), read at start and never stored");
  cmd->callback([o, &ctx] {
    o->db = ctx.db;
    o->practice = ctx.practice;
    o->logger = spdlog::get("zorgpad");
    if (Status s = web::check_serve_options(*o); !s.ok()) return ctx.fail_bad_input("serve: " + s.message());
    if (!ctx.require_database()) return;
    if (Status s = web::serve(*o, ctx.clock(), std::cout); !s.ok()) {
      print_error("serve: " + s.message());
      ctx.status = s.kind() == ErrorKind::bad_input ? kExitBadInput : kExitFailure;  // a certificate that cannot be used: 2
    }
  });
}

}  // namespace zorgpad::cli
