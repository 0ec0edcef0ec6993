// Builders shared by the sync tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/ed25519.hpp"
#include "sync/batch.hpp"
#include "sync/change.hpp"

namespace casefile::sync::testing {

template <typename IdType>
IdType make_id(std::uint8_t tag, std::uint64_t number) {
  IdType id;
  id.bytes[0] = tag;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
  return id;
}

inline DeviceId device_id(std::uint64_t n) { return make_id<DeviceId>(0xd0, n); }
inline CaseId case_id(std::uint64_t n) { return make_id<CaseId>(0xca, n); }
inline RecordId record_id(std::uint64_t n) { return make_id<RecordId>(0x7e, n); }
inline BatchId batch_id(std::uint64_t n) { return make_id<BatchId>(0xba, n); }

inline RecordKey record_key(std::uint64_t case_number, std::uint64_t record_number,
                            std::string collection = "interviews") {
  return RecordKey{case_id(case_number), std::move(collection), record_id(record_number)};
}

inline Operation set_op(std::string field, FieldValue value, std::vector<Dot> supersedes = {}) {
  return Operation{OperationKind::set_field, std::move(field), std::move(value), std::move(supersedes)};
}

inline Operation resolve_op(std::string field, FieldValue value, std::vector<Dot> supersedes) {
  return Operation{OperationKind::resolve_conflict, std::move(field), std::move(value),
                   std::move(supersedes)};
}

inline Operation delete_op(std::vector<Dot> supersedes) {
  return Operation{OperationKind::delete_record, "", NullValue{}, std::move(supersedes)};
}

inline Change make_change(Dot id, RecordKey record, Hlc hlc, std::vector<Operation> operations) {
  Change change{id, std::move(record), hlc, std::move(operations)};
  canonicalize_change(change);
  return change;
}

// A deterministic key per device number, so a failing seed reproduces.
inline crypto::Ed25519PrivateKey device_key(std::uint64_t n) {
  std::vector<std::uint8_t> seed(32, 0);
  for (int i = 0; i < 8; ++i) seed[i] = static_cast<std::uint8_t>(n >> (8 * i));
  seed[31] = 0x5e;
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

}  // namespace casefile::sync::testing
