// The canonical encoding: fixed bytes, strict decoding.
#include "sync/change_encoding.hpp"

#include <gtest/gtest.h>

#include "tests/sync/sync_test_support.hpp"

namespace casefile::sync {
namespace {

using testing::delete_op;
using testing::device_id;
using testing::make_change;
using testing::record_key;
using testing::set_op;

Change example_change() {
  return make_change(Dot{device_id(1), 2}, record_key(3, 4, "cases"), Hlc::from_parts(0x0102030405, 6),
                     {set_op("stage", std::string("trial"), {Dot{device_id(1), 1}}),
                      set_op("statement", SealedValue{{0xde, 0xad}})});
}

TEST(ChangeEncoding, MatchesTheDocumentedBytes) {
  // docs/sync.md walks through these bytes.
  // Adjacent literals, joined by the compiler: GCC 12 at -O3 flags a chain of
  // std::string operator+ with a false -Wstringop-overflow (bug 105651).
  const std::string expected =
      "01"                                // encoding version
      "d0000000000000000000000000000001"  // id.device
      "0000000000000002"                  // id.sequence
      "ca000000000000000000000000000003"  // case id
      "0005"
      "6361736573"                        // collection "cases"
      "7e000000000000000000000000000004"  // record id
      "0001020304050006"                  // hlc: millis << 16 | counter
      "0002"                              // operation count
      "01"
      "0005"
      "7374616765"  // set_field "stage"
      "04"
      "00000005"
      "747269616c"  // string value "trial"
      "00000001"    // one superseded dot
      "d0000000000000000000000000000001"
      "0000000000000001"
      "01"
      "0009"
      "73746174656d656e74"  // set_field "statement"
      "05"
      "00000002"
      "dead"       // sealed envelope
      "00000000";  // supersedes nothing
  EXPECT_EQ(crypto::to_hex(encode_change(example_change())), expected);
}

TEST(ChangeEncoding, DecodesWhatItEncodes) {
  const Change change = example_change();
  auto decoded = decode_change(encode_change(change));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, change);
  const Change deletion = make_change(Dot{device_id(9), 1}, record_key(1, 1), Hlc::from_parts(5, 0),
                                      {delete_op({Dot{device_id(1), 4}})});
  auto decoded_deletion = decode_change(encode_change(deletion));
  ASSERT_TRUE(decoded_deletion.ok());
  EXPECT_EQ(*decoded_deletion, deletion);
}

TEST(ChangeEncoding, RefusesEveryTruncationTrailingBytesAndUnknownVersions) {
  crypto::Bytes bytes = encode_change(example_change());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    auto decoded = decode_change(crypto::ByteView(bytes.data(), size));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, "encoding_truncated") << size;
  }
  crypto::Bytes trailing = bytes;
  trailing.push_back(0);
  EXPECT_EQ(decode_change(trailing).error().code, "encoding_trailing_bytes");
  crypto::Bytes version = bytes;
  version[0] = 2;
  EXPECT_EQ(decode_change(version).error().code, "encoding_unknown_version");
}

TEST(ChangeEncoding, RefusesNonCanonicalOrder) {
  Change change = example_change();
  std::swap(change.operations[0], change.operations[1]);
  EXPECT_EQ(validate_change(change).error().code, "change_invalid");
  Change unsorted = example_change();
  unsorted.operations[0].supersedes = {Dot{device_id(2), 1}, Dot{device_id(1), 1}};
  EXPECT_EQ(validate_change(unsorted).error().code, "change_invalid");
  Change mixed = example_change();
  mixed.operations.push_back(delete_op({}));
  EXPECT_EQ(validate_change(mixed).error().code, "change_invalid");
}

TEST(ChangeEncoding, RefusesStringsThatAreNotUtf8) {
  Change change = example_change();
  change.operations[0].value = std::string("\xc0\xaf");  // overlong '/'
  EXPECT_EQ(validate_change(change).error().code, "change_invalid");
}

}  // namespace
}  // namespace casefile::sync
