#include <cstdio>
#include <fstream>
#include <iostream>

#include "adapters/cli/commands.hpp"
#include "adapters/fhir/fhir.hpp"
#include "adapters/letters/letters.hpp"

namespace zorgpad::cli {

void setup_fhir(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("fhir", "Export an episode (or --all) as a FHIR R4 Bundle (JSON)");
  struct Opts { std::string episode, out, lang = "nl", bundle = "collection", practice, patients; bool all = false; };
  auto o = std::make_shared<Opts>();
  auto* ep = cmd->add_option("EPISODE", o->episode, "episode id");
  auto* all = cmd->add_flag("--all", o->all, "every episode in one Bundle");
  ep->excludes(all);
  all->excludes(ep);
  cmd->add_option("--out", o->out, "write to FILE (default: standard output)");
  cmd->add_option("--lang", o->lang, "language of the display texts: nl (default) or en")
      ->check(CLI::IsMember({"nl", "en"}));
  cmd->add_option("--bundle", o->bundle,
                  "collection (default) or transaction (PUT with stable ids: posting twice changes nothing)")
      ->check(CLI::IsMember({"collection", "transaction"}));
  cmd->add_option("--practice-file", o->practice,
                  "the practice file (TOML): Organization, Practitioner and PractitionerRole with AGB and BIG "
                  "(default: $ZORGPAD_PRACTICE_FILE)");
  cmd->add_option("--patients", o->patients,
                  "the patients file (CSV or JSON): name, birth date and BSN on Patient; without it Patient carries "
                  "the pseudonymous reference only");
  cmd->callback([o, &ctx] {
    if (o->episode.empty() && !o->all) return ctx.fail_bad_input("fhir: give an EPISODE or --all");
    auto practice = load_practice_option(o->practice);
    if (!practice) return ctx.fail(practice.error());
    std::optional<Patients> patients;
    if (!o->patients.empty()) {
      auto p = load_patients(o->patients);
      if (!p) return ctx.fail(p.error());
      patients = std::move(p).value();
    }
    // The PDF of each sent letter, for its Communication (as `zorgpad letter ID --format pdf`).
    auto templates = LetterTemplates::load(letters_dir(), *kLangs.parse(o->lang), LetterFormat::pdf);
    if (!templates) {
      print_error(templates.message());
      ctx.status = kExitFailure;
      return;
    }
    auto store = ctx.open_store();
    if (!store) return;
    FhirOptions opts;
    opts.lang = o->lang;
    opts.transaction = o->bundle == "transaction";
    opts.practice = *practice ? &**practice : nullptr;
    opts.patients = patients ? &*patients : nullptr;
    const LetterSources sources{opts.practice, opts.patients};
    opts.letter_pdf = [&](const EpisodeRecord& rec, const Task& t) -> Expected<std::string> {
      auto id = rec.task_ids.find(t.seq);
      if (id == rec.task_ids.end()) return Error{"no task id"};
      return write_letter(*templates, rec.episode.patient, rec.stored, TaskRow{id->second, rec.episode.id, t}, sources);
    };
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
