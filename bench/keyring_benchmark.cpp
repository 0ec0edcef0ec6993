// The pure cost of rotating case keys (issue 7): planning the next manifest,
// signing it, and wrapping the new key to every member device and to the
// recovery key, for 1,000 cases x 5 devices. The first row, one HPKE seal of
// a case key, is the baseline: a rotation should cost about
// cases x (devices + 1) seals plus one signature per case, and nothing here
// depends on the number of records (old values are not re-encrypted).
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <vector>

#include "crypto/ed25519.hpp"
#include "crypto/envelope.hpp"
#include "crypto/hpke.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "sync/case_key_wrap.hpp"
#include "sync/case_keyring.hpp"

namespace casefile::sync {
namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;
constexpr std::size_t kCases = 1000;
constexpr std::size_t kDevicesPerCase = 5;

template <typename T>
T must(Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.error().code + ": " + result.error().message);
  return std::move(result).value();
}

template <typename IdType>
IdType numbered(std::uint8_t tag, std::uint64_t number) {
  IdType id;
  id.bytes[0] = tag;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<std::uint8_t>(number >> (8 * i));
  return id;
}

// An organisation of kCases cases, each with kDevicesPerCase member devices
// and a signed epoch 1.
struct Organisation {
  crypto::Ed25519PrivateKey authority = must(crypto::Ed25519PrivateKey::generate());
  crypto::X25519PrivateKey recovery = must(crypto::X25519PrivateKey::generate());
  std::vector<RecipientKey> device_keys;
  std::vector<KeyringManifest> heads;
  std::vector<std::vector<DeviceId>> members;

  Organisation() {
    for (std::size_t device = 0; device < kCases * kDevicesPerCase; ++device) {
      device_keys.push_back(RecipientKey{numbered<DeviceId>(3, device),
                                         must(crypto::X25519PrivateKey::generate()).public_key()});
    }
    for (std::size_t number = 0; number < kCases; ++number) {
      std::vector<DeviceId> case_members;
      for (std::size_t device = 0; device < kDevicesPerCase; ++device) {
        case_members.push_back(device_keys[number * kDevicesPerCase + device].recipient);
      }
      auto plan = must(plan_first_epoch(numbered<CaseId>(1, number), case_members, recovery.public_key(), 1,
                                        must(crypto::random_secret(crypto::kCaseKeySize)), kNow));
      heads.push_back(must(sign_manifest(plan.manifest, authority)));
      members.push_back(std::move(case_members));
    }
  }

  // The recipient keys of one case: its devices' and the recovery key.
  std::vector<RecipientKey> recipient_keys(std::size_t number) const {
    std::vector<RecipientKey> keys(
        device_keys.begin() + static_cast<std::ptrdiff_t>(number * kDevicesPerCase),
        device_keys.begin() + static_cast<std::ptrdiff_t>((number + 1) * kDevicesPerCase));
    keys.push_back(RecipientKey{kRecoveryRecipient, recovery.public_key()});
    return keys;
  }
};

const Organisation& organisation() {
  static const Organisation instance;
  return instance;
}

// Baseline: one HPKE base-mode seal of a 32-byte case key.
void BM_HpkeSealOneCaseKey(benchmark::State& state) {
  const auto recipient = must(crypto::X25519PrivateKey::generate());
  const crypto::Bytes info = case_key_wrap_info(numbered<CaseId>(1, 1), 2, numbered<DeviceId>(3, 1));
  const auto key = must(crypto::random_secret(crypto::kCaseKeySize));
  for (auto _ : state) {
    benchmark::DoNotOptimize(must(crypto::hpke::seal_base(recipient.public_key(), info, {}, key.view())));
  }
}
BENCHMARK(BM_HpkeSealOneCaseKey)->Unit(benchmark::kMicrosecond);

// Planning one case's next epoch: a fresh key, the previous hash, the commitment.
void BM_PlanOneCase(benchmark::State& state) {
  const Organisation& org = organisation();
  for (auto _ : state) {
    benchmark::DoNotOptimize(must(plan_rotation(org.heads[0], org.members[0],
                                                must(crypto::random_secret(crypto::kCaseKeySize)), kNow)));
  }
}
BENCHMARK(BM_PlanOneCase)->Unit(benchmark::kMicrosecond);

// The authority's signature over one planned manifest.
void BM_SignOneManifest(benchmark::State& state) {
  const Organisation& org = organisation();
  const RotationPlan plan = must(
      plan_rotation(org.heads[0], org.members[0], must(crypto::random_secret(crypto::kCaseKeySize)), kNow));
  for (auto _ : state) benchmark::DoNotOptimize(must(sign_manifest(plan.manifest, org.authority)));
}
BENCHMARK(BM_SignOneManifest)->Unit(benchmark::kMicrosecond);

// Wrapping one case's new key: kDevicesPerCase + 1 seals.
void BM_WrapOneCase(benchmark::State& state) {
  const Organisation& org = organisation();
  const RotationPlan plan = must(
      plan_rotation(org.heads[0], org.members[0], must(crypto::random_secret(crypto::kCaseKeySize)), kNow));
  const std::vector<RecipientKey> keys = org.recipient_keys(0);
  for (auto _ : state) benchmark::DoNotOptimize(must(wrap_rotation(plan, keys)));
  state.counters["wraps"] = static_cast<double>(plan.recipients.size());
}
BENCHMARK(BM_WrapOneCase)->Unit(benchmark::kMicrosecond);

// The whole pure rotation of every case: plan, sign (the authority), wrap.
// per_wrap is the total divided by the wraps made; compare with the baseline.
void BM_Rotate1000CasesOf5Devices(benchmark::State& state) {
  const Organisation& org = organisation();
  std::vector<std::vector<RecipientKey>> keys;
  for (std::size_t number = 0; number < kCases; ++number) keys.push_back(org.recipient_keys(number));
  std::size_t wraps = 0;
  for (auto _ : state) {
    wraps = 0;
    for (std::size_t number = 0; number < kCases; ++number) {
      const RotationPlan plan = must(plan_rotation(org.heads[number], org.members[number],
                                                   must(crypto::random_secret(crypto::kCaseKeySize)), kNow));
      benchmark::DoNotOptimize(must(sign_manifest(plan.manifest, org.authority)));
      wraps += must(wrap_rotation(plan, keys[number])).size();
    }
  }
  state.counters["cases"] = static_cast<double>(kCases);
  state.counters["wraps"] = static_cast<double>(wraps);
  state.counters["per_wrap"] =
      benchmark::Counter(static_cast<double>(wraps),
                         benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Rotate1000CasesOf5Devices)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace casefile::sync

BENCHMARK_MAIN();
