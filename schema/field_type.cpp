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

namespace {

FieldType of_kind(FieldKind kind) {
  FieldType type;
  type.kind = kind;
  return type;
}

}  // namespace

FieldType text_type(std::size_t max_length) {
  FieldType type;
  type.kind = FieldKind::text;
  type.max_length = max_length;
  return type;
}

FieldType integer_type(std::int64_t minimum, std::int64_t maximum) {
  FieldType type;
  type.kind = FieldKind::integer;
  type.minimum = minimum;
  type.maximum = maximum;
  return type;
}

FieldType boolean_type() { return of_kind(FieldKind::boolean); }

FieldType date_type() { return of_kind(FieldKind::date); }

FieldType timestamp_type() {
  FieldType type;
  type.kind = FieldKind::timestamp;
  type.minimum = kEarliestTimestamp;
  type.maximum = kLatestTimestamp;
  return type;
}

FieldType enumeration_type(std::vector<std::string> values) {
  FieldType type;
  type.kind = FieldKind::enumeration;
  type.values = std::move(values);
  return type;
}

FieldType reference_type() { return of_kind(FieldKind::reference); }

FieldType digest_type() { return of_kind(FieldKind::digest); }

FieldType structured_type(std::size_t max_length) {
  FieldType type;
  type.kind = FieldKind::structured;
  type.max_length = max_length;
  return type;
}

}  // namespace casefile::schema
