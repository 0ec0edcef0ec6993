// Key files: a wrapped secret opens only with its passphrase and purpose,
// survives a passphrase change unchanged, and hostile or damaged files are
// refused with the right code before any expensive work.
#include "crypto/key_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "crypto/random.hpp"

namespace casefile::crypto {
namespace {

constexpr std::string_view kPassphrase = "correct horse battery staple";
constexpr std::string_view kPurpose = kKeyFilePurposeDeviceStorage;

// Byte offsets of the v1 header (docs/crypto.md).
constexpr std::size_t kVersionOffset = 4;
constexpr std::size_t kLog2NOffset = 7;
constexpr std::size_t kROffset = 8;
constexpr std::size_t kPOffset = 12;
constexpr std::size_t kSaltOffset = 16;

Bytes copy(ByteView view) { return Bytes(view.begin(), view.end()); }

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto secret = random_secret(32);
    ASSERT_TRUE(secret.ok());
    secret_ = std::move(secret).value();
    std::string pattern = (std::filesystem::temp_directory_path() / "casefile-key-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  // One sealed file shared by the tests of one fixture instance (scrypt at
  // N = 2^17 is the slow part).
  const Bytes& sealed() {
    if (sealed_.empty()) {
      auto file = seal_key_file(secret_.view(), kPassphrase, kPurpose);
      EXPECT_TRUE(file.ok());
      if (file.ok()) sealed_ = std::move(file).value();
    }
    return sealed_;
  }

  SecretBytes secret_;
  Bytes sealed_;
  std::filesystem::path directory_;
};

TEST_F(KeyFileTest, SealedSecretOpensWithItsPassphraseAndPurpose) {
  auto opened = open_key_file(sealed(), kPassphrase, kPurpose);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(copy(opened->view()), copy(secret_.view()));
  auto header = inspect_key_file(sealed());
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->purpose, kPurpose);
  EXPECT_EQ(header->parameters.n, 1u << 17);
  EXPECT_EQ(header->parameters.r, 8u);
  EXPECT_EQ(header->parameters.p, 1u);
}

TEST_F(KeyFileTest, WrongPassphraseIsRefused) {
  auto opened = open_key_file(sealed(), "incorrect horse", kPurpose);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "wrong_passphrase");
}

TEST_F(KeyFileTest, FileForAnotherPurposeIsRefused) {
  auto opened = open_key_file(sealed(), kPassphrase, kKeyFilePurposeServerDatabase);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "wrong_purpose");
}

TEST_F(KeyFileTest, AlteredPurposeInTheHeaderFailsAuthentication) {
  // Same length, so the structure stays valid: only the AEAD can notice.
  Bytes file = sealed();
  const std::size_t purpose_offset = kSaltOffset + 32 + 12 + 1;
  ASSERT_EQ(file[purpose_offset], 'd');
  file[purpose_offset] = 'D';
  auto opened = open_key_file(file, kPassphrase, "Device-storage");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, "wrong_passphrase");
}

TEST_F(KeyFileTest, UnknownVersionIsRefused) {
  Bytes file = sealed();
  file[kVersionOffset] = 2;
  EXPECT_EQ(open_key_file(file, kPassphrase, kPurpose).error().code, "unsupported_version");
}

TEST_F(KeyFileTest, TruncatedExtendedOrForeignFilesAreCorrupt) {
  const Bytes& file = sealed();
  for (std::size_t size : {std::size_t{0}, std::size_t{3}, std::size_t{20}, file.size() - 1}) {
    EXPECT_EQ(open_key_file(ByteView(file).first(size), kPassphrase, kPurpose).error().code,
              "corrupt_key_file")
        << "truncated to " << size;
  }
  Bytes extended = file;
  extended.push_back(0);
  EXPECT_EQ(open_key_file(extended, kPassphrase, kPurpose).error().code, "corrupt_key_file");
  Bytes foreign = file;
  foreign[0] = 'X';
  EXPECT_EQ(open_key_file(foreign, kPassphrase, kPurpose).error().code, "corrupt_key_file");
}

TEST_F(KeyFileTest, AlteredCiphertextIsRefused) {
  Bytes file = sealed();
  file.back() ^= 0x01;
  EXPECT_EQ(open_key_file(file, kPassphrase, kPurpose).error().code, "wrong_passphrase");
}

TEST_F(KeyFileTest, WeakParametersAreRefusedWhenSealing) {
  auto weak = seal_key_file(secret_.view(), kPassphrase, kPurpose, {.n = 1u << 16, .r = 8, .p = 1});
  ASSERT_FALSE(weak.ok());
  EXPECT_EQ(weak.error().code, "weak_parameters");
}

TEST_F(KeyFileTest, HostileParametersAreRefusedBeforeDerivingAnything) {
  struct Case {
    std::size_t offset;
    std::uint8_t value;
    const char* why;
  };
  // Each would either weaken the file or make scrypt take gigabytes or minutes.
  const Case cases[] = {
      {kLog2NOffset, 16, "N below 2^17"}, {kLog2NOffset, 21, "N above 2^20"},
      {kLog2NOffset, 63, "N absurd"},     {kLog2NOffset, 200, "log2 N beyond 64"},
      {kROffset + 3, 0, "r zero"},        {kROffset + 3, 64, "r too large"},
      {kROffset, 0x80, "r enormous"},     {kPOffset + 3, 0, "p zero"},
      {kPOffset + 3, 17, "p too large"},  {kPOffset + 3, 9, "r * p above 64"},
  };
  for (const Case& hostile : cases) {
    Bytes file = sealed();
    file[hostile.offset] = hostile.value;
    auto opened = open_key_file(file, kPassphrase, kPurpose);
    ASSERT_FALSE(opened.ok()) << hostile.why;
    EXPECT_EQ(opened.error().code, "weak_parameters") << hostile.why;
  }
  // N = 2^20 with r = 16 would need 2 GiB.
  Bytes file = sealed();
  file[kLog2NOffset] = 20;
  file[kROffset + 3] = 16;
  EXPECT_EQ(open_key_file(file, kPassphrase, kPurpose).error().code, "weak_parameters");
}

TEST_F(KeyFileTest, PassphraseChangeKeepsTheSecretAndRetiresTheOldPassphrase) {
  const std::filesystem::path path = directory_ / "device.key";
  ASSERT_TRUE(write_key_file(path, sealed()).ok());
  const Status changed = change_key_file_passphrase(path, kPassphrase, "a new passphrase", kPurpose);
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  auto reopened = load_key_file(path, "a new passphrase", kPurpose);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ(copy(reopened->view()), copy(secret_.view()));
  EXPECT_EQ(load_key_file(path, kPassphrase, kPurpose).error().code, "wrong_passphrase");
}

TEST_F(KeyFileTest, PassphraseChangeWithWrongOldPassphraseLeavesTheFileUntouched) {
  const std::filesystem::path path = directory_ / "device.key";
  ASSERT_TRUE(write_key_file(path, sealed()).ok());
  const Status changed = change_key_file_passphrase(path, "not it", "a new passphrase", kPurpose);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code, "wrong_passphrase");
  auto contents = read_key_file(path);
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(*contents, sealed());
}

TEST_F(KeyFileTest, WrittenFileIsPrivateAndReplacesTheOldOneWithoutLeftovers) {
  const std::filesystem::path path = directory_ / "server.key";
  ASSERT_TRUE(write_key_file(path, as_bytes("first")).ok());
  ASSERT_TRUE(write_key_file(path, sealed()).ok());
  struct stat status {};
  ASSERT_EQ(::stat(path.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600u);
  auto contents = read_key_file(path);
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(*contents, sealed());
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory_)) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary file is left behind";
}

TEST_F(KeyFileTest, MissingFileOrDirectoryIsAnIoError) {
  EXPECT_EQ(read_key_file(directory_ / "absent.key").error().code, "io_error");
  EXPECT_EQ(load_key_file(directory_ / "absent.key", kPassphrase, kPurpose).error().code, "io_error");
  EXPECT_EQ(write_key_file(directory_ / "no-such-directory" / "x.key", as_bytes("x")).error().code,
            "io_error");
}

TEST_F(KeyFileTest, OversizedFileIsRefusedWithoutReadingItAll) {
  const std::filesystem::path path = directory_ / "huge.key";
  std::ofstream(path) << std::string(1 << 20, 'A');
  EXPECT_EQ(read_key_file(path).error().code, "corrupt_key_file");
}

}  // namespace
}  // namespace casefile::crypto
