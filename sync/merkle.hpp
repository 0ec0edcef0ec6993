// RFC 6962 §2.1 Merkle hash trees over a batch of change encodings.
//
//   leaf hash = SHA-256(0x00 || leaf data)
//   node hash = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
//
// Inclusion proofs let a receiver check one change against a signed root
// without the rest of its batch; consistency proofs show that a tree of m
// leaves is a prefix of a tree of n. Verification follows RFC 9162 §2.1.3.2
// and §2.1.4.2.
#pragma once

#include <cstdint>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

namespace casefile::sync {

using MerkleHash = crypto::Sha256Digest;

MerkleHash merkle_leaf_hash(crypto::ByteView leaf_data);
MerkleHash merkle_node_hash(const MerkleHash& left, const MerkleHash& right);

class MerkleTree {
 public:
  // Builds every level once: O(n) hashes, then O(log n) per proof.
  explicit MerkleTree(std::vector<MerkleHash> leaf_hashes);
  static MerkleTree from_leaves(const std::vector<crypto::Bytes>& leaves);

  std::uint64_t size() const { return levels_.front().size(); }
  MerkleHash root() const;
  // REQUIRES: leaf_index < size().
  std::vector<MerkleHash> inclusion_proof(std::uint64_t leaf_index) const;
  // Proof that the first `old_size` leaves form a prefix of this tree.
  // REQUIRES: 0 < old_size <= size().
  std::vector<MerkleHash> consistency_proof(std::uint64_t old_size) const;

 private:
  // levels_[0] are the leaf hashes; each level up pairs neighbours and
  // carries an unpaired last node up unchanged, which is RFC 6962's tree.
  std::vector<std::vector<MerkleHash>> levels_;
};

bool verify_inclusion(const MerkleHash& leaf_hash, std::uint64_t leaf_index, std::uint64_t tree_size,
                      const std::vector<MerkleHash>& path, const MerkleHash& root);

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const MerkleHash& old_root,
                        const MerkleHash& new_root, const std::vector<MerkleHash>& proof);

}  // namespace casefile::sync
