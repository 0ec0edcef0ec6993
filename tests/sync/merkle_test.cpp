// RFC 6962 trees, inclusion and consistency proofs against the published
// vectors in ../shared/testvectors/merkle/rfc6962.json.
#include "sync/merkle.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace casefile::sync {
namespace {

namespace json = boost::json;

json::value load_vectors() {
  const std::string path = std::string(CASEFILE_TESTVECTORS_DIR) + "/merkle/rfc6962.json";
  std::ifstream file(path);
  if (!file) ADD_FAILURE() << "test vectors missing: " << path;  // a missing folder fails, never skips
  std::stringstream text;
  text << file.rdbuf();
  return json::parse(text.str());
}

crypto::Bytes bytes_of(const json::value& hex) {
  crypto::Bytes bytes;
  EXPECT_TRUE(crypto::from_hex(std::string(hex.as_string()), bytes));
  return bytes;
}

MerkleHash hash_of(const json::value& hex) {
  const crypto::Bytes bytes = bytes_of(hex);
  MerkleHash hash{};
  EXPECT_EQ(bytes.size(), hash.size());
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

std::vector<MerkleHash> hashes_of(const json::value& array) {
  std::vector<MerkleHash> hashes;
  for (const json::value& hex : array.as_array()) hashes.push_back(hash_of(hex));
  return hashes;
}

std::vector<crypto::Bytes> leaves(const json::value& vectors, std::size_t count) {
  std::vector<crypto::Bytes> result;
  const json::array& inputs = vectors.at("leaf_inputs_hex").as_array();
  for (std::size_t i = 0; i < count; ++i) result.push_back(bytes_of(inputs[i]));
  return result;
}

TEST(Merkle, RootsMatchRfc6962VectorsForEveryTreeSize) {
  const json::value vectors = load_vectors();
  ASSERT_TRUE(vectors.is_object());
  for (const auto& [size_text, root] : vectors.at("roots_by_size").as_object()) {
    const std::size_t size = std::stoul(std::string(size_text));
    EXPECT_EQ(crypto::to_hex(MerkleTree::from_leaves(leaves(vectors, size)).root()), root.as_string())
        << "size " << size;
  }
}

TEST(Merkle, InclusionProofsMatchVectorsAndVerify) {
  const json::value vectors = load_vectors();
  ASSERT_TRUE(vectors.is_object());
  for (const json::value& item : vectors.at("inclusion").as_array()) {
    const auto index = static_cast<std::uint64_t>(item.at("leaf_index").as_int64());
    const auto size = static_cast<std::uint64_t>(item.at("tree_size").as_int64());
    const MerkleTree tree = MerkleTree::from_leaves(leaves(vectors, size));
    const std::vector<MerkleHash> expected = hashes_of(item.at("path"));
    EXPECT_EQ(tree.inclusion_proof(index), expected) << index << " of " << size;
    const MerkleHash leaf = merkle_leaf_hash(leaves(vectors, size)[index]);
    EXPECT_TRUE(verify_inclusion(leaf, index, size, expected, tree.root()));
  }
}

TEST(Merkle, ConsistencyProofsMatchVectorsAndVerify) {
  const json::value vectors = load_vectors();
  ASSERT_TRUE(vectors.is_object());
  for (const json::value& item : vectors.at("consistency").as_array()) {
    const auto first = static_cast<std::uint64_t>(item.at("first").as_int64());
    const auto second = static_cast<std::uint64_t>(item.at("second").as_int64());
    const MerkleTree old_tree = MerkleTree::from_leaves(leaves(vectors, first));
    const MerkleTree new_tree = MerkleTree::from_leaves(leaves(vectors, second));
    const std::vector<MerkleHash> expected = hashes_of(item.at("proof"));
    EXPECT_EQ(new_tree.consistency_proof(first), expected) << first << " -> " << second;
    EXPECT_TRUE(verify_consistency(first, second, old_tree.root(), new_tree.root(), expected));
  }
}

TEST(Merkle, EveryLeafOfEveryTreeUpTo70VerifiesAndNoOtherLeafDoes) {
  std::vector<crypto::Bytes> data;
  for (std::uint8_t i = 0; i < 70; ++i) data.push_back(crypto::Bytes{i, static_cast<std::uint8_t>(i * 7)});
  for (std::size_t size = 1; size <= data.size(); ++size) {
    const MerkleTree tree =
        MerkleTree::from_leaves({data.begin(), data.begin() + static_cast<std::ptrdiff_t>(size)});
    for (std::uint64_t index = 0; index < size; ++index) {
      const auto path = tree.inclusion_proof(index);
      EXPECT_TRUE(verify_inclusion(merkle_leaf_hash(data[index]), index, size, path, tree.root()));
      EXPECT_FALSE(
          verify_inclusion(merkle_leaf_hash(data[(index + 1) % 70]), index, size, path, tree.root()));
      if (!path.empty()) {
        auto tampered = path;
        tampered.front()[0] ^= 1;
        EXPECT_FALSE(verify_inclusion(merkle_leaf_hash(data[index]), index, size, tampered, tree.root()));
      }
      if (size > 1) {
        EXPECT_FALSE(
            verify_inclusion(merkle_leaf_hash(data[index]), (index + 1) % size, size, path, tree.root()));
      }
    }
    for (std::uint64_t old_size = 1; old_size <= size; ++old_size) {
      const MerkleTree old_tree =
          MerkleTree::from_leaves({data.begin(), data.begin() + static_cast<std::ptrdiff_t>(old_size)});
      EXPECT_TRUE(
          verify_consistency(old_size, size, old_tree.root(), tree.root(), tree.consistency_proof(old_size)));
    }
  }
}

TEST(Merkle, LeafAndNodeHashesAreDomainSeparated) {
  const MerkleHash a = merkle_leaf_hash(crypto::Bytes{1});
  const MerkleHash b = merkle_leaf_hash(crypto::Bytes{2});
  crypto::Bytes concatenated(a.begin(), a.end());
  concatenated.insert(concatenated.end(), b.begin(), b.end());
  EXPECT_NE(merkle_node_hash(a, b), merkle_leaf_hash(concatenated));
}

}  // namespace
}  // namespace casefile::sync
