#include "schema/collection.hpp"

namespace casefile::schema {

const FieldDeclaration* CollectionDeclaration::find_field(std::string_view field_name) const {
  for (const FieldDeclaration& field : fields) {
    if (field.name == field_name) return &field;
  }
  return nullptr;
}

const CollectionDeclaration* SchemaDeclaration::find_collection(std::string_view collection_name) const {
  for (const CollectionDeclaration& collection : collections) {
    if (collection.name == collection_name) return &collection;
  }
  return nullptr;
}

}  // namespace casefile::schema
