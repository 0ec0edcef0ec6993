#include "sync/batch.hpp"

#include <string_view>

#include "sync/change_encoding.hpp"
#include "sync/internal/byte_writer.hpp"

namespace casefile::sync {

crypto::Bytes batch_signing_message(const BatchHeader& header) {
  constexpr std::string_view kDomain = "casefile/sync/batch/v1";
  internal::ByteWriter writer;
  writer.raw(crypto::as_bytes(kDomain));
  writer.u8(0);
  writer.raw(header.id.bytes);
  writer.raw(header.author.bytes);
  writer.u64(header.tree_size);
  writer.raw(header.root);
  return writer.take();
}

Result<Batch> seal_batch(const BatchId& id, const crypto::Ed25519PrivateKey& author_key,
                         const DeviceId& author, std::vector<Change> changes) {
  if (changes.empty()) return make_error("batch_empty", "a batch needs at least one change");
  if (changes.size() > kMaxBatchChanges) {
    return make_error("batch_too_large",
                      "a batch holds at most " + std::to_string(kMaxBatchChanges) + " changes");
  }
  std::vector<MerkleHash> leaf_hashes;
  leaf_hashes.reserve(changes.size());
  for (const Change& change : changes) {
    CASEFILE_RETURN_IF_ERROR(validate_change(change));
    if (change.author() != author)
      return make_error("author_mismatch", "a batch holds only its author's changes");
    leaf_hashes.push_back(merkle_leaf_hash(encode_change(change)));
  }
  const MerkleTree tree(std::move(leaf_hashes));
  Batch batch;
  batch.header.id = id;
  batch.header.author = author;
  batch.header.tree_size = tree.size();
  batch.header.root = tree.root();
  auto signature = author_key.sign(batch_signing_message(batch.header));
  if (!signature.ok()) return std::move(signature).error();
  batch.header.signature = *signature;
  batch.changes.reserve(changes.size());
  for (std::uint64_t i = 0; i < changes.size(); ++i) {
    batch.changes.push_back(
        SignedChange{std::move(changes[i]), ChangeProof{id, i, tree.size(), tree.inclusion_proof(i)}});
  }
  return batch;
}

Status verify_batch_signature(const BatchHeader& header, crypto::ByteView author_public_key) {
  if (header.tree_size == 0 || header.tree_size > kMaxBatchChanges ||
      !crypto::ed25519_verify(author_public_key, batch_signing_message(header), header.signature)) {
    return make_error("batch_signature_invalid",
                      "the batch signature does not verify under the author's key");
  }
  return ok_status();
}

Status verify_change_inclusion(const SignedChange& change, const BatchHeader& header) {
  return verify_change_inclusion(change, header, merkle_leaf_hash(encode_change(change.change)));
}

Status verify_change_inclusion(const SignedChange& change, const BatchHeader& header,
                               const MerkleHash& leaf_hash) {
  if (change.change.author() != header.author) {
    return make_error("author_mismatch", "the change's device is not the batch's author");
  }
  const ChangeProof& proof = change.proof;
  if (proof.batch != header.id || proof.tree_size != header.tree_size ||
      !verify_inclusion(leaf_hash, proof.leaf_index, proof.tree_size, proof.path, header.root)) {
    return make_error("inclusion_proof_invalid", "the change is not a leaf of its signed batch");
  }
  return ok_status();
}

bool VerifiedBatchCache::contains(const BatchHeader& header) const {
  return verified_.count(crypto::sha256(batch_signing_message(header))) > 0;
}

void VerifiedBatchCache::insert(const BatchHeader& header) {
  verified_.insert(crypto::sha256(batch_signing_message(header)));
}

Status VerifiedBatchCache::verify(const BatchHeader& header, crypto::ByteView author_public_key) {
  if (contains(header)) return ok_status();
  CASEFILE_RETURN_IF_ERROR(verify_batch_signature(header, author_public_key));
  insert(header);
  return ok_status();
}

}  // namespace casefile::sync
