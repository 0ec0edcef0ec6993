// Who must hold a case's current key (issue 7, docs/security.md §8): the
// certified, unrevoked devices of the case's member users whose user is not
// disabled. casefile-admin reconciles each case's head epoch to this set, and
// POST /v1/keys/{case}/epochs/{epoch}/wraps accepts wraps only to it.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "server/access/control_store.hpp"
#include "sync/ids.hpp"

namespace casefile::server {

// Pure: the recipients among `devices`, ascending, for `member_users`.
std::vector<DeviceRecord> select_case_key_recipients(const std::vector<std::string>& member_users,
                                                     const std::vector<UserRecord>& users,
                                                     const std::vector<DeviceRecord>& devices);

// The same, read from `store` for one case. Errors: the store's.
Result<std::vector<DeviceRecord>> case_key_recipients(ControlStore& store, const sync::CaseId& case_id);

}  // namespace casefile::server
