#include "common/rpc/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>  // std::abort
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/credentials.h"
#include "spdlog/spdlog.h"

namespace petrel {
namespace {

constexpr char kAuthorizationKey[] = "authorization";
constexpr char kBearerPrefix[] = "Bearer ";
// Probes (Kubernetes, grpc_health_probe) cannot carry a token; health
// reveals only SERVING or not.
constexpr char kOpenServicePrefix[] = "/grpc.health.v1.Health/";

absl::Status CheckTokenText(const std::string& token, const std::string& source) {
  if (static_cast<int>(token.size()) < kMinTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat("the cluster token from ", source, " has ",
                                                   token.size(), " characters; at least ",
                                                   kMinTokenLength, " are needed"));
  }
  for (char c : token) {
    // What an HTTP/2 header value may hold, less spaces (which would be
    // trimmed away on the way).
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          "the cluster token from ", source,
          " holds a character that is not printable ASCII; use e.g. hex digits"));
    }
  }
  return absl::OkStatus();
}

class TokenPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit TokenPlugin(std::string token) : header_(absl::StrCat(kBearerPrefix, token)) {}
  bool IsBlocking() const override { return false; }
  const char* GetType() const override { return "petrel-cluster-token"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<std::string, std::string>* metadata) override {
    metadata->emplace(kAuthorizationKey, header_);
    return grpc::Status::OK;
  }
  // gRPC may print credentials in traces: never the token.
  std::string DebugString() override { return "petrel cluster token (redacted)"; }

 private:
  const std::string header_;
};

class TokenChecker : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenChecker(std::string token) : token_(std::move(token)) {}
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*,
                       OutputMetadata* consumed, OutputMetadata*) override {
    auto path = metadata.find(":path");
    if (path != metadata.end() &&
        absl::StartsWith(absl::string_view(path->second.data(), path->second.size()),
                         kOpenServicePrefix)) {
      return grpc::Status::OK;
    }
    bool ok = false;
    for (auto [it, end] = metadata.equal_range(kAuthorizationKey); it != end; ++it) {
      absl::string_view value(it->second.data(), it->second.size());
      if (!absl::ConsumePrefix(&value, kBearerPrefix)) continue;
      // Every presented value is compared, so timing says nothing of which matched.
      ok |= TokenMatches(value, token_);
    }
    if (ok) {
      // The handlers never see the token.
      consumed->emplace(kAuthorizationKey, "");
      return grpc::Status::OK;
    }
    const int64_t refused = ++refused_;
    // Logged sparingly: a flood of bad calls must not become a flood of lines.
    if ((refused & (refused - 1)) == 0) {
      spdlog::warn("refused {} gRPC call(s) without the cluster token so far (latest: {})",
                   refused, path == metadata.end() ? std::string("?")
                                                   : std::string(path->second.data(),
                                                                 path->second.size()));
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing or wrong cluster token (see --token_file)");
  }

 private:
  const std::string token_;
  std::atomic<int64_t> refused_{0};
};

}  // namespace

absl::StatusOr<std::string> ReadClusterToken(const std::string& token_file,
                                             absl::string_view environment_token) {
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read the token file ", token_file));
    std::stringstream text;
    text << in.rdbuf();
    std::string token(absl::StripAsciiWhitespace(text.str()));
    if (absl::Status valid = CheckTokenText(token, token_file); !valid.ok()) return valid;
    struct stat info;
    if (stat(token_file.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
      spdlog::warn("the token file {} can be read by other users (mode {:o}); chmod 600 it",
                   token_file, info.st_mode & 0777);
    }
    return token;
  }
  if (environment_token.empty()) return std::string();
  std::string token(absl::StripAsciiWhitespace(environment_token));
  if (absl::Status valid = CheckTokenText(token, kClusterTokenEnv); !valid.ok()) return valid;
  return token;
}

std::string NewClusterToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    spdlog::critical("OpenSSL's random generator failed; cannot make a cluster token");
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return token;
}

bool TokenMatches(absl::string_view presented, absl::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

std::shared_ptr<grpc::CallCredentials> TokenCallCredentials(const std::string& token) {
  return grpc::MetadataCredentialsFromPlugin(std::make_unique<TokenPlugin>(token));
}

std::shared_ptr<grpc::AuthMetadataProcessor> NewTokenChecker(const std::string& token) {
  return std::make_shared<TokenChecker>(token);
}

}  // namespace petrel
