#include <iostream>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_record(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("record", "Record one event (JSON, as in a scenario) for an episode");
  struct Opts { std::string episode, file; int64_t expect_seq = -1; };
  auto o = std::make_shared<Opts>();
  cmd->add_option("EPISODE", o->episode, "episode id")->required();
  cmd->add_option("FILE", o->file, "the event, or - for standard input")->required();
  cmd->add_option("--expect-seq", o->expect_seq, "reject unless the episode's log ends at event N (optimistic lock; default: no check)")
      ->check(CLI::NonNegativeNumber)
      ->default_str("");  // -1 only stands for "not given"
  std::string types;
  for (size_t i = 0; i < kTriggers.size(); ++i)
    if (Trigger t = kTriggers.at(i); t != Trigger::open && !is_timer(t)) types += (types.empty() ? "" : ", ") + std::string(kTriggers.name(t));
  cmd->footer("Event types: " + types + " (an episode starts with `zorgpad open`; phase changes and checkpoints are "
              "timers, fired by `tick`). Every field, range and code of each: docs/events.md.\n");
  cmd->callback([o, &ctx] {
    auto text = read_input(o->file);
    if (!text) return ctx.fail(text.error());
    auto body = nlohmann::json::parse(*text, nullptr, false);
    if (body.is_discarded()) return ctx.fail_bad_input(clip(o->episode) + ": the event is not valid JSON");
    auto store = ctx.open_store();
    if (!store) return;
    auto event = parse_event(body);
    if (!event) {
      // Named by its place in the log, as the engine names an event it refuses.
      auto at = store->log_length(o->episode);
      if (!at) return ctx.fail(at.error());
      return ctx.fail_bad_input(event_label(o->episode, *at, body) + ": " + event.message());
    }
    std::optional<int64_t> expect;
    if (o->expect_seq >= 0) expect = o->expect_seq;
    auto r = store->record(o->episode, *event, expect);
    if (!r) return ctx.fail(r.error());
    const auto& rec = r.value();
    std::cout << rec.episode << " event " << rec.seq - 1 << (rec.duplicate ? " (already recorded)" : "") << ": "
              << kStates.name(rec.state) << ", " << kPhases.name(rec.phase) << "\n";
  });
}

}  // namespace zorgpad::cli
