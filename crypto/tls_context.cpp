#include "crypto/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <limits>

#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {
namespace {

constexpr std::string_view kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr std::string_view kGroups = "X25519:P-256:P-384";
constexpr std::uintmax_t kMaxPemFileSize = 1024 * 1024;
// Binds resumed sessions to this application (RFC 5246 §7.4.1.2 session ids).
constexpr unsigned char kSessionIdContext[] = "casefiled";

struct OpenSslFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(X509* certificate) const { X509_free(certificate); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

Error tls_error(std::string what) { return make_error("tls_error", what + ": " + openssl_reason()); }

// Never prompt on a terminal for the passphrase of an encrypted PEM key.
int refuse_passphrase(char*, int, int, void*) { return 0; }

OpenSslPtr<BIO> memory_bio(ByteView bytes) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return nullptr;
  return OpenSslPtr<BIO>(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// Settings shared by both ends: the protocol floor, the suites and groups.
Status apply_common_settings(SSL_CTX* context) {
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1) return tls_error("cannot set TLS floor");
  SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(context, std::string(kTls12CipherList).c_str()) != 1) {
    return tls_error("cannot set TLS 1.2 suites");
  }
  if (SSL_CTX_set_ciphersuites(context, std::string(kTls13Suites).c_str()) != 1) {
    return tls_error("cannot set TLS 1.3 suites");
  }
  if (SSL_CTX_set1_groups_list(context, std::string(kGroups).c_str()) != 1)
    return tls_error("cannot set groups");
  // Thousands of idle keep-alive connections should not each hold 34 KB of buffers.
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS);
  return ok_status();
}

Result<std::string> read_pem_file(const std::filesystem::path& path, SecretBytes* secret) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return make_error("io_error", "cannot read " + path.string());
  if (size > kMaxPemFileSize) return make_error("io_error", "file too large: " + path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("io_error", "cannot open " + path.string());
  if (secret != nullptr) {
    *secret = SecretBytes(static_cast<std::size_t>(size));
    if (!in.read(reinterpret_cast<char*>(secret->data()), static_cast<std::streamsize>(size))) {
      return make_error("io_error", "cannot read " + path.string());
    }
    return std::string();
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) {
    return make_error("io_error", "cannot read " + path.string());
  }
  return text;
}

// The pin lives in the context's ex_data, freed with the context.
int pin_index() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<Sha256Digest*>(pointer);
      });
  return index;
}

// Replaces chain validation: the leaf's public key must be the pinned one.
int verify_pinned_key(X509_STORE_CTX* store, void* argument) {
  const auto* pin = static_cast<const Sha256Digest*>(argument);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  unsigned char* der = nullptr;
  const int length = leaf == nullptr ? -1 : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
  if (length <= 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  const Sha256Digest presented = sha256(ByteView(der, static_cast<std::size_t>(length)));
  OPENSSL_free(der);
  if (CRYPTO_memcmp(presented.data(), pin->data(), presented.size()) != 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

}  // namespace

void TlsContextDeleter::operator()(ssl_ctx_st* context) const { SSL_CTX_free(context); }

Result<TlsContextHandle> make_server_tls_context(std::string_view certificate_pem, ByteView private_key_pem) {
  TlsContextHandle context(SSL_CTX_new(TLS_server_method()));
  if (!context) return tls_error("cannot create server context");
  CASEFILE_RETURN_IF_ERROR(apply_common_settings(context.get()));
  SSL_CTX_set_options(context.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(context.get(), SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_set_session_id_context(context.get(), kSessionIdContext, sizeof kSessionIdContext - 1) != 1) {
    return tls_error("cannot set session id context");
  }

  auto certificate_bio = memory_bio(as_bytes(certificate_pem));
  if (!certificate_bio) return tls_error("out of memory");
  OpenSslPtr<X509> leaf(PEM_read_bio_X509(certificate_bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!leaf) return make_error("invalid_certificate", "no PEM certificate: " + openssl_reason());
  if (SSL_CTX_use_certificate(context.get(), leaf.get()) != 1) {
    return make_error("invalid_certificate", "certificate refused: " + openssl_reason());
  }
  // Any further certificates are the chain, leaf's issuer first.
  while (X509* chain = PEM_read_bio_X509(certificate_bio.get(), nullptr, refuse_passphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(context.get(), chain) != 1) {
      X509_free(chain);
      return make_error("invalid_certificate", "chain certificate refused: " + openssl_reason());
    }
  }
  ERR_clear_error();  // the loop ends on a "no start line" error

  auto key_bio = memory_bio(private_key_pem);
  if (!key_bio) return tls_error("out of memory");
  OpenSslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!key) return make_error("invalid_private_key", "no unencrypted PEM private key: " + openssl_reason());
  if (SSL_CTX_use_PrivateKey(context.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(context.get()) != 1) {
    return make_error("invalid_private_key",
                      "the private key does not match the certificate: " + openssl_reason());
  }
  return context;
}

Result<TlsContextHandle> load_server_tls_context(const std::filesystem::path& certificate_file,
                                                 const std::filesystem::path& private_key_file) {
  auto certificate = read_pem_file(certificate_file, nullptr);
  if (!certificate.ok()) return std::move(certificate).error();
  SecretBytes key;
  auto read_key = read_pem_file(private_key_file, &key);
  if (!read_key.ok()) return std::move(read_key).error();
  return make_server_tls_context(*certificate, key.view());
}

Result<TlsContextHandle> make_pinned_client_tls_context(const Sha256Digest& pin) {
  TlsContextHandle context(SSL_CTX_new(TLS_client_method()));
  if (!context) return tls_error("cannot create client context");
  CASEFILE_RETURN_IF_ERROR(apply_common_settings(context.get()));
  const int index = pin_index();
  if (index < 0) return tls_error("cannot allocate ex_data index");
  auto* stored_pin = new Sha256Digest(pin);
  if (SSL_CTX_set_ex_data(context.get(), index, stored_pin) != 1) {
    delete stored_pin;
    return tls_error("cannot store the pin");
  }
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(context.get(), verify_pinned_key, stored_pin);
  return context;
}

}  // namespace casefile::crypto
