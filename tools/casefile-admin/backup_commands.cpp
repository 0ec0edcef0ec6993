#include "tools/casefile-admin/backup_commands.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "crypto/bytes.hpp"
#include "server/backup/backup_archive.hpp"
#include "server/backup/backup_key.hpp"

namespace casefile::admin {
namespace {

namespace json = boost::json;

// The backup key's own passphrase: --backup-passphrase-file, then
// CASEFILE_BACKUP_PASSPHRASE. It is not the admin passphrase: the backup key
// may be held by other people than the admins.
Result<std::string> backup_passphrase(const Options& options) {
  if (auto file = options.value("backup-passphrase-file")) {
    std::ifstream in(*file);
    std::string line;
    if (!in || !std::getline(in, line)) return make_error("io_error", "cannot read passphrase file " + *file);
    return line;
  }
  if (const char* from_environment = std::getenv("CASEFILE_BACKUP_PASSPHRASE"))
    return std::string(from_environment);
  return make_error(
      "passphrase_required",
      "give the backup key's passphrase with --backup-passphrase-file or CASEFILE_BACKUP_PASSPHRASE");
}

Result<crypto::X25519PrivateKey> backup_private_key(const Options& options) {
  auto path = options.value("backup-key");
  if (!path) return make_error("invalid_argument", "give the backup private key file with --backup-key FILE");
  auto passphrase = backup_passphrase(options);
  if (!passphrase.ok()) return std::move(passphrase).error();
  return server::load_backup_private_key(*path, *passphrase);
}

json::object manifest_json(const server::BackupManifest& manifest, const std::string& file) {
  json::array parts;
  for (const server::BackupPart& part : manifest.parts) {
    parts.push_back(
        json::object{{"name", part.name}, {"size", part.size}, {"sha256", crypto::to_hex(part.sha256)}});
  }
  return {{"ok", true},
          {"file", file},
          {"kind", manifest.kind},
          {"format_version", manifest.format_version},
          {"created_at_ms", manifest.created_at_millis},
          {"instance_epoch", manifest.instance_epoch},
          {"last_sequence", manifest.last_sequence},
          {"content_sha256", crypto::to_hex(manifest.content_sha256)},
          {"parts", std::move(parts)}};
}

void print_manifest(const server::BackupManifest& manifest, const std::string& file) {
  std::cout << "file:           " << file << "\n"
            << "kind:           " << manifest.kind << "\n"
            << "created (ms):   " << manifest.created_at_millis << "\n";
  if (!manifest.instance_epoch.empty()) std::cout << "instance epoch: " << manifest.instance_epoch << "\n";
  std::cout << "last sequence:  " << manifest.last_sequence << "\n"
            << "content SHA-256: " << crypto::to_hex(manifest.content_sha256) << "\n";
  for (const server::BackupPart& part : manifest.parts) {
    std::cout << "  " << part.name << "  " << part.size << " bytes  " << crypto::to_hex(part.sha256) << "\n";
  }
}

int answer(const Options& options, const server::BackupManifest& manifest, const std::string& file,
           const std::string& done) {
  if (options.json) {
    std::cout << json::serialize(manifest_json(manifest, file)) << "\n";
  } else {
    std::cout << done << "\n";
    print_manifest(manifest, file);
  }
  return kExitOk;
}

// A progress line on stderr, redrawn in place; silent with --json.
server::BackupProgressCallback progress_line(const Options& options, const std::string& verb) {
  if (options.json) return {};
  return [verb, last = -1](const server::BackupProgress& progress) mutable {
    const int percent = progress.total == 0 ? 100 : static_cast<int>(progress.done * 100 / progress.total);
    if (percent == last) return;
    last = percent;
    std::cerr << "\r" << verb << ": " << percent << "% (" << progress.part << ")          " << std::flush;
    if (percent == 100) std::cerr << "\n";
  };
}

int run_backup_key_init(const Options& options) {
  auto to = options.value("to");
  if (!to) return usage_error("backup-key init needs --to FILE (the private key file, kept off the server)");
  auto passphrase = backup_passphrase(options);
  if (!passphrase.ok()) return report_error(options, passphrase.error());
  auto public_key = server::create_backup_key(options.instance, *to, *passphrase);
  if (!public_key.ok()) return report_error(options, public_key.error());
  if (options.json) {
    std::cout << json::serialize(json::object{{"ok", true},
                                              {"backup_public_key", crypto::to_hex(*public_key)},
                                              {"private_key_file", *to}})
              << "\n";
  } else {
    std::cout << "backup public key: " << crypto::to_hex(*public_key) << "\n"
              << "The private key is in " << *to
              << ". Move it off the server: whoever holds it and its passphrase can read every backup.\n";
  }
  return kExitOk;
}

int run_backup(const Options& options) {
  auto to = options.value("to");
  if (!to) return usage_error("backup needs --to FILE");
  auto manifest = server::create_backup(options.instance, *to, progress_line(options, "backup"));
  if (!manifest.ok()) return report_error(options, manifest.error());
  if (options.flag("include-server-secrets")) {
    const std::string secrets = *to + ".secrets";
    auto written = server::create_server_secrets_backup(options.instance, secrets);
    if (!written.ok()) return report_error(options, written.error());
    if (!options.json) std::cout << "server secrets (database key, TLS key): " << secrets << "\n";
  }
  return answer(options, *manifest, *to, "backup written");
}

int run_verify(const Options& options) {
  if (options.words.size() != 3) return usage_error("backup verify FILE --backup-key KEYFILE");
  auto key = backup_private_key(options);
  if (!key.ok()) return report_error(options, key.error());
  auto manifest = server::verify_backup(options.words[2], *key);
  if (!manifest.ok()) return report_error(options, manifest.error());
  return answer(options, *manifest, options.words[2],
                "backup verified: every segment, part and the manifest");
}

int run_restore(const Options& options) {
  if (options.words.size() != 2) return usage_error("restore FILE --backup-key KEYFILE --instance DIR");
  auto key = backup_private_key(options);
  if (!key.ok()) return report_error(options, key.error());
  auto manifest =
      server::restore_backup(options.words[1], *key, options.instance, progress_line(options, "restore"));
  if (!manifest.ok()) return report_error(options, manifest.error());
  return answer(options, *manifest, options.words[1], "restored into " + options.instance);
}

}  // namespace

bool is_backup_command(const std::string& command) {
  return command == "backup" || command == "backup-key" || command == "restore";
}

int run_backup_command(const Options& options) {
  const std::vector<std::string>& words = options.words;
  if (words[0] == "backup-key") {
    if (words.size() == 2 && words[1] == "init") return run_backup_key_init(options);
    return usage_error("backup-key init --to FILE");
  }
  if (words[0] == "restore") return run_restore(options);
  if (words.size() >= 2 && words[1] == "verify") return run_verify(options);
  if (words.size() != 1) return usage_error("backup --to FILE [--include-server-secrets]");
  return run_backup(options);
}

}  // namespace casefile::admin
