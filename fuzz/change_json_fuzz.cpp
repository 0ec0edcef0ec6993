// libFuzzer target: a push request body through the real JSON decoder
// (sync::decode_push_request: strict_json syntax, then the change and batch
// shapes), the same call the push handler makes on network input. A decoded
// batch is encoded again and must decode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sync/change_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto batch = casefile::sync::decode_push_request(body);
  if (!batch.ok()) return 0;
  const std::string encoded = casefile::sync::encode_push_request(*batch);
  auto again = casefile::sync::decode_push_request(encoded);
  if (!again.ok() || casefile::sync::encode_push_request(*again) != encoded) std::abort();
  return 0;
}
