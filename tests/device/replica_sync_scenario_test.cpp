// The sync scenario on real SQLCipher replica files: three devices, each
// with its own encrypted replica, and the in-memory server store, over a
// network that reorders, duplicates and loses pushes, responses and pull
// pages (a lost message is retried later), with device restarts (the replica
// file closed and reopened) and failing server commits. After a full
// exchange:
//   convergence    every device's replica, read back through its store,
//                  holds byte-identical record states to the server's for the
//                  cases it can read, and nothing else;
//   no lost write  every change a device made was accepted, and every
//                  accepted write is live or was superseded by a change whose
//                  author had seen it;
//   same as memory the same seed over sync::MemoryReplicaStore replicas ends
//                  in the same states: the file store changes nothing.
//
// CASEFILE_DEVICE_SCENARIO_SEEDS sets how many seeds run (default 4);
// CASEFILE_DEVICE_SCENARIO_SEED runs that one seed alone.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "device/sqlcipher_replica_store.hpp"
#include "sync/memory_store.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/replica.hpp"
#include "tests/device/replica_test_support.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::device {
namespace {

using sync::testing::batch_id;
using sync::testing::case_id;
using sync::testing::device_id;
using sync::testing::record_key;

using StateBytes = std::map<sync::RecordKey, crypto::Bytes>;

constexpr std::uint64_t kStartMillis = 1'700'000'000'000;
constexpr std::int64_t kHour = 3'600'000;
constexpr std::size_t kDevices = 3;
constexpr std::uint64_t kCases = 2;
constexpr int kLocalOperations = 250;
const std::vector<std::string> kFields = {"stage", "status", "statement", "count"};

struct ScenarioFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define SCENARIO_CHECK(condition, message)              \
  do {                                                  \
    if (!(condition)) {                                 \
      std::ostringstream scenario_stream;               \
      scenario_stream << #condition << ": " << message; \
      throw ScenarioFailure(scenario_stream.str());     \
    }                                                   \
  } while (false)

#define SCENARIO_OK(result) \
  SCENARIO_CHECK((result).ok(), (result).error().code << ": " << (result).error().message)

// Where the devices' replicas live; restart() closes and reopens one.
class DeviceStores {
 public:
  virtual ~DeviceStores() = default;
  virtual sync::ReplicaStore& store(std::size_t device) = 0;
  virtual void restart(std::size_t device) = 0;
  // Every record the replica holds, read back through the store.
  virtual StateBytes state_bytes(std::size_t device) = 0;
  virtual std::size_t quarantine_size(std::size_t device) = 0;
};

class MemoryStores final : public DeviceStores {
 public:
  sync::ReplicaStore& store(std::size_t device) override { return stores_[device]; }
  void restart(std::size_t) override {}  // memory survives a restart of the replica object only
  StateBytes state_bytes(std::size_t device) override {
    StateBytes states;
    for (const auto& [key, state] : stores_[device].records())
      states.emplace(key, sync::encode_record_state(state));
    return states;
  }
  std::size_t quarantine_size(std::size_t device) override { return stores_[device].quarantine().size(); }

 private:
  sync::MemoryReplicaStore stores_[kDevices];
};

class ReplicaFiles final : public DeviceStores {
 public:
  ReplicaFiles() {
    for (std::size_t d = 0; d < kDevices; ++d) {
      keys_.push_back(testing::random_storage_key());
      stores_[d].emplace(testing::open_store(path(d), keys_[d]));
    }
  }
  sync::ReplicaStore& store(std::size_t device) override { return *stores_[device]; }
  void restart(std::size_t device) override {
    stores_[device].reset();
    stores_[device].emplace(testing::open_store(path(device), keys_[device]));
  }
  StateBytes state_bytes(std::size_t device) override {
    auto keys = stores_[device]->list_record_keys();
    SCENARIO_OK(keys);
    StateBytes states;
    for (const sync::RecordKey& key : *keys) {
      auto state = stores_[device]->load_record(key);
      SCENARIO_OK(state);
      SCENARIO_CHECK(state->has_value(), "a listed record does not load");
      states.emplace(key, sync::encode_record_state(**state));
    }
    return states;
  }
  std::size_t quarantine_size(std::size_t device) override {
    auto quarantine = stores_[device]->read_quarantine();
    SCENARIO_OK(quarantine);
    return quarantine->size();
  }

 private:
  std::filesystem::path path(std::size_t device) const {
    return directory_.file("replica-" + std::to_string(device) + ".db");
  }

  testing::ScratchDirectory directory_;
  std::vector<crypto::SecretBytes> keys_;
  std::optional<SqlcipherReplicaStore> stores_[kDevices];
};

struct ScenarioOutcome {
  StateBytes server;
  std::vector<StateBytes> devices;
};

struct Device {
  sync::DeviceId id;
  crypto::Ed25519PrivateKey key;
  std::int64_t clock_error_millis = 0;
  std::set<sync::CaseId> cases;
  std::optional<sync::Replica> replica;
  std::uint64_t pushed_through = 0;
};

struct InFlightPush {
  std::size_t device;
  sync::Batch batch;
};

class SyncScenario {
 public:
  SyncScenario(std::uint64_t seed, DeviceStores& stores) : random_(seed), stores_(stores) {}

  ScenarioOutcome run() {
    create_devices();
    for (int local_operations = 0; local_operations < kLocalOperations;) {
      now_ += static_cast<std::uint64_t>(pick(0, 2000));
      const int action = pick(0, 99);
      if (action < 50) {
        local_write();
        ++local_operations;
      } else if (action < 64) {
        send_push();
      } else if (action < 80) {
        deliver_push();
      } else if (action < 95) {
        pull(/*reliable=*/false, static_cast<std::size_t>(pick(1, 30)), pick_device());
      } else {
        restart(pick_device());
      }
    }
    full_exchange();
    ScenarioOutcome outcome = check_convergence();
    check_no_lost_write();
    return outcome;
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool chance(int percent) { return pick(0, 99) < percent; }
  std::size_t pick_device() { return static_cast<std::size_t>(pick(0, int(kDevices) - 1)); }

  std::uint64_t device_now(const Device& device) const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(now_) + device.clock_error_millis);
  }

  void create_devices() {
    // Clocks right or behind (a clock ahead is refused with clock_skew; the
    // sync property test covers that path).
    const std::vector<std::int64_t> clock_errors = {0, 250, -3 * kHour};
    for (std::size_t d = 0; d < kDevices; ++d) {
      Device device{device_id(d + 1), sync::testing::device_key(d + 1), clock_errors[d], {}, std::nullopt, 0};
      for (std::uint64_t c = 0; c < kCases; ++c) {
        if (d == 0 || chance(60)) device.cases.insert(case_id(c));
      }
      if (device.cases.empty()) device.cases.insert(case_id(static_cast<std::uint64_t>(pick(0, kCases - 1))));
      devices_.push_back(std::move(device));
      open_replica(d);
    }
  }

  void open_replica(std::size_t d) {
    auto replica = sync::Replica::open(devices_[d].id, stores_.store(d));
    SCENARIO_OK(replica);
    devices_[d].replica.emplace(std::move(*replica));
  }

  // The device process ends and starts again: the replica object goes, the
  // file is closed and reopened, and the pipelining position is forgotten.
  void restart(std::size_t d) {
    devices_[d].replica.reset();
    stores_.restart(d);
    open_replica(d);
    devices_[d].pushed_through = 0;
  }

  sync::FieldValue random_value(const std::string& field) {
    if (field == "statement") {
      crypto::Bytes envelope(static_cast<std::size_t>(pick(1, 64)));
      for (auto& byte : envelope) byte = static_cast<std::uint8_t>(pick(0, 255));
      return sync::SealedValue{std::move(envelope)};
    }
    if (field == "count") return std::int64_t{pick(-1000, 1000)};
    return std::string("v") + std::to_string(pick(0, 99999));
  }

  void local_write() {
    const std::size_t d = pick_device();
    Device& device = devices_[d];
    auto it = device.cases.begin();
    std::advance(it, pick(0, int(device.cases.size()) - 1));
    const std::uint64_t case_number = it->bytes[15];
    const sync::RecordKey key =
        record_key(case_number, case_number * 10 + static_cast<std::uint64_t>(pick(0, 2)));
    auto current = stores_.store(d).load_record(key);
    SCENARIO_OK(current);
    const std::string field = kFields[static_cast<std::size_t>(pick(0, int(kFields.size()) - 1))];
    const int kind = pick(0, 99);
    Result<sync::Change> change = make_error("unset", "");
    if (kind < 8 && current->has_value()) {
      change = device.replica->delete_record(key, device_now(device));
    } else if (kind < 25 && current->has_value() && (*current)->needs_resolution()) {
      std::string conflicted = field;
      for (const auto& [name, field_register] : (*current)->fields()) {
        if (field_register.in_conflict()) conflicted = name;
      }
      change = device.replica->resolve_field(key, conflicted, random_value(conflicted), device_now(device));
    } else {
      change = device.replica->write_fields(key, {{field, random_value(field)}}, device_now(device));
    }
    SCENARIO_OK(change);
    created_.insert(change->id);
  }

  void send_push() {
    const std::size_t d = pick_device();
    Device& device = devices_[d];
    const std::uint64_t after = chance(60) ? device.pushed_through : 0;
    auto batch = device.replica->prepare_push(batch_id(++batch_counter_), device.key, after,
                                              static_cast<std::size_t>(pick(1, 20)));
    SCENARIO_OK(batch);
    if (!batch->has_value()) {
      device.pushed_through = 0;
      return;
    }
    device.pushed_through = (*batch)->changes.back().change.id.sequence;
    in_flight_.push_back(InFlightPush{d, std::move(**batch)});
  }

  void deliver_push() {
    if (in_flight_.empty()) return;
    const auto index = static_cast<std::size_t>(pick(0, int(in_flight_.size()) - 1));  // reordered
    const InFlightPush message = in_flight_[index];
    if (!chance(10))
      in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(index));  // else duplicated
    if (chance(8)) return;  // request lost: the outbox keeps the changes for a later push
    deliver(message, /*faults=*/true);
  }

  void deliver(const InFlightPush& message, bool faults) {
    Device& device = devices_[message.device];
    if (faults && chance(5)) server_store_.fail_next_commits(1);
    sync::PushContext context;
    context.device = device.id;
    context.device_public_key = device.key.public_key();
    context.writable_cases = device.cases;
    context.server_now_millis = now_;
    auto response = sync::handle_push(server_store_, context, message.batch);
    if (!response.ok()) {
      SCENARIO_CHECK(response.error().code == "store_unavailable", response.error().code);
      return;  // the device retries with a later push
    }
    for (const sync::Verdict& verdict : response->verdicts) {
      SCENARIO_CHECK(verdict.kind != sync::VerdictKind::refused,
                     "refused " << verdict.reason.code << ": " << verdict.reason.message);
      if (verdict.kind == sync::VerdictKind::accepted) accepted_.insert(verdict.change);
    }
    if (faults && chance(10)) return;  // response lost
    SCENARIO_OK(device.replica->apply_push_response(message.batch, *response, device_now(device)));
  }

  // Returns whether the log had more for this device.
  bool pull(bool reliable, std::size_t limit, std::size_t d) {
    Device& device = devices_[d];
    auto page = sync::handle_pull(server_store_, device.cases, device.replica->pull_cursor(), limit, now_);
    SCENARIO_OK(page);
    if (!reliable && chance(8)) return true;  // page lost, or the device died before applying it
    SCENARIO_OK(device.replica->apply_pull_page(*page, author_keys(), device_now(device)));
    return page->has_more;
  }

  sync::AuthorKeyLookup author_keys() const {
    return [this](const sync::DeviceId& id) -> std::optional<crypto::Ed25519PublicKey> {
      for (const Device& device : devices_) {
        if (device.id == id) return device.key.public_key();
      }
      return std::nullopt;
    };
  }

  void full_exchange() {
    in_flight_.clear();
    for (int round = 0; round < 3; ++round) {
      now_ += 1000;
      for (std::size_t d = 0; d < kDevices; ++d) {
        for (int guard = 0; guard < 100; ++guard) {
          auto batch = devices_[d].replica->prepare_push(batch_id(++batch_counter_), devices_[d].key, 0, 200);
          SCENARIO_OK(batch);
          if (!batch->has_value()) break;
          deliver(InFlightPush{d, std::move(**batch)}, /*faults=*/false);
        }
        auto outbox = stores_.store(d).read_outbox(0, SIZE_MAX);
        SCENARIO_OK(outbox);
        SCENARIO_CHECK(outbox->empty(),
                       "device " << d << " still has " << outbox->size() << " changes to push");
      }
      for (std::size_t d = 0; d < kDevices; ++d) {
        while (pull(/*reliable=*/true, 100, d)) {
        }
      }
    }
  }

  StateBytes server_state_bytes() const {
    StateBytes states;
    for (const auto& [key, stored] : server_store_.records())
      states.emplace(key, sync::encode_record_state(stored.state));
    return states;
  }

  ScenarioOutcome check_convergence() {
    ScenarioOutcome outcome{server_state_bytes(), {}};
    for (std::size_t d = 0; d < kDevices; ++d) {
      StateBytes expected;
      for (const auto& [key, bytes] : outcome.server) {
        if (devices_[d].cases.count(key.case_id) > 0) expected.emplace(key, bytes);
      }
      StateBytes held = stores_.state_bytes(d);
      SCENARIO_CHECK(held.size() == expected.size(), "device " << d << " holds " << held.size()
                                                               << " records, the server " << expected.size());
      for (const auto& [key, bytes] : expected) {
        SCENARIO_CHECK(held.count(key) == 1 && held.at(key) == bytes,
                       "device " << d << " differs on record " << sync::to_text(key.record_id));
      }
      SCENARIO_CHECK(stores_.quarantine_size(d) == 0, "device " << d << " quarantined a permitted change");
      outcome.devices.push_back(std::move(held));
    }
    return outcome;
  }

  void check_no_lost_write() {
    std::set<sync::CaseId> all_cases;
    for (std::uint64_t c = 0; c < kCases; ++c) all_cases.insert(case_id(c));
    auto log = server_store_.read_log(0, all_cases, SIZE_MAX);
    SCENARIO_OK(log);
    SCENARIO_CHECK(
        log->entries.size() == created_.size() && accepted_ == created_,
        "the log holds " << log->entries.size() << " changes, the devices made " << created_.size());
    // For each dot, the fields ("" for tombstones, "*" for everything) that superseded it.
    std::map<sync::Dot, std::set<std::string>> superseded_in;
    for (const sync::LogEntry& entry : log->entries) {
      for (const sync::Operation& operation : entry.change.change.operations) {
        for (const sync::Dot& dot : operation.supersedes) {
          if (operation.kind == sync::OperationKind::delete_record) {
            superseded_in[dot].insert("*");
          } else {
            superseded_in[dot].insert(operation.field);
            if (operation.kind == sync::OperationKind::resolve_conflict) superseded_in[dot].insert("");
          }
        }
      }
    }
    for (const sync::LogEntry& entry : log->entries) {
      const sync::Change& change = entry.change.change;
      const sync::RecordState& state = server_store_.records().at(change.record).state;
      for (const sync::Operation& operation : change.operations) {
        const bool is_delete = operation.kind == sync::OperationKind::delete_record;
        const sync::FieldRegister* field_register =
            is_delete ? &state.tombstones() : state.field(operation.field);
        bool live = false;
        if (field_register != nullptr) {
          for (const sync::RegisterEntry& live_entry : field_register->entries())
            live |= live_entry.dot == change.id;
        }
        const auto& scopes = superseded_in[change.id];
        const bool superseded = scopes.count(is_delete ? "" : operation.field) > 0 || scopes.count("*") > 0;
        SCENARIO_CHECK(live || superseded, "write " << sync::to_text(change.id.device) << "/"
                                                    << change.id.sequence << " was lost");
      }
    }
  }

  std::mt19937_64 random_;
  DeviceStores& stores_;
  std::uint64_t now_ = kStartMillis;
  std::vector<Device> devices_;
  sync::MemoryServerStore server_store_;
  std::vector<InFlightPush> in_flight_;
  std::set<sync::ChangeId> created_;
  std::set<sync::ChangeId> accepted_;
  std::uint64_t batch_counter_ = 0;
};

std::vector<std::uint64_t> scenario_seeds() {
  if (const char* one = std::getenv("CASEFILE_DEVICE_SCENARIO_SEED"); one && *one) {
    return {std::strtoull(one, nullptr, 10)};
  }
  std::uint64_t count = 4;
  if (const char* text = std::getenv("CASEFILE_DEVICE_SCENARIO_SEEDS"); text && *text) {
    count = std::strtoull(text, nullptr, 10);
  }
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t seed = 1; seed <= count; ++seed) seeds.push_back(seed);
  return seeds;
}

TEST(ReplicaSyncScenario, SqlcipherReplicasConvergeWithoutLosingWritesAndMatchMemoryReplicas) {
  for (const std::uint64_t seed : scenario_seeds()) {
    try {
      ReplicaFiles files;
      const ScenarioOutcome on_files = SyncScenario(seed, files).run();
      MemoryStores memory;
      const ScenarioOutcome in_memory = SyncScenario(seed, memory).run();
      EXPECT_EQ(on_files.server, in_memory.server) << "seed " << seed;
      EXPECT_EQ(on_files.devices, in_memory.devices) << "seed " << seed;
      EXPECT_FALSE(on_files.server.empty()) << "seed " << seed;
    } catch (const ScenarioFailure& failure) {
      FAIL() << "seed " << seed << ": " << failure.what()
             << "\nreproduce with: CASEFILE_DEVICE_SCENARIO_SEED=" << seed
             << " device_tests --gtest_filter=ReplicaSyncScenario.*";
    }
  }
}

}  // namespace
}  // namespace casefile::device
