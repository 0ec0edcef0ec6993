#include "server/access/case_key_recipients.hpp"

#include <algorithm>
#include <set>

namespace casefile::server {

std::vector<DeviceRecord> select_case_key_recipients(const std::vector<std::string>& member_users,
                                                     const std::vector<UserRecord>& users,
                                                     const std::vector<DeviceRecord>& devices) {
  std::set<std::string, std::less<>> enabled_members;
  for (const UserRecord& user : users) {
    if (!user.disabled &&
        std::find(member_users.begin(), member_users.end(), user.name) != member_users.end()) {
      enabled_members.insert(user.name);
    }
  }
  std::vector<DeviceRecord> recipients;
  for (const DeviceRecord& device : devices) {
    if (device.state == DeviceState::certified && enabled_members.contains(device.user)) {
      recipients.push_back(device);
    }
  }
  std::sort(recipients.begin(), recipients.end(),
            [](const DeviceRecord& a, const DeviceRecord& b) { return a.id < b.id; });
  return recipients;
}

Result<std::vector<DeviceRecord>> case_key_recipients(ControlStore& store, const sync::CaseId& case_id) {
  auto members = store.case_members(case_id);
  if (!members.ok()) return std::move(members).error();
  auto users = store.list_users();
  if (!users.ok()) return std::move(users).error();
  auto devices = store.list_devices();
  if (!devices.ok()) return std::move(devices).error();
  return select_case_key_recipients(*members, *users, *devices);
}

}  // namespace casefile::server
