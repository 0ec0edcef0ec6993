#include "server/sync_api/database_key_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/bytes.hpp"
#include "crypto/random.hpp"

namespace casefile::server {
namespace {

constexpr std::size_t kDatabaseKeySize = 32;

Error io_error(const std::filesystem::path& path, const std::string& what) {
  return make_error("io_error", what + ": " + path.string());
}

Status sync_directory_of(const std::filesystem::path& file) {
  const std::filesystem::path directory = file.has_parent_path() ? file.parent_path() : ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(directory, "cannot open directory");
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced ? ok_status() : Status(io_error(directory, "cannot sync directory"));
}

}  // namespace

Result<crypto::SecretBytes> read_database_key_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("io_error", "cannot read the database key file " + path.string());
  std::string hex((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  crypto::Bytes bytes;
  const bool valid = crypto::from_hex(hex, bytes) && bytes.size() == kDatabaseKeySize;
  crypto::SecretBytes key(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  OPENSSL_cleanse(hex.data(), hex.size());
  if (!valid) return make_error("corrupt_instance", "not a 32-byte hex key: " + path.string());
  return key;
}

std::filesystem::path next_database_key_path(const std::filesystem::path& key_file) {
  std::filesystem::path next = key_file;
  next += ".next";
  return next;
}

Result<crypto::SecretBytes> write_next_database_key(const std::filesystem::path& key_file) {
  const std::filesystem::path next = next_database_key_path(key_file);
  auto key = crypto::random_secret(kDatabaseKeySize);
  if (!key.ok()) return std::move(key).error();
  const int fd = ::open(next.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return make_error(
          "rotation_in_progress",
          next.string() + " exists: an earlier rotation did not finish (casefiled finishes it at start)");
    }
    return io_error(next, "cannot create");
  }
  // The hex text of the key, in a buffer that wipes itself.
  crypto::SecretBytes text(key->size() * 2 + 1);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < key->size(); ++i) {
    text.data()[2 * i] = static_cast<std::uint8_t>(kDigits[key->data()[i] >> 4]);
    text.data()[2 * i + 1] = static_cast<std::uint8_t>(kDigits[key->data()[i] & 0x0f]);
  }
  text.data()[text.size() - 1] = '\n';
  std::size_t written = 0;
  bool failed = false;
  while (written < text.size() && !failed) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      failed = true;
    else
      written += static_cast<std::size_t>(n);
  }
  failed = ::fsync(fd) != 0 || failed;
  failed = ::close(fd) != 0 || failed;
  if (failed) {
    ::unlink(next.c_str());
    return io_error(next, "cannot write");
  }
  CASEFILE_RETURN_IF_ERROR(sync_directory_of(next));
  return key;
}

Status promote_next_database_key(const std::filesystem::path& key_file) {
  const std::filesystem::path next = next_database_key_path(key_file);
  if (::rename(next.c_str(), key_file.c_str()) != 0) return io_error(next, "cannot rename over the key file");
  return sync_directory_of(key_file);
}

}  // namespace casefile::server
