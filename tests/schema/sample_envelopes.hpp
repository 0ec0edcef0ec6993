// Envelopes for tests: real ones, sealed under a random case key, and random
// bytes that only look like one to nobody.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/envelope.hpp"
#include "crypto/random.hpp"

namespace casefile::schema::testing {

inline crypto::Bytes real_envelope(std::string_view collection, std::string_view field,
                                   std::string_view plaintext) {
  auto case_key = crypto::random_bytes(crypto::kCaseKeySize);
  EXPECT_TRUE(case_key.ok());
  const crypto::FieldContext context{.case_id = "7d444840-9dc0-11d1-b245-5ffdce74fad2",
                                     .collection = collection,
                                     .record_id = "0f8fad5b-d9cb-469f-a165-70867728950e",
                                     .field_name = field};
  auto sealed = crypto::seal_field(context, 1, *case_key, crypto::as_bytes(plaintext));
  EXPECT_TRUE(sealed.ok()) << (sealed.ok() ? "" : sealed.error().message);
  return sealed.ok() ? *sealed : crypto::Bytes{};
}

inline crypto::Bytes random_garbage(std::size_t size) {
  auto bytes = crypto::random_bytes(size);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : crypto::Bytes(size, 0x5a);
}

}  // namespace casefile::schema::testing
