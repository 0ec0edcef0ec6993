// encode_record_state / decode_record_state, declared in record_state.hpp.
#include <algorithm>

#include "sync/internal/byte_writer.hpp"
#include "sync/internal/dot_encoding.hpp"
#include "sync/record_state.hpp"

namespace casefile::sync {
namespace {

using internal::ByteReader;
using internal::ByteWriter;

constexpr std::uint8_t kRecordStateEncodingVersion = 1;

void write_dots(ByteWriter& writer, const std::vector<Dot>& dots) {
  writer.u32(static_cast<std::uint32_t>(dots.size()));
  for (const Dot& dot : dots) internal::write_dot(writer, dot);
}

void write_register(ByteWriter& writer, const FieldRegister& field_register) {
  writer.u32(static_cast<std::uint32_t>(field_register.entries().size()));
  for (const RegisterEntry& entry : field_register.entries()) {
    internal::write_dot(writer, entry.dot);
    writer.u64(entry.hlc.packed());
    internal::write_value(writer, entry.value);
  }
  write_dots(writer, field_register.superseded());
}

constexpr std::size_t kDotSize = 24;

std::optional<std::vector<Dot>> read_sorted_dots(ByteReader& reader, bool& invalid) {
  auto count = reader.u32();
  if (!count || *count > reader.remaining() / kDotSize) return std::nullopt;
  std::vector<Dot> dots;
  dots.reserve(*count);
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto dot = internal::read_dot(reader);
    if (!dot) return std::nullopt;
    if (!dots.empty() && !(dots.back() < *dot)) invalid = true;
    dots.push_back(*dot);
  }
  return dots;
}

std::optional<FieldRegister> read_register(ByteReader& reader, bool& invalid) {
  auto count = reader.u32();
  if (!count || *count > reader.remaining() / (kDotSize + 9)) return std::nullopt;
  std::vector<RegisterEntry> entries;
  entries.reserve(*count);
  const ChangeLimits limits;
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto dot = internal::read_dot(reader);
    auto hlc = reader.u64();
    if (!dot || !hlc) return std::nullopt;
    bool unknown_tag = false;
    auto value = internal::read_value(reader, limits, unknown_tag);
    if (!value) {
      invalid = invalid || unknown_tag;
      return std::nullopt;
    }
    if (!entries.empty() && !(entries.back().dot < *dot)) invalid = true;
    entries.push_back(RegisterEntry{*dot, Hlc::from_packed(*hlc), std::move(*value)});
  }
  auto superseded = read_sorted_dots(reader, invalid);
  if (!superseded) return std::nullopt;
  return FieldRegister::from_parts(std::move(entries), std::move(*superseded));
}

}  // namespace

crypto::Bytes encode_record_state(const RecordState& state) {
  ByteWriter writer;
  writer.u8(kRecordStateEncodingVersion);
  internal::write_id(writer, state.key().case_id);
  writer.short_text(state.key().collection);
  internal::write_id(writer, state.key().record_id);
  writer.u32(static_cast<std::uint32_t>(state.fields().size()));
  for (const auto& [name, field_register] : state.fields()) {
    writer.short_text(name);
    write_register(writer, field_register);
  }
  write_register(writer, state.tombstones());
  write_dots(writer, state.deleted_dots());
  return writer.take();
}

Result<RecordState> decode_record_state(crypto::ByteView bytes) {
  const Error truncated = make_error("encoding_truncated", "record state encoding ends early");
  const Error invalid_error = make_error("encoding_invalid", "record state encoding is not canonical");
  ByteReader reader(bytes);
  auto version = reader.u8();
  if (!version) return truncated;
  if (*version != kRecordStateEncodingVersion) {
    return make_error("encoding_unknown_version", "unknown record state version " + std::to_string(*version));
  }
  auto case_id = internal::read_id<CaseId>(reader);
  auto collection = reader.short_text();
  auto record_id = internal::read_id<RecordId>(reader);
  auto field_count = reader.u32();
  if (!case_id || !collection || !record_id || !field_count) return truncated;
  bool invalid = false;
  std::map<std::string, FieldRegister> fields;
  for (std::uint32_t i = 0; i < *field_count; ++i) {
    auto name = reader.short_text();
    if (!name) return truncated;
    if (!fields.empty() && !(fields.rbegin()->first < *name)) invalid = true;
    auto field_register = read_register(reader, invalid);
    if (!field_register) return invalid ? invalid_error : truncated;
    if (field_register->is_empty()) invalid = true;
    fields.emplace(std::move(*name), std::move(*field_register));
  }
  auto tombstones = read_register(reader, invalid);
  if (!tombstones) return invalid ? invalid_error : truncated;
  auto deleted_dots = read_sorted_dots(reader, invalid);
  if (!deleted_dots) return truncated;
  if (!reader.at_end())
    return make_error("encoding_trailing_bytes", "bytes after the end of the record state");
  if (invalid) return invalid_error;
  return RecordState::from_parts(RecordKey{*case_id, std::move(*collection), *record_id}, std::move(fields),
                                 std::move(*tombstones), std::move(*deleted_dots));
}

}  // namespace casefile::sync
