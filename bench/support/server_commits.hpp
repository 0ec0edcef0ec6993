// Realistic server-store commits built in-process, for filling a server store
// without HTTPS (server_store_benchmark, casefile-bench scenario 3): one
// device's batch of changes, each creating its own record in one of `cases`
// (round robin from `first_case`) with a fresh random sealed value, signed
// and Merkle-proven as a device would, and laid out as the push path commits it.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "crypto/ed25519.hpp"
#include "crypto/random.hpp"
#include "sync/batch.hpp"
#include "sync/change_encoding.hpp"
#include "sync/merkle.hpp"
#include "sync/record_state.hpp"
#include "sync/store.hpp"

namespace casefile::bench {

// An id whose first byte is `tag` and last eight bytes `number`: distinct
// kinds of ids never collide, and the same number gives the same id.
template <typename IdType>
IdType numbered_id(std::uint8_t tag, std::uint64_t number) {
  IdType id;
  id.bytes[0] = tag;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
  return id;
}

// The signing key of numbered device `device` (deterministic).
inline crypto::Ed25519PrivateKey numbered_device_key(std::uint64_t device) {
  std::vector<std::uint8_t> seed(32, 0x42);
  for (int i = 0; i < 8; ++i) seed[i] = static_cast<std::uint8_t>(device >> (8 * i));
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

// Cases are numbered_id<CaseId>(0xca, n), devices numbered_id<DeviceId>(0xd0, device).
inline sync::PushCommit new_records_commit(std::uint64_t device, std::uint64_t batch_number,
                                           std::uint64_t first_device_sequence, std::size_t changes,
                                           std::size_t first_case, std::size_t cases,
                                           std::size_t sealed_value_bytes = 700) {
  std::vector<sync::Change> batch_changes;
  batch_changes.reserve(changes);
  for (std::size_t i = 0; i < changes; ++i) {
    const std::uint64_t sequence = first_device_sequence + i;
    sync::Change change{sync::ChangeId{numbered_id<sync::DeviceId>(0xd0, device), sequence},
                        sync::RecordKey{numbered_id<sync::CaseId>(0xca, first_case + i % cases), "interviews",
                                        numbered_id<sync::RecordId>(0x7e, device << 32 | sequence)},
                        sync::Hlc::from_parts(1'700'000'000'000 + sequence, 0),
                        {sync::Operation{sync::OperationKind::set_field,
                                         "statement",
                                         sync::SealedValue{crypto::random_bytes(sealed_value_bytes).value()},
                                         {}}}};
    batch_changes.push_back(std::move(change));
  }
  auto batch = sync::seal_batch(numbered_id<sync::BatchId>(0xba, device << 32 | batch_number),
                                numbered_device_key(device), numbered_id<sync::DeviceId>(0xd0, device),
                                std::move(batch_changes));
  if (!batch.ok()) std::abort();
  sync::PushCommit commit;
  commit.batch = batch->header;
  for (sync::SignedChange& signed_change : batch->changes) {
    commit.leaf_hashes.push_back(sync::merkle_leaf_hash(sync::encode_change(signed_change.change)));
    sync::RecordState state(signed_change.change.record);
    state.apply(signed_change.change);
    commit.records.push_back({std::move(state), 0});
    commit.accepted.push_back(std::move(signed_change));
  }
  return commit;
}

}  // namespace casefile::bench
