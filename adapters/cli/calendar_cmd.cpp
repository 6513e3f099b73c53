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
    // Written next to the target and renamed, so a reader never sees half a calendar.
    const std::string tmp = o->out + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << *ics;
      f.close();
      if (!f) {
        std::remove(tmp.c_str());
        print_error("cannot write '" + o->out + "'");
        ctx.status = kExitFailure;
        return;
      }
    }
    if (std::rename(tmp.c_str(), o->out.c_str()) != 0) {
      std::remove(tmp.c_str());
      print_error("cannot write '" + o->out + "'");
      ctx.status = kExitFailure;
    }
  });
}

}  // namespace zorgpad::cli
