// A StreamEncryptor with a chosen salt and nonce prefix, for the golden test
// vectors of tests/crypto/segmented_stream_test.cpp only. Product code uses
// StreamEncryptor::start, which draws both at random.
#pragma once

#include "crypto/segmented_stream.hpp"

namespace casefile::crypto {

struct StreamEncryptorFactory {
  // Errors: those of StreamEncryptor::start, and "invalid_argument" (a salt
  // or prefix of the wrong size).
  static Result<StreamEncryptor> start_with(ByteView key, std::string_view purpose, ByteView associated_data,
                                            ByteView salt, ByteView nonce_prefix);
};

}  // namespace casefile::crypto
