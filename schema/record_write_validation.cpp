#include "schema/record_write_validation.hpp"

#include <cassert>
#include <string>

#include "schema/intake_schema.hpp"
#include "schema/record_lifecycle.hpp"

namespace casefile::schema {
namespace {

Result<const CollectionDeclaration*> find_collection(std::uint32_t schema_version, std::string_view name) {
  auto schema = declaration(schema_version);
  if (!schema.ok()) return std::move(schema).error();
  const CollectionDeclaration* collection = (*schema)->find_collection(name);
  if (collection == nullptr) {
    return make_error("unknown_collection", "schema version " + std::to_string(schema_version) +
                                                " declares no collection '" + std::string(name) + "'");
  }
  return collection;
}

}  // namespace

Status validate_record_write(const RecordWrite& write, ValidationLevel level) {
  assert(write.written != nullptr);
  auto collection = find_collection(write.schema_version, write.collection);
  if (!collection.ok()) return std::move(collection).error();
  CASEFILE_RETURN_IF_ERROR(check_lifecycle_write(**collection, write.current, *write.written));
  CASEFILE_RETURN_IF_ERROR(validate_record_fields(**declaration(write.schema_version), write.collection,
                                                  write.current, *write.written, level));
  if ((*collection)->name == "amendments" && write.current == nullptr) {
    CASEFILE_RETURN_IF_ERROR(check_amendment_target(write.amendment_target));
  }
  return ok_status();
}

Status validate_record_deletion(std::uint32_t schema_version, std::string_view collection,
                                const FieldMap& current) {
  auto found = find_collection(schema_version, collection);
  if (!found.ok()) return std::move(found).error();
  return check_record_deletion(**found, current);
}

}  // namespace casefile::schema
