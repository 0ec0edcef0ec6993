// libFuzzer target: a sealed-field envelope as the server and devices read it
// (crypto::read_envelope_epoch, which the server's schema validation calls on
// every sealed value) and open it (crypto::open_field) under a fixed case key
// and field context. The seeds are envelopes sealed under that key
// (fuzz/make_seed_corpus.cpp), so the fuzzer starts past the commitment check.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/envelope.hpp"
#include "fuzz/fuzz_inputs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace casefile::crypto;
  const ByteView envelope(data, size);
  auto epoch = read_envelope_epoch(envelope);
  if (!epoch.ok()) return 0;
  auto opened =
      open_field(casefile::fuzz::kEnvelopeContext, *epoch, casefile::fuzz::envelope_case_key(), envelope);
  // An envelope that opens carries a plaintext within the documented bound.
  if (opened.ok() && opened->size() > kEnvelopeMaxPlaintextSize) std::abort();
  return 0;
}
