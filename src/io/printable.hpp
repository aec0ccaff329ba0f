#pragma once
// Text from a file, made safe to quote in a message printed on a terminal.
#include <cstddef>
#include <string>
#include <string_view>

namespace vkseg::io {

// `text` with everything a terminal would act on escaped: control characters as \n, \r, \t or
// \xNN, DEL and bytes that are not valid UTF-8 as \xNN, C1 controls, line separators and
// bidirectional overrides as \uNNNN, and a backslash as \\ (so an escape is never ambiguous).
// Valid printable UTF-8 stays as it is. Text longer than `max_bytes` is cut there and ends
// in "..." so that a huge name cannot flood the message.
std::string printable(std::string_view text, size_t max_bytes = 200);

}  // namespace vkseg::io
