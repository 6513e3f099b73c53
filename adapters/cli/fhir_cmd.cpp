#include <cstdio>
#include <fstream>
#include <iostream>

#include "adapters/cli/commands.hpp"
#include "adapters/fhir/fhir.hpp"

namespace zorgpad::cli {

void setup_fhir(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("fhir", "Export an episode (or --all) as a FHIR R4 Bundle (JSON)");
  struct Opts { std::string episode, out, lang = "nl"; bool all = false; };
  auto o = std::make_shared<Opts>();
  auto* ep = cmd->add_option("EPISODE", o->episode, "episode id");
  auto* all = cmd->add_flag("--all", o->all, "every episode in one Bundle");
  ep->excludes(all);
  all->excludes(ep);
  cmd->add_option("--out", o->out, "write to FILE (default: standard output)");
  cmd->add_option("--lang", o->lang, "language of the display texts: nl (default) or en")
      ->check(CLI::IsMember({"nl", "en"}));
  cmd->callback([o, &ctx] {
    if (o->episode.empty() && !o->all) return ctx.fail_bad_input("fhir: give an EPISODE or --all");
    auto store = ctx.open_store();
    if (!store) return;
    FhirOptions opts;
    opts.lang = o->lang;
    std::optional<std::string> which;
    if (!o->all) which = o->episode;
    auto r = export_fhir(*store, ctx.clock(), which, opts);
    if (!r) return ctx.fail(r.error());
    // --all: the export names every episode; the audit row says so by its action.
    if (Status a = store->audit(which ? "fhir.export" : "fhir.export.all", which ? std::vector<std::string>{*which} : std::vector<std::string>{});
        !a)
      return ctx.fail(a.error());
    const std::string text = r.value().dump(2) + "\n";
    if (o->out.empty()) {
      std::cout << text;
      return;
    }
    // Renamed into place (a reader never sees half a Bundle), 0600: patient data.
    if (Status w = write_private_file(o->out, text); !w) ctx.fail(w.error());
  });
}

}  // namespace zorgpad::cli
