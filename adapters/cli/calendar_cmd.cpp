#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "adapters/calendar/caldav.hpp"
#include "adapters/calendar/calendar.hpp"
#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

namespace {

// `calendar push` and `calendar pull`: the CalDAV options they share.
struct CalDavCliOptions {
  std::string url, credentials, dashboard_url, lang = "nl";
  bool with_events = false;
  int timeout = 10;
};

void add_caldav_options(CLI::App* cmd, CalDavCliOptions& o) {
  cmd->add_option("--caldav", o.url,
                  "the collection under which each therapist's calendar lives (http:// or https://)")
      ->required();
  cmd->add_option("--credentials", o.credentials,
                  "FILE whose first line is user:password (default: $ZORGPAD_CALDAV_USER and "
                  "$ZORGPAD_CALDAV_PASSWORD; never on the command line)");
  cmd->add_option("--lang", o.lang, "language of the summaries: nl (default) or en")->check(CLI::IsMember({"nl", "en"}));
  cmd->add_option("--dashboard-url", o.dashboard_url,
                  "the web UI's address (as `zorgpad serve` prints it): each object links to its episode");
  cmd->add_option("--timeout", o.timeout, "seconds to wait for the server, per step (default 10)")
      ->check(CLI::Range(1, 600));
}

// The options as the adapter takes them; prints the error and returns nullopt on bad input.
std::optional<CalDavOptions> caldav_options(Context& ctx, const CalDavCliOptions& o) {
  CalDavOptions out;
  out.url = o.url;
  out.calendar.lang = o.lang;
  out.calendar.dashboard_url = o.dashboard_url;
  out.with_events = o.with_events;
  out.timeout_seconds = o.timeout;
  if (!o.credentials.empty()) {
    auto c = read_caldav_credentials(o.credentials);
    if (!c) {
      ctx.fail(c.error());
      return std::nullopt;
    }
    out.credentials = std::move(*c);
  } else {
    const char* user = std::getenv("ZORGPAD_CALDAV_USER");
    const char* password = std::getenv("ZORGPAD_CALDAV_PASSWORD");
    if (user && *user) out.credentials = CalDavCredentials{user, password ? password : ""};
  }
  return out;
}

// Prints the report: what happened on standard output, each failure on
// standard error; exit status 2 when anything failed.
void print_report(Context& ctx, const CalDavReport& rep, const std::string& totals) {
  for (const auto& line : rep.lines) {
    if (line.failed) print_error(line.text);
    else std::cout << line.text << "\n";
  }
  std::cout << totals << ", " << rep.failed << " failed\n";
  if (rep.failed) ctx.status = kExitBadInput;
}

}  // namespace

void setup_calendar(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "calendar", "Export reevaluation, LRS check and GP contact tasks as an iCalendar file (RFC 5545, VTODO)");
  struct Opts { std::string from, to, out, lang = "nl"; };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--from", o->from, "only tasks due on or after DATE");
  cmd->add_option("--to", o->to, "only tasks due on or before DATE");
  cmd->add_option("--out", o->out, "write to FILE.ics (default: standard output)");
  cmd->add_option("--lang", o->lang, "language of the summaries: nl (default) or en")
      ->check(CLI::IsMember({"nl", "en"}));
  cmd->callback([o, cmd, &ctx] {
    if (!cmd->get_subcommands().empty()) return;  // push or pull ran
    CalendarOptions opts;
    opts.lang = o->lang;
    if (!o->from.empty() && !(opts.from = parse_date_option(ctx, "--from", o->from))) return;
    if (!o->to.empty() && !(opts.to = parse_date_option(ctx, "--to", o->to))) return;
    if (opts.from && opts.to && *opts.to < *opts.from)
      return ctx.fail_bad_input("option --to: " + opts.to->iso() + " lies before --from " + opts.from->iso());
    auto store = ctx.open_store();
    if (!store) return;
    auto ics = render_calendar(*store, ctx.clock(), opts);
    if (!ics) {
      print_error(ics.message());
      ctx.status = kExitFailure;
      return;
    }
    if (o->out.empty()) {
      std::cout << *ics;
      return;
    }
    // Renamed into place (a reader never sees half a calendar), 0600: patient data.
    if (Status w = write_private_file(o->out, *ics); !w) ctx.fail(w.error());
  });

  auto* push = cmd->add_subcommand(
      "push", "Put one VTODO per open task into each therapist's calendar on a CalDAV server; update the rest");
  auto po = std::make_shared<CalDavCliOptions>();
  add_caldav_options(push, *po);
  push->add_flag("--with-events", po->with_events,
                 "also an all-day VEVENT per open task, for calendar clients that ignore VTODO");
  push->callback([po, &ctx] {
    auto opts = caldav_options(ctx, *po);
    if (!opts) return;
    auto store = ctx.open_store();
    if (!store) return;
    auto rep = caldav_push(*store, *opts);
    if (!rep) return ctx.fail(rep.error());
    print_report(ctx, *rep,
                 "calendar push: " + std::to_string(rep->created) + " created, " + std::to_string(rep->updated) +
                     " updated, " + std::to_string(rep->unchanged) + " unchanged, " + std::to_string(rep->removed) +
                     " removed");
  });

  auto* pull = cmd->add_subcommand(
      "pull", "Record done the tasks whose VTODO the scheduler marked COMPLETED (as `zorgpad task done ID`)");
  auto lo = std::make_shared<CalDavCliOptions>();
  add_caldav_options(pull, *lo);
  pull->callback([lo, &ctx] {
    auto opts = caldav_options(ctx, *lo);
    if (!opts) return;
    auto store = ctx.open_store();
    if (!store) return;
    auto rep = caldav_pull(*store, *opts);
    if (!rep) return ctx.fail(rep.error());
    print_report(ctx, *rep,
                 "calendar pull: " + std::to_string(rep->recorded) + " recorded done, " + std::to_string(rep->skipped) +
                     " skipped");
  });
}

}  // namespace zorgpad::cli
