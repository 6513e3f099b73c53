#include <iostream>

#include <spdlog/spdlog.h>

#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_init(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("init", "Create (or migrate) the database");
  auto app_role = std::make_shared<std::string>();
  cmd->add_option("--app-role", *app_role,
                  "PostgreSQL: the role the application runs as, granted what it needs (run init as the schema's owner)");
  cmd->callback([&ctx, app_role] {
    if (is_postgres_url(ctx.db)) {
      // An application role finds the schema current and changes nothing;
      // the owner creates or migrates it and grants the application role.
      if (app_role->empty()) {
        auto current = open_pg_store(ctx.db, "", ctx.clock());
        if (current) {
          std::cout << "database ready: PostgreSQL schema zorgpad\n";
          return;
        }
        spdlog::get("zorgpad")->info("init: {}", current.error().message);
      }
      if (Status s = init_pg_schema(ctx.db, *app_role); !s) return ctx.fail_bad_input(s.message());
      std::cout << "database ready: PostgreSQL schema zorgpad" << (app_role->empty() ? "" : ", granted to " + *app_role) << "\n";
      return;
    }
    if (!app_role->empty()) return ctx.fail_bad_input("--app-role applies to PostgreSQL only");
    auto store = ctx.open_store({}, /*create=*/true);
    if (!store) return;
    std::cout << "database ready: " << ctx.db << "\n";
  });
}

}  // namespace zorgpad::cli
