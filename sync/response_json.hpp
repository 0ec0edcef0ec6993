// The JSON wire form of push responses and pull pages, both directions (the
// server encodes, the device decodes). Same strictness and error codes as
// change_json.hpp.
//
//   push response: {"server_time_millis": n, "verdicts": [
//       {"id": dot, "verdict": "accepted" | "duplicate", "sequence": n} |
//       {"id": dot, "verdict": "refused", "code": "...", "message": "..."}]}
//   pull page: {"server_time_millis": n, "cursor": "...", "has_more": bool,
//       "batches": [header, ...], "entries": [{"sequence": n, "change": change}, ...]}
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/strict_json.hpp"

namespace casefile::sync {

std::string encode_push_response(const PushResponse& response);
Result<PushResponse> decode_push_response(std::string_view body, const JsonLimits& limits = {});

std::string encode_pull_page(const PullPage& page);
Result<PullPage> decode_pull_page(std::string_view body, const JsonLimits& limits = {});

}  // namespace casefile::sync
