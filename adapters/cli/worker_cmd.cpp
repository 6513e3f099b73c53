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
// batch after batch until nothing is due that another transaction does not
// hold. What fired is added to `total` batch by batch (a failure later in
// the pass does not undo what was committed). Returns false on a store
// failure, with the message in `error`.
bool pass(Store& store, const std::vector<std::string>& practices, Date now, int batch, TickReport& total, std::string& error) {
  for (const std::string& p : practices) {
    if (g_stop) break;
    if (Status s = store.use_practice(p); !s) {
      error = s.message();
      return false;
    }
    for (;;) {
      // SQLite: one transaction for everything due.
      auto r = store.batched_ticks() ? store.tick_batch(now, batch) : store.tick(now);
      if (!r) {
        error = r.error().message;
        return false;
      }
      total.episodes += r->episodes;
      total.timers += r->timers;
      if (r->episodes == 0 || !store.batched_ticks() || g_stop) break;
    }
  }
  return true;
}

// The practices to go through, in a random order.
bool practices_in_order(Store& store, const std::string& only, std::mt19937& rng, std::vector<std::string>& out, std::string& error) {
  out.clear();
  if (!only.empty()) {
    out.push_back(only);
    return true;
  }
  auto all = store.practices();
  if (!all) {
    error = all.error().message;
    return false;
  }
  out = std::move(*all);
  std::shuffle(out.begin(), out.end(), rng);
  return true;
}

// Due episodes left in every practice, those other transactions hold included.
Expected<int64_t> due_left(Store& store, const std::vector<std::string>& practices, Date now) {
  int64_t n = 0;
  for (const std::string& p : practices) {
    if (Status s = store.use_practice(p); !s) return s.error();
    auto c = store.due_count(now);
    if (!c) return c.error();
    n += *c;
  }
  return n;
}

}  // namespace

void setup_worker(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("worker", "Fire due timers, pass after pass (PostgreSQL: many workers share the work)");
  auto o = std::make_shared<WorkerOptions>();
  cmd->add_option("--now", o->now, "fire what is due on this date (default: the clock's today at each pass)");
  cmd->add_option("--poll", o->poll, "seconds between passes, ±20 % jitter")->check(CLI::Range(0.01, 86400.0));
  cmd->add_option("--batch", o->batch, "episodes fired per transaction")->check(CLI::Range(1, 100000));
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
    std::vector<std::string> practices;
    const auto once_started = std::chrono::steady_clock::now();
    while (!g_stop) {
      std::string error;
      TickReport before = total;
      const Date now = fixed ? *fixed : ctx.clock().today();
      bool done = false;
      if (practices_in_order(*store, only, rng, practices, error) && pass(*store, practices, now, o->batch, total, error)) {
        failures = 0;
        if (o->once) {
          // Episodes another transaction held were skipped: --once ends when
          // nothing at all is due, waiting for them (at most five minutes).
          auto left = due_left(*store, practices, now);
          if (!left) error = left.error().message;
          else if (*left == 0) done = true;
          else if (std::chrono::steady_clock::now() - once_started > std::chrono::minutes(5))
            return ctx.fail(store_failure("worker: " + std::to_string(*left) + " due episode(s) stayed held by other transactions"));
        }
      }
      if (total.episodes > before.episodes && logger)
        logger->info("worker {}: {} timer(s) fired in {} episode(s)", now.iso(), total.timers - before.timers, total.episodes - before.episodes);
      if (!error.empty()) {
        // A lost connection (failover, restart): the batch rolled back; the
        // store connects again on the next pass. One line per failure.
        if (logger) logger->warn("worker: {}", error);
        if (o->once && ++failures >= 30) return ctx.fail(store_failure(error));
        if (!o->once) ++failures;
      }
      if (done) break;
      // Back off after failures (at most 30 s); --once looks again soon; else the poll interval.
      double wait = !error.empty() ? std::min(30.0, 0.2 * failures) : o->once ? 0.2 : o->poll;
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait * jitter(rng));
      while (!g_stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::cout << "worker: " << total.timers << " timer(s) fired in " << total.episodes << " episode(s)\n";
  });
}

}  // namespace zorgpad::cli
