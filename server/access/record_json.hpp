// The JSON forms of users and devices, shared by /v1/admin/* and casefile-admin --json.
#pragma once

#include <boost/json/object.hpp>

#include "server/access/control_store.hpp"

namespace casefile::server {

// {"name", "role", "disabled", "created_at"}
boost::json::object user_record_to_json(const UserRecord& user);
// {"device_id", "user", "state", "enrolled_at", "signing_public_key",
//  "wrapping_public_key", "certificate"?: {...}, "wipe_order"?: {...}}
boost::json::object device_record_to_json(const DeviceRecord& device);

}  // namespace casefile::server
