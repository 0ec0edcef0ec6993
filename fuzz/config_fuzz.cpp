// libFuzzer target: casefiled.toml text through server::parse_config, the
// parser casefiled runs on its configuration file at start.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)casefile::server::parse_config(text, "/instance/casefiled.toml");
  return 0;
}
