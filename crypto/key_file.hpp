// Key files: a secret (a raw database key, a signing seed) wrapped under a
// passphrase, for the device storage key, the server database key and the
// organisation authority key (DESIGN §5). The format is in docs/crypto.md.
//
// Wrapping: scrypt(passphrase, salt, N, r, p) -> 32-byte key (RFC 7914), then
// ChaCha20-Poly1305 (RFC 8439) over the secret with the whole header, purpose
// label included, as associated data. A file made for one purpose does not
// open as another, and no header byte can change without detection.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/scrypt.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

// Purpose labels in use; any 1..64 printable ASCII bytes are accepted.
inline constexpr std::string_view kKeyFilePurposeDeviceStorage = "device-storage";
inline constexpr std::string_view kKeyFilePurposeServerDatabase = "server-database";
inline constexpr std::string_view kKeyFilePurposeOrgAuthority = "org-authority";

inline constexpr std::uint8_t kKeyFileVersion = 1;
inline constexpr std::size_t kKeyFileMaxSecretSize = 4096;

// Accepted scrypt parameters, on sealing and on opening alike: N from 2^17 to
// 2^20, r from 1 to 32, p from 1 to 16, r * p <= 64, and 128 * r * N <= 1 GiB,
// so a hostile file cannot make open() exhaust memory or time.
inline constexpr ScryptParameters kKeyFileDefaultParameters{.n = 1u << 17, .r = 8, .p = 1};

struct KeyFileHeader {
  std::uint8_t version = 0;
  std::string purpose;
  ScryptParameters parameters;
};

// Errors: "weak_parameters", "invalid_argument" (bad purpose, secret empty or
// over kKeyFileMaxSecretSize), "kdf_failed", "random_failed".
Result<Bytes> seal_key_file(ByteView secret, std::string_view passphrase, std::string_view purpose,
                            const ScryptParameters& parameters = kKeyFileDefaultParameters);

// Errors: "corrupt_key_file" (not a key file, truncated, trailing bytes),
// "unsupported_version", "weak_parameters", "wrong_purpose",
// "wrong_passphrase" (authentication failed: wrong passphrase, or a wrapped
// secret that was altered; the two cannot be told apart).
Result<SecretBytes> open_key_file(ByteView contents, std::string_view passphrase, std::string_view purpose);

// Reads the header without the passphrase. Same structural errors as open.
Result<KeyFileHeader> inspect_key_file(ByteView contents);

// Re-wraps the same secret under a new passphrase (fresh salt and nonce).
// Keeps the file's scrypt parameters unless new ones are given.
Result<Bytes> rewrap_key_file(ByteView contents, std::string_view old_passphrase,
                              std::string_view new_passphrase, std::string_view purpose,
                              std::optional<ScryptParameters> new_parameters = std::nullopt);

// Atomic replacement: write a temporary file beside `path` (mode 0600),
// fsync it, rename it over `path`, fsync the directory. Errors: "io_error".
Status write_key_file(const std::filesystem::path& path, ByteView contents);
// Errors: "io_error", "corrupt_key_file" (larger than any key file).
Result<Bytes> read_key_file(const std::filesystem::path& path);

// The same, on files.
Status save_key_file(const std::filesystem::path& path, ByteView secret, std::string_view passphrase,
                     std::string_view purpose,
                     const ScryptParameters& parameters = kKeyFileDefaultParameters);
Result<SecretBytes> load_key_file(const std::filesystem::path& path, std::string_view passphrase,
                                  std::string_view purpose);
Status change_key_file_passphrase(const std::filesystem::path& path, std::string_view old_passphrase,
                                  std::string_view new_passphrase, std::string_view purpose);

}  // namespace casefile::crypto
