#include "io/json.hpp"

#include <fmt/format.h>

#include <set>
#include <string>
#include <vector>

#include "vkseg/error.hpp"
#include "vkseg/text.hpp"

namespace vkseg::io {

namespace {

// Counts brackets outside strings (skipping escaped characters in them). Where the text is valid
// JSON this is the parser's nesting; where it is not, the parser stops at the first fault, so
// the count up to there still bounds how deep it went.
void check_nesting(std::string_view text, std::string_view what) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonNesting) {
        throw Error(fmt::format("{} nests arrays and objects deeper than {} levels", what,
                                kMaxJsonNesting));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

template <class Json>
Json parse(std::string_view text, std::string_view what) {
  check_nesting(text, what);
  // The keys of every object being parsed, innermost last.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  const typename Json::parser_callback_t reject_duplicates =
      [&](int, typename Json::parse_event_t event, Json& parsed) {
        using Event = typename Json::parse_event_t;
        if (event == Event::object_start) {
          open_objects.emplace_back();
        } else if (event == Event::object_end) {
          open_objects.pop_back();
        } else if (event == Event::key && duplicate.empty() &&
                   !open_objects.back().insert(parsed.template get<std::string>()).second) {
          duplicate = parsed.template get<std::string>();
        }
        return true;
      };
  Json value;
  try {
    value = Json::parse(text.begin(), text.end(), reject_duplicates);
  } catch (const typename Json::parse_error& e) {
    throw Error(fmt::format("{} is not valid JSON (error at byte {})", what, e.byte));
  } catch (const typename Json::out_of_range&) {
    // A number beyond double's range ("1e400") is not a parse_error to nlohmann::json.
    throw Error(fmt::format("{} is not valid JSON (a number out of range)", what));
  }
  if (!duplicate.empty()) {
    throw Error(fmt::format("{} names '{}' twice in one object", what, printable(duplicate)));
  }
  return value;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, std::string_view what) {
  return parse<nlohmann::json>(text, what);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, std::string_view what) {
  return parse<nlohmann::ordered_json>(text, what);
}

}  // namespace vkseg::io
