// A Casefile instance for the end-to-end benchmarks (sync_transport_benchmark,
// casefile-bench): instance files in a scratch directory, its control store
// and authority key opened in-process, and field devices enrolled and
// certified against a real casefiled the caller started from it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "device/field_device.hpp"
#include "server/access/access_administration.hpp"
#include "server/access/control_store.hpp"
#include "server/instance.hpp"

namespace casefile::bench {

// Prints "<program>: <what>: <code>: <message>" and exits 1: a benchmark
// that cannot set itself up has nothing to report.
[[noreturn]] void fail(const std::string& what, const Error& error);

template <class T>
T must(Result<T> result, const std::string& what) {
  if (!result.ok()) fail(what, result.error());
  return std::move(result).value();
}

inline void must(const Status& status, const std::string& what) {
  if (!status.ok()) fail(what, status.error());
}

struct BenchInstance {
  std::filesystem::path root;
  server::InstanceSummary summary;
  std::unique_ptr<server::ControlStore> control;  // the one casefiled reads: control.db or PostgreSQL
  std::unique_ptr<server::AccessAdministration> administration;
  std::unique_ptr<crypto::Ed25519PrivateKey> authority;
};

// A new instance under `directory`/instance (create_instance), its control
// store and authority key open. With `postgres_url`, the instance's stores
// are on that PostgreSQL database ([store] kind = "postgres" in its
// casefiled.toml, docs/scale.md), and so is the control store opened here.
BenchInstance make_instance(const std::filesystem::path& directory,
                            const std::optional<std::string>& postgres_url = std::nullopt);

// A device of `user` (added as a lawyer) in `directory`, enrolled with a code
// against casefiled on `port` and certified by the authority.
device::FieldDevice enrolled_device(BenchInstance& instance, const std::filesystem::path& directory,
                                    const std::string& user, unsigned short port);

// A case on `device` with realistic clear fields.
sync::CaseId create_bench_case(device::FieldDevice& device);

// A printable body of `value_bytes` random letters, different every call.
std::string note_body(std::size_t value_bytes);

// Wall-clock milliseconds since the epoch (the HLC input of a write).
std::int64_t now_ms();

// Offline capture for a benchmark's set-up, not its measure: `count` notes
// with `value_bytes`-byte bodies, round robin over `cases`, committed 500 to a
// transaction (FieldDevice::commit_together) so that filling a device with
// 100,000 notes takes seconds, not one fsync a note.
void capture_notes(device::FieldDevice& device, std::span<const sync::CaseId> cases, std::size_t count,
                   std::size_t value_bytes);

}  // namespace casefile::bench
