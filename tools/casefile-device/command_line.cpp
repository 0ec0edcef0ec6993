#include "tools/casefile-device/command_line.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <iostream>

namespace casefile::device_tool {
namespace {

constexpr const char* kUsage = R"(usage: casefile-device --dir DIR [--json] COMMAND [ARGS]

device:
  init [--lockout-after N] [--duress-passphrase-file F]
                               make a new device in DIR (its keys and an empty replica)
  unlock                       check the passphrase; show the device id and enrolment state
  enrol PAYLOAD [--wait SECONDS]
                               enrol with the payload `casefile-admin enrol` printed (JSON
                               text, or @FILE holding it); --wait polls until certified
  enrol --wait SECONDS         wait (at most SECONDS) for an administrator to certify
  status                       outbox depth, quarantine, records, conflicts, last sync
  passphrase change [--new-passphrase-file F]
                               re-wrap the storage key under a new passphrase
  storage-key rotate           re-key the replica under a fresh storage key
  reencrypt --case C [--batch N]
                               re-seal the case's older values under its newest key epoch
                               (N records a transaction, default 500); run `sync` after

records (FIELD=VALUE is typed by the schema: integers and timestamps in decimal,
booleans true or false, dates YYYY-MM-DD, everything else as text):
  case new --set FIELD=VALUE ...
  record add --case C --collection X --set FIELD=VALUE ... [--repeat N]
  record edit --case C --collection X --record R [--set FIELD=VALUE ...] [--clear FIELD ...]
  interview add --case C --set FIELD=VALUE ... [--repeat N]
  interview edit --case C --record R [--set FIELD=VALUE ...] [--clear FIELD ...]
  interview finalize --case C --record R
  amend --case C --record R --set FIELD=VALUE ...
                               correct a finalized interview or consent with an amendment
  note add --case C --set body=TEXT [--set created_on=DATE] [--repeat N]
  show [--case C] [--collection X] [--record R]
  conflicts                    every field in conflict, with each sibling's value and author
  resolve --case C --collection X --record R --field F --value V

attachments (encrypted on the device at once; uploaded by `sync` after their record):
  attach --case C --file F --category audio|photo|document [--name N] [--description D]
         [--duration SECONDS]
                               encrypt F into the device directory and queue its upload
  attachments [--case C]       each attachment: state, bytes uploaded/total, last error
  fetch --record R --out FILE  download (resuming), verify and decrypt R into FILE

sync:
  sync [--watch SECONDS] [--batch N]
                               push the outbox, then pull, then upload pending attachments
                               (progress on stderr); --watch keeps pulling (long-poll)
  quarantine                   the changes the server refused, with its reasons
  repin --statement S          install the TLS pin statement from `casefile-admin tls
                               repin-code` (the server's key changed while this device
                               was away); a forged or older statement is refused

options:
  --dir DIR                    the device directory (required)
  --json                       print exactly one JSON object on stdout
  --passphrase-file F          read the passphrase from F (first line)
  -h, --help                   this text

The passphrase comes from CASEFILE_DEVICE_PASSPHRASE, else --passphrase-file, else the
terminal (without echo). init's duress passphrase: CASEFILE_DEVICE_DURESS_PASSPHRASE or
--duress-passphrase-file; passphrase change's new one: CASEFILE_DEVICE_NEW_PASSPHRASE or
--new-passphrase-file.

exit codes: 0 ok, 1 failed, 2 usage, 3 wrong passphrase, 4 locked out or no device,
5 server unreachable, 6 wiped by order, 7 enrolment still pending.
)";

// What one command accepts. Value options not listed are usage errors.
struct CommandRule {
  std::string_view name;
  std::size_t most_positionals = 0;
  std::vector<std::string_view> value_options;
  std::vector<std::string_view> required_options;
  bool takes_assignments = false;  // --set
  bool takes_clears = false;       // --clear
};

const std::vector<CommandRule>& command_rules() {
  static const std::vector<CommandRule> rules = {
      {"init", 0, {"lockout-after", "duress-passphrase-file"}, {}, false, false},
      {"unlock", 0, {}, {}, false, false},
      {"enrol", 1, {"wait"}, {}, false, false},
      {"case new", 0, {}, {}, true, false},
      {"record add", 0, {"case", "collection", "repeat"}, {"case", "collection"}, true, false},
      {"record edit", 0, {"case", "collection", "record"}, {"case", "collection", "record"}, true, true},
      {"interview add", 0, {"case", "repeat"}, {"case"}, true, false},
      {"interview edit", 0, {"case", "record"}, {"case", "record"}, true, true},
      {"interview finalize", 0, {"case", "record"}, {"case", "record"}, false, false},
      {"amend", 0, {"case", "record"}, {"case", "record"}, true, false},
      {"note add", 0, {"case", "repeat"}, {"case"}, true, false},
      {"show", 0, {"case", "collection", "record"}, {}, false, false},
      {"conflicts", 0, {}, {}, false, false},
      {"resolve",
       0,
       {"case", "collection", "record", "field", "value"},
       {"case", "collection", "record", "field", "value"},
       false,
       false},
      {"attach",
       0,
       {"case", "file", "category", "name", "description", "duration"},
       {"case", "file", "category"},
       false,
       false},
      {"attachments", 0, {"case"}, {}, false, false},
      {"fetch", 0, {"record", "out"}, {"record", "out"}, false, false},
      {"sync", 0, {"watch", "batch"}, {}, false, false},
      {"status", 0, {}, {}, false, false},
      {"quarantine", 0, {}, {}, false, false},
      {"passphrase change", 0, {"new-passphrase-file"}, {}, false, false},
      {"storage-key rotate", 0, {}, {}, false, false},
      {"repin", 0, {"statement"}, {"statement"}, false, false},
      {"reencrypt", 0, {"case", "batch"}, {"case"}, false, false},
  };
  return rules;
}

// Commands named by two words ("case new"); the rest are one word.
bool is_two_word_command(std::string_view first) {
  constexpr std::array<std::string_view, 6> kGroups = {"case", "record",     "interview",
                                                       "note", "passphrase", "storage-key"};
  return std::find(kGroups.begin(), kGroups.end(), first) != kGroups.end();
}

bool contains(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::optional<std::string> Options::value(std::string_view name) const {
  auto found = values.find(name);
  if (found == values.end()) return std::nullopt;
  return found->second;
}

const char* usage_text() { return kUsage; }

int usage_error(const std::string& message) {
  std::cerr << "casefile-device: " << message << "\n\n" << kUsage;
  return kExitUsage;
}

std::variant<Options, UsageError> parse_arguments(const std::vector<std::string>& arguments) {
  Options options;
  std::vector<std::string> words;
  // Options as given, checked against the command once it is known.
  std::vector<std::pair<std::string, std::string>> given;
  bool directory_given = false;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "-h" || argument == "--help") {
      options.command = "help";
      return options;
    }
    if (argument == "--json") {
      options.json = true;
      continue;
    }
    if (argument.rfind("--", 0) == 0) {
      if (i + 1 >= arguments.size()) return UsageError{argument + " needs a value"};
      given.emplace_back(argument.substr(2), arguments[++i]);
      continue;
    }
    // A lone "-" or "-x" is an option we do not have; a payload never starts with '-'.
    if (!argument.empty() && argument[0] == '-') return UsageError{"unknown option " + argument};
    words.push_back(argument);
  }
  if (words.empty()) return UsageError{"no command given"};
  std::size_t command_words = 1;
  if (is_two_word_command(words[0])) {
    if (words.size() < 2) return UsageError{words[0] + " needs a subcommand"};
    command_words = 2;
  }
  options.command = words[0];
  if (command_words == 2) options.command += " " + words[1];
  const auto& rules = command_rules();
  const auto rule = std::find_if(rules.begin(), rules.end(), [&](const CommandRule& candidate) {
    return candidate.name == options.command;
  });
  if (rule == rules.end()) return UsageError{"unknown command " + options.command};
  options.positionals.assign(words.begin() + static_cast<std::ptrdiff_t>(command_words), words.end());
  if (options.positionals.size() > rule->most_positionals) {
    return UsageError{"unexpected argument " + options.positionals[rule->most_positionals] + " for " +
                      options.command};
  }

  for (auto& [name, value] : given) {
    if (name == "dir") {
      if (directory_given) return UsageError{"--dir given twice"};
      if (value.empty()) return UsageError{"--dir needs a directory"};
      options.directory = value;
      directory_given = true;
    } else if (name == "set" && rule->takes_assignments) {
      const auto equals = value.find('=');
      if (equals == std::string::npos || equals == 0)
        return UsageError{"--set takes FIELD=VALUE, not " + value};
      options.assignments.push_back({value.substr(0, equals), value.substr(equals + 1)});
    } else if (name == "clear" && rule->takes_clears) {
      if (value.empty()) return UsageError{"--clear needs a field name"};
      options.cleared.push_back(value);
    } else if (name == "passphrase-file" || contains(rule->value_options, name)) {
      if (!options.values.emplace(name, value).second) return UsageError{"--" + name + " given twice"};
    } else {
      return UsageError{"--" + name + " is not an option of " + options.command};
    }
  }
  if (!directory_given) return UsageError{"--dir DIR is required"};
  for (std::string_view required : rule->required_options) {
    if (!options.values.contains(required)) {
      return UsageError{options.command + " needs --" + std::string(required)};
    }
  }
  if (rule->takes_assignments && options.assignments.empty() && options.cleared.empty() &&
      options.command != "case new" && options.command != "note add" && options.command != "interview add") {
    return UsageError{options.command + " needs at least one --set" +
                      std::string(rule->takes_clears ? " or --clear" : "")};
  }
  if (options.command == "enrol" && options.positionals.empty() && !options.values.contains("wait")) {
    return UsageError{"enrol needs a PAYLOAD, or --wait SECONDS"};
  }
  return options;
}

int exit_code_for(std::string_view error_code) {
  if (error_code == "usage") return kExitUsage;
  if (error_code == "wrong_passphrase") return kExitWrongPassphrase;
  if (error_code == "locked_out" || error_code == "not_initialised") return kExitLockedOut;
  // The transport's codes (device/https_client.hpp), once its retries are spent.
  if (error_code == "connect_failed" || error_code == "timeout" || error_code == "connection_lost" ||
      error_code == "tls_failed") {
    return kExitUnreachable;
  }
  if (error_code == "device_wiped") return kExitWiped;
  if (error_code == "enrolment_pending") return kExitPending;
  return kExitFailed;
}

Result<std::int64_t> integer_option(const Options& options, std::string_view name, std::int64_t fallback,
                                    std::int64_t minimum, std::int64_t maximum) {
  const auto text = options.value(name);
  if (!text) return fallback;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < minimum || value > maximum) {
    return make_error("usage", "--" + std::string(name) + " must be an integer from " +
                                   std::to_string(minimum) + " to " + std::to_string(maximum));
  }
  return value;
}

}  // namespace casefile::device_tool
