#include "tools/casefile-admin/access_commands.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <ctime>
#include <iomanip>
#include <iostream>

#include "crypto/key_file.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/audit_chain.hpp"
#include "server/access/record_json.hpp"
#include "server/access/sqlcipher_control_store.hpp"
#include "server/config.hpp"
#include "server/instance.hpp"
#include "sync/device_authentication.hpp"
#include "tools/casefile-admin/instance_stores.hpp"
#include "tools/casefile-admin/keys_commands.hpp"
#include "tools/casefile-admin/terminal_qr.hpp"

namespace casefile::admin {
namespace {

namespace json = boost::json;
using server::AccessAdministration;
using server::ControlStore;

// What every access command works with.
struct Session {
  std::unique_ptr<server::ControlStore> store;
  std::unique_ptr<AccessAdministration> administration;
};

Result<Session> open_session(const Options& options) {
  auto store = open_instance_control_store(options.instance);
  if (!store.ok()) return std::move(store).error();
  Session session;
  session.store = std::move(*store);
  session.administration = std::make_unique<AccessAdministration>(*session.store, admin_actor());
  return session;
}

Result<std::string> required(const Options& options, const std::string& name) {
  auto value = options.value(name);
  if (!value) return make_error("usage", "--" + name + " is required");
  return *value;
}

Result<sync::DeviceId> device_option(const Options& options) {
  auto text = required(options, "device");
  if (!text.ok()) return std::move(text).error();
  auto device = sync::parse_id<sync::DeviceId>(*text);
  if (!device) return make_error("usage", "--device must be a device id (8-4-4-4-12 hex)");
  return *device;
}

Result<std::int64_t> non_negative_integer(const std::string& text, const std::string& what) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    return make_error("usage", what + " must be a non-negative integer");
  }
  return value;
}

// Milliseconds since the epoch, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC).
Result<std::int64_t> parse_time(const std::string& text, const std::string& what) {
  if (text.find('-') == std::string::npos) return non_negative_integer(text, what);
  std::tm parts{};
  const char* end = ::strptime(text.c_str(), text.size() == 10 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &parts);
  if (end == nullptr || *end != '\0')
    return make_error("usage", what + " must be ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  return static_cast<std::int64_t>(::timegm(&parts)) * 1000;
}

std::string format_time(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

// Reconciles the case keys of every case of `user` after an access change.
// The access change is already done: a failure here says so, and exits 1.
Result<json::object> reconcile_cases_of_user(const Options& options, Session& session,
                                             const crypto::Ed25519PrivateKey& authority,
                                             const std::string& user) {
  auto cases = session.store->cases_of_user(user);
  if (!cases.ok()) return std::move(cases).error();
  auto reconciled = reconcile_after_access_change(options, *session.store, authority, *cases);
  if (!reconciled.ok()) {
    Error error = std::move(reconciled).error();
    error.message =
        "the change is done, but the case keys were not reconciled (run keys reconcile): " + error.message;
    return error;
  }
  return reconciled;
}

// A lawyer leaves (issue 7, flow 3): the user is disabled, every device of
// the user is revoked with a wipe order, and every case the user was a member
// of is reconciled without those devices. Each step is skipped when already
// done, so running it again finishes an interrupted run.
int run_user_leave(const Options& options, Session& session, const std::string& name) {
  auto user = session.store->find_user(name);
  if (!user.ok()) return fail(options, user.error());
  if (!user->has_value()) return fail(options, make_error("user_unknown", "no user named " + name));
  auto authority = load_authority(options);
  if (!authority.ok()) return fail(options, authority.error());
  if (!(*user)->disabled) {
    if (auto disabled = session.administration->set_user_disabled(name, true); !disabled.ok()) {
      return fail(options, disabled.error());
    }
  }
  auto devices = session.store->list_devices();
  if (!devices.ok()) return fail(options, devices.error());
  json::array revoked;
  for (const auto& device : *devices) {
    if (device.user != name || device.state == server::DeviceState::revoked) continue;
    auto order =
        session.administration->revoke_device(device.id, *authority, "the user left the organisation");
    if (!order.ok()) return fail(options, order.error());
    revoked.emplace_back(sync::to_text(device.id));
    if (!options.json) std::cout << "revoked device " << sync::to_text(device.id) << " (wipe order signed)\n";
  }
  auto keys = reconcile_cases_of_user(options, session, *authority, name);
  if (!keys.ok()) return fail(options, keys.error());
  if (options.json) {
    print_json(
        {{"user", name}, {"disabled", true}, {"revoked_devices", std::move(revoked)}, {"keys", *keys}});
  } else {
    std::cout << "user " << name << " left: disabled, " << revoked.size()
              << " devices revoked, every case of the user rotated without them\n";
  }
  return kExitOk;
}

int run_user(const Options& options, Session& session) {
  const std::string action = options.words.size() > 1 ? options.words[1] : "";
  if (action == "list") {
    auto users = session.store->list_users();
    if (!users.ok()) return fail(options, users.error());
    if (options.json) {
      json::array list;
      for (const auto& user : *users) list.emplace_back(server::user_record_to_json(user));
      print_json({{"users", std::move(list)}});
      return kExitOk;
    }
    std::cout << std::left << std::setw(32) << "USER" << std::setw(12) << "ROLE"
              << "STATE\n";
    for (const auto& user : *users) {
      std::cout << std::setw(32) << user.name << std::setw(12) << server::role_name(user.role)
                << (user.disabled ? "disabled" : "enabled") << "\n";
    }
    return kExitOk;
  }
  auto name = required(options, "user");
  if (!name.ok()) return fail(options, name.error());
  if (action == "leave") return run_user_leave(options, session, *name);
  if (action == "add") {
    auto role_text = required(options, "role");
    if (!role_text.ok()) return fail(options, role_text.error());
    auto role = server::parse_role(*role_text);
    if (!role.ok()) return usage_error("--role must be lawyer, supervisor or admin");
    if (auto added = session.administration->add_user(*name, *role); !added.ok())
      return fail(options, added.error());
    if (options.json) {
      print_json({{"user", *name}, {"role", *role_text}});
    } else {
      std::cout << "added user " << *name << " (" << *role_text << ")\n";
    }
    return kExitOk;
  }
  if (action == "disable" || action == "enable") {
    const bool disable = action == "disable";
    if (auto changed = session.administration->set_user_disabled(*name, disable); !changed.ok()) {
      return fail(options, changed.error());
    }
    if (options.json) {
      print_json({{"user", *name}, {"disabled", disable}});
    } else {
      std::cout << "user " << *name
                << (disable ? " disabled: every device of the user is refused from now\n" : " enabled\n");
    }
    return kExitOk;
  }
  return usage_error("user takes add, list, disable, enable or leave");
}

// The server's URL for the enrolment payload: --url, else casefiled.toml's listen address.
Result<std::string> server_url(const Options& options) {
  if (auto url = options.value("url")) return *url;
  auto config = server::load_config(server::InstanceLayout(options.instance).config());
  if (!config.ok()) return std::move(config).error();
  const bool ipv6 = config->listen_address.find(':') != std::string::npos;
  return "https://" + (ipv6 ? "[" + config->listen_address + "]" : config->listen_address) + ":" +
         std::to_string(config->listen_port);
}

int run_enrol(const Options& options, Session& session) {
  auto user = required(options, "user");
  if (!user.ok()) return fail(options, user.error());
  std::int64_t ttl_minutes = server::kDefaultEnrolmentCodeLifetime.count();
  if (auto ttl = options.value("ttl")) {
    auto parsed = non_negative_integer(*ttl, "--ttl (minutes)");
    if (!parsed.ok()) return fail(options, parsed.error());
    ttl_minutes = *parsed;
  }
  auto summary = server::describe_instance(options.instance);
  if (!summary.ok()) return fail(options, summary.error());
  auto url = server_url(options);
  if (!url.ok()) return fail(options, url.error());
  auto code = session.administration->create_enrolment_code(*user, std::chrono::minutes(ttl_minutes));
  if (!code.ok()) return fail(options, code.error());
  // Compact, so the QR code stays small enough to scan from a terminal.
  const json::object payload =
      sync::enrolment_payload(*url, summary->tls_spki_pin, summary->authority_fingerprint, code->text);
  const std::string payload_text = json::serialize(payload);
  if (options.json) {
    print_json({{"user", *user}, {"expires_at", code->expires_at_ms}, {"payload", payload}});
    return kExitOk;
  }
  auto qr = render_terminal_qr(payload_text);
  if (!qr.ok()) return fail(options, qr.error());
  std::cout << "Enrolment code for " << *user << " (single use, expires " << format_time(code->expires_at_ms)
            << "):\n\n    " << code->text << "\n\nScan with the Casefile app:\n\n"
            << *qr << "\npayload: " << payload_text << "\n";
  return kExitOk;
}

void print_certificate(const sync::DeviceCertificate& certificate) {
  std::cout << "certified device " << sync::to_text(certificate.device) << "\n"
            << "  user:       " << certificate.user << " (" << certificate.role << ")\n"
            << "  valid:      " << format_time(certificate.not_before_ms) << " .. "
            << format_time(certificate.not_after_ms) << "\n"
            << "  signing key: " << sync::bytes_to_wire_text(certificate.signing_public_key) << "\n";
}

int run_certify(const Options& options, Session& session) {
  auto device = device_option(options);
  if (!device.ok()) return fail(options, device.error());
  std::int64_t validity_days = server::kDefaultCertificateValidity.count();
  if (auto days = options.value("validity-days")) {
    auto parsed = non_negative_integer(*days, "--validity-days");
    if (!parsed.ok()) return fail(options, parsed.error());
    if (*parsed < 1 || *parsed > 3650) return usage_error("--validity-days must be 1 to 3650");
    validity_days = *parsed;
  }
  auto authority = load_authority(options);
  if (!authority.ok()) return fail(options, authority.error());
  auto certificate =
      session.administration->certify_device(*device, *authority, std::chrono::days(validity_days));
  if (!certificate.ok()) return fail(options, certificate.error());
  if (!options.json) print_certificate(*certificate);
  // The new device joins the key epochs of its user's cases.
  auto keys = reconcile_cases_of_user(options, session, *authority, certificate->user);
  if (!keys.ok()) return fail(options, keys.error());
  if (options.json) print_json({{"certificate", sync::certificate_to_json(*certificate)}, {"keys", *keys}});
  return kExitOk;
}

int run_devices(const Options& options, Session& session) {
  auto devices = session.store->list_devices();
  if (!devices.ok()) return fail(options, devices.error());
  const auto user = options.value("user");
  json::array list;
  if (!options.json) {
    std::cout << std::left << std::setw(38) << "DEVICE" << std::setw(24) << "USER" << std::setw(11) << "STATE"
              << "ENROLLED\n";
  }
  for (const auto& device : *devices) {
    if (user && device.user != *user) continue;
    if (options.json) {
      list.emplace_back(server::device_record_to_json(device));
    } else {
      std::cout << std::setw(38) << sync::to_text(device.id) << std::setw(24) << device.user << std::setw(11)
                << server::device_state_name(device.state) << format_time(device.enrolled_at_ms) << "\n";
    }
  }
  if (options.json) print_json({{"devices", std::move(list)}});
  return kExitOk;
}

int run_revoke(const Options& options, Session& session) {
  auto device = device_option(options);
  if (!device.ok()) return fail(options, device.error());
  const std::string reason = options.value("reason").value_or("revoked by an administrator");
  auto authority = load_authority(options);
  if (!authority.ok()) return fail(options, authority.error());
  const bool sign_only = options.flag("sign-only");
  auto order = sign_only ? session.administration->sign_wipe_order(*device, *authority, reason)
                         : session.administration->revoke_device(*device, *authority, reason);
  if (!order.ok()) return fail(options, order.error());
  if (sign_only) {
    print_json({{"device_id", sync::to_text(*device)},
                {"state", "unchanged"},
                {"wipe_order", sync::wipe_order_to_json(*order)}});
    return kExitOk;
  }
  if (!options.json) {
    std::cout << "revoked device " << sync::to_text(*device)
              << ": its requests are refused from now, and its next\n"
              << "contact receives the signed wipe order (reason: " << reason << ").\n"
              << "Every case it held is rotated to a key epoch it cannot open:\n";
  }
  auto record = session.store->find_device(*device);
  if (!record.ok()) return fail(options, record.error());
  auto keys = record->has_value() ? reconcile_cases_of_user(options, session, *authority, (*record)->user)
                                  : Result<json::object>(json::object{});
  if (!keys.ok()) return fail(options, keys.error());
  if (options.json) {
    print_json({{"device_id", sync::to_text(*device)},
                {"state", "revoked"},
                {"wipe_order", sync::wipe_order_to_json(*order)},
                {"keys", *keys}});
  }
  return kExitOk;
}

int run_cases(const Options& options, Session& session) {
  if (options.words.size() < 3 || options.words[1] != "members") {
    return usage_error("cases takes: members add|remove|list --case C [--user U]");
  }
  const std::string& action = options.words[2];
  auto case_text = required(options, "case");
  if (!case_text.ok()) return fail(options, case_text.error());
  auto case_id = sync::parse_id<sync::CaseId>(*case_text);
  if (!case_id) return usage_error("--case must be a case id (8-4-4-4-12 hex)");
  if (action == "list") {
    auto members = session.store->case_members(*case_id);
    if (!members.ok()) return fail(options, members.error());
    if (members->empty()) return fail(options, make_error("case_unknown", "no such case"));
    json::array list;
    for (const auto& member : *members) {
      if (options.json) {
        list.emplace_back(member);
      } else {
        std::cout << member << "\n";
      }
    }
    if (options.json) print_json({{"case_id", *case_text}, {"members", std::move(list)}});
    return kExitOk;
  }
  if (action != "add" && action != "remove") return usage_error("cases members takes add, remove or list");
  auto user = required(options, "user");
  if (!user.ok()) return fail(options, user.error());
  auto changed = action == "add" ? session.administration->add_case_member(*case_id, *user)
                                 : session.administration->remove_case_member(*case_id, *user);
  if (!changed.ok()) return fail(options, changed.error());
  if (!options.json) {
    std::cout << (action == "add" ? "added " : "removed ") << *user << (action == "add" ? " to" : " from")
              << " case " << sync::to_text(*case_id) << "\n";
  }
  // The case's key epoch follows its members: with the admin passphrase at
  // hand, reconcile now; without it, say how to do it later.
  json::value keys = nullptr;
  if (admin_passphrase(options).ok()) {
    auto authority = load_authority(options);
    if (!authority.ok()) return fail(options, authority.error());
    auto reconciled = reconcile_after_access_change(options, *session.store, *authority, {*case_id});
    if (!reconciled.ok()) return fail(options, reconciled.error());
    keys = *reconciled;
  } else if (!options.json) {
    std::cerr << "casefile-admin: no admin passphrase given: run keys reconcile --case "
              << sync::to_text(*case_id) << " to give the case a key epoch for its new members\n";
  }
  if (options.json) {
    print_json(
        {{"case_id", sync::to_text(*case_id)}, {"user", *user}, {"member", action == "add"}, {"keys", keys}});
  }
  return kExitOk;
}

int run_audit(const Options& options, Session& session) {
  if (options.flag("verify")) {
    auto report = session.administration->verify_audit_chain();
    if (!report.ok()) return fail(options, report.error());
    if (options.json) {
      print_json({{"entries", report->entries}, {"head", crypto::to_hex(report->head)}});
    } else {
      std::cout << "audit chain intact: " << report->entries << " entries before this check, head "
                << crypto::to_hex(report->head) << "\nKeep the head hash elsewhere: a later --verify that "
                << "does not reach it means entries were cut off the end.\n";
    }
    return kExitOk;
  }
  server::AuditQuery query;
  query.limit = 1000;
  if (auto since = options.value("since")) {
    auto parsed = parse_time(*since, "--since");
    if (!parsed.ok()) return fail(options, parsed.error());
    query.since_ms = *parsed;
  }
  if (auto until = options.value("until")) {
    auto parsed = parse_time(*until, "--until");
    if (!parsed.ok()) return fail(options, parsed.error());
    query.until_ms = *parsed;
  }
  if (auto limit = options.value("limit")) {
    auto parsed = non_negative_integer(*limit, "--limit");
    if (!parsed.ok()) return fail(options, parsed.error());
    query.limit = static_cast<std::size_t>(*parsed);
  }
  query.event = options.value("event");
  if (options.value("device")) {
    auto device = device_option(options);
    if (!device.ok()) return fail(options, device.error());
    query.device = *device;
  }
  auto entries = session.store->query_audit(query);
  if (!entries.ok()) return fail(options, entries.error());
  if (options.json) {
    json::array list;
    for (const auto& entry : *entries) list.emplace_back(server::audit_entry_to_json(entry));
    print_json({{"entries", std::move(list)}});
    return kExitOk;
  }
  for (const auto& entry : *entries) {
    std::cout << std::setw(6) << std::right << entry.sequence << std::left << "  "
              << format_time(entry.time_ms) << "  " << std::setw(24) << entry.event << std::setw(24)
              << entry.actor << entry.subject << "  " << entry.details_json << "\n";
  }
  return kExitOk;
}

}  // namespace

Result<crypto::Ed25519PrivateKey> load_authority(const Options& options) {
  auto passphrase = admin_passphrase(options);
  if (!passphrase.ok()) return std::move(passphrase).error();
  const server::InstanceLayout layout(options.instance);
  auto summary = server::describe_instance(options.instance);
  if (!summary.ok()) return std::move(summary).error();
  auto seed = crypto::load_key_file(layout.authority_key(), *passphrase, crypto::kKeyFilePurposeOrgAuthority);
  if (!seed.ok()) return std::move(seed).error();
  auto key = crypto::Ed25519PrivateKey::from_seed(seed->view());
  if (!key.ok()) return std::move(key).error();
  if (key->public_key() != summary->authority_public_key) {
    return make_error("corrupt_instance", "org/authority.key does not match org/authority.pub");
  }
  auto statement = server::ensure_recovery_key_statement(options.instance, *key);
  if (!statement.ok()) return std::move(statement).error();
  return key;
}

bool is_access_command(const std::string& command) {
  return command == "user" || command == "enrol" || command == "certify" || command == "devices" ||
         command == "revoke" || command == "cases" || command == "audit";
}

int run_access_command(const Options& options) {
  const std::string command = options.command();
  if (command == "user" && options.words.size() < 2)
    return usage_error("user takes add, list, disable, enable or leave");
  auto session = open_session(options);
  if (!session.ok()) return report_error(options, session.error());
  if (command == "user") return run_user(options, *session);
  if (command == "enrol") return run_enrol(options, *session);
  if (command == "certify") return run_certify(options, *session);
  if (command == "devices") return run_devices(options, *session);
  if (command == "revoke") return run_revoke(options, *session);
  if (command == "cases") return run_cases(options, *session);
  return run_audit(options, *session);
}

}  // namespace casefile::admin
