#include "tools/casefile-device/field_values.hpp"

#include <charconv>
#include <string>

#include "schema/intake_schema.hpp"

namespace casefile::device_tool {

Result<const schema::FieldDeclaration*> find_declared_field(std::string_view collection,
                                                            std::string_view field) {
  const schema::CollectionDeclaration* declared = schema::current_declaration().find_collection(collection);
  if (declared == nullptr) {
    return make_error("unknown_collection", "the schema has no collection " + std::string(collection));
  }
  const schema::FieldDeclaration* found = declared->find_field(field);
  if (found == nullptr) {
    return make_error("unknown_field",
                      "collection " + std::string(collection) + " has no field " + std::string(field));
  }
  return found;
}

Result<device::PlainValue> typed_value(const schema::FieldDeclaration& field, std::string_view text) {
  switch (field.type.kind) {
    case schema::FieldKind::integer:
    case schema::FieldKind::timestamp: {
      std::int64_t number = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        return make_error("wrong_type", "field " + field.name + " takes a decimal integer");
      }
      return device::PlainValue(number);
    }
    case schema::FieldKind::boolean:
      if (text == "true") return device::PlainValue(true);
      if (text == "false") return device::PlainValue(false);
      return make_error("wrong_type", "field " + field.name + " takes true or false");
    default:
      return device::PlainValue(std::string(text));
  }
}

Result<device::PlainFields> typed_fields(std::string_view collection,
                                         const std::vector<FieldAssignment>& assignments,
                                         const std::vector<std::string>& cleared) {
  device::PlainFields fields;
  for (const FieldAssignment& assignment : assignments) {
    auto declared = find_declared_field(collection, assignment.field);
    if (!declared.ok()) return std::move(declared).error();
    auto value = typed_value(**declared, assignment.text);
    if (!value.ok()) return std::move(value).error();
    if (!fields.emplace(assignment.field, std::move(*value)).second) {
      return make_error("usage", "--set " + assignment.field + " given twice");
    }
  }
  for (const std::string& field : cleared) {
    auto declared = find_declared_field(collection, field);
    if (!declared.ok()) return std::move(declared).error();
    if (!fields.emplace(field, device::PlainValue()).second) {
      return make_error("usage", field + " is both set and cleared (or cleared twice)");
    }
  }
  return fields;
}

}  // namespace casefile::device_tool
