#include "crypto/key_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file_descriptor.hpp"
#include "crypto/aead.hpp"
#include "crypto/internal/byte_codec.hpp"
#include "crypto/random.hpp"

namespace casefile::crypto {
namespace {

// Format v1 (docs/crypto.md):
//   "CFKF" | version u8 | kdf u8 | aead u8 | log2(N) u8 | r u32 | p u32 | salt[32] | nonce[12]
//   | purpose length u8 | purpose | secret length u32 | ChaCha20-Poly1305(secret) || tag[16]
// Associated data: every byte before the ciphertext.
constexpr std::uint8_t kMagic[] = {'C', 'F', 'K', 'F'};
constexpr std::uint8_t kKdfScrypt = 1;
constexpr std::uint8_t kAeadChaCha20Poly1305 = 1;
constexpr std::size_t kSaltSize = 32;
constexpr std::size_t kMaxPurposeSize = 64;
constexpr std::size_t kMaxFileSize = 64 * 1024;

Error corrupt(std::string message) { return make_error("corrupt_key_file", std::move(message)); }

Status check_parameters(const ScryptParameters& parameters) {
  const bool power_of_two = parameters.n != 0 && (parameters.n & (parameters.n - 1)) == 0;
  const bool acceptable = power_of_two && parameters.n >= (1u << 17) && parameters.n <= (1u << 20) &&
                          parameters.r >= 1 && parameters.r <= 32 && parameters.p >= 1 &&
                          parameters.p <= 16 && parameters.r * parameters.p <= 64 &&
                          128 * std::uint64_t{parameters.r} * parameters.n <= (std::uint64_t{1} << 30);
  if (!acceptable) {
    return make_error("weak_parameters",
                      "scrypt parameters outside N 2^17..2^20, r 1..32, p 1..16, r*p <= 64, memory <= 1 GiB");
  }
  return ok_status();
}

Status check_purpose(std::string_view purpose) {
  if (purpose.empty() || purpose.size() > kMaxPurposeSize) {
    return make_error("invalid_argument", "key file purpose must be 1 to 64 bytes");
  }
  for (char c : purpose) {
    if (c < 0x21 || c > 0x7e)
      return make_error("invalid_argument", "key file purpose must be printable ASCII");
  }
  return ok_status();
}

int log2_of(std::uint64_t power_of_two) {
  int log = 0;
  while ((std::uint64_t{1} << log) < power_of_two) ++log;
  return log;
}

struct ParsedKeyFile {
  KeyFileHeader header;
  ByteView salt;
  ByteView nonce;
  ByteView associated_data;
  std::uint32_t secret_size = 0;
  ByteView ciphertext;
};

Result<ParsedKeyFile> parse(ByteView contents) {
  if (contents.size() > kMaxFileSize) return corrupt("key file is larger than any key file");
  internal::ByteReader reader(contents);
  auto magic = reader.take(sizeof kMagic);
  if (!magic || std::memcmp(magic->data(), kMagic, sizeof kMagic) != 0)
    return corrupt("not a Casefile key file");
  ParsedKeyFile parsed;
  auto version = reader.u8();
  if (!version) return corrupt("key file truncated");
  if (*version != kKeyFileVersion) return make_error("unsupported_version", "unknown key file version");
  parsed.header.version = *version;
  auto kdf = reader.u8();
  auto aead = reader.u8();
  auto log2_n = reader.u8();
  auto r = reader.u32();
  auto p = reader.u32();
  if (!kdf || !aead || !log2_n || !r || !p) return corrupt("key file truncated");
  if (*kdf != kKdfScrypt || *aead != kAeadChaCha20Poly1305) {
    return make_error("unsupported_version", "unknown key file algorithms");
  }
  if (*log2_n >= 64) return make_error("weak_parameters", "scrypt N out of range");
  parsed.header.parameters = {.n = std::uint64_t{1} << *log2_n, .r = *r, .p = *p};
  CASEFILE_RETURN_IF_ERROR(check_parameters(parsed.header.parameters));
  auto salt = reader.take(kSaltSize);
  auto nonce = reader.take(kAeadNonceSize);
  auto purpose_size = reader.u8();
  if (!salt || !nonce || !purpose_size) return corrupt("key file truncated");
  auto purpose = reader.take(*purpose_size);
  auto secret_size = reader.u32();
  if (!purpose || !secret_size) return corrupt("key file truncated");
  parsed.header.purpose.assign(purpose->begin(), purpose->end());
  if (!check_purpose(parsed.header.purpose).ok()) return corrupt("key file purpose malformed");
  if (*secret_size == 0 || *secret_size > kKeyFileMaxSecretSize)
    return corrupt("key file secret size malformed");
  parsed.salt = *salt;
  parsed.nonce = *nonce;
  parsed.secret_size = *secret_size;
  parsed.associated_data = contents.first(reader.offset());
  parsed.ciphertext = reader.rest();
  if (parsed.ciphertext.size() != std::size_t{*secret_size} + kAeadTagSize) {
    return corrupt("key file length does not match its header");
  }
  return parsed;
}

Result<SecretBytes> wrapping_key(std::string_view passphrase, ByteView salt,
                                 const ScryptParameters& parameters) {
  return scrypt(passphrase, salt, parameters, kAeadKeySize);
}

Error io_error(const std::string& what, const std::filesystem::path& path, int error_number) {
  return make_error("io_error", what + " " + path.string() + ": " + std::strerror(error_number));
}

}  // namespace

Result<Bytes> seal_key_file(ByteView secret, std::string_view passphrase, std::string_view purpose,
                            const ScryptParameters& parameters) {
  CASEFILE_RETURN_IF_ERROR(check_parameters(parameters));
  CASEFILE_RETURN_IF_ERROR(check_purpose(purpose));
  if (secret.empty() || secret.size() > kKeyFileMaxSecretSize) {
    return make_error("invalid_argument", "key file secret must be 1 to 4096 bytes");
  }
  auto salt = random_bytes(kSaltSize);
  if (!salt.ok()) return std::move(salt).error();
  auto nonce = random_bytes(kAeadNonceSize);
  if (!nonce.ok()) return std::move(nonce).error();

  Bytes file;
  internal::append(file, kMagic);
  internal::append_u8(file, kKeyFileVersion);
  internal::append_u8(file, kKdfScrypt);
  internal::append_u8(file, kAeadChaCha20Poly1305);
  internal::append_u8(file, static_cast<std::uint8_t>(log2_of(parameters.n)));
  internal::append_u32(file, parameters.r);
  internal::append_u32(file, parameters.p);
  internal::append(file, *salt);
  internal::append(file, *nonce);
  internal::append_u8(file, static_cast<std::uint8_t>(purpose.size()));
  internal::append(file, as_bytes(purpose));
  internal::append_u32(file, static_cast<std::uint32_t>(secret.size()));

  auto key = wrapping_key(passphrase, *salt, parameters);
  if (!key.ok()) return std::move(key).error();
  auto ciphertext = aead_seal(AeadAlgorithm::chacha20_poly1305, key->view(), *nonce, file, secret);
  if (!ciphertext.ok()) return std::move(ciphertext).error();
  internal::append(file, *ciphertext);
  return file;
}

Result<KeyFileHeader> inspect_key_file(ByteView contents) {
  auto parsed = parse(contents);
  if (!parsed.ok()) return std::move(parsed).error();
  return std::move(parsed->header);
}

Result<SecretBytes> open_key_file(ByteView contents, std::string_view passphrase, std::string_view purpose) {
  auto parsed = parse(contents);
  if (!parsed.ok()) return std::move(parsed).error();
  // Checked before the costly scrypt; the AEAD also binds it.
  if (parsed->header.purpose != purpose) {
    return make_error("wrong_purpose", "key file is for \"" + parsed->header.purpose + "\"");
  }
  auto key = wrapping_key(passphrase, parsed->salt, parsed->header.parameters);
  if (!key.ok()) return std::move(key).error();
  auto secret = aead_open(AeadAlgorithm::chacha20_poly1305, key->view(), parsed->nonce,
                          parsed->associated_data, parsed->ciphertext);
  if (!secret.ok()) return make_error("wrong_passphrase", "the passphrase does not open this key file");
  SecretBytes result(*secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  return result;
}

Result<Bytes> rewrap_key_file(ByteView contents, std::string_view old_passphrase,
                              std::string_view new_passphrase, std::string_view purpose,
                              std::optional<ScryptParameters> new_parameters) {
  auto header = inspect_key_file(contents);
  if (!header.ok()) return std::move(header).error();
  auto secret = open_key_file(contents, old_passphrase, purpose);
  if (!secret.ok()) return std::move(secret).error();
  return seal_key_file(secret->view(), new_passphrase, purpose, new_parameters.value_or(header->parameters));
}

Status write_key_file(const std::filesystem::path& path, ByteView contents) {
  const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : ".";
  // Appended piecewise: GCC 12 raises a false -Wrestrict on "." + string.
  std::string temporary_name(1, '.');
  temporary_name.append(path.filename().string()).append(".tmp-XXXXXX");
  std::string temporary = (directory / temporary_name).string();
  // mkstemp creates the file with mode 0600.
  FileDescriptor file(::mkstemp(temporary.data()));
  if (file.get() < 0) return io_error("cannot create a temporary file beside", path, errno);
  auto fail = [&](const std::string& what) {
    const int error_number = errno;
    ::unlink(temporary.c_str());
    return io_error(what, path, error_number);
  };
  if (::fchmod(file.get(), S_IRUSR | S_IWUSR) != 0) return fail("cannot set mode 0600 on the key file");
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t result = ::write(file.get(), contents.data() + written, contents.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) return fail("cannot write the key file");
    written += static_cast<std::size_t>(result);
  }
  if (::fsync(file.get()) != 0) return fail("cannot fsync the key file");
  if (!file.close()) return fail("cannot close the key file");
  if (::rename(temporary.c_str(), path.c_str()) != 0) return fail("cannot rename the key file into");
  // The rename is durable only once the directory entry is.
  FileDescriptor directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory_fd.get() < 0 || ::fsync(directory_fd.get()) != 0) {
    return io_error("cannot fsync the directory of", path, errno);
  }
  return ok_status();
}

Result<Bytes> read_key_file(const std::filesystem::path& path) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return io_error("cannot open", path, errno);
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) return io_error("cannot stat", path, errno);
  if (!S_ISREG(status.st_mode)) return make_error("io_error", path.string() + " is not a regular file");
  if (status.st_size > static_cast<off_t>(kMaxFileSize))
    return corrupt("key file is larger than any key file");
  Bytes contents;
  std::uint8_t buffer[4096];
  for (;;) {
    const ssize_t result = ::read(file.get(), buffer, sizeof buffer);
    if (result < 0 && errno == EINTR) continue;
    if (result < 0) return io_error("cannot read", path, errno);
    if (result == 0) break;
    contents.insert(contents.end(), buffer, buffer + result);
    if (contents.size() > kMaxFileSize) return corrupt("key file is larger than any key file");
  }
  return contents;
}

Status save_key_file(const std::filesystem::path& path, ByteView secret, std::string_view passphrase,
                     std::string_view purpose, const ScryptParameters& parameters) {
  auto contents = seal_key_file(secret, passphrase, purpose, parameters);
  if (!contents.ok()) return std::move(contents).error();
  return write_key_file(path, *contents);
}

Result<SecretBytes> load_key_file(const std::filesystem::path& path, std::string_view passphrase,
                                  std::string_view purpose) {
  auto contents = read_key_file(path);
  if (!contents.ok()) return std::move(contents).error();
  return open_key_file(*contents, passphrase, purpose);
}

Status change_key_file_passphrase(const std::filesystem::path& path, std::string_view old_passphrase,
                                  std::string_view new_passphrase, std::string_view purpose) {
  auto contents = read_key_file(path);
  if (!contents.ok()) return std::move(contents).error();
  auto rewrapped = rewrap_key_file(*contents, old_passphrase, new_passphrase, purpose);
  if (!rewrapped.ok()) return std::move(rewrapped).error();
  return write_key_file(path, *rewrapped);
}

}  // namespace casefile::crypto
