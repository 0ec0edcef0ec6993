// The backup file format (docs/crypto.md, "Backup files"), below the
// manifest: a clear header with the file key wrapped to the backup public key
// (HPKE base mode), a segmented stream (crypto/segmented_stream.hpp) bound to
// that header, and a clear trailer with the file's length, so a truncated
// file is told from an altered one. Inside the stream, the content framing:
// parts ('P', name, u64 size, bytes) and then one manifest ('M', u32 size,
// JSON). Internal to server/backup.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/secret_bytes.hpp"
#include "crypto/segmented_stream.hpp"
#include "crypto/x25519.hpp"

namespace casefile::server::internal {

enum class BackupKind : std::uint8_t { databases = 1, server_secrets = 2 };

inline constexpr std::size_t kMaxManifestSize = 64 * 1024;
inline constexpr std::size_t kMaxPartNameSize = 64;

// Writes one container file. Created 0600 with O_EXCL; removed unless
// finish() succeeds.
class ContainerWriter {
 public:
  // Errors: "io_error" (cannot create: it exists, or no such directory),
  // crypto's.
  static Result<std::unique_ptr<ContainerWriter>> create(const std::filesystem::path& path, BackupKind kind,
                                                         const crypto::X25519PublicKey& backup_public_key);
  ~ContainerWriter();
  ContainerWriter(const ContainerWriter&) = delete;
  ContainerWriter& operator=(const ContainerWriter&) = delete;

  // The file key, from which callers derive keys of their own (HKDF).
  const crypto::SecretBytes& file_key() const { return file_key_; }
  // Errors: "io_error", the stream's.
  Status write(crypto::ByteView plaintext);
  // Ends the stream, appends the trailer, fsyncs. Errors: "io_error".
  Status finish();

 private:
  ContainerWriter(std::filesystem::path path, int descriptor, crypto::SecretBytes file_key,
                  crypto::StreamEncryptor encryptor);
  Status write_raw(crypto::ByteView bytes);

  std::filesystem::path path_;
  int descriptor_;
  crypto::SecretBytes file_key_;
  crypto::StreamEncryptor encryptor_;
  std::uint64_t written_ = 0;
  bool finished_ = false;
};

// Opens a container and feeds its verified plaintext to `sink`, segment by
// segment. Errors: "backup_malformed" (not a backup, unknown version, another
// kind), "backup_truncated", "backup_wrong_key" (the file key does not open
// with this private key: made for another backup key, or its header was
// altered), "backup_corrupt" (a segment does not verify), "io_error", and
// whatever `sink` returns.
// `expected_kind`: refuse the other kind; nullopt accepts either, and
// `on_key` learns which it is.
Status read_container(
    const std::filesystem::path& path, std::optional<BackupKind> expected_kind,
    const crypto::X25519PrivateKey& backup_private_key,
    const std::function<Status(const crypto::SecretBytes& file_key, BackupKind kind)>& on_key,
    const std::function<Status(crypto::ByteView plaintext)>& sink);

// The content framing.
crypto::Bytes encode_part_header(std::string_view name, std::uint64_t size);
crypto::Bytes encode_manifest_header(std::size_t manifest_size);

// Parses the framing incrementally. Each callback's error stops the parse.
// Errors: "backup_corrupt" (framing broken: an authenticated stream whose
// content is not a backup can only be made with the file key).
class ContentParser {
 public:
  struct Callbacks {
    std::function<Status(const std::string& name, std::uint64_t size)> part_begin;
    std::function<Status(crypto::ByteView data)> part_data;
    std::function<Status(std::string_view manifest)> manifest;
  };
  explicit ContentParser(Callbacks callbacks) : callbacks_(std::move(callbacks)) {}

  Status consume(crypto::ByteView plaintext);
  // Errors: "backup_corrupt" (the content ends before its manifest).
  Status finish() const;

 private:
  enum class State { tag, part_name_size, part_name, part_size, part_data, manifest_size, manifest, done };
  Status step(crypto::ByteView& input);

  Callbacks callbacks_;
  State state_ = State::tag;
  crypto::Bytes field_;  // bytes of the header field being read
  std::size_t field_wanted_ = 1;
  std::string name_;
  std::uint64_t remaining_ = 0;
};

}  // namespace casefile::server::internal
