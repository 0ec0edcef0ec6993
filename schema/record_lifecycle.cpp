#include "schema/record_lifecycle.hpp"

#include <string>

namespace casefile::schema {
namespace {

constexpr std::string_view kStatus = "status";
constexpr std::string_view kFinalized = "finalized";
constexpr std::string_view kFinalizedAt = "finalized_at";

Error finalized_error(const CollectionDeclaration& collection) {
  return make_error("record_finalized",
                    "a finalized record of '" + collection.name + "' cannot change; write an amendment");
}

}  // namespace

bool is_finalized(const FieldMap& record) {
  const ValueView* status = find_value(record, kStatus);
  if (status == nullptr) return false;
  const auto* text = std::get_if<std::string_view>(status);
  return text != nullptr && *text == kFinalized;
}

Status check_lifecycle_write(const CollectionDeclaration& collection, const FieldMap* current,
                             const FieldMap& written) {
  switch (collection.lifecycle) {
    case Lifecycle::editable:
      return ok_status();
    case Lifecycle::final_on_creation:
      if (current != nullptr) {
        return make_error("record_finalized",
                          "a record of '" + collection.name + "' cannot change once made");
      }
      return ok_status();
    case Lifecycle::draft_finalized:
      break;
  }
  if (current != nullptr && is_finalized(*current)) return finalized_error(collection);
  const FieldMap& after = current != nullptr ? *current : written;
  auto value_after = [&](std::string_view name) -> const ValueView* {
    const ValueView* value = find_value(written, name);
    return value != nullptr ? value : find_value(after, name);
  };
  const ValueView* status = value_after(kStatus);
  const auto* status_text = status != nullptr ? std::get_if<std::string_view>(status) : nullptr;
  if (status_text == nullptr || *status_text != kFinalized) return ok_status();
  const ValueView* finalized_at = value_after(kFinalizedAt);
  if (finalized_at == nullptr || !std::holds_alternative<std::int64_t>(*finalized_at)) {
    return make_error("finalized_at_required",
                      "finalizing a record of '" + collection.name + "' requires finalized_at");
  }
  return ok_status();
}

Status check_record_deletion(const CollectionDeclaration& collection, const FieldMap& current) {
  if (collection.lifecycle == Lifecycle::final_on_creation) {
    return make_error("record_finalized", "a record of '" + collection.name + "' cannot be deleted");
  }
  if (collection.lifecycle == Lifecycle::draft_finalized && is_finalized(current)) {
    return finalized_error(collection);
  }
  return ok_status();
}

Status check_amendment_target(const FieldMap* target) {
  if (target == nullptr) {
    return make_error("amendment_target_not_found", "the amended record does not exist in this case");
  }
  if (!is_finalized(*target)) {
    return make_error("amendment_target_not_finalized",
                      "only a finalized record is amended; edit a draft directly");
  }
  return ok_status();
}

Status check_purge(const FieldMap& case_fields, const CalendarDate& today) {
  const ValueView* hold = find_value(case_fields, "legal_hold");
  if (hold != nullptr && std::holds_alternative<bool>(*hold) && std::get<bool>(*hold)) {
    return make_error("legal_hold", "the case is under legal hold and cannot be purged");
  }
  const ValueView* retention = find_value(case_fields, "retention_until");
  const auto* retention_text = retention != nullptr ? std::get_if<std::string_view>(retention) : nullptr;
  const auto retention_until =
      retention_text != nullptr ? parse_calendar_date(*retention_text) : std::nullopt;
  if (!retention_until) {
    return make_error("retention_not_set", "the case has no retention_until date, so it is kept");
  }
  if (today <= *retention_until) {
    return make_error("retention_not_expired",
                      "the case is kept until " + format_calendar_date(*retention_until));
  }
  return ok_status();
}

}  // namespace casefile::schema
