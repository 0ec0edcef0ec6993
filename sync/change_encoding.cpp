#include "sync/change_encoding.hpp"

#include "sync/internal/byte_writer.hpp"
#include "sync/internal/dot_encoding.hpp"

namespace casefile::sync {

using internal::ByteReader;
using internal::ByteWriter;

crypto::Bytes encode_change(const Change& change) {
  ByteWriter writer;
  writer.u8(kChangeEncodingVersion);
  internal::write_dot(writer, change.id);
  internal::write_id(writer, change.record.case_id);
  writer.short_text(change.record.collection);
  internal::write_id(writer, change.record.record_id);
  writer.u64(change.hlc.packed());
  writer.u16(static_cast<std::uint16_t>(change.operations.size()));
  for (const Operation& operation : change.operations) {
    writer.u8(static_cast<std::uint8_t>(operation.kind));
    writer.short_text(operation.field);
    internal::write_value(writer, operation.value);
    writer.u32(static_cast<std::uint32_t>(operation.supersedes.size()));
    for (const Dot& dot : operation.supersedes) internal::write_dot(writer, dot);
  }
  return writer.take();
}

Result<Change> decode_change(crypto::ByteView bytes, const ChangeLimits& limits) {
  const Error truncated =
      make_error("encoding_truncated", "change encoding ends early or a length is too large");
  ByteReader reader(bytes);
  auto version = reader.u8();
  if (!version) return truncated;
  if (*version != kChangeEncodingVersion) {
    return make_error("encoding_unknown_version",
                      "unknown change encoding version " + std::to_string(*version));
  }
  Change change;
  auto id = internal::read_dot(reader);
  auto case_id = internal::read_id<CaseId>(reader);
  auto collection = reader.short_text();
  auto record_id = internal::read_id<RecordId>(reader);
  auto hlc = reader.u64();
  auto operation_count = reader.u16();
  if (!id || !case_id || !collection || !record_id || !hlc || !operation_count) return truncated;
  if (*operation_count > limits.max_operations) return make_error("change_invalid", "too many operations");
  change.id = *id;
  change.record = RecordKey{*case_id, std::move(*collection), *record_id};
  change.hlc = Hlc::from_packed(*hlc);
  change.operations.reserve(*operation_count);
  for (std::uint16_t i = 0; i < *operation_count; ++i) {
    Operation operation;
    auto kind = reader.u8();
    auto field = reader.short_text();
    if (!kind || !field) return truncated;
    if (*kind < 1 || *kind > 3)
      return make_error("encoding_invalid", "unknown operation kind " + std::to_string(*kind));
    operation.kind = static_cast<OperationKind>(*kind);
    operation.field = std::move(*field);
    bool unknown_tag = false;
    auto value = internal::read_value(reader, limits, unknown_tag);
    if (!value) return unknown_tag ? make_error("encoding_invalid", "unknown value tag") : truncated;
    operation.value = std::move(*value);
    auto dot_count = reader.u32();
    if (!dot_count) return truncated;
    if (*dot_count > limits.max_supersedes) return make_error("change_invalid", "too many superseded dots");
    if (*dot_count > reader.remaining() / 24) return truncated;
    operation.supersedes.reserve(*dot_count);
    for (std::uint32_t k = 0; k < *dot_count; ++k) {
      auto dot = internal::read_dot(reader);
      if (!dot) return truncated;
      operation.supersedes.push_back(*dot);
    }
    change.operations.push_back(std::move(operation));
  }
  if (!reader.at_end()) return make_error("encoding_trailing_bytes", "bytes after the end of the change");
  CASEFILE_RETURN_IF_ERROR(validate_change(change, limits));
  return change;
}

}  // namespace casefile::sync
