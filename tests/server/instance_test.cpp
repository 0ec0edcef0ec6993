#include "server/instance.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/key_file.hpp"
#include "crypto/tls_identity.hpp"

namespace casefile::server {
namespace {
namespace fs = std::filesystem;

constexpr const char* kPassphrase = "correct horse battery staple";

class InstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        fs::temp_directory_path() / ("casefile-instance-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }

  InstanceRequest request() const {
    InstanceRequest request;
    request.root = directory_ / "var";
    request.admin_passphrase = kPassphrase;
    return request;
  }

  fs::path directory_;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t mode_of(const fs::path& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 0777;
}

TEST_F(InstanceTest, CreatesEveryFileWithSecretsReadableByOwnerOnly) {
  auto summary = create_instance(request());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const InstanceLayout layout(request().root);
  for (const auto& secret :
       {layout.database_key(), layout.tls_private_key(), layout.authority_key(), layout.recovery_key()}) {
    EXPECT_EQ(mode_of(secret), 0600u) << secret;
  }
  EXPECT_EQ(mode_of(layout.root), 0700u);
  EXPECT_TRUE(fs::exists(layout.config()));
  EXPECT_FALSE(fs::exists(layout.generated_admin_passphrase()));
  EXPECT_EQ(summary->listen_url, "https://127.0.0.1:8443");
  // No staging directory is left beside the instance.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(directory_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(InstanceTest, OrganisationKeysOpenOnlyWithTheAdminPassphrase) {
  auto summary = create_instance(request());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const InstanceLayout layout(request().root);

  auto authority =
      crypto::load_key_file(layout.authority_key(), kPassphrase, crypto::kKeyFilePurposeOrgAuthority);
  ASSERT_TRUE(authority.ok()) << authority.error().message;
  auto authority_key = crypto::Ed25519PrivateKey::from_seed(authority->view());
  ASSERT_TRUE(authority_key.ok());
  EXPECT_EQ(authority_key->public_key(), summary->authority_public_key);

  auto recovery = crypto::load_key_file(layout.recovery_key(), kPassphrase, kKeyFilePurposeOrgRecovery);
  ASSERT_TRUE(recovery.ok()) << recovery.error().message;
  auto recovery_key = crypto::X25519PrivateKey::from_bytes(recovery->view());
  ASSERT_TRUE(recovery_key.ok());
  EXPECT_EQ(recovery_key->public_key(), summary->recovery_public_key);

  auto wrong = crypto::load_key_file(layout.authority_key(), "not the passphrase",
                                     crypto::kKeyFilePurposeOrgAuthority);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "wrong_passphrase");
}

TEST_F(InstanceTest, TlsPinIsTheSha256OfThePrivateKeysPublicInfo) {
  auto summary = create_instance(request());
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const InstanceLayout layout(request().root);

  // Derive the pin independently, from the private key rather than the certificate.
  const std::string key_pem = read_text(layout.tls_private_key());
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  unsigned char* der = nullptr;
  const int der_size = i2d_PUBKEY(key, &der);
  EVP_PKEY_free(key);
  ASSERT_GT(der_size, 0);
  const auto expected = crypto::sha256(crypto::ByteView(der, static_cast<std::size_t>(der_size)));
  OPENSSL_free(der);
  EXPECT_EQ(summary->tls_spki_pin, expected);

  auto described = describe_instance(request().root);
  ASSERT_TRUE(described.ok()) << described.error().message;
  EXPECT_EQ(described->tls_spki_pin, expected);
  EXPECT_EQ(described->authority_fingerprint, summary->authority_fingerprint);
}

TEST_F(InstanceTest, RefusesToOverwriteAnExistingInstance) {
  ASSERT_TRUE(create_instance(request()).ok());
  const auto key_before = read_text(InstanceLayout(request().root).database_key());
  auto second = create_instance(request());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "instance_exists");
  EXPECT_EQ(read_text(InstanceLayout(request().root).database_key()), key_before);
}

TEST_F(InstanceTest, RefusesAShortAdminPassphraseAndWritesNothing) {
  auto short_passphrase = request();
  short_passphrase.admin_passphrase = "short";
  auto result = create_instance(short_passphrase);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "invalid_argument");
  EXPECT_FALSE(fs::exists(request().root));
}

TEST_F(InstanceTest, DescribeReportsAMissingOrDamagedInstance) {
  auto missing = describe_instance(directory_ / "nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "no_instance");

  ASSERT_TRUE(create_instance(request()).ok());
  std::ofstream(InstanceLayout(request().root).authority_public_key(), std::ios::trunc) << "zz-not-hex\n";
  auto damaged = describe_instance(request().root);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, "corrupt_instance");
}

TEST(TlsIdentity, RefusesATextThatIsNotAnIpAddress) {
  crypto::SelfSignedRequest request;
  request.common_name = "casefiled";
  request.ip_addresses = {"127.0.0.300"};
  auto identity = crypto::generate_self_signed_identity(request);
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.error().code, "invalid_argument");
}

TEST(TlsIdentity, PinRefusesSomethingThatIsNotACertificate) {
  auto pin = crypto::spki_sha256_pin("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  ASSERT_FALSE(pin.ok());
  EXPECT_EQ(pin.error().code, "invalid_certificate");
}

}  // namespace
}  // namespace casefile::server
