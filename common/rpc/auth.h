// The cluster token: where it comes from, how a call carries it, and the one
// place every service checks it. See docs/security.md.
//
// A call carries "authorization: Bearer TOKEN" (call credentials, so only
// over TLS: gRPC refuses to send them in the clear, and so does Petrel). Every
// gRPC port checks it in gRPC's auth filter, before any handler runs, for
// every service alike (Coordinator, Parameter, reflection); only
// grpc.health.v1.Health is open, for probes that cannot carry a token.
#ifndef PETREL_COMMON_RPC_AUTH_H_
#define PETREL_COMMON_RPC_AUTH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class AuthMetadataProcessor;
class CallCredentials;
}  // namespace grpc

namespace petrel {

// The environment variable main() reads when no token file is given
// (libraries read no environment: main passes what it holds).
inline constexpr char kClusterTokenEnv[] = "PETREL_CLUSTER_TOKEN";
// Shortest token accepted: a guessable token protects nothing.
inline constexpr int kMinTokenLength = 16;

// The token from `token_file` (surrounding whitespace dropped), else
// `environment_token` (what main() read from $PETREL_CLUSTER_TOKEN; empty:
// unset), else "" (no token). A token that is too short or not printable
// ASCII is an error; the error never contains the token.
absl::StatusOr<std::string> ReadClusterToken(const std::string& token_file,
                                             absl::string_view environment_token = "");

// 32 random bytes from OpenSSL's CSPRNG, as 64 hex digits.
std::string NewClusterToken();

// Whether `presented` equals `expected`, in time that depends on neither
// (their SHA-256 digests are compared with CRYPTO_memcmp).
bool TokenMatches(absl::string_view presented, absl::string_view expected);

// Adds the token to every call of a channel.
std::shared_ptr<grpc::CallCredentials> TokenCallCredentials(const std::string& token);

// Refuses, with UNAUTHENTICATED, every call without `token`, except
// grpc.health.v1.Health. Runs inline in gRPC's auth filter (it never blocks).
std::shared_ptr<grpc::AuthMetadataProcessor> NewTokenChecker(const std::string& token);

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_AUTH_H_
