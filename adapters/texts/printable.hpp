// Text for a terminal: what the CLI prints of stored values (episode ids,
// patient references, names) goes through printable(), so a control
// character in a value (an escape sequence that would move the cursor or
// retitle the window) is shown, not obeyed.
#pragma once
#include <string>
#include <string_view>

namespace zorgpad {

// C0 controls and DEL as "\x1B", C1 controls (U+0080-U+009F) as "\u009B";
// everything else, UTF-8 included, as it is.
std::string printable(std::string_view s);

}  // namespace zorgpad
