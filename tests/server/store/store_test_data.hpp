// Changes, batches and push commits for the server store tests: valid,
// canonically encoded, and sealed by a deterministic device key, so that a
// failing run reproduces.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/ed25519.hpp"
#include "sync/batch.hpp"
#include "sync/change.hpp"
#include "sync/change_encoding.hpp"
#include "sync/merkle.hpp"
#include "sync/store.hpp"

namespace casefile::server::testing {

template <typename IdType>
IdType numbered_id(std::uint8_t tag, std::uint64_t number) {
  IdType id;
  id.bytes[0] = tag;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
  return id;
}

inline sync::DeviceId device_id(std::uint64_t n) { return numbered_id<sync::DeviceId>(0xd0, n); }
inline sync::CaseId case_id(std::uint64_t n) { return numbered_id<sync::CaseId>(0xca, n); }
inline sync::RecordId record_id(std::uint64_t n) { return numbered_id<sync::RecordId>(0x7e, n); }
inline sync::BatchId batch_id(std::uint64_t n) { return numbered_id<sync::BatchId>(0xba, n); }

inline sync::RecordKey record_key(std::uint64_t case_number, std::uint64_t record_number) {
  return sync::RecordKey{case_id(case_number), "notes", record_id(record_number)};
}

inline crypto::Ed25519PrivateKey device_key(std::uint64_t n) {
  std::vector<std::uint8_t> seed(32, 0);
  for (int i = 0; i < 8; ++i) seed[i] = static_cast<std::uint8_t>(n >> (8 * i));
  seed[31] = 0x5e;
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

inline constexpr std::uint64_t kBaseMillis = 1'700'000'000'000;

// Device `device`'s change number `sequence`: writes field "body" of `record`
// with `value`, superseding nothing.
inline sync::Change body_change(std::uint64_t device, std::uint64_t sequence, const sync::RecordKey& record,
                                sync::FieldValue value) {
  sync::Change change{sync::ChangeId{device_id(device), sequence},
                      record,
                      sync::Hlc::from_parts(kBaseMillis + sequence, 0),
                      {sync::Operation{sync::OperationKind::set_field, "body", std::move(value), {}}}};
  sync::canonicalize_change(change);
  return change;
}

// Seals `changes` (all by `device`) as batch number `batch`.
inline sync::Batch seal(std::uint64_t device, std::uint64_t batch, std::vector<sync::Change> changes) {
  auto sealed = sync::seal_batch(batch_id(batch), device_key(device), device_id(device), std::move(changes));
  if (!sealed.ok()) throw std::runtime_error("seal_batch: " + sealed.error().message);
  return std::move(sealed).value();
}

// The commit the server would make for every change of `batch`, with each
// touched record's new state computed from `store`'s current one (as
// sync::handle_push does), expected_version included.
inline sync::PushCommit commit_for(sync::ServerStore& store, const sync::Batch& batch) {
  sync::PushCommit commit;
  commit.batch = batch.header;
  std::map<sync::RecordKey, sync::PushCommit::RecordWrite> records;
  for (const sync::SignedChange& signed_change : batch.changes) {
    const sync::RecordKey& key = signed_change.change.record;
    auto it = records.find(key);
    if (it == records.end()) {
      auto stored = store.load_record(key);
      if (!stored.ok()) throw std::runtime_error("load_record: " + stored.error().message);
      sync::PushCommit::RecordWrite write{sync::RecordState(key), 0};
      if (stored->has_value()) write = {(*stored)->state, (*stored)->version};
      it = records.emplace(key, std::move(write)).first;
    }
    it->second.state.apply(signed_change.change);
    commit.accepted.push_back(signed_change);
    commit.leaf_hashes.push_back(sync::merkle_leaf_hash(sync::encode_change(signed_change.change)));
  }
  for (auto& [key, write] : records) commit.records.push_back(std::move(write));
  return commit;
}

// Device `device`'s changes first_sequence, first_sequence+1, ... writing
// `records` in order, sealed as batch `batch` and made into a commit
// against `store`.
inline sync::PushCommit write_commit(sync::ServerStore& store, std::uint64_t device, std::uint64_t batch,
                                     std::uint64_t first_sequence,
                                     const std::vector<sync::RecordKey>& records) {
  std::vector<sync::Change> changes;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::uint64_t sequence = first_sequence + i;
    changes.push_back(
        body_change(device, sequence, records[i],
                    std::string("note ") + std::to_string(device) + "/" + std::to_string(sequence)));
  }
  return commit_for(store, seal(device, batch, std::move(changes)));
}

}  // namespace casefile::server::testing
