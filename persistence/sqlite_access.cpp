// SQLite repository: users and the audit log (schema version 7). SQL only.
#include "persistence/sqlite_repository.hpp"

#include <nlohmann/json.hpp>

#include <mutex>

namespace zorgpad::sqlite {
namespace {

UserRow user_of(SQLite::Statement& q) {
  UserRow u;
  u.id = q.getColumn(0).getInt64();
  u.name = q.getColumn(1).getString();
  u.role = q.getColumn(2).getString();
  u.practice = q.getColumn(3).getString();
  u.gp = q.getColumn(4).getString();
  u.token_hash = q.getColumn(5).getString();
  u.created_at = q.getColumn(6).getInt64();
  if (!q.getColumn(7).isNull()) u.revoked_at = q.getColumn(7).getInt64();
  return u;
}

constexpr const char* kUserColumns = "SELECT id, name, role, practice, gp, token_hash, created_at, revoked_at FROM users";

}  // namespace

Expected<int64_t> SqliteRepository::add_user(const UserRow& u) {
  return guarded<int64_t>([&]() -> Expected<int64_t> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(db_, "INSERT INTO users(name, role, practice, gp, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)");
    q.bind(1, u.name);
    q.bind(2, u.role);
    q.bind(3, u.practice);
    q.bind(4, u.gp);
    q.bind(5, u.token_hash);
    q.bind(6, u.created_at);
    q.exec();
    const int64_t id = db_.getLastInsertRowid();
    tx.commit();
    return id;
  });
}

Expected<std::optional<UserRow>> SqliteRepository::user(int64_t id) {
  return guarded<std::optional<UserRow>>([&]() -> Expected<std::optional<UserRow>> {
    auto& q = stmt(user_q_, "SELECT id, name, role, practice, gp, token_hash, created_at, revoked_at FROM users WHERE id = ?");
    q.bind(1, id);
    std::optional<UserRow> out;
    if (q.executeStep()) out = user_of(q);
    q.reset();
    return out;
  });
}

Expected<std::vector<UserRow>> SqliteRepository::users(const std::optional<std::string>& practice) {
  return guarded<std::vector<UserRow>>([&]() -> Expected<std::vector<UserRow>> {
    SQLite::Statement q(db_, std::string(kUserColumns) + (practice ? " WHERE practice = ?" : "") + " ORDER BY id");
    if (practice) q.bind(1, *practice);
    std::vector<UserRow> out;
    while (q.executeStep()) out.push_back(user_of(q));
    return out;
  });
}

Expected<bool> SqliteRepository::revoke_user(int64_t id, int64_t at) {
  return guarded<bool>([&]() -> Expected<bool> {
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(db_, "UPDATE users SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    q.bind(1, at);
    q.bind(2, id);
    const bool changed = q.exec() == 1;
    tx.commit();
    return changed;
  });
}

// Outside a write, audit rows are a transaction of their own, committed with
// synchronous=NORMAL: in WAL mode it is atomic and survives a crash of the
// process, and the next full commit (any write command) syncs it to disk with
// everything before it. A read does not wait for an fsync of its own.
Status SqliteRepository::append_audit(const AuditRow& row) {
  if (!in_write_) return append_audits({row});
  return guarded<void>([&]() -> Status {
    insert_audit(row);
    return Status::Ok();
  });
}

void SqliteRepository::insert_audit(const AuditRow& row) {
  auto& q = stmt(audit_q_,
                 "INSERT INTO audit(at, practice, user, role, action, address, outcome, episodes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, row.at);
  q.bind(2, row.practice);
  q.bind(3, row.user);
  q.bind(4, row.role);
  q.bind(5, row.action);
  q.bind(6, row.address);
  q.bind(7, row.outcome);
  q.bind(8, nlohmann::json(row.episodes).dump());
  q.exec();
  q.reset();
}

Status SqliteRepository::append_audits(const std::vector<AuditRow>& rows) {
  if (rows.empty()) return Status::Ok();
  return guarded<void>([&]() -> Status {
    // One audit transaction at a time in this process: threads queue on a
    // mutex, which wakes the next at once, not on SQLite's busy handler,
    // which sleeps for milliseconds between tries.
    static std::mutex one_at_a_time;
    std::lock_guard lock(one_at_a_time);
    if (opt_.synchronous_full) db_.exec("PRAGMA synchronous=NORMAL");
    struct Restore {
      SQLite::Database& db;
      bool full;
      ~Restore() {
        if (full) try { db.exec("PRAGMA synchronous=FULL"); } catch (...) {}
      }
    } restore{db_, opt_.synchronous_full};
    SQLite::Transaction tx(db_, SQLite::TransactionBehavior::IMMEDIATE);
    for (const auto& row : rows) insert_audit(row);
    tx.commit();
    return Status::Ok();
  });
}

Expected<std::vector<AuditRow>> SqliteRepository::audit(const AuditQuery& query) {
  return guarded<std::vector<AuditRow>>([&]() -> Expected<std::vector<AuditRow>> {
    std::string sql = "SELECT id, at, practice, user, role, action, address, outcome, episodes FROM audit a";
    std::vector<std::string> where;
    // The quoted id found in the array text, then confirmed element by element.
    if (query.episode)
      where.push_back("instr(a.episodes, :quoted) > 0 AND EXISTS (SELECT 1 FROM json_each(a.episodes) WHERE value = :episode)");
    if (query.user) where.push_back("a.user = :user");
    if (query.since) where.push_back("a.at >= :since");
    for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : " WHERE ") + where[i];
    sql += " ORDER BY a.id DESC LIMIT :limit";
    SQLite::Statement q(db_, sql);
    if (query.episode) {
      q.bind(":quoted", nlohmann::json(*query.episode).dump());
      q.bind(":episode", *query.episode);
    }
    if (query.user) q.bind(":user", *query.user);
    if (query.since) q.bind(":since", *query.since);
    q.bind(":limit", query.limit);
    std::vector<AuditRow> out;
    while (q.executeStep()) {
      AuditRow r;
      r.id = q.getColumn(0).getInt64();
      r.at = q.getColumn(1).getInt64();
      r.practice = q.getColumn(2).getString();
      r.user = q.getColumn(3).getString();
      r.role = q.getColumn(4).getString();
      r.action = q.getColumn(5).getString();
      r.address = q.getColumn(6).getString();
      r.outcome = q.getColumn(7).getString();
      auto eps = nlohmann::json::parse(q.getColumn(8).getString(), nullptr, false);
      if (eps.is_array())
        for (const auto& e : eps)
          if (e.is_string()) r.episodes.push_back(e.get<std::string>());
      out.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace zorgpad::sqlite
