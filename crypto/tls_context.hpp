// TLS contexts for both ends of the sync protocol (DESIGN §1, threat 2).
//
// The server offers TLS 1.3, and TLS 1.2 with ECDHE + AEAD suites only, for
// old tablets; no compression, no renegotiation; session tickets on, so a
// device that reconnects resumes instead of paying for a full handshake.
// The client trusts exactly one public key: the server's SPKI SHA-256 pin
// that the device received at enrolment. No CA, name or date is consulted,
// so a self-signed certificate is accepted when, and only when, its key
// matches the pin.
//
// Both return a raw OpenSSL context that the caller wraps, e.g. in
// boost::asio::ssl::context(handle.release()), so this module stays free of
// Asio.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "base/result.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

struct ssl_ctx_st;

namespace casefile::crypto {

struct TlsContextDeleter {
  void operator()(ssl_ctx_st* context) const;
};
using TlsContextHandle = std::unique_ptr<ssl_ctx_st, TlsContextDeleter>;

// The TLS 1.2 suites the server accepts, in its order of preference.
inline constexpr std::string_view kTls12CipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";

// A server context from a PEM certificate (optionally followed by its chain)
// and a PEM private key. Errors: "invalid_certificate", "invalid_private_key"
// (unreadable, or not the certificate's key), "tls_error".
Result<TlsContextHandle> make_server_tls_context(std::string_view certificate_pem, ByteView private_key_pem);

// The same, read from files; the key is wiped from memory once loaded.
// Errors: those above and "io_error".
Result<TlsContextHandle> load_server_tls_context(const std::filesystem::path& certificate_file,
                                                 const std::filesystem::path& private_key_file);

// A client context that completes a handshake only with a server whose leaf
// certificate's SPKI SHA-256 equals `pin` (compared with CRYPTO_memcmp).
// Same protocol floor and suites as the server. Errors: "tls_error".
Result<TlsContextHandle> make_pinned_client_tls_context(const Sha256Digest& pin);

}  // namespace casefile::crypto
