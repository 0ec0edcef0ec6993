// libFuzzer target: HPKE single-shot open (crypto::hpke::open_base) for the
// recipient of RFC 9180 Appendix A.2 (key pair derived from its ikmR, its
// info). The input is enc (32 bytes) | aad length (1 byte) | aad | ciphertext,
// the layout fuzz/make_seed_corpus.cpp writes the vector's sequence-0
// encryption in.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/hpke.hpp"
#include "fuzz/fuzz_inputs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace casefile::crypto;
  const ByteView input(data, size);
  if (input.size() < hpke::kEncapsulatedKeySize + 1) return 0;
  const ByteView encapsulated_key = input.first(hpke::kEncapsulatedKeySize);
  const std::size_t aad_size = input[hpke::kEncapsulatedKeySize];
  const ByteView rest = input.subspan(hpke::kEncapsulatedKeySize + 1);
  if (rest.size() < aad_size) return 0;
  const auto& vector = casefile::fuzz::hpke_vector();
  auto opened = hpke::open_base(encapsulated_key, vector.recipient, vector.info, rest.first(aad_size),
                                rest.subspan(aad_size));
  // What opens is authentic: exactly the ciphertext less its tag.
  if (opened.ok() && opened->size() + hpke::kTagSize != rest.size() - aad_size) std::abort();
  return 0;
}
