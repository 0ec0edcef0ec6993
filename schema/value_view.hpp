// A neutral, non-owning view of one field value, for validation and
// statistics. Schema knows nothing of sync's FieldValue; an adapter maps it
// onto this view field by field, without copying.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "crypto/bytes.hpp"

namespace casefile::schema {

// A field written as null: cleared.
struct NullView {};

// Opaque sealed bytes: an envelope at the server, never read by schema.
struct SealedView {
  crypto::ByteView envelope;
};

// Clear values are null, bool, int64 or UTF-8 text; sealed values are bytes.
// The views must outlive their use.
using ValueView = std::variant<NullView, bool, std::int64_t, std::string_view, SealedView>;

// Field name -> value, for one record or one write.
using FieldMap = std::map<std::string, ValueView, std::less<>>;

// The value of `name` in `fields`, or nullptr if absent. A NullView counts as
// present; use holds_value to ask for a non-null one.
const ValueView* find_value(const FieldMap& fields, std::string_view name);
bool holds_value(const FieldMap& fields, std::string_view name);

}  // namespace casefile::schema
