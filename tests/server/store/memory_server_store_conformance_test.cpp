// The in-memory twin passes the conformance suite. sync::MemoryServerStore is
// single-threaded, so the backend serialises calls to it with one mutex, the
// way one lock on a whole store would; a restart keeps the same object, as a
// database server outlives the casefiled that connects to it.
#include <mutex>

#include "sync/memory_store.hpp"
#include "tests/server/store/server_store_conformance.hpp"

namespace casefile::server::testing {
namespace {

class SerializedMemoryStore final : public sync::ServerStore {
 public:
  SerializedMemoryStore(sync::MemoryServerStore& store, std::mutex& mutex) : store_(store), mutex_(mutex) {}

  Result<std::optional<sync::AcceptedChange>> find_change(const sync::ChangeId& id) override {
    std::lock_guard lock(mutex_);
    return store_.find_change(id);
  }
  Result<std::optional<sync::StoredRecord>> load_record(const sync::RecordKey& key) override {
    std::lock_guard lock(mutex_);
    return store_.load_record(key);
  }
  Result<std::vector<sync::BatchHeader>> load_batches(
      const std::vector<std::pair<sync::DeviceId, sync::BatchId>>& ids) override {
    std::lock_guard lock(mutex_);
    return store_.load_batches(ids);
  }
  Result<std::vector<std::uint64_t>> commit_push(const sync::PushCommit& commit) override {
    std::lock_guard lock(mutex_);
    return store_.commit_push(commit);
  }
  Result<sync::LogSlice> read_log(std::uint64_t after_sequence, const std::set<sync::CaseId>& readable_cases,
                                  std::size_t limit) override {
    std::lock_guard lock(mutex_);
    return store_.read_log(after_sequence, readable_cases, limit);
  }

 private:
  sync::MemoryServerStore& store_;
  std::mutex& mutex_;
};

class MemoryBackend final : public ServerStoreBackend {
 public:
  std::unique_ptr<sync::ServerStore> open() override {
    return std::make_unique<SerializedMemoryStore>(store_, mutex_);
  }

 private:
  sync::MemoryServerStore store_;
  std::mutex mutex_;
};

INSTANTIATE_TEST_SUITE_P(Memory, ServerStoreConformance,
                         ::testing::Values(ServerStoreBackendParam{
                             "memory", [] { return std::make_unique<MemoryBackend>(); }}),
                         backend_name);

}  // namespace
}  // namespace casefile::server::testing
