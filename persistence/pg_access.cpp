// PostgreSQL repository: users and the audit log (schema version 2). SQL only.
#include <nlohmann/json.hpp>

#include "persistence/pg_repository.hpp"

namespace zorgpad::pg {
namespace {

constexpr const char* kUserColumns = "SELECT id, name, role, practice, gp, token_hash, created_at, revoked_at FROM zorgpad.users";

UserRow user_of(const pqxx::row& r) {
  UserRow u;
  u.id = r[0].as<int64_t>();
  u.name = r[1].as<std::string>();
  u.role = r[2].as<std::string>();
  u.practice = r[3].as<std::string>();
  u.gp = r[4].as<std::string>();
  u.token_hash = r[5].as<std::string>();
  u.created_at = r[6].as<int64_t>();
  if (!r[7].is_null()) u.revoked_at = r[7].as<int64_t>();
  return u;
}

}  // namespace

// Users are of the database, not of a practice: these run without one.
Expected<int64_t> PgRepository::add_user(const UserRow& u) {
  return guarded<int64_t>([&]() -> Expected<int64_t> {
    pqxx::work tx(conn());
    auto r = tx.exec_params(
        "INSERT INTO zorgpad.users(name, role, practice, gp, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        u.name, u.role, u.practice, u.gp, u.token_hash, u.created_at);
    tx.commit();
    return r[0][0].as<int64_t>();
  });
}

Expected<std::optional<UserRow>> PgRepository::user(int64_t id) {
  return guarded<std::optional<UserRow>>([&]() -> Expected<std::optional<UserRow>> {
    pqxx::read_transaction tx(conn());
    auto r = tx.exec_params(std::string(kUserColumns) + " WHERE id = $1", id);
    std::optional<UserRow> out;
    if (!r.empty()) out = user_of(r[0]);
    tx.commit();
    return out;
  });
}

Expected<std::vector<UserRow>> PgRepository::users(const std::optional<std::string>& practice) {
  return guarded<std::vector<UserRow>>([&]() -> Expected<std::vector<UserRow>> {
    pqxx::read_transaction tx(conn());
    auto r = practice ? tx.exec_params(std::string(kUserColumns) + " WHERE practice = $1 ORDER BY id", *practice)
                      : tx.exec(std::string(kUserColumns) + " ORDER BY id");
    std::vector<UserRow> out;
    for (const auto& row : r) out.push_back(user_of(row));
    tx.commit();
    return out;
  });
}

Expected<bool> PgRepository::revoke_user(int64_t id, int64_t at) {
  return guarded<bool>([&]() -> Expected<bool> {
    pqxx::work tx(conn());
    auto r = tx.exec_params("UPDATE zorgpad.users SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", at, id);
    tx.commit();
    return r.affected_rows() == 1;
  });
}

namespace {

// One statement per row: the row and its episodes.
void insert_audit(pqxx::transaction_base& tx, const std::string& practice, const AuditRow& row) {
  tx.exec_params(
      "INSERT INTO zorgpad.audit(practice, at, \"user\", role, action, address, outcome, episodes) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
      practice, row.at, row.user, row.role, row.action, row.address, row.outcome, nlohmann::json(row.episodes).dump());
}

}  // namespace

// Inside write() in that transaction; outside, a transaction of its own in
// the practice at hand.
Status PgRepository::append_audit(const AuditRow& row) {
  if (!tx_) return append_audits({row});
  if (practice_.empty()) return bad_input("no practice: give --practice CODE (or ZORGPAD_PRACTICE)");
  return guarded<void>([&]() -> Status {
    insert_audit(*tx_, practice_, row);
    return Status::Ok();
  });
}

Status PgRepository::append_audits(const std::vector<AuditRow>& rows) {
  if (rows.empty()) return Status::Ok();
  if (practice_.empty()) return bad_input("no practice: give --practice CODE (or ZORGPAD_PRACTICE)");
  return guarded<void>([&]() -> Status {
    pqxx::work tx(conn());
    begin_practice(tx);
    for (const auto& row : rows) insert_audit(tx, practice_, row);
    tx.commit();
    return Status::Ok();
  });
}

Expected<std::vector<AuditRow>> PgRepository::audit(const AuditQuery& query) {
  if (practice_.empty()) return bad_input("no practice: give --practice CODE (or ZORGPAD_PRACTICE)");
  return guarded<std::vector<AuditRow>>([&]() -> Expected<std::vector<AuditRow>> {
    pqxx::read_transaction tx(conn());
    begin_practice(tx);
    // Optional filters as parameters that may be null: one statement for every combination.
    auto r = tx.exec_params(
        "SELECT a.id, a.at, a.practice, a.\"user\", a.role, a.action, a.address, a.outcome, a.episodes::text "
        "FROM zorgpad.audit a WHERE a.practice = $1 "
        "AND ($2::text IS NULL OR a.episodes ? $2) "
        "AND ($3::text IS NULL OR a.\"user\" = $3) AND ($4::bigint IS NULL OR a.at >= $4) "
        "ORDER BY a.id DESC LIMIT $5",
        practice_, query.episode, query.user, query.since, query.limit);
    std::vector<AuditRow> out;
    for (const auto& row : r) {
      AuditRow a;
      a.id = row[0].as<int64_t>();
      a.at = row[1].as<int64_t>();
      a.practice = row[2].as<std::string>();
      a.user = row[3].as<std::string>();
      a.role = row[4].as<std::string>();
      a.action = row[5].as<std::string>();
      a.address = row[6].as<std::string>();
      a.outcome = row[7].as<std::string>();
      a.episodes = nlohmann::json::parse(row[8].as<std::string>()).get<std::vector<std::string>>();
      out.push_back(std::move(a));
    }
    tx.commit();
    return out;
  });
}

}  // namespace zorgpad::pg
