#include "sync/schema_change_validator.hpp"

#include <string>
#include <variant>

#include "schema/intake_schema.hpp"
#include "schema/record_lifecycle.hpp"
#include "schema/record_write_validation.hpp"

namespace casefile::sync {
namespace {

struct ViewOfValue {
  schema::ValueView operator()(const NullValue&) const { return schema::NullView{}; }
  schema::ValueView operator()(bool value) const { return value; }
  schema::ValueView operator()(std::int64_t value) const { return value; }
  schema::ValueView operator()(const std::string& value) const { return std::string_view(value); }
  schema::ValueView operator()(const SealedValue& value) const {
    return schema::SealedView{crypto::ByteView(value.envelope)};
  }
};

schema::ValueView view_of(const FieldValue& value) { return std::visit(ViewOfValue{}, value); }

constexpr std::string_view kStatusField = "status";
constexpr std::string_view kFinalized = "finalized";

bool is_finalized_text(const FieldValue& value) {
  const auto* text = std::get_if<std::string>(&value);
  return text != nullptr && *text == kFinalized;
}

// The target an amendment names, in the same case, as its fields; nullopt
// when the write names none or it is not a live record.
Result<std::optional<RecordState>> find_amendment_target(const Change& change,
                                                         const schema::FieldMap& written,
                                                         const SchemaChangeValidator::RecordLookup& lookup) {
  const auto* collection = schema::find_value(written, "amends_collection");
  const auto* record = schema::find_value(written, "amends_record");
  if (collection == nullptr || record == nullptr) return std::optional<RecordState>();
  const auto* collection_text = std::get_if<std::string_view>(collection);
  const auto* record_text = std::get_if<std::string_view>(record);
  if (collection_text == nullptr || record_text == nullptr) return std::optional<RecordState>();
  auto record_id = parse_id<RecordId>(*record_text);
  if (!record_id) return std::optional<RecordState>();  // validation names the bad reference
  auto found = lookup(RecordKey{change.record.case_id, std::string(*collection_text), *record_id});
  if (!found.ok()) return std::move(found).error();
  if (found->has_value() && (*found)->is_deleted()) return std::optional<RecordState>();
  return found;
}

}  // namespace

schema::FieldMap record_field_views(const RecordState& state) {
  schema::FieldMap fields;
  for (const auto& [name, field_register] : state.fields()) {
    const RegisterEntry* winner = field_register.winner();
    if (winner == nullptr) continue;
    const RegisterEntry* shown = winner;
    if (name == kStatusField) {
      for (const RegisterEntry& sibling : field_register.entries()) {
        if (is_finalized_text(sibling.value)) shown = &sibling;
      }
    }
    fields.emplace(name, view_of(shown->value));
  }
  return fields;
}

schema::FieldMap written_field_views(const Change& change) {
  schema::FieldMap fields;
  for (const Operation& operation : change.operations) {
    if (operation.kind == OperationKind::delete_record) continue;
    fields.emplace(operation.field, view_of(operation.value));
  }
  return fields;
}

Status SchemaChangeValidator::validate(const Change& change, const RecordState* current) const {
  const std::uint32_t version = schema::current_version();
  // An existing record, even a deleted one, is never "created" again.
  std::optional<schema::FieldMap> current_fields;
  if (current != nullptr) current_fields = record_field_views(*current);

  const bool deletes =
      !change.operations.empty() && change.operations.front().kind == OperationKind::delete_record;
  if (deletes) {
    // A tombstone of a record never seen has nothing to protect, but its
    // collection must exist.
    return schema::validate_record_deletion(version, change.record.collection,
                                            current_fields ? *current_fields : schema::FieldMap());
  }

  const schema::FieldMap written = written_field_views(change);
  std::optional<RecordState> target;
  schema::FieldMap target_fields;
  if (change.record.collection == "amendments" && current == nullptr) {
    auto found = find_amendment_target(change, written, lookup_);
    if (!found.ok()) return std::move(found).error();
    target = std::move(found).value();
    if (target) target_fields = record_field_views(*target);
  }

  schema::RecordWrite write;
  write.schema_version = version;
  write.collection = change.record.collection;
  write.current = current_fields ? &*current_fields : nullptr;
  write.written = &written;
  write.amendment_target = target ? &target_fields : nullptr;
  return schema::validate_record_write(write, schema::ValidationLevel::server);
}

}  // namespace casefile::sync
