#include "server/access/postgres_control_store.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "crypto/secret_bytes.hpp"
#include "server/access/audit_chain.hpp"
#include "server/store/postgres_connection.hpp"
#include "server/store/postgres_schema_migrations.hpp"

namespace casefile::server {
namespace {

using postgres::Connection;
using postgres::Parameters;
using postgres::QueryResult;

#define PG_ASSIGN_OR_RETURN(name, expr)                             \
  auto name##_result = (expr);                                      \
  if (!name##_result.ok()) return std::move(name##_result).error(); \
  auto name = std::move(*name##_result)

// The interface's own codes pass; anything else is the database failing.
Error control_error(Error error) {
  static const std::set<std::string, std::less<>> kInterfaceCodes = {"user_exists",
                                                                     "user_unknown",
                                                                     "user_disabled",
                                                                     "enrolment_code_invalid",
                                                                     "device_exists",
                                                                     "device_unknown",
                                                                     "device_not_pending",
                                                                     "device_revoked",
                                                                     "challenge_invalid",
                                                                     "case_exists",
                                                                     "case_unknown",
                                                                     "already_member",
                                                                     "not_member",
                                                                     "case_last_member",
                                                                     "audit_chain_broken",
                                                                     "invalid_argument",
                                                                     "corrupt"};
  if (kInterfaceCodes.count(error.code) != 0) return error;
  return make_error("store_unavailable", "the control store failed: " + error.code + ": " + error.message);
}

template <typename Body>
auto with_connection(postgres::ConnectionPool& pool, Body&& body)
    -> decltype(body(std::declval<Connection&>())) {
  auto lease = pool.acquire();
  if (!lease.ok()) return control_error(std::move(lease).error());
  auto result = body(lease->connection());
  if (!result.ok()) return control_error(std::move(result).error());
  return result;
}

template <typename Tag>
crypto::ByteView id_bytes(const sync::Id128<Tag>& id) {
  return {id.bytes.data(), id.bytes.size()};
}

template <std::size_t N>
bool copy_fixed(const crypto::Bytes& from, std::array<std::uint8_t, N>& to) {
  if (from.size() != N) return false;
  std::copy(from.begin(), from.end(), to.begin());
  return true;
}

Result<DeviceState> parse_state(std::string_view text) {
  if (text == "pending") return DeviceState::pending;
  if (text == "certified") return DeviceState::certified;
  if (text == "revoked") return DeviceState::revoked;
  return make_error("corrupt", "unknown device state in the control store");
}

Status run(Connection& connection, std::string_view sql, const Parameters& parameters) {
  auto done = connection.execute(sql, parameters);
  if (!done.ok()) return std::move(done).error();
  return ok_status();
}

// The rows a statement touched. Errors: the statement's.
Result<std::uint64_t> affected(Connection& connection, std::string_view sql, const Parameters& parameters) {
  auto done = connection.execute(sql, parameters);
  if (!done.ok()) return std::move(done).error();
  return done->affected_rows();
}

// REQUIRES: inside a transaction on `connection`. Locks audit_head to the
// end of the transaction, so that appends from every instance form one chain.
Status append_audit_entry(Connection& connection, const AuditEvent& event) {
  PG_ASSIGN_OR_RETURN(
      head,
      connection.execute("SELECT last_sequence, last_hash FROM audit_head WHERE singleton = 1 FOR UPDATE"));
  if (head.rows() != 1) return make_error("corrupt", "audit_head holds no row");
  PG_ASSIGN_OR_RETURN(last_sequence, head.int64(0, 0));
  crypto::Sha256Digest previous{};
  if (!copy_fixed(head.bytes(0, 1), previous)) return make_error("corrupt", "malformed audit head hash");
  PG_ASSIGN_OR_RETURN(entry, next_audit_entry(event, last_sequence, previous));
  CASEFILE_RETURN_IF_ERROR(run(connection,
                               "INSERT INTO audit_log (sequence, time, actor, event, subject, details, hash) "
                               "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                               Parameters()
                                   .int64(entry.sequence)
                                   .int64(entry.time_ms)
                                   .text(entry.actor)
                                   .text(entry.event)
                                   .text(entry.subject)
                                   .text(entry.details_json)
                                   .bytes(entry.hash)));
  return run(connection, "UPDATE audit_head SET last_sequence = $1, last_hash = $2 WHERE singleton = 1",
             Parameters().int64(entry.sequence).bytes(entry.hash));
}

// Begins a transaction, runs `mutate`, appends `audit` and commits: all or nothing.
template <typename Mutate>
Status mutate_with_audit(postgres::ConnectionPool& pool, const AuditEvent& audit, Mutate&& mutate) {
  return with_connection(pool, [&](Connection& connection) -> Status {
    return postgres::in_transaction(connection, "BEGIN", [&]() -> Status {
      CASEFILE_RETURN_IF_ERROR(mutate(connection));
      return append_audit_entry(connection, audit);
    });
  });
}

Result<bool> row_exists(Connection& connection, std::string_view sql, const Parameters& parameters) {
  PG_ASSIGN_OR_RETURN(found, connection.execute(sql, parameters));
  return found.rows() > 0;
}

Result<UserRecord> read_user(const QueryResult& rows, int row) {
  UserRecord user;
  user.name = rows.text(row, 0);
  auto role = parse_role(rows.text(row, 1));
  if (!role.ok()) return make_error("corrupt", "unknown role in the control store");
  user.role = *role;
  PG_ASSIGN_OR_RETURN(disabled, rows.int64(row, 2));
  PG_ASSIGN_OR_RETURN(created_at, rows.int64(row, 3));
  user.disabled = disabled != 0;
  user.created_at_ms = created_at;
  return user;
}

constexpr std::string_view kDeviceColumns =
    "id, user_name, signing_key, wrapping_key, state, enrolled_at, certificate, wipe_order";

Result<DeviceRecord> read_device(const QueryResult& rows, int row) {
  DeviceRecord device;
  PG_ASSIGN_OR_RETURN(state, parse_state(rows.text(row, 4)));
  if (!copy_fixed(rows.bytes(row, 0), device.id.bytes) ||
      !copy_fixed(rows.bytes(row, 2), device.signing_public_key) ||
      !copy_fixed(rows.bytes(row, 3), device.wrapping_public_key)) {
    return make_error("corrupt", "malformed device row");
  }
  device.user = rows.text(row, 1);
  device.state = state;
  PG_ASSIGN_OR_RETURN(enrolled_at, rows.int64(row, 5));
  device.enrolled_at_ms = enrolled_at;
  if (!rows.is_null(row, 6)) device.certificate = rows.bytes(row, 6);
  if (!rows.is_null(row, 7)) device.wipe_order = rows.bytes(row, 7);
  return device;
}

constexpr std::string_view kAuditColumns = "sequence, time, actor, event, subject, details, hash";

Result<AuditEntry> read_audit_entry(const QueryResult& rows, int row) {
  AuditEntry entry;
  PG_ASSIGN_OR_RETURN(sequence, rows.int64(row, 0));
  PG_ASSIGN_OR_RETURN(time, rows.int64(row, 1));
  entry.sequence = sequence;
  entry.time_ms = time;
  entry.actor = rows.text(row, 2);
  entry.event = rows.text(row, 3);
  entry.subject = rows.text(row, 4);
  entry.details_json = rows.text(row, 5);
  if (!copy_fixed(rows.bytes(row, 6), entry.hash)) return make_error("corrupt", "malformed audit hash");
  return entry;
}

template <typename T, typename Read>
Result<std::vector<T>> read_rows(const QueryResult& rows, Read&& read) {
  std::vector<T> values;
  for (int row = 0; row < rows.rows(); ++row) {
    PG_ASSIGN_OR_RETURN(value, read(rows, row));
    values.push_back(std::move(value));
  }
  return values;
}

// The device's state, its row locked to the end of the transaction.
Result<std::string> lock_device_state(Connection& connection, const sync::DeviceId& device) {
  PG_ASSIGN_OR_RETURN(found, connection.execute("SELECT state FROM devices WHERE id = $1 FOR UPDATE",
                                                Parameters().bytes(id_bytes(device))));
  if (found.rows() == 0) return make_error("device_unknown", "no device " + sync::to_text(device));
  return found.text(0, 0);
}

// Whether the case exists, its row locked to the end of the transaction, so
// that membership changes of one case run one at a time across instances.
Result<bool> lock_case(Connection& connection, const sync::CaseId& case_id) {
  return row_exists(connection, "SELECT 1 FROM cases WHERE id = $1 FOR UPDATE",
                    Parameters().bytes(id_bytes(case_id)));
}

Result<bool> user_exists(Connection& connection, std::string_view name) {
  return row_exists(connection, "SELECT 1 FROM users WHERE name = $1", Parameters().text(name));
}

Result<std::vector<sync::CaseId>> read_case_ids(const QueryResult& rows) {
  return read_rows<sync::CaseId>(rows, [](const QueryResult& r, int row) -> Result<sync::CaseId> {
    sync::CaseId case_id;
    if (!copy_fixed(r.bytes(row, 0), case_id.bytes)) return make_error("corrupt", "malformed case id");
    return case_id;
  });
}

}  // namespace

Result<std::unique_ptr<PostgresControlStore>> PostgresControlStore::open(std::string_view connection_string,
                                                                         std::size_t connections) {
  const crypto::SecretBytes secret(crypto::as_bytes(connection_string));
  auto first = Connection::open(secret);
  if (!first.ok()) return control_error(std::move(first).error());
  Status migrated = migrate_postgres(**first, postgres_server_migrations());
  if (!migrated.ok()) {
    if (migrated.error().code == "schema_too_new") return std::move(migrated).error();
    return control_error(std::move(migrated).error());
  }
  auto pool = std::make_unique<postgres::ConnectionPool>(secret, std::move(first).value(), connections);
  return std::unique_ptr<PostgresControlStore>(new PostgresControlStore(std::move(pool)));
}

PostgresControlStore::PostgresControlStore(std::unique_ptr<postgres::ConnectionPool> pool)
    : pool_(std::move(pool)) {}

PostgresControlStore::~PostgresControlStore() = default;

Status PostgresControlStore::add_user(const UserRecord& user, const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    Status inserted =
        run(connection, "INSERT INTO users (name, role, disabled, created_at) VALUES ($1, $2, $3, $4)",
            Parameters()
                .text(user.name)
                .text(role_name(user.role))
                .int64(user.disabled ? 1 : 0)
                .int64(user.created_at_ms));
    if (!inserted.ok() && inserted.error().code == "unique_violation")
      return make_error("user_exists", "a user named " + user.name + " exists");
    return inserted;
  });
}

Result<std::optional<UserRecord>> PostgresControlStore::find_user(std::string_view name) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::optional<UserRecord>> {
    PG_ASSIGN_OR_RETURN(rows, connection.execute("SELECT name, role, disabled, created_at FROM users "
                                                 "WHERE name = $1",
                                                 Parameters().text(name)));
    if (rows.rows() == 0) return std::optional<UserRecord>();
    PG_ASSIGN_OR_RETURN(user, read_user(rows, 0));
    return std::optional<UserRecord>(std::move(user));
  });
}

Result<std::vector<UserRecord>> PostgresControlStore::list_users() {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<UserRecord>> {
    PG_ASSIGN_OR_RETURN(rows, connection.execute("SELECT name, role, disabled, created_at FROM users "
                                                 "ORDER BY name COLLATE \"C\""));
    return read_rows<UserRecord>(rows, read_user);
  });
}

Status PostgresControlStore::set_user_disabled(std::string_view name, bool disabled,
                                               const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    PG_ASSIGN_OR_RETURN(count, affected(connection, "UPDATE users SET disabled = $1 WHERE name = $2",
                                        Parameters().int64(disabled ? 1 : 0).text(name)));
    if (count == 0) return make_error("user_unknown", "no user named " + std::string(name));
    return ok_status();
  });
}

Status PostgresControlStore::add_enrolment_code(const crypto::Sha256Digest& code_hash, std::string_view user,
                                                std::int64_t expires_at_ms, const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    // FOR SHARE: a user disabled meanwhile waits for this code, or this code for it.
    PG_ASSIGN_OR_RETURN(found, connection.execute("SELECT disabled FROM users WHERE name = $1 FOR SHARE",
                                                  Parameters().text(user)));
    if (found.rows() == 0) return make_error("user_unknown", "no user named " + std::string(user));
    PG_ASSIGN_OR_RETURN(disabled, found.int64(0, 0));
    if (disabled != 0) return make_error("user_disabled", "user " + std::string(user) + " is disabled");
    return run(connection,
               "INSERT INTO enrolment_codes (code_hash, user_name, expires_at, used) VALUES ($1, $2, $3, 0)",
               Parameters().bytes(code_hash).text(user).int64(expires_at_ms));
  });
}

Result<DeviceRecord> PostgresControlStore::enrol_device(const crypto::Sha256Digest& code_hash,
                                                        std::int64_t now_ms, DeviceRecord device,
                                                        AuditEvent audit) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<DeviceRecord> {
    return postgres::in_transaction(connection, "BEGIN", [&]() -> Result<DeviceRecord> {
      // One statement marks the code used only if it is valid, so two
      // instances redeeming one code cannot both succeed. Unknown, used,
      // expired, or for a user disabled since: one answer.
      PG_ASSIGN_OR_RETURN(
          code, connection.execute("UPDATE enrolment_codes c SET used = 1 FROM users u "
                                   "WHERE c.code_hash = $1 AND c.used = 0 AND c.expires_at >= $2 "
                                   "AND u.name = c.user_name AND u.disabled = 0 RETURNING c.user_name",
                                   Parameters().bytes(code_hash).int64(now_ms)));
      if (code.rows() != 1) return make_error("enrolment_code_invalid", "the enrolment code is not valid");
      device.user = code.text(0, 0);
      device.state = DeviceState::pending;
      device.enrolled_at_ms = now_ms;
      device.certificate.clear();
      device.wipe_order.clear();
      Status inserted =
          run(connection,
              "INSERT INTO devices (id, user_name, signing_key, wrapping_key, state, enrolled_at) "
              "VALUES ($1, $2, $3, $4, 'pending', $5)",
              Parameters()
                  .bytes(id_bytes(device.id))
                  .text(device.user)
                  .bytes(device.signing_public_key)
                  .bytes(device.wrapping_public_key)
                  .int64(now_ms));
      if (!inserted.ok()) {
        if (inserted.error().code == "unique_violation")
          return make_error("device_exists", "a device with this id is enrolled");
        return std::move(inserted).error();
      }
      audit.details["user"] = device.user;
      CASEFILE_RETURN_IF_ERROR(append_audit_entry(connection, audit));
      return device;
    });
  });
}

Result<std::optional<DeviceRecord>> PostgresControlStore::find_device(const sync::DeviceId& device) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::optional<DeviceRecord>> {
    PG_ASSIGN_OR_RETURN(
        rows, connection.execute("SELECT " + std::string(kDeviceColumns) + " FROM devices WHERE id = $1",
                                 Parameters().bytes(id_bytes(device))));
    if (rows.rows() == 0) return std::optional<DeviceRecord>();
    PG_ASSIGN_OR_RETURN(found, read_device(rows, 0));
    return std::optional<DeviceRecord>(std::move(found));
  });
}

Result<std::vector<DeviceRecord>> PostgresControlStore::list_devices() {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<DeviceRecord>> {
    PG_ASSIGN_OR_RETURN(rows, connection.execute("SELECT " + std::string(kDeviceColumns) +
                                                 " FROM devices ORDER BY user_name COLLATE \"C\", "
                                                 "enrolled_at, id"));
    return read_rows<DeviceRecord>(rows, read_device);
  });
}

Status PostgresControlStore::certify_device(const sync::DeviceId& device, crypto::ByteView certificate,
                                            const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    PG_ASSIGN_OR_RETURN(state, lock_device_state(connection, device));
    if (state != "pending")
      return make_error("device_not_pending", "device " + sync::to_text(device) + " is " + state);
    return run(connection, "UPDATE devices SET state = 'certified', certificate = $1 WHERE id = $2",
               Parameters().bytes(certificate).bytes(id_bytes(device)));
  });
}

Status PostgresControlStore::revoke_device(const sync::DeviceId& device, crypto::ByteView wipe_order,
                                           const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    PG_ASSIGN_OR_RETURN(state, lock_device_state(connection, device));
    if (state == "revoked")
      return make_error("device_revoked", "device " + sync::to_text(device) + " is already revoked");
    // Its tokens stay until they expire (control_store.hpp).
    CASEFILE_RETURN_IF_ERROR(run(connection, "DELETE FROM auth_challenges WHERE device = $1",
                                 Parameters().bytes(id_bytes(device))));
    return run(connection, "UPDATE devices SET state = 'revoked', wipe_order = $1 WHERE id = $2",
               Parameters().bytes(wipe_order).bytes(id_bytes(device)));
  });
}

Status PostgresControlStore::add_challenge(const sync::DeviceId& device, crypto::ByteView challenge,
                                           std::int64_t expires_at_ms) {
  return with_connection(*pool_, [&](Connection& connection) -> Status {
    return run(connection,
               "INSERT INTO auth_challenges (challenge, device, expires_at, used) VALUES ($1, $2, $3, 0)",
               Parameters().bytes(challenge).bytes(id_bytes(device)).int64(expires_at_ms));
  });
}

Status PostgresControlStore::redeem_challenge(const sync::DeviceId& device, crypto::ByteView challenge,
                                              std::int64_t now_ms, const crypto::Sha256Digest& token_hash,
                                              std::int64_t token_expires_at_ms, const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    // The row lock the UPDATE takes makes a second redeemer wait, then find it used.
    PG_ASSIGN_OR_RETURN(count, affected(connection,
                                        "UPDATE auth_challenges SET used = 1 WHERE challenge = $1 AND "
                                        "device = $2 AND used = 0 AND expires_at >= $3",
                                        Parameters().bytes(challenge).bytes(id_bytes(device)).int64(now_ms)));
    if (count != 1) return make_error("challenge_invalid", "the challenge is unknown, used or expired");
    return run(connection, "INSERT INTO tokens (token_hash, device, expires_at) VALUES ($1, $2, $3)",
               Parameters().bytes(token_hash).bytes(id_bytes(device)).int64(token_expires_at_ms));
  });
}

Result<std::optional<TokenRecord>> PostgresControlStore::find_token(const crypto::Sha256Digest& token_hash) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::optional<TokenRecord>> {
    PG_ASSIGN_OR_RETURN(rows,
                        connection.execute("SELECT device, expires_at FROM tokens WHERE token_hash = $1",
                                           Parameters().bytes(token_hash)));
    if (rows.rows() == 0) return std::optional<TokenRecord>();
    TokenRecord token;
    if (!copy_fixed(rows.bytes(0, 0), token.device.bytes))
      return make_error("corrupt", "malformed token row");
    PG_ASSIGN_OR_RETURN(expires_at, rows.int64(0, 1));
    token.expires_at_ms = expires_at;
    return std::optional<TokenRecord>(token);
  });
}

Result<std::int64_t> PostgresControlStore::delete_expired(std::int64_t now_ms) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::int64_t> {
    return postgres::in_transaction(connection, "BEGIN", [&]() -> Result<std::int64_t> {
      std::int64_t deleted = 0;
      for (const char* sql : {"DELETE FROM tokens WHERE expires_at < $1",
                              "DELETE FROM auth_challenges WHERE expires_at < $1 OR used = 1",
                              "DELETE FROM enrolment_codes WHERE expires_at < $1 OR used = 1"}) {
        PG_ASSIGN_OR_RETURN(count, affected(connection, sql, Parameters().int64(now_ms)));
        deleted += static_cast<std::int64_t>(count);
      }
      return deleted;
    });
  });
}

Status PostgresControlStore::create_case(const sync::CaseId& case_id, std::string_view first_member,
                                         const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    PG_ASSIGN_OR_RETURN(exists, lock_case(connection, case_id));
    if (exists) return make_error("case_exists", "the case id is taken");
    PG_ASSIGN_OR_RETURN(member_exists, user_exists(connection, first_member));
    if (!member_exists) return make_error("user_unknown", "no user named " + std::string(first_member));
    Status inserted = run(connection, "INSERT INTO cases (id, created_at, created_by) VALUES ($1, $2, $3)",
                          Parameters().bytes(id_bytes(case_id)).int64(audit.time_ms).text(first_member));
    if (!inserted.ok() && inserted.error().code == "unique_violation")
      return make_error("case_exists", "the case id is taken");
    CASEFILE_RETURN_IF_ERROR(inserted);
    return run(connection, "INSERT INTO case_members (case_id, user_name, added_at) VALUES ($1, $2, $3)",
               Parameters().bytes(id_bytes(case_id)).text(first_member).int64(audit.time_ms));
  });
}

Result<bool> PostgresControlStore::case_exists(const sync::CaseId& case_id) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<bool> {
    return row_exists(connection, "SELECT 1 FROM cases WHERE id = $1", Parameters().bytes(id_bytes(case_id)));
  });
}

Status PostgresControlStore::add_case_member(const sync::CaseId& case_id, std::string_view user,
                                             const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    PG_ASSIGN_OR_RETURN(exists, lock_case(connection, case_id));
    if (!exists) return make_error("case_unknown", "no such case");
    PG_ASSIGN_OR_RETURN(known_user, user_exists(connection, user));
    if (!known_user) return make_error("user_unknown", "no user named " + std::string(user));
    Status inserted =
        run(connection, "INSERT INTO case_members (case_id, user_name, added_at) VALUES ($1, $2, $3)",
            Parameters().bytes(id_bytes(case_id)).text(user).int64(audit.time_ms));
    if (!inserted.ok() && inserted.error().code == "unique_violation")
      return make_error("already_member", std::string(user) + " is already a member of the case");
    return inserted;
  });
}

Status PostgresControlStore::remove_case_member(const sync::CaseId& case_id, std::string_view user,
                                                const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [&](Connection& connection) -> Status {
    PG_ASSIGN_OR_RETURN(exists, lock_case(connection, case_id));
    if (!exists) return make_error("case_unknown", "no such case");
    PG_ASSIGN_OR_RETURN(members,
                        connection.execute("SELECT count(*)::int8 FROM case_members WHERE case_id = $1",
                                           Parameters().bytes(id_bytes(case_id))));
    PG_ASSIGN_OR_RETURN(count, members.int64(0, 0));
    PG_ASSIGN_OR_RETURN(removed,
                        affected(connection, "DELETE FROM case_members WHERE case_id = $1 AND user_name = $2",
                                 Parameters().bytes(id_bytes(case_id)).text(user)));
    if (removed == 0) return make_error("not_member", std::string(user) + " is not a member of the case");
    if (count <= 1) {
      return make_error("case_last_member",
                        "a case keeps at least one member; add another before removing this one");
    }
    return ok_status();
  });
}

Result<std::vector<std::string>> PostgresControlStore::case_members(const sync::CaseId& case_id) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<std::string>> {
    PG_ASSIGN_OR_RETURN(rows, connection.execute("SELECT user_name FROM case_members WHERE case_id = $1 "
                                                 "ORDER BY user_name COLLATE \"C\"",
                                                 Parameters().bytes(id_bytes(case_id))));
    std::vector<std::string> members;
    for (int row = 0; row < rows.rows(); ++row) members.push_back(rows.text(row, 0));
    return members;
  });
}

Result<std::vector<sync::CaseId>> PostgresControlStore::cases_of_user(std::string_view user) {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<sync::CaseId>> {
    PG_ASSIGN_OR_RETURN(rows, connection.execute("SELECT case_id FROM case_members WHERE user_name = $1 "
                                                 "ORDER BY case_id",
                                                 Parameters().text(user)));
    return read_case_ids(rows);
  });
}

Result<std::vector<CaseMembers>> PostgresControlStore::list_cases() {
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<CaseMembers>> {
    PG_ASSIGN_OR_RETURN(rows,
                        connection.execute("SELECT c.id, m.user_name FROM cases c LEFT JOIN case_members m "
                                           "ON m.case_id = c.id ORDER BY c.id, m.user_name COLLATE \"C\""));
    std::vector<CaseMembers> cases;
    for (int row = 0; row < rows.rows(); ++row) {
      sync::CaseId case_id;
      if (!copy_fixed(rows.bytes(row, 0), case_id.bytes)) return make_error("corrupt", "malformed case id");
      if (cases.empty() || cases.back().case_id != case_id) cases.push_back(CaseMembers{case_id, {}});
      if (!rows.is_null(row, 1)) cases.back().users.push_back(rows.text(row, 1));
    }
    return cases;
  });
}

Status PostgresControlStore::append_audit(const AuditEvent& audit) {
  return mutate_with_audit(*pool_, audit, [](Connection&) { return ok_status(); });
}

Result<std::vector<AuditEntry>> PostgresControlStore::query_audit(const AuditQuery& query) {
  // Only fixed SQL fragments are appended; every value is a parameter.
  Parameters parameters;
  std::string sql = "SELECT " + std::string(kAuditColumns) + " FROM audit_log WHERE sequence > $1";
  parameters.int64(query.after_sequence.value_or(0));
  const auto placeholder = [&] { return "$" + std::to_string(parameters.size()); };
  if (query.since_ms) {
    parameters.int64(*query.since_ms);
    sql += " AND time >= " + placeholder();
  }
  if (query.until_ms) {
    parameters.int64(*query.until_ms);
    sql += " AND time < " + placeholder();
  }
  if (query.event) {
    parameters.text(*query.event);
    sql += " AND event = " + placeholder();
  }
  if (query.device) {
    parameters.text("device:" + sync::to_text(*query.device));
    sql += " AND (actor = " + placeholder() + " OR subject = " + placeholder() + ")";
  }
  parameters.int64(static_cast<std::int64_t>(std::min<std::size_t>(query.limit, INT64_MAX)));
  sql += " ORDER BY sequence LIMIT " + placeholder();
  return with_connection(*pool_, [&](Connection& connection) -> Result<std::vector<AuditEntry>> {
    PG_ASSIGN_OR_RETURN(rows, connection.execute(sql, parameters));
    return read_rows<AuditEntry>(rows, read_audit_entry);
  });
}

Result<AuditChainReport> PostgresControlStore::verify_audit_chain() {
  return with_connection(*pool_, [&](Connection& connection) -> Result<AuditChainReport> {
    // In pages, so that a long log is never held in memory at once.
    constexpr std::int64_t kPage = 1000;
    AuditChainVerifier verifier;
    std::int64_t after = 0;
    return postgres::in_transaction(
        connection, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [&]() -> Result<AuditChainReport> {
          for (;;) {
            PG_ASSIGN_OR_RETURN(rows, connection.execute("SELECT " + std::string(kAuditColumns) +
                                                             " FROM audit_log WHERE sequence > $1 "
                                                             "ORDER BY sequence LIMIT $2",
                                                         Parameters().int64(after).int64(kPage)));
            for (int row = 0; row < rows.rows(); ++row) {
              PG_ASSIGN_OR_RETURN(entry, read_audit_entry(rows, row));
              CASEFILE_RETURN_IF_ERROR(verifier.add(entry));
              after = entry.sequence;
            }
            if (rows.rows() < kPage) return verifier.report();
          }
        });
  });
}

}  // namespace casefile::server
