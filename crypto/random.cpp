#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <climits>

namespace casefile::crypto {
namespace {

// RAND_bytes takes an int; larger requests are served in pieces.
template <int (*Generate)(unsigned char*, int)>
Status generate(std::span<std::uint8_t> out) {
  std::size_t offset = 0;
  while (offset < out.size()) {
    const std::size_t chunk = std::min<std::size_t>(out.size() - offset, INT_MAX);
    if (Generate(out.data() + offset, static_cast<int>(chunk)) != 1) {
      return make_error("random_failed", "the OpenSSL random generator failed");
    }
    offset += chunk;
  }
  return ok_status();
}

}  // namespace

Status fill_random(std::span<std::uint8_t> out) { return generate<RAND_bytes>(out); }

Result<Bytes> random_bytes(std::size_t size) {
  Bytes bytes(size);
  CASEFILE_RETURN_IF_ERROR(generate<RAND_bytes>(bytes));
  return bytes;
}

Result<SecretBytes> random_secret(std::size_t size) {
  SecretBytes secret(size);
  CASEFILE_RETURN_IF_ERROR(generate<RAND_priv_bytes>(secret.span()));
  return secret;
}

}  // namespace casefile::crypto
