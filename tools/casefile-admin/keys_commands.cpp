#include "tools/casefile-admin/keys_commands.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>

#include "crypto/envelope.hpp"
#include "crypto/key_file.hpp"
#include "crypto/x25519.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/instance.hpp"
#include "server/store/sqlcipher_server_store.hpp"
#include "server/sync_api/database_key_file.hpp"
#include "server/sync_api/keyring_administration.hpp"
#include "server/sync_api/sqlcipher_key_wrap_store.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/sealed_field_context.hpp"
#include "tools/casefile-admin/access_commands.hpp"
#include "tools/casefile-admin/instance_stores.hpp"
#include "tools/casefile-device/progress_bar.hpp"

namespace casefile::admin {
namespace {

namespace json = boost::json;
using server::KeyringAdministration;
using server::KeyringOutcome;

// The stores and identity a keyring command works with.
struct KeyringSession {
  server::InstanceSummary instance;
  std::unique_ptr<server::KeyWrapStore> keys;
  std::unique_ptr<server::ControlStore> owned_control;  // null when the caller lends one
  std::unique_ptr<KeyringAdministration> administration;
};

Result<KeyringSession> open_keyring_session(const Options& options, server::ControlStore* control = nullptr) {
  KeyringSession session;
  auto instance = server::describe_instance(options.instance);
  if (!instance.ok()) return std::move(instance).error();
  session.instance = std::move(*instance);
  auto keys = open_instance_key_wrap_store(options.instance);
  if (!keys.ok()) return std::move(keys).error();
  session.keys = std::move(*keys);
  if (control == nullptr) {
    auto opened = open_instance_control_store(options.instance);
    if (!opened.ok()) return std::move(opened).error();
    session.owned_control = std::move(*opened);
    control = session.owned_control.get();
  }
  session.administration =
      std::make_unique<KeyringAdministration>(*control, *session.keys, session.instance.authority_public_key,
                                              session.instance.recovery_public_key, admin_actor());
  return session;
}

Result<sync::CaseId> case_option(const Options& options) {
  auto text = options.value("case");
  if (!text) return make_error("usage", "--case is required");
  auto case_id = sync::parse_id<sync::CaseId>(*text);
  if (!case_id) return make_error("usage", "--case must be a case id (8-4-4-4-12 hex)");
  return *case_id;
}

// --case C, or every case when it is absent.
Result<std::vector<sync::CaseId>> selected_cases(const Options& options,
                                                 KeyringAdministration& administration) {
  if (options.value("case")) {
    auto case_id = case_option(options);
    if (!case_id.ok()) return std::move(case_id).error();
    return std::vector<sync::CaseId>{*case_id};
  }
  return administration.all_cases();
}

json::array id_array(const std::vector<sync::DeviceId>& ids) {
  json::array array;
  for (const auto& id : ids) array.emplace_back(sync::to_text(id));
  return array;
}

// Counts by outcome, for the summary line and --json.
json::object summarize(const std::vector<server::CaseKeyringResult>& results) {
  std::int64_t rotated = 0, unchanged = 0, awaiting = 0;
  for (const auto& result : results) {
    if (result.outcome == KeyringOutcome::rotated) ++rotated;
    if (result.outcome == KeyringOutcome::unchanged) ++unchanged;
    if (result.outcome == KeyringOutcome::awaiting_genesis) ++awaiting;
  }
  return json::object{{"rotated", rotated}, {"unchanged", unchanged}, {"awaiting_genesis", awaiting}};
}

std::string summary_line(const json::object& counts) {
  return "case keys: " + std::to_string(counts.at("rotated").as_int64()) + " rotated, " +
         std::to_string(counts.at("unchanged").as_int64()) + " unchanged, " +
         std::to_string(counts.at("awaiting_genesis").as_int64()) + " awaiting genesis";
}

json::object result_json(const server::CaseKeyringResult& result) {
  json::object item{{"case", sync::to_text(result.case_id)},
                    {"outcome", std::string(server::keyring_outcome_name(result.outcome))},
                    {"members", id_array(result.members)}};
  item["head_epoch"] = result.head_epoch == 0 ? json::value(nullptr) : json::value(result.head_epoch);
  return item;
}

// Runs a reconcile with a progress bar on a terminal (never with --json).
Result<std::vector<server::CaseKeyringResult>> reconcile_with_progress(
    const Options& options, KeyringAdministration& administration, const std::vector<sync::CaseId>& cases,
    const crypto::Ed25519PrivateKey& authority, const server::ReconcileOptions& reconcile_options) {
  device_tool::TerminalProgressBar bar(!options.json && device_tool::standard_error_is_terminal());
  auto results = administration.reconcile(
      cases, authority, reconcile_options,
      [&bar](std::size_t done, std::size_t total) { bar.show("cases", done, total); });
  bar.finish();
  return results;
}

int run_status(const Options& options) {
  auto session = open_keyring_session(options);
  if (!session.ok()) return fail(options, session.error());
  auto cases = selected_cases(options, *session->administration);
  if (!cases.ok()) return fail(options, cases.error());
  auto statuses = session->administration->status(*cases);
  if (!statuses.ok()) return fail(options, statuses.error());
  if (options.json) {
    json::array list;
    for (const auto& status : *statuses) {
      json::object item{{"case", sync::to_text(status.case_id)},
                        {"awaiting_genesis", !status.head.has_value()},
                        {"needs_reconcile", status.needs_reconcile()},
                        {"desired_members", id_array(status.desired_members)}};
      item["head_epoch"] = status.head ? json::value(status.head->epoch) : json::value(nullptr);
      item["members"] =
          status.head ? json::value(id_array(status.head->members)) : json::value(json::array{});
      list.push_back(std::move(item));
    }
    print_json({{"cases", std::move(list)}});
    return kExitOk;
  }
  std::cout << std::left << std::setw(38) << "CASE" << std::setw(7) << "EPOCH" << std::setw(9) << "MEMBERS"
            << "STATE\n";
  for (const auto& status : *statuses) {
    std::cout << std::setw(38) << sync::to_text(status.case_id) << std::setw(7)
              << (status.head ? std::to_string(status.head->epoch) : "-") << std::setw(9)
              << (status.head ? std::to_string(status.head->members.size()) : "-")
              << (!status.head               ? "awaiting_genesis"
                  : status.needs_reconcile() ? "needs_reconcile"
                                             : "current")
              << "\n";
    if (status.head) {
      for (const auto& member : status.head->members)
        std::cout << "    member " << sync::to_text(member) << "\n";
    }
  }
  return kExitOk;
}

int print_results(const Options& options, const std::vector<server::CaseKeyringResult>& results,
                  json::object extra = {}) {
  const json::object counts = summarize(results);
  if (options.json) {
    json::array list;
    for (const auto& result : results) list.push_back(result_json(result));
    extra["cases"] = std::move(list);
    extra["summary"] = counts;
    print_json(std::move(extra));
    return kExitOk;
  }
  for (const auto& result : results) {
    if (result.outcome == KeyringOutcome::unchanged) continue;
    std::cout << sync::to_text(result.case_id) << "  " << server::keyring_outcome_name(result.outcome);
    if (result.outcome == KeyringOutcome::rotated) {
      std::cout << " to epoch " << result.head_epoch << " (" << result.members.size() << " devices)";
    }
    std::cout << "\n";
  }
  std::cout << summary_line(counts) << "\n";
  return kExitOk;
}

int run_rotate_or_reconcile(const Options& options, bool rotate) {
  const bool all = options.flag("all");
  if (rotate && all == options.value("case").has_value())
    return usage_error("keys rotate takes --case C or --all");
  if (!rotate && all) return usage_error("keys reconcile takes [--case C]");
  server::ReconcileOptions reconcile_options;
  reconcile_options.force = rotate;
  const std::int64_t started_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  if (auto since = options.value("since")) {
    if (!rotate) return usage_error("--since is for keys rotate");
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(since->data(), since->data() + since->size(), value);
    if (error != std::errc() || end != since->data() + since->size() || value < 0) {
      return usage_error("--since must be ms since the Unix epoch (as keys rotate printed it)");
    }
    reconcile_options.skip_heads_issued_since_ms = value;
  } else if (rotate) {
    reconcile_options.skip_heads_issued_since_ms = started_at;
  }
  auto session = open_keyring_session(options);
  if (!session.ok()) return fail(options, session.error());
  auto authority = load_authority(options);
  if (!authority.ok()) return fail(options, authority.error());
  auto cases = selected_cases(options, *session->administration);
  if (!cases.ok()) return fail(options, cases.error());
  if (rotate && !options.json) {
    std::cerr << "rotating " << cases->size() << " case keys; if interrupted, run again with --since "
              << *reconcile_options.skip_heads_issued_since_ms << " to skip the cases already rotated\n";
  }
  auto results =
      reconcile_with_progress(options, *session->administration, *cases, *authority, reconcile_options);
  if (!results.ok()) return fail(options, results.error());
  json::object extra;
  if (rotate) extra["since"] = *reconcile_options.skip_heads_issued_since_ms;
  return print_results(options, *results, std::move(extra));
}

// --recovery-passphrase-file, then CASEFILE_RECOVERY_PASSPHRASE.
Result<std::string> recovery_passphrase(const Options& options) {
  Options reading = options;
  reading.passphrase_file = options.value("recovery-passphrase-file");
  if (!reading.passphrase_file) {
    if (const char* from_environment = std::getenv("CASEFILE_RECOVERY_PASSPHRASE")) {
      return std::string(from_environment);
    }
    return make_error(
        "passphrase_required",
        "give the recovery passphrase with --recovery-passphrase-file or CASEFILE_RECOVERY_PASSPHRASE");
  }
  return admin_passphrase(reading);
}

// The recovery private key: from --recovery-key FILE under the recovery
// passphrase, else org/recovery.key under the admin passphrase; either way it
// must be the instance's (org/recovery.pub).
Result<crypto::X25519PrivateKey> load_recovery_key(const Options& options,
                                                   const server::InstanceSummary& instance) {
  const server::InstanceLayout layout(options.instance);
  const auto file = options.value("recovery-key");
  auto passphrase = file ? recovery_passphrase(options) : admin_passphrase(options);
  if (!passphrase.ok()) return std::move(passphrase).error();
  auto secret = crypto::load_key_file(file ? std::filesystem::path(*file) : layout.recovery_key(),
                                      *passphrase, server::kKeyFilePurposeOrgRecovery);
  if (!secret.ok()) return std::move(secret).error();
  auto key = crypto::X25519PrivateKey::from_bytes(secret->view());
  if (!key.ok()) return std::move(key).error();
  if (key->public_key() != instance.recovery_public_key) {
    return make_error("recovery_key_mismatch", "the recovery key is not this instance's (org/recovery.pub)");
  }
  return key;
}

int run_recovery_export(const Options& options) {
  if (options.words.size() != 2 || options.words[1] != "export") {
    return usage_error("recovery takes: export --to FILE [--recovery-passphrase-file F]");
  }
  const auto to = options.value("to");
  if (!to) return usage_error("recovery export needs --to FILE");
  auto instance = server::describe_instance(options.instance);
  if (!instance.ok()) return fail(options, instance.error());
  auto key = load_recovery_key(options, *instance);
  if (!key.ok()) return fail(options, key.error());
  auto passphrase = recovery_passphrase(options);
  if (!passphrase.ok()) return fail(options, passphrase.error());
  if (auto admin = admin_passphrase(options); admin.ok() && *admin == *passphrase) {
    return fail(options, make_error("invalid_argument",
                                    "the recovery passphrase must differ from the admin passphrase"));
  }
  if (std::filesystem::exists(*to))
    return fail(options, make_error("file_exists", *to + " exists; not overwritten"));
  const Status saved = crypto::save_key_file(*to, key->private_bytes().view(), *passphrase,
                                             server::kKeyFilePurposeOrgRecovery);
  if (!saved.ok()) return fail(options, saved.error());
  if (options.json) {
    print_json({{"file", *to}, {"recovery_public_key", crypto::to_hex(instance->recovery_public_key)}});
  } else {
    std::cout
        << "wrote the recovery key to " << *to << ", under the recovery passphrase.\n"
        << "Store it offline, apart from that passphrase. It opens every case key of the organisation.\n";
  }
  return kExitOk;
}

// A field value as JSON: clear values as they are, sealed ones opened.
Result<json::value> field_json(const sync::FieldValue& value, const sync::SealedFieldContext& context,
                               const std::string& field, const sync::CaseKeyring& keyring) {
  if (std::holds_alternative<sync::NullValue>(value)) return json::value(nullptr);
  if (const auto* flag = std::get_if<bool>(&value)) return json::value(*flag);
  if (const auto* number = std::get_if<std::int64_t>(&value)) return json::value(*number);
  if (const auto* text = std::get_if<std::string>(&value)) return json::value(*text);
  const auto& envelope = std::get<sync::SealedValue>(value).envelope;
  auto epoch = crypto::read_envelope_epoch(envelope);
  if (!epoch.ok()) return std::move(epoch).error();
  auto key = keyring.key(*epoch);
  if (!key.ok()) return std::move(key).error();
  auto plaintext = crypto::open_field(context.for_field(field), *epoch, *key, envelope);
  if (!plaintext.ok()) return std::move(plaintext).error();
  // The plaintext is a canonical JSON scalar (docs/device.md, "Sealed plaintext").
  boost::system::error_code error;
  json::value parsed = json::parse(
      std::string_view(reinterpret_cast<const char*>(plaintext->data()), plaintext->size()), error);
  if (error) return make_error("sealed_value_invalid", "a sealed value of field " + field + " is not JSON");
  return parsed;
}

int run_cases_read(const Options& options) {
  auto case_id = case_option(options);
  if (!case_id.ok()) return fail(options, case_id.error());
  auto session = open_keyring_session(options);
  if (!session.ok()) return fail(options, session.error());
  auto recovery = load_recovery_key(options, session->instance);
  if (!recovery.ok()) return fail(options, recovery.error());
  auto keyring = session->administration->open_with_recovery_key(*case_id, *recovery);
  if (!keyring.ok()) return fail(options, keyring.error());
  // The SQLCipher log only: on PostgreSQL this command is not built yet (docs/scale.md).
  auto database_key = server::read_database_key_file(server::InstanceLayout(options.instance).database_key());
  if (!database_key.ok()) return fail(options, database_key.error());
  auto store =
      server::SqlcipherServerStore::open(server::InstanceLayout(options.instance).database(), *database_key);
  if (!store.ok()) return fail(options, store.error());

  // The case's records, named by its log; then each record's merged state.
  std::set<sync::RecordKey> records;
  std::uint64_t after = 0;
  while (true) {
    auto slice = (*store)->read_log(after, {*case_id}, 1000);
    if (!slice.ok()) return fail(options, slice.error());
    for (const auto& entry : slice->entries) records.insert(entry.change.change.record);
    if (slice->scanned_through >= slice->head || slice->scanned_through == after) break;
    after = slice->scanned_through;
  }
  auto& control = *session->owned_control;
  const Status audited =
      control.append_audit(server::AuditEvent{std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count(),
                                              admin_actor(),
                                              "case_read_with_recovery_key",
                                              "case:" + sync::to_text(*case_id),
                                              {{"records", records.size()}}});
  if (!audited.ok()) return fail(options, audited.error());

  json::array list;
  for (const sync::RecordKey& key : records) {
    auto stored = (*store)->load_record(key);
    if (!stored.ok()) return fail(options, stored.error());
    if (!stored->has_value()) continue;
    const sync::RecordState& state = (*stored)->state;
    const sync::SealedFieldContext context(key);
    json::object fields;
    for (const auto& [name, field] : state.fields()) {
      const sync::RegisterEntry* winner = field.winner();
      if (winner == nullptr) continue;
      auto value = field_json(winner->value, context, name, *keyring);
      if (!value.ok()) return fail(options, value.error());
      fields[name] = std::move(*value);
    }
    list.push_back(json::object{{"collection", key.collection},
                                {"record", sync::to_text(key.record_id)},
                                {"deleted", state.is_deleted()},
                                {"fields", std::move(fields)}});
  }
  if (options.json) {
    print_json({{"case", sync::to_text(*case_id)}, {"records", std::move(list)}});
    return kExitOk;
  }
  std::cout << "case " << sync::to_text(*case_id) << " (" << list.size() << " records, epochs";
  for (std::uint32_t epoch : keyring->held_epochs()) std::cout << " " << epoch;
  std::cout << ")\n";
  for (const auto& item : list) {
    const auto& record = item.as_object();
    std::cout << "\n"
              << record.at("collection").as_string().c_str() << " " << record.at("record").as_string().c_str()
              << (record.at("deleted").as_bool() ? " (deleted)" : "") << "\n";
    for (const auto& [name, value] : record.at("fields").as_object()) {
      std::cout << "  " << std::string(name) << " = " << json::serialize(value) << "\n";
    }
  }
  return kExitOk;
}

int run_cases_recover(const Options& options) {
  auto case_id = case_option(options);
  if (!case_id.ok()) return fail(options, case_id.error());
  const auto device_text = options.value("device");
  auto device = device_text ? sync::parse_id<sync::DeviceId>(*device_text) : std::nullopt;
  if (!device) return usage_error("cases recover needs --device D (8-4-4-4-12 hex)");
  auto session = open_keyring_session(options);
  if (!session.ok()) return fail(options, session.error());
  auto authority = load_authority(options);
  if (!authority.ok()) return fail(options, authority.error());
  auto recovery = load_recovery_key(options, session->instance);
  if (!recovery.ok()) return fail(options, recovery.error());
  if (!options.json) std::cerr << "wrapping every epoch of the case to " << sync::to_text(*device) << "...\n";
  auto recovered = session->administration->recover_to_device(*case_id, *device, *recovery, *authority);
  if (!recovered.ok()) return fail(options, recovered.error());
  json::array epochs;
  for (std::uint32_t epoch : recovered->wrapped_epochs) epochs.emplace_back(epoch);
  if (options.json) {
    print_json({{"case", sync::to_text(*case_id)},
                {"device", sync::to_text(*device)},
                {"wrapped_epochs", std::move(epochs)},
                {"reconciled", result_json(recovered->reconciled)}});
    return kExitOk;
  }
  std::cout << "wrapped " << recovered->wrapped_epochs.size() << " epochs of case " << sync::to_text(*case_id)
            << " to device " << sync::to_text(*device) << "; head epoch " << recovered->reconciled.head_epoch
            << " (" << server::keyring_outcome_name(recovered->reconciled.outcome) << ")\n";
  return kExitOk;
}

}  // namespace

bool is_keys_command(const Options& options) {
  const std::string command = options.command();
  if (command == "keys" || command == "recovery") return true;
  return command == "cases" && options.words.size() >= 2 &&
         (options.words[1] == "read" || options.words[1] == "recover");
}

int run_keys_command(const Options& options) {
  const std::string command = options.command();
  const std::string action = options.words.size() > 1 ? options.words[1] : "";
  if (command == "recovery") return run_recovery_export(options);
  if (command == "cases") return action == "read" ? run_cases_read(options) : run_cases_recover(options);
  if (action == "status") return run_status(options);
  if (action == "rotate") return run_rotate_or_reconcile(options, true);
  if (action == "reconcile") return run_rotate_or_reconcile(options, false);
  return usage_error("keys takes status, rotate or reconcile");
}

Result<json::object> reconcile_after_access_change(const Options& options, server::ControlStore& control,
                                                   const crypto::Ed25519PrivateKey& authority,
                                                   const std::vector<sync::CaseId>& cases) {
  auto session = open_keyring_session(options, &control);
  if (!session.ok()) return std::move(session).error();
  auto results = reconcile_with_progress(options, *session->administration, cases, authority, {});
  if (!results.ok()) return std::move(results).error();
  json::object counts = summarize(*results);
  if (!options.json) std::cout << summary_line(counts) << "\n";
  return counts;
}

}  // namespace casefile::admin
