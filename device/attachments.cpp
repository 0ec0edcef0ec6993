#include "device/attachments.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "base/file_descriptor.hpp"
#include "crypto/hash.hpp"
#include "crypto/random.hpp"
#include "crypto/segmented_stream.hpp"
#include "device/internal/attachment_outbox.hpp"
#include "device/internal/random_uuid.hpp"
#include "device/internal/server_reply.hpp"

namespace casefile::device {
namespace {

constexpr std::size_t kPieceBytes = 1024 * 1024;  // plaintext or ciphertext read at once
constexpr std::size_t kOutboxScanPage = 1000;
constexpr std::string_view kTusVersion = "1.0.0";
constexpr std::string_view kCiphertextSuffix = ".cfss";
constexpr std::string_view kDownloadSuffix = ".download";
// A download that makes no progress this many times in a row gives up.
constexpr int kDownloadStalls = 3;

Error io_error(const std::string& what) {
  return make_error("io_error", what + ": " + std::error_code(errno, std::generic_category()).message());
}

std::filesystem::path attachments_directory(const FieldDevice& device) {
  return device.directory() / "attachments";
}

std::filesystem::path with_suffix(std::filesystem::path path, std::string_view suffix) {
  path += std::string(suffix);
  return path;
}

std::string associated_data(const sync::RecordKey& record) {
  return sync::to_text(record.case_id) + "\n" + sync::to_text(record.record_id);
}

// RFC 4648 §4 base64 with padding, as tus metadata and Upload-Checksum use.
std::string base64(crypto::ByteView bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                                     static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(length));
  return text;
}

Status write_all(int descriptor, crypto::ByteView bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t wrote = ::write(descriptor, bytes.data() + written, bytes.size() - written);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return io_error("cannot write");
    written += static_cast<std::size_t>(wrote);
  }
  return ok_status();
}

// Reads up to `buffer.size()` bytes; 0 at the end of the file.
Result<std::size_t> read_some(int descriptor, std::span<std::uint8_t> buffer) {
  while (true) {
    const ssize_t got = ::read(descriptor, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return io_error("cannot read");
    return static_cast<std::size_t>(got);
  }
}

Status sync_directory(std::filesystem::path directory) {
  if (directory.empty()) directory = ".";
  FileDescriptor handle(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (handle.get() < 0 || ::fsync(handle.get()) != 0) return io_error("cannot sync " + directory.string());
  return ok_status();
}

// fsync, close, rename over `target`, fsync the directory.
Status publish(FileDescriptor& written, const std::filesystem::path& temporary,
               const std::filesystem::path& target) {
  if (::fsync(written.get()) != 0 || !written.close()) return io_error("cannot write " + temporary.string());
  if (::rename(temporary.c_str(), target.c_str()) != 0)
    return io_error("cannot rename " + temporary.string());
  return sync_directory(target.parent_path());
}

void remove_quietly(const std::filesystem::path& path) {
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

struct SealedFile {
  std::uint64_t size_bytes = 0;
  crypto::Sha256Digest sha256{};
};

// Encrypts `plaintext` into `target` (through a temporary beside it),
// hashing the ciphertext as it is written.
Result<SealedFile> seal_file(const std::filesystem::path& plaintext, const crypto::SecretBytes& key,
                             const sync::RecordKey& record, const std::filesystem::path& target) {
  FileDescriptor input(::open(plaintext.c_str(), O_RDONLY | O_CLOEXEC));
  if (input.get() < 0) return io_error("cannot open " + plaintext.string());
  struct stat info {};
  if (::fstat(input.get(), &info) != 0) return io_error("cannot read " + plaintext.string());
  if (!S_ISREG(info.st_mode))
    return make_error("invalid_argument", plaintext.string() + " is not a regular file");
  const std::filesystem::path temporary = with_suffix(target, ".tmp");
  FileDescriptor output(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (output.get() < 0) return io_error("cannot create " + temporary.string());
  auto sealed = [&]() -> Result<SealedFile> {
    const std::string bound = associated_data(record);
    auto encryptor = crypto::StreamEncryptor::start(key.view(), kAttachmentPurpose, crypto::as_bytes(bound));
    if (!encryptor.ok()) return std::move(encryptor).error();
    crypto::Sha256 hash;
    SealedFile result;
    auto emit = [&](const crypto::Bytes& ciphertext) -> Status {
      hash.update(ciphertext);
      result.size_bytes += ciphertext.size();
      return write_all(output.get(), ciphertext);
    };
    crypto::SecretBytes piece(kPieceBytes);
    while (true) {
      auto got = read_some(input.get(), piece.span());
      if (!got.ok()) return std::move(got).error();
      if (*got == 0) break;
      auto ciphertext = encryptor->write(crypto::ByteView(piece.data(), *got));
      if (!ciphertext.ok()) return std::move(ciphertext).error();
      CASEFILE_RETURN_IF_ERROR(emit(*ciphertext));
    }
    auto last = encryptor->finish();
    if (!last.ok()) return std::move(last).error();
    CASEFILE_RETURN_IF_ERROR(emit(*last));
    CASEFILE_RETURN_IF_ERROR(publish(output, temporary, target));
    result.sha256 = hash.finish();
    return result;
  }();
  if (!sealed.ok()) remove_quietly(temporary);
  return sealed;
}

// SHA-256 of `length` bytes of `path` from `offset`, read piece by piece.
Result<crypto::Sha256Digest> hash_file_part(const std::filesystem::path& path, std::uint64_t offset,
                                            std::uint64_t length) {
  FileDescriptor input(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (input.get() < 0) return io_error("cannot open " + path.string());
  crypto::Sha256 hash;
  std::vector<std::uint8_t> piece(kPieceBytes);
  std::uint64_t done = 0;
  while (done < length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), length - done));
    const ssize_t got = ::pread(input.get(), piece.data(), want, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return io_error("cannot read " + path.string());
    hash.update(crypto::ByteView(piece.data(), static_cast<std::size_t>(got)));
    done += static_cast<std::uint64_t>(got);
  }
  return hash.finish();
}

std::optional<std::uint64_t> parse_offset(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

// The records that still have a change in the record outbox.
Result<std::set<sync::RecordKey>> records_in_outbox(FieldDevice& device) {
  std::set<sync::RecordKey> records;
  std::uint64_t after = 0;
  while (true) {
    auto outbox = device.store().read_outbox(after, kOutboxScanPage);
    if (!outbox.ok()) return std::move(outbox).error();
    for (const sync::Change& change : *outbox) records.insert(change.record);
    if (outbox->size() < kOutboxScanPage) break;
    after = outbox->back().id.sequence;
  }
  return records;
}

// Refusals that no retry can change: the upload is quarantined.
bool refused_for_good(const std::string& code) {
  return code == "attachment_checksum_mismatch" || code == "upload_length_mismatch" ||
         code == "upload_too_large";
}

bool transport_failure(const std::string& code) {
  return code == "connect_failed" || code == "timeout" || code == "connection_lost" || code == "tls_failed" ||
         code == "bad_response" || code == "pin_mismatch";
}

HttpsRequest tus_request(std::string method, std::string target) {
  HttpsRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.headers.emplace_back("Tus-Resumable", std::string(kTusVersion));
  return request;
}

// What one attachment's upload came to.
enum class UploadOutcome { uploaded, failed, quarantined, stop_pass };

class Uploader {
 public:
  Uploader(FieldDevice& device, const AuthenticatedSender& send, const AttachmentProgressCallback& progress,
           const AttachmentUploadOptions& options, AttachmentUploadReport& report)
      : device_(device), send_(send), progress_(progress), options_(options), report_(report) {}

  // Errors: only those that stop the sync (see upload_pending_attachments).
  Result<UploadOutcome> upload(const AttachmentStatus& attachment) {
    auto outcome = try_upload(attachment);
    if (outcome.ok()) return outcome;
    const Error failure = outcome.error();
    if (failure.code == "device_wiped" || failure.code == "store_unavailable") return failure;
    if (refused_for_good(failure.code)) {
      CASEFILE_RETURN_IF_ERROR(
          internal::quarantine_attachment(database(), attachment.record.record_id, failure));
      return UploadOutcome::quarantined;
    }
    CASEFILE_RETURN_IF_ERROR(
        internal::record_attachment_failure(database(), attachment.record.record_id, failure));
    return transport_failure(failure.code) ? UploadOutcome::stop_pass : UploadOutcome::failed;
  }

 private:
  schema::Database& database() { return device_.store().database(); }

  Result<UploadOutcome> try_upload(const AttachmentStatus& attachment) {
    const sync::RecordId& record_id = attachment.record.record_id;
    const std::filesystem::path ciphertext = attachment_ciphertext_path(device_, record_id);
    std::error_code size_error;
    const std::uint64_t on_disk = std::filesystem::file_size(ciphertext, size_error);
    if (size_error || on_disk != attachment.size_bytes) {
      return make_error("attachment_file_missing", "the attachment's ciphertext file is missing or changed");
    }
    std::optional<std::string> url = attachment.upload_url;
    std::uint64_t offset = attachment.uploaded_bytes;
    bool created_this_pass = false;
    int busy_waits = 0;
    while (true) {
      if (!url) {
        auto created = create_upload(attachment);
        if (!created.ok()) {
          if (created.error().code != "attachment_already_stored") return std::move(created).error();
          CASEFILE_RETURN_IF_ERROR(internal::mark_attachment_uploaded(database(), record_id));
          return UploadOutcome::uploaded;
        }
        url = created->first;
        offset = created->second;
        created_this_pass = true;
        CASEFILE_RETURN_IF_ERROR(internal::store_upload_position(database(), record_id, url, offset));
      } else {
        auto asked = ask_offset(*url);
        if (!asked.ok()) {
          const std::string& code = asked.error().code;
          if ((code == "upload_not_found" || code == "upload_expired") && !created_this_pass) {
            // Expired, or completed by a PATCH whose answer was lost: create again
            // (the server answers attachment_already_stored for the latter).
            url.reset();
            CASEFILE_RETURN_IF_ERROR(internal::store_upload_position(database(), record_id, std::nullopt, 0));
            continue;
          }
          return std::move(asked).error();
        }
        offset = *asked;
      }
      if (offset > attachment.size_bytes)
        return make_error("bad_response", "the upload offset is past its end");
      CASEFILE_RETURN_IF_ERROR(internal::store_upload_position(database(), record_id, url, offset));
      report(record_id, offset, attachment.size_bytes);
      auto sent = send_chunks(attachment, ciphertext, *url, offset);
      if (!sent.ok()) {
        if (sent.error().code == "upload_offset_mismatch") continue;  // HEAD again
        if (sent.error().code == "upload_busy" && busy_waits < options_.busy_retries) {
          ++busy_waits;
          std::this_thread::sleep_for(options_.busy_wait);
          continue;
        }
        if ((sent.error().code == "upload_not_found" || sent.error().code == "upload_expired") &&
            !created_this_pass) {
          url.reset();
          CASEFILE_RETURN_IF_ERROR(internal::store_upload_position(database(), record_id, std::nullopt, 0));
          continue;
        }
        return std::move(sent).error();
      }
      CASEFILE_RETURN_IF_ERROR(internal::mark_attachment_uploaded(database(), record_id));
      return UploadOutcome::uploaded;
    }
  }

  // POST /v1/uploads: the upload's URL and offset.
  Result<std::pair<std::string, std::uint64_t>> create_upload(const AttachmentStatus& attachment) {
    HttpsRequest request = tus_request("POST", "/v1/uploads");
    request.headers.emplace_back("Upload-Length", std::to_string(attachment.size_bytes));
    const std::string case_text = sync::to_text(attachment.record.case_id);
    const std::string record_text = sync::to_text(attachment.record.record_id);
    request.headers.emplace_back("Upload-Metadata", "case_id " + base64(crypto::as_bytes(case_text)) +
                                                        ",record_id " +
                                                        base64(crypto::as_bytes(record_text)));
    auto response = send_(request);
    if (!response.ok()) return std::move(response).error();
    if (response->status != 201) return internal::server_refusal(*response);
    auto location = response->header("Location");
    if (!location || location->empty() || location->front() != '/' ||
        location->find_first_of(" \r\n") != std::string::npos) {
      return make_error("bad_response", "the upload has no usable Location");
    }
    const auto offset = parse_offset(response->header("Upload-Offset"));
    return std::make_pair(*location, offset.value_or(0));
  }

  // HEAD: the offset the server holds.
  Result<std::uint64_t> ask_offset(const std::string& url) {
    auto response = send_(tus_request("HEAD", url));
    if (!response.ok()) return std::move(response).error();
    if (response->status != 200) return internal::server_refusal(*response);
    const auto offset = parse_offset(response->header("Upload-Offset"));
    if (!offset) return make_error("bad_response", "HEAD gave no Upload-Offset");
    return *offset;
  }

  // PATCHes from `offset` to the end, storing each acknowledged offset.
  Status send_chunks(const AttachmentStatus& attachment, const std::filesystem::path& ciphertext,
                     const std::string& url, std::uint64_t offset) {
    const sync::RecordId& record_id = attachment.record.record_id;
    while (offset < attachment.size_bytes) {
      const std::uint64_t length = std::min(options_.chunk_bytes, attachment.size_bytes - offset);
      auto checksum = hash_file_part(ciphertext, offset, length);
      if (!checksum.ok()) return std::move(checksum).error();
      HttpsRequest request = tus_request("PATCH", url);
      request.headers.emplace_back("Content-Type", "application/offset+octet-stream");
      request.headers.emplace_back("Upload-Offset", std::to_string(offset));
      request.headers.emplace_back("Upload-Checksum", "sha256 " + base64(*checksum));
      request.body_file = FileSlice{ciphertext, offset, length};
      auto response = send_(request);
      if (!response.ok()) return std::move(response).error();
      if (response->status != 204) return internal::server_refusal(*response);
      const auto acknowledged = parse_offset(response->header("Upload-Offset"));
      if (!acknowledged || *acknowledged <= offset || *acknowledged > attachment.size_bytes) {
        return make_error("bad_response", "the PATCH answer's Upload-Offset does not follow the chunk");
      }
      report_.bytes_sent += *acknowledged - offset;
      offset = *acknowledged;
      CASEFILE_RETURN_IF_ERROR(internal::store_upload_position(database(), record_id, url, offset));
      report(record_id, offset, attachment.size_bytes);
    }
    return ok_status();
  }

  void report(const sync::RecordId& record_id, std::uint64_t done, std::uint64_t total) {
    if (progress_) progress_(AttachmentProgress{record_id, done, total});
  }

  FieldDevice& device_;
  const AuthenticatedSender& send_;
  const AttachmentProgressCallback& progress_;
  const AttachmentUploadOptions& options_;
  AttachmentUploadReport& report_;
};

const FieldRead* find_field(const RecordRead& record, std::string_view name) {
  for (const FieldRead& field : record.fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

// What fetch needs from an attachments record.
struct AttachmentFacts {
  std::uint64_t size_bytes = 0;
  crypto::Bytes sha256;
  crypto::SecretBytes content_key;
};

Result<AttachmentFacts> attachment_facts(FieldDevice& device, const sync::RecordKey& record) {
  if (record.collection != kAttachmentsCollection)
    return make_error("not_an_attachment", "the record is not in the attachments collection");
  auto read = device.read(record);
  if (!read.ok()) return std::move(read).error();
  AttachmentFacts facts;
  const FieldRead* size = find_field(*read, "size_bytes");
  const FieldRead* digest = find_field(*read, "ciphertext_sha256");
  const FieldRead* key = find_field(*read, "content_key");
  const auto* size_value = size == nullptr ? nullptr : std::get_if<std::int64_t>(&size->winner.value);
  const auto* digest_value = digest == nullptr ? nullptr : std::get_if<std::string>(&digest->winner.value);
  if (size_value == nullptr || *size_value < 0 || digest_value == nullptr ||
      !crypto::from_hex(*digest_value, facts.sha256) || facts.sha256.size() != crypto::kSha256Size) {
    return make_error("not_an_attachment", "the record has no ciphertext size and digest");
  }
  facts.size_bytes = static_cast<std::uint64_t>(*size_value);
  const auto* key_value = key == nullptr ? nullptr : std::get_if<std::string>(&key->winner.value);
  crypto::Bytes key_bytes;
  const bool readable = key_value != nullptr && key->winner.unreadable.empty() &&
                        crypto::from_hex(*key_value, key_bytes) && key_bytes.size() == 32;
  if (readable) facts.content_key = crypto::SecretBytes(key_bytes);
  OPENSSL_cleanse(key_bytes.data(), key_bytes.size());
  if (!readable) {
    return make_error("attachment_key_unreadable",
                      key != nullptr && !key->winner.unreadable.empty()
                          ? "the content key does not open here (" + key->winner.unreadable + ")"
                          : "the record holds no content key");
  }
  return facts;
}

// Downloads into `partial` until it holds `size` bytes.
Status download(const AuthenticatedSender& send, const sync::RecordKey& record, std::uint64_t size,
                const std::filesystem::path& partial, const AttachmentProgressCallback& progress) {
  const std::string target =
      "/v1/cases/" + sync::to_text(record.case_id) + "/attachments/" + sync::to_text(record.record_id);
  int stalls = 0;
  bool restarted = false;
  while (true) {
    std::error_code size_error;
    std::uint64_t have =
        std::filesystem::exists(partial) ? std::filesystem::file_size(partial, size_error) : 0;
    if (size_error) return make_error("io_error", "cannot read " + partial.string());
    if (have > size) {
      remove_quietly(partial);
      have = 0;
    }
    if (progress) progress(AttachmentProgress{record.record_id, have, size});
    if (have == size && size > 0) return ok_status();
    HttpsRequest request;
    request.method = "GET";
    request.target = target;
    if (have > 0) request.headers.emplace_back("Range", "bytes=" + std::to_string(have) + "-");
    request.response_file = partial;
    request.response_file_offset = have;
    request.response_file_limit = size;
    auto response = send(request);
    if (!response.ok()) {
      if (!transport_failure(response.error().code) || response.error().code == "pin_mismatch") {
        return std::move(response).error();
      }
      // Cut in the middle: whatever arrived is kept; ask for the rest.
      std::error_code ignored;
      const std::uint64_t now =
          std::filesystem::exists(partial) ? std::filesystem::file_size(partial, ignored) : 0;
      stalls = now > have ? 0 : stalls + 1;
      if (stalls >= kDownloadStalls) return std::move(response).error();
      continue;
    }
    if (response->status == 416 && !restarted) {
      restarted = true;  // the partial file is not a prefix of the stored content
      remove_quietly(partial);
      continue;
    }
    if (response->status != 200 && response->status != 206) return internal::server_refusal(*response);
    if (size == 0) return ok_status();
    stalls = response->file_bytes > 0 ? 0 : stalls + 1;
    if (stalls >= kDownloadStalls) return make_error("bad_response", "the download makes no progress");
  }
}

}  // namespace

std::string_view attachment_state_name(AttachmentState state) {
  switch (state) {
    case AttachmentState::pending:
      return "pending";
    case AttachmentState::uploaded:
      return "uploaded";
    case AttachmentState::quarantined:
      return "quarantined";
  }
  return "unknown";
}

std::filesystem::path attachment_ciphertext_path(const FieldDevice& device, const sync::RecordId& record_id) {
  return with_suffix(attachments_directory(device) / sync::to_text(record_id), kCiphertextSuffix);
}

Result<sync::RecordKey> add_attachment(FieldDevice& device, const AttachmentInput& input,
                                       std::int64_t now_ms) {
  auto record_id = internal::random_uuid_v4<sync::RecordId>();
  if (!record_id.ok()) return std::move(record_id).error();
  const sync::RecordKey record{input.case_id, std::string(kAttachmentsCollection), *record_id};
  std::error_code made_error;
  std::filesystem::create_directories(attachments_directory(device), made_error);
  if (made_error) return make_error("io_error", "cannot create " + attachments_directory(device).string());
  auto key = crypto::random_secret(32);
  if (!key.ok()) return std::move(key).error();
  const std::filesystem::path ciphertext = attachment_ciphertext_path(device, *record_id);
  auto sealed = seal_file(input.file, *key, record, ciphertext);
  if (!sealed.ok()) return std::move(sealed).error();

  PlainFields fields{
      {"size_bytes", static_cast<std::int64_t>(sealed->size_bytes)},
      {"media_category", input.media_category},
      {"ciphertext_sha256", crypto::to_hex(sealed->sha256)},
      {"content_key", crypto::to_hex(key->view())},
  };
  if (input.file_name) fields["file_name"] = *input.file_name;
  if (input.description) fields["description"] = *input.description;
  if (input.duration_seconds) fields["duration_seconds"] = *input.duration_seconds;
  auto written = device.create_record_with(record, fields, now_ms, [&]() -> Status {
    return internal::enqueue_attachment(device.store().database(), record.case_id, record.record_id,
                                        sealed->size_bytes);
  });
  std::string& key_text = std::get<std::string>(fields["content_key"]);
  OPENSSL_cleanse(key_text.data(), key_text.size());
  if (!written.ok()) remove_quietly(ciphertext);
  return written;
}

Result<std::vector<AttachmentStatus>> list_attachments(FieldDevice& device,
                                                       std::optional<sync::CaseId> case_id) {
  return internal::read_attachment_outbox(device.store().database(), case_id);
}

Result<AttachmentUploadReport> upload_pending_attachments(FieldDevice& device,
                                                          const AuthenticatedSender& send,
                                                          const AttachmentProgressCallback& progress,
                                                          const AttachmentUploadOptions& options) {
  if (options.chunk_bytes == 0) return make_error("invalid_argument", "the chunk size must be positive");
  AttachmentUploadReport report;
  auto attachments = list_attachments(device);
  if (!attachments.ok()) return std::move(attachments).error();
  auto waiting_records = records_in_outbox(device);
  if (!waiting_records.ok()) return std::move(waiting_records).error();
  Uploader uploader(device, send, progress, options, report);
  for (const AttachmentStatus& attachment : *attachments) {
    if (attachment.state != AttachmentState::pending) continue;
    if (waiting_records->contains(attachment.record)) {
      ++report.waiting;
      continue;
    }
    auto outcome = uploader.upload(attachment);
    if (!outcome.ok()) return std::move(outcome).error();
    switch (*outcome) {
      case UploadOutcome::uploaded:
        ++report.uploaded;
        break;
      case UploadOutcome::quarantined:
        ++report.quarantined;
        break;
      case UploadOutcome::failed:
        ++report.failed;
        break;
      case UploadOutcome::stop_pass:
        ++report.failed;
        return report;
    }
  }
  return report;
}

Status fetch_attachment(FieldDevice& device, const AuthenticatedSender& send, const sync::RecordKey& record,
                        const std::filesystem::path& output, const AttachmentProgressCallback& progress) {
  auto facts = attachment_facts(device, record);
  if (!facts.ok()) return std::move(facts).error();
  std::error_code made_error;
  std::filesystem::create_directories(attachments_directory(device), made_error);
  if (made_error) return make_error("io_error", "cannot create " + attachments_directory(device).string());
  const std::filesystem::path partial =
      with_suffix(attachments_directory(device) / sync::to_text(record.record_id), kDownloadSuffix);
  CASEFILE_RETURN_IF_ERROR(download(send, record, facts->size_bytes, partial, progress));
  auto digest = hash_file_part(partial, 0, facts->size_bytes);
  if (!digest.ok()) return std::move(digest).error();
  if (!std::equal(digest->begin(), digest->end(), facts->sha256.begin(), facts->sha256.end())) {
    remove_quietly(partial);
    return make_error("attachment_checksum_mismatch",
                      "the downloaded ciphertext's SHA-256 is not the record's ciphertext_sha256");
  }
  auto decrypted = decrypt_attachment_file(partial, facts->content_key, record, output);
  remove_quietly(partial);
  return decrypted;
}

Status decrypt_attachment_file(const std::filesystem::path& ciphertext,
                               const crypto::SecretBytes& content_key, const sync::RecordKey& record,
                               const std::filesystem::path& output) {
  FileDescriptor input(::open(ciphertext.c_str(), O_RDONLY | O_CLOEXEC));
  if (input.get() < 0) return io_error("cannot open " + ciphertext.string());
  const std::filesystem::path temporary = with_suffix(output, ".partial");
  FileDescriptor written(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (written.get() < 0) return io_error("cannot create " + temporary.string());
  auto decrypt = [&]() -> Status {
    const std::string bound = associated_data(record);
    auto decryptor =
        crypto::StreamDecryptor::start(content_key.view(), kAttachmentPurpose, crypto::as_bytes(bound));
    if (!decryptor.ok()) return std::move(decryptor).error();
    std::vector<std::uint8_t> piece(kPieceBytes);
    while (true) {
      auto got = read_some(input.get(), piece);
      if (!got.ok()) return std::move(got).error();
      if (*got == 0) break;
      auto plaintext = decryptor->write(crypto::ByteView(piece.data(), *got));
      if (!plaintext.ok()) return std::move(plaintext).error();
      CASEFILE_RETURN_IF_ERROR(write_all(written.get(), plaintext->view()));
    }
    auto last = decryptor->finish();
    if (!last.ok()) return std::move(last).error();
    CASEFILE_RETURN_IF_ERROR(write_all(written.get(), last->view()));
    return publish(written, temporary, output);
  };
  Status done = decrypt();
  if (!done.ok()) remove_quietly(temporary);
  return done;
}

}  // namespace casefile::device
