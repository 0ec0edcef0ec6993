// Plain field values as an app gives and reads them, and the plaintext a
// sealed value is encoded as before crypto::seal_field (docs/device.md,
// "Sealed plaintext").
//
// The plaintext of a sealed value is its canonical JSON scalar text:
//   string  -> a JSON string, RFC 8259 escaping (", \ and control characters
//              only; other UTF-8 is kept as is): "Ana \"La\" P\u00e9rez" is
//              written "Ana \"La\" Pérez"
//   integer -> decimal, no leading zeros, '-' for negatives: -12
//   boolean -> true / false
// Decoding is strict and typed by the field's declared type: the text must be
// exactly the canonical encoding of a value of that kind.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include "base/result.hpp"
#include "crypto/secret_bytes.hpp"
#include "schema/field_type.hpp"
#include "schema/value_view.hpp"
#include "sync/change.hpp"

namespace casefile::device {

// A plaintext field value. Sealed fields are given in plaintext and sealed by
// FieldDevice::write(); reads open them again.
using PlainValue = std::variant<std::monostate /* null */, bool, std::int64_t, std::string>;
using PlainFields = std::map<std::string, PlainValue, std::less<>>;

// A view of `value` for schema validation; strings point into `value`.
schema::ValueView plain_value_view(const PlainValue& value);

// The clear FieldValue of `value` (null -> NullValue).
sync::FieldValue plain_to_field_value(const PlainValue& value);

// The canonical JSON scalar text of a non-null value.
// REQUIRES: value is not null (a programming error: throws std::invalid_argument).
crypto::SecretBytes encode_sealed_plaintext(const PlainValue& value);

// The value `plaintext` encodes, for a field of `type`: text, date,
// enumeration, reference, digest and structured fields hold a JSON string;
// integer and timestamp fields an integer; boolean fields true or false.
// Errors: "sealed_value_invalid" (not canonical JSON, or the wrong kind for
// the type; the message never quotes the plaintext).
Result<PlainValue> decode_sealed_plaintext(const schema::FieldType& type, crypto::ByteView plaintext);

}  // namespace casefile::device
