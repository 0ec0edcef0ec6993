// The crypto::FieldContext a sealed field of a record is sealed under: the
// lower-case text forms of its case and record ids, its collection and the
// field name (docs/crypto.md, "Envelope"). Every party that seals or opens a
// value (the device library, casefile-admin's recovery read) builds it here,
// so they cannot disagree on the bytes.
#pragma once

#include <string>
#include <string_view>

#include "crypto/envelope.hpp"
#include "sync/change.hpp"
#include "sync/ids.hpp"

namespace casefile::sync {

class SealedFieldContext {
 public:
  explicit SealedFieldContext(const RecordKey& record)
      : case_id_(to_text(record.case_id)),
        collection_(record.collection),
        record_id_(to_text(record.record_id)) {}

  // The returned views point into this object, which must outlive their use.
  crypto::FieldContext for_field(std::string_view field_name) const {
    return crypto::FieldContext{case_id_, collection_, record_id_, field_name};
  }

 private:
  std::string case_id_;
  std::string collection_;
  std::string record_id_;
};

}  // namespace casefile::sync
