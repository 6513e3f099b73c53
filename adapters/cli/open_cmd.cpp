#include <iostream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_open(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("open", "Open an episode from an 'open' event (JSON); prints its id");
  struct Opts { std::string id, patient, file; };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--id", o->id, "episode id (default: generated, ep-N)");
  cmd->add_option("--patient", o->patient, "pseudonymous patient reference");
  cmd->add_option("FILE", o->file, "the open event, or - for standard input")->required();
  cmd->callback([o, &ctx] {
    auto text = read_input(o->file);
    if (!text) return ctx.fail(text.error());
    auto body = nlohmann::json::parse(*text, nullptr, false);
    if (body.is_discarded())
      return ctx.fail_bad_input((o->id.empty() ? std::string() : clip(o->id) + " event 0: ") + "the event is not valid JSON");
    if (o->id.size() > 100) return ctx.fail_bad_input("episode id must be 1-100 characters");
    auto event = parse_event(body);
    if (!event) return ctx.fail_bad_input(event_label(o->id.empty() ? "new episode" : o->id, 0, body) + ": " + event.message());
    auto store = ctx.open_store();
    if (!store) return;
    auto r = store->open(o->id, o->patient, *event);
    if (!r) return ctx.fail(r.error());
    const auto& rec = r.value();
    std::cout << rec.episode << (rec.duplicate ? " (already opened by this event id)" : "") << "\n";
  });
}

}  // namespace zorgpad::cli
