#include "crypto/tls_identity.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>

namespace casefile::crypto {
namespace {

struct OpenSslFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* certificate) const { X509_free(certificate); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
  void operator()(ASN1_INTEGER* integer) const { ASN1_INTEGER_free(integer); }
  void operator()(BIGNUM* number) const { BN_free(number); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

Error tls_error(std::string what) { return make_error("tls_error", std::move(what)); }

// Parses IPv4 or IPv6 text into its network-order bytes.
bool parse_ip_address(const std::string& text, std::vector<unsigned char>& out) {
  std::array<unsigned char, 16> buffer{};
  if (inet_pton(AF_INET, text.c_str(), buffer.data()) == 1) {
    out.assign(buffer.begin(), buffer.begin() + 4);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1) {
    out.assign(buffer.begin(), buffer.end());
    return true;
  }
  return false;
}

Result<OpenSslPtr<GENERAL_NAMES>> subject_alt_names(const SelfSignedRequest& request) {
  OpenSslPtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  if (!names) return tls_error("out of memory");
  for (const auto& dns : request.dns_names) {
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    if (name == nullptr || value == nullptr ||
        ASN1_STRING_set(value, dns.data(), static_cast<int>(dns.size())) != 1) {
      GENERAL_NAME_free(name);
      ASN1_IA5STRING_free(value);
      return tls_error("cannot encode DNS name");
    }
    GENERAL_NAME_set0_value(name, GEN_DNS, value);
    sk_GENERAL_NAME_push(names.get(), name);
  }
  for (const auto& ip : request.ip_addresses) {
    std::vector<unsigned char> address;
    if (!parse_ip_address(ip, address)) return make_error("invalid_argument", "not an IP address: " + ip);
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    if (name == nullptr || value == nullptr ||
        ASN1_OCTET_STRING_set(value, address.data(), static_cast<int>(address.size())) != 1) {
      GENERAL_NAME_free(name);
      ASN1_OCTET_STRING_free(value);
      return tls_error("cannot encode IP address");
    }
    GENERAL_NAME_set0_value(name, GEN_IPADD, value);
    sk_GENERAL_NAME_push(names.get(), name);
  }
  return names;
}

Status set_random_serial(X509* certificate) {
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) return tls_error("random failed");
  serial[0] &= 0x7f;  // a positive INTEGER (RFC 5280 §4.1.2.2)
  OpenSslPtr<BIGNUM> number(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!number || BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)) == nullptr) {
    return tls_error("cannot set serial number");
  }
  return ok_status();
}

Status add_extension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) return tls_error("cannot build certificate extension");
  const int added = X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
  return added == 1 ? ok_status() : Status(tls_error("cannot add certificate extension"));
}

}  // namespace

Result<TlsIdentity> generate_self_signed_identity(const SelfSignedRequest& request) {
  if (request.common_name.empty()) return make_error("invalid_argument", "common name is empty");
  auto alt_names = subject_alt_names(request);
  if (!alt_names.ok()) return std::move(alt_names).error();

  OpenSslPtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return tls_error("cannot generate P-256 key");

  OpenSslPtr<X509> certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), 2) != 1)
    return tls_error("cannot create certificate");
  CASEFILE_RETURN_IF_ERROR(set_random_serial(certificate.get()));
  const long validity_seconds = static_cast<long>(std::chrono::seconds(request.validity).count());
  if (X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), validity_seconds) == nullptr) {
    return tls_error("cannot set validity");
  }
  X509_NAME* name = X509_get_subject_name(certificate.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(certificate.get(), name) != 1 ||
      X509_set_pubkey(certificate.get(), key.get()) != 1) {
    return tls_error("cannot set names or key");
  }
  if (X509_add1_ext_i2d(certificate.get(), NID_subject_alt_name, alt_names->get(), 0, X509V3_ADD_DEFAULT) !=
      1) {
    return tls_error("cannot add subjectAltName");
  }
  CASEFILE_RETURN_IF_ERROR(add_extension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE"));
  CASEFILE_RETURN_IF_ERROR(add_extension(certificate.get(), NID_key_usage, "critical,digitalSignature"));
  CASEFILE_RETURN_IF_ERROR(add_extension(certificate.get(), NID_ext_key_usage, "serverAuth"));
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) return tls_error("cannot sign certificate");

  OpenSslPtr<BIO> key_bio(BIO_new(BIO_s_secmem()));
  OpenSslPtr<BIO> certificate_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !certificate_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(certificate_bio.get(), certificate.get()) != 1) {
    return tls_error("cannot encode PEM");
  }
  char* key_data = nullptr;
  const long key_size = BIO_get_mem_data(key_bio.get(), &key_data);
  char* certificate_data = nullptr;
  const long certificate_size = BIO_get_mem_data(certificate_bio.get(), &certificate_data);

  TlsIdentity identity;
  identity.private_key_pem = SecretBytes(
      ByteView(reinterpret_cast<const std::uint8_t*>(key_data), static_cast<std::size_t>(key_size)));
  identity.certificate_pem.assign(certificate_data, static_cast<std::size_t>(certificate_size));
  return identity;
}

Result<Sha256Digest> spki_sha256_pin(std::string_view certificate_pem) {
  OpenSslPtr<BIO> bio(BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
  if (!bio) return tls_error("out of memory");
  OpenSslPtr<X509> certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return make_error("invalid_certificate", "not a PEM X.509 certificate");
  unsigned char* der = nullptr;
  const int der_size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate.get()), &der);
  if (der_size <= 0) return make_error("invalid_certificate", "cannot encode the public key");
  const Sha256Digest pin = sha256(ByteView(der, static_cast<std::size_t>(der_size)));
  OPENSSL_free(der);
  return pin;
}

}  // namespace casefile::crypto
