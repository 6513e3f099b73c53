// `zorgpad worker`: the long-running process that fires due timers. On
// PostgreSQL any number of workers share the work: each claims due episodes
// in batches (FOR UPDATE SKIP LOCKED), fires them and commits, one
// transaction per batch; a worker that dies loses nothing (its batch rolls
// back and is claimed again). On a SQLite file a pass is one `tick`.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop(int) { g_stop = 1; }

struct WorkerOptions {
  std::string now;    // --now: a fixed date (tests); else the clock's today at each pass
  double poll = 60;   // seconds between passes (±20 % jitter)
  int batch = 500;    // episodes per transaction
  bool once = false;  // one pass, then exit
};

// One pass: every practice (in a random order, so that workers spread),
// batch after batch until nothing is due. Returns false on a store failure.
bool pass(Store& store, const std::string& only, Date now, int batch, std::mt19937& rng, TickReport& total, std::string& error) {
  std::vector<std::string> practices;
  if (!only.empty()) {
    practices.push_back(only);
  } else {
    auto all = store.practices();
    if (!all) {
      error = all.error().message;
      return false;
    }
    practices = std::move(*all);
  }
  std::shuffle(practices.begin(), practices.end(), rng);
  for (const std::string& p : practices) {
    if (g_stop) break;
    if (Status s = store.use_practice(p); !s) {
      error = s.message();
      return false;
    }
    if (!store.batched_ticks()) {  // SQLite: one transaction for everything due
      auto r = store.tick(now);
      if (!r) {
        error = r.error().message;
        return false;
      }
      total.episodes += r->episodes;
      total.timers += r->timers;
      continue;
    }
    for (;;) {
      auto r = store.tick_batch(now, batch);
      if (!r) {
        error = r.error().message;
        return false;
      }
      total.episodes += r->episodes;
      total.timers += r->timers;
      if (r->episodes == 0 || g_stop) break;
    }
  }
  return true;
}

}  // namespace

void setup_worker(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("worker", "Fire due timers, pass after pass (PostgreSQL: many workers share the work)");
  auto o = std::make_shared<WorkerOptions>();
  cmd->add_option("--now", o->now, "fire what is due on this date (default: the clock's today at each pass)");
  cmd->add_option("--poll", o->poll, "seconds between passes, ±20 % jitter (default 60)")->check(CLI::Range(0.01, 86400.0));
  cmd->add_option("--batch", o->batch, "episodes fired per transaction (default 500)")->check(CLI::Range(1, 100000));
  cmd->add_flag("--once", o->once, "one pass over every practice until nothing is due, then exit");
  cmd->callback([o, &ctx] {
    std::optional<Date> fixed;
    if (!o->now.empty()) {
      fixed = parse_date_option(ctx, "--now", o->now);
      if (!fixed) return;
    }
    const std::string only = ctx.practice;
    auto store = ctx.open_store();
    if (!store) return;
    std::signal(SIGTERM, on_stop);
    std::signal(SIGINT, on_stop);
    std::mt19937 rng(std::random_device{}() ^ unsigned(::getpid()));
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    auto logger = spdlog::get("zorgpad");
    TickReport total;
    int failures = 0;
    while (!g_stop) {
      std::string error;
      TickReport round;
      const Date now = fixed ? *fixed : ctx.clock().today();
      if (pass(*store, only, now, o->batch, rng, round, error)) {
        failures = 0;
        total.episodes += round.episodes;
        total.timers += round.timers;
        if (round.episodes > 0 && logger) logger->info("worker {}: {} timer(s) fired in {} episode(s)", now.iso(), round.timers, round.episodes);
      } else {
        // A lost connection (failover, restart): the batch rolled back; the
        // store connects again on the next pass. One line per failure.
        if (logger) logger->warn("worker: {}", error);
        if (o->once && ++failures >= 30) return ctx.fail(store_failure(error));
        ++failures;
      }
      if (o->once && error.empty()) break;
      // Back off after failures (at most 30 s), else the poll interval.
      double wait = error.empty() ? o->poll : std::min(30.0, 0.2 * failures);
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait * jitter(rng));
      while (!g_stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::cout << "worker: " << total.timers << " timer(s) fired in " << total.episodes << " episode(s)\n";
  });
}

}  // namespace zorgpad::cli
