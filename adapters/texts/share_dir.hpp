// Where zorgpad's files (share/: letter templates and wording, the dashboard)
// are: $ZORGPAD_SHARE_DIR when set; else ../share/zorgpad beside the
// executable when it exists (an installed zorgpad: /usr/bin/zorgpad reads
// /usr/share/zorgpad); else the checkout's share/, compiled in (a build run
// from its checkout).
#pragma once
#include <string>

namespace zorgpad {

std::string share_dir();

}  // namespace zorgpad
