#pragma once

namespace zorgpad {

inline constexpr int kApplicationId = 0x5A505044;  // "ZPPD": marks a zorgpad store
int current_schema_version();
const char* schema_v1_sql();
// The SQL that migrates from to_version - 1 to to_version.
const char* migration_sql(int to_version);
// After migrating to this version the store rewrites every episode body in
// the same transaction (new fields of pathway revision 2, at their defaults
// for a revision-1 episode).
inline constexpr int kRewriteBodiesAt = 6;

}  // namespace zorgpad
