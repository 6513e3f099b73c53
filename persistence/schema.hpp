#pragma once

namespace zorgpad {

inline constexpr int kApplicationId = 0x5A505044;  // "ZPPD": marks a zorgpad store
int current_schema_version();
const char* schema_v1_sql();
// The SQL that migrates from to_version - 1 to to_version.
const char* migration_sql(int to_version);

}  // namespace zorgpad
