#include "device/field_device.hpp"

#include <algorithm>
#include <deque>
#include <system_error>
#include <utility>

#include "crypto/envelope.hpp"
#include "crypto/random.hpp"
#include "device/attachments.hpp"
#include "device/device_profile_store.hpp"
#include "device/device_vault.hpp"
#include "schema/intake_schema.hpp"
#include "schema/record_write_validation.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/recovery_key_statement.hpp"
#include "sync/schema_change_validator.hpp"

namespace casefile::device {

namespace internal {

// What an open device holds. internal::DeviceContext is this; the helpers below
// take it by this name, which (unlike internal::DeviceContext) is not private.
struct DeviceContext {
  explicit DeviceContext(const std::filesystem::path& directory) : vault(directory) {}

  DeviceVault vault;
  DeviceProfile profile;
  std::optional<crypto::Ed25519PrivateKey> signing_key;
  std::optional<crypto::X25519PrivateKey> wrapping_key;
  // Declared in this order so that they are dropped replica first, store last.
  std::optional<SqlcipherReplicaStore> store;
  std::optional<DeviceProfileStore> profile_store;
  std::optional<ChangeArchive> archive;
  std::optional<sync::Replica> replica;
};

}  // namespace internal

struct FieldDevice::State : internal::DeviceContext {
  using DeviceContext::DeviceContext;
};

namespace {

constexpr std::size_t kMaxSessionTokenBytes = 4096;
constexpr std::string_view kAmendments = "amendments";

Error wiped() {
  return make_error("device_wiped", "this device was wiped; nothing is left to read or write");
}

template <typename IdType>
Result<IdType> random_id() {
  auto bytes = crypto::random_bytes(16);
  if (!bytes.ok()) return std::move(bytes).error();
  IdType id;
  std::copy(bytes->begin(), bytes->end(), id.bytes.begin());
  return id;
}

Result<std::uint64_t> device_time(std::int64_t now_ms) {
  if (now_ms < 0) return make_error("invalid_argument", "a time before 1970 is not a device time");
  return static_cast<std::uint64_t>(now_ms);
}

// Where a sealed value lives, as the envelope's associated data binds it.
struct SealingContext {
  explicit SealingContext(const sync::RecordKey& record)
      : case_id(sync::to_text(record.case_id)), record_id(sync::to_text(record.record_id)) {}
  crypto::FieldContext for_field(const sync::RecordKey& record, std::string_view field) const {
    return crypto::FieldContext{case_id, record.collection, record_id, field};
  }
  std::string case_id;
  std::string record_id;
};

const schema::FieldDeclaration* find_declaration(std::string_view collection, std::string_view field) {
  const schema::CollectionDeclaration* declared = schema::current_declaration().find_collection(collection);
  return declared == nullptr ? nullptr : declared->find_field(field);
}

// Opens one sealed value in memory. Errors: "case_key_missing",
// "decrypt_failed", "sealed_value_invalid".
Result<PlainValue> open_sealed(DeviceProfileStore& keys, const sync::RecordKey& record,
                               std::string_view field, const schema::FieldType& type,
                               const sync::SealedValue& sealed) {
  auto epoch = crypto::read_envelope_epoch(sealed.envelope);
  if (!epoch.ok())
    return make_error("decrypt_failed", "a sealed value of " + std::string(field) + " is malformed");
  auto key = keys.case_key(record.case_id, *epoch);
  if (!key.ok()) return std::move(key).error();
  if (!key->has_value()) {
    return make_error("case_key_missing",
                      "this device has no key for epoch " + std::to_string(*epoch) + " of the case");
  }
  const SealingContext context(record);
  auto plaintext =
      crypto::open_field(context.for_field(record, field), *epoch, (*key)->view(), sealed.envelope);
  if (!plaintext.ok())
    return make_error("decrypt_failed", "a sealed value of " + std::string(field) + " does not open");
  return decode_sealed_plaintext(type, plaintext->view());
}

// The record as this replica shows it, for validation: winners (a
// "finalized" sibling counts, as the server counts it), sealed values opened.
// A sealed value this device cannot open is left out. Views point into
// `state` and `opened`.
schema::FieldMap current_field_views(DeviceProfileStore& keys, const sync::RecordState& state,
                                     std::deque<PlainValue>& opened) {
  schema::FieldMap fields = sync::record_field_views(state);
  for (auto it = fields.begin(); it != fields.end();) {
    const auto* sealed = std::get_if<schema::SealedView>(&it->second);
    if (sealed == nullptr) {
      ++it;
      continue;
    }
    const schema::FieldDeclaration* declared = find_declaration(state.key().collection, it->first);
    const sync::RegisterEntry* winner = state.field(it->first)->winner();
    const auto* envelope = std::get_if<sync::SealedValue>(&winner->value);
    if (declared == nullptr || envelope == nullptr) {
      it = fields.erase(it);
      continue;
    }
    auto value = open_sealed(keys, state.key(), it->first, declared->type, *envelope);
    if (!value.ok()) {
      it = fields.erase(it);
      continue;
    }
    opened.push_back(std::move(*value));
    it->second = plain_value_view(opened.back());
    ++it;
  }
  return fields;
}

// The live, clear fields of an amendment's target, or nullopt.
Result<std::optional<schema::FieldMap>> amendment_target_views(SqlcipherReplicaStore& store,
                                                               const sync::RecordKey& amendment,
                                                               const PlainFields& fields,
                                                               std::optional<sync::RecordState>& target) {
  const auto collection = fields.find("amends_collection");
  const auto record = fields.find("amends_record");
  if (collection == fields.end() || record == fields.end()) return std::optional<schema::FieldMap>();
  const auto* collection_text = std::get_if<std::string>(&collection->second);
  const auto* record_text = std::get_if<std::string>(&record->second);
  if (collection_text == nullptr || record_text == nullptr) return std::optional<schema::FieldMap>();
  auto record_id = sync::parse_id<sync::RecordId>(*record_text);
  if (!record_id) return std::optional<schema::FieldMap>();  // validation names the bad reference
  auto found = store.load_record(sync::RecordKey{amendment.case_id, *collection_text, *record_id});
  if (!found.ok()) return std::move(found).error();
  if (!found->has_value() || (*found)->is_deleted()) return std::optional<schema::FieldMap>();
  target = std::move(*found);
  return std::optional<schema::FieldMap>(sync::record_field_views(*target));
}

// Validates a write of `fields` over `current` (nullopt: the write creates
// the record) at ValidationLevel::device against the current schema.
Status validate_write(internal::DeviceContext& state, const sync::RecordKey& record,
                      const std::optional<sync::RecordState>& current, const PlainFields& fields) {
  std::deque<PlainValue> opened;
  std::optional<schema::FieldMap> current_views;
  if (current) current_views = current_field_views(*state.profile_store, *current, opened);
  schema::FieldMap written;
  for (const auto& [name, value] : fields) written.emplace(name, plain_value_view(value));

  std::optional<sync::RecordState> target;
  std::optional<schema::FieldMap> target_views;
  if (record.collection == kAmendments && !current) {
    auto found = amendment_target_views(*state.store, record, fields, target);
    if (!found.ok()) return std::move(found).error();
    target_views = std::move(*found);
  }

  schema::RecordWrite write;
  write.schema_version = schema::current_version();
  write.collection = record.collection;
  write.current = current_views ? &*current_views : nullptr;
  write.written = &written;
  write.amendment_target = target_views ? &*target_views : nullptr;
  return schema::validate_record_write(write, schema::ValidationLevel::device);
}

// The key new writes of the case use (field_device.hpp, write()).
Result<CaseKey> write_key(DeviceProfileStore& keys, const sync::CaseId& case_id) {
  auto head = keys.keyring_head(case_id);
  if (!head.ok()) return std::move(head).error();
  if (!head->has_value()) {
    auto newest = keys.newest_case_key(case_id);
    if (!newest.ok()) return std::move(newest).error();
    if (!newest->has_value()) {
      return make_error("case_key_missing",
                        "this device holds no key of the case, so it cannot seal a value");
    }
    return std::move(**newest);
  }
  const std::uint32_t epoch = (*head)->epoch;
  auto key = keys.case_key(case_id, epoch);
  if (!key.ok()) return std::move(key).error();
  if (!key->has_value()) {
    return make_error("case_key_unavailable", "this device does not hold epoch " + std::to_string(epoch) +
                                                  ", the case's newest, so it cannot write to the case");
  }
  return CaseKey{epoch, std::move(**key)};
}

// The field values to write: sealed fields sealed under the case's write
// epoch, clear ones as they are. REQUIRES: validated.
Result<std::vector<sync::FieldWrite>> seal_fields(internal::DeviceContext& state,
                                                  const sync::RecordKey& record, const PlainFields& fields) {
  std::optional<CaseKey> case_key;
  const SealingContext context(record);
  std::vector<sync::FieldWrite> writes;
  for (const auto& [name, value] : fields) {
    const schema::FieldDeclaration* declared = find_declaration(record.collection, name);
    const bool sealed = declared != nullptr && declared->protection == schema::Protection::sealed;
    if (!sealed || std::holds_alternative<std::monostate>(value)) {
      writes.push_back(sync::FieldWrite{name, plain_to_field_value(value)});
      continue;
    }
    if (!case_key) {
      auto key = write_key(*state.profile_store, record.case_id);
      if (!key.ok()) return std::move(key).error();
      case_key = std::move(*key);
    }
    const crypto::SecretBytes plaintext = encode_sealed_plaintext(value);
    auto envelope = crypto::seal_field(context.for_field(record, name), case_key->epoch, case_key->key.view(),
                                       plaintext.view());
    if (!envelope.ok()) return std::move(envelope).error();
    writes.push_back(sync::FieldWrite{name, sync::SealedValue{std::move(*envelope)}});
  }
  return writes;
}

Result<std::optional<sync::RecordState>> load_existing(internal::DeviceContext& state,
                                                       const sync::RecordKey& record) {
  auto current = state.store->load_record(record);
  if (!current.ok()) return std::move(current).error();
  if (!current->has_value()) return make_error("record_unknown", "this replica holds no such record");
  return current;
}

// One local write: validate, seal, record one change.
Status write_record(internal::DeviceContext& state, const sync::RecordKey& record,
                    const std::optional<sync::RecordState>& current, const PlainFields& fields,
                    std::int64_t now_ms) {
  auto now = device_time(now_ms);
  if (!now.ok()) return std::move(now).error();
  if (fields.empty()) return make_error("invalid_argument", "a write names at least one field");
  CASEFILE_RETURN_IF_ERROR(validate_write(state, record, current, fields));
  auto writes = seal_fields(state, record, fields);
  if (!writes.ok()) return std::move(writes).error();
  auto change = state.replica->write_fields(record, std::move(*writes), *now);
  if (!change.ok()) return std::move(change).error();
  return ok_status();
}

ValueRead read_value(DeviceProfileStore& keys, const sync::RecordKey& record, const std::string& field,
                     const schema::FieldDeclaration* declared, const sync::RegisterEntry& entry) {
  ValueRead read;
  read.author = entry.dot.device;
  read.author_sequence = entry.dot.sequence;
  read.hlc_wall_millis = entry.hlc.wall_millis();
  read.sealed = declared != nullptr && declared->protection == schema::Protection::sealed;
  if (const auto* envelope = std::get_if<sync::SealedValue>(&entry.value)) {
    read.sealed = true;
    if (auto epoch = crypto::read_envelope_epoch(envelope->envelope); epoch.ok()) read.epoch = *epoch;
    if (declared == nullptr) {
      read.unreadable = "sealed_value_invalid";  // a field this build does not know
      return read;
    }
    auto value = open_sealed(keys, record, field, declared->type, *envelope);
    if (value.ok()) {
      read.value = std::move(*value);
    } else {
      read.unreadable = value.error().code;
    }
    return read;
  }
  if (const auto* flag = std::get_if<bool>(&entry.value)) read.value = *flag;
  if (const auto* number = std::get_if<std::int64_t>(&entry.value)) read.value = *number;
  if (const auto* text = std::get_if<std::string>(&entry.value)) read.value = *text;
  return read;
}

Result<RecordRead> read_state(DeviceProfileStore& keys, const sync::RecordState& state) {
  RecordRead read;
  read.key = state.key();
  read.deleted = state.is_deleted();
  read.edit_delete_conflict = state.has_edit_delete_conflict();
  for (const auto& [name, field_register] : state.fields()) {
    const sync::RegisterEntry* winner = field_register.winner();
    if (winner == nullptr) continue;
    const schema::FieldDeclaration* declared = find_declaration(state.key().collection, name);
    FieldRead field;
    field.name = name;
    field.winner = read_value(keys, state.key(), name, declared, *winner);
    for (const sync::RegisterEntry& entry : field_register.entries()) {
      field.siblings.push_back(read_value(keys, state.key(), name, declared, entry));
    }
    read.fields.push_back(std::move(field));
  }
  return read;
}

// Opens the replica of an unlocked (or just created) device.
Status open_store(internal::DeviceContext& state, const crypto::SecretBytes& storage_key) {
  auto store = SqlcipherReplicaStore::open(state.vault.files().replica, storage_key);
  if (!store.ok()) return std::move(store).error();
  state.store.emplace(std::move(*store));
  state.profile_store.emplace(state.store->database());
  state.archive.emplace(state.store->database());
  return ok_status();
}

Status load_profile(internal::DeviceContext& state) {
  auto loaded = state.profile_store->load();
  if (!loaded.ok()) return std::move(loaded).error();
  state.profile = std::move(loaded->profile);
  state.signing_key.emplace(std::move(loaded->signing_key));
  state.wrapping_key.emplace(std::move(loaded->wrapping_key));
  auto replica = sync::Replica::open(state.profile.device_id, *state.store);
  if (!replica.ok()) return std::move(replica).error();
  state.replica.emplace(std::move(*replica));
  return ok_status();
}

}  // namespace

// --- Lifecycle ---

namespace {

// Creates a device in the directory `state` names, whatever is there.
Status create_device(internal::DeviceContext& state, std::string_view passphrase,
                     const CreateOptions& options) {
  VaultCreateOptions vault_options;
  vault_options.duress_passphrase = options.duress_passphrase;
  vault_options.lockout_after = options.lockout_after;
  vault_options.scrypt = options.scrypt;
  auto storage_key = state.vault.prepare(passphrase, vault_options);
  if (!storage_key.ok()) return std::move(storage_key).error();
  // A replica left by a create that did not finish is nobody's.
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CASEFILE_RETURN_IF_ERROR(destroy_file(state.vault.files().replica.string() + suffix));
  }
  CASEFILE_RETURN_IF_ERROR(open_store(state, *storage_key));
  auto device_id = random_id<sync::DeviceId>();
  if (!device_id.ok()) return std::move(device_id).error();
  auto signing_key = crypto::Ed25519PrivateKey::generate();
  if (!signing_key.ok()) return std::move(signing_key).error();
  auto wrapping_key = crypto::X25519PrivateKey::generate();
  if (!wrapping_key.ok()) return std::move(wrapping_key).error();
  CASEFILE_RETURN_IF_ERROR(state.profile_store->initialise(*device_id, *signing_key, *wrapping_key));
  CASEFILE_RETURN_IF_ERROR(load_profile(state));
  // Last: until storage.key exists, the directory holds no device.
  return state.vault.save_storage_key(*storage_key, passphrase, options.scrypt);
}

}  // namespace

Result<FieldDevice> FieldDevice::create(const std::filesystem::path& directory, std::string_view passphrase,
                                        const CreateOptions& options) {
  auto state = std::make_unique<State>(directory);
  if (state->vault.initialised()) {
    return make_error("device_exists", "a device already lives in " + directory.string());
  }
  CASEFILE_RETURN_IF_ERROR(create_device(*state, passphrase, options));
  return FieldDevice(std::move(state));
}

Result<FieldDevice> FieldDevice::unlock(const std::filesystem::path& directory, std::string_view passphrase) {
  auto state = std::make_unique<State>(directory);
  auto unlocked = state->vault.unlock(passphrase);
  if (!unlocked.ok()) return std::move(unlocked).error();
  if (unlocked->with == UnlockedWith::duress_passphrase) {
    // Destroy everything, then look exactly like a device just created with
    // this passphrase and the same lock-out and scrypt settings.
    CASEFILE_RETURN_IF_ERROR(state->vault.destroy_all());
    CreateOptions options;
    options.lockout_after = unlocked->lockout_after;
    options.scrypt = unlocked->scrypt;
    CASEFILE_RETURN_IF_ERROR(create_device(*state, passphrase, options));
    return FieldDevice(std::move(state));
  }
  std::error_code error;
  if (!std::filesystem::exists(state->vault.files().replica, error)) {
    return make_error("replica_missing", "replica.db is missing beside storage.key");
  }
  CASEFILE_RETURN_IF_ERROR(open_store(*state, unlocked->storage_key));
  CASEFILE_RETURN_IF_ERROR(load_profile(*state));
  return FieldDevice(std::move(state));
}

FieldDevice::FieldDevice(std::unique_ptr<State> state) : state_(std::move(state)) {}
FieldDevice::FieldDevice(FieldDevice&&) noexcept = default;
FieldDevice& FieldDevice::operator=(FieldDevice&&) noexcept = default;
FieldDevice::~FieldDevice() = default;

const std::filesystem::path& FieldDevice::directory() const { return state_->vault.files().directory; }
const DeviceProfile& FieldDevice::profile() const { return state_->profile; }
const crypto::Ed25519PrivateKey& FieldDevice::signing_key() const { return *state_->signing_key; }
const crypto::X25519PrivateKey& FieldDevice::wrapping_key() const { return *state_->wrapping_key; }

// --- Profile ---

Status FieldDevice::begin_enrolment(const ServerEndpoint& server,
                                    const crypto::Sha256Digest& authority_fingerprint) {
  if (!state_->store) return wiped();
  CASEFILE_RETURN_IF_ERROR(state_->profile_store->save_enrolment(server, authority_fingerprint));
  state_->profile.server = server;
  state_->profile.authority_fingerprint = authority_fingerprint;
  state_->profile.authority_key.reset();
  state_->profile.certificate.reset();
  state_->profile.state = EnrolmentState::pending;
  return ok_status();
}

Status FieldDevice::set_server_pin(const crypto::Sha256Digest& pin) {
  if (!state_->store) return wiped();
  if (!state_->profile.server) return make_error("not_enrolled", "the device has no server to pin");
  CASEFILE_RETURN_IF_ERROR(state_->profile_store->save_server_pin(pin));
  state_->profile.server->pin = pin;
  return ok_status();
}

Status FieldDevice::record_certificate(const sync::DeviceCertificate& certificate,
                                       const crypto::Ed25519PublicKey& authority_key, std::int64_t now_ms) {
  if (!state_->store) return wiped();
  const DeviceProfile& profile = state_->profile;
  if (!profile.authority_fingerprint) {
    return make_error("not_enrolled", "begin enrolment before recording a certificate");
  }
  if (crypto::sha256(authority_key) != *profile.authority_fingerprint) {
    return make_error("certificate_wrong_authority", "the authority key is not the one enrolment named");
  }
  CASEFILE_RETURN_IF_ERROR(sync::verify_certificate(certificate, authority_key, now_ms));
  if (certificate.device != profile.device_id ||
      certificate.signing_public_key != state_->signing_key->public_key() ||
      certificate.wrapping_public_key != state_->wrapping_key->public_key()) {
    return make_error("certificate_not_mine", "the certificate is for another device or other keys");
  }
  CASEFILE_RETURN_IF_ERROR(state_->profile_store->save_certificate(certificate, authority_key));
  state_->profile.authority_key = authority_key;
  state_->profile.certificate = certificate;
  state_->profile.state = EnrolmentState::certified;
  return ok_status();
}

std::optional<crypto::Ed25519PublicKey> FieldDevice::author_key(const sync::DeviceId& author) {
  if (!state_->store) return std::nullopt;
  if (author == state_->profile.device_id) return state_->signing_key->public_key();
  auto cached = state_->profile_store->cached_certificate(author);
  if (!cached.ok() || !cached->has_value()) return std::nullopt;
  return (*cached)->signing_public_key;
}

Status FieldDevice::cache_certificate(const sync::DeviceCertificate& certificate) {
  if (!state_->store) return wiped();
  if (!state_->profile.authority_key) {
    return make_error("not_certified", "this device has no authority key to verify certificates with");
  }
  // The signature and authority are checked; the period is not, since
  // changes signed while a certificate was valid stay valid after it ends.
  CASEFILE_RETURN_IF_ERROR(
      sync::verify_certificate(certificate, *state_->profile.authority_key, certificate.not_before_ms));
  return state_->profile_store->cache_certificate(certificate);
}

std::optional<std::string> FieldDevice::session_token(std::int64_t now_ms) {
  if (!state_->store) return std::nullopt;
  auto session = state_->profile_store->load_session();
  if (!session.ok() || !session->has_value() || (*session)->expires_at_ms <= now_ms) return std::nullopt;
  return (*session)->token;
}

Status FieldDevice::store_session_token(const std::string& token, std::int64_t expires_at_ms) {
  if (!state_->store) return wiped();
  if (token.empty() || token.size() > kMaxSessionTokenBytes) {
    return make_error("invalid_argument", "a session token is 1 to 4096 bytes");
  }
  return state_->profile_store->save_session(SessionToken{token, expires_at_ms});
}

Status FieldDevice::record_sync_completed(std::int64_t now_ms) {
  if (!state_->store) return wiped();
  return state_->profile_store->save_last_sync(now_ms);
}

// --- Cases and records ---

Result<sync::CaseId> FieldDevice::create_case(const PlainFields& fields, std::int64_t now_ms) {
  if (!state_->store) return wiped();
  auto case_id = random_id<sync::CaseId>();
  if (!case_id.ok()) return std::move(case_id).error();
  const sync::RecordKey record{*case_id, "cases", sync::RecordId{case_id->bytes}};
  // Validate before a key exists, so a refused case leaves nothing behind.
  CASEFILE_RETURN_IF_ERROR(validate_write(*state_, record, std::nullopt, fields));
  auto key = crypto::random_secret(crypto::kCaseKeySize);
  if (!key.ok()) return std::move(key).error();
  CASEFILE_RETURN_IF_ERROR(state_->profile_store->store_case_key(*case_id, 1, *key));
  CASEFILE_RETURN_IF_ERROR(write_record(*state_, record, std::nullopt, fields, now_ms));
  return *case_id;
}

Result<sync::RecordKey> FieldDevice::write(const sync::CaseId& case_id, std::string_view collection,
                                           std::optional<sync::RecordId> record_id, const PlainFields& fields,
                                           std::int64_t now_ms) {
  if (!state_->store) return wiped();
  std::optional<sync::RecordState> current;
  sync::RecordKey record{case_id, std::string(collection), {}};
  if (record_id) {
    record.record_id = *record_id;
    auto existing = load_existing(*state_, record);
    if (!existing.ok()) return std::move(existing).error();
    current = std::move(*existing);
  } else {
    auto id = random_id<sync::RecordId>();
    if (!id.ok()) return std::move(id).error();
    record.record_id = *id;
  }
  CASEFILE_RETURN_IF_ERROR(write_record(*state_, record, current, fields, now_ms));
  return record;
}

Result<sync::RecordKey> FieldDevice::create_record_with(const sync::RecordKey& record,
                                                        const PlainFields& fields, std::int64_t now_ms,
                                                        const std::function<Status()>& same_transaction) {
  if (!state_->store) return wiped();
  auto existing = state_->store->load_record(record);
  if (!existing.ok()) return std::move(existing).error();
  if (existing->has_value()) return make_error("record_exists", "a record with this id exists");
  CASEFILE_RETURN_IF_ERROR(commit_together([&]() -> Status {
    CASEFILE_RETURN_IF_ERROR(write_record(*state_, record, std::nullopt, fields, now_ms));
    return same_transaction();
  }));
  return record;
}

Status FieldDevice::finalize(const sync::RecordKey& record, std::int64_t now_ms) {
  auto written = write(record.case_id, record.collection, record.record_id,
                       {{"status", std::string("finalized")}, {"finalized_at", now_ms}}, now_ms);
  if (!written.ok()) return std::move(written).error();
  return ok_status();
}

Result<sync::RecordKey> FieldDevice::amend(const sync::RecordKey& target, const PlainFields& fields,
                                           std::int64_t now_ms) {
  PlainFields amendment = fields;
  amendment["amends_collection"] = target.collection;
  amendment["amends_record"] = sync::to_text(target.record_id);
  amendment["amended_at"] = now_ms;
  return write(target.case_id, kAmendments, std::nullopt, amendment, now_ms);
}

Status FieldDevice::resolve(const sync::RecordKey& record, std::string_view field, const PlainValue& value,
                            std::int64_t now_ms) {
  if (!state_->store) return wiped();
  auto now = device_time(now_ms);
  if (!now.ok()) return std::move(now).error();
  auto current = load_existing(*state_, record);
  if (!current.ok()) return std::move(current).error();
  const PlainFields fields{{std::string(field), value}};
  CASEFILE_RETURN_IF_ERROR(validate_write(*state_, record, *current, fields));
  auto writes = seal_fields(*state_, record, fields);
  if (!writes.ok()) return std::move(writes).error();
  auto change = state_->replica->resolve_field(record, std::move(writes->front().field),
                                               std::move(writes->front().value), *now);
  if (!change.ok()) return std::move(change).error();
  return ok_status();
}

Result<std::vector<sync::RecordKey>> FieldDevice::list_records(std::optional<sync::CaseId> case_id) {
  if (!state_->store) return wiped();
  auto keys = state_->store->list_record_keys();
  if (!keys.ok()) return std::move(keys).error();
  if (case_id) std::erase_if(*keys, [&](const sync::RecordKey& key) { return key.case_id != *case_id; });
  return keys;
}

Result<RecordRead> FieldDevice::read(const sync::RecordKey& record) {
  if (!state_->store) return wiped();
  auto state = load_existing(*state_, record);
  if (!state.ok()) return std::move(state).error();
  return read_state(*state_->profile_store, **state);
}

Result<std::vector<RecordRead>> FieldDevice::conflicts() {
  if (!state_->store) return wiped();
  auto keys = state_->store->list_record_keys();
  if (!keys.ok()) return std::move(keys).error();
  std::vector<RecordRead> records;
  for (const sync::RecordKey& key : *keys) {
    auto state = state_->store->load_record(key);
    if (!state.ok()) return std::move(state).error();
    if (!state->has_value() || !(*state)->needs_resolution()) continue;
    auto read = read_state(*state_->profile_store, **state);
    if (!read.ok()) return std::move(read).error();
    records.push_back(std::move(*read));
  }
  return records;
}

Result<std::vector<sync::QuarantinedChange>> FieldDevice::quarantine() {
  if (!state_->store) return wiped();
  return state_->store->read_quarantine();
}

Result<DeviceStatus> FieldDevice::status() {
  if (!state_->store) return wiped();
  DeviceStatus status;
  status.device_id = state_->profile.device_id;
  status.state = state_->profile.state;
  auto depth = state_->store->outbox_depth();
  if (!depth.ok()) return std::move(depth).error();
  status.outbox_depth = *depth;
  auto quarantined = state_->store->read_quarantine();
  if (!quarantined.ok()) return std::move(quarantined).error();
  status.quarantined = quarantined->size();
  auto keys = state_->store->list_record_keys();
  if (!keys.ok()) return std::move(keys).error();
  status.records = keys->size();
  for (const sync::RecordKey& key : *keys) {
    auto state = state_->store->load_record(key);
    if (!state.ok()) return std::move(state).error();
    if (!state->has_value()) continue;
    for (const auto& field : (*state)->fields()) {
      if (field.second.in_conflict()) ++status.fields_in_conflict;
    }
  }
  auto last_sync = state_->profile_store->load_last_sync();
  if (!last_sync.ok()) return std::move(last_sync).error();
  status.last_sync_ms = *last_sync;
  return status;
}

// --- Case keys ---

Status FieldDevice::store_case_key(const sync::CaseId& case_id, std::uint32_t epoch,
                                   const crypto::SecretBytes& key) {
  if (!state_->store) return wiped();
  return state_->profile_store->store_case_key(case_id, epoch, key);
}

std::vector<sync::CaseId> FieldDevice::cases_with_keys() {
  if (!state_->store) return {};
  auto cases = state_->profile_store->cases_with_keys();
  if (!cases.ok()) return {};
  return std::move(*cases);
}

// --- Sync plumbing ---

sync::Replica& FieldDevice::replica() { return *state_->replica; }
SqlcipherReplicaStore& FieldDevice::store() { return *state_->store; }
ChangeArchive& FieldDevice::archive() { return *state_->archive; }

Status FieldDevice::commit_together(const std::function<Status()>& steps) {
  if (!state_->store) return wiped();
  CASEFILE_RETURN_IF_ERROR(state_->store->begin_commit_group());
  auto done = steps();
  if (done.ok()) done = state_->store->finish_commit_group();
  if (done.ok()) return done;
  // Rolled back: the replica's meta may have run ahead of the file.
  state_->store->abandon_commit_group();
  auto reopened = sync::Replica::open(state_->profile.device_id, *state_->store);
  if (!reopened.ok()) return std::move(reopened).error();
  state_->replica.emplace(std::move(*reopened));
  return done;
}

// --- Case keyrings ---

Result<std::optional<sync::KeyringManifest>> FieldDevice::keyring_head(const sync::CaseId& case_id) {
  if (!state_->store) return wiped();
  return state_->profile_store->keyring_head(case_id);
}

Result<sync::CaseKeyring> FieldDevice::accept_keyring(const sync::CaseId& case_id,
                                                      std::span<const sync::KeyringEpochEntry> entries) {
  if (!state_->store) return wiped();
  if (!state_->profile.authority_key) {
    return make_error("not_certified", "this device has no authority key to verify keyrings with");
  }
  auto accepted = state_->profile_store->keyring_head(case_id);
  if (!accepted.ok()) return std::move(accepted).error();
  const sync::DeviceSigningKeyLookup signers = [this](const sync::DeviceId& device) {
    return author_key(device);
  };
  auto keyring = sync::CaseKeyring::open(case_id, entries, *state_->profile.authority_key, signers,
                                         state_->profile.device_id, *state_->wrapping_key, *accepted);
  if (!keyring.ok()) return std::move(keyring).error();
  std::vector<CaseKey> keys;
  for (const std::uint32_t epoch : keyring->held_epochs()) {
    auto key = keyring->key(epoch);
    if (!key.ok()) return std::move(key).error();
    keys.push_back(CaseKey{epoch, crypto::SecretBytes(*key)});
  }
  CASEFILE_RETURN_IF_ERROR(state_->profile_store->store_keyring(keyring->head(), keys));
  return keyring;
}

Result<std::vector<sync::CaseId>> FieldDevice::cases_awaiting_genesis() {
  if (!state_->store) return wiped();
  auto cases = state_->profile_store->cases_with_keys();
  if (!cases.ok()) return std::move(cases).error();
  auto heads = state_->profile_store->keyring_heads();
  if (!heads.ok()) return std::move(heads).error();
  std::erase_if(*cases, [&](const sync::CaseId& case_id) {
    return std::any_of(heads->begin(), heads->end(),
                       [&](const auto& head) { return head.case_id == case_id; });
  });
  return cases;
}

Result<GenesisEpoch> FieldDevice::prepare_genesis(const sync::CaseId& case_id, std::int64_t now_ms) {
  if (!state_->store) return wiped();
  const DeviceProfile& profile = state_->profile;
  if (profile.state != EnrolmentState::certified || !profile.authority_fingerprint) {
    return make_error("not_certified", "only a certified device signs a genesis keyring manifest");
  }
  if (!profile.recovery_public_key) {
    return make_error("recovery_key_missing",
                      "this device does not hold the organisation's recovery key yet");
  }
  auto key = state_->profile_store->case_key(case_id, 1);
  if (!key.ok()) return std::move(key).error();
  if (!key->has_value())
    return make_error("case_key_missing", "this device holds no epoch 1 key of the case");
  auto plan = sync::plan_first_epoch(case_id, {profile.device_id}, *profile.recovery_public_key,
                                     crypto::kEnvelopeVersion, std::move(**key), now_ms);
  if (!plan.ok()) return std::move(plan).error();
  plan->manifest.authority_fingerprint = *profile.authority_fingerprint;
  const std::vector<sync::RecipientKey> recipients{{profile.device_id, state_->wrapping_key->public_key()},
                                                   {sync::kRecoveryRecipient, *profile.recovery_public_key}};
  auto wraps = sync::wrap_rotation(*plan, recipients);
  if (!wraps.ok()) return std::move(wraps).error();
  auto signed_manifest = sync::sign_genesis_manifest(std::move(plan->manifest), *state_->signing_key);
  if (!signed_manifest.ok()) return std::move(signed_manifest).error();
  return GenesisEpoch{std::move(*signed_manifest), std::move(*wraps)};
}

Status FieldDevice::record_recovery_key(const crypto::X25519PublicKey& recovery_public_key,
                                        const crypto::Ed25519Signature& statement_signature) {
  if (!state_->store) return wiped();
  if (!state_->profile.authority_key) {
    return make_error("not_certified", "this device has no authority key to verify the recovery key with");
  }
  if (auto verified = sync::verify_recovery_key_statement(recovery_public_key, statement_signature,
                                                          *state_->profile.authority_key);
      !verified.ok()) {
    return make_error("recovery_key_invalid",
                      "the recovery key statement does not verify: " + verified.error().code);
  }
  CASEFILE_RETURN_IF_ERROR(state_->profile_store->save_recovery_public_key(recovery_public_key));
  state_->profile.recovery_public_key = recovery_public_key;
  return ok_status();
}

std::optional<crypto::X25519PublicKey> FieldDevice::certified_wrapping_key(const sync::DeviceId& device) {
  if (!state_->store) return std::nullopt;
  if (device == state_->profile.device_id) return state_->wrapping_key->public_key();
  auto cached = state_->profile_store->cached_certificate(device);
  if (!cached.ok() || !cached->has_value()) return std::nullopt;
  return (*cached)->wrapping_public_key;
}

Status FieldDevice::mark_held_epochs_shared(const sync::CaseId& case_id) {
  if (!state_->store) return wiped();
  return state_->profile_store->mark_held_epochs_shared(case_id);
}

Result<std::vector<KeyringHeadSummary>> FieldDevice::keyring_heads() {
  if (!state_->store) return wiped();
  return state_->profile_store->keyring_heads();
}

// --- Re-encryption ---

namespace {

// What re-encryption does with one record: the plaintexts of the sealed
// values to re-seal under `head_epoch`, and the counts of what it leaves.
PlainFields values_to_reseal(DeviceProfileStore& keys, const sync::RecordState& state,
                             std::uint32_t head_epoch, ReencryptReport& report) {
  PlainFields fields;
  for (const auto& [name, field_register] : state.fields()) {
    const sync::RegisterEntry* winner = field_register.winner();
    if (winner == nullptr) continue;
    const bool sealed = std::any_of(field_register.entries().begin(), field_register.entries().end(),
                                    [](const sync::RegisterEntry& entry) {
                                      return std::holds_alternative<sync::SealedValue>(entry.value);
                                    });
    if (!sealed) continue;
    if (field_register.in_conflict()) {
      ++report.fields_in_conflict;
      continue;
    }
    const auto& envelope = std::get<sync::SealedValue>(winner->value);
    auto epoch = crypto::read_envelope_epoch(envelope.envelope);
    if (epoch.ok() && *epoch >= head_epoch) {
      ++report.values_current;
      continue;
    }
    const schema::FieldDeclaration* declared = find_declaration(state.key().collection, name);
    auto value = declared == nullptr || !epoch.ok()
                     ? Result<PlainValue>(make_error("decrypt_failed", "unknown field or malformed envelope"))
                     : open_sealed(keys, state.key(), name, declared->type, envelope);
    if (!value.ok()) {
      ++report.values_unreadable;
      continue;
    }
    fields.emplace(name, std::move(*value));
  }
  return fields;
}

}  // namespace

Result<ReencryptReport> FieldDevice::reencrypt_case(const sync::CaseId& case_id,
                                                    const ReencryptProgressCallback& progress,
                                                    std::int64_t now_ms, std::size_t batch_records) {
  if (!state_->store) return wiped();
  if (batch_records == 0)
    return make_error("invalid_argument", "a re-encryption batch holds at least one record");
  auto head = state_->profile_store->keyring_head(case_id);
  if (!head.ok()) return std::move(head).error();
  if (!head->has_value()) {
    return make_error("keyring_head_missing", "this device has accepted no keyring of the case: sync first");
  }
  ReencryptReport report;
  report.epoch = (*head)->epoch;
  auto head_key = state_->profile_store->case_key(case_id, report.epoch);
  if (!head_key.ok()) return std::move(head_key).error();
  if (!head_key->has_value()) {
    return make_error("case_key_unavailable", "this device does not hold epoch " +
                                                  std::to_string(report.epoch) + ", the case's newest");
  }
  auto records = list_records(case_id);
  if (!records.ok()) return std::move(records).error();
  const std::uint64_t total = records->size();

  // One batch: one transaction (commit_together).
  auto run_batch = [&](std::size_t begin, std::size_t end) -> Status {
    return commit_together([&]() -> Status {
      for (std::size_t i = begin; i < end; ++i) {
        auto current = state_->store->load_record((*records)[i]);
        if (!current.ok()) return std::move(current).error();
        if (!current->has_value() || (*current)->is_deleted() || (*current)->has_edit_delete_conflict())
          continue;
        const PlainFields fields = values_to_reseal(*state_->profile_store, **current, report.epoch, report);
        if (fields.empty()) continue;
        auto written = write_record(*state_, (*records)[i], *current, fields, now_ms);
        if (!written.ok()) {
          if (written.error().code != "record_finalized") return written;
          ++report.records_immutable;
          continue;
        }
        ++report.records_rewritten;
        report.values_rewritten += fields.size();
      }
      return ok_status();
    });
  };

  for (std::size_t begin = 0; begin < records->size(); begin += batch_records) {
    const std::size_t end = std::min(records->size(), begin + batch_records);
    CASEFILE_RETURN_IF_ERROR(run_batch(begin, end));
    report.records = end;
    if (progress && !progress(ReencryptProgress{end, total})) {
      return make_error("reencrypt_cancelled", "re-encryption stopped after " + std::to_string(end) + " of " +
                                                   std::to_string(total) +
                                                   " records; run it again to resume");
    }
  }
  return report;
}

Status FieldDevice::purge_case(const sync::CaseId& case_id) {
  if (!state_->store) return wiped();
  // Data first, then keys: a crash in between leaves keys of an empty case,
  // and purging again finishes. Attachment ciphertexts go before their rows.
  auto attachments = list_attachments(*this, case_id);
  if (!attachments.ok()) return std::move(attachments).error();
  for (const AttachmentStatus& attachment : *attachments) {
    std::error_code ignored;
    std::filesystem::remove(attachment_ciphertext_path(*this, attachment.record.record_id), ignored);
  }
  CASEFILE_RETURN_IF_ERROR(state_->store->purge_case(case_id));
  return state_->profile_store->delete_case_keys(case_id);
}

Status FieldDevice::wipe() {
  state_->replica.reset();
  state_->archive.reset();
  state_->profile_store.reset();
  state_->store.reset();  // closes the replica before its files go
  CASEFILE_RETURN_IF_ERROR(state_->vault.destroy_all());
  std::error_code ignored;
  // Attachment ciphertexts are useless without the replica's keys; they go too.
  std::filesystem::remove_all(state_->vault.files().directory / "attachments", ignored);
  std::filesystem::remove(state_->vault.files().directory, ignored);  // only if empty
  return ok_status();
}

// --- Keys ---

Status FieldDevice::change_passphrase(std::string_view old_passphrase, std::string_view new_passphrase) {
  if (!state_->store) return wiped();
  return state_->vault.change_passphrase(old_passphrase, new_passphrase);
}

Status FieldDevice::rotate_storage_key(std::string_view passphrase) {
  if (!state_->store) return wiped();
  auto next_key = state_->vault.begin_rotation(passphrase);
  if (!next_key.ok()) return std::move(next_key).error();
  if (auto rekeyed = state_->store->rekey(*next_key); !rekeyed.ok()) {
    // The replica keeps its old key when rekey fails (one transaction).
    CASEFILE_RETURN_IF_ERROR(state_->vault.abandon_rotation());
    return rekeyed;
  }
  return state_->vault.finish_rotation();
}

}  // namespace casefile::device
