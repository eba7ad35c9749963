// Secure-aggregation primitives for federated rounds (Bonawitz et al.,
// "Practical Secure Aggregation for Privacy-Preserving Machine Learning",
// CCS 2017, simplified: pairwise masks only, no self masks).
//
// Every pair of workers agrees a seed through X25519. Each worker encodes its
// update in fixed point (uint64, mod 2^64) and adds, for every other worker,
// +mask or -mask of the pair's seed: the worker whose id sorts first adds, the
// other subtracts, so the masks cancel in the server's mod-2^64 sum and the
// server learns only the sum. When a worker drops after the others masked, the
// server regenerates the survivors' masks with the dropped worker and removes
// them (how it learns those seeds is the protocol's business, not this file's).
#ifndef PETREL_COMMON_FEDERATED_SECURE_AGG_H_
#define PETREL_COMMON_FEDERATED_SECURE_AGG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace petrel::secagg {

// Fixed point: round(value * 2^kFractionBits), two's complement mod 2^64.
// Sums of encodings (mod 2^64) decode to the sum of the values as long as
// the true sum stays within +-2^(63-kFractionBits). Values beyond that range
// saturate at the largest encodable magnitude; NaN encodes as 0.
inline constexpr int kFractionBits = 24;
uint64_t EncodeFixed(double value);
double DecodeFixed(uint64_t encoded);  // read as signed int64 / 2^kFractionBits

// An X25519 key pair (raw 32-byte keys) from OpenSSL (EVP_PKEY_X25519).
struct KeyPair {
  std::string public_key;
  std::string private_key;
};
absl::StatusOr<KeyPair> GenerateKeyPair();

// The seed of the pairwise mask two workers share in one round of one job:
// SHA-256 over a domain label, the X25519 shared secret of (private_key,
// peer_public_key), the job id and the round. Both workers of a pair derive
// the same 32 bytes. INVALID_ARGUMENT for a peer key that is not 32 bytes or
// that OpenSSL refuses (e.g. a low-order point giving an all-zero secret), and
// for a private key that is not 32 bytes.
//
// Hashed: "petrel/secagg/pair-seed/v1" | 0x00 | secret (32 bytes)
//         | uint64 LE length of job_id | job_id | int64 LE round.
// A new round gives new masks: reusing one would let the server subtract two
// uploads and see the difference of two updates.
absl::StatusOr<std::string> PairSeed(const std::string& private_key,
                                     const std::string& peer_public_key,
                                     const std::string& job_id, int64_t round);

// +1 when worker `self` adds the pair's mask, -1 when it subtracts it (the
// worker whose id sorts first adds). self != peer.
int MaskSign(const std::string& self, const std::string& peer);

// The mask stream of one tensor: `stream` numbers the tensor (a table's
// index; kWeightStream for the update's weight). Adds sign * the stream's
// elements [begin, begin + out.size()) to `out`, mod 2^64.
//
// The stream is ChaCha20 (RFC 8439, OpenSSL EVP_chacha20) keyed by the
// 32-byte seed, with the 96-bit nonce = uint32 LE `stream` followed by 8 zero
// bytes, read as little-endian uint64s: element i is keystream bytes
// [8i, 8i+8), i.e. block i/8 (the 32-bit block counter), so any slice can be
// generated on its own and a server can regenerate exactly the slice it holds.
//
// Preconditions (the callers check; a violation is a programmer error and
// aborts the process): seed.size() == 32, sign is +1 or -1, begin >= 0 and
// begin + out.size() <= kMaxStreamElements.
inline constexpr uint32_t kWeightStream = 0xffffffffu;
inline constexpr int64_t kMaxStreamElements = int64_t{8} << 32;  // 2^32 blocks
void ApplyMask(const std::string& seed, uint32_t stream, int64_t begin, int sign,
               absl::Span<uint64_t> out);

}  // namespace petrel::secagg

#endif  // PETREL_COMMON_FEDERATED_SECURE_AGG_H_
