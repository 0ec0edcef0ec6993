// PostgresControlStore: the ControlStore (control_store.hpp) on the
// PostgreSQL database that PostgresServerStore uses, so that several
// casefiled instances share users, devices, enrolment codes, challenges,
// tokens, cases, memberships and the audit log (docs/scale.md). Same contract
// as SqlCipherControlStore; one conformance suite runs both.
//
// It lives in server/access beside the interface it implements, in a library
// of its own (casefile_postgres_control_store) above casefile_server_access
// and casefile_postgres_server_store, so that only what uses PostgreSQL links
// libpq and dependencies still point down.
//
// Concurrency across instances: every audit append locks the one row of
// audit_head (SELECT ... FOR UPDATE) inside the mutation's transaction, so
// appends run one at a time and the hash chain cannot fork; check-then-write
// mutations lock the row they check (FOR UPDATE) or lean on a unique key.
//
// Errors: the interface's, "store_unavailable" (the database failed or
// cannot be reached; never names the connection string), "corrupt" (a row
// does not decode), and at open "schema_too_new".
#pragma once

#include <memory>
#include <string_view>

#include "server/access/control_store.hpp"

namespace casefile::server {

namespace postgres {
class ConnectionPool;
}  // namespace postgres

class PostgresControlStore final : public ControlStore {
 public:
  // Connects, applies the PostgreSQL migrations and opens a pool of at most
  // `connections`. Errors: "store_unavailable", "schema_too_new".
  static Result<std::unique_ptr<PostgresControlStore>> open(std::string_view connection_string,
                                                            std::size_t connections = 2);
  ~PostgresControlStore() override;
  PostgresControlStore(const PostgresControlStore&) = delete;
  PostgresControlStore& operator=(const PostgresControlStore&) = delete;

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

 private:
  explicit PostgresControlStore(std::unique_ptr<postgres::ConnectionPool> pool);

  std::unique_ptr<postgres::ConnectionPool> pool_;
};

}  // namespace casefile::server
