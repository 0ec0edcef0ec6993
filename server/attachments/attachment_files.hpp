// AttachmentFiles: the attachment bytes on disk, under the instance's
// attachments/ (docs/instance.md):
//   uploads/<upload id>           an unfinished upload, `offset` bytes durable
//   blobs/<case id>/<record id>   a stored attachment's ciphertext
// The server never decrypts them: every byte is device ciphertext.
// Directories are 0700, files 0600. Every write is fsynced before the
// UploadStore records it, and a stored attachment appears by an atomic rename.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/file_descriptor.hpp"
#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "sync/ids.hpp"

namespace casefile::server {

class AttachmentFiles {
 public:
  // `root` is <instance>/attachments.
  explicit AttachmentFiles(std::filesystem::path root) : root_(std::move(root)) {}

  // Creates root/uploads and root/blobs when absent. Errors: "io_error".
  [[nodiscard]] Status prepare() const;

  std::filesystem::path upload_path(std::string_view upload_id) const;
  std::filesystem::path blob_path(const sync::CaseId& case_id, const sync::RecordId& record_id) const;
  const std::filesystem::path& root() const { return root_; }

  // Opens the upload's file for appending at `offset`: created when absent,
  // cut to `offset` (bytes past it were never recorded). Errors: "io_error",
  // "upload_file_lost" (the file holds fewer than `offset` bytes: a restore
  // without uploads/, or a crash inside a termination).
  // (FileDescriptor does not move: it is handed out on the heap.)
  Result<std::unique_ptr<FileDescriptor>> open_upload_at(std::string_view upload_id,
                                                         std::uint64_t offset) const;
  // Cuts the upload's file back to `offset` (a refused chunk). Errors: "io_error".
  [[nodiscard]] Status truncate_upload(const FileDescriptor& file, std::uint64_t offset) const;

  // Moves a finished upload to its blob path (rename, then fsync of both
  // directories). Errors: "io_error".
  [[nodiscard]] Status promote(std::string_view upload_id, const sync::CaseId& case_id,
                               const sync::RecordId& record_id) const;
  // Removes an upload's file; absent is not an error.
  void remove_upload(std::string_view upload_id) const;

 private:
  std::filesystem::path root_;
};

// Writes all of `bytes` to `file`. Errors: "io_error".
[[nodiscard]] Status write_all(const FileDescriptor& file, std::string_view bytes);
// fsync. Errors: "io_error".
[[nodiscard]] Status sync_file(const FileDescriptor& file);
// SHA-256 of a whole file, read a buffer at a time. Errors: "io_error".
Result<crypto::Sha256Digest> sha256_of_file(const std::filesystem::path& path);

}  // namespace casefile::server
