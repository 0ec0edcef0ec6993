// SchemaChangeValidator: the server's ChangeValidator, asking the schema
// (schema/record_write_validation.hpp) about each change of a push.
//
// A change is judged against the current schema declaration: versions only
// ever add fields (schema/intake_schema.hpp), so a change written under an
// older version is valid under the current one, and a change does not carry
// the version its author declared. The record before the change is its merged
// state: for each field the shown winner, except that a field with a sibling
// "finalized" counts as finalized, so a conflict cannot unlock a record. A
// record that exists but is deleted counts as existing (a write to it is an
// edit-versus-delete, kept and flagged, not a new record).
#pragma once

#include <functional>
#include <optional>

#include "base/result.hpp"
#include "schema/value_view.hpp"
#include "sync/change_validator.hpp"
#include "sync/record_state.hpp"

namespace casefile::sync {

// The live fields of `state` as schema views, one value per field (the
// winner; see above for "status"). The views point into `state`.
schema::FieldMap record_field_views(const RecordState& state);

// The fields one change writes, as schema views pointing into `change`.
schema::FieldMap written_field_views(const Change& change);

class SchemaChangeValidator final : public ChangeValidator {
 public:
  // The merged state of a record, or nullopt when there is none; errors
  // refuse the change with their code ("store_unavailable", ...).
  using RecordLookup = std::function<Result<std::optional<RecordState>>(const RecordKey&)>;

  // `lookup` finds an amendment's target in the same case.
  explicit SchemaChangeValidator(RecordLookup lookup) : lookup_(std::move(lookup)) {}

  // Codes: those of schema::validate_record_write and
  // schema::validate_record_deletion (unknown_collection, unknown_field,
  // wrong_type, record_finalized, amendment_target_not_found, ...).
  Status validate(const Change& change, const RecordState* current) const override;

 private:
  RecordLookup lookup_;
};

}  // namespace casefile::sync
