// Users of the network service and their tokens (issue 14). A token is
// "zp_<user id>_<43 characters>": 32 random bytes from OpenSSL's generator,
// base64url. The database keeps only the SHA-256 of the random part (the
// token has 256 bits of entropy, so a slow password hash would add nothing);
// a presented token is looked up by its user id and its hash compared in
// constant time (CRYPTO_memcmp). The token is printed once, by `user add`.
//
// Roles (docs/serve.md, "Users and roles"):
//   therapist       reads and writes the episodes of their practice
//   practice_admin  the same, and manages the users of the practice
//   coordinator     reads every practice of the network, marks tasks done
//   gp              reads the letters addressed to their GP code
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pathway/expected.hpp"
#include "persistence/store.hpp"

namespace zorgpad::access {

enum class Role { therapist, practice_admin, coordinator, gp };

std::optional<Role> parse_role(std::string_view name);
const char* role_name(Role role);
// "therapist, practice_admin, coordinator, gp"
const char* role_list();

// A user to add; `practice` is required for a therapist and a practice
// admin, `gp` (the GP code) for a gp.
struct NewUser {
  std::string name;
  Role role = Role::therapist;
  std::string practice, gp;
};
struct Added {
  UserRow user;
  std::string token;  // shown once
};
// Checks the user (bad input: a name of 1-100 printable characters, the
// practice or GP code a role needs) and adds it with a fresh token.
Expected<Added> add_user(Store& store, const NewUser& user);

// The user a token belongs to: none when the token is malformed, unknown,
// wrong or revoked (the caller cannot tell which, and neither can a timer).
Expected<std::optional<UserRow>> authenticate(Store& store, std::string_view token);

// True when `token` has the form of a user token ("zp_…").
bool is_user_token(std::string_view token);
// "user:NAME#ID": how the audit log names a user.
std::string audit_name(const UserRow& user);

// {"id", "name", "role", "practice", ["gp",] "created_at", "revoked_at"}:
// a user as `user list --json` and GET /api/users show it (never the hash).
nlohmann::json user_json(const UserRow& user);

// SHA-256 of `text`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view text);

}  // namespace zorgpad::access
