#include "crypto/segmented_stream.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "crypto/aead.hpp"
#include "crypto/hash.hpp"
#include "crypto/hkdf.hpp"
#include "crypto/internal/byte_codec.hpp"
#include "crypto/internal/segmented_stream_fixed.hpp"
#include "crypto/random.hpp"

namespace casefile::crypto {
namespace {

constexpr std::string_view kMagic = "CFSS";
constexpr std::string_view kKeyLabel = "casefile/stream/v1";
constexpr std::uint32_t kMaxSegments = 0xFFFFFFFFu;

Status check_inputs(ByteView key, std::string_view purpose) {
  if (key.size() < kAeadKeySize) return make_error("invalid_key", "a stream key is at least 32 bytes");
  if (purpose.empty() || purpose.size() > kStreamMaxPurposeSize ||
      !std::all_of(purpose.begin(), purpose.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    return make_error("invalid_argument", "a stream purpose is 1 to 64 printable ASCII bytes");
  }
  return ok_status();
}

Bytes encode_header(std::string_view purpose, ByteView salt, ByteView nonce_prefix) {
  Bytes header;
  internal::append(header, as_bytes(kMagic));
  internal::append_u8(header, kStreamVersion);
  internal::append_u8(header, static_cast<std::uint8_t>(purpose.size()));
  internal::append(header, as_bytes(purpose));
  internal::append(header, salt);
  internal::append(header, nonce_prefix);
  return header;
}

std::size_t header_size(std::size_t purpose_size) {
  return kMagic.size() + 2 + purpose_size + kStreamSaltSize + kStreamNoncePrefixSize;
}

// The purpose is in the HKDF info as well as in the header, so a stream made
// for one purpose fails to open as another even if its header were rewritten.
Result<SecretBytes> derive_segment_key(ByteView key, ByteView salt, std::string_view purpose) {
  Bytes info(kKeyLabel.begin(), kKeyLabel.end());
  info.push_back(0);
  internal::append(info, as_bytes(purpose));
  return hkdf_sha256(salt, key, info, kAeadKeySize);
}

// Every segment's associated data: SHA-256(header || caller's data), which
// binds version, purpose, salt and prefix and the caller's context.
Bytes segment_associated_data(ByteView header, ByteView associated_data) {
  Sha256 hash;
  hash.update(header);
  hash.update(associated_data);
  const Sha256Digest digest = hash.finish();
  return Bytes(digest.begin(), digest.end());
}

Bytes segment_nonce(ByteView prefix, std::uint32_t index, bool last) {
  Bytes nonce(prefix.begin(), prefix.end());
  internal::append_u32(nonce, index);
  internal::append_u8(nonce, last ? 1 : 0);
  return nonce;
}

}  // namespace

Result<StreamEncryptor> StreamEncryptorFactory::start_with(ByteView key, std::string_view purpose,
                                                           ByteView associated_data, ByteView salt,
                                                           ByteView nonce_prefix) {
  CASEFILE_RETURN_IF_ERROR(check_inputs(key, purpose));
  if (salt.size() != kStreamSaltSize || nonce_prefix.size() != kStreamNoncePrefixSize) {
    return make_error("invalid_argument", "a stream salt is 32 bytes and its nonce prefix 7");
  }
  auto segment_key = derive_segment_key(key, salt, purpose);
  if (!segment_key.ok()) return std::move(segment_key).error();
  StreamEncryptor encryptor;
  encryptor.segment_key_ = std::move(*segment_key);
  encryptor.header_ = encode_header(purpose, salt, nonce_prefix);
  encryptor.nonce_prefix_.assign(nonce_prefix.begin(), nonce_prefix.end());
  encryptor.segment_associated_data_ = segment_associated_data(encryptor.header_, associated_data);
  encryptor.pending_ = SecretBytes(kStreamSegmentSize);
  return encryptor;
}

Result<StreamEncryptor> StreamEncryptor::start(ByteView key, std::string_view purpose,
                                               ByteView associated_data) {
  CASEFILE_RETURN_IF_ERROR(check_inputs(key, purpose));
  auto salt = random_bytes(kStreamSaltSize);
  if (!salt.ok()) return std::move(salt).error();
  auto prefix = random_bytes(kStreamNoncePrefixSize);
  if (!prefix.ok()) return std::move(prefix).error();
  return StreamEncryptorFactory::start_with(key, purpose, associated_data, *salt, *prefix);
}

Status StreamEncryptor::seal_segment(bool last, Bytes& out) {
  if (!last && next_index_ == kMaxSegments) {
    return make_error("stream_too_long", "a stream holds at most 2^32 - 1 segments");
  }
  auto sealed = aead_seal(AeadAlgorithm::chacha20_poly1305, segment_key_.view(),
                          segment_nonce(nonce_prefix_, next_index_, last), segment_associated_data_,
                          ByteView(pending_.data(), pending_size_));
  if (!sealed.ok()) return std::move(sealed).error();
  internal::append(out, *sealed);
  OPENSSL_cleanse(pending_.data(), pending_size_);
  pending_size_ = 0;
  ++next_index_;
  return ok_status();
}

Result<Bytes> StreamEncryptor::write(ByteView plaintext) {
  if (finished_) return make_error("stream_finished", "the stream was already finished");
  Bytes out;
  if (!header_written_) {
    out = header_;
    header_written_ = true;
  }
  while (!plaintext.empty()) {
    // A full segment is sealed only once more plaintext follows it, so that
    // the last segment is always shorter than a full one.
    if (pending_size_ == kStreamSegmentSize) CASEFILE_RETURN_IF_ERROR(seal_segment(false, out));
    const std::size_t take = std::min(plaintext.size(), kStreamSegmentSize - pending_size_);
    std::memcpy(pending_.data() + pending_size_, plaintext.data(), take);
    pending_size_ += take;
    plaintext_bytes_ += take;
    plaintext = plaintext.subspan(take);
  }
  return out;
}

Result<Bytes> StreamEncryptor::finish() {
  if (finished_) return make_error("stream_finished", "the stream was already finished");
  Bytes out;
  if (!header_written_) {
    out = header_;
    header_written_ = true;
  }
  if (pending_size_ == kStreamSegmentSize) CASEFILE_RETURN_IF_ERROR(seal_segment(false, out));
  CASEFILE_RETURN_IF_ERROR(seal_segment(true, out));
  finished_ = true;
  return out;
}

Result<StreamDecryptor> StreamDecryptor::start(ByteView key, std::string_view purpose,
                                               ByteView associated_data) {
  CASEFILE_RETURN_IF_ERROR(check_inputs(key, purpose));
  StreamDecryptor decryptor;
  decryptor.key_ = SecretBytes(key);
  decryptor.purpose_ = std::string(purpose);
  decryptor.associated_data_.assign(associated_data.begin(), associated_data.end());
  return decryptor;
}

Status StreamDecryptor::open_header() {
  const std::size_t size = header_size(purpose_.size());
  internal::ByteReader reader(ByteView(buffer_.data(), size));
  auto magic = reader.take(kMagic.size());
  if (!std::equal(magic->begin(), magic->end(), kMagic.begin())) {
    return make_error("stream_malformed", "not a Casefile encrypted stream");
  }
  if (*reader.u8() != kStreamVersion) return make_error("stream_malformed", "unknown stream version");
  const std::uint8_t purpose_size = *reader.u8();
  auto purpose = reader.take(purpose_size);
  if (purpose_size != purpose_.size() || !std::equal(purpose->begin(), purpose->end(), purpose_.begin())) {
    return make_error("stream_malformed", "the stream was made for another purpose");
  }
  auto salt = reader.take(kStreamSaltSize);
  auto prefix = reader.take(kStreamNoncePrefixSize);
  auto segment_key = derive_segment_key(key_.view(), *salt, purpose_);
  if (!segment_key.ok()) return std::move(segment_key).error();
  segment_key_ = std::move(*segment_key);
  nonce_prefix_.assign(prefix->begin(), prefix->end());
  segment_associated_data_ = segment_associated_data(ByteView(buffer_.data(), size), associated_data_);
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(size));
  header_read_ = true;
  return ok_status();
}

Status StreamDecryptor::open_segment(ByteView sealed, bool last, SecretBytes& out) {
  if (next_index_ == kMaxSegments) return make_error("stream_corrupt", "more segments than a stream holds");
  auto opened = aead_open(AeadAlgorithm::chacha20_poly1305, segment_key_.view(),
                          segment_nonce(nonce_prefix_, next_index_, last), segment_associated_data_, sealed);
  if (!opened.ok()) {
    return make_error("stream_corrupt",
                      "segment " + std::to_string(next_index_) + " does not verify: the stream was altered");
  }
  SecretBytes joined(out.size() + opened->size());
  if (!out.empty()) std::memcpy(joined.data(), out.data(), out.size());
  if (!opened->empty()) std::memcpy(joined.data() + out.size(), opened->data(), opened->size());
  OPENSSL_cleanse(opened->data(), opened->size());
  out = std::move(joined);
  ++next_index_;
  return ok_status();
}

Result<SecretBytes> StreamDecryptor::write(ByteView ciphertext) {
  if (finished_) return make_error("stream_finished", "the stream was already finished");
  buffer_.insert(buffer_.end(), ciphertext.begin(), ciphertext.end());
  SecretBytes out;
  if (!header_read_) {
    // The fixed part first: it says whether this is a stream at all.
    if (buffer_.size() < header_size(purpose_.size())) return out;
    CASEFILE_RETURN_IF_ERROR(open_header());
  }
  // A full segment is not the last only if a byte follows it.
  std::size_t consumed = 0;
  while (buffer_.size() - consumed > kStreamSealedSegmentSize) {
    CASEFILE_RETURN_IF_ERROR(
        open_segment(ByteView(buffer_.data() + consumed, kStreamSealedSegmentSize), false, out));
    consumed += kStreamSealedSegmentSize;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed));
  return out;
}

Result<SecretBytes> StreamDecryptor::finish() {
  if (finished_) return make_error("stream_finished", "the stream was already finished");
  if (!header_read_) {
    if (buffer_.size() < header_size(purpose_.size())) {
      return make_error("stream_truncated", "the stream ends inside its header");
    }
    CASEFILE_RETURN_IF_ERROR(open_header());
  }
  if (buffer_.size() < kAeadTagSize) {
    return make_error("stream_truncated", "the stream ends before its last segment");
  }
  SecretBytes out;
  if (buffer_.size() == kStreamSealedSegmentSize) {
    // A full segment cannot be last: the last one is always shorter.
    if (open_segment(buffer_, false, out).ok()) {
      return make_error("stream_truncated", "the stream ends before its last segment");
    }
    return make_error("stream_corrupt", "the last segment does not verify: the stream was altered");
  }
  auto opened = open_segment(buffer_, true, out);
  if (!opened.ok()) {
    // A non-last segment cut short reads as a last segment that fails.
    return make_error("stream_corrupt",
                      "the last segment does not verify: the stream was altered or truncated");
  }
  buffer_.clear();
  finished_ = true;
  return out;
}

}  // namespace casefile::crypto
