// A throwaway or long-lived certificate authority for one cluster, made with
// libcrypto (no openssl binary needed): what `petrel certs init` and `petrel
// local` write into a --tls_dir. See docs/security.md.
#ifndef PETREL_COMMON_RPC_TLS_CERTS_H_
#define PETREL_COMMON_RPC_TLS_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace petrel {

// The roles that get a certificate, each ROLE.pem and ROLE-key.pem.
inline constexpr const char* kTlsRoles[] = {"coordinator", "server", "worker", "client"};

// Creates `dir` (mode 0700) if needed and writes into it a new CA (ca.pem,
// and ca-key.pem, which signs more certificates and belongs on no node) and,
// per role, a certificate signed by it (ECDSA P-256, SHA-256; usable as TLS
// server and client) with subject alternative names `hosts` plus localhost,
// 127.0.0.1 and ::1. Keys are 0600. Refuses a `dir` that already holds
// ca.pem, and a host that is not a plain DNS name or IP address.
absl::Status WriteClusterCertificates(const std::string& dir,
                                      const std::vector<std::string>& hosts);

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_TLS_CERTS_H_
