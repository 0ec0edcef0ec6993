// Lifecycle rules, as pure functions over a record's clear fields.
//
// - Interviews and consents (Lifecycle::draft_finalized) go draft ->
//   finalized. Finalizing needs `finalized_at`. Once a record is finalized
//   every later write is refused, a write back to draft included, and so is
//   its deletion: corrections are amendments.
// - Amendments (Lifecycle::final_on_creation) are written whole by the change
//   that creates them and never edited or deleted; a correction of a
//   correction is another amendment of the same original. An amendment must
//   point at a finalized record.
// - Purge of a case after its retention period is an admin action, refused
//   while the case is under legal hold.
//
// The server checks these when a change arrives, in the order it arrives: a
// write made offline to a record that another device finalized first is
// refused, and the device quarantines it (DESIGN §4).
#pragma once

#include "base/result.hpp"
#include "schema/calendar_date.hpp"
#include "schema/collection.hpp"
#include "schema/value_view.hpp"

namespace casefile::schema {

// Whether `record`'s clear `status` is "finalized".
bool is_finalized(const FieldMap& record);

// A write of `written` over `current` (nullptr when the write creates the
// record) in `collection`.
// Errors: "record_finalized", "finalized_at_required".
Status check_lifecycle_write(const CollectionDeclaration& collection, const FieldMap* current,
                             const FieldMap& written);

// A tombstone of `current`. Error: "record_finalized".
Status check_record_deletion(const CollectionDeclaration& collection, const FieldMap& current);

// An amendment's target, looked up by the caller in the same case by the
// amendment's `amends_collection` and `amends_record` (nullptr when there is no
// such live record).
// Errors: "amendment_target_not_found", "amendment_target_not_finalized".
Status check_amendment_target(const FieldMap* target);

// Whether an admin may purge a case whose clear fields are `case_fields` on
// `today`: not under legal hold, and `retention_until` set and before today
// (the case is kept through that day).
// Errors, in this order: "legal_hold", "retention_not_set", "retention_not_expired".
Status check_purge(const FieldMap& case_fields, const CalendarDate& today);

}  // namespace casefile::schema
