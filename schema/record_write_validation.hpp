// The one question the server (through sync's ChangeValidator) and the device
// ask before accepting a write: is this write to this record allowed by the
// schema version its author declared?
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"
#include "schema/value_validation.hpp"
#include "schema/value_view.hpp"

namespace casefile::schema {

struct RecordWrite {
  std::uint32_t schema_version = 0;  // the version the writing device declares
  std::string_view collection;
  const FieldMap* current = nullptr;  // the record before the write; nullptr when the write creates it
  const FieldMap* written = nullptr;  // the fields written; REQUIRES: not nullptr
  // When the write creates an amendment: the record named by its
  // amends_collection and amends_record, looked up by the caller in the same
  // case (nullptr when there is none).
  const FieldMap* amendment_target = nullptr;
};

// Checks, in order: the schema version ("unsupported_schema_version"), the
// collection, the lifecycle (record_lifecycle.hpp), every field and the
// cross-field rules (value_validation.hpp), and an amendment's target.
// A field that `schema_version` does not declare is "unknown_field", even if a
// later version does.
Status validate_record_write(const RecordWrite& write, ValidationLevel level);

// A tombstone of `current` in `collection`.
// Errors: "unsupported_schema_version", "unknown_collection", "record_finalized".
Status validate_record_deletion(std::uint32_t schema_version, std::string_view collection,
                                const FieldMap& current);

}  // namespace casefile::schema
