// Owning pointers for the OpenSSL objects Petrel creates (keys, contexts,
// certificates), so that every path out of a function frees them.
#ifndef PETREL_COMMON_RPC_OPENSSL_PTR_H_
#define PETREL_COMMON_RPC_OPENSSL_PTR_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace petrel::openssl {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* object) const { Free(object); }
};

using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using KeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;

}  // namespace petrel::openssl

#endif  // PETREL_COMMON_RPC_OPENSSL_PTR_H_
