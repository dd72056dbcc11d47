/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cert: the X.509 certificates and TLS keys an installer gives the gateway (the platform's CA,
 * the gateway's client certificate for the uplink, the desk page's certificate), checked before
 * they are put in place, and the self-signed certificate `firegate provision` can make for the
 * desk page. On OpenSSL 3.
 *
 * Certificates and keys are PEM text in memory; a chain file is its leaf first. Times are UTC
 * seconds passed in by the caller, so that validity is checked against a time the caller
 * chose. Each check returns 0 or a negative errno, and for input it refuses -EINVAL with one
 * sentence in @why that says which file's what is wrong (the caller names the file).
 */
#ifndef FIREGATE_CERT_H
#define FIREGATE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it: 32 pairs of upper
 * case hex digits joined by ':'. */
#define CERT_FINGERPRINT_LEN (32 * 3 - 1)
/* The most names a self-signed certificate may carry. */
#define CERT_NAMES_MAX 16
/* The validity of a self-signed certificate: 825 days, the longest a browser accepts for a
 * server certificate. */
#define CERT_SELF_SIGNED_DAYS 825

/* What a certificate says about itself, for the installer. */
struct cert_info {
        char subject[256]; /* one line, as "CN=gw-a12, O=..." */
        char san[512];     /* subjectAltName as "DNS:gw-a12.local, IP Address:192.0.2.7"; "" */
        int64_t not_before, not_after;         /* UTC seconds */
        char sha256[CERT_FINGERPRINT_LEN + 1]; /* of the DER encoding */
};

/* Fills @info from the first certificate of @pem. Returns 0, -EINVAL (why said) or -ENOMEM. */
int cert_info(const char *pem, size_t len, struct cert_info *info, char *why, size_t why_len);

/* Checks a CA file: one or more certificates, all of them valid at @now. Returns 0, -EINVAL
 * (why said) or -ENOMEM. */
int cert_check_ca(const char *pem, size_t len, int64_t now, char *why, size_t why_len);

/* Checks a certificate (chain) and its private key: both parse, the key is unencrypted (the
 * gateway starts unattended), the key is the certificate's, and the certificate is valid at
 * @now. Returns 0, -EINVAL (why said) or -ENOMEM. */
int cert_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                    int64_t now, char *why, size_t why_len);

/* Checks that the CA certificates of @ca_pem verify the first certificate of @cert_pem (the
 * certificates after it may be intermediates) as a TLS client certificate at @now. Returns 0,
 * -EINVAL (why said: OpenSSL's reason) or -ENOMEM. */
int cert_check_client(const char *ca_pem, size_t ca_len, const char *cert_pem, size_t cert_len,
                      int64_t now, char *why, size_t why_len);

/* Whether @name can go in a certificate: an IPv4 or IPv6 address, or a host name of letters,
 * digits and '-' in labels of 1 to 63 joined by '.', at most 253 characters. */
bool cert_name_ok(const char *name);

/* Makes an EC P-256 key and a self-signed TLS server certificate for it: subject CN the first
 * name, subjectAltName every name (IP:... for an address, DNS:... otherwise), CA:FALSE,
 * keyUsage digitalSignature, extendedKeyUsage serverAuth, a random 128-bit serial, valid from
 * an hour before @now (a browser's clock may be behind) for CERT_SELF_SIGNED_DAYS, signed with
 * SHA-256. *@cert_pem and *@key_pem (PKCS#8, unencrypted) are new strings the caller frees.
 * Returns 0, -EINVAL for no name, too many or a name cert_name_ok() refuses (why said),
 * -ENOMEM or -EIO. */
int cert_make_self_signed(const char *const *names, size_t n_names, int64_t now, char **cert_pem,
                          char **key_pem, char *why, size_t why_len);

/* Whether the subjectAltName of the first certificate of @pem holds exactly @names (in any
 * order). Returns 1, 0, or a negative errno for a certificate that does not parse. */
int cert_has_names(const char *pem, size_t len, const char *const *names, size_t n_names);

#endif
