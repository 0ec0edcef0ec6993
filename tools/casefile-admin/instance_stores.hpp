// The instance's control and key-wrap stores as casefile-admin opens them:
// the SQLCipher files of the instance directory, or, when its casefiled.toml
// says [store] kind = "postgres", the PostgreSQL database that its casefiled
// instances share (docs/scale.md), so that an admin command run on any host
// of the instance acts on the state every instance serves.
#pragma once

#include <filesystem>
#include <memory>

#include "base/result.hpp"
#include "server/access/control_store.hpp"
#include "server/sync_api/key_wrap_store.hpp"

namespace casefile::admin {

// Errors: the config's ("invalid_config", "io_error"), the store's.
Result<std::unique_ptr<server::ControlStore>> open_instance_control_store(
    const std::filesystem::path& instance);
Result<std::unique_ptr<server::KeyWrapStore>> open_instance_key_wrap_store(
    const std::filesystem::path& instance);

}  // namespace casefile::admin
