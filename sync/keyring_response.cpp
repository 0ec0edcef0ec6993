#include "sync/keyring_response.hpp"

#include "sync/internal/assign_or_return.hpp"
#include "sync/internal/json_object_reader.hpp"
#include "sync/strict_json.hpp"

namespace casefile::sync {
namespace {

namespace json = boost::json;
using internal::JsonObjectReader;

// A base64url member of 1..max_size bytes.
Result<crypto::Bytes> byte_member(const JsonObjectReader& reader, std::string_view name,
                                  std::size_t max_size) {
  auto bytes = reader.base64url(name, max_size);
  if (!bytes.ok()) return std::move(bytes).error();
  if (bytes->empty()) return internal::json_invalid_value(reader.path_of(name), "must not be empty");
  return bytes;
}

Result<KeyringEpochEntry> decode_entry(const json::value& value, std::string path) {
  CASEFILE_ASSIGN_OR_RETURN(
      reader, JsonObjectReader::open(value, std::move(path), {"epoch", "manifest", "wrap", "recipients"}));
  KeyringEpochEntry entry;
  CASEFILE_ASSIGN_OR_RETURN(epoch, reader.bounded("epoch", 1, kMaxKeyringEpoch));
  entry.epoch = static_cast<std::uint32_t>(epoch);
  CASEFILE_ASSIGN_OR_RETURN(manifest, byte_member(reader, "manifest", kMaxManifestBytes));
  entry.manifest = std::move(manifest);
  CASEFILE_ASSIGN_OR_RETURN(wrap_value, reader.member("wrap"));
  if (!wrap_value->is_null()) {
    CASEFILE_ASSIGN_OR_RETURN(wrap, byte_member(reader, "wrap", kMaxWrapBytes));
    entry.wrap = std::move(wrap);
  }
  return entry;
}

}  // namespace

Result<std::vector<KeyringEpochEntry>> decode_keyring_response(std::string_view body, const CaseId& case_id) {
  CASEFILE_ASSIGN_OR_RETURN(document, parse_strict_json(body));
  CASEFILE_ASSIGN_OR_RETURN(reader, JsonObjectReader::open(document, "keys", {"case", "epochs"}));
  CASEFILE_ASSIGN_OR_RETURN(case_text, reader.string("case"));
  const auto named_case = parse_id<CaseId>(case_text);
  if (!named_case) return internal::json_invalid_value(reader.path_of("case"), "not an id");
  if (*named_case != case_id) {
    return make_error("keyring_case_mismatch", "the key response names another case than the one asked for");
  }
  CASEFILE_ASSIGN_OR_RETURN(epochs, reader.array("epochs"));
  std::vector<KeyringEpochEntry> entries;
  entries.reserve(epochs->size());
  for (std::size_t i = 0; i < epochs->size(); ++i) {
    CASEFILE_ASSIGN_OR_RETURN(
        entry, decode_entry((*epochs)[i], reader.path_of("epochs") + "[" + std::to_string(i) + "]"));
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace casefile::sync
