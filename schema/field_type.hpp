// The type of one declared field, and what a value of it must satisfy.
//
// A sealed field is stored as an opaque envelope; its FieldType is the type of
// the plaintext, which only the device can see and check before sealing
// (value_validation.hpp). Clear fields are checked by the server as well.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace casefile::schema {

enum class FieldKind : std::uint8_t {
  text,         // UTF-8, at most max_length bytes, no control characters but tab and newlines
  integer,      // signed 64-bit, within [minimum, maximum]
  boolean,      // true or false
  date,         // calendar date "YYYY-MM-DD" (proleptic Gregorian, years 0001-9999)
  timestamp,    // integer milliseconds since 1970-01-01T00:00:00Z, within [minimum, maximum]
  enumeration,  // one of `values`, exactly
  reference,    // a record id: lower-case RFC 4122 text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  digest,       // a SHA-256 digest as 64 lower-case hex characters
  structured,   // a JSON object as UTF-8 text of at most max_length bytes
};

// The stable name of a kind, as served in GET /v1/schema: "text", "integer", ...
std::string_view field_kind_name(FieldKind kind);

struct FieldType {
  FieldKind kind = FieldKind::text;
  std::size_t max_length = 0;       // text, structured
  std::int64_t minimum = 0;         // integer, timestamp
  std::int64_t maximum = 0;         // integer, timestamp
  std::vector<std::string> values;  // enumeration, in display order

  friend bool operator==(const FieldType&, const FieldType&) = default;
};

// Timestamps must fall in [kEarliestTimestamp, kLatestTimestamp]: 1970-01-01
// to the last millisecond of 9999-12-31, the span a date can name.
inline constexpr std::int64_t kEarliestTimestamp = 0;
inline constexpr std::int64_t kLatestTimestamp = 253402300799999;

FieldType text_type(std::size_t max_length);
FieldType integer_type(std::int64_t minimum, std::int64_t maximum);
FieldType boolean_type();
FieldType date_type();
FieldType timestamp_type();
FieldType enumeration_type(std::vector<std::string> values);
FieldType reference_type();
FieldType digest_type();
FieldType structured_type(std::size_t max_length);

}  // namespace casefile::schema
