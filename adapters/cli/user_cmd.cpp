// `zorgpad user add|list|revoke`: the users of the network service
// (adapters/access/users.hpp). The token is printed once, by `add`.
#include <iostream>

#include "adapters/access/users.hpp"
#include "adapters/cli/commands.hpp"

namespace zorgpad::cli {

void setup_user(CLI::App& app, Context& ctx) {
  auto* user = app.add_subcommand("user", "Users of `zorgpad serve`: add (prints the token once), list, revoke");
  user->require_subcommand(1);

  struct AddOpts { std::string name, role, practice, gp; };
  auto a = std::make_shared<AddOpts>();
  auto* add = user->add_subcommand("add", "Add a user; prints their token once (the database keeps only its hash)");
  add->add_option("--name", a->name, "the user's name, as the audit log shows it")->required();
  add->add_option("--role", a->role, std::string("role: ") + access::role_list())->required();
  add->add_option("--practice", a->practice, "their practice (therapist, practice_admin; a gp of one practice)");
  add->add_option("--gp", a->gp, "a gp's GP code: the letters addressed to it");
  add->callback([a, &ctx] {
    auto role = access::parse_role(a->role);
    if (!role) return ctx.fail_bad_input("--role: '" + clip(a->role, 40) + "' is not a role (" + access::role_list() + ")");
    std::string practice = a->practice;
    // --practice given globally (before the subcommand) counts too.
    if (practice.empty() && *role != access::Role::coordinator && *role != access::Role::gp) practice = ctx.practice;
    auto store = ctx.open_store();
    if (!store) return;
    auto added = access::add_user(*store, {a->name, *role, practice, a->gp});
    if (!added) return ctx.fail(added.error());
    std::cout << "user " << added->user.id << " (" << added->user.role << (practice.empty() ? "" : ", practice " + practice)
              << ") added; token (shown once, keep it safe):\n"
              << added->token << "\n";
  });

  struct ListOpts { bool json = false; std::string practice; };
  auto l = std::make_shared<ListOpts>();
  auto* list = user->add_subcommand("list", "List users (never their tokens)");
  list->add_option("--of-practice", l->practice, "only the users of this practice");
  list->add_flag("--json", l->json, "JSON lines");
  list->callback([l, &ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    auto rows = store->users(l->practice.empty() ? std::nullopt : std::optional<std::string>(l->practice));
    if (!rows) return ctx.fail(rows.error());
    for (const auto& u : *rows) {
      if (l->json) {
        std::cout << access::user_json(u).dump() << "\n";
        continue;
      }
      std::cout << u.id << "\t" << u.name << "\t" << u.role << "\t" << (u.practice.empty() ? "-" : u.practice) << "\t"
                << (u.gp.empty() ? "-" : u.gp) << "\t" << (u.revoked_at ? "revoked" : "active") << "\n";
    }
  });

  auto id = std::make_shared<int64_t>(0);
  auto* revoke = user->add_subcommand("revoke", "Revoke a user's token: every request with it is refused from now on");
  revoke->add_option("ID", *id, "the user's id (user list)")->required()->check(CLI::PositiveNumber);
  revoke->callback([id, &ctx] {
    auto store = ctx.open_store();
    if (!store) return;
    auto u = store->user(*id);
    if (!u) return ctx.fail(u.error());
    if (!*u) return ctx.fail_bad_input("no user " + std::to_string(*id));
    auto r = store->revoke_user(*id);
    if (!r) return ctx.fail(r.error());
    std::cout << "user " << *id << (*r ? " revoked" : " was revoked before") << "\n";
  });
}

}  // namespace zorgpad::cli
