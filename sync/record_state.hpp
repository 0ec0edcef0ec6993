// The merged state of one record: a register per field, a register of
// tombstones, and the dots that deletes have superseded record-wide.
//
// Merge rules (docs/sync.md):
// - set_field F: written into F's register, superseding the named dots there.
// - resolve_conflict F: the same, and the named dots also leave the
//   tombstones, so a resolution can keep a record someone deleted.
// - delete_record: adds a tombstone; the named dots leave every field and the
//   tombstones, and arrive dead if they come later.
// A record with a live tombstone and no live field is deleted. A record with
// both was edited concurrently with its deletion: it is kept and flagged.
//
// Applying the same set of changes in any order, any number of times, gives
// byte-identical states (encode_record_state).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "sync/change.hpp"
#include "sync/field_register.hpp"

namespace casefile::sync {

class RecordState {
 public:
  explicit RecordState(RecordKey key) : key_(std::move(key)) {}

  // REQUIRES: change.record == key() and validate_change(change).ok().
  void apply(const Change& change);

  const RecordKey& key() const { return key_; }
  // Fields that hold a live write or remember superseded dots, by name.
  const std::map<std::string, FieldRegister>& fields() const { return fields_; }
  const FieldRegister* field(const std::string& name) const;
  const FieldRegister& tombstones() const { return tombstones_; }
  const std::vector<Dot>& deleted_dots() const { return deleted_dots_; }

  bool is_deleted() const;
  bool has_edit_delete_conflict() const;
  bool has_field_conflict() const;
  bool needs_resolution() const { return has_field_conflict() || has_edit_delete_conflict(); }

  // Every live dot of one field: what a write of that field supersedes.
  std::vector<Dot> live_dots(const std::string& field) const;
  // Every live dot in the record, tombstones included: what a delete supersedes.
  std::vector<Dot> all_live_dots() const;

  // For decoding.
  static RecordState from_parts(RecordKey key, std::map<std::string, FieldRegister> fields,
                                FieldRegister tombstones, std::vector<Dot> deleted_dots);

  friend bool operator==(const RecordState&, const RecordState&) = default;

 private:
  bool has_live_field() const;

  RecordKey key_;
  std::map<std::string, FieldRegister> fields_;
  FieldRegister tombstones_;       // entries hold NullValue
  std::vector<Dot> deleted_dots_;  // superseded by deletes, in every field
};

// Canonical bytes of a record state: two replicas agree iff their bytes do.
crypto::Bytes encode_record_state(const RecordState& state);
// Errors: "encoding_truncated", "encoding_trailing_bytes",
// "encoding_unknown_version", "encoding_invalid".
Result<RecordState> decode_record_state(crypto::ByteView bytes);

}  // namespace casefile::sync
