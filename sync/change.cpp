#include "sync/change.hpp"

#include <algorithm>

#include "sync/internal/utf8_validation.hpp"

namespace casefile::sync {
namespace {

Error invalid(std::string message) { return make_error("change_invalid", std::move(message)); }

// Collection and field names are schema identifiers: [a-z0-9_], starting with a letter.
bool is_valid_name(const std::string& name, std::size_t max_bytes) {
  if (name.empty() || name.size() > max_bytes) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool is_strictly_ascending(const std::vector<Dot>& dots) {
  return std::adjacent_find(dots.begin(), dots.end(), [](const Dot& a, const Dot& b) { return !(a < b); }) ==
         dots.end();
}

Status validate_value(const FieldValue& value, const ChangeLimits& limits) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    if (text->size() > limits.max_string_bytes) {
      return invalid("string value longer than " + std::to_string(limits.max_string_bytes) + " bytes");
    }
    if (!internal::is_valid_utf8(*text)) return invalid("string value is not valid UTF-8");
  }
  if (const auto* sealed = std::get_if<SealedValue>(&value)) {
    if (sealed->envelope.empty()) return invalid("empty sealed envelope");
    if (sealed->envelope.size() > limits.max_sealed_bytes) {
      return invalid("sealed envelope longer than " + std::to_string(limits.max_sealed_bytes) + " bytes");
    }
  }
  return ok_status();
}

}  // namespace

Status validate_change(const Change& change, const ChangeLimits& limits) {
  if (change.id.sequence == 0) return invalid("device sequence numbers start at 1");
  if (!is_valid_name(change.record.collection, limits.max_name_bytes))
    return invalid("invalid collection name");
  if (change.operations.empty()) return invalid("a change needs at least one operation");
  if (change.operations.size() > limits.max_operations) {
    return invalid("more than " + std::to_string(limits.max_operations) + " operations");
  }
  const bool is_delete = change.operations.front().kind == OperationKind::delete_record;
  if (is_delete && change.operations.size() != 1)
    return invalid("a delete must be the change's only operation");
  const std::string* previous_field = nullptr;
  for (const Operation& operation : change.operations) {
    if (operation.supersedes.size() > limits.max_supersedes) {
      return invalid("more than " + std::to_string(limits.max_supersedes) + " superseded dots");
    }
    if (!is_strictly_ascending(operation.supersedes))
      return invalid("superseded dots not in ascending order");
    if (std::binary_search(operation.supersedes.begin(), operation.supersedes.end(), change.id)) {
      return invalid("a change cannot supersede itself");
    }
    switch (operation.kind) {
      case OperationKind::delete_record:
        if (!is_delete) return invalid("a delete must be the change's only operation");
        if (!operation.field.empty()) return invalid("a delete names no field");
        if (!std::holds_alternative<NullValue>(operation.value)) return invalid("a delete carries no value");
        break;
      case OperationKind::set_field:
      case OperationKind::resolve_conflict:
        if (!is_valid_name(operation.field, limits.max_name_bytes)) return invalid("invalid field name");
        if (previous_field && !(*previous_field < operation.field)) {
          return invalid("fields not in strictly ascending order");
        }
        previous_field = &operation.field;
        CASEFILE_RETURN_IF_ERROR(validate_value(operation.value, limits));
        break;
      default:
        return invalid("unknown operation kind");
    }
  }
  return ok_status();
}

void canonicalize_change(Change& change) {
  for (Operation& operation : change.operations) {
    std::sort(operation.supersedes.begin(), operation.supersedes.end());
    operation.supersedes.erase(std::unique(operation.supersedes.begin(), operation.supersedes.end()),
                               operation.supersedes.end());
  }
  std::stable_sort(change.operations.begin(), change.operations.end(),
                   [](const Operation& a, const Operation& b) { return a.field < b.field; });
}

}  // namespace casefile::sync
