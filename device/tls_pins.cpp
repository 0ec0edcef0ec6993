#include "device/tls_pins.hpp"

#include "crypto/bytes.hpp"
#include "crypto/constant_time.hpp"
#include "device/internal/server_reply.hpp"
#include "device/sqlcipher_replica_store.hpp"

namespace casefile::device {
namespace {

Error unavailable(const Error& error) {
  return make_error("store_unavailable", error.code + ": " + error.message);
}

bool same(const crypto::Sha256Digest& left, const crypto::Sha256Digest& right) {
  return crypto::constant_time_equal(left, right);
}

Status save_accepted(FieldDevice& device, std::uint64_t sequence, std::string_view statement_text,
                     const std::optional<crypto::Sha256Digest>& next) {
  auto statement = device.store().database().prepare(
      "INSERT OR REPLACE INTO tls_pins (singleton, sequence, statement, next_pin) VALUES (1, ?, ?, ?)");
  if (!statement.ok()) return unavailable(statement.error());
  statement->bind_int64(1, static_cast<std::int64_t>(sequence)).bind_text(2, statement_text);
  if (next) {
    statement->bind_blob(3, crypto::ByteView(next->data(), next->size()));
  } else {
    statement->bind_null(3);
  }
  auto done = statement->step();
  if (!done.ok()) return unavailable(done.error());
  return ok_status();
}

Status forget_next(FieldDevice& device) {
  auto statement =
      device.store().database().prepare("UPDATE tls_pins SET next_pin = NULL WHERE singleton = 1");
  if (!statement.ok()) return unavailable(statement.error());
  auto done = statement->step();
  if (!done.ok()) return unavailable(done.error());
  return ok_status();
}

}  // namespace

Result<AcceptedTlsPins> accepted_tls_pins(FieldDevice& device) {
  const DeviceProfile& profile = device.profile();
  if (profile.state != EnrolmentState::certified || !profile.server) {
    return make_error("not_certified", "the device is not enrolled and certified");
  }
  AcceptedTlsPins pins;
  pins.pin = profile.server->pin;
  auto query =
      device.store().database().prepare("SELECT sequence, next_pin FROM tls_pins WHERE singleton = 1");
  if (!query.ok()) return unavailable(query.error());
  auto row = query->step();
  if (!row.ok()) return unavailable(row.error());
  if (*row) {
    pins.sequence = static_cast<std::uint64_t>(query->column_int64(0));
    if (!query->column_is_null(1)) {
      const crypto::Bytes next = query->column_blob(1);
      if (next.size() != crypto::kSha256Size) return make_error("store_unavailable", "tls_pins.next_pin");
      crypto::Sha256Digest digest{};
      std::copy(next.begin(), next.end(), digest.begin());
      pins.next = digest;
    }
  }
  return pins;
}

Status install_tls_pin_statement(FieldDevice& device, const sync::TlsPinStatement& statement) {
  auto accepted = accepted_tls_pins(device);
  if (!accepted.ok()) return std::move(accepted).error();
  const std::optional<crypto::Ed25519PublicKey>& authority = device.profile().authority_key;
  if (!authority) return make_error("not_certified", "the device holds no authority key");
  CASEFILE_RETURN_IF_ERROR(sync::accept_tls_pin_statement(statement, *authority, accepted->sequence));
  CASEFILE_RETURN_IF_ERROR(save_accepted(device, statement.sequence,
                                         sync::tls_pin_statement_to_text(statement), statement.next_pin));
  if (!same(statement.current_pin, accepted->pin)) {
    CASEFILE_RETURN_IF_ERROR(device.set_server_pin(statement.current_pin));
  }
  return ok_status();
}

Status refresh_tls_pins(FieldDevice& device, HttpsClient& client, const TlsPinsSend& send) {
  auto accepted = accepted_tls_pins(device);
  if (!accepted.ok()) return std::move(accepted).error();
  CASEFILE_RETURN_IF_ERROR(client.set_pins(accepted->pin, accepted->next));
  auto response = send(HttpsRequest{"GET", "/v1/tls-pins", {}, {}, {}});
  if (!response.ok()) return std::move(response).error();
  // The server presented the announced key: it has rotated, and that key,
  // vouched for by the authority, is the pin from now on.
  crypto::Sha256Digest connected = accepted->pin;
  if (client.connected_under_next_pin() && accepted->next) {
    connected = *accepted->next;
    CASEFILE_RETURN_IF_ERROR(device.set_server_pin(connected));
    CASEFILE_RETURN_IF_ERROR(forget_next(device));
  }
  if (response->status == 404) return client.set_pins(connected, std::nullopt);
  if (response->status != 200) return internal::server_refusal(*response);
  auto body = internal::json_object_body(*response);
  if (!body.ok()) return std::move(body).error();
  auto text = internal::string_member(*body, "statement");
  if (!text.ok()) return std::move(text).error();
  auto statement = sync::tls_pin_statement_from_text(*text);
  if (!statement.ok()) return std::move(statement).error();
  const bool older = accepted->sequence && statement->sequence < *accepted->sequence;
  // Installed only when it names the key this connection was made under:
  // a statement issued just before casefiled reloads waits for the next round.
  const bool names_connected = same(statement->current_pin, connected) ||
                               (statement->next_pin && same(*statement->next_pin, connected));
  if (!older && names_connected) CASEFILE_RETURN_IF_ERROR(install_tls_pin_statement(device, *statement));
  auto now = accepted_tls_pins(device);
  if (!now.ok()) return std::move(now).error();
  return client.set_pins(now->pin, now->next);
}

}  // namespace casefile::device
