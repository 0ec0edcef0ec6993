// Segmented stream encryption: the STREAM construction of Hoang, Reyhanitabar,
// Rogaway and Vizár ("Online authenticated-encryption and its nonce-reuse
// misuse-resistance", CRYPTO 2015), as age and Tink use it, over
// ChaCha20-Poly1305 (crypto/aead.hpp). For backups (server/backup/) and
// attachments: data of any size, encrypted and decrypted segment by segment
// in memory independent of its size. The format is in docs/crypto.md.
//
//   header   = "CFSS" || version (1) || purpose length (u8) || purpose
//              || salt (32) || nonce prefix (7)
//   key      = HKDF-SHA256(salt, caller key, "casefile/stream/v1" || 0 || purpose)
//   segment  = ChaCha20-Poly1305(key, prefix || u32 index || u8 last,
//              SHA-256(header || caller associated data), 64 KiB of plaintext)
//
// Every segment but the last holds exactly kStreamSegmentSize bytes of
// plaintext; the last holds 0 to kStreamSegmentSize - 1 (an empty last
// segment ends a stream whose length is a multiple of the segment size). So
// truncation at a segment boundary, reordering, and moving segments between
// streams, purposes or associated data are all detected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

inline constexpr std::size_t kStreamSegmentSize = 64 * 1024;
inline constexpr std::size_t kStreamSaltSize = 32;
inline constexpr std::size_t kStreamNoncePrefixSize = 7;
inline constexpr std::uint8_t kStreamVersion = 1;
inline constexpr std::size_t kStreamMaxPurposeSize = 64;
// Ciphertext bytes of a segment: plaintext || 16-byte tag.
inline constexpr std::size_t kStreamSealedSegmentSize = kStreamSegmentSize + 16;

// Encrypts one stream. Feed plaintext with write() in pieces of any size;
// each call returns the ciphertext of the segments it completed (the header
// first). finish() returns the last segment. Memory: one segment.
class StreamEncryptor {
 public:
  // `key`: 32 bytes or more of secret keying material; `purpose`: 1..64
  // printable ASCII bytes naming what is encrypted ("casefile backup v1").
  // Errors: "invalid_key", "invalid_argument", "random_failed".
  static Result<StreamEncryptor> start(ByteView key, std::string_view purpose, ByteView associated_data);

  // Errors: "stream_finished", "stream_too_long" (over 2^32 - 1 segments).
  Result<Bytes> write(ByteView plaintext);
  // Errors: "stream_finished".
  Result<Bytes> finish();

  std::uint64_t plaintext_bytes() const { return plaintext_bytes_; }

 private:
  friend struct StreamEncryptorFactory;
  StreamEncryptor() = default;
  Status seal_segment(bool last, Bytes& out);

  SecretBytes segment_key_;
  Bytes header_;
  Bytes nonce_prefix_;
  Bytes segment_associated_data_;
  SecretBytes pending_;  // plaintext of the segment being filled
  std::size_t pending_size_ = 0;
  std::uint32_t next_index_ = 0;
  std::uint64_t plaintext_bytes_ = 0;
  bool header_written_ = false;
  bool finished_ = false;
};

// Decrypts one stream. Feed ciphertext (header included) with write() in
// pieces of any size; each call returns the plaintext of the segments it
// verified. Plaintext is released only after its segment's tag verifies, but
// a stream is whole only when finish() succeeds: act on nothing before.
class StreamDecryptor {
 public:
  // Errors: "invalid_key", "invalid_argument".
  static Result<StreamDecryptor> start(ByteView key, std::string_view purpose, ByteView associated_data);

  // Errors: "stream_malformed" (not a stream, unknown version, another
  // purpose), "stream_corrupt" (a segment does not verify: altered, reordered,
  // from another stream, or data after the last segment), "stream_finished".
  Result<SecretBytes> write(ByteView ciphertext);
  // Errors: "stream_truncated" (the stream ends before its last segment),
  // "stream_corrupt".
  Result<SecretBytes> finish();

 private:
  StreamDecryptor() = default;
  Status open_header();
  Status open_segment(ByteView sealed, bool last, SecretBytes& out);

  SecretBytes key_;
  std::string purpose_;
  Bytes associated_data_;
  SecretBytes segment_key_;
  Bytes nonce_prefix_;
  Bytes segment_associated_data_;
  Bytes buffer_;  // ciphertext not yet opened: the header, or up to one segment and one byte
  std::uint32_t next_index_ = 0;
  bool header_read_ = false;
  bool finished_ = false;
};

}  // namespace casefile::crypto
