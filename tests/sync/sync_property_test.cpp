// Property tests of sync over random schedules.
//
// Each seed runs at least 5 devices through 1,000+ local operations with
// pushes and pulls over a network that reorders, duplicates and loses
// messages (requests and responses), a store that fails commits, server
// restarts between batches, devices whose clocks are off by hours or years
// (behind and ahead), writes to cases a device may not write, and replays of
// accepted ids with altered bytes. After a full exchange it asserts:
//   convergence      every replica holds byte-identical state to the server's,
//                    which equals the log replayed in a shuffled order;
//   no lost write    every accepted write is live, or was superseded by a
//                    change whose author had seen it;
//   idempotence      a repeated push answers as the first and changes nothing;
//   cursor monotony  a device's cursor never moves back, and pages only hold
//                    entries after it.
//
// CASEFILE_PROPERTY_SEEDS sets how many seeds run (default 200, in four shards);
// CASEFILE_PROPERTY_SEED runs that one seed alone. A failure prints its seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sync/change_encoding.hpp"
#include "sync/change_json.hpp"
#include "sync/cursor.hpp"
#include "sync/memory_store.hpp"
#include "sync/pull.hpp"
#include "sync/push.hpp"
#include "sync/replica.hpp"
#include "sync/response_json.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace casefile::sync {
namespace {

using testing::batch_id;
using testing::case_id;
using testing::device_id;
using testing::record_key;

constexpr std::uint64_t kStartMillis = 1'700'000'000'000;
constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kYear = 365 * 24 * kHour;
constexpr int kCases = 3;
constexpr int kRecordsPerCase = 4;
// Share of messages sent through the JSON codec (its own tests cover it in depth).
constexpr int kJsonRoundTripPercent = 5;
const std::vector<std::string> kFields = {"stage", "status", "statement", "count", "juvenile"};

// A failed property: the message says which and where.
struct PropertyFailure {
  std::string what;
};

#define PROPERTY(condition, message)                                                 \
  do {                                                                               \
    if (!(condition)) {                                                              \
      std::ostringstream property_stream;                                            \
      property_stream << message;                                                    \
      throw PropertyFailure{std::string(#condition) + ": " + property_stream.str()}; \
    }                                                                                \
  } while (false)

#define PROPERTY_OK(status) PROPERTY((status).ok(), (status).error().code << " " << (status).error().message)

struct SimulatedDevice {
  SimulatedDevice(std::uint64_t number, std::int64_t clock_error)
      : id(device_id(number)), key(testing::device_key(number)), clock_error_millis(clock_error) {}

  DeviceId id;
  crypto::Ed25519PrivateKey key;
  std::int64_t clock_error_millis;  // the device's wall clock minus true time
  MemoryReplicaStore store;
  std::optional<Replica> replica;
  std::set<CaseId> cases;
  std::set<Dot> known;               // every dot this device has applied
  std::uint64_t pushed_through = 0;  // for pipelining: outbox sequences already sent
  std::uint64_t cursor_sequence = 0;
};

struct InFlightPush {
  std::size_t device;
  Batch batch;
};

class Simulation {
 public:
  explicit Simulation(std::uint64_t seed) : random_(seed) {}

  void run() {
    create_devices();
    int local_operations = 0;
    while (local_operations < 1000) {
      now_ += pick(0, 2000);
      const int action = pick(0, 99);
      if (action < 68) {
        local_write();
        ++local_operations;
      } else if (action < 74) {
        send_push();
      } else if (action < 86) {
        deliver_push();
      } else if (action < 96) {
        pull(false);
      } else if (action < 97) {
        replay_altered_change();
      } else {
        restart_server();
      }
    }
    full_exchange();
    check_convergence();
    check_no_lost_write();
    check_idempotence();
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  bool chance(int percent) { return pick(0, 99) < percent; }

  std::uint64_t device_now(const SimulatedDevice& device) const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(now_) + device.clock_error_millis);
  }

  void create_devices() {
    const int count = 5;
    const std::vector<std::int64_t> clock_errors = {0, 0, -3 * kHour, -2 * kYear, 250, kHour, 3 * kYear};
    for (int i = 0; i < count; ++i) {
      auto device = std::make_unique<SimulatedDevice>(static_cast<std::uint64_t>(i + 1),
                                                      clock_errors[static_cast<std::size_t>(pick(0, 6))]);
      for (int c = 0; c < kCases; ++c) {
        if (chance(70)) device->cases.insert(case_id(static_cast<std::uint64_t>(c)));
      }
      if (device->cases.empty())
        device->cases.insert(case_id(static_cast<std::uint64_t>(pick(0, kCases - 1))));
      auto replica = Replica::open(device->id, device->store);
      PROPERTY(replica.ok(), "open replica");
      device->replica.emplace(std::move(*replica));
      devices_.push_back(std::move(device));
    }
  }

  SimulatedDevice& random_device() {
    return *devices_[static_cast<std::size_t>(pick(0, int(devices_.size()) - 1))];
  }

  FieldValue random_value(const std::string& field) {
    if (field == "statement") {
      crypto::Bytes envelope(static_cast<std::size_t>(pick(1, 48)));
      for (auto& byte : envelope) byte = static_cast<std::uint8_t>(pick(0, 255));
      return SealedValue{std::move(envelope)};
    }
    if (field == "count") return std::int64_t{pick(-1000, 1000)};
    if (field == "juvenile") return chance(10) ? FieldValue{NullValue{}} : FieldValue{chance(50)};
    return std::string("v") + std::to_string(pick(0, 99999));
  }

  void local_write() {
    SimulatedDevice& device = random_device();
    const bool forbidden = device.cases.size() < static_cast<std::size_t>(kCases) && chance(2);
    CaseId target;
    if (forbidden) {
      do target = case_id(static_cast<std::uint64_t>(pick(0, kCases - 1)));
      while (device.cases.count(target) > 0);
    } else {
      auto it = device.cases.begin();
      std::advance(it, pick(0, int(device.cases.size()) - 1));
      target = *it;
    }
    std::uint64_t case_number = target.bytes[15];
    RecordKey key =
        record_key(case_number, case_number * 100 + static_cast<std::uint64_t>(pick(0, kRecordsPerCase - 1)),
                   chance(50) ? "interviews" : "clients");
    const auto stored = device.store.records().find(key);
    const RecordState* current = stored == device.store.records().end() ? nullptr : &stored->second;
    const int kind = pick(0, 99);
    Result<Change> change = make_error("unset", "");
    const std::string field = kFields[static_cast<std::size_t>(pick(0, int(kFields.size()) - 1))];
    if (kind < 10 && current) {
      change = device.replica->delete_record(key, device_now(device));
    } else if (kind < 25 && current && current->needs_resolution()) {
      std::string conflicted = field;
      for (const auto& [name, field_register] : current->fields()) {
        if (field_register.in_conflict()) conflicted = name;
      }
      change = device.replica->resolve_field(key, conflicted, random_value(conflicted), device_now(device));
    } else {
      std::vector<FieldWrite> writes{{field, random_value(field)}};
      if (chance(30)) {
        const std::string second = kFields[static_cast<std::size_t>(pick(0, int(kFields.size()) - 1))];
        if (second != field) writes.push_back({second, random_value(second)});
      }
      change = device.replica->write_fields(key, std::move(writes), device_now(device));
    }
    PROPERTY_OK(change);
    note_new_change(device, *change);
  }

  // A device only supersedes what it has seen.
  void note_new_change(SimulatedDevice& device, const Change& change) {
    for (const Operation& operation : change.operations) {
      for (const Dot& dot : operation.supersedes) {
        PROPERTY(device.known.count(dot) > 0, "change " << to_text(change.id.device) << "/"
                                                        << change.id.sequence
                                                        << " supersedes a dot its author never saw");
      }
    }
    device.known.insert(change.id);
    created_.emplace(change.id, change);
  }

  void send_push() {
    SimulatedDevice& device = random_device();
    // Pipelining: continue after the last batch sent, or start over.
    const std::uint64_t after = chance(60) ? device.pushed_through : 0;
    auto batch = device.replica->prepare_push(batch_id(++batch_counter_), device.key, after,
                                              static_cast<std::size_t>(pick(1, 60)));
    PROPERTY(batch.ok(), "prepare_push: " << batch.error().code);
    if (!batch->has_value()) {
      device.pushed_through = 0;
      return;
    }
    device.pushed_through = (*batch)->changes.back().change.id.sequence;
    in_flight_.push_back(InFlightPush{device_index(device), std::move(**batch)});
  }

  std::size_t device_index(const SimulatedDevice& device) const {
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      if (devices_[i].get() == &device) return i;
    }
    return 0;
  }

  PushContext context_for(const SimulatedDevice& device) const {
    PushContext context;
    context.device = device.id;
    context.device_public_key = device.key.public_key();
    context.writable_cases = device.cases;
    context.server_now_millis = now_;
    return context;
  }

  void deliver_push() {
    if (in_flight_.empty()) return;
    const std::size_t pick_index = static_cast<std::size_t>(pick(0, int(in_flight_.size()) - 1));
    InFlightPush message = in_flight_[pick_index];
    if (!chance(10))
      in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(pick_index));  // else: duplicated
    if (chance(8)) return;                                                             // request lost
    deliver(message, /*faults=*/true);
  }

  void deliver(const InFlightPush& message, bool faults) {
    SimulatedDevice& device = *devices_[message.device];
    Batch batch = message.batch;
    if (chance(kJsonRoundTripPercent)) {
      auto decoded = decode_push_request(encode_push_request(batch));
      PROPERTY_OK(decoded);
      batch = std::move(*decoded);
    }
    if (faults && chance(5)) server_store_.fail_next_commits(1);
    auto response = handle_push(server_store_, context_for(device), batch);
    if (!response.ok()) {
      PROPERTY(response.error().code == "store_unavailable", "push failed: " << response.error().code);
      return;
    }
    check_verdicts(device, batch, *response);
    if (faults && chance(10)) return;  // response lost
    PushResponse answer = *response;
    if (chance(kJsonRoundTripPercent)) {
      auto decoded = decode_push_response(encode_push_response(answer));
      PROPERTY_OK(decoded);
      answer = std::move(*decoded);
    }
    PROPERTY_OK(device.replica->apply_push_response(message.batch, answer, device_now(device)));
    // Re-issued changes (after clock_skew) are new changes by this device.
    for (const auto& [sequence, change] : device.store.outbox()) {
      if (created_.count(change.id) == 0) {
        for (const Operation& operation : change.operations) {
          for (const Dot& dot : operation.supersedes) {
            if (dot.device == device.id) device.known.insert(dot);
          }
        }
        note_new_change(device, change);
      }
    }
  }

  void check_verdicts(const SimulatedDevice& device, const Batch& batch, const PushResponse& response) {
    PROPERTY(response.verdicts.size() == batch.changes.size(), "one verdict per change");
    for (std::size_t i = 0; i < batch.changes.size(); ++i) {
      const Verdict& verdict = response.verdicts[i];
      const Change& change = batch.changes[i].change;
      PROPERTY(verdict.change == change.id, "verdict order");
      switch (verdict.kind) {
        case VerdictKind::accepted:
          PROPERTY(accepted_.count(change.id) == 0, "accepted twice");
          PROPERTY(device.cases.count(change.record.case_id) == 1,
                   "a write outside the device's cases was accepted");
          accepted_.emplace(change.id, verdict.sequence);
          break;
        case VerdictKind::duplicate:
          PROPERTY(accepted_.count(change.id) == 1 && accepted_[change.id] == verdict.sequence,
                   "a duplicate answers with the first sequence");
          break;
        case VerdictKind::refused:
          if (verdict.reason.code == "case_not_member") {
            PROPERTY(device.cases.count(change.record.case_id) == 0,
                     "refused a write inside the device's cases");
          } else {
            PROPERTY(verdict.reason.code == "clock_skew",
                     "unexpected refusal " << verdict.reason.code << ": " << verdict.reason.message);
            PROPERTY(device.clock_error_millis > 0, "clock_skew for a device whose clock is not ahead");
          }
          break;
      }
    }
  }

  // Takes an accepted change, alters its value, and pushes it again under the
  // same id in a correctly signed batch: the server must refuse it.
  void replay_altered_change() {
    if (accepted_.empty()) return;
    auto it = accepted_.begin();
    std::advance(it, pick(0, int(accepted_.size()) - 1));
    Change altered = created_.at(it->first);
    if (altered.operations.front().kind == OperationKind::delete_record) return;
    altered.operations.front().value = std::string("forged ") + std::to_string(pick(0, 1000));
    std::size_t author = 0;
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      if (devices_[i]->id == altered.id.device) author = i;
    }
    auto batch = seal_batch(batch_id(++batch_counter_), devices_[author]->key, altered.id.device, {altered});
    PROPERTY_OK(batch);
    const auto before = server_state_bytes();
    auto response = handle_push(server_store_, context_for(*devices_[author]), *batch);
    PROPERTY_OK(response);
    PROPERTY(response->verdicts.front().kind == VerdictKind::refused &&
                 response->verdicts.front().reason.code == "change_id_reused",
             "an altered replay of an accepted id must be refused");
    PROPERTY(before == server_state_bytes(), "a refused replay changed the server");
  }

  // In memory, the server is only its store: a restart loses what was in
  // flight and keeps nothing else.
  void restart_server() { in_flight_.clear(); }

  void pull(bool reliable) {
    SimulatedDevice& device = random_device();
    pull_page(device, reliable, static_cast<std::size_t>(pick(1, 200)));
  }

  // Returns whether the log had more.
  bool pull_page(SimulatedDevice& device, bool reliable, std::size_t limit) {
    auto page = handle_pull(server_store_, device.cases, device.replica->pull_cursor(), limit, now_);
    PROPERTY_OK(page);
    auto next = decode_cursor(page->next_cursor);
    PROPERTY_OK(next);
    PROPERTY(*next >= device.cursor_sequence, "cursor moved back");
    for (const LogEntry& entry : page->entries) {
      PROPERTY(entry.sequence > device.cursor_sequence && entry.sequence <= *next,
               "entry outside the cursor window");
      PROPERTY(device.cases.count(entry.change.change.record.case_id) == 1,
               "pulled a case the device cannot read");
    }
    if (!reliable && chance(8)) return true;  // page lost, or the device crashed before applying it
    if (chance(kJsonRoundTripPercent)) {
      auto decoded = decode_pull_page(encode_pull_page(*page));
      PROPERTY_OK(decoded);
      PROPERTY(*decoded == *page, "pull page JSON round trip");
    }
    PROPERTY_OK(device.replica->apply_pull_page(*page, author_keys(), device_now(device)));
    device.cursor_sequence = *next;
    for (const LogEntry& entry : page->entries) device.known.insert(entry.change.change.id);
    return page->has_more;
  }

  AuthorKeyLookup author_keys() const {
    return [this](const DeviceId& id) -> std::optional<crypto::Ed25519PublicKey> {
      for (const auto& device : devices_) {
        if (device->id == id) return device->key.public_key();
      }
      return std::nullopt;
    };
  }

  void full_exchange() {
    in_flight_.clear();
    for (int round = 0; round < 4; ++round) {
      now_ += 1000;
      for (std::size_t d = 0; d < devices_.size(); ++d) {
        SimulatedDevice& device = *devices_[d];
        for (int guard = 0; guard < 100; ++guard) {
          auto batch = device.replica->prepare_push(batch_id(++batch_counter_), device.key, 0, 200);
          PROPERTY(batch.ok(), "prepare_push");
          if (!batch->has_value()) break;
          deliver(InFlightPush{d, std::move(**batch)}, /*faults=*/false);
        }
        PROPERTY(device.store.outbox().empty(), "outbox not empty after a reliable exchange");
      }
      for (auto& device : devices_) {
        while (pull_page(*device, /*reliable=*/true, 100)) {
        }
      }
    }
  }

  std::map<RecordKey, crypto::Bytes> server_state_bytes() const {
    std::map<RecordKey, crypto::Bytes> states;
    for (const auto& [key, stored] : server_store_.records())
      states.emplace(key, encode_record_state(stored.state));
    return states;
  }

  void check_convergence() {
    const auto server = server_state_bytes();
    for (const auto& device : devices_) {
      std::map<RecordKey, crypto::Bytes> visible;
      for (const auto& [key, state] : device->store.records()) {
        if (device->cases.count(key.case_id) > 0) visible.emplace(key, encode_record_state(state));
      }
      std::map<RecordKey, crypto::Bytes> expected;
      for (const auto& [key, bytes] : server) {
        if (device->cases.count(key.case_id) > 0) expected.emplace(key, bytes);
      }
      PROPERTY(visible.size() == expected.size(), "device " << to_text(device->id) << " holds "
                                                            << visible.size() << " records, the server "
                                                            << expected.size());
      for (const auto& [key, bytes] : expected) {
        PROPERTY(visible.at(key) == bytes,
                 "device " << to_text(device->id) << " differs on record " << to_text(key.record_id));
      }
      for (const QuarantinedChange& quarantined : device->store.quarantine()) {
        PROPERTY(device->cases.count(quarantined.change.record.case_id) == 0,
                 "quarantined a permitted write");
      }
    }
    // The server's states equal the log replayed in another order.
    auto log = server_store_.read_log(0, all_cases(), SIZE_MAX);
    PROPERTY_OK(log);
    std::vector<LogEntry> entries = log->entries;
    std::shuffle(entries.begin(), entries.end(), random_);
    std::map<RecordKey, RecordState> replayed;
    for (const LogEntry& entry : entries) {
      const Change& change = entry.change.change;
      replayed.try_emplace(change.record, change.record).first->second.apply(change);
      replayed.at(change.record).apply(change);  // and twice
    }
    PROPERTY(replayed.size() == server.size(), "replayed record count");
    for (const auto& [key, state] : replayed) {
      PROPERTY(encode_record_state(state) == server.at(key),
               "shuffled replay differs on " << to_text(key.record_id));
    }
  }

  std::set<CaseId> all_cases() const {
    std::set<CaseId> cases;
    for (int c = 0; c < kCases; ++c) cases.insert(case_id(static_cast<std::uint64_t>(c)));
    return cases;
  }

  void check_no_lost_write() {
    auto log = server_store_.read_log(0, all_cases(), SIZE_MAX);
    PROPERTY_OK(log);
    // For each accepted dot, the (field or "" for tombstones) scopes that superseded it.
    std::map<Dot, std::set<std::string>> superseded_in;
    for (const LogEntry& entry : log->entries) {
      for (const Operation& operation : entry.change.change.operations) {
        for (const Dot& dot : operation.supersedes) {
          if (operation.kind == OperationKind::delete_record) {
            superseded_in[dot].insert("*");
          } else {
            superseded_in[dot].insert(operation.field);
            if (operation.kind == OperationKind::resolve_conflict) superseded_in[dot].insert("");
          }
        }
      }
    }
    std::size_t accepted_count = 0;
    for (const LogEntry& entry : log->entries) {
      const Change& change = entry.change.change;
      ++accepted_count;
      const RecordState& state = server_store_.records().at(change.record).state;
      for (const Operation& operation : change.operations) {
        const bool is_delete = operation.kind == OperationKind::delete_record;
        const FieldRegister* field_register = is_delete ? &state.tombstones() : state.field(operation.field);
        bool live = false;
        if (field_register) {
          for (const RegisterEntry& live_entry : field_register->entries())
            live = live || live_entry.dot == change.id;
        }
        const auto& scopes = superseded_in[change.id];
        const bool superseded = scopes.count(is_delete ? "" : operation.field) > 0 || scopes.count("*") > 0;
        PROPERTY(live || superseded, "write " << to_text(change.id.device) << "/" << change.id.sequence
                                              << " on " << (is_delete ? "<delete>" : operation.field)
                                              << " was lost");
      }
    }
    PROPERTY(accepted_count == accepted_.size(),
             "the log holds " << accepted_count << " changes, the verdicts said " << accepted_.size());
    // Every change a device made was accepted, re-issued, or refused as forbidden.
    for (const auto& [id, change] : created_) {
      if (accepted_.count(id) > 0) continue;
      const SimulatedDevice* author = nullptr;
      for (const auto& device : devices_) {
        if (device->id == id.device) author = device.get();
      }
      const bool forbidden = author->cases.count(change.record.case_id) == 0;
      PROPERTY(forbidden || author->clock_error_millis > 0,
               "change " << id.sequence << " was never accepted and has no reason");
    }
  }

  // Pushes a sample of accepted changes again, each device's in one batch.
  void check_idempotence() {
    const auto before = server_state_bytes();
    const std::uint64_t head = server_store_.head();
    for (const auto& device : devices_) {
      std::vector<Change> again;
      std::vector<std::uint64_t> sequences;
      for (const auto& [id, sequence] : accepted_) {
        if (id.device != device->id || !chance(25) || again.size() == kMaxBatchChanges) continue;
        again.push_back(created_.at(id));
        sequences.push_back(sequence);
      }
      if (again.empty()) continue;
      auto batch = seal_batch(batch_id(++batch_counter_), device->key, device->id, std::move(again));
      PROPERTY_OK(batch);
      auto response = handle_push(server_store_, context_for(*device), *batch);
      PROPERTY_OK(response);
      for (std::size_t i = 0; i < sequences.size(); ++i) {
        PROPERTY(response->verdicts[i].kind == VerdictKind::duplicate &&
                     response->verdicts[i].sequence == sequences[i],
                 "a repeated push must answer duplicate with the first sequence");
      }
    }
    PROPERTY(server_store_.head() == head, "a repeated push grew the log");
    PROPERTY(server_state_bytes() == before, "a repeated push changed a record");
  }

  std::mt19937_64 random_;
  std::uint64_t now_ = kStartMillis;
  std::vector<std::unique_ptr<SimulatedDevice>> devices_;
  MemoryServerStore server_store_;
  std::vector<InFlightPush> in_flight_;
  std::map<ChangeId, Change> created_;
  std::map<ChangeId, std::uint64_t> accepted_;  // id -> sequence
  std::uint64_t batch_counter_ = 0;
};

// Sized for `make test` under ASan on this two-core machine: about 0.9 s of
// CPU a seed, split over four shards that ctest runs in parallel. `make soak`
// runs 5000.
constexpr std::uint64_t kDefaultSeeds = 200;
constexpr std::uint64_t kShards = 4;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  return std::strtoull(text, nullptr, 10);
}

// Runs the simulation for this shard's seeds (seed % kShards == shard); stops
// at the first failure and says how to rerun it alone.
void run_shard(std::uint64_t shard) {
  std::vector<std::uint64_t> seeds;
  if (const char* one = std::getenv("CASEFILE_PROPERTY_SEED"); one && *one) {
    seeds.push_back(std::strtoull(one, nullptr, 10));
  } else {
    const std::uint64_t count = env_number("CASEFILE_PROPERTY_SEEDS", kDefaultSeeds);
    for (std::uint64_t seed = 1; seed <= count; ++seed) seeds.push_back(seed);
  }
  for (std::uint64_t seed : seeds) {
    if (seed % kShards != shard) continue;
    try {
      Simulation(seed).run();
    } catch (const PropertyFailure& failure) {
      FAIL() << "seed " << seed << " failed: " << failure.what
             << "\nreproduce with: CASEFILE_PROPERTY_SEED=" << seed << " tests/sync/sync_property_tests";
    }
  }
}

// Convergence, no lost write, idempotence and cursor monotonicity (see the
// top of this file), one test per shard of the seeds.
TEST(SyncProperties, HoldOverFaultySchedulesShard0) { run_shard(0); }
TEST(SyncProperties, HoldOverFaultySchedulesShard1) { run_shard(1); }
TEST(SyncProperties, HoldOverFaultySchedulesShard2) { run_shard(2); }
TEST(SyncProperties, HoldOverFaultySchedulesShard3) { run_shard(3); }

}  // namespace
}  // namespace casefile::sync
