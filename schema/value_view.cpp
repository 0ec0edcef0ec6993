#include "schema/value_view.hpp"

namespace casefile::schema {

const ValueView* find_value(const FieldMap& fields, std::string_view name) {
  auto found = fields.find(name);
  return found == fields.end() ? nullptr : &found->second;
}

bool holds_value(const FieldMap& fields, std::string_view name) {
  const ValueView* value = find_value(fields, name);
  return value != nullptr && !std::holds_alternative<NullView>(*value);
}

}  // namespace casefile::schema
