#include "sync/merkle.hpp"

#include <bit>
#include <cassert>

namespace casefile::sync {
namespace {

// Largest power of two strictly less than n. REQUIRES: n > 1.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

MerkleHash merkle_leaf_hash(crypto::ByteView leaf_data) {
  // One-shot hashing of a copy is cheaper than an incremental context for
  // change-sized leaves.
  crypto::Bytes input(leaf_data.size() + 1);
  input[0] = 0x00;
  if (!leaf_data.empty()) std::copy(leaf_data.begin(), leaf_data.end(), input.begin() + 1);
  return crypto::sha256(input);
}

MerkleHash merkle_node_hash(const MerkleHash& left, const MerkleHash& right) {
  std::uint8_t input[1 + 2 * crypto::kSha256Size];
  input[0] = 0x01;
  std::copy(left.begin(), left.end(), input + 1);
  std::copy(right.begin(), right.end(), input + 1 + crypto::kSha256Size);
  return crypto::sha256({input, sizeof input});
}

MerkleTree::MerkleTree(std::vector<MerkleHash> leaf_hashes) {
  levels_.push_back(std::move(leaf_hashes));
  while (levels_.back().size() > 1) {
    const std::vector<MerkleHash>& below = levels_.back();
    std::vector<MerkleHash> level;
    level.reserve((below.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2)
      level.push_back(merkle_node_hash(below[i], below[i + 1]));
    if (below.size() % 2 == 1) level.push_back(below.back());
    levels_.push_back(std::move(level));
  }
}

MerkleTree MerkleTree::from_leaves(const std::vector<crypto::Bytes>& leaves) {
  std::vector<MerkleHash> hashes;
  hashes.reserve(leaves.size());
  for (const crypto::Bytes& leaf : leaves) hashes.push_back(merkle_leaf_hash(leaf));
  return MerkleTree(std::move(hashes));
}

MerkleHash MerkleTree::root() const {
  if (levels_.front().empty()) return crypto::sha256({});
  return levels_.back().front();
}

std::vector<MerkleHash> MerkleTree::inclusion_proof(std::uint64_t leaf_index) const {
  assert(leaf_index < size());
  std::vector<MerkleHash> path;
  std::uint64_t index = leaf_index;
  for (std::size_t depth = 0; depth + 1 < levels_.size(); ++depth) {
    const std::uint64_t sibling = index ^ 1;
    if (sibling < levels_[depth].size()) path.push_back(levels_[depth][sibling]);
    index >>= 1;
  }
  return path;
}

namespace {

// MTH over leaf_hashes[begin, begin + count).
MerkleHash subtree_hash(const std::vector<MerkleHash>& leaf_hashes, std::uint64_t begin,
                        std::uint64_t count) {
  if (count == 1) return leaf_hashes[begin];
  const std::uint64_t k = split_point(count);
  return merkle_node_hash(subtree_hash(leaf_hashes, begin, k),
                          subtree_hash(leaf_hashes, begin + k, count - k));
}

// RFC 6962 §2.1.2 SUBPROOF(m, D[begin:begin+count], complete).
void subproof(const std::vector<MerkleHash>& leaf_hashes, std::uint64_t m, std::uint64_t begin,
              std::uint64_t count, bool complete, std::vector<MerkleHash>& proof) {
  if (m == count) {
    if (!complete) proof.push_back(subtree_hash(leaf_hashes, begin, count));
    return;
  }
  const std::uint64_t k = split_point(count);
  if (m <= k) {
    subproof(leaf_hashes, m, begin, k, complete, proof);
    proof.push_back(subtree_hash(leaf_hashes, begin + k, count - k));
  } else {
    subproof(leaf_hashes, m - k, begin + k, count - k, false, proof);
    proof.push_back(subtree_hash(leaf_hashes, begin, k));
  }
}

}  // namespace

std::vector<MerkleHash> MerkleTree::consistency_proof(std::uint64_t old_size) const {
  assert(old_size > 0 && old_size <= size());
  std::vector<MerkleHash> proof;
  subproof(levels_.front(), old_size, 0, size(), true, proof);
  return proof;
}

bool verify_inclusion(const MerkleHash& leaf_hash, std::uint64_t leaf_index, std::uint64_t tree_size,
                      const std::vector<MerkleHash>& path, const MerkleHash& root) {
  if (leaf_index >= tree_size) return false;
  std::uint64_t fn = leaf_index;
  std::uint64_t sn = tree_size - 1;
  MerkleHash r = leaf_hash;
  for (const MerkleHash& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = merkle_node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const MerkleHash& old_root,
                        const MerkleHash& new_root, const std::vector<MerkleHash>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<MerkleHash> path = proof;
  // When old_size is a power of two the old root is itself the first node.
  if (std::has_single_bit(old_size)) path.insert(path.begin(), old_root);
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  MerkleHash fr = path.front();
  MerkleHash sr = path.front();
  for (std::size_t i = 1; i < path.size(); ++i) {
    const MerkleHash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

}  // namespace casefile::sync
