#include "common/rpc/tls_certs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "common/rpc/openssl_ptr.h"

namespace petrel {
namespace {

using openssl::Cert;
using openssl::Key;

constexpr long kDay = 24 * 3600;
constexpr long kCaDays = 3650;
constexpr long kLeafDays = 825;

bool IsIpAddress(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// Only what a DNS name or an IP address holds, so a host cannot smuggle
// another extension into the configuration string.
bool IsPlainHost(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' &&
        c != ':' && c != '*') {
      return false;
    }
  }
  return true;
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (extension == nullptr) {
    return absl::InternalError(absl::StrCat("cannot build the X.509 extension ", OBJ_nid2sn(nid),
                                            " = ", value));
  }
  const int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  return added == 1 ? absl::OkStatus()
                    : absl::InternalError(absl::StrCat("cannot add ", OBJ_nid2sn(nid)));
}

// A certificate for `key` named `common_name`, signed by `issuer` (or by
// itself when `issuer` is null: the CA).
absl::StatusOr<Cert> MakeCertificate(EVP_PKEY* key, const std::string& common_name,
                                     X509* issuer, EVP_PKEY* issuer_key,
                                     const std::string& subject_alt_names) {
  Cert cert(X509_new());
  if (cert == nullptr) return absl::InternalError("X509_new failed");
  X509_set_version(cert.get(), 2);  // v3
  BIGNUM* serial = BN_new();
  BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  // An hour of slack for clocks a little behind.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), (issuer == nullptr ? kCaDays : kLeafDays) * kDay);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Petrel"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  struct Extension {
    int nid;
    std::string value;
  };
  std::vector<Extension> extensions;
  if (issuer == nullptr) {
    extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                  {NID_key_usage, "critical,keyCertSign,cRLSign"},
                  {NID_subject_key_identifier, "hash"}};
  } else {
    extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                  {NID_key_usage, "critical,digitalSignature,keyAgreement"},
                  {NID_ext_key_usage, "serverAuth,clientAuth"},
                  {NID_subject_alt_name, subject_alt_names},
                  {NID_subject_key_identifier, "hash"},
                  {NID_authority_key_identifier, "keyid:always"}};
  }
  for (const Extension& e : extensions) {
    if (absl::Status added = AddExtension(cert.get(), &ctx, e.nid, e.value); !added.ok()) {
      return added;
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return absl::InternalError(absl::StrCat("cannot sign the certificate of ", common_name));
  }
  return cert;
}

// Writes `text` to a new file `path` with `mode`; an existing file is an error.
absl::Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", strerror(errno)));
  }
  fchmod(fd, mode);  // whatever the umask
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("cannot write ", path));
    }
    done += n;
  }
  return close(fd) == 0 ? absl::OkStatus()
                        : absl::UnavailableError(absl::StrCat("cannot write ", path));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, size);
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  std::string text = BioText(bio);
  BIO_free(bio);
  return text;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::string text = BioText(bio);
  BIO_free(bio);
  return text;
}

absl::StatusOr<Key> NewKey() {
  Key key(EVP_EC_gen("P-256"));
  if (key == nullptr) return absl::InternalError("cannot generate an EC P-256 key");
  return key;
}

}  // namespace

absl::Status WriteClusterCertificates(const std::string& dir,
                                      const std::vector<std::string>& hosts) {
  std::vector<std::string> names = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  for (const std::string& host : hosts) {
    if (!IsPlainHost(host)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", host, "\" is not a host name or IP address"));
    }
    const std::string name = absl::StrCat(IsIpAddress(host) ? "IP:" : "DNS:", host);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  chmod(dir.c_str(), 0700);
  if (access((dir + "/ca.pem").c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(dir, " already holds ca.pem; remove it or choose another directory"));
  }

  auto ca_key = NewKey();
  if (!ca_key.ok()) return ca_key.status();
  auto ca = MakeCertificate(ca_key->get(), "Petrel cluster CA", nullptr, ca_key->get(), "");
  if (!ca.ok()) return ca.status();
  const std::string alt_names = absl::StrJoin(names, ",");
  struct Output {
    std::string path, text;
    mode_t mode;
  };
  std::vector<Output> outputs = {{dir + "/ca.pem", CertPem(ca->get()), 0644},
                                 {dir + "/ca-key.pem", KeyPem(ca_key->get()), 0600}};
  for (const char* role : kTlsRoles) {
    auto key = NewKey();
    if (!key.ok()) return key.status();
    auto cert = MakeCertificate(key->get(), absl::StrCat("petrel-", role), ca->get(),
                                ca_key->get(), alt_names);
    if (!cert.ok()) return cert.status();
    outputs.push_back({absl::StrCat(dir, "/", role, ".pem"), CertPem(cert->get()), 0644});
    outputs.push_back({absl::StrCat(dir, "/", role, "-key.pem"), KeyPem(key->get()), 0600});
  }
  for (const Output& output : outputs) {
    if (absl::Status written = WriteNewFile(output.path, output.text, output.mode); !written.ok()) {
      return written;
    }
  }
  return absl::OkStatus();
}

}  // namespace petrel
