// Owning handles for OpenSSL objects (STYLE habit 5): each frees its object
// with the matching *_free function, so no error path can leak one.
#pragma once

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>

namespace casefile::crypto::internal {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* pointer) const { Free(pointer); }
};

template <typename T, void (*Free)(T*)>
using OpenSslHandle = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

using CipherContext = OpenSslHandle<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using DigestContext = OpenSslHandle<EVP_MD_CTX, EVP_MD_CTX_free>;
using MacContext = OpenSslHandle<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using KdfContext = OpenSslHandle<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using PkeyContext = OpenSslHandle<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using Pkey = OpenSslHandle<EVP_PKEY, EVP_PKEY_free>;

// Fetched algorithm objects, fetched once per process: fetching is the
// costly part of an OpenSSL 3 call, and the objects are immutable and
// safe to share between threads.
EVP_MAC* hmac_algorithm();
EVP_KDF* hkdf_algorithm();
EVP_KDF* scrypt_algorithm();

}  // namespace casefile::crypto::internal
