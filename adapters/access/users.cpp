#include "adapters/access/users.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>

namespace zorgpad::access {
namespace {

constexpr std::string_view kPrefix = "zp_";
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

std::string base64url(const unsigned char* p, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

std::optional<Role> parse_role(std::string_view name) {
  if (name == "therapist") return Role::therapist;
  if (name == "practice_admin") return Role::practice_admin;
  if (name == "coordinator") return Role::coordinator;
  if (name == "gp") return Role::gp;
  return std::nullopt;
}

const char* role_name(Role role) {
  switch (role) {
    case Role::therapist: return "therapist";
    case Role::practice_admin: return "practice_admin";
    case Role::coordinator: return "coordinator";
    case Role::gp: return "gp";
  }
  return "?";
}

const char* role_list() { return "therapist, practice_admin, coordinator, gp"; }

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

bool is_user_token(std::string_view token) { return token.substr(0, kPrefix.size()) == kPrefix; }

nlohmann::json user_json(const UserRow& u) {
  nlohmann::json j = {{"id", u.id}, {"name", u.name}, {"role", u.role}, {"practice", u.practice}, {"created_at", u.created_at}};
  if (!u.gp.empty()) j["gp"] = u.gp;
  j["revoked_at"] = u.revoked_at ? nlohmann::json(*u.revoked_at) : nlohmann::json(nullptr);
  return j;
}

std::string audit_name(const UserRow& user) { return "user:" + user.name + "#" + std::to_string(user.id); }

Expected<Added> add_user(Store& store, const NewUser& u) {
  if (u.name.empty() || u.name.size() > 100 || !printable(u.name)) return bad_input("--name: 1-100 printable characters");
  if ((u.role == Role::therapist || u.role == Role::practice_admin) && u.practice.empty())
    return bad_input(std::string("--practice: a ") + role_name(u.role) + " belongs to a practice");
  if (u.role == Role::gp && u.gp.empty()) return bad_input("--gp: a gp user needs the GP code their letters are addressed to");
  if (u.role != Role::gp && !u.gp.empty()) return bad_input("--gp: only a gp user has a GP code");
  if (u.practice.size() > 32 || !printable(u.practice)) return bad_input("--practice: at most 32 printable characters");
  if (u.gp.size() > 100 || !printable(u.gp)) return bad_input("--gp: at most 100 printable characters");
  std::array<unsigned char, kSecretBytes> secret{};
  if (RAND_bytes(secret.data(), int(secret.size())) != 1) return store_failure("no random bytes for a token (OpenSSL RAND_bytes)");
  const std::string secret_text = base64url(secret.data(), secret.size());
  OPENSSL_cleanse(secret.data(), secret.size());
  UserRow row;
  row.name = u.name;
  row.role = role_name(u.role);
  row.practice = u.practice;
  row.gp = u.gp;
  row.token_hash = sha256_hex(secret_text);
  row.created_at = store.clock().unix_seconds();
  auto id = store.add_user(row);
  if (!id) return id.error();
  row.id = *id;
  return Added{row, std::string(kPrefix) + std::to_string(*id) + "_" + secret_text};
}

Expected<std::optional<UserRow>> authenticate(Store& store, std::string_view token) {
  if (!is_user_token(token)) return std::optional<UserRow>();
  const std::string_view rest = token.substr(kPrefix.size());
  const size_t sep = rest.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 18) return std::optional<UserRow>();
  int64_t id = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + sep, id);
  if (ec != std::errc() || end != rest.data() + sep || id < 1) return std::optional<UserRow>();
  const std::string_view secret = rest.substr(sep + 1);
  if (secret.size() != kSecretChars) return std::optional<UserRow>();
  auto user = store.user(id);
  if (!user) return user.error();
  if (!*user) return std::optional<UserRow>();
  const std::string presented = sha256_hex(secret);
  const std::string& stored = (*user)->token_hash;
  const bool same = stored.size() == presented.size() && CRYPTO_memcmp(stored.data(), presented.data(), presented.size()) == 0;
  if (!same || (*user)->revoked_at) return std::optional<UserRow>();
  return user;
}

}  // namespace zorgpad::access
