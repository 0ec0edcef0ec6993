#include "sync/change_json.hpp"

#include <boost/json/serialize.hpp>

#include "sync/internal/assign_or_return.hpp"
#include "sync/internal/base64url.hpp"
#include "sync/internal/json_object_reader.hpp"

namespace casefile::sync {
namespace {

namespace json = boost::json;
using internal::JsonObjectReader;

template <typename IdType>
Result<IdType> read_id(const JsonObjectReader& reader, std::string_view name) {
  CASEFILE_ASSIGN_OR_RETURN(text, reader.string(name));
  auto id = parse_id<IdType>(text);
  if (!id) return internal::json_invalid_value(reader.path_of(name), "must be a lower-case UUID");
  if (to_text(*id) != text)
    return internal::json_invalid_value(reader.path_of(name), "must be a lower-case UUID");
  return *id;
}

json::value dot_to_json(const Dot& dot) {
  return json::object{{"device", to_text(dot.device)}, {"sequence", static_cast<std::int64_t>(dot.sequence)}};
}

constexpr std::uint64_t kMaxSequence = static_cast<std::uint64_t>(INT64_MAX);

Result<Dot> dot_from_json(const json::value& value, const std::string& path) {
  CASEFILE_ASSIGN_OR_RETURN(reader, JsonObjectReader::open(value, path, {"device", "sequence"}));
  CASEFILE_ASSIGN_OR_RETURN(device, read_id<DeviceId>(reader, "device"));
  CASEFILE_ASSIGN_OR_RETURN(sequence, reader.bounded("sequence", 1, kMaxSequence));
  return Dot{device, sequence};
}

json::value value_to_json(const FieldValue& value) {
  struct Visitor {
    json::value operator()(const NullValue&) const { return json::object{{"clear", nullptr}}; }
    json::value operator()(bool flag) const { return json::object{{"clear", flag}}; }
    json::value operator()(std::int64_t number) const { return json::object{{"clear", number}}; }
    json::value operator()(const std::string& text) const { return json::object{{"clear", text}}; }
    json::value operator()(const SealedValue& sealed) const {
      return json::object{{"sealed", internal::base64url_encode(sealed.envelope)}};
    }
  };
  return std::visit(Visitor{}, value);
}

Result<FieldValue> value_from_json(const json::value& value, const std::string& path) {
  CASEFILE_ASSIGN_OR_RETURN(reader, JsonObjectReader::open(value, path, {"clear", "sealed"}));
  if (reader.has("clear") == reader.has("sealed")) {
    return internal::json_invalid_value(path, "needs exactly one of \"clear\" and \"sealed\"");
  }
  if (reader.has("sealed")) {
    CASEFILE_ASSIGN_OR_RETURN(envelope, reader.base64url("sealed", ChangeLimits{}.max_sealed_bytes));
    return FieldValue{SealedValue{std::move(envelope)}};
  }
  const json::value& clear = value.get_object().at("clear");
  if (clear.is_null()) return FieldValue{NullValue{}};
  if (clear.is_bool()) return FieldValue{clear.get_bool()};
  if (clear.is_int64()) return FieldValue{clear.get_int64()};
  if (clear.is_string()) return FieldValue{std::string(clear.get_string())};
  return internal::json_wrong_type(reader.path_of("clear"), "a string, an integer, true, false or null");
}

const char* operation_name(OperationKind kind) {
  switch (kind) {
    case OperationKind::set_field:
      return "set";
    case OperationKind::delete_record:
      return "delete";
    case OperationKind::resolve_conflict:
      return "resolve";
  }
  return "unknown";
}

json::value operation_to_json(const Operation& operation) {
  json::array supersedes;
  for (const Dot& dot : operation.supersedes) supersedes.push_back(dot_to_json(dot));
  json::object object{{"op", operation_name(operation.kind)}};
  if (operation.kind != OperationKind::delete_record) {
    object["field"] = operation.field;
    object["value"] = value_to_json(operation.value);
  }
  object["supersedes"] = std::move(supersedes);
  return object;
}

Result<Operation> operation_from_json(const json::value& value, const std::string& path) {
  CASEFILE_ASSIGN_OR_RETURN(reader,
                            JsonObjectReader::open(value, path, {"op", "field", "value", "supersedes"}));
  CASEFILE_ASSIGN_OR_RETURN(name, reader.string("op"));
  Operation operation;
  if (name == "set") {
    operation.kind = OperationKind::set_field;
  } else if (name == "resolve") {
    operation.kind = OperationKind::resolve_conflict;
  } else if (name == "delete") {
    operation.kind = OperationKind::delete_record;
  } else {
    return internal::json_invalid_value(reader.path_of("op"), "must be \"set\", \"resolve\" or \"delete\"");
  }
  if (operation.kind == OperationKind::delete_record) {
    if (reader.has("field") || reader.has("value")) {
      return make_error("json_unknown_member", path + ": a delete has no \"field\" or \"value\"");
    }
  } else {
    CASEFILE_ASSIGN_OR_RETURN(field, reader.string("field"));
    operation.field = std::string(field);
    CASEFILE_ASSIGN_OR_RETURN(field_value, reader.member("value"));
    CASEFILE_ASSIGN_OR_RETURN(decoded, value_from_json(*field_value, reader.path_of("value")));
    operation.value = std::move(decoded);
  }
  CASEFILE_ASSIGN_OR_RETURN(supersedes, reader.array("supersedes"));
  operation.supersedes.reserve(supersedes->size());
  for (std::size_t i = 0; i < supersedes->size(); ++i) {
    CASEFILE_ASSIGN_OR_RETURN(
        dot, dot_from_json((*supersedes)[i], reader.path_of("supersedes") + "[" + std::to_string(i) + "]"));
    operation.supersedes.push_back(dot);
  }
  return operation;
}

std::string hex_of(crypto::ByteView bytes) { return crypto::to_hex(bytes); }

json::value proof_to_json(const ChangeProof& proof) {
  json::array path;
  for (const MerkleHash& hash : proof.path) path.push_back(json::value(hex_of(hash)));
  return json::object{{"batch", to_text(proof.batch)},
                      {"leaf_index", static_cast<std::int64_t>(proof.leaf_index)},
                      {"tree_size", static_cast<std::int64_t>(proof.tree_size)},
                      {"path", std::move(path)}};
}

Result<MerkleHash> hash_from_hex_json(const json::value& value, const std::string& path) {
  crypto::Bytes bytes;
  if (!value.is_string()) return internal::json_wrong_type(path, "a string");
  const json::string& text = value.get_string();
  const std::string_view view(text.data(), text.size());
  const bool lower_case = view.find_first_of("ABCDEF") == std::string_view::npos;
  if (view.size() != 64 || !lower_case || !crypto::from_hex(view, bytes)) {
    return internal::json_invalid_value(path, "must be 64 lower-case hex digits");
  }
  MerkleHash hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

Result<ChangeProof> proof_from_json(const json::value& value, const std::string& path) {
  CASEFILE_ASSIGN_OR_RETURN(
      reader, JsonObjectReader::open(value, path, {"batch", "leaf_index", "tree_size", "path"}));
  ChangeProof proof;
  CASEFILE_ASSIGN_OR_RETURN(batch, read_id<BatchId>(reader, "batch"));
  CASEFILE_ASSIGN_OR_RETURN(tree_size, reader.bounded("tree_size", 1, kMaxBatchChanges));
  CASEFILE_ASSIGN_OR_RETURN(leaf_index, reader.bounded("leaf_index", 0, tree_size - 1));
  CASEFILE_ASSIGN_OR_RETURN(hashes, reader.array("path"));
  if (hashes->size() > 64) return internal::json_invalid_value(reader.path_of("path"), "is too long");
  proof.batch = batch;
  proof.tree_size = tree_size;
  proof.leaf_index = leaf_index;
  for (std::size_t i = 0; i < hashes->size(); ++i) {
    CASEFILE_ASSIGN_OR_RETURN(
        hash, hash_from_hex_json((*hashes)[i], reader.path_of("path") + "[" + std::to_string(i) + "]"));
    proof.path.push_back(hash);
  }
  return proof;
}

}  // namespace

json::value change_to_json(const SignedChange& signed_change) {
  const Change& change = signed_change.change;
  json::array operations;
  for (const Operation& operation : change.operations) operations.push_back(operation_to_json(operation));
  return json::object{
      {"id", dot_to_json(change.id)},
      {"case", to_text(change.record.case_id)},
      {"collection", change.record.collection},
      {"record", to_text(change.record.record_id)},
      {"hlc", json::object{{"millis", static_cast<std::int64_t>(change.hlc.wall_millis())},
                           {"counter", static_cast<std::int64_t>(change.hlc.counter())}}},
      {"operations", std::move(operations)},
      {"proof", proof_to_json(signed_change.proof)},
  };
}

Result<SignedChange> change_from_json(const json::value& json, const std::string& path) {
  CASEFILE_ASSIGN_OR_RETURN(
      reader, JsonObjectReader::open(json, path,
                                     {"id", "case", "collection", "record", "hlc", "operations", "proof"}));
  SignedChange signed_change;
  Change& change = signed_change.change;
  CASEFILE_ASSIGN_OR_RETURN(id_json, reader.member("id"));
  CASEFILE_ASSIGN_OR_RETURN(id, dot_from_json(*id_json, reader.path_of("id")));
  change.id = id;
  CASEFILE_ASSIGN_OR_RETURN(case_id, read_id<CaseId>(reader, "case"));
  CASEFILE_ASSIGN_OR_RETURN(collection, reader.string("collection"));
  CASEFILE_ASSIGN_OR_RETURN(record_id, read_id<RecordId>(reader, "record"));
  change.record = RecordKey{case_id, std::string(collection), record_id};
  CASEFILE_ASSIGN_OR_RETURN(hlc_json, reader.member("hlc"));
  CASEFILE_ASSIGN_OR_RETURN(hlc_reader,
                            JsonObjectReader::open(*hlc_json, reader.path_of("hlc"), {"millis", "counter"}));
  CASEFILE_ASSIGN_OR_RETURN(millis, hlc_reader.bounded("millis", 0, Hlc::kMaxWallMillis));
  CASEFILE_ASSIGN_OR_RETURN(counter, hlc_reader.bounded("counter", 0, Hlc::kMaxCounter));
  change.hlc = Hlc::from_parts(millis, static_cast<std::uint32_t>(counter));
  CASEFILE_ASSIGN_OR_RETURN(operations, reader.array("operations"));
  for (std::size_t i = 0; i < operations->size(); ++i) {
    CASEFILE_ASSIGN_OR_RETURN(
        operation,
        operation_from_json((*operations)[i], reader.path_of("operations") + "[" + std::to_string(i) + "]"));
    change.operations.push_back(std::move(operation));
  }
  CASEFILE_ASSIGN_OR_RETURN(proof_json, reader.member("proof"));
  CASEFILE_ASSIGN_OR_RETURN(proof, proof_from_json(*proof_json, reader.path_of("proof")));
  signed_change.proof = std::move(proof);
  return signed_change;
}

json::value batch_header_to_json(const BatchHeader& header) {
  return json::object{{"id", to_text(header.id)},
                      {"author", to_text(header.author)},
                      {"tree_size", static_cast<std::int64_t>(header.tree_size)},
                      {"root", hex_of(header.root)},
                      {"signature", hex_of(header.signature)}};
}

Result<BatchHeader> batch_header_from_json(const json::value& json, const std::string& path) {
  CASEFILE_ASSIGN_OR_RETURN(
      reader, JsonObjectReader::open(json, path, {"id", "author", "tree_size", "root", "signature"}));
  BatchHeader header;
  CASEFILE_ASSIGN_OR_RETURN(id, read_id<BatchId>(reader, "id"));
  CASEFILE_ASSIGN_OR_RETURN(author, read_id<DeviceId>(reader, "author"));
  CASEFILE_ASSIGN_OR_RETURN(tree_size, reader.bounded("tree_size", 1, kMaxBatchChanges));
  CASEFILE_ASSIGN_OR_RETURN(root_json, reader.member("root"));
  CASEFILE_ASSIGN_OR_RETURN(root, hash_from_hex_json(*root_json, reader.path_of("root")));
  CASEFILE_ASSIGN_OR_RETURN(signature, reader.hex("signature", crypto::kEd25519SignatureSize));
  header.id = id;
  header.author = author;
  header.tree_size = tree_size;
  header.root = root;
  std::copy(signature.begin(), signature.end(), header.signature.begin());
  return header;
}

std::string encode_push_request(const Batch& batch) {
  json::array changes;
  for (const SignedChange& change : batch.changes) changes.push_back(change_to_json(change));
  return json::serialize(
      json::object{{"batch", batch_header_to_json(batch.header)}, {"changes", std::move(changes)}});
}

Result<Batch> decode_push_request(std::string_view body, const JsonLimits& limits) {
  CASEFILE_ASSIGN_OR_RETURN(document, parse_strict_json(body, limits));
  CASEFILE_ASSIGN_OR_RETURN(reader, JsonObjectReader::open(document, "$", {"batch", "changes"}));
  Batch batch;
  CASEFILE_ASSIGN_OR_RETURN(header_json, reader.member("batch"));
  CASEFILE_ASSIGN_OR_RETURN(header, batch_header_from_json(*header_json, reader.path_of("batch")));
  batch.header = header;
  CASEFILE_ASSIGN_OR_RETURN(changes, reader.array("changes"));
  if (changes->empty() || changes->size() > kMaxBatchChanges) {
    return internal::json_invalid_value(reader.path_of("changes"),
                                        "must hold 1 to " + std::to_string(kMaxBatchChanges) + " changes");
  }
  batch.changes.reserve(changes->size());
  for (std::size_t i = 0; i < changes->size(); ++i) {
    CASEFILE_ASSIGN_OR_RETURN(
        change, change_from_json((*changes)[i], reader.path_of("changes") + "[" + std::to_string(i) + "]"));
    batch.changes.push_back(std::move(change));
  }
  return batch;
}

}  // namespace casefile::sync
