#include "server/access/record_json.hpp"

#include "sync/device_authentication.hpp"
#include "sync/device_certificate.hpp"
#include "sync/wipe_order.hpp"

namespace casefile::server {

boost::json::object user_record_to_json(const UserRecord& user) {
  return {{"name", user.name},
          {"role", role_name(user.role)},
          {"disabled", user.disabled},
          {"created_at", user.created_at_ms}};
}

boost::json::object device_record_to_json(const DeviceRecord& device) {
  boost::json::object object{{"device_id", sync::to_text(device.id)},
                             {"user", device.user},
                             {"state", device_state_name(device.state)},
                             {"enrolled_at", device.enrolled_at_ms},
                             {"signing_public_key", sync::bytes_to_wire_text(device.signing_public_key)},
                             {"wrapping_public_key", sync::bytes_to_wire_text(device.wrapping_public_key)}};
  if (!device.certificate.empty()) {
    if (auto certificate = sync::decode_certificate(device.certificate); certificate.ok()) {
      object["certificate"] = sync::certificate_to_json(*certificate);
    }
  }
  if (!device.wipe_order.empty()) {
    if (auto order = sync::decode_wipe_order(device.wipe_order); order.ok()) {
      object["wipe_order"] = sync::wipe_order_to_json(*order);
    }
  }
  return object;
}

}  // namespace casefile::server
