// FIELD=VALUE text from the command line, typed by the schema: the value an
// app would have given the device library for that field.
//
// integer and timestamp fields take a decimal integer, boolean fields true or
// false; every other kind (text, date, enumeration, reference, digest,
// structured) takes the text as given, and the library's own validation
// checks it before anything is written.
#pragma once

#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "device/field_device.hpp"
#include "schema/collection.hpp"
#include "tools/casefile-device/command_line.hpp"

namespace casefile::device_tool {

// Errors: "wrong_type" (not a decimal integer in range, or not true/false).
Result<device::PlainValue> typed_value(const schema::FieldDeclaration& field, std::string_view text);

// The fields of one write to `collection` (current schema): each --set typed,
// each --clear as null. Errors: "unknown_collection", "unknown_field",
// "wrong_type", "usage" (a field both set and cleared, or set twice).
Result<device::PlainFields> typed_fields(std::string_view collection,
                                         const std::vector<FieldAssignment>& assignments,
                                         const std::vector<std::string>& cleared);

// The declaration of `field` in `collection` (current schema).
// Errors: "unknown_collection", "unknown_field".
Result<const schema::FieldDeclaration*> find_declared_field(std::string_view collection,
                                                            std::string_view field);

}  // namespace casefile::device_tool
