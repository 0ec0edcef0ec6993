#include "schema/value_validation.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <string>
#include <system_error>

#include "crypto/envelope.hpp"
#include "schema/calendar_date.hpp"

namespace casefile::schema {
namespace {

std::string describe(std::string_view field_name) { return "field '" + std::string(field_name) + "'"; }

Error field_error(std::string code, std::string_view field_name, std::string_view what) {
  return make_error(std::move(code), describe(field_name) + " " + std::string(what));
}

// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF),
// without control characters other than tab, line feed and carriage return.
bool is_acceptable_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      if ((lead < 0x20 && lead != '\t' && lead != '\n' && lead != '\r') || lead == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code_point = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code_point = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code_point = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<unsigned char>(text[i + k]);
      if ((continuation & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (continuation & 0x3f);
    }
    if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000)) return false;
    if (code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) return false;
    // C1 controls.
    if (code_point >= 0x80 && code_point <= 0x9f) return false;
    i += length;
  }
  return true;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Lower-case RFC 4122 text, the form sync writes ids in on the wire.
bool is_reference(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen_position ? text[i] != '-' : !is_lower_hex(text[i])) return false;
  }
  return true;
}

bool is_digest(std::string_view text) { return text.size() == 64 && std::ranges::all_of(text, is_lower_hex); }

std::string_view value_kind_name(const ValueView& value) {
  switch (value.index()) {
    case 0:
      return "null";
    case 1:
      return "a boolean";
    case 2:
      return "an integer";
    case 3:
      return "text";
    default:
      return "sealed bytes";
  }
}

Error wrong_type(std::string_view field_name, FieldKind expected, const ValueView& value) {
  return field_error(
      "wrong_type", field_name,
      "expects " + std::string(field_kind_name(expected)) + ", got " + std::string(value_kind_name(value)));
}

Status validate_string(const FieldType& type, std::string_view field_name, std::string_view text) {
  switch (type.kind) {
    case FieldKind::text:
      if (text.size() > type.max_length) {
        return field_error("value_too_long", field_name,
                           "is limited to " + std::to_string(type.max_length) + " bytes");
      }
      if (!is_acceptable_text(text)) {
        return field_error("invalid_text", field_name, "must be UTF-8 without control characters");
      }
      return ok_status();
    case FieldKind::date:
      if (!parse_calendar_date(text)) {
        return field_error("invalid_date", field_name, "must be a calendar date written YYYY-MM-DD");
      }
      return ok_status();
    case FieldKind::enumeration:
      if (std::ranges::find(type.values, text) == type.values.end()) {
        return field_error("not_in_enumeration", field_name, "must be one of its declared values");
      }
      return ok_status();
    case FieldKind::reference:
      if (!is_reference(text)) {
        return field_error("invalid_reference", field_name,
                           "must be a record id as lower-case xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
      }
      return ok_status();
    case FieldKind::digest:
      if (!is_digest(text)) {
        return field_error("invalid_digest", field_name, "must be a SHA-256 digest as 64 lower-case hex");
      }
      return ok_status();
    case FieldKind::structured: {
      if (text.size() > type.max_length) {
        return field_error("value_too_long", field_name,
                           "is limited to " + std::to_string(type.max_length) + " bytes");
      }
      boost::system::error_code parse_error;
      const boost::json::value parsed = boost::json::parse(text, parse_error);
      if (parse_error || !parsed.is_object()) {
        return field_error("invalid_structured_value", field_name, "must be a JSON object");
      }
      return ok_status();
    }
    default:
      return ok_status();
  }
}

bool expects_string(FieldKind kind) {
  return kind == FieldKind::text || kind == FieldKind::date || kind == FieldKind::enumeration ||
         kind == FieldKind::reference || kind == FieldKind::digest || kind == FieldKind::structured;
}

Status validate_envelope(std::string_view field_name, const SealedView& sealed) {
  auto epoch = crypto::read_envelope_epoch(sealed.envelope);
  if (!epoch.ok()) {
    return field_error("invalid_envelope", field_name, "does not hold a well-formed envelope");
  }
  return ok_status();
}

template <typename T>
const T* get_if_value(const FieldMap& fields, std::string_view name) {
  const ValueView* value = find_value(fields, name);
  return value == nullptr ? nullptr : std::get_if<T>(value);
}

bool involves(const FieldMap* touched, std::string_view first, std::string_view second) {
  return touched == nullptr || find_value(*touched, first) != nullptr ||
         find_value(*touched, second) != nullptr;
}

}  // namespace

Status validate_value(const FieldType& type, std::string_view field_name, const ValueView& value) {
  if (std::holds_alternative<NullView>(value)) return ok_status();
  if (expects_string(type.kind)) {
    const auto* text = std::get_if<std::string_view>(&value);
    if (text == nullptr) return wrong_type(field_name, type.kind, value);
    return validate_string(type, field_name, *text);
  }
  if (type.kind == FieldKind::boolean) {
    if (!std::holds_alternative<bool>(value)) return wrong_type(field_name, type.kind, value);
    return ok_status();
  }
  // integer, timestamp
  const auto* number = std::get_if<std::int64_t>(&value);
  if (number == nullptr) return wrong_type(field_name, type.kind, value);
  if (*number < type.minimum || *number > type.maximum) {
    return field_error(
        "value_out_of_range", field_name,
        "must lie in [" + std::to_string(type.minimum) + ", " + std::to_string(type.maximum) + "]");
  }
  return ok_status();
}

Status validate_field_write(const CollectionDeclaration& collection, std::string_view field_name,
                            const ValueView& value, ValidationLevel level) {
  const FieldDeclaration* field = collection.find_field(field_name);
  if (field == nullptr) {
    return make_error("unknown_field",
                      "collection '" + collection.name + "' declares no " + describe(field_name));
  }
  if (std::holds_alternative<NullView>(value)) {
    if (field->presence == Presence::required) {
      return field_error("required_field_missing", field_name, "is required and cannot be cleared");
    }
    return ok_status();
  }
  const auto* sealed = std::get_if<SealedView>(&value);
  if (field->protection == Protection::clear) {
    if (sealed != nullptr)
      return field_error("clear_field_sealed", field_name, "is clear but holds an envelope");
    return validate_value(field->type, field_name, value);
  }
  if (level == ValidationLevel::server) {
    if (sealed == nullptr) {
      return field_error("sealed_field_in_clear", field_name, "is sealed but holds a clear value");
    }
    return validate_envelope(field_name, *sealed);
  }
  // Device: the plaintext, before sealing.
  if (sealed != nullptr) return wrong_type(field_name, field->type.kind, value);
  return validate_value(field->type, field_name, value);
}

Status validate_field_write(const SchemaDeclaration& schema, std::string_view collection_name,
                            std::string_view field_name, const ValueView& value, ValidationLevel level) {
  const CollectionDeclaration* collection = schema.find_collection(collection_name);
  if (collection == nullptr) {
    return make_error("unknown_collection", "schema version " + std::to_string(schema.version) +
                                                " declares no collection '" + std::string(collection_name) +
                                                "'");
  }
  return validate_field_write(*collection, field_name, value, level);
}

Status check_consistency(const CollectionDeclaration& collection, const FieldMap& record,
                         const FieldMap* touched) {
  for (const DerivedFlagRule& rule : collection.derived_flags) {
    if (!involves(touched, rule.flag, rule.source)) continue;
    const bool* flag = get_if_value<bool>(record, rule.flag);
    const std::string_view* source = get_if_value<std::string_view>(record, rule.source);
    if (flag == nullptr || source == nullptr) continue;
    const bool must_be_true = std::ranges::find(rule.true_when, *source) != rule.true_when.end();
    const bool must_be_false = std::ranges::find(rule.false_when, *source) != rule.false_when.end();
    if ((must_be_true && !*flag) || (must_be_false && *flag)) {
      return make_error("inconsistent_fields", "field '" + rule.flag + "' of collection '" + collection.name +
                                                   "' contradicts field '" + rule.source + "'");
    }
  }
  for (const DateOrderRule& rule : collection.date_orders) {
    if (!involves(touched, rule.earlier, rule.later)) continue;
    const std::string_view* earlier_text = get_if_value<std::string_view>(record, rule.earlier);
    const std::string_view* later_text = get_if_value<std::string_view>(record, rule.later);
    if (earlier_text == nullptr || later_text == nullptr) continue;
    const auto earlier = parse_calendar_date(*earlier_text);
    const auto later = parse_calendar_date(*later_text);
    if (earlier && later && *earlier > *later) {
      return make_error("inconsistent_fields", "field '" + rule.earlier + "' of collection '" +
                                                   collection.name + "' comes after field '" + rule.later +
                                                   "'");
    }
  }
  return ok_status();
}

FieldMap overlay_fields(const FieldMap* current, const FieldMap& written) {
  FieldMap merged = current != nullptr ? *current : FieldMap{};
  for (const auto& [name, value] : written) merged.insert_or_assign(name, value);
  return merged;
}

Status validate_record_fields(const SchemaDeclaration& schema, std::string_view collection_name,
                              const FieldMap* current, const FieldMap& written, ValidationLevel level) {
  const CollectionDeclaration* collection = schema.find_collection(collection_name);
  if (collection == nullptr) {
    return validate_field_write(schema, collection_name, "", NullView{}, level);
  }
  for (const auto& [name, value] : written) {
    CASEFILE_RETURN_IF_ERROR(validate_field_write(*collection, name, value, level));
  }
  if (current == nullptr) {
    for (const FieldDeclaration& field : collection->fields) {
      if (field.presence == Presence::required && !holds_value(written, field.name)) {
        return field_error("required_field_missing", field.name,
                           "is required when a record of '" + collection->name + "' is created");
      }
    }
  }
  return check_consistency(*collection, overlay_fields(current, written), &written);
}

}  // namespace casefile::schema
