#include "adapters/texts/share_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#ifndef ZORGPAD_SHARE_DIR
#define ZORGPAD_SHARE_DIR "share"
#endif

namespace zorgpad {

std::string share_dir() {
  if (const char* env = std::getenv("ZORGPAD_SHARE_DIR"); env && *env) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "zorgpad";
    if (std::filesystem::is_directory(installed, ec)) return installed.string();
  }
  return ZORGPAD_SHARE_DIR;  // the checkout's share/ (named in the error when it is missing too)
}

}  // namespace zorgpad
