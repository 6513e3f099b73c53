// Choosing the backend by URL.
#include "persistence/store.hpp"

namespace zorgpad {

std::string sqlite_path(const std::string& url) {
  if (url.rfind("sqlite://", 0) == 0) return url.substr(9);  // sqlite:///abs/path -> /abs/path
  if (url.rfind("sqlite:", 0) == 0) return url.substr(7);    // sqlite:relative/path
  return url;
}

Expected<std::unique_ptr<Store>> open_store(const std::string& url, const std::string& practice, const Clock& clock,
                                            StoreOptions options) {
  if (is_postgres_url(url)) return open_pg_store(url, practice, clock, options);
  // A SQLite file is one practice; a practice code with it is accepted and
  // has no effect (the same environment can drive both backends).
  const std::string path = sqlite_path(url);
  if (path.empty()) return bad_input("--db: no file named in '" + clip(url) + "'");
  return open_sqlite_store(path, clock, options);
}

}  // namespace zorgpad
