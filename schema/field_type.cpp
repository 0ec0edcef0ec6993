#include "schema/field_type.hpp"

#include <utility>

namespace casefile::schema {

std::string_view field_kind_name(FieldKind kind) {
  switch (kind) {
    case FieldKind::text:
      return "text";
    case FieldKind::integer:
      return "integer";
    case FieldKind::boolean:
      return "boolean";
    case FieldKind::date:
      return "date";
    case FieldKind::timestamp:
      return "timestamp";
    case FieldKind::enumeration:
      return "enumeration";
    case FieldKind::reference:
      return "reference";
    case FieldKind::digest:
      return "digest";
    case FieldKind::structured:
      return "structured";
  }
  return "unknown";
}

FieldType text_type(std::size_t max_length) {
  return FieldType{.kind = FieldKind::text, .max_length = max_length};
}

FieldType integer_type(std::int64_t minimum, std::int64_t maximum) {
  return FieldType{.kind = FieldKind::integer, .minimum = minimum, .maximum = maximum};
}

FieldType boolean_type() { return FieldType{.kind = FieldKind::boolean}; }

FieldType date_type() { return FieldType{.kind = FieldKind::date}; }

FieldType timestamp_type() {
  return FieldType{.kind = FieldKind::timestamp, .minimum = kEarliestTimestamp, .maximum = kLatestTimestamp};
}

FieldType enumeration_type(std::vector<std::string> values) {
  return FieldType{.kind = FieldKind::enumeration, .values = std::move(values)};
}

FieldType reference_type() { return FieldType{.kind = FieldKind::reference}; }

FieldType digest_type() { return FieldType{.kind = FieldKind::digest}; }

FieldType structured_type(std::size_t max_length) {
  return FieldType{.kind = FieldKind::structured, .max_length = max_length};
}

}  // namespace casefile::schema
