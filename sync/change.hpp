// Change: the unit of sync. One change edits one record and is immutable once
// made; it is identified by its dot (author device, device sequence number).
//
// A change holds either exactly one delete operation, or one or more set /
// resolve operations on distinct fields, in ascending field-name order. Every
// list of superseded dots is sorted ascending and free of repeats. These rules
// make the canonical encoding (change_encoding.hpp) unique; `validate_change`
// checks them.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "sync/dot.hpp"
#include "sync/hlc.hpp"
#include "sync/ids.hpp"

namespace casefile::sync {

// An end-to-end encrypted value. Sync never reads it: merge looks only at dots
// and clocks.
struct SealedValue {
  crypto::Bytes envelope;
  friend bool operator==(const SealedValue&, const SealedValue&) = default;
};

struct NullValue {
  friend bool operator==(const NullValue&, const NullValue&) = default;
};

// A clear value is a JSON scalar allowed by the schema; a sealed value is an
// envelope.
using FieldValue = std::variant<NullValue, bool, std::int64_t, std::string, SealedValue>;

enum class OperationKind : std::uint8_t {
  set_field = 1,        // write a field, superseding the dots its author saw there
  delete_record = 2,    // tombstone the record, superseding the dots its author saw in it
  resolve_conflict = 3  // write a field, superseding every sibling its author saw
};

struct Operation {
  OperationKind kind = OperationKind::set_field;
  std::string field;  // empty for delete_record
  FieldValue value;   // NullValue for delete_record
  std::vector<Dot> supersedes;

  friend bool operator==(const Operation&, const Operation&) = default;
};

struct RecordKey {
  CaseId case_id;
  std::string collection;
  RecordId record_id;

  friend auto operator<=>(const RecordKey&, const RecordKey&) = default;
  friend bool operator==(const RecordKey&, const RecordKey&) = default;
};

struct Change {
  ChangeId id;  // id.device is the author device
  RecordKey record;
  Hlc hlc;
  std::vector<Operation> operations;

  const DeviceId& author() const { return id.device; }
  friend bool operator==(const Change&, const Change&) = default;
};

// Limits on a single change, shared by both codecs.
struct ChangeLimits {
  std::size_t max_operations = 256;
  std::size_t max_supersedes = 1024;  // per operation
  std::size_t max_name_bytes = 128;   // collection and field names
  std::size_t max_string_bytes = 64 * 1024;
  std::size_t max_sealed_bytes = 1024 * 1024;
};

// Errors: "change_invalid" with a message naming the broken rule.
Status validate_change(const Change& change, const ChangeLimits& limits = {});

// Puts operations and superseded dots into canonical order and drops repeated
// dots. Does not fix anything validate_change would refuse for other reasons.
void canonicalize_change(Change& change);

}  // namespace casefile::sync
