#include "device/device_profile_store.hpp"

#include <algorithm>
#include <utility>

#include "crypto/constant_time.hpp"

namespace casefile::device {
namespace {

Error unavailable(const Error& cause) {
  return make_error("store_unavailable", cause.code + ": " + cause.message);
}

// A row that does not decode; the message names the column, never its bytes.
Error corrupt(const std::string& what) {
  return make_error("profile_corrupt", "the device profile's " + what + " does not decode");
}

template <typename Tag>
crypto::ByteView id_bytes(const sync::Id128<Tag>& id) {
  return {id.bytes.data(), id.bytes.size()};
}

template <std::size_t N>
crypto::ByteView array_bytes(const std::array<std::uint8_t, N>& array) {
  return {array.data(), array.size()};
}

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> array_from(const crypto::Bytes& bytes) {
  if (bytes.size() != N) return std::nullopt;
  std::array<std::uint8_t, N> array{};
  std::copy(bytes.begin(), bytes.end(), array.begin());
  return array;
}

// Runs one UPDATE of the profile row, whose parameters `bind` sets.
template <typename Bind>
Status update_profile(schema::Database& database, std::string_view sql, Bind bind) {
  auto update = database.prepare(sql);
  if (!update.ok()) return unavailable(update.error());
  bind(*update);
  if (auto ran = update->run(); !ran.ok()) return unavailable(ran.error());
  if (database.changes() != 1) return make_error("profile_missing", "the replica holds no device profile");
  return ok_status();
}

Result<ServerEndpoint> server_from_row(const schema::Statement& row) {
  ServerEndpoint server;
  server.url = row.column_text(4);
  server.host = row.column_text(5);
  const std::int64_t port = row.column_int64(6);
  if (port < 1 || port > 65535) return corrupt("server port");
  server.port = static_cast<std::uint16_t>(port);
  auto pin = array_from<crypto::kSha256Size>(row.column_blob(7));
  if (!pin) return corrupt("server pin");
  server.pin = *pin;
  return server;
}

}  // namespace

Status DeviceProfileStore::initialise(const sync::DeviceId& device_id,
                                      const crypto::Ed25519PrivateKey& signing_key,
                                      const crypto::X25519PrivateKey& wrapping_key) {
  auto insert = database_->prepare(
      "INSERT OR IGNORE INTO device_profile (singleton, device_id, signing_seed, wrapping_private_key, "
      "enrolment_state) VALUES (1, ?, ?, ?, ?)");
  if (!insert.ok()) return unavailable(insert.error());
  insert->bind_blob(1, id_bytes(device_id))
      .bind_blob(2, signing_key.seed().view())
      .bind_blob(3, wrapping_key.private_bytes().view())
      .bind_text(4, enrolment_state_name(EnrolmentState::not_enrolled));
  if (auto ran = insert->run(); !ran.ok()) return unavailable(ran.error());
  if (database_->changes() != 1) return make_error("profile_exists", "the replica already holds a device");
  return ok_status();
}

Result<StoredProfile> DeviceProfileStore::load() {
  auto select = database_->prepare(
      "SELECT device_id, signing_seed, wrapping_private_key, enrolment_state, server_url, server_host, "
      "server_port, server_pin, authority_fingerprint, authority_key, certificate, recovery_public_key "
      "FROM device_profile "
      "WHERE singleton = 1");
  if (!select.ok()) return unavailable(select.error());
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return make_error("profile_missing", "the replica holds no device profile");

  DeviceProfile profile;
  auto device_id = array_from<16>(select->column_blob(0));
  if (!device_id) return corrupt("device id");
  profile.device_id = sync::DeviceId{*device_id};
  crypto::Bytes seed_bytes = select->column_blob(1);
  crypto::SecretBytes seed(seed_bytes);
  std::fill(seed_bytes.begin(), seed_bytes.end(), 0);
  crypto::Bytes wrapping_bytes = select->column_blob(2);
  crypto::SecretBytes wrapping(wrapping_bytes);
  std::fill(wrapping_bytes.begin(), wrapping_bytes.end(), 0);
  auto signing_key = crypto::Ed25519PrivateKey::from_seed(seed.view());
  if (!signing_key.ok()) return corrupt("signing key");
  auto wrapping_key = crypto::X25519PrivateKey::from_bytes(wrapping.view());
  if (!wrapping_key.ok()) return corrupt("wrapping key");
  auto state = parse_enrolment_state(select->column_text(3));
  if (!state) return corrupt("enrolment state");
  profile.state = *state;
  if (!select->column_is_null(4)) {
    auto server = server_from_row(*select);
    if (!server.ok()) return std::move(server).error();
    profile.server = std::move(*server);
  }
  if (!select->column_is_null(8)) {
    auto fingerprint = array_from<crypto::kSha256Size>(select->column_blob(8));
    if (!fingerprint) return corrupt("authority fingerprint");
    profile.authority_fingerprint = *fingerprint;
  }
  if (!select->column_is_null(9)) {
    auto authority_key = array_from<crypto::kEd25519PublicKeySize>(select->column_blob(9));
    if (!authority_key) return corrupt("authority key");
    profile.authority_key = *authority_key;
  }
  if (!select->column_is_null(10)) {
    auto certificate = sync::decode_certificate(select->column_blob(10));
    if (!certificate.ok()) return corrupt("certificate");
    profile.certificate = std::move(*certificate);
  }
  if (!select->column_is_null(11)) {
    auto recovery_key = array_from<crypto::kX25519KeySize>(select->column_blob(11));
    if (!recovery_key) return corrupt("recovery public key");
    profile.recovery_public_key = *recovery_key;
  }
  return StoredProfile{std::move(profile), std::move(*signing_key), std::move(*wrapping_key)};
}

Status DeviceProfileStore::save_enrolment(const ServerEndpoint& server,
                                          const crypto::Sha256Digest& authority_fingerprint) {
  return update_profile(*database_,
                        "UPDATE device_profile SET enrolment_state = ?, server_url = ?, server_host = ?, "
                        "server_port = ?, server_pin = ?, authority_fingerprint = ?, authority_key = NULL, "
                        "certificate = NULL, session_token = NULL, session_expires_at = NULL "
                        "WHERE singleton = 1",
                        [&](schema::Statement& update) {
                          update.bind_text(1, enrolment_state_name(EnrolmentState::pending))
                              .bind_text(2, server.url)
                              .bind_text(3, server.host)
                              .bind_int64(4, server.port)
                              .bind_blob(5, array_bytes(server.pin))
                              .bind_blob(6, array_bytes(authority_fingerprint));
                        });
}

Status DeviceProfileStore::save_server_pin(const crypto::Sha256Digest& pin) {
  return update_profile(*database_, "UPDATE device_profile SET server_pin = ? WHERE singleton = 1",
                        [&](schema::Statement& update) { update.bind_blob(1, array_bytes(pin)); });
}

Status DeviceProfileStore::save_certificate(const sync::DeviceCertificate& certificate,
                                            const crypto::Ed25519PublicKey& authority_key) {
  const crypto::Bytes encoded = sync::encode_certificate(certificate);
  return update_profile(*database_,
                        "UPDATE device_profile SET enrolment_state = ?, authority_key = ?, certificate = ? "
                        "WHERE singleton = 1",
                        [&](schema::Statement& update) {
                          update.bind_text(1, enrolment_state_name(EnrolmentState::certified))
                              .bind_blob(2, array_bytes(authority_key))
                              .bind_blob(3, encoded);
                        });
}

Status DeviceProfileStore::save_session(const SessionToken& session) {
  return update_profile(
      *database_, "UPDATE device_profile SET session_token = ?, session_expires_at = ? WHERE singleton = 1",
      [&](schema::Statement& update) {
        update.bind_text(1, session.token).bind_int64(2, session.expires_at_ms);
      });
}

Result<std::optional<SessionToken>> DeviceProfileStore::load_session() {
  auto select =
      database_->prepare("SELECT session_token, session_expires_at FROM device_profile WHERE singleton = 1");
  if (!select.ok()) return unavailable(select.error());
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return make_error("profile_missing", "the replica holds no device profile");
  if (select->column_is_null(0) || select->column_is_null(1)) return std::optional<SessionToken>();
  return std::optional<SessionToken>(SessionToken{select->column_text(0), select->column_int64(1)});
}

Status DeviceProfileStore::save_last_sync(std::int64_t completed_at_ms) {
  return update_profile(*database_, "UPDATE device_profile SET last_sync_ms = ? WHERE singleton = 1",
                        [&](schema::Statement& update) { update.bind_int64(1, completed_at_ms); });
}

Result<std::optional<std::int64_t>> DeviceProfileStore::load_last_sync() {
  auto select = database_->prepare("SELECT last_sync_ms FROM device_profile WHERE singleton = 1");
  if (!select.ok()) return unavailable(select.error());
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return make_error("profile_missing", "the replica holds no device profile");
  if (select->column_is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(select->column_int64(0));
}

Status DeviceProfileStore::cache_certificate(const sync::DeviceCertificate& certificate) {
  auto insert =
      database_->prepare("INSERT OR REPLACE INTO certificate_cache (device_id, certificate) VALUES (?, ?)");
  if (!insert.ok()) return unavailable(insert.error());
  insert->bind_blob(1, id_bytes(certificate.device)).bind_blob(2, sync::encode_certificate(certificate));
  if (auto ran = insert->run(); !ran.ok()) return unavailable(ran.error());
  return ok_status();
}

Result<std::optional<sync::DeviceCertificate>> DeviceProfileStore::cached_certificate(
    const sync::DeviceId& device) {
  auto select = database_->prepare("SELECT certificate FROM certificate_cache WHERE device_id = ?");
  if (!select.ok()) return unavailable(select.error());
  select->bind_blob(1, id_bytes(device));
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return std::optional<sync::DeviceCertificate>();
  auto certificate = sync::decode_certificate(select->column_blob(0));
  if (!certificate.ok() || certificate->device != device) return corrupt("certificate cache");
  return std::optional<sync::DeviceCertificate>(std::move(*certificate));
}

Status DeviceProfileStore::store_case_key(const sync::CaseId& case_id, std::uint32_t epoch,
                                          const crypto::SecretBytes& key) {
  if (epoch == 0) return make_error("invalid_argument", "case-key epochs start at 1");
  if (key.size() != 32) return make_error("invalid_argument", "a case key is 32 bytes");
  auto existing = case_key(case_id, epoch);
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) {
    if (crypto::constant_time_equal((*existing)->view(), key.view())) return ok_status();
    return make_error("case_key_conflict", "this case-key epoch is already stored with another key");
  }
  auto insert = database_->prepare("INSERT INTO case_keys (case_id, epoch, key) VALUES (?, ?, ?)");
  if (!insert.ok()) return unavailable(insert.error());
  insert->bind_blob(1, id_bytes(case_id)).bind_int64(2, epoch).bind_blob(3, key.view());
  if (auto ran = insert->run(); !ran.ok()) return unavailable(ran.error());
  return ok_status();
}

Result<std::optional<CaseKey>> DeviceProfileStore::newest_case_key(const sync::CaseId& case_id) {
  auto select =
      database_->prepare("SELECT epoch, key FROM case_keys WHERE case_id = ? ORDER BY epoch DESC LIMIT 1");
  if (!select.ok()) return unavailable(select.error());
  select->bind_blob(1, id_bytes(case_id));
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return std::optional<CaseKey>();
  crypto::Bytes key = select->column_blob(1);
  CaseKey found{static_cast<std::uint32_t>(select->column_int64(0)), crypto::SecretBytes(key)};
  std::fill(key.begin(), key.end(), 0);
  if (found.key.size() != 32) return corrupt("case key");
  return std::optional<CaseKey>(std::move(found));
}

Result<std::optional<crypto::SecretBytes>> DeviceProfileStore::case_key(const sync::CaseId& case_id,
                                                                        std::uint32_t epoch) {
  auto select = database_->prepare("SELECT key FROM case_keys WHERE case_id = ? AND epoch = ?");
  if (!select.ok()) return unavailable(select.error());
  select->bind_blob(1, id_bytes(case_id)).bind_int64(2, epoch);
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return std::optional<crypto::SecretBytes>();
  crypto::Bytes key = select->column_blob(0);
  crypto::SecretBytes found(key);
  std::fill(key.begin(), key.end(), 0);
  if (found.size() != 32) return corrupt("case key");
  return std::optional<crypto::SecretBytes>(std::move(found));
}

Result<std::vector<sync::CaseId>> DeviceProfileStore::cases_with_keys() {
  auto select = database_->prepare("SELECT DISTINCT case_id FROM case_keys ORDER BY case_id");
  if (!select.ok()) return unavailable(select.error());
  std::vector<sync::CaseId> cases;
  for (;;) {
    auto row = select->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) break;
    auto id = array_from<16>(select->column_blob(0));
    if (!id) return corrupt("case key's case id");
    cases.push_back(sync::CaseId{*id});
  }
  return cases;
}

Status DeviceProfileStore::delete_case_keys(const sync::CaseId& case_id) {
  auto transaction = database_->begin();
  if (!transaction.ok()) return unavailable(transaction.error());
  for (const char* sql :
       {"DELETE FROM case_keys WHERE case_id = ?", "DELETE FROM case_keyring_heads WHERE case_id = ?"}) {
    auto remove = database_->prepare(sql);
    if (!remove.ok()) return unavailable(remove.error());
    remove->bind_blob(1, id_bytes(case_id));
    if (auto ran = remove->run(); !ran.ok()) return unavailable(ran.error());
  }
  if (auto committed = transaction->commit(); !committed.ok()) return unavailable(committed.error());
  return ok_status();
}

Status DeviceProfileStore::save_recovery_public_key(const crypto::X25519PublicKey& recovery_public_key) {
  return update_profile(
      *database_, "UPDATE device_profile SET recovery_public_key = ? WHERE singleton = 1",
      [&](schema::Statement& update) { update.bind_blob(1, array_bytes(recovery_public_key)); });
}

Status DeviceProfileStore::store_keyring(const sync::KeyringManifest& head,
                                         const std::vector<CaseKey>& keys) {
  auto transaction = database_->begin();
  if (!transaction.ok()) return unavailable(transaction.error());
  // On failure the transaction is dropped uncommitted: nothing is kept.
  // REQUIRES (store_keyring's header): no transaction is open here.
  for (const CaseKey& key : keys) CASEFILE_RETURN_IF_ERROR(store_case_key(head.case_id, key.epoch, key.key));
  // The same head again keeps its held_epochs_shared; a new head starts at 0.
  auto upsert = database_->prepare(
      "INSERT OR REPLACE INTO case_keyring_heads (case_id, epoch, manifest, held_epochs_shared) "
      "VALUES (?1, ?2, ?3, coalesce((SELECT held_epochs_shared FROM case_keyring_heads "
      "WHERE case_id = ?1 AND epoch = ?2), 0))");
  if (!upsert.ok()) return unavailable(upsert.error());
  upsert->bind_blob(1, id_bytes(head.case_id))
      .bind_int64(2, head.epoch)
      .bind_blob(3, sync::encode_manifest(head));
  if (auto ran = upsert->run(); !ran.ok()) return unavailable(ran.error());
  if (auto committed = transaction->commit(); !committed.ok()) return unavailable(committed.error());
  return ok_status();
}

Result<std::optional<sync::KeyringManifest>> DeviceProfileStore::keyring_head(const sync::CaseId& case_id) {
  auto select = database_->prepare("SELECT epoch, manifest FROM case_keyring_heads WHERE case_id = ?");
  if (!select.ok()) return unavailable(select.error());
  select->bind_blob(1, id_bytes(case_id));
  auto row = select->step();
  if (!row.ok()) return unavailable(row.error());
  if (!*row) return std::optional<sync::KeyringManifest>();
  auto manifest = sync::decode_manifest(select->column_blob(1));
  if (!manifest.ok() || manifest->case_id != case_id ||
      manifest->epoch != static_cast<std::uint64_t>(select->column_int64(0))) {
    return corrupt("keyring head");
  }
  return std::optional<sync::KeyringManifest>(std::move(*manifest));
}

Result<std::vector<KeyringHeadSummary>> DeviceProfileStore::keyring_heads() {
  auto select = database_->prepare(
      "SELECT case_id, epoch, held_epochs_shared, (SELECT count(*) FROM case_keys WHERE case_keys.case_id = "
      "case_keyring_heads.case_id AND case_keys.epoch <= case_keyring_heads.epoch) "
      "FROM case_keyring_heads ORDER BY case_id");
  if (!select.ok()) return unavailable(select.error());
  std::vector<KeyringHeadSummary> heads;
  for (;;) {
    auto row = select->step();
    if (!row.ok()) return unavailable(row.error());
    if (!*row) break;
    auto id = array_from<16>(select->column_blob(0));
    if (!id) return corrupt("keyring head's case id");
    const std::int64_t epoch = select->column_int64(1);
    heads.push_back(KeyringHeadSummary{sync::CaseId{*id}, static_cast<std::uint32_t>(epoch),
                                       select->column_int64(2) != 0, select->column_int64(3) == epoch});
  }
  return heads;
}

Status DeviceProfileStore::mark_held_epochs_shared(const sync::CaseId& case_id) {
  auto update = database_->prepare("UPDATE case_keyring_heads SET held_epochs_shared = 1 WHERE case_id = ?");
  if (!update.ok()) return unavailable(update.error());
  update->bind_blob(1, id_bytes(case_id));
  if (auto ran = update->run(); !ran.ok()) return unavailable(ran.error());
  if (database_->changes() != 1) {
    return make_error("keyring_head_missing", "this device has accepted no keyring head of the case");
  }
  return ok_status();
}

}  // namespace casefile::device
