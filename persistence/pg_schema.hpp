// PostgreSQL schema versions (zorgpad.meta holds 'schema_version').
#pragma once
#include <string>

namespace zorgpad::pg {

int schema_version();
// The SQL that brings the schema from to_version - 1 to to_version.
const char* migration_sql(int to_version);
// What the application's role may do (it owns nothing); role already quoted.
std::string grants_sql(const std::string& quoted_role);

}  // namespace zorgpad::pg
