#include "device/device_vault.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "base/file_descriptor.hpp"
#include "crypto/bytes.hpp"
#include "crypto/random.hpp"
#include "schema/database.hpp"

namespace casefile::device {
namespace {

constexpr std::string_view kUnlockStateHeader = "casefile unlock state v1";
constexpr std::size_t kMaxUnlockStateSize = 128;
constexpr std::size_t kStorageKeySize = 32;
constexpr std::size_t kDuressMarkerSize = 32;
constexpr std::size_t kThrownAwayPassphraseSize = 32;

Error io_error(const std::string& what, const std::filesystem::path& path, int error_number) {
  return make_error("io_error", what + " " + path.string() + ": " + std::strerror(error_number));
}

Status fsync_directory(const std::filesystem::path& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return io_error("cannot fsync the directory", directory, errno);
  return ok_status();
}

bool file_exists(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

Error locked_out() {
  return make_error("locked_out",
                    "too many wrong passphrases: the storage key was destroyed and this device's data is "
                    "unreadable for good");
}

// Parses "<prefix> <n>" strictly: one space, digits, no leading zero.
std::optional<std::uint32_t> parse_counter_line(std::string_view line, std::string_view prefix) {
  if (line.size() <= prefix.size() + 1 || line.substr(0, prefix.size()) != prefix ||
      line[prefix.size()] != ' ') {
    return std::nullopt;
  }
  const std::string_view digits = line.substr(prefix.size() + 1);
  if (digits.size() > 10 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint32_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// A passphrase nobody knows: random bytes as hex, for a duress.key without
// a duress passphrase. Returned in SecretBytes so that it is wiped.
Result<crypto::SecretBytes> thrown_away_passphrase() {
  auto random = crypto::random_secret(kThrownAwayPassphraseSize);
  if (!random.ok()) return std::move(random).error();
  std::string hex = crypto::to_hex(random->view());
  crypto::SecretBytes passphrase(crypto::as_bytes(hex));
  std::fill(hex.begin(), hex.end(), '\0');
  return passphrase;
}

std::string_view as_text(const crypto::SecretBytes& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Whether `key` opens the replica: schema::Database::open proves the key with
// a read. The caller checked the file exists (open would create it).
Result<bool> key_opens_replica(const std::filesystem::path& replica, const crypto::SecretBytes& key) {
  auto database = schema::Database::open(replica, key);
  if (database.ok()) return true;
  if (database.error().code == "wrong_key") return false;
  return std::move(database).error();
}

}  // namespace

VaultFiles::VaultFiles(const std::filesystem::path& directory_path)
    : directory(directory_path),
      storage_key(directory_path / "storage.key"),
      storage_key_next(directory_path / "storage.key.next"),
      duress_key(directory_path / "duress.key"),
      unlock_state(directory_path / "unlock.state"),
      replica(directory_path / "replica.db") {}

std::string encode_unlock_state(const UnlockState& state) {
  return std::string(kUnlockStateHeader) + "\nfailures " + std::to_string(state.failures) + "\nlimit " +
         std::to_string(state.limit) + "\n";
}

Result<UnlockState> decode_unlock_state(crypto::ByteView contents) {
  const auto corrupt = [] {
    return make_error("corrupt_unlock_state", "unlock.state is not a Casefile unlock state");
  };
  if (contents.size() > kMaxUnlockStateSize) return corrupt();
  std::string_view text(reinterpret_cast<const char*>(contents.data()), contents.size());
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) return corrupt();  // the last line must end with \n
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  if (lines.size() != 3 || lines[0] != kUnlockStateHeader) return corrupt();
  auto failures = parse_counter_line(lines[1], "failures");
  auto limit = parse_counter_line(lines[2], "limit");
  if (!failures || !limit) return corrupt();
  return UnlockState{*failures, *limit};
}

Status destroy_file(const std::filesystem::path& path) {
  FileDescriptor file(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (file.get() < 0) {
    if (errno == ENOENT) return ok_status();
    return io_error("cannot open for destruction", path, errno);
  }
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) return io_error("cannot stat", path, errno);
  if (S_ISREG(status.st_mode)) {
    std::array<std::uint8_t, 64 * 1024> noise{};
    off_t written = 0;
    while (written < status.st_size) {
      const std::size_t chunk = static_cast<std::size_t>(
          std::min<off_t>(status.st_size - written, static_cast<off_t>(noise.size())));
      CASEFILE_RETURN_IF_ERROR(crypto::fill_random(std::span<std::uint8_t>(noise.data(), chunk)));
      const ssize_t result = ::pwrite(file.get(), noise.data(), chunk, written);
      if (result < 0 && errno == EINTR) continue;
      if (result <= 0) return io_error("cannot overwrite", path, errno);
      written += result;
    }
    if (::fsync(file.get()) != 0) return io_error("cannot fsync", path, errno);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("cannot unlink", path, errno);
  return fsync_directory(path.has_parent_path() ? path.parent_path() : ".");
}

bool DeviceVault::initialised() const { return file_exists(files_.storage_key); }

Status DeviceVault::write_state(const UnlockState& state) {
  return crypto::write_key_file(files_.unlock_state, crypto::as_bytes(encode_unlock_state(state)));
}

Result<UnlockState> DeviceVault::read_state() {
  if (!file_exists(files_.unlock_state)) {
    return make_error("corrupt_unlock_state", "unlock.state is missing beside storage.key");
  }
  auto contents = crypto::read_key_file(files_.unlock_state);
  if (!contents.ok()) {
    if (contents.error().code == "corrupt_key_file")
      return make_error("corrupt_unlock_state", "unlock.state is too large");
    return std::move(contents).error();
  }
  return decode_unlock_state(*contents);
}

Result<crypto::SecretBytes> DeviceVault::prepare(std::string_view passphrase,
                                                 const VaultCreateOptions& options) {
  if (passphrase.empty()) return make_error("invalid_argument", "the passphrase is empty");
  if (options.duress_passphrase == passphrase) {
    return make_error("invalid_argument", "the duress passphrase must differ from the passphrase");
  }
  std::error_code error;
  std::filesystem::create_directories(files_.directory, error);
  if (error)
    return make_error("io_error", "cannot create " + files_.directory.string() + ": " + error.message());
  CASEFILE_RETURN_IF_ERROR(write_state(UnlockState{0, options.lockout_after}));

  auto marker = crypto::random_secret(kDuressMarkerSize);
  if (!marker.ok()) return std::move(marker).error();
  if (options.duress_passphrase.empty()) {
    auto unknown = thrown_away_passphrase();
    if (!unknown.ok()) return std::move(unknown).error();
    CASEFILE_RETURN_IF_ERROR(crypto::save_key_file(files_.duress_key, marker->view(), as_text(*unknown),
                                                   kDuressKeyPurpose, options.scrypt));
  } else {
    CASEFILE_RETURN_IF_ERROR(crypto::save_key_file(
        files_.duress_key, marker->view(), options.duress_passphrase, kDuressKeyPurpose, options.scrypt));
  }
  return crypto::random_secret(kStorageKeySize);
}

Status DeviceVault::save_storage_key(const crypto::SecretBytes& storage_key, std::string_view passphrase,
                                     const crypto::ScryptParameters& scrypt) {
  return crypto::save_key_file(files_.storage_key, storage_key.view(), passphrase,
                               crypto::kKeyFilePurposeDeviceStorage, scrypt);
}

Result<VaultUnlock> DeviceVault::unlock(std::string_view passphrase) {
  const bool has_storage_key = initialised();
  if (!has_storage_key && !file_exists(files_.unlock_state)) {
    return make_error("not_initialised", "no device in " + files_.directory.string());
  }
  auto state = read_state();
  if (!state.ok()) return std::move(state).error();
  if (state->limit != 0 && state->failures >= state->limit) {
    CASEFILE_RETURN_IF_ERROR(destroy_storage_key());  // finishes a destruction a crash interrupted
    return locked_out();
  }
  if (!has_storage_key) return make_error("not_initialised", "no device in " + files_.directory.string());

  // Count the attempt before making it.
  const std::uint32_t failures = state->failures == UINT32_MAX ? UINT32_MAX : state->failures + 1;
  CASEFILE_RETURN_IF_ERROR(write_state(UnlockState{failures, state->limit}));

  auto storage_contents = crypto::read_key_file(files_.storage_key);
  if (!storage_contents.ok()) return std::move(storage_contents).error();
  auto header = crypto::inspect_key_file(*storage_contents);
  if (!header.ok()) return std::move(header).error();
  // Both files, always: the same work whichever passphrase this is.
  auto storage_key =
      crypto::open_key_file(*storage_contents, passphrase, crypto::kKeyFilePurposeDeviceStorage);
  auto duress = crypto::load_key_file(files_.duress_key, passphrase, kDuressKeyPurpose);

  VaultUnlock unlocked;
  unlocked.lockout_after = state->limit;
  unlocked.scrypt = header->parameters;
  if (storage_key.ok()) {
    CASEFILE_RETURN_IF_ERROR(write_state(UnlockState{0, state->limit}));
    unlocked.with = UnlockedWith::passphrase;
    unlocked.storage_key = std::move(*storage_key);
    CASEFILE_RETURN_IF_ERROR(settle_rotation(unlocked, passphrase));
    return unlocked;
  }
  if (storage_key.error().code != "wrong_passphrase") return std::move(storage_key).error();
  if (duress.ok()) {
    unlocked.with = UnlockedWith::duress_passphrase;
    return unlocked;
  }
  if (duress.error().code != "wrong_passphrase") return std::move(duress).error();

  if (state->limit == 0) return make_error("wrong_passphrase", "the passphrase does not unlock this device");
  if (failures >= state->limit) {
    CASEFILE_RETURN_IF_ERROR(destroy_storage_key());
    return locked_out();
  }
  const std::uint32_t left = state->limit - failures;
  return make_error("wrong_passphrase", "the passphrase does not unlock this device; " +
                                            std::to_string(left) + (left == 1 ? " attempt" : " attempts") +
                                            " left before its data is destroyed");
}

Status DeviceVault::settle_rotation(VaultUnlock& unlocked, std::string_view passphrase) {
  if (!file_exists(files_.storage_key_next)) return ok_status();
  if (!file_exists(files_.replica)) return make_error("replica_missing", "replica.db is missing");
  auto next_key =
      crypto::load_key_file(files_.storage_key_next, passphrase, crypto::kKeyFilePurposeDeviceStorage);
  if (next_key.ok()) {
    auto opens = key_opens_replica(files_.replica, *next_key);
    if (!opens.ok()) return std::move(opens).error();
    if (*opens) {  // the re-key finished: finish the rotation
      CASEFILE_RETURN_IF_ERROR(finish_rotation());
      unlocked.storage_key = std::move(*next_key);
      return ok_status();
    }
  }
  // The re-key did not happen (or storage.key.next is unusable): roll back,
  // once the old key is proven to open the replica.
  auto opens = key_opens_replica(files_.replica, unlocked.storage_key);
  if (!opens.ok()) return std::move(opens).error();
  if (!*opens) {
    return make_error("replica_unreadable",
                      "neither storage key of an interrupted rotation opens replica.db");
  }
  return abandon_rotation();
}

Status DeviceVault::change_passphrase(std::string_view old_passphrase, std::string_view new_passphrase) {
  if (new_passphrase.empty()) return make_error("invalid_argument", "the new passphrase is empty");
  auto contents = crypto::read_key_file(files_.storage_key);
  if (!contents.ok()) return std::move(contents).error();
  auto rewrapped = crypto::rewrap_key_file(*contents, old_passphrase, new_passphrase,
                                           crypto::kKeyFilePurposeDeviceStorage);
  if (!rewrapped.ok()) return std::move(rewrapped).error();
  auto duress = crypto::load_key_file(files_.duress_key, new_passphrase, kDuressKeyPurpose);
  if (duress.ok()) {
    return make_error("passphrase_is_duress", "the new passphrase is this device's duress passphrase");
  }
  if (duress.error().code != "wrong_passphrase") return std::move(duress).error();
  return crypto::write_key_file(files_.storage_key, *rewrapped);
}

Result<crypto::SecretBytes> DeviceVault::begin_rotation(std::string_view passphrase) {
  auto contents = crypto::read_key_file(files_.storage_key);
  if (!contents.ok()) return std::move(contents).error();
  auto header = crypto::inspect_key_file(*contents);
  if (!header.ok()) return std::move(header).error();
  auto current = crypto::open_key_file(*contents, passphrase, crypto::kKeyFilePurposeDeviceStorage);
  if (!current.ok()) return std::move(current).error();
  auto next_key = crypto::random_secret(kStorageKeySize);
  if (!next_key.ok()) return std::move(next_key).error();
  CASEFILE_RETURN_IF_ERROR(crypto::save_key_file(files_.storage_key_next, next_key->view(), passphrase,
                                                 crypto::kKeyFilePurposeDeviceStorage, header->parameters));
  return std::move(*next_key);
}

Status DeviceVault::finish_rotation() {
  if (::rename(files_.storage_key_next.c_str(), files_.storage_key.c_str()) != 0) {
    return io_error("cannot rename storage.key.next over", files_.storage_key, errno);
  }
  return fsync_directory(files_.directory);
}

Status DeviceVault::abandon_rotation() { return destroy_file(files_.storage_key_next); }

Status DeviceVault::destroy_storage_key() {
  CASEFILE_RETURN_IF_ERROR(destroy_file(files_.storage_key_next));
  return destroy_file(files_.storage_key);
}

Status DeviceVault::destroy_all() {
  std::error_code error;
  if (!std::filesystem::exists(files_.directory, error)) return ok_status();
  CASEFILE_RETURN_IF_ERROR(destroy_storage_key());
  CASEFILE_RETURN_IF_ERROR(destroy_file(files_.duress_key));
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CASEFILE_RETURN_IF_ERROR(destroy_file(files_.replica.string() + suffix));
  }
  CASEFILE_RETURN_IF_ERROR(destroy_file(files_.unlock_state));
  // Temporary files write_key_file leaves if it is killed mid-write.
  std::vector<std::filesystem::path> leftovers;
  for (const auto& entry : std::filesystem::directory_iterator(files_.directory, error)) {
    const std::string name = entry.path().filename().string();
    for (const char* stem : {".storage.key", ".duress.key", ".unlock.state"}) {
      if (name.rfind(std::string(stem) + ".", 0) == 0 && name.find(".tmp-") != std::string::npos) {
        leftovers.push_back(entry.path());
      }
    }
  }
  if (error)
    return make_error("io_error", "cannot list " + files_.directory.string() + ": " + error.message());
  for (const auto& path : leftovers) CASEFILE_RETURN_IF_ERROR(destroy_file(path));
  return ok_status();
}

}  // namespace casefile::device
