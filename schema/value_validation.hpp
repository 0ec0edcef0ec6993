// Checking field writes against a schema declaration.
//
// Validation has two levels (DESIGN §3):
// - server: clear fields are checked against their type; a sealed field must
//   hold an envelope (or null), which the server cannot open.
// - device: the same for clear fields, and a sealed field holds its plaintext
//   (a clear ValueView), checked against its declared type before sealing.
//
// Error codes (stable; docs/schema.md):
//   unknown_collection, unknown_field, wrong_type, value_out_of_range,
//   value_too_long, not_in_enumeration, invalid_date, invalid_reference,
//   invalid_text, invalid_digest, invalid_structured_value, invalid_envelope,
//   sealed_field_in_clear, clear_field_sealed, required_field_missing,
//   inconsistent_fields.
// Messages name the collection, field and broken constraint, never a value.
#pragma once

#include <string_view>

#include "base/result.hpp"
#include "schema/collection.hpp"
#include "schema/value_view.hpp"

namespace casefile::schema {

enum class ValidationLevel { server, device };

// One field write. Null clears an optional field; it is refused for a required
// one ("required_field_missing").
Status validate_field_write(const CollectionDeclaration& collection, std::string_view field_name,
                            const ValueView& value, ValidationLevel level);
Status validate_field_write(const SchemaDeclaration& schema, std::string_view collection_name,
                            std::string_view field_name, const ValueView& value, ValidationLevel level);

// A value against a type, whatever the field's protection: what the device
// checks before sealing. `field_name` is only used in messages.
Status validate_value(const FieldType& type, std::string_view field_name, const ValueView& value);

// The cross-field rules of `collection` (derived flags, date orders) over a
// whole record. With `touched`, only the rules that involve a field in
// `touched` are checked, so that a write is not refused for what it did not
// change. Error: "inconsistent_fields".
Status check_consistency(const CollectionDeclaration& collection, const FieldMap& record,
                         const FieldMap* touched = nullptr);

// Every field of one write to one record: each field (validate_field_write);
// on creation (`current` is nullptr), every required field present and not
// null; then the cross-field rules over `current` overlaid with `written`.
Status validate_record_fields(const SchemaDeclaration& schema, std::string_view collection_name,
                              const FieldMap* current, const FieldMap& written, ValidationLevel level);

// `current` overlaid with `written`: the record as it would be after the write.
FieldMap overlay_fields(const FieldMap* current, const FieldMap& written);

}  // namespace casefile::schema
