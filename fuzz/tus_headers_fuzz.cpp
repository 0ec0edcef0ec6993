// libFuzzer target: every tus and range header parser of the attachment
// routes (server/attachments/tus_headers.hpp) on the same hostile text, and
// strict base64 decoding, which must round-trip what it accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/attachments/tus_headers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace casefile::server;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_byte_count(text, "Upload-Offset");
  (void)parse_upload_metadata(text);
  (void)parse_upload_checksum(text);
  for (const std::uint64_t entity_size :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000}, UINT64_MAX}) {
    auto range = parse_range(text, entity_size);
    if (range.ok() && range->kind == RangeKind::partial &&
        (range->range.length == 0 || range->range.first >= entity_size ||
         range->range.length > entity_size - range->range.first)) {
      std::abort();  // a partial range must lie inside the entity
    }
  }
  if (auto decoded = base64_decode(text); decoded && base64_encode(*decoded) != text) std::abort();
  return 0;
}
