#include "common/federated/secure_agg.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/rpc/openssl_ptr.h"

namespace petrel::secagg {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr char kSeedLabel[] = "petrel/secagg/pair-seed/v1";

using openssl::CipherCtx;
using openssl::Key;
using openssl::KeyCtx;
using openssl::MdCtx;

// Precondition failures are programmer errors: say what and stop.
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "petrel::secagg: precondition failed: %s\n", what);
  std::abort();
}

void AppendLe64(uint64_t value, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t LoadLe64(const unsigned char* p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

std::string RawKey(EVP_PKEY* key, bool is_private) {
  std::string raw(kKeyBytes, '\0');
  size_t size = raw.size();
  const int ok = is_private ? EVP_PKEY_get_raw_private_key(
                                  key, reinterpret_cast<unsigned char*>(raw.data()), &size)
                            : EVP_PKEY_get_raw_public_key(
                                  key, reinterpret_cast<unsigned char*>(raw.data()), &size);
  if (ok != 1 || size != kKeyBytes) return "";
  return raw;
}

}  // namespace

uint64_t EncodeFixed(double value) {
  if (std::isnan(value)) return 0;
  // 2^63 is exactly representable; anything at or beyond it saturates.
  constexpr double kLimit = 9223372036854775808.0;
  const double scaled = std::nearbyint(std::ldexp(value, kFractionBits));
  int64_t fixed;
  if (scaled >= kLimit) {
    fixed = INT64_MAX;
  } else if (scaled < -kLimit) {
    fixed = INT64_MIN;
  } else {
    fixed = static_cast<int64_t>(scaled);
  }
  return static_cast<uint64_t>(fixed);
}

double DecodeFixed(uint64_t encoded) {
  return std::ldexp(static_cast<double>(static_cast<int64_t>(encoded)), -kFractionBits);
}

absl::StatusOr<KeyPair> GenerateKeyPair() {
  KeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1) {
    return absl::InternalError("cannot set up X25519 key generation");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError("X25519 key generation failed");
  }
  Key key(raw);
  KeyPair pair{RawKey(key.get(), /*is_private=*/false), RawKey(key.get(), /*is_private=*/true)};
  if (pair.public_key.empty() || pair.private_key.empty()) {
    return absl::InternalError("cannot read the raw X25519 keys");
  }
  return pair;
}

absl::StatusOr<std::string> PairSeed(const std::string& private_key,
                                     const std::string& peer_public_key,
                                     const std::string& job_id, int64_t round) {
  if (private_key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("X25519 private key must be 32 bytes, got ",
                                                   private_key.size()));
  }
  if (peer_public_key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("X25519 peer public key must be 32 bytes, got ",
                                                   peer_public_key.size()));
  }
  Key own(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(private_key.data()),
      private_key.size()));
  if (own == nullptr) return absl::InvalidArgumentError("OpenSSL refuses the X25519 private key");
  Key peer(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(peer_public_key.data()),
      peer_public_key.size()));
  if (peer == nullptr) return absl::InvalidArgumentError("OpenSSL refuses the X25519 peer key");

  KeyCtx ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return absl::InternalError("cannot set up X25519 key agreement");
  }
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return absl::InvalidArgumentError("OpenSSL refuses the X25519 peer key");
  }
  unsigned char secret[kKeyBytes];
  size_t secret_size = sizeof(secret);
  // OpenSSL fails the derivation when the secret is all zeros (a low-order
  // peer point); check again so a library that does not still cannot hand
  // out a predictable seed.
  if (EVP_PKEY_derive(ctx.get(), secret, &secret_size) != 1 || secret_size != kKeyBytes) {
    return absl::InvalidArgumentError("X25519 key agreement with the peer key failed");
  }
  unsigned char any = 0;
  for (unsigned char byte : secret) any |= byte;
  if (any == 0) return absl::InvalidArgumentError("the X25519 peer key is a low-order point");

  std::string message(kSeedLabel, sizeof(kSeedLabel));  // label and its NUL
  message.append(reinterpret_cast<const char*>(secret), sizeof(secret));
  AppendLe64(job_id.size(), &message);
  message.append(job_id);
  AppendLe64(static_cast<uint64_t>(round), &message);
  OPENSSL_cleanse(secret, sizeof(secret));

  std::string seed(kKeyBytes, '\0');
  unsigned int seed_size = 0;
  const int ok = EVP_Digest(message.data(), message.size(),
                            reinterpret_cast<unsigned char*>(seed.data()), &seed_size,
                            EVP_sha256(), nullptr);
  OPENSSL_cleanse(message.data(), message.size());
  if (ok != 1 || seed_size != kKeyBytes) return absl::InternalError("SHA-256 failed");
  return seed;
}

int MaskSign(const std::string& self, const std::string& peer) {
  if (self == peer) Die("MaskSign needs two different workers");
  return self < peer ? +1 : -1;
}

void ApplyMask(const std::string& seed, uint32_t stream, int64_t begin, int sign,
               absl::Span<uint64_t> out) {
  if (seed.size() != kKeyBytes) Die("ApplyMask needs a 32-byte seed");
  if (sign != 1 && sign != -1) Die("ApplyMask needs sign +1 or -1");
  if (begin < 0 || static_cast<uint64_t>(begin) + out.size() >
                       static_cast<uint64_t>(kMaxStreamElements)) {
    Die("ApplyMask slice outside the stream");
  }
  if (out.empty()) return;

  // IV as OpenSSL's EVP_chacha20 takes it: 32-bit LE block counter, then the
  // 96-bit nonce (uint32 LE stream, 8 zero bytes).
  unsigned char iv[16] = {};
  const uint64_t block = static_cast<uint64_t>(begin) / 8;
  for (int i = 0; i < 4; ++i) {
    iv[i] = static_cast<unsigned char>(block >> (8 * i));
    iv[4 + i] = static_cast<unsigned char>(stream >> (8 * i));
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_chacha20(), nullptr,
                         reinterpret_cast<const unsigned char*>(seed.data()), iv) != 1) {
    Die("cannot set up ChaCha20");  // only out of memory
  }

  // The keystream is the encryption of zeros, made a chunk at a time.
  constexpr size_t kChunkElements = 2048;
  static const unsigned char kZeros[kChunkElements * 8] = {};
  unsigned char keystream[kChunkElements * 8];
  int written = 0;
  const int skip = static_cast<int>(begin % 8) * 8;
  if (skip > 0 && EVP_EncryptUpdate(ctx.get(), keystream, &written, kZeros, skip) != 1) {
    Die("ChaCha20 failed");
  }
  const uint64_t factor = sign > 0 ? 1 : ~uint64_t{0};  // * -1 mod 2^64
  for (size_t done = 0; done < out.size();) {
    const size_t n = std::min(kChunkElements, out.size() - done);
    if (EVP_EncryptUpdate(ctx.get(), keystream, &written, kZeros, static_cast<int>(n * 8)) != 1 ||
        written != static_cast<int>(n * 8)) {
      Die("ChaCha20 failed");
    }
    uint64_t* target = out.data() + done;
    for (size_t i = 0; i < n; ++i) target[i] += factor * LoadLe64(keystream + 8 * i);
    done += n;
  }
  OPENSSL_cleanse(keystream, sizeof(keystream));
}

}  // namespace petrel::secagg
