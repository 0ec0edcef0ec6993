// The JSON wire form of changes, batch headers and push requests.
//
// Decoding is strict (strict_json.hpp for the syntax; here for the shape):
// every member required unless documented optional, no unknown members,
// exact types, ids as lower-case RFC 4122 text, hashes and signatures as
// lower-case hex, sealed envelopes as unpadded base64url. Error codes:
// "json_wrong_type", "json_missing_member", "json_unknown_member",
// "json_invalid_value", plus strict_json's codes. Decoding checks the shape
// only: the rules of validate_change are checked per change by the push
// handler (so one bad change does not sink its batch) and by the device when
// it applies a pull page. docs/sync.md shows every message.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "sync/batch.hpp"
#include "sync/change.hpp"
#include "sync/strict_json.hpp"

namespace casefile::sync {

boost::json::value change_to_json(const SignedChange& change);
Result<SignedChange> change_from_json(const boost::json::value& json, const std::string& path = "change");

boost::json::value batch_header_to_json(const BatchHeader& header);
Result<BatchHeader> batch_header_from_json(const boost::json::value& json, const std::string& path = "batch");

// A push request body: {"batch": header, "changes": [change, ...]}.
std::string encode_push_request(const Batch& batch);
Result<Batch> decode_push_request(std::string_view body, const JsonLimits& limits = {});

}  // namespace casefile::sync
