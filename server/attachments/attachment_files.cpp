#include "server/attachments/attachment_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace casefile::server {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kHashBufferSize = 256 * 1024;

Error io_error(const fs::path& path, std::string_view what) {
  return make_error("io_error", std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

Status make_private_directory(const fs::path& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return io_error(path, "cannot create directory");
  return ok_status();
}

Status sync_directory_of(const fs::path& path) {
  const FileDescriptor directory(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() < 0 || ::fsync(directory.get()) != 0) return io_error(path, "cannot sync directory");
  return ok_status();
}

}  // namespace

Status AttachmentFiles::prepare() const {
  std::error_code error;
  fs::create_directories(root_.parent_path(), error);
  CASEFILE_RETURN_IF_ERROR(make_private_directory(root_));
  CASEFILE_RETURN_IF_ERROR(make_private_directory(root_ / "uploads"));
  return make_private_directory(root_ / "blobs");
}

fs::path AttachmentFiles::upload_path(std::string_view upload_id) const {
  return root_ / "uploads" / std::string(upload_id);
}

fs::path AttachmentFiles::blob_path(const sync::CaseId& case_id, const sync::RecordId& record_id) const {
  return root_ / "blobs" / sync::to_text(case_id) / sync::to_text(record_id);
}

Result<std::unique_ptr<FileDescriptor>> AttachmentFiles::open_upload_at(std::string_view upload_id,
                                                                        std::uint64_t offset) const {
  const fs::path path = upload_path(upload_id);
  auto owned = std::make_unique<FileDescriptor>(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  const FileDescriptor& file = *owned;
  if (file.get() < 0) return io_error(path, "cannot open");
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) return io_error(path, "cannot stat");
  if (static_cast<std::uint64_t>(status.st_size) < offset) {
    return make_error("upload_file_lost", "the upload's file holds fewer bytes than its recorded offset");
  }
  CASEFILE_RETURN_IF_ERROR(truncate_upload(file, offset));
  return owned;
}

Status AttachmentFiles::truncate_upload(const FileDescriptor& file, std::uint64_t offset) const {
  if (::ftruncate(file.get(), static_cast<off_t>(offset)) != 0)
    return io_error(root_, "cannot truncate an upload in");
  if (::lseek(file.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
    return io_error(root_, "cannot seek an upload in");
  return ok_status();
}

Status AttachmentFiles::promote(std::string_view upload_id, const sync::CaseId& case_id,
                                const sync::RecordId& record_id) const {
  const fs::path destination = blob_path(case_id, record_id);
  CASEFILE_RETURN_IF_ERROR(make_private_directory(destination.parent_path()));
  if (::rename(upload_path(upload_id).c_str(), destination.c_str()) != 0) {
    return io_error(destination, "cannot move an upload to");
  }
  CASEFILE_RETURN_IF_ERROR(sync_directory_of(destination.parent_path()));
  CASEFILE_RETURN_IF_ERROR(sync_directory_of(root_ / "blobs"));
  return sync_directory_of(root_ / "uploads");
}

void AttachmentFiles::remove_upload(std::string_view upload_id) const {
  std::error_code ignored;
  fs::remove(upload_path(upload_id), ignored);
}

Status write_all(const FileDescriptor& file, std::string_view bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(file.get(), bytes.data() + written, bytes.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      return make_error("io_error", std::string("cannot write an upload: ") + std::strerror(errno));
    }
    written += static_cast<std::size_t>(count);
  }
  return ok_status();
}

Status sync_file(const FileDescriptor& file) {
  if (::fsync(file.get()) != 0) {
    return make_error("io_error", std::string("cannot sync an upload: ") + std::strerror(errno));
  }
  return ok_status();
}

Result<crypto::Sha256Digest> sha256_of_file(const fs::path& path) {
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return io_error(path, "cannot open");
  crypto::Sha256 hash;
  std::vector<std::uint8_t> buffer(kHashBufferSize);
  for (;;) {
    const ssize_t count = ::read(file.get(), buffer.data(), buffer.size());
    if (count < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "cannot read");
    }
    if (count == 0) break;
    hash.update(crypto::ByteView(buffer.data(), static_cast<std::size_t>(count)));
  }
  return hash.finish();
}

}  // namespace casefile::server
