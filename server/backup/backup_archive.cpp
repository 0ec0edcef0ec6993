#include "server/backup/backup_archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <system_error>

#include "base/file_descriptor.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hkdf.hpp"
#include "crypto/random.hpp"
#include "schema/database.hpp"
#include "server/backup/backup_key.hpp"
#include "server/backup/internal/backup_container.hpp"
#include "server/instance.hpp"
#include "server/store/instance_epoch.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/database_key_file.hpp"

namespace casefile::server {
namespace fs = std::filesystem;
namespace json = boost::json;
using internal::BackupKind;

namespace {

// In the order they are snapshotted: casefile.db first (see the header).
const std::vector<std::string> kDatabaseParts = {"casefile.db", "control.db", "keys.db"};
const std::vector<std::string> kOrganisationParts = {"org/authority.key", "org/authority.pub",
                                                     "org/recovery.key",  "org/recovery.pub",
                                                     "org/recovery.sig",  "org/backup.pub"};
const std::vector<std::string> kSecretParts = {"database.key", "tls/server.key", "tls/server.crt"};
constexpr std::string_view kExportKeyLabel = "casefile backup v1 database export";
constexpr std::size_t kCopyChunk = 1024 * 1024;

std::string kind_name(BackupKind kind) {
  return kind == BackupKind::databases ? "databases" : "server-secrets";
}

// The key the databases are exported under inside the backup: derived from
// the backup's file key, so it is never stored.
Result<crypto::SecretBytes> export_key(const crypto::SecretBytes& file_key) {
  return crypto::hkdf_sha256({}, file_key.view(), crypto::as_bytes(kExportKeyLabel), 32);
}

std::uint64_t now_millis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// A private directory removed with everything in it on every path out.
class StagingDirectory {
 public:
  static Result<StagingDirectory> create(const fs::path& parent, std::string_view stem) {
    auto suffix = crypto::random_bytes(8);
    if (!suffix.ok()) return std::move(suffix).error();
    fs::path path = parent / ("." + std::string(stem) + "-" + crypto::to_hex(*suffix));
    if (::mkdir(path.c_str(), 0700) != 0) return make_error("io_error", "cannot create " + path.string());
    return StagingDirectory(std::move(path));
  }
  StagingDirectory(StagingDirectory&& other) noexcept : path_(std::exchange(other.path_, fs::path())) {}
  StagingDirectory& operator=(StagingDirectory&&) = delete;
  ~StagingDirectory() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit StagingDirectory(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

json::object manifest_json(const BackupManifest& manifest) {
  json::array parts;
  for (const BackupPart& part : manifest.parts) {
    parts.push_back(
        json::object{{"name", part.name}, {"size", part.size}, {"sha256", crypto::to_hex(part.sha256)}});
  }
  return {{"format_version", manifest.format_version},
          {"kind", manifest.kind},
          {"created_at_ms", manifest.created_at_millis},
          {"instance_epoch", manifest.instance_epoch},
          {"last_sequence", manifest.last_sequence},
          {"parts", std::move(parts)},
          {"content_sha256", crypto::to_hex(manifest.content_sha256)}};
}

bool parse_digest(const json::value* value, crypto::Sha256Digest& out) {
  crypto::Bytes bytes;
  if (value == nullptr || !value->is_string() || !crypto::from_hex(value->as_string(), bytes) ||
      bytes.size() != out.size()) {
    return false;
  }
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return true;
}

bool parse_u64(const json::value* value, std::uint64_t& out) {
  if (value == nullptr) return false;
  if (value->is_uint64()) {
    out = value->as_uint64();
    return true;
  }
  if (value->is_int64() && value->as_int64() >= 0) {
    out = static_cast<std::uint64_t>(value->as_int64());
    return true;
  }
  return false;
}

// Strict: every field present with its type. The manifest is authenticated,
// so a malformed one means a backup not made by casefile-admin.
Result<BackupManifest> parse_manifest(std::string_view text) {
  auto corrupt = [] { return make_error("backup_corrupt", "the backup's manifest is malformed"); };
  std::error_code error;
  json::value value = json::parse(text, error);
  if (error || !value.is_object()) return corrupt();
  const json::object& object = value.as_object();
  BackupManifest manifest;
  std::uint64_t version = 0;
  const json::value* kind = object.if_contains("kind");
  const json::value* epoch = object.if_contains("instance_epoch");
  const json::value* parts = object.if_contains("parts");
  if (!parse_u64(object.if_contains("format_version"), version) || kind == nullptr || !kind->is_string() ||
      epoch == nullptr || !epoch->is_string() || parts == nullptr || !parts->is_array() ||
      !parse_u64(object.if_contains("created_at_ms"), manifest.created_at_millis) ||
      !parse_u64(object.if_contains("last_sequence"), manifest.last_sequence) ||
      !parse_digest(object.if_contains("content_sha256"), manifest.content_sha256)) {
    return corrupt();
  }
  if (version != kBackupFormatVersion)
    return make_error("backup_malformed", "unknown backup manifest version");
  manifest.kind = std::string(kind->as_string());
  manifest.instance_epoch = std::string(epoch->as_string());
  for (const json::value& entry : parts->as_array()) {
    const json::object* part_object = entry.if_object();
    if (part_object == nullptr) return corrupt();
    const json::value* name = part_object->if_contains("name");
    BackupPart part;
    if (name == nullptr || !name->is_string() || !parse_u64(part_object->if_contains("size"), part.size) ||
        !parse_digest(part_object->if_contains("sha256"), part.sha256)) {
      return corrupt();
    }
    part.name = std::string(name->as_string());
    manifest.parts.push_back(std::move(part));
  }
  return manifest;
}

Status copy_file_into(const fs::path& path, std::uint64_t size, internal::ContainerWriter& writer,
                      crypto::Sha256& part_hash, crypto::Sha256& content_hash, BackupProgress& progress,
                      const BackupProgressCallback& callback) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return make_error("io_error", "cannot open " + path.string());
  crypto::Bytes chunk(kCopyChunk);
  for (std::uint64_t left = size; left > 0;) {
    const ssize_t n =
        ::read(file.get(), chunk.data(), static_cast<std::size_t>(std::min<std::uint64_t>(left, kCopyChunk)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error("io_error", "cannot read " + path.string() + " (did it shrink?)");
    const crypto::ByteView piece(chunk.data(), static_cast<std::size_t>(n));
    CASEFILE_RETURN_IF_ERROR(writer.write(piece));
    part_hash.update(piece);
    content_hash.update(piece);
    left -= piece.size();
    progress.done += piece.size();
    if (callback) callback(progress);
  }
  return ok_status();
}

// Streams `files` (name -> path on disk) and the manifest into `writer`.
Result<BackupManifest> write_parts(internal::ContainerWriter& writer, BackupManifest manifest,
                                   const std::vector<std::pair<std::string, fs::path>>& files,
                                   const BackupProgressCallback& callback) {
  BackupProgress progress;
  std::vector<std::uint64_t> sizes;
  for (const auto& [name, path] : files) {
    std::error_code error;
    const auto size = fs::file_size(path, error);
    if (error) return make_error("io_error", "cannot read " + path.string());
    sizes.push_back(size);
    progress.total += size;
  }
  crypto::Sha256 content_hash;
  for (std::size_t i = 0; i < files.size(); ++i) {
    progress.part = files[i].first;
    CASEFILE_RETURN_IF_ERROR(writer.write(internal::encode_part_header(files[i].first, sizes[i])));
    crypto::Sha256 part_hash;
    CASEFILE_RETURN_IF_ERROR(
        copy_file_into(files[i].second, sizes[i], writer, part_hash, content_hash, progress, callback));
    manifest.parts.push_back(BackupPart{files[i].first, sizes[i], part_hash.finish()});
  }
  manifest.content_sha256 = content_hash.finish();
  const std::string text = json::serialize(manifest_json(manifest));
  CASEFILE_RETURN_IF_ERROR(writer.write(internal::encode_manifest_header(text.size())));
  CASEFILE_RETURN_IF_ERROR(writer.write(crypto::as_bytes(text)));
  CASEFILE_RETURN_IF_ERROR(writer.finish());
  return manifest;
}

// The epoch and last sequence, read from the exported snapshot itself.
Status read_snapshot_position(const fs::path& exported, const crypto::SecretBytes& key,
                              BackupManifest& manifest) {
  auto database = schema::Database::open(exported, key);
  if (!database.ok()) return std::move(database).error();
  auto last = database->prepare("SELECT coalesce(max(sequence), 0) FROM change_log");
  if (!last.ok()) return std::move(last).error();
  auto row = last->step();
  if (!row.ok()) return std::move(row).error();
  manifest.last_sequence = static_cast<std::uint64_t>(last->column_int64(0));
  auto epoch = read_instance_epoch(*database);
  if (!epoch.ok()) return std::move(epoch).error();
  manifest.instance_epoch = *epoch;
  return ok_status();
}

Status check_instance(const fs::path& root) {
  if (!instance_exists(root)) return make_error("no_instance", "no instance at " + root.string());
  return ok_status();
}

// What a verified or restored backup holds, checked against its manifest.
class ContentCheck {
 public:
  // `write_to`: a directory to write the parts into, or empty to only check.
  ContentCheck(fs::path write_to, const BackupProgressCallback& callback)
      : write_to_(std::move(write_to)), callback_(callback) {}

  void set_kind(BackupKind kind) { kind_ = kind; }

  internal::ContentParser::Callbacks callbacks() {
    return {[this](const std::string& name, std::uint64_t size) { return begin(name, size); },
            [this](crypto::ByteView data) { return data_piece(data); },
            [this](std::string_view text) { return manifest(text); }};
  }

  Result<BackupManifest> result() && {
    if (!manifest_) return make_error("backup_corrupt", "the backup ends before its manifest");
    return std::move(*manifest_);
  }

 private:
  Status begin(const std::string& name, std::uint64_t size) {
    CASEFILE_RETURN_IF_ERROR(end_part());
    const auto& allowed_lists =
        kind_ == BackupKind::databases
            ? std::vector<const std::vector<std::string>*>{&kDatabaseParts, &kOrganisationParts}
            : std::vector<const std::vector<std::string>*>{&kSecretParts};
    bool allowed = false;
    for (const auto* list : allowed_lists)
      allowed = allowed || std::find(list->begin(), list->end(), name) != list->end();
    if (!allowed || !seen_.insert(name).second) {
      return make_error("backup_corrupt", "unexpected part in the backup: " + name);
    }
    current_ = BackupPart{name, size, {}};
    part_hash_.emplace();
    if (!write_to_.empty()) {
      const fs::path path = write_to_ / name;
      std::error_code error;
      fs::create_directories(path.parent_path(), error);
      output_.emplace(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (output_->get() < 0) return make_error("io_error", "cannot create " + path.string());
    }
    progress_.part = name;
    return ok_status();
  }

  Status data_piece(crypto::ByteView data) {
    part_hash_->update(data);
    content_hash_.update(data);
    progress_.done += data.size();
    if (output_) {
      std::size_t done = 0;
      while (done < data.size()) {
        const ssize_t n = ::write(output_->get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return make_error("io_error", "cannot write " + (write_to_ / current_->name).string());
        done += static_cast<std::size_t>(n);
      }
    }
    if (callback_) callback_(progress_);
    return ok_status();
  }

  Status end_part() {
    if (!current_) return ok_status();
    current_->sha256 = part_hash_->finish();
    part_hash_.reset();
    if (output_) {
      const bool synced = ::fsync(output_->get()) == 0;
      if (!output_->close() || !synced) return make_error("io_error", "cannot write " + current_->name);
      output_.reset();
    }
    parts_.push_back(std::move(*current_));
    current_.reset();
    return ok_status();
  }

  Status manifest(std::string_view text) {
    CASEFILE_RETURN_IF_ERROR(end_part());
    auto parsed = parse_manifest(text);
    if (!parsed.ok()) return std::move(parsed).error();
    const crypto::Sha256Digest content = content_hash_.finish();
    bool same = parsed->kind == kind_name(kind_) && parsed->parts.size() == parts_.size() &&
                parsed->content_sha256 == content;
    for (std::size_t i = 0; same && i < parts_.size(); ++i) {
      same = parsed->parts[i].name == parts_[i].name && parsed->parts[i].size == parts_[i].size &&
             parsed->parts[i].sha256 == parts_[i].sha256;
    }
    if (!same) return make_error("backup_corrupt", "the backup's content does not match its manifest");
    manifest_ = std::move(*parsed);
    return ok_status();
  }

  fs::path write_to_;
  const BackupProgressCallback& callback_;
  BackupKind kind_ = BackupKind::databases;
  std::set<std::string> seen_;
  std::optional<BackupPart> current_;
  std::optional<crypto::Sha256> part_hash_;
  crypto::Sha256 content_hash_;
  std::optional<FileDescriptor> output_;
  std::vector<BackupPart> parts_;
  std::optional<BackupManifest> manifest_;
  BackupProgress progress_;
};

struct OpenedBackup {
  BackupManifest manifest;
  BackupKind kind = BackupKind::databases;
  crypto::SecretBytes file_key;
};

Result<OpenedBackup> read_backup(const fs::path& backup, const crypto::X25519PrivateKey& key,
                                 const fs::path& write_to, const BackupProgressCallback& callback) {
  ContentCheck check(write_to, callback);
  internal::ContentParser parser(check.callbacks());
  OpenedBackup opened;
  CASEFILE_RETURN_IF_ERROR(internal::read_container(
      backup, std::nullopt, key,
      [&](const crypto::SecretBytes& file_key, BackupKind kind) {
        opened.file_key = file_key.clone();
        opened.kind = kind;
        check.set_kind(kind);
        return ok_status();
      },
      [&](crypto::ByteView plaintext) { return parser.consume(plaintext); }));
  CASEFILE_RETURN_IF_ERROR(parser.finish());
  auto manifest = std::move(check).result();
  if (!manifest.ok()) return std::move(manifest).error();
  opened.manifest = std::move(*manifest);
  return opened;
}

// Renames `from` over `to`, creating the parent directory. Errors: "io_error".
Status move_into_place(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::create_directories(to.parent_path(), error);
  fs::rename(from, to, error);
  if (error) return make_error("io_error", "cannot move " + from.string() + " to " + to.string());
  return ok_status();
}

Status restore_databases(const OpenedBackup& opened, const fs::path& staging, const fs::path& root) {
  auto database_key = read_database_key_file(InstanceLayout(root).database_key());
  if (!database_key.ok()) return std::move(database_key).error();
  auto exported_under = export_key(opened.file_key);
  if (!exported_under.ok()) return std::move(exported_under).error();
  for (const BackupPart& part : opened.manifest.parts) {
    if (std::find(kDatabaseParts.begin(), kDatabaseParts.end(), part.name) == kDatabaseParts.end()) continue;
    auto database = schema::Database::open(staging / part.name, *exported_under);
    if (!database.ok()) return std::move(database).error();
    CASEFILE_RETURN_IF_ERROR(database->rekey(*database_key));
  }
  const fs::path sync_database = staging / "casefile.db";
  if (fs::exists(sync_database)) {
    {  // brings an older snapshot's schema up to date, so it has an epoch to renew
      auto store = SqlcipherServerStore::open(sync_database, *database_key);
      if (!store.ok()) return std::move(store).error();
    }
    auto database = schema::Database::open(sync_database, *database_key);
    if (!database.ok()) return std::move(database).error();
    auto epoch = renew_instance_epoch(*database);
    if (!epoch.ok()) return std::move(epoch).error();
  }
  for (const BackupPart& part : opened.manifest.parts) {
    CASEFILE_RETURN_IF_ERROR(move_into_place(staging / part.name, root / part.name));
  }
  return ok_status();
}

Status restore_secrets(const OpenedBackup& opened, const fs::path& staging, const fs::path& root) {
  for (const BackupPart& part : opened.manifest.parts) {
    // The database key stays the instance's: the databases were re-keyed to it.
    if (part.name == "database.key") continue;
    CASEFILE_RETURN_IF_ERROR(move_into_place(staging / part.name, root / part.name));
  }
  return ok_status();
}

}  // namespace

Result<BackupManifest> create_backup(const fs::path& instance_root, const fs::path& destination,
                                     const BackupProgressCallback& progress) {
  CASEFILE_RETURN_IF_ERROR(check_instance(instance_root));
  auto public_key = read_backup_public_key(instance_root);
  if (!public_key.ok()) return std::move(public_key).error();
  const InstanceLayout layout(instance_root);
  auto database_key = read_database_key_file(layout.database_key());
  if (!database_key.ok()) return std::move(database_key).error();
  auto writer = internal::ContainerWriter::create(destination, BackupKind::databases, *public_key);
  if (!writer.ok()) return std::move(writer).error();
  auto exported_under = export_key((*writer)->file_key());
  if (!exported_under.ok()) return std::move(exported_under).error();
  const fs::path parent = destination.parent_path().empty() ? fs::path(".") : destination.parent_path();
  auto staging = StagingDirectory::create(parent, destination.filename().string() + ".parts");
  if (!staging.ok()) return std::move(staging).error();

  BackupManifest manifest;
  manifest.kind = kind_name(BackupKind::databases);
  manifest.created_at_millis = now_millis();
  std::vector<std::pair<std::string, fs::path>> files;
  for (const std::string& name : kDatabaseParts) {
    const fs::path source = instance_root / name;
    if (!fs::exists(source)) continue;
    const fs::path exported = staging->path() / name;
    {
      auto database = schema::Database::open(source, *database_key);
      if (!database.ok()) return std::move(database).error();
      CASEFILE_RETURN_IF_ERROR(database->export_to(exported, *exported_under));
    }
    if (name == "casefile.db")
      CASEFILE_RETURN_IF_ERROR(read_snapshot_position(exported, *exported_under, manifest));
    files.emplace_back(name, exported);
  }
  for (const std::string& name : kOrganisationParts) {
    if (fs::exists(instance_root / name)) files.emplace_back(name, instance_root / name);
  }
  return write_parts(**writer, std::move(manifest), files, progress);
}

Result<BackupManifest> create_server_secrets_backup(const fs::path& instance_root,
                                                    const fs::path& destination) {
  CASEFILE_RETURN_IF_ERROR(check_instance(instance_root));
  auto public_key = read_backup_public_key(instance_root);
  if (!public_key.ok()) return std::move(public_key).error();
  auto writer = internal::ContainerWriter::create(destination, BackupKind::server_secrets, *public_key);
  if (!writer.ok()) return std::move(writer).error();
  BackupManifest manifest;
  manifest.kind = kind_name(BackupKind::server_secrets);
  manifest.created_at_millis = now_millis();
  std::vector<std::pair<std::string, fs::path>> files;
  for (const std::string& name : kSecretParts) files.emplace_back(name, instance_root / name);
  return write_parts(**writer, std::move(manifest), files, {});
}

Result<BackupManifest> verify_backup(const fs::path& backup,
                                     const crypto::X25519PrivateKey& backup_private_key) {
  auto opened = read_backup(backup, backup_private_key, {}, {});
  if (!opened.ok()) return std::move(opened).error();
  return std::move(opened->manifest);
}

Result<BackupManifest> restore_backup(const fs::path& backup,
                                      const crypto::X25519PrivateKey& backup_private_key,
                                      const fs::path& instance_root, const BackupProgressCallback& progress) {
  CASEFILE_RETURN_IF_ERROR(check_instance(instance_root));
  // Peek at the kind before anything else, so the emptiness rule fits it.
  bool secrets = false;
  {
    FileDescriptor file(::open(backup.c_str(), O_RDONLY | O_CLOEXEC));
    std::uint8_t prefix[6] = {};
    if (file.get() >= 0 && ::read(file.get(), prefix, sizeof prefix) == static_cast<ssize_t>(sizeof prefix)) {
      secrets = prefix[5] == static_cast<std::uint8_t>(BackupKind::server_secrets);
    }
  }
  if (!secrets) {
    for (const std::string& name : kDatabaseParts) {
      for (const char* suffix : {"", "-wal"}) {
        if (fs::exists(instance_root / (name + suffix))) {
          return make_error(
              "instance_not_empty",
              "the instance already holds " + name +
                  "; restore only into a new instance (casefile-admin init) that has never served");
        }
      }
    }
  }
  auto staging = StagingDirectory::create(instance_root, "restore");
  if (!staging.ok()) return std::move(staging).error();
  auto opened = read_backup(backup, backup_private_key, staging->path(), progress);
  if (!opened.ok()) return std::move(opened).error();
  if (opened->kind == BackupKind::databases) {
    CASEFILE_RETURN_IF_ERROR(restore_databases(*opened, staging->path(), instance_root));
  } else {
    CASEFILE_RETURN_IF_ERROR(restore_secrets(*opened, staging->path(), instance_root));
  }
  return std::move(opened->manifest);
}

}  // namespace casefile::server
