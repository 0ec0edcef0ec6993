#include "server/access/sqlcipher_control_store.hpp"

#include <fstream>
#include <sstream>

#include "server/access/audit_chain.hpp"
#include "server/access/internal/control_store_migrations.hpp"

namespace casefile::server {
namespace {

using schema::Database;
using schema::Statement;

#define CONTROL_ASSIGN_OR_RETURN(name, expr)                        \
  auto name##_result = (expr);                                      \
  if (!name##_result.ok()) return std::move(name##_result).error(); \
  auto name = std::move(*name##_result)

Result<DeviceState> parse_state(std::string_view text) {
  if (text == "pending") return DeviceState::pending;
  if (text == "certified") return DeviceState::certified;
  if (text == "revoked") return DeviceState::revoked;
  return make_error("corrupt", "unknown device state in control.db");
}

template <std::size_t N>
bool copy_fixed(const crypto::Bytes& from, std::array<std::uint8_t, N>& to) {
  if (from.size() != N) return false;
  std::copy(from.begin(), from.end(), to.begin());
  return true;
}

// Runs a query expected to answer zero or one row; `read` turns the row into T.
template <typename T, typename Read>
Result<std::optional<T>> query_one(Statement& statement, Read&& read) {
  auto row = statement.step();
  if (!row.ok()) return std::move(row).error();
  if (!*row) return std::optional<T>();
  auto value = read(statement);
  if (!value.ok()) return std::move(value).error();
  return std::optional<T>(std::move(*value));
}

Result<std::optional<std::int64_t>> select_integer(Database& database, std::string_view sql,
                                                   const std::function<void(Statement&)>& bind) {
  CONTROL_ASSIGN_OR_RETURN(statement, database.prepare(sql));
  bind(statement);
  return query_one<std::int64_t>(statement,
                                 [](Statement& row) -> Result<std::int64_t> { return row.column_int64(0); });
}

Result<UserRecord> read_user(Statement& row) {
  UserRecord user;
  user.name = row.column_text(0);
  auto role = parse_role(row.column_text(1));
  if (!role.ok()) return make_error("corrupt", "unknown role in control.db");
  user.role = *role;
  user.disabled = row.column_int64(2) != 0;
  user.created_at_ms = row.column_int64(3);
  return user;
}

constexpr std::string_view kDeviceColumns =
    "id, user, signing_key, wrapping_key, state, enrolled_at, certificate, wipe_order";

Result<DeviceRecord> read_device(Statement& row) {
  DeviceRecord device;
  auto state = parse_state(row.column_text(4));
  if (!state.ok()) return std::move(state).error();
  if (!copy_fixed(row.column_blob(0), device.id.bytes) ||
      !copy_fixed(row.column_blob(2), device.signing_public_key) ||
      !copy_fixed(row.column_blob(3), device.wrapping_public_key)) {
    return make_error("corrupt", "malformed device row in control.db");
  }
  device.user = row.column_text(1);
  device.state = *state;
  device.enrolled_at_ms = row.column_int64(5);
  if (!row.column_is_null(6)) device.certificate = row.column_blob(6);
  if (!row.column_is_null(7)) device.wipe_order = row.column_blob(7);
  return device;
}

Result<AuditEntry> read_audit_entry(Statement& row) {
  AuditEntry entry;
  entry.sequence = row.column_int64(0);
  entry.time_ms = row.column_int64(1);
  entry.actor = row.column_text(2);
  entry.event = row.column_text(3);
  entry.subject = row.column_text(4);
  entry.details_json = row.column_text(5);
  if (!copy_fixed(row.column_blob(6), entry.hash)) return make_error("corrupt", "malformed audit hash");
  return entry;
}

// REQUIRES: inside a write transaction on `database`.
Status append_audit_entry(Database& database, const AuditEvent& event) {
  std::int64_t previous_sequence = 0;
  crypto::Sha256Digest previous{};
  {
    CONTROL_ASSIGN_OR_RETURN(
        last, database.prepare("SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1"));
    CONTROL_ASSIGN_OR_RETURN(row, last.step());
    if (row) {
      previous_sequence = last.column_int64(0);
      if (!copy_fixed(last.column_blob(1), previous)) return make_error("corrupt", "malformed audit hash");
    }
  }
  CONTROL_ASSIGN_OR_RETURN(entry, next_audit_entry(event, previous_sequence, previous));
  CONTROL_ASSIGN_OR_RETURN(
      insert, database.prepare("INSERT INTO audit_log(sequence, time, actor, event, subject, details, hash) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)"));
  insert.bind_int64(1, entry.sequence)
      .bind_int64(2, entry.time_ms)
      .bind_text(3, entry.actor)
      .bind_text(4, entry.event)
      .bind_text(5, entry.subject)
      .bind_text(6, entry.details_json)
      .bind_blob(7, entry.hash);
  return insert.run();
}

// Begins a transaction, runs `mutate`, appends `audit` and commits: all or nothing.
Status mutate_with_audit(Database& database, const AuditEvent& audit, const std::function<Status()>& mutate) {
  CONTROL_ASSIGN_OR_RETURN(transaction, database.begin());
  CASEFILE_RETURN_IF_ERROR(mutate());
  CASEFILE_RETURN_IF_ERROR(append_audit_entry(database, audit));
  return transaction.commit();
}

Result<bool> user_exists(Database& database, std::string_view name) {
  CONTROL_ASSIGN_OR_RETURN(found, select_integer(database, "SELECT 1 FROM users WHERE name = ?",
                                                 [&](Statement& s) { s.bind_text(1, name); }));
  return found.has_value();
}

Result<bool> case_row_exists(Database& database, const sync::CaseId& case_id) {
  CONTROL_ASSIGN_OR_RETURN(found, select_integer(database, "SELECT 1 FROM cases WHERE id = ?",
                                                 [&](Statement& s) { s.bind_blob(1, case_id.bytes); }));
  return found.has_value();
}

Status run_statement(Database& database, std::string_view sql, const std::function<void(Statement&)>& bind) {
  CONTROL_ASSIGN_OR_RETURN(statement, database.prepare(sql));
  bind(statement);
  return statement.run();
}

Result<crypto::SecretBytes> read_database_key(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("io_error", "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  crypto::Bytes bytes;
  const bool valid = crypto::from_hex(hex, bytes) && bytes.size() == 32;
  crypto::SecretBytes key(bytes);
  std::fill(bytes.begin(), bytes.end(), 0);
  std::fill(hex.begin(), hex.end(), '\0');
  if (!valid) return make_error("corrupt_instance", "not a 32-byte hex key: " + path.string());
  return key;
}

}  // namespace

std::string_view device_state_name(DeviceState state) {
  switch (state) {
    case DeviceState::pending:
      return "pending";
    case DeviceState::certified:
      return "certified";
    case DeviceState::revoked:
      return "revoked";
  }
  return "pending";
}

Result<std::unique_ptr<SqlCipherControlStore>> SqlCipherControlStore::open(
    const std::filesystem::path& path, const crypto::SecretBytes& database_key) {
  CONTROL_ASSIGN_OR_RETURN(database, Database::open(path, database_key));
  CASEFILE_RETURN_IF_ERROR(schema::migrate(database, internal::control_store_migrations()));
  return std::unique_ptr<SqlCipherControlStore>(new SqlCipherControlStore(std::move(database)));
}

Result<std::unique_ptr<SqlCipherControlStore>> SqlCipherControlStore::open_in_instance(
    const std::filesystem::path& root) {
  const InstanceLayout layout(root);
  if (!instance_exists(root)) return make_error("no_instance", "no instance at " + root.string());
  CONTROL_ASSIGN_OR_RETURN(key, read_database_key(layout.database_key()));
  return open(control_database_path(layout), key);
}

Status SqlCipherControlStore::add_user(const UserRecord& user, const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CONTROL_ASSIGN_OR_RETURN(exists, user_exists(database_, user.name));
    if (exists) return make_error("user_exists", "a user named " + user.name + " exists");
    return run_statement(database_, "INSERT INTO users(name, role, disabled, created_at) VALUES (?, ?, ?, ?)",
                         [&](Statement& s) {
                           s.bind_text(1, user.name)
                               .bind_text(2, role_name(user.role))
                               .bind_int64(3, user.disabled ? 1 : 0)
                               .bind_int64(4, user.created_at_ms);
                         });
  });
}

Result<std::optional<UserRecord>> SqlCipherControlStore::find_user(std::string_view name) {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(
      statement, database_.prepare("SELECT name, role, disabled, created_at FROM users WHERE name = ?"));
  statement.bind_text(1, name);
  return query_one<UserRecord>(statement, read_user);
}

Result<std::vector<UserRecord>> SqlCipherControlStore::list_users() {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(
      statement, database_.prepare("SELECT name, role, disabled, created_at FROM users ORDER BY name"));
  std::vector<UserRecord> users;
  while (true) {
    CONTROL_ASSIGN_OR_RETURN(row, statement.step());
    if (!row) break;
    CONTROL_ASSIGN_OR_RETURN(user, read_user(statement));
    users.push_back(std::move(user));
  }
  return users;
}

Status SqlCipherControlStore::set_user_disabled(std::string_view name, bool disabled,
                                                const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CASEFILE_RETURN_IF_ERROR(
        run_statement(database_, "UPDATE users SET disabled = ? WHERE name = ?",
                      [&](Statement& s) { s.bind_int64(1, disabled ? 1 : 0).bind_text(2, name); }));
    if (database_.changes() == 0) return make_error("user_unknown", "no user named " + std::string(name));
    return ok_status();
  });
}

Status SqlCipherControlStore::add_enrolment_code(const crypto::Sha256Digest& code_hash, std::string_view user,
                                                 std::int64_t expires_at_ms, const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CONTROL_ASSIGN_OR_RETURN(disabled, select_integer(database_, "SELECT disabled FROM users WHERE name = ?",
                                                      [&](Statement& s) { s.bind_text(1, user); }));
    if (!disabled) return make_error("user_unknown", "no user named " + std::string(user));
    if (*disabled != 0) return make_error("user_disabled", "user " + std::string(user) + " is disabled");
    return run_statement(
        database_, "INSERT INTO enrolment_codes(code_hash, user, expires_at, used) VALUES (?, ?, ?, 0)",
        [&](Statement& s) { s.bind_blob(1, code_hash).bind_text(2, user).bind_int64(3, expires_at_ms); });
  });
}

Result<DeviceRecord> SqlCipherControlStore::enrol_device(const crypto::Sha256Digest& code_hash,
                                                         std::int64_t now_ms, DeviceRecord device,
                                                         AuditEvent audit) {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(transaction, database_.begin());
  {
    CONTROL_ASSIGN_OR_RETURN(
        code, database_.prepare("SELECT c.user, c.expires_at, c.used, u.disabled FROM enrolment_codes c "
                                "JOIN users u ON u.name = c.user WHERE c.code_hash = ?"));
    code.bind_blob(1, code_hash);
    CONTROL_ASSIGN_OR_RETURN(row, code.step());
    // Unknown, used, expired, or for a user disabled since: one answer, so a
    // guesser learns nothing about which codes exist.
    if (!row || code.column_int64(1) < now_ms || code.column_int64(2) != 0 || code.column_int64(3) != 0) {
      return make_error("enrolment_code_invalid", "the enrolment code is not valid");
    }
    device.user = code.column_text(0);
  }
  CONTROL_ASSIGN_OR_RETURN(existing, select_integer(database_, "SELECT 1 FROM devices WHERE id = ?",
                                                    [&](Statement& s) { s.bind_blob(1, device.id.bytes); }));
  if (existing) return make_error("device_exists", "a device with this id is enrolled");
  CASEFILE_RETURN_IF_ERROR(run_statement(database_, "UPDATE enrolment_codes SET used = 1 WHERE code_hash = ?",
                                         [&](Statement& s) { s.bind_blob(1, code_hash); }));
  device.state = DeviceState::pending;
  device.enrolled_at_ms = now_ms;
  device.certificate.clear();
  device.wipe_order.clear();
  CASEFILE_RETURN_IF_ERROR(run_statement(database_,
                                         "INSERT INTO devices(id, user, signing_key, wrapping_key, state, "
                                         "enrolled_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                                         [&](Statement& s) {
                                           s.bind_blob(1, device.id.bytes)
                                               .bind_text(2, device.user)
                                               .bind_blob(3, device.signing_public_key)
                                               .bind_blob(4, device.wrapping_public_key)
                                               .bind_int64(5, now_ms);
                                         }));
  audit.details["user"] = device.user;
  CASEFILE_RETURN_IF_ERROR(append_audit_entry(database_, audit));
  CASEFILE_RETURN_IF_ERROR(transaction.commit());
  return device;
}

Result<std::optional<DeviceRecord>> SqlCipherControlStore::find_device(const sync::DeviceId& device) {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(
      statement, database_.prepare("SELECT " + std::string(kDeviceColumns) + " FROM devices WHERE id = ?"));
  statement.bind_blob(1, device.bytes);
  return query_one<DeviceRecord>(statement, read_device);
}

Result<std::vector<DeviceRecord>> SqlCipherControlStore::list_devices() {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(statement, database_.prepare("SELECT " + std::string(kDeviceColumns) +
                                                        " FROM devices ORDER BY user, enrolled_at, id"));
  std::vector<DeviceRecord> devices;
  while (true) {
    CONTROL_ASSIGN_OR_RETURN(row, statement.step());
    if (!row) break;
    CONTROL_ASSIGN_OR_RETURN(device, read_device(statement));
    devices.push_back(std::move(device));
  }
  return devices;
}

namespace {

Result<std::string> device_state_in(Database& database, const sync::DeviceId& device) {
  CONTROL_ASSIGN_OR_RETURN(statement, database.prepare("SELECT state FROM devices WHERE id = ?"));
  statement.bind_blob(1, device.bytes);
  CONTROL_ASSIGN_OR_RETURN(row, statement.step());
  if (!row) return make_error("device_unknown", "no device " + sync::to_text(device));
  return statement.column_text(0);
}

}  // namespace

Status SqlCipherControlStore::certify_device(const sync::DeviceId& device, crypto::ByteView certificate,
                                             const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CONTROL_ASSIGN_OR_RETURN(state, device_state_in(database_, device));
    if (state != "pending")
      return make_error("device_not_pending", "device " + sync::to_text(device) + " is " + state);
    return run_statement(database_, "UPDATE devices SET state = 'certified', certificate = ? WHERE id = ?",
                         [&](Statement& s) { s.bind_blob(1, certificate).bind_blob(2, device.bytes); });
  });
}

Status SqlCipherControlStore::revoke_device(const sync::DeviceId& device, crypto::ByteView wipe_order,
                                            const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CONTROL_ASSIGN_OR_RETURN(state, device_state_in(database_, device));
    if (state == "revoked")
      return make_error("device_revoked", "device " + sync::to_text(device) + " is already revoked");
    // Its tokens stay until they expire: they no longer authenticate (every
    // request reads the device state) but they let the device's next request
    // be answered with the wipe order rather than a bare 401.
    CASEFILE_RETURN_IF_ERROR(run_statement(database_, "DELETE FROM auth_challenges WHERE device = ?",
                                           [&](Statement& s) { s.bind_blob(1, device.bytes); }));
    return run_statement(database_, "UPDATE devices SET state = 'revoked', wipe_order = ? WHERE id = ?",
                         [&](Statement& s) { s.bind_blob(1, wipe_order).bind_blob(2, device.bytes); });
  });
}

Status SqlCipherControlStore::add_challenge(const sync::DeviceId& device, crypto::ByteView challenge,
                                            std::int64_t expires_at_ms) {
  std::lock_guard lock(mutex_);
  return run_statement(database_,
                       "INSERT INTO auth_challenges(challenge, device, expires_at, used) VALUES (?, ?, ?, 0)",
                       [&](Statement& s) {
                         s.bind_blob(1, challenge).bind_blob(2, device.bytes).bind_int64(3, expires_at_ms);
                       });
}

Status SqlCipherControlStore::redeem_challenge(const sync::DeviceId& device, crypto::ByteView challenge,
                                               std::int64_t now_ms, const crypto::Sha256Digest& token_hash,
                                               std::int64_t token_expires_at_ms, const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CASEFILE_RETURN_IF_ERROR(run_statement(
        database_,
        "UPDATE auth_challenges SET used = 1 WHERE challenge = ? AND device = ? AND used = 0 AND expires_at "
        ">= ?",
        [&](Statement& s) { s.bind_blob(1, challenge).bind_blob(2, device.bytes).bind_int64(3, now_ms); }));
    if (database_.changes() != 1) {
      return make_error("challenge_invalid", "the challenge is unknown, used or expired");
    }
    return run_statement(
        database_, "INSERT INTO tokens(token_hash, device, expires_at) VALUES (?, ?, ?)", [&](Statement& s) {
          s.bind_blob(1, token_hash).bind_blob(2, device.bytes).bind_int64(3, token_expires_at_ms);
        });
  });
}

Result<std::optional<TokenRecord>> SqlCipherControlStore::find_token(const crypto::Sha256Digest& token_hash) {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(statement,
                           database_.prepare("SELECT device, expires_at FROM tokens WHERE token_hash = ?"));
  statement.bind_blob(1, token_hash);
  return query_one<TokenRecord>(statement, [](Statement& row) -> Result<TokenRecord> {
    TokenRecord token;
    if (!copy_fixed(row.column_blob(0), token.device.bytes))
      return make_error("corrupt", "malformed token row");
    token.expires_at_ms = row.column_int64(1);
    return token;
  });
}

Result<std::int64_t> SqlCipherControlStore::delete_expired(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(transaction, database_.begin());
  std::int64_t deleted = 0;
  for (const char* sql : {"DELETE FROM tokens WHERE expires_at < ?",
                          "DELETE FROM auth_challenges WHERE expires_at < ? OR used = 1",
                          "DELETE FROM enrolment_codes WHERE expires_at < ? OR used = 1"}) {
    CASEFILE_RETURN_IF_ERROR(run_statement(database_, sql, [&](Statement& s) { s.bind_int64(1, now_ms); }));
    deleted += database_.changes();
  }
  CASEFILE_RETURN_IF_ERROR(transaction.commit());
  return deleted;
}

Status SqlCipherControlStore::create_case(const sync::CaseId& case_id, std::string_view first_member,
                                          const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CONTROL_ASSIGN_OR_RETURN(exists, case_row_exists(database_, case_id));
    if (exists) return make_error("case_exists", "the case id is taken");
    CONTROL_ASSIGN_OR_RETURN(member_exists, user_exists(database_, first_member));
    if (!member_exists) return make_error("user_unknown", "no user named " + std::string(first_member));
    CASEFILE_RETURN_IF_ERROR(run_statement(
        database_, "INSERT INTO cases(id, created_at, created_by) VALUES (?, ?, ?)", [&](Statement& s) {
          s.bind_blob(1, case_id.bytes).bind_int64(2, audit.time_ms).bind_text(3, first_member);
        }));
    return run_statement(
        database_, "INSERT INTO case_members(case_id, user, added_at) VALUES (?, ?, ?)", [&](Statement& s) {
          s.bind_blob(1, case_id.bytes).bind_text(2, first_member).bind_int64(3, audit.time_ms);
        });
  });
}

Result<bool> SqlCipherControlStore::case_exists(const sync::CaseId& case_id) {
  std::lock_guard lock(mutex_);
  return case_row_exists(database_, case_id);
}

Status SqlCipherControlStore::add_case_member(const sync::CaseId& case_id, std::string_view user,
                                              const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CONTROL_ASSIGN_OR_RETURN(exists, case_row_exists(database_, case_id));
    if (!exists) return make_error("case_unknown", "no such case");
    CONTROL_ASSIGN_OR_RETURN(known_user, user_exists(database_, user));
    if (!known_user) return make_error("user_unknown", "no user named " + std::string(user));
    CONTROL_ASSIGN_OR_RETURN(
        member, select_integer(database_, "SELECT 1 FROM case_members WHERE case_id = ? AND user = ?",
                               [&](Statement& s) { s.bind_blob(1, case_id.bytes).bind_text(2, user); }));
    if (member) return make_error("already_member", std::string(user) + " is already a member of the case");
    return run_statement(
        database_, "INSERT INTO case_members(case_id, user, added_at) VALUES (?, ?, ?)",
        [&](Statement& s) { s.bind_blob(1, case_id.bytes).bind_text(2, user).bind_int64(3, audit.time_ms); });
  });
}

Status SqlCipherControlStore::remove_case_member(const sync::CaseId& case_id, std::string_view user,
                                                 const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [&]() -> Status {
    CONTROL_ASSIGN_OR_RETURN(exists, case_row_exists(database_, case_id));
    if (!exists) return make_error("case_unknown", "no such case");
    CONTROL_ASSIGN_OR_RETURN(count,
                             select_integer(database_, "SELECT count(*) FROM case_members WHERE case_id = ?",
                                            [&](Statement& s) { s.bind_blob(1, case_id.bytes); }));
    CASEFILE_RETURN_IF_ERROR(
        run_statement(database_, "DELETE FROM case_members WHERE case_id = ? AND user = ?",
                      [&](Statement& s) { s.bind_blob(1, case_id.bytes).bind_text(2, user); }));
    if (database_.changes() == 0)
      return make_error("not_member", std::string(user) + " is not a member of the case");
    if (count.value_or(0) <= 1) {
      return make_error("case_last_member",
                        "a case keeps at least one member; add another before removing this one");
    }
    return ok_status();
  });
}

Result<std::vector<std::string>> SqlCipherControlStore::case_members(const sync::CaseId& case_id) {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(
      statement, database_.prepare("SELECT user FROM case_members WHERE case_id = ? ORDER BY user"));
  statement.bind_blob(1, case_id.bytes);
  std::vector<std::string> members;
  while (true) {
    CONTROL_ASSIGN_OR_RETURN(row, statement.step());
    if (!row) break;
    members.push_back(statement.column_text(0));
  }
  return members;
}

Result<std::vector<CaseMembers>> SqlCipherControlStore::list_cases() {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(statement,
                           database_.prepare("SELECT c.id, m.user FROM cases c LEFT JOIN case_members m "
                                             "ON m.case_id = c.id ORDER BY c.id, m.user"));
  std::vector<CaseMembers> cases;
  while (true) {
    CONTROL_ASSIGN_OR_RETURN(row, statement.step());
    if (!row) break;
    sync::CaseId case_id;
    if (!copy_fixed(statement.column_blob(0), case_id.bytes))
      return make_error("corrupt", "malformed case id");
    if (cases.empty() || cases.back().case_id != case_id) cases.push_back(CaseMembers{case_id, {}});
    if (!statement.column_is_null(1)) cases.back().users.push_back(statement.column_text(1));
  }
  return cases;
}

Result<std::vector<sync::CaseId>> SqlCipherControlStore::cases_of_user(std::string_view user) {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(
      statement, database_.prepare("SELECT case_id FROM case_members WHERE user = ? ORDER BY case_id"));
  statement.bind_text(1, user);
  std::vector<sync::CaseId> cases;
  while (true) {
    CONTROL_ASSIGN_OR_RETURN(row, statement.step());
    if (!row) break;
    sync::CaseId case_id;
    if (!copy_fixed(statement.column_blob(0), case_id.bytes))
      return make_error("corrupt", "malformed case id");
    cases.push_back(case_id);
  }
  return cases;
}

Status SqlCipherControlStore::append_audit(const AuditEvent& audit) {
  std::lock_guard lock(mutex_);
  return mutate_with_audit(database_, audit, [] { return ok_status(); });
}

Result<std::vector<AuditEntry>> SqlCipherControlStore::query_audit(const AuditQuery& query) {
  std::lock_guard lock(mutex_);
  // Absent filters bind NULL and match everything, so one cached statement serves all.
  CONTROL_ASSIGN_OR_RETURN(
      statement,
      database_.prepare("SELECT sequence, time, actor, event, subject, details, hash FROM audit_log "
                        "WHERE (?1 IS NULL OR time >= ?1) AND (?2 IS NULL OR time < ?2) "
                        "AND (?3 IS NULL OR event = ?3) AND (?4 IS NULL OR actor = ?4 OR subject = ?4) "
                        "AND sequence > ?5 ORDER BY sequence LIMIT ?6"));
  if (query.since_ms)
    statement.bind_int64(1, *query.since_ms);
  else
    statement.bind_null(1);
  if (query.until_ms)
    statement.bind_int64(2, *query.until_ms);
  else
    statement.bind_null(2);
  if (query.event)
    statement.bind_text(3, *query.event);
  else
    statement.bind_null(3);
  const std::string device_subject = query.device ? "device:" + sync::to_text(*query.device) : std::string();
  if (query.device)
    statement.bind_text(4, device_subject);
  else
    statement.bind_null(4);
  statement.bind_int64(5, query.after_sequence.value_or(0));
  statement.bind_int64(6, static_cast<std::int64_t>(query.limit));
  std::vector<AuditEntry> entries;
  while (true) {
    CONTROL_ASSIGN_OR_RETURN(row, statement.step());
    if (!row) break;
    CONTROL_ASSIGN_OR_RETURN(entry, read_audit_entry(statement));
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<AuditChainReport> SqlCipherControlStore::verify_audit_chain() {
  std::lock_guard lock(mutex_);
  CONTROL_ASSIGN_OR_RETURN(
      statement,
      database_.prepare("SELECT sequence, time, actor, event, subject, details, hash FROM audit_log "
                        "ORDER BY sequence"));
  AuditChainVerifier verifier;
  while (true) {
    CONTROL_ASSIGN_OR_RETURN(row, statement.step());
    if (!row) break;
    CONTROL_ASSIGN_OR_RETURN(entry, read_audit_entry(statement));
    CASEFILE_RETURN_IF_ERROR(verifier.add(entry));
  }
  return verifier.report();
}

Status SqlCipherControlStore::rekey(const crypto::SecretBytes& new_key) {
  const std::lock_guard lock(mutex_);
  return database_.rekey(new_key);
}

}  // namespace casefile::server
