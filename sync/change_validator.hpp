// The hook through which the server's push path asks the schema about a
// change (field types, finalized records, ...). Sync itself knows no schema.
#pragma once

#include "base/result.hpp"
#include "sync/change.hpp"
#include "sync/record_state.hpp"

namespace casefile::sync {

class ChangeValidator {
 public:
  virtual ~ChangeValidator() = default;
  // `current` is the record's merged state before the change, or nullptr for
  // a new record. An error refuses the change with the error's code.
  virtual Status validate(const Change& change, const RecordState* current) const = 0;
};

}  // namespace casefile::sync
