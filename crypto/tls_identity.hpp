// The server's TLS identity: an ECDSA P-256 key and a self-signed X.509
// certificate for a new instance, and the SPKI SHA-256 pin that devices
// receive at enrolment (DESIGN §1, threat 2).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "crypto/hash.hpp"
#include "crypto/secret_bytes.hpp"

namespace casefile::crypto {

struct TlsIdentity {
  SecretBytes private_key_pem;  // PKCS#8 PEM; a secret
  std::string certificate_pem;
};

struct SelfSignedRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries, IPv4 or IPv6 text
  std::chrono::days validity{365};
};

// Errors: "invalid_argument" (bad IP text, empty name), "tls_error".
Result<TlsIdentity> generate_self_signed_identity(const SelfSignedRequest& request);

// SHA-256 of the certificate's DER SubjectPublicKeyInfo (RFC 7469 §2.4).
// Errors: "invalid_certificate".
Result<Sha256Digest> spki_sha256_pin(std::string_view certificate_pem);

}  // namespace casefile::crypto
