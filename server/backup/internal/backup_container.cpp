#include "server/backup/internal/backup_container.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "base/file_descriptor.hpp"
#include "crypto/hkdf.hpp"
#include "crypto/hpke.hpp"
#include "crypto/random.hpp"

namespace casefile::server::internal {
namespace {

constexpr std::string_view kMagic = "CFBK";
constexpr std::string_view kTrailerMagic = "CFBE";
constexpr std::uint8_t kContainerVersion = 1;
constexpr std::string_view kPurpose = "casefile backup v1";
constexpr std::size_t kFileKeySize = 32;
constexpr std::size_t kWrappedKeySize = kFileKeySize + crypto::hpke::kTagSize;
constexpr std::size_t kPrefixSize = 6;  // magic, version, kind
constexpr std::size_t kHeaderSize = kPrefixSize + crypto::hpke::kEncapsulatedKeySize + kWrappedKeySize;
constexpr std::size_t kTrailerSize = 12;  // magic, u64 file length
constexpr std::size_t kReadChunk = 256 * 1024;

constexpr std::uint8_t kPartTag = 'P';
constexpr std::uint8_t kManifestTag = 'M';

crypto::Bytes header_prefix(BackupKind kind) {
  crypto::Bytes prefix(kMagic.begin(), kMagic.end());
  prefix.push_back(kContainerVersion);
  prefix.push_back(static_cast<std::uint8_t>(kind));
  return prefix;
}

// HPKE info: the purpose and the kind, so a secrets file's key never opens
// as a databases file's.
crypto::Bytes wrap_info(BackupKind kind) {
  crypto::Bytes info(kPurpose.begin(), kPurpose.end());
  info.push_back(static_cast<std::uint8_t>(kind));
  return info;
}

void append_u64(crypto::Bytes& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

std::uint64_t read_u64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | bytes[i];
  return value;
}

Error io_error(const std::filesystem::path& path, const std::string& what) {
  return make_error("io_error", what + ": " + path.string());
}

// Reads exactly `size` bytes at `offset`. Errors: "io_error".
Status read_at(int descriptor, std::uint64_t offset, std::uint8_t* out, std::size_t size,
               const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(descriptor, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error(path, "cannot read");
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

}  // namespace

ContainerWriter::ContainerWriter(std::filesystem::path path, int descriptor, crypto::SecretBytes file_key,
                                 crypto::StreamEncryptor encryptor)
    : path_(std::move(path)),
      descriptor_(descriptor),
      file_key_(std::move(file_key)),
      encryptor_(std::move(encryptor)) {}

ContainerWriter::~ContainerWriter() {
  ::close(descriptor_);
  if (!finished_) ::unlink(path_.c_str());
}

Result<std::unique_ptr<ContainerWriter>> ContainerWriter::create(
    const std::filesystem::path& path, BackupKind kind, const crypto::X25519PublicKey& backup_public_key) {
  auto file_key = crypto::random_secret(kFileKeySize);
  if (!file_key.ok()) return std::move(file_key).error();
  const crypto::Bytes prefix = header_prefix(kind);
  auto wrapped = crypto::hpke::seal_base(backup_public_key, wrap_info(kind), prefix, file_key->view());
  if (!wrapped.ok()) return std::move(wrapped).error();
  crypto::Bytes header = prefix;
  header.insert(header.end(), wrapped->encapsulated_key.begin(), wrapped->encapsulated_key.end());
  header.insert(header.end(), wrapped->ciphertext.begin(), wrapped->ciphertext.end());
  auto encryptor = crypto::StreamEncryptor::start(file_key->view(), kPurpose, header);
  if (!encryptor.ok()) return std::move(encryptor).error();
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (descriptor < 0) return io_error(path, "cannot create (it must not exist)");
  std::unique_ptr<ContainerWriter> writer(
      new ContainerWriter(path, descriptor, std::move(*file_key), std::move(*encryptor)));
  CASEFILE_RETURN_IF_ERROR(writer->write_raw(header));
  return writer;
}

Status ContainerWriter::write_raw(crypto::ByteView bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(descriptor_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io_error(path_, "cannot write");
    done += static_cast<std::size_t>(n);
  }
  written_ += bytes.size();
  return ok_status();
}

Status ContainerWriter::write(crypto::ByteView plaintext) {
  auto sealed = encryptor_.write(plaintext);
  if (!sealed.ok()) return std::move(sealed).error();
  return write_raw(*sealed);
}

Status ContainerWriter::finish() {
  auto sealed = encryptor_.finish();
  if (!sealed.ok()) return std::move(sealed).error();
  CASEFILE_RETURN_IF_ERROR(write_raw(*sealed));
  crypto::Bytes trailer(kTrailerMagic.begin(), kTrailerMagic.end());
  append_u64(trailer, written_ + kTrailerSize);
  CASEFILE_RETURN_IF_ERROR(write_raw(trailer));
  if (::fsync(descriptor_) != 0) return io_error(path_, "cannot sync");
  finished_ = true;
  return ok_status();
}

Status read_container(
    const std::filesystem::path& path, std::optional<BackupKind> expected_kind,
    const crypto::X25519PrivateKey& backup_private_key,
    const std::function<Status(const crypto::SecretBytes& file_key, BackupKind kind)>& on_key,
    const std::function<Status(crypto::ByteView plaintext)>& sink) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return io_error(path, "cannot open");
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) return io_error(path, "cannot stat");
  const auto size = static_cast<std::uint64_t>(status.st_size);
  std::array<std::uint8_t, kHeaderSize> header{};
  if (size < kPrefixSize) return make_error("backup_malformed", "not a Casefile backup (too short)");
  CASEFILE_RETURN_IF_ERROR(
      read_at(file.get(), 0, header.data(), std::min<std::uint64_t>(size, kHeaderSize), path));
  if (!std::equal(kMagic.begin(), kMagic.end(), header.begin())) {
    return make_error("backup_malformed", "not a Casefile backup");
  }
  if (header[4] != kContainerVersion) {
    return make_error("backup_malformed", "unknown backup format version " + std::to_string(header[4]));
  }
  if (header[5] != static_cast<std::uint8_t>(BackupKind::databases) &&
      header[5] != static_cast<std::uint8_t>(BackupKind::server_secrets)) {
    return make_error("backup_malformed", "unknown backup kind");
  }
  const auto kind = static_cast<BackupKind>(header[5]);
  const crypto::Bytes prefix = header_prefix(kind);
  if (expected_kind && kind != *expected_kind) {
    return make_error("backup_malformed", kind == BackupKind::server_secrets
                                              ? "this is a server-secrets backup, not a databases backup"
                                              : "this is a databases backup, not a server-secrets backup");
  }
  // The trailer: present and naming this length, or the file was cut short.
  std::array<std::uint8_t, kTrailerSize> trailer{};
  if (size < kHeaderSize + kTrailerSize)
    return make_error("backup_truncated", "the backup file is truncated");
  CASEFILE_RETURN_IF_ERROR(read_at(file.get(), size - kTrailerSize, trailer.data(), kTrailerSize, path));
  if (!std::equal(kTrailerMagic.begin(), kTrailerMagic.end(), trailer.begin()) ||
      read_u64(trailer.data() + 4) != size) {
    return make_error("backup_truncated", "the backup file is truncated (its end marker is missing)");
  }
  const crypto::ByteView header_view(header.data(), header.size());
  auto file_key = crypto::hpke::open_base(
      header_view.subspan(kPrefixSize, crypto::hpke::kEncapsulatedKeySize), backup_private_key,
      wrap_info(kind), prefix, header_view.subspan(kPrefixSize + crypto::hpke::kEncapsulatedKeySize));
  if (!file_key.ok()) {
    return make_error("backup_wrong_key",
                      "the backup does not open with this backup key (made for another key, or altered)");
  }
  CASEFILE_RETURN_IF_ERROR(on_key(*file_key, kind));
  auto decryptor = crypto::StreamDecryptor::start(file_key->view(), kPurpose, header_view);
  if (!decryptor.ok()) return std::move(decryptor).error();
  auto corrupt = [](const Error& error) {
    if (error.code.rfind("stream_", 0) != 0) return error;
    return make_error("backup_corrupt", "the backup was altered: " + error.message);
  };
  crypto::Bytes chunk(kReadChunk);
  const std::uint64_t end = size - kTrailerSize;
  for (std::uint64_t offset = kHeaderSize; offset < end;) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunk, end - offset));
    CASEFILE_RETURN_IF_ERROR(read_at(file.get(), offset, chunk.data(), take, path));
    offset += take;
    auto plaintext = decryptor->write(crypto::ByteView(chunk.data(), take));
    if (!plaintext.ok()) return corrupt(plaintext.error());
    if (!plaintext->empty()) CASEFILE_RETURN_IF_ERROR(sink(plaintext->view()));
  }
  auto last = decryptor->finish();
  if (!last.ok()) return corrupt(last.error());
  if (!last->empty()) CASEFILE_RETURN_IF_ERROR(sink(last->view()));
  return ok_status();
}

crypto::Bytes encode_part_header(std::string_view name, std::uint64_t size) {
  // Reserved whole first: GCC 12 at -O3 misreads the growth of a two-byte
  // vector by an insert as an out-of-bounds copy (-Warray-bounds).
  crypto::Bytes header;
  header.reserve(2 + name.size() + 8);
  header.push_back(kPartTag);
  header.push_back(static_cast<std::uint8_t>(name.size()));
  header.insert(header.end(), name.begin(), name.end());
  append_u64(header, size);
  return header;
}

crypto::Bytes encode_manifest_header(std::size_t manifest_size) {
  crypto::Bytes header{kManifestTag};
  for (int shift = 24; shift >= 0; shift -= 8)
    header.push_back(static_cast<std::uint8_t>(manifest_size >> shift));
  return header;
}

Status ContentParser::consume(crypto::ByteView plaintext) {
  while (!plaintext.empty()) CASEFILE_RETURN_IF_ERROR(step(plaintext));
  return ok_status();
}

Status ContentParser::finish() const {
  if (state_ != State::done) return make_error("backup_corrupt", "the backup ends before its manifest");
  return ok_status();
}

// Consumes some of `input`: part data straight through, header fields into
// field_ until whole.
Status ContentParser::step(crypto::ByteView& input) {
  auto corrupt = [](const std::string& message) { return make_error("backup_corrupt", message); };
  if (state_ == State::done) return corrupt("data after the backup's manifest");
  if (state_ == State::part_data) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
    CASEFILE_RETURN_IF_ERROR(callbacks_.part_data(input.first(take)));
    input = input.subspan(take);
    remaining_ -= take;
    if (remaining_ == 0) {
      state_ = State::tag;
      field_wanted_ = 1;
    }
    return ok_status();
  }
  const std::size_t take = std::min(field_wanted_ - field_.size(), input.size());
  field_.insert(field_.end(), input.begin(), input.begin() + static_cast<std::ptrdiff_t>(take));
  input = input.subspan(take);
  if (field_.size() < field_wanted_) return ok_status();
  crypto::Bytes field = std::move(field_);
  field_.clear();
  switch (state_) {
    case State::tag:
      if (field[0] == kPartTag) {
        state_ = State::part_name_size;
        field_wanted_ = 1;
      } else if (field[0] == kManifestTag) {
        state_ = State::manifest_size;
        field_wanted_ = 4;
      } else {
        return corrupt("unknown content tag in the backup");
      }
      return ok_status();
    case State::part_name_size:
      if (field[0] == 0 || field[0] > kMaxPartNameSize) return corrupt("bad part name length");
      state_ = State::part_name;
      field_wanted_ = field[0];
      return ok_status();
    case State::part_name:
      name_.assign(field.begin(), field.end());
      state_ = State::part_size;
      field_wanted_ = 8;
      return ok_status();
    case State::part_size:
      remaining_ = read_u64(field.data());
      CASEFILE_RETURN_IF_ERROR(callbacks_.part_begin(name_, remaining_));
      state_ = remaining_ == 0 ? State::tag : State::part_data;
      field_wanted_ = 1;
      return ok_status();
    case State::manifest_size: {
      const std::size_t size = (std::size_t{field[0]} << 24) | (std::size_t{field[1]} << 16) |
                               (std::size_t{field[2]} << 8) | std::size_t{field[3]};
      if (size == 0 || size > kMaxManifestSize) return corrupt("bad manifest length");
      state_ = State::manifest;
      field_wanted_ = size;
      return ok_status();
    }
    case State::manifest: {
      const std::string_view text(reinterpret_cast<const char*>(field.data()), field.size());
      CASEFILE_RETURN_IF_ERROR(callbacks_.manifest(text));
      state_ = State::done;
      return ok_status();
    }
    case State::part_data:
    case State::done:
      break;
  }
  return corrupt("backup content parser in an impossible state");
}

}  // namespace casefile::server::internal
