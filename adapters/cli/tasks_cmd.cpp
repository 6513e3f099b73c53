#include <cstdio>
#include <iostream>

#include "adapters/cli/commands.hpp"
#include "adapters/texts/printable.hpp"
#include "adapters/overview/overview.hpp"
#include "states/episode_json.hpp"

namespace zorgpad::cli {

void setup_tasks(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("tasks", "List tasks (due order)");
  struct Opts { std::string due_before, kind, status; bool json = false; };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--due-before", o->due_before, "only tasks due before DATE");
  cmd->add_option("--kind", o->kind, "only tasks of this kind (default: every kind)")->check(allowed_values(kTaskKinds));
  cmd->add_option("--status", o->status, "only tasks with this status (default: every status)")->check(allowed_values(kTaskStatuses));
  cmd->add_flag("--json", o->json, "print {\"tasks\": [...]}");
  cmd->callback([o, &ctx] {
    TaskFilter f;
    if (!o->due_before.empty()) {
      f.due_before = parse_date_option(ctx, "--due-before", o->due_before);
      if (!f.due_before) return;
    }
    if (!o->kind.empty() && !(f.kind = kTaskKinds.parse(o->kind)))
      return ctx.fail_bad_input("option --kind: unknown task kind '" + o->kind.substr(0, 40) + "'");
    if (!o->status.empty() && !(f.status = kTaskStatuses.parse(o->status)))
      return ctx.fail_bad_input("option --status: unknown status '" + o->status.substr(0, 40) + "'");
    auto store = ctx.open_store();
    if (!store) return;
    auto r = store->tasks(f);
    if (!r) return ctx.fail(r.error());
    const auto& rows = r.value();
    if (o->json) {
      nlohmann::json out = {{"tasks", nlohmann::json::array()}};
      for (const auto& row : rows) out["tasks"].push_back(task_row_json(row));
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::printf("%8s  %-16s  %-18s  %-12s  %-10s  %s\n", "ID", "EPISODE", "KIND", "CHECKPOINT", "DUE", "STATUS");
    for (const auto& row : rows)
      std::printf("%8lld  %-16s  %-18s  %-12s  %-10s  %s\n", (long long)row.id, printable(row.episode).c_str(),
                  std::string(kTaskKinds.name(row.task.kind)).c_str(),
                  row.task.checkpoint ? std::string(kCheckpoints.name(*row.task.checkpoint)).c_str() : "-",
                  row.task.due.iso().c_str(), std::string(kTaskStatuses.name(row.task.status)).c_str());
    std::printf("%zu task(s)\n", rows.size());
  });
}

void setup_task(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("task", "Act on one task");
  cmd->require_subcommand(1);
  auto* done = cmd->add_subcommand("done", "Mark a task done (recorded in the episode's log)");
  auto id = std::make_shared<int64_t>(0);
  done->add_option("ID", *id, "task id (see `zorgpad tasks`)")->required()->check(CLI::PositiveNumber);
  done->callback([id, &ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    auto r = store->complete_task(*id);
    if (!r) return ctx.fail(r.error());
    const auto& row = r.value();
    std::cout << "task " << row.id << " (" << kTaskKinds.name(row.task.kind) << ", " << row.episode << ") done\n";
  });
}

}  // namespace zorgpad::cli
