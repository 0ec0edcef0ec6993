// A batch: changes a device pushes together, signed once (DESIGN §5).
//
// The device builds an RFC 6962 tree over the canonical encodings of the
// batch's changes (in batch order) and signs the root with its Ed25519 key.
// Each change travels with its inclusion proof, so a receiver can check any
// one change against the signed root without the rest of the batch.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "sync/change.hpp"
#include "sync/merkle.hpp"

namespace casefile::sync {

struct BatchHeader {
  BatchId id;
  DeviceId author;
  std::uint64_t tree_size = 0;
  MerkleHash root{};
  crypto::Ed25519Signature signature{};

  friend bool operator==(const BatchHeader&, const BatchHeader&) = default;
};

// Where a change sits in its signed batch.
struct ChangeProof {
  BatchId batch;
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<MerkleHash> path;

  friend bool operator==(const ChangeProof&, const ChangeProof&) = default;
};

struct SignedChange {
  Change change;
  ChangeProof proof;

  friend bool operator==(const SignedChange&, const SignedChange&) = default;
};

struct Batch {
  BatchHeader header;
  std::vector<SignedChange> changes;
};

inline constexpr std::size_t kMaxBatchChanges = 1000;

// The message the author signs: the ASCII domain label
// "casefile/sync/batch/v1", a zero byte, the batch id, the author device id,
// the tree size (u64 big-endian) and the root.
crypto::Bytes batch_signing_message(const BatchHeader& header);

// Validates and encodes each change, builds the tree and signs its root.
// Errors: "change_invalid", "author_mismatch" (a change by another device),
// "batch_empty", "batch_too_large", and the signer's errors.
Result<Batch> seal_batch(const BatchId& id, const crypto::Ed25519PrivateKey& author_key,
                         const DeviceId& author, std::vector<Change> changes);

// Errors: "batch_signature_invalid".
Status verify_batch_signature(const BatchHeader& header, crypto::ByteView author_public_key);

// Checks that `change` is a leaf of the batch `header` describes (the
// header's signature is checked separately, once a batch). Errors:
// "inclusion_proof_invalid", "author_mismatch".
Status verify_change_inclusion(const SignedChange& change, const BatchHeader& header);
// The same, for a caller that already has the leaf hash of the change's
// canonical encoding.
Status verify_change_inclusion(const SignedChange& change, const BatchHeader& header,
                               const MerkleHash& leaf_hash);

// Roots whose signatures a receiver has already checked, so that each batch
// signature is verified once however many of its changes arrive.
class VerifiedBatchCache {
 public:
  bool contains(const BatchHeader& header) const;
  void insert(const BatchHeader& header);
  // Verifies the signature unless this exact header was verified before.
  Status verify(const BatchHeader& header, crypto::ByteView author_public_key);

 private:
  // Keyed by a hash of the whole signed message, so a header that differs in
  // any signed field is verified afresh.
  std::set<crypto::Sha256Digest> verified_;
};

}  // namespace casefile::sync
