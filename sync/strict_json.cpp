#include "sync/strict_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/serialize.hpp>
#include <optional>
#include <string>
#include <vector>

namespace casefile::sync {
namespace {

namespace json = boost::json;

// Builds a json::value from basic_parser events, refusing what the protocol
// does not allow. The first refusal is kept in `refusal`.
class StrictHandler {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  explicit StrictHandler(const JsonLimits& limits) : limits_(limits) {}

  std::optional<Error> refusal;
  json::value result;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }

  bool on_array_begin(json::error_code& ec) {
    if (stack_.size() >= limits_.max_depth)
      return refuse(ec, "json_too_deep", "nesting deeper than the limit");
    stack_.push_back(Frame{json::value(json::array_kind), {}});
    return true;
  }
  bool on_array_end(std::size_t, json::error_code& ec) { return close(ec); }

  bool on_object_begin(json::error_code& ec) {
    if (stack_.size() >= limits_.max_depth)
      return refuse(ec, "json_too_deep", "nesting deeper than the limit");
    stack_.push_back(Frame{json::value(json::object_kind), {}});
    return true;
  }
  bool on_object_end(std::size_t, json::error_code& ec) { return close(ec); }

  bool on_string_part(json::string_view part, std::size_t, json::error_code& ec) {
    return append(string_, part, ec);
  }
  bool on_string(json::string_view part, std::size_t, json::error_code& ec) {
    if (!append(string_, part, ec)) return false;
    json::string text(string_);
    string_.clear();
    return add(json::value(std::move(text)), ec);
  }
  bool on_key_part(json::string_view part, std::size_t, json::error_code& ec) {
    return append(key_, part, ec);
  }
  bool on_key(json::string_view part, std::size_t, json::error_code& ec) {
    if (!append(key_, part, ec)) return false;
    Frame& frame = stack_.back();
    if (frame.container.as_object().contains(key_)) {
      return refuse(ec, "json_duplicate_key", "duplicate key \"" + key_ + "\"");
    }
    frame.key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t number, json::string_view, json::error_code& ec) {
    return add(json::value(number), ec);
  }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code& ec) {
    return refuse(ec, "json_integer_out_of_range", "integer outside the signed 64-bit range");
  }
  bool on_double(double, json::string_view text, json::error_code& ec) {
    // Boost reports integers too large for int64/uint64 as doubles as well.
    const bool is_integer_text = text.find_first_of(".eE") == json::string_view::npos;
    if (is_integer_text)
      return refuse(ec, "json_integer_out_of_range", "integer outside the signed 64-bit range");
    return refuse(ec, "json_not_integer", "numbers must be integers");
  }
  bool on_bool(bool flag, json::error_code& ec) { return add(json::value(flag), ec); }
  bool on_null(json::error_code& ec) { return add(json::value(nullptr), ec); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    json::value container;
    std::string key;
  };

  bool refuse(json::error_code& ec, const char* code, std::string message) {
    if (!refusal) refusal = make_error(code, std::move(message));
    ec = json::error::syntax;  // stops the parser; `refusal` says why
    return false;
  }

  bool append(std::string& target, json::string_view part, json::error_code& ec) {
    if (target.size() + part.size() > limits_.max_string_bytes) {
      return refuse(ec, "json_string_too_long", "a string is longer than the limit");
    }
    target.append(part.data(), part.size());
    return true;
  }

  bool add(json::value value, json::error_code& ec) {
    if (stack_.empty()) {
      result = std::move(value);
      return true;
    }
    Frame& frame = stack_.back();
    if (frame.container.is_array()) {
      json::array& array = frame.container.as_array();
      if (array.size() >= limits_.max_array_items) {
        return refuse(ec, "json_too_many_items", "an array has more items than the limit");
      }
      array.push_back(std::move(value));
    } else {
      json::object& object = frame.container.as_object();
      if (object.size() >= limits_.max_object_members) {
        return refuse(ec, "json_too_many_items", "an object has more members than the limit");
      }
      object.emplace(frame.key, std::move(value));
    }
    return true;
  }

  bool close(json::error_code& ec) {
    json::value done = std::move(stack_.back().container);
    stack_.pop_back();
    return add(std::move(done), ec);
  }

  const JsonLimits& limits_;
  std::vector<Frame> stack_;
  std::string string_;
  std::string key_;
};

}  // namespace

Result<boost::json::value> parse_strict_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error("json_too_large", "document of " + std::to_string(text.size()) +
                                            " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  json::parse_options options;
  options.max_depth = limits.max_depth + 1;  // the handler enforces the limit with its own code
  json::basic_parser<StrictHandler> parser(options, limits);
  json::error_code ec;
  const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  StrictHandler& handler = parser.handler();
  if (handler.refusal) return *handler.refusal;
  if (ec == json::error::too_deep) return make_error("json_too_deep", "nesting deeper than the limit");
  if (ec) return make_error("json_syntax", "malformed JSON: " + ec.message());
  if (consumed != text.size()) return make_error("json_syntax", "content after the JSON document");
  return std::move(handler.result);
}

}  // namespace casefile::sync
