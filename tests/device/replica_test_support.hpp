// Shared by the device tests: scratch directories, storage keys, and the
// comparison of a SQLCipher replica with its in-memory twin through reads.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "crypto/random.hpp"
#include "crypto/secret_bytes.hpp"
#include "device/sqlcipher_replica_store.hpp"
#include "sync/memory_store.hpp"
#include "tests/support/scratch_directory.hpp"

namespace casefile::device::testing {

using test_support::ScratchDirectory;

inline crypto::SecretBytes random_storage_key() { return test_support::random_database_key(); }

// Opens the replica or fails the test (use with ASSERT_NO_FATAL_FAILURE).
inline SqlcipherReplicaStore open_store(const std::filesystem::path& path, const crypto::SecretBytes& key) {
  auto store = SqlcipherReplicaStore::open(path, key);
  if (!store.ok())
    throw std::runtime_error("open replica: " + store.error().code + ": " + store.error().message);
  return std::move(store).value();
}

// The replica file and its WAL and shared-memory companions, concatenated.
inline std::string read_replica_files(const std::filesystem::path& path) {
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const std::filesystem::path part = path.string() + suffix;
    if (!std::filesystem::exists(part)) continue;
    std::ifstream in(part, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return bytes;
}

inline void expect_same_meta(const sync::ReplicaMeta& expected, const sync::ReplicaMeta& actual) {
  EXPECT_EQ(expected.pull_cursor, actual.pull_cursor);
  EXPECT_EQ(expected.next_sequence, actual.next_sequence);
  EXPECT_EQ(expected.clock_last, actual.clock_last);
  EXPECT_EQ(expected.clock_offset_millis, actual.clock_offset_millis);
}

// Every observable read of `actual` equals the same read of `expected`:
// meta, every record (and the absence of each probe key), the outbox through
// several windows, and the quarantine.
inline void expect_same_observable_state(sync::MemoryReplicaStore& expected, SqlcipherReplicaStore& actual,
                                         const std::vector<sync::RecordKey>& probe_keys) {
  auto expected_meta = expected.load_meta();
  auto actual_meta = actual.load_meta();
  ASSERT_TRUE(expected_meta.ok() && actual_meta.ok());
  expect_same_meta(*expected_meta, *actual_meta);

  std::vector<sync::RecordKey> expected_keys;
  for (const auto& [key, state] : expected.records()) expected_keys.push_back(key);
  auto actual_keys = actual.list_record_keys();
  ASSERT_TRUE(actual_keys.ok()) << actual_keys.error().message;
  EXPECT_EQ(expected_keys, *actual_keys);
  std::vector<sync::RecordKey> keys = probe_keys;
  keys.insert(keys.end(), expected_keys.begin(), expected_keys.end());
  for (const sync::RecordKey& key : keys) {
    auto expected_record = expected.load_record(key);
    auto actual_record = actual.load_record(key);
    ASSERT_TRUE(expected_record.ok());
    ASSERT_TRUE(actual_record.ok()) << actual_record.error().message;
    EXPECT_EQ(*expected_record, *actual_record);
  }

  std::vector<std::pair<std::uint64_t, std::size_t>> windows = {
      {0, std::numeric_limits<std::size_t>::max()},
      {0, 1},
      {0, 0},
      {std::numeric_limits<std::uint64_t>::max(), 5}};
  if (!expected.outbox().empty()) {
    const std::uint64_t first = expected.outbox().begin()->first;
    const std::uint64_t last = expected.outbox().rbegin()->first;
    windows.insert(windows.end(), {{first, 2}, {(first + last) / 2, 3}, {last, 10}, {last - 1, 1}});
  }
  for (const auto& [after, limit] : windows) {
    auto expected_outbox = expected.read_outbox(after, limit);
    auto actual_outbox = actual.read_outbox(after, limit);
    ASSERT_TRUE(expected_outbox.ok());
    ASSERT_TRUE(actual_outbox.ok()) << actual_outbox.error().message;
    EXPECT_EQ(*expected_outbox, *actual_outbox) << "outbox after " << after << ", limit " << limit;
  }

  auto actual_quarantine = actual.read_quarantine();
  ASSERT_TRUE(actual_quarantine.ok()) << actual_quarantine.error().message;
  ASSERT_EQ(expected.quarantine().size(), actual_quarantine->size());
  for (std::size_t i = 0; i < actual_quarantine->size(); ++i) {
    EXPECT_EQ(expected.quarantine()[i].change, (*actual_quarantine)[i].change);
    EXPECT_EQ(expected.quarantine()[i].reason, (*actual_quarantine)[i].reason);
  }
}

}  // namespace casefile::device::testing
