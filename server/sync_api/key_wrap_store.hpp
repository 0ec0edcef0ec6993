// KeyWrapStore: the case keys' wraps and keyring manifests, kept for devices
// and never readable by the server (DESIGN §5). A wrap is a case key of one
// epoch sealed with HPKE to one device's X25519 key; a manifest is the
// authority-signed list of an epoch's recipients. Both are opaque bytes here.
//
// SqlcipherKeyWrapStore is the embedded implementation (keys.db beside the
// sync store); PostgresKeyWrapStore (server/store/) implements the same
// contract on PostgreSQL. Methods are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "sync/ids.hpp"

namespace casefile::server {

struct KeyWrap {
  sync::DeviceId recipient;
  crypto::Bytes wrap;

  friend bool operator==(const KeyWrap&, const KeyWrap&) = default;
};

// One epoch of one case's keyring, as its uploader sent it.
struct KeyEpoch {
  sync::CaseId case_id;
  std::uint32_t epoch = 0;     // 1, 2, 3, ... ascending per case (gaps allowed)
  crypto::Bytes manifest;      // authority-signed; opaque to the server
  std::vector<KeyWrap> wraps;  // one per recipient device, ascending recipient
  sync::DeviceId uploaded_by;
  std::int64_t uploaded_at_ms = 0;

  friend bool operator==(const KeyEpoch&, const KeyEpoch&) = default;
};

// What one device may fetch of one epoch: the manifest, and its own wrap.
struct KeyEpochForDevice {
  std::uint32_t epoch = 0;
  crypto::Bytes manifest;
  std::optional<crypto::Bytes> wrap;  // nullopt: this device is not a recipient
  // Every recipient with a stored wrap, ascending (the recovery key as the nil
  // id), so a member sees which head members still lack this epoch.
  std::vector<sync::DeviceId> recipients;

  friend bool operator==(const KeyEpochForDevice&, const KeyEpochForDevice&) = default;
};

enum class KeyEpochStored { created, already_stored };

struct CaseHeadEpoch {
  sync::CaseId case_id;
  std::uint32_t head_epoch = 0;

  friend bool operator==(const CaseHeadEpoch&, const CaseHeadEpoch&) = default;
};

class KeyWrapStore {
 public:
  virtual ~KeyWrapStore() = default;

  // Stores `epoch` if it is above every stored epoch of its case. The same
  // epoch with the same manifest and wraps again is `already_stored` (a
  // retried upload). Errors: "epoch_not_monotonic" (an epoch at or below the
  // newest, with other content), "key_store_unavailable".
  virtual Result<KeyEpochStored> put_epoch(const KeyEpoch& epoch) = 0;

  // Every epoch of the case, ascending, with `device`'s wrap of each.
  // Errors: "key_store_unavailable".
  virtual Result<std::vector<KeyEpochForDevice>> epochs_for_device(const sync::CaseId& case_id,
                                                                   const sync::DeviceId& device) = 0;

  // Adds wraps of the stored epoch for recipients that have none yet, all or
  // nothing. `created` if any was added; `already_stored` if every one was
  // stored before with the same bytes (a retry). Errors: "epoch_unknown",
  // "wrap_exists" (a recipient already has another wrap),
  // "key_store_unavailable".
  virtual Result<KeyEpochStored> add_wraps(const sync::CaseId& case_id, std::uint32_t epoch,
                                           std::span<const KeyWrap> wraps) = 0;

  // The newest stored epoch of each of `cases` that has one, in the order of
  // `cases`. Errors: "key_store_unavailable".
  virtual Result<std::vector<CaseHeadEpoch>> head_epochs(std::span<const sync::CaseId> cases) = 0;

  // Every stored epoch of the case with every wrap, ascending (for the admin:
  // chain checks, rotation and recovery). Errors: "key_store_unavailable".
  virtual Result<std::vector<KeyEpoch>> epochs(const sync::CaseId& case_id) = 0;
};

}  // namespace casefile::server
