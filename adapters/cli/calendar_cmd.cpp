#include <cstdio>
#include <fstream>
#include <iostream>

#include "adapters/calendar/calendar.hpp"
#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

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
  cmd->callback([o, &ctx] {
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
}

}  // namespace zorgpad::cli
