#pragma once
// JSON read from files (safetensors headers, model metadata, the tuning cache). Its nesting is
// bounded before the parser sees it: nlohmann::json parses and frees without recursion, but
// copies, comparisons and dumps of a parsed value recurse (an ordered_json object copies its
// members whenever it grows), so a value nested a million deep would overflow the stack.
#include <nlohmann/json.hpp>
#include <string_view>

namespace vkseg::io {

// Far above what any vkseg file nests (a safetensors header 3 levels, a model graph 4).
inline constexpr int kMaxJsonNesting = 64;

// Parses `text`, called `what` in errors. Throws Error for text nested deeper than
// kMaxJsonNesting (found by a scan before parsing), invalid JSON, numbers beyond double's range
// and objects that name a key twice (one value would silently replace the other).
nlohmann::json parse_json(std::string_view text, std::string_view what);

// The same, with every object's keys kept in file order.
nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view what);

}  // namespace vkseg::io
