// Costs of the crypto module's operations, as the sync path and device see them.
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "crypto/aead.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/envelope.hpp"
#include "crypto/hpke.hpp"
#include "crypto/key_file.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"

namespace casefile::crypto {
namespace {

template <typename T>
T must(Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.error().code + ": " + result.error().message);
  return std::move(result).value();
}

void BM_AeadSeal(benchmark::State& state, AeadAlgorithm algorithm) {
  const Bytes key(kAeadKeySize, 1);
  const Bytes nonce(kAeadNonceSize, 2);
  const Bytes plaintext(static_cast<std::size_t>(state.range(0)), 3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(must(aead_seal(algorithm, key, nonce, as_bytes("ad"), plaintext)));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_AeadOpen(benchmark::State& state, AeadAlgorithm algorithm) {
  const Bytes key(kAeadKeySize, 1);
  const Bytes nonce(kAeadNonceSize, 2);
  const Bytes sealed = must(
      aead_seal(algorithm, key, nonce, as_bytes("ad"), Bytes(static_cast<std::size_t>(state.range(0)), 3)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(must(aead_open(algorithm, key, nonce, as_bytes("ad"), sealed)));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK_CAPTURE(BM_AeadSeal, chacha20_poly1305, AeadAlgorithm::chacha20_poly1305)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16 * 1024)
    ->Arg(1024 * 1024);
BENCHMARK_CAPTURE(BM_AeadOpen, chacha20_poly1305, AeadAlgorithm::chacha20_poly1305)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16 * 1024)
    ->Arg(1024 * 1024);
BENCHMARK_CAPTURE(BM_AeadSeal, aes_256_gcm, AeadAlgorithm::aes_256_gcm)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16 * 1024)
    ->Arg(1024 * 1024);
BENCHMARK_CAPTURE(BM_AeadOpen, aes_256_gcm, AeadAlgorithm::aes_256_gcm)
    ->Arg(64)
    ->Arg(1024)
    ->Arg(16 * 1024)
    ->Arg(1024 * 1024);

// Wrapping one 32-byte case key to one device, as a new epoch does per member.
void BM_HpkeSealCaseKey(benchmark::State& state) {
  const X25519PrivateKey recipient = must(X25519PrivateKey::generate());
  const Bytes case_key(32, 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        must(hpke::seal_base(recipient.public_key(), as_bytes("case/epoch/device"), {}, case_key)));
  }
}
BENCHMARK(BM_HpkeSealCaseKey);

void BM_HpkeOpenCaseKey(benchmark::State& state) {
  const X25519PrivateKey recipient = must(X25519PrivateKey::generate());
  const auto sealed =
      must(hpke::seal_base(recipient.public_key(), as_bytes("case/epoch/device"), {}, Bytes(32, 7)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(must(hpke::open_base(sealed.encapsulated_key, recipient,
                                                  as_bytes("case/epoch/device"), {}, sealed.ciphertext)));
  }
}
BENCHMARK(BM_HpkeOpenCaseKey);

constexpr FieldContext kField{"case-1", "interviews", "0190f1e2-aaaa-7bbb-8ccc-0123456789ab", "allegation"};

void BM_EnvelopeSeal(benchmark::State& state) {
  const SecretBytes case_key = must(random_secret(kCaseKeySize));
  const Bytes value(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(must(seal_field(kField, 1, case_key.view(), value)));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_EnvelopeSeal)->Arg(64)->Arg(1024)->Arg(16 * 1024);

void BM_EnvelopeOpen(benchmark::State& state) {
  const SecretBytes case_key = must(random_secret(kCaseKeySize));
  const Bytes envelope =
      must(seal_field(kField, 1, case_key.view(), Bytes(static_cast<std::size_t>(state.range(0)), 'x')));
  for (auto _ : state) benchmark::DoNotOptimize(must(open_field(kField, 1, case_key.view(), envelope)));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_EnvelopeOpen)->Arg(64)->Arg(1024)->Arg(16 * 1024);

void BM_Ed25519Sign(benchmark::State& state) {
  const Ed25519PrivateKey key = must(Ed25519PrivateKey::generate());
  const Bytes message(256, 1);
  for (auto _ : state) benchmark::DoNotOptimize(must(key.sign(message)));
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const Ed25519PrivateKey key = must(Ed25519PrivateKey::generate());
  const Bytes message(256, 1);
  const Ed25519Signature signature = must(key.sign(message));
  for (auto _ : state) {
    if (!ed25519_verify(key.public_key(), message, signature)) state.SkipWithError("verification failed");
  }
}
BENCHMARK(BM_Ed25519Verify);

// What unlocking a device or starting the server costs: scrypt N=2^17, r=8, p=1.
void BM_KeyFileOpen(benchmark::State& state) {
  const SecretBytes secret = must(random_secret(32));
  const Bytes file = must(seal_key_file(secret.view(), "passphrase", kKeyFilePurposeDeviceStorage));
  for (auto _ : state) {
    benchmark::DoNotOptimize(must(open_key_file(file, "passphrase", kKeyFilePurposeDeviceStorage)));
  }
}
BENCHMARK(BM_KeyFileOpen)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace casefile::crypto

BENCHMARK_MAIN();
