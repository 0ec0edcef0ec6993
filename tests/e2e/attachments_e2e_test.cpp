// Attachments end to end (issue #8): real casefiled and casefile-device
// processes over real TLS. A 200 MiB recording uploaded through a network
// that cuts the connection 5 times resumes and decrypts, on a colleague's
// device, to the same bytes; a corrupted stored blob is refused with its code
// and leaves no output; a member removed from the case and a revoked device
// are refused; a failed upload does not hold back record sync; and no
// plaintext reaches the server's attachment files or a device's directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "tests/e2e/e2e_fixture.hpp"
#include "tests/e2e/tcp_fault_proxy.hpp"

namespace casefile::e2e {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kLargeBytes = 200 * kMiB;
constexpr int kCuts = 5;
// Each connection is cut after this many bytes towards the server: past the
// sign-in and inside the upload, and 5 of them fit in 200 MB.
constexpr std::uint64_t kFewestCutBytes = 2 * kMiB;
constexpr std::uint64_t kMostCutBytes = 35 * kMiB;
constexpr int kMostSyncs = 12;
constexpr std::chrono::seconds kLargeCommandDeadline{600};

class AttachmentsE2eTest : public E2eTest {
 protected:
  // Prints the seconds since the previous step: where a slow run spends its time.
  void step(const std::string& name) {
    const auto now = std::chrono::steady_clock::now();
    std::cout << "step " << name << ": " << std::chrono::duration<double>(now - last_step_).count() << " s"
              << std::endl;
    last_step_ = now;
  }
  std::chrono::steady_clock::time_point last_step_ = std::chrono::steady_clock::now();

  std::string new_marker() {
    std::ostringstream text;
    text << "attachment-marker-" << std::hex << std::setw(16) << std::setfill('0') << random()();
    return text.str();
  }

  // A file of `size` bytes: random blocks, each starting with the marker.
  fs::path plaintext_file(const std::string& name, std::uint64_t size, const std::string& marker) {
    const fs::path path = scratch() / name;
    std::ofstream out(path, std::ios::binary);
    std::string block(kMiB, '\0');
    std::uniform_int_distribution<int> byte(0, 255);
    for (char& c : block) c = static_cast<char>(byte(random()));
    for (std::uint64_t written = 0; written < size;) {
      block.replace(0, marker.size(), marker);
      block[marker.size()] = static_cast<char>(written / kMiB);  // no two blocks alike
      const std::uint64_t piece = std::min<std::uint64_t>(block.size(), size - written);
      out.write(block.data(), static_cast<std::streamsize>(piece));
      written += piece;
    }
    return path;
  }

  static std::string sha256_of_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    crypto::Sha256 hash;
    std::vector<char> piece(kMiB);
    while (in) {
      in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
      hash.update(crypto::ByteView(reinterpret_cast<const std::uint8_t*>(piece.data()),
                                   static_cast<std::size_t>(in.gcount())));
    }
    return crypto::to_hex(hash.finish());
  }

  // `attach` on `device`: the new record's id.
  static std::string attach(E2eDevice& device, const std::string& case_id, const fs::path& file) {
    const auto added = device.ok({"attach", "--case", case_id, "--file", file.string(), "--category", "audio",
                                  "--name", "interview.ogg"});
    return std::string(added.at("record").as_string());
  }

  static json::object attachment_state(E2eDevice& device, const std::string& record_id) {
    const auto listed = device.ok({"attachments"});
    for (const auto& entry : listed.at("attachments").as_array()) {
      if (entry.as_object().at("record") == json::value(record_id)) return entry.as_object();
    }
    throw std::runtime_error("no attachment " + record_id + " on " + device.name());
  }

  fs::path blob_path(const std::string& case_id, const std::string& record_id) {
    return server().instance() / "attachments" / "blobs" / case_id / record_id;
  }
};

TEST_F(AttachmentsE2eTest, ALargeUploadCutFiveTimesResumesAndDecryptsToTheSameBytesOnAColleaguesDevice) {
  TcpFaultProxy proxy(server().port());
  auto devices = enrol_devices({{"alice", proxy.url()}, {"bob"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  const std::string case_id = shared_case(alice, {"bob"});
  alice.ok({"sync"});  // learns the epoch that includes bob: the content key is sealed under it
  step("devices and case");
  const std::string marker = new_marker();
  const fs::path recording = plaintext_file("recording.ogg", kLargeBytes, marker);
  const std::string recording_sha256 = sha256_of_file(recording);
  step("plaintext file");
  const std::string record_id = attach(alice, case_id, recording);
  step("attach");

  for (int i = 0; i < kCuts; ++i) {
    Fault fault;
    fault.action = FaultAction::cut;
    fault.direction = Direction::to_server;
    fault.after_bytes =
        std::uniform_int_distribution<std::uint64_t>(kFewestCutBytes, kMostCutBytes)(random());
    std::cout << "fault: " << describe(fault) << std::endl;
    proxy.queue_fault(fault);
  }
  int syncs = 0;
  for (; syncs < kMostSyncs; ++syncs) {
    const auto result = alice.run({"sync"}, kLargeCommandDeadline);
    ASSERT_FALSE(result.timed_out) << result.describe();
    // A sync completes (an upload cut too often is recorded, not fatal) or gives up unreachable.
    ASSERT_TRUE(result.exit_code == 0 || result.exit_code == 5) << result.describe();
    const auto state = attachment_state(alice, record_id);
    std::cout << "sync " << syncs << ": exit " << result.exit_code << ", " << proxy.faults_applied()
              << " cuts, " << json::serialize(state) << std::endl;
    if (state.at("state") == json::value("uploaded")) break;
  }
  ASSERT_LT(syncs, kMostSyncs);
  step("upload");
  EXPECT_EQ(proxy.faults_applied(), static_cast<std::size_t>(kCuts));
  const fs::path blob = blob_path(case_id, record_id);
  ASSERT_TRUE(fs::exists(blob));
  const auto stored = attachment_state(alice, record_id);
  EXPECT_EQ(fs::file_size(blob), stored.at("size_bytes").as_int64());

  bob.ok({"sync"});
  step("colleague sync");
  const fs::path fetched = scratch() / "fetched.ogg";
  // 200 MiB through ASan on a shared machine: more than one command's usual deadline.
  bob.ok({"fetch", "--record", record_id, "--out", fetched.string()}, kLargeCommandDeadline);
  step("fetch");
  EXPECT_EQ(sha256_of_file(fetched), recording_sha256);
  fs::remove(fetched);

  // No plaintext on the server's side, nor in either device's directory.
  EXPECT_TRUE(files_containing({server().instance(), alice.directory(), bob.directory()}, marker).empty());
  step("marker scan");
}

TEST_F(AttachmentsE2eTest, AFailedUploadDoesNotHoldBackRecordsAndOnlyMemberDevicesFetch) {
  auto devices = enrol_devices({{"alice"}, {"bob"}, {"carol"}});
  E2eDevice& alice = *devices[0];
  E2eDevice& bob = *devices[1];
  E2eDevice& carol = *devices[2];
  const std::string case_id = shared_case(alice, {"bob", "carol"});
  alice.ok({"sync"});
  const std::string marker = new_marker();
  const std::string photo = attach(alice, case_id, plaintext_file("photo.jpg", 3 * kMiB, marker));
  // A second attachment whose ciphertext the tablet lost: its upload fails.
  const std::string lost = attach(alice, case_id, plaintext_file("lost.jpg", kMiB, marker));
  fs::remove(alice.directory() / "attachments" / (lost + ".cfss"));
  const auto notes = add_notes(alice, case_id, 3);

  const auto synced = alice.ok({"sync"});
  EXPECT_EQ(synced.at("attachments").at("uploaded"), 1) << json::serialize(synced);
  EXPECT_EQ(synced.at("attachments").at("failed"), 1) << json::serialize(synced);
  const auto failed = attachment_state(alice, lost);
  EXPECT_EQ(failed.at("state"), json::value("pending"));
  EXPECT_EQ(failed.at("attempts"), 1);
  EXPECT_EQ(failed.at("last_error").at("code"), json::value("attachment_file_missing"));
  expect_delivered_exactly_once(alice, bob, case_id, notes);

  // A member colleague fetches; carol, removed from the case, is refused.
  carol.ok({"sync"});
  const fs::path out = scratch() / "photo-out.jpg";
  bob.ok({"fetch", "--record", photo, "--out", out.string()});
  EXPECT_EQ(sha256_of_file(out), sha256_of_file(scratch() / "photo.jpg"));

  // One byte flipped in the stored blob: refused with its code, and no output.
  const fs::path blob = blob_path(case_id, photo);
  ASSERT_TRUE(fs::exists(blob));
  {
    std::fstream file(blob, std::ios::binary | std::ios::in | std::ios::out);
    const auto middle = static_cast<std::streamoff>(fs::file_size(blob) / 2);
    file.seekg(middle);
    char byte = 0;
    file.get(byte);
    file.seekp(middle);
    file.put(static_cast<char>(byte ^ 0x20));
  }
  const fs::path corrupted = scratch() / "corrupted-out.jpg";
  const auto refused = bob.run({"fetch", "--record", photo, "--out", corrupted.string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_EQ(refused.error_code(), "attachment_checksum_mismatch") << refused.describe();
  EXPECT_FALSE(fs::exists(corrupted));
  EXPECT_FALSE(fs::exists(fs::path(corrupted.string() + ".partial")));
  server().admin_ok({"cases", "members", "remove", "--case", case_id, "--user", "carol"});
  const fs::path carols = scratch() / "carol-out.jpg";
  const auto not_member = carol.run({"fetch", "--record", photo, "--out", carols.string()});
  EXPECT_EQ(not_member.error_code(), "case_not_member") << not_member.describe();
  EXPECT_FALSE(fs::exists(carols));

  // A revoked device is refused: it obeys its wipe order instead.
  server().admin_ok({"revoke", "--device", bob.id(), "--reason", "seized at the gate"});
  const fs::path bobs = scratch() / "bob-out.jpg";
  const auto revoked = bob.run({"fetch", "--record", photo, "--out", bobs.string()});
  EXPECT_EQ(revoked.exit_code, 6) << revoked.describe();
  EXPECT_FALSE(fs::exists(bobs));
  EXPECT_FALSE(fs::exists(bob.directory() / "attachments"));

  EXPECT_TRUE(files_containing({server().instance(), alice.directory(), carol.directory()}, marker).empty());
}

}  // namespace
}  // namespace casefile::e2e
