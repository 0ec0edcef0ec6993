// SqlCipherControlStore: the ControlStore in its own SQLCipher file,
// control.db in the instance directory, keyed with the instance database key
// (docs/security.md). casefiled and casefile-admin open it at the same time:
// WAL lets readers run beside one writer, and writers queue on SQLite's lock
// (BEGIN IMMEDIATE with a busy timeout), so no state lives in one process.
//
// One connection a process, behind a mutex: the control store sees a few
// writes a sign-in and one read a request.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "crypto/secret_bytes.hpp"
#include "schema/database.hpp"
#include "server/access/control_store.hpp"
#include "server/instance.hpp"

namespace casefile::server {

inline std::filesystem::path control_database_path(const InstanceLayout& layout) {
  return layout.root / "control.db";
}

class SqlCipherControlStore final : public ControlStore {
 public:
  // Opens or creates the file and applies the control migrations. Errors:
  // schema::Database::open's ("wrong_key", "invalid_key", "corrupt", ...),
  // "schema_too_new", the migrations' errors.
  static Result<std::unique_ptr<SqlCipherControlStore>> open(const std::filesystem::path& path,
                                                             const crypto::SecretBytes& database_key);
  // The instance's control.db under its database.key. Errors: open's, and
  // "corrupt_instance" / "io_error" for the key file.
  static Result<std::unique_ptr<SqlCipherControlStore>> open_in_instance(const std::filesystem::path& root);

  Status add_user(const UserRecord& user, const AuditEvent& audit) override;
  Result<std::optional<UserRecord>> find_user(std::string_view name) override;
  Result<std::vector<UserRecord>> list_users() override;
  Status set_user_disabled(std::string_view name, bool disabled, const AuditEvent& audit) override;

  Status add_enrolment_code(const crypto::Sha256Digest& code_hash, std::string_view user,
                            std::int64_t expires_at_ms, const AuditEvent& audit) override;
  Result<DeviceRecord> enrol_device(const crypto::Sha256Digest& code_hash, std::int64_t now_ms,
                                    DeviceRecord device, AuditEvent audit) override;

  Result<std::optional<DeviceRecord>> find_device(const sync::DeviceId& device) override;
  Result<std::vector<DeviceRecord>> list_devices() override;
  Status certify_device(const sync::DeviceId& device, crypto::ByteView certificate,
                        const AuditEvent& audit) override;
  Status revoke_device(const sync::DeviceId& device, crypto::ByteView wipe_order,
                       const AuditEvent& audit) override;

  Status add_challenge(const sync::DeviceId& device, crypto::ByteView challenge,
                       std::int64_t expires_at_ms) override;
  Status redeem_challenge(const sync::DeviceId& device, crypto::ByteView challenge, std::int64_t now_ms,
                          const crypto::Sha256Digest& token_hash, std::int64_t token_expires_at_ms,
                          const AuditEvent& audit) override;
  Result<std::optional<TokenRecord>> find_token(const crypto::Sha256Digest& token_hash) override;
  Result<std::int64_t> delete_expired(std::int64_t now_ms) override;

  Status create_case(const sync::CaseId& case_id, std::string_view first_member,
                     const AuditEvent& audit) override;
  Result<bool> case_exists(const sync::CaseId& case_id) override;
  Status add_case_member(const sync::CaseId& case_id, std::string_view user,
                         const AuditEvent& audit) override;
  Status remove_case_member(const sync::CaseId& case_id, std::string_view user,
                            const AuditEvent& audit) override;
  Result<std::vector<std::string>> case_members(const sync::CaseId& case_id) override;
  Result<std::vector<sync::CaseId>> cases_of_user(std::string_view user) override;
  Result<std::vector<CaseMembers>> list_cases() override;

  Status append_audit(const AuditEvent& audit) override;
  Result<std::vector<AuditEntry>> query_audit(const AuditQuery& query) override;
  Result<AuditChainReport> verify_audit_chain() override;

  // Re-encrypts the file under `new_key` (schema::Database::rekey) on the
  // store's one connection; calls wait on the store's mutex meanwhile, and
  // the connection carries on under the new key. REQUIRES: no other
  // connection to the file is open (casefile-admin's included).
  [[nodiscard]] Status rekey(const crypto::SecretBytes& new_key);

 private:
  explicit SqlCipherControlStore(schema::Database database) : database_(std::move(database)) {}

  std::mutex mutex_;
  schema::Database database_;  // GUARDED_BY(mutex_)
};

}  // namespace casefile::server
