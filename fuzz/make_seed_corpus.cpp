// Writes the seeds that cannot be typed by hand: envelopes sealed by the
// real crypto::seal_field under the fixed key of fuzz_inputs.hpp, RFC 9180
// A.2's sequence-0 encryption in the layout hpke_open_fuzz reads, and push
// requests signed by the real sync::seal_batch and encoded by
// sync::encode_push_request. Run once when a layout changes:
//   build/fuzz/fuzz/make_seed_corpus fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/fuzz_inputs.hpp"
#include "sync/change_json.hpp"
#include "tests/sync/sync_test_support.hpp"

namespace {

void write_seed(const std::filesystem::path& file, casefile::crypto::ByteView bytes) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace casefile;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seed_corpus CORPUS_DIR\n");
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  const std::string values[] = {"", "x", "Beaten during transfer on 12 March; refused a doctor.",
                                std::string(300, 'a')};
  int index = 0;
  for (const auto& value : values) {
    auto sealed =
        crypto::seal_field(fuzz::kEnvelopeContext, 3, fuzz::envelope_case_key(), crypto::as_bytes(value));
    if (!sealed.ok()) return 1;
    write_seed(corpus / "envelope" / ("sealed-" + std::to_string(index++)), *sealed);
  }
  crypto::Bytes hpke_seed =
      fuzz::hex_bytes("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
  const crypto::Bytes aad = fuzz::hex_bytes("436f756e742d30");
  hpke_seed.push_back(static_cast<std::uint8_t>(aad.size()));
  hpke_seed.insert(hpke_seed.end(), aad.begin(), aad.end());
  const crypto::Bytes ciphertext = fuzz::hex_bytes(
      "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28");
  hpke_seed.insert(hpke_seed.end(), ciphertext.begin(), ciphertext.end());
  write_seed(corpus / "hpke_open" / "rfc9180-a2-sequence-0", hpke_seed);

  // Push requests: one change of each operation and value kind, then a batch of several.
  using namespace sync::testing;
  auto sealed =
      crypto::seal_field(fuzz::kEnvelopeContext, 3, fuzz::envelope_case_key(), crypto::as_bytes("x"));
  if (!sealed.ok()) return 1;
  const sync::DeviceId author = device_id(1);
  const std::vector<sync::Change> changes = {
      make_change({author, 1}, record_key(1, 1), sync::Hlc::from_parts(1700000000000, 0),
                  {set_op("stage", std::string("pre_trial")), set_op("juvenile", true),
                   set_op("detainees", std::int64_t{3})}),
      make_change({author, 2}, record_key(1, 1), sync::Hlc::from_parts(1700000000001, 0),
                  {set_op("allegation", sync::SealedValue{*sealed}, {{author, 1}}),
                   set_op("notes", sync::NullValue{})}),
      make_change({author, 3}, record_key(1, 2, "notes"), sync::Hlc::from_parts(1700000000002, 1),
                  {resolve_op("stage", std::string("trial"), {{author, 1}, {device_id(2), 4}})}),
      make_change({author, 4}, record_key(1, 2, "notes"), sync::Hlc::from_parts(1700000000003, 0),
                  {delete_op({{author, 3}})}),
  };
  for (std::size_t count : {std::size_t{1}, changes.size()}) {
    auto batch = sync::seal_batch(batch_id(count), device_key(1), author,
                                  std::vector<sync::Change>(changes.begin(), changes.begin() + count));
    if (!batch.ok()) return 1;
    write_seed(corpus / "change_json" / ("push-" + std::to_string(count)),
               crypto::as_bytes(sync::encode_push_request(*batch)));
  }
  return 0;
}
