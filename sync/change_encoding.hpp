// The canonical byte encoding of a change: the bytes that are hashed into a
// batch's Merkle tree and so signed. Deterministic: big-endian integers,
// length-prefixed strings, fixed field order. docs/sync.md gives the layout
// byte for byte.
#pragma once

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "sync/change.hpp"

namespace casefile::sync {

inline constexpr std::uint8_t kChangeEncodingVersion = 1;

// REQUIRES: validate_change(change).ok().
crypto::Bytes encode_change(const Change& change);

// Strict inverse of encode_change. Errors: "encoding_unknown_version",
// "encoding_truncated", "encoding_trailing_bytes", "encoding_invalid" (an
// unknown tag or kind), and validate_change's "change_invalid" (which also
// refuses every non-canonical order).
Result<Change> decode_change(crypto::ByteView bytes, const ChangeLimits& limits = {});

}  // namespace casefile::sync
