#include "sync/wipe_order.hpp"

#include <stdexcept>

#include "crypto/constant_time.hpp"
#include "sync/internal/base64url.hpp"
#include "sync/internal/byte_writer.hpp"
#include "sync/internal/fixed_size_member.hpp"
#include "sync/internal/json_object_reader.hpp"

namespace casefile::sync {
namespace {

namespace json = boost::json;

Error invalid(const std::string& why) { return make_error("wipe_order_invalid", "wipe order: " + why); }

Result<WipeOrder> from_json(const json::value& value) {
  auto reader = internal::JsonObjectReader::open(
      value, "wipe_order",
      {"version", "device_id", "issued_at", "reason", "authority_fingerprint", "signature"});
  if (!reader.ok()) return std::move(reader).error();
  WipeOrder order;
  auto version = reader->bounded("version", 1, 255);
  if (!version.ok()) return std::move(version).error();
  order.version = static_cast<std::uint8_t>(*version);
  auto device = internal::device_id_member(*reader, "device_id");
  if (!device.ok()) return std::move(device).error();
  order.device = *device;
  auto issued_at = reader->bounded("issued_at", 0, INT64_MAX);
  if (!issued_at.ok()) return std::move(issued_at).error();
  order.issued_at_ms = static_cast<std::int64_t>(*issued_at);
  auto reason = reader->string("reason");
  if (!reason.ok()) return std::move(reason).error();
  if (reason->size() > kMaxWipeReasonBytes) {
    return internal::json_invalid_value(reader->path_of("reason"), "too long");
  }
  order.reason = std::string(*reason);
  auto fingerprint = internal::fixed_size_member<crypto::kSha256Size>(*reader, "authority_fingerprint");
  if (!fingerprint.ok()) return std::move(fingerprint).error();
  order.authority_fingerprint = *fingerprint;
  auto signature = internal::fixed_size_member<crypto::kEd25519SignatureSize>(*reader, "signature");
  if (!signature.ok()) return std::move(signature).error();
  order.signature = *signature;
  return order;
}

}  // namespace

crypto::Bytes encode_wipe_order_body(const WipeOrder& order) {
  if (order.reason.size() > kMaxWipeReasonBytes) throw std::invalid_argument("wipe order reason too long");
  internal::ByteWriter writer;
  writer.u8(order.version);
  writer.raw(order.device.bytes);
  writer.u64(static_cast<std::uint64_t>(order.issued_at_ms));
  writer.short_text(order.reason);
  writer.raw(order.authority_fingerprint);
  return writer.take();
}

crypto::Bytes wipe_order_signing_message(const WipeOrder& order) {
  internal::ByteWriter writer;
  writer.raw(crypto::as_bytes(kWipeOrderLabel));
  writer.u8(0);
  writer.raw(encode_wipe_order_body(order));
  return writer.take();
}

Result<WipeOrder> sign_wipe_order(WipeOrder order, const crypto::Ed25519PrivateKey& authority) {
  if (order.reason.size() > kMaxWipeReasonBytes) {
    return make_error("invalid_argument", "the wipe order reason is longer than 1024 bytes");
  }
  order.authority_fingerprint = crypto::sha256(authority.public_key());
  auto signature = authority.sign(wipe_order_signing_message(order));
  if (!signature.ok()) return std::move(signature).error();
  order.signature = *signature;
  return order;
}

Status verify_wipe_order(const WipeOrder& order, crypto::ByteView authority_public_key) {
  if (!crypto::constant_time_equal(crypto::sha256(authority_public_key), order.authority_fingerprint)) {
    return make_error("wipe_order_wrong_authority", "the wipe order names another authority");
  }
  if (order.version != kWipeOrderVersion) return invalid("unsupported version");
  if (order.reason.size() > kMaxWipeReasonBytes) return invalid("reason too long");
  if (!crypto::ed25519_verify(authority_public_key, wipe_order_signing_message(order), order.signature)) {
    return invalid("the authority signature does not verify");
  }
  return ok_status();
}

crypto::Bytes encode_wipe_order(const WipeOrder& order) {
  crypto::Bytes bytes = encode_wipe_order_body(order);
  bytes.insert(bytes.end(), order.signature.begin(), order.signature.end());
  return bytes;
}

Result<WipeOrder> decode_wipe_order(crypto::ByteView bytes) {
  internal::ByteReader reader(bytes);
  WipeOrder order;
  auto version = reader.u8();
  if (!version || *version != kWipeOrderVersion) return invalid("unsupported version");
  order.version = *version;
  if (!reader.raw(order.device.bytes.data(), order.device.bytes.size())) return invalid("truncated");
  auto issued_at = reader.u64();
  auto reason = reader.short_text();
  if (!issued_at || !reason || *issued_at > INT64_MAX) return invalid("truncated");
  if (reason->size() > kMaxWipeReasonBytes) return invalid("reason too long");
  order.issued_at_ms = static_cast<std::int64_t>(*issued_at);
  order.reason = std::move(*reason);
  if (!reader.raw(order.authority_fingerprint.data(), order.authority_fingerprint.size()) ||
      !reader.raw(order.signature.data(), order.signature.size())) {
    return invalid("truncated");
  }
  if (!reader.at_end()) return invalid("trailing bytes");
  return order;
}

json::value wipe_order_to_json(const WipeOrder& order) {
  return json::object{
      {"version", order.version},
      {"device_id", to_text(order.device)},
      {"issued_at", order.issued_at_ms},
      {"reason", order.reason},
      {"authority_fingerprint", internal::base64url_encode(order.authority_fingerprint)},
      {"signature", internal::base64url_encode(order.signature)},
  };
}

Result<WipeOrder> wipe_order_from_json(const json::value& value) {
  auto order = from_json(value);
  if (!order.ok()) return invalid(order.error().message);
  return order;
}

}  // namespace casefile::sync
