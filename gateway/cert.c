/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cert: certificates and TLS keys on OpenSSL 3, checked before an installer's files are put in
 * place, and the desk page's self-signed certificate.
 *
 * As in crypto.c, every path through OpenSSL clears its error queue before it returns. A PEM
 * reader given no pass phrase callback asks on the terminal for an encrypted key; ours refuses
 * at once, since the gateway starts unattended and could never type one.
 */
#include "cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"

#define SERIAL_BYTES 16

/* OpenSSL leaves errors in its per-thread queue, failed tries of a PEM reader included, even
 * on paths that end well; one left there is later taken for the cause of an unrelated failure.
 * Clears the queue and returns @r. */
static int openssl_done(int r)
{
        ERR_clear_error();
        return r;
}

static int no_pass_phrase(char *buf, int size, int rwflag, void *user)
{
        (void)buf;
        (void)size;
        (void)rwflag;
        (void)user;
        return -1;
}

static BIO *pem_bio(const char *pem, size_t len)
{
        return len && len <= INT_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
}

/* Every certificate of @pem, in file order, into a new stack. Returns 0, -EINVAL (why said)
 * for text with no certificate or one that does not parse, or -ENOMEM. */
static int read_certs(const char *pem, size_t len, STACK_OF(X509) * *out, char *why, size_t why_len)
{
        STACK_OF(X509) *certs = sk_X509_new_null();
        BIO *bio = pem_bio(pem, len);
        int r = 0;

        *out = NULL;
        if (!certs || (!bio && len && len <= INT_MAX)) {
                r = -ENOMEM;
                goto out;
        }
        while (bio) {
                X509 *x = PEM_read_bio_X509(bio, NULL, no_pass_phrase, NULL);
                unsigned long e;

                if (x) {
                        if (!sk_X509_push(certs, x)) {
                                X509_free(x);
                                r = -ENOMEM;
                                goto out;
                        }
                        continue;
                }
                e = ERR_peek_last_error();
                /* The end of the text: no further PEM block names a certificate. */
                if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                        break;
                snprintf(why, why_len, "a certificate in it does not parse (%s)",
                         ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "?");
                r = -EINVAL;
                goto out;
        }
        if (sk_X509_num(certs) == 0) {
                snprintf(why, why_len, "it holds no PEM certificate");
                r = -EINVAL;
                goto out;
        }
        *out = certs;
        certs = NULL;
out:
        sk_X509_pop_free(certs, X509_free);
        BIO_free(bio);
        ERR_clear_error();
        return r;
}

static void format_time(const ASN1_TIME *t, char *buf, size_t len)
{
        struct tm tm;

        if (!ASN1_TIME_to_tm(t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
                snprintf(buf, len, "an unreadable date");
}

static int64_t asn1_seconds(const ASN1_TIME *t)
{
        struct tm tm;

        if (!ASN1_TIME_to_tm(t, &tm))
                return 0;
        return (int64_t)timegm(&tm);
}

/* What a memory BIO holds, as a string in @buf of @len bytes, cut if need be. */
static void bio_to_string(BIO *bio, char *buf, size_t len)
{
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        size_t copy = n > 0 ? (size_t)n : 0;

        if (copy >= len)
                copy = len - 1;
        if (copy)
                memcpy(buf, data, copy);
        buf[copy] = '\0';
}

static void subject_line(X509 *x, char *buf, size_t len)
{
        BIO *bio = BIO_new(BIO_s_mem());

        snprintf(buf, len, "?");
        if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
                                      XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) >= 0)
                bio_to_string(bio, buf, len);
        BIO_free(bio);
}

/* Whether @x is valid at @now; says why not, naming it by its subject. */
static int check_validity(X509 *x, int64_t now, char *why, size_t why_len)
{
        time_t t = (time_t)now;
        char subject[256], when[64];

        subject_line(x, subject, sizeof(subject));
        if (X509_cmp_time(X509_get0_notBefore(x), &t) >= 0) {
                format_time(X509_get0_notBefore(x), when, sizeof(when));
                snprintf(why, why_len,
                         "the certificate %s is not valid before %s (is this machine's clock "
                         "right?)",
                         subject, when);
                return -EINVAL;
        }
        if (X509_cmp_time(X509_get0_notAfter(x), &t) <= 0) {
                format_time(X509_get0_notAfter(x), when, sizeof(when));
                snprintf(why, why_len, "the certificate %s expired on %s", subject, when);
                return -EINVAL;
        }
        return 0;
}

int cert_info(const char *pem, size_t len, struct cert_info *info, char *why, size_t why_len)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char *hex = info->sha256;
        STACK_OF(X509) *certs = NULL;
        X509_EXTENSION *ext;
        BIO *bio = NULL;
        X509 *x;
        int r, at;

        memset(info, 0, sizeof(*info));
        r = read_certs(pem, len, &certs, why, why_len);
        if (r < 0)
                return r;
        x = sk_X509_value(certs, 0);
        subject_line(x, info->subject, sizeof(info->subject));
        info->not_before = asn1_seconds(X509_get0_notBefore(x));
        info->not_after = asn1_seconds(X509_get0_notAfter(x));
        if (!X509_digest(x, EVP_sha256(), md, &md_len) || md_len != 32) {
                r = -ENOMEM;
                goto out;
        }
        for (unsigned i = 0; i < md_len; i++)
                hex += snprintf(hex, sizeof(info->sha256) - (size_t)(hex - info->sha256), "%s%02X",
                                i ? ":" : "", md[i]);
        at = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
        ext = at >= 0 ? X509_get_ext(x, at) : NULL;
        if (ext) {
                bio = BIO_new(BIO_s_mem());
                if (!bio || !X509V3_EXT_print(bio, ext, 0, 0)) {
                        r = -ENOMEM;
                        goto out;
                }
                bio_to_string(bio, info->san, sizeof(info->san));
        }
out:
        BIO_free(bio);
        sk_X509_pop_free(certs, X509_free);
        return r < 0 ? openssl_done(r) : 0;
}

int cert_check_ca(const char *pem, size_t len, int64_t now, char *why, size_t why_len)
{
        STACK_OF(X509) *certs = NULL;
        int r = read_certs(pem, len, &certs, why, why_len);

        for (int i = 0; r == 0 && i < sk_X509_num(certs); i++)
                r = check_validity(sk_X509_value(certs, i), now, why, why_len);
        sk_X509_pop_free(certs, X509_free);
        return openssl_done(r);
}

/* The first private key of @pem. Returns 0, -EINVAL (why said) or -ENOMEM. */
static int read_key(const char *pem, size_t len, EVP_PKEY **key, char *why, size_t why_len)
{
        BIO *bio = pem_bio(pem, len);

        *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_pass_phrase, NULL) : NULL;
        BIO_free(bio);
        if (*key)
                return 0;
        if (len && memmem(pem, len, "ENCRYPTED", strlen("ENCRYPTED")))
                snprintf(why, why_len,
                         "the key is encrypted; the gateway starts unattended and needs it "
                         "without a pass phrase");
        else
                snprintf(why, why_len, "it holds no PEM private key");
        return openssl_done(-EINVAL);
}

int cert_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                    int64_t now, char *why, size_t why_len)
{
        STACK_OF(X509) *certs = NULL;
        EVP_PKEY *key = NULL;
        char subject[256];
        int r;

        r = read_certs(cert_pem, cert_len, &certs, why, why_len);
        if (r == 0)
                r = read_key(key_pem, key_len, &key, why, why_len);
        if (r == 0 && X509_check_private_key(sk_X509_value(certs, 0), key) != 1) {
                subject_line(sk_X509_value(certs, 0), subject, sizeof(subject));
                snprintf(why, why_len, "the key does not match the certificate %s", subject);
                r = -EINVAL;
        }
        if (r == 0)
                r = check_validity(sk_X509_value(certs, 0), now, why, why_len);
        EVP_PKEY_free(key);
        sk_X509_pop_free(certs, X509_free);
        return openssl_done(r);
}

int cert_check_client(const char *ca_pem, size_t ca_len, const char *cert_pem, size_t cert_len,
                      int64_t now, char *why, size_t why_len)
{
        STACK_OF(X509) *cas = NULL, *chain = NULL, *untrusted = NULL;
        X509_STORE_CTX *ctx = NULL;
        X509_STORE *store = NULL;
        char subject[256];
        int r;

        r = read_certs(ca_pem, ca_len, &cas, why, why_len);
        if (r == 0)
                r = read_certs(cert_pem, cert_len, &chain, why, why_len);
        if (r < 0)
                goto out;
        store = X509_STORE_new();
        ctx = X509_STORE_CTX_new();
        untrusted = sk_X509_new_null();
        if (!store || !ctx || !untrusted) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < sk_X509_num(cas); i++)
                if (!X509_STORE_add_cert(store, sk_X509_value(cas, i))) {
                        r = -ENOMEM;
                        goto out;
                }
        /* A shallow list: the certificates stay owned by @chain. */
        for (int i = 1; i < sk_X509_num(chain); i++)
                if (!sk_X509_push(untrusted, sk_X509_value(chain, i))) {
                        r = -ENOMEM;
                        goto out;
                }
        if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), untrusted)) {
                r = -ENOMEM;
                goto out;
        }
        X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
        if (X509_verify_cert(ctx) != 1) {
                subject_line(sk_X509_value(chain, 0), subject, sizeof(subject));
                snprintf(why, why_len, "the CA does not verify the client certificate %s: %s",
                         subject, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
                r = -EINVAL;
        }
out:
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        sk_X509_free(untrusted);
        sk_X509_pop_free(chain, X509_free);
        sk_X509_pop_free(cas, X509_free);
        return openssl_done(r);
}

static bool is_address(const char *name, unsigned char bin[16], size_t *len)
{
        if (inet_pton(AF_INET, name, bin) == 1) {
                *len = 4;
                return true;
        }
        if (inet_pton(AF_INET6, name, bin) == 1) {
                *len = 16;
                return true;
        }
        return false;
}

bool cert_name_ok(const char *name)
{
        unsigned char bin[16];
        size_t len = strlen(name), label = 0;
        bool digits_only = true;

        if (is_address(name, bin, &len))
                return true;
        if (len == 0 || len > 253)
                return false;
        for (size_t i = 0; i <= len; i++) {
                char c = name[i];

                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63 || name[i - 1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (label == 0) {
                        if (c == '-')
                                return false;
                        digits_only = true;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-'))
                        return false;
                if (c < '0' || c > '9')
                        digits_only = false;
                label++;
        }
        /* A last label of digits alone would be a mistyped address, not a host name. */
        return !digits_only;
}

/* The subjectAltName in OpenSSL's configuration syntax: "DNS:a,IP:192.0.2.7". The names passed
 * cert_name_ok(), so none holds a ',' that would start another entry; OpenSSL reads what
 * follows "IP:" whole, an IPv6 address's colons included. */
static char *san_config(const char *const *names, size_t n)
{
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; i < n; i++)
                len += strlen(names[i]) + sizeof("DNS:,");
        s = malloc(len);
        if (!s)
                return NULL;
        p = s;
        *p = '\0';
        for (size_t i = 0; i < n; i++) {
                unsigned char bin[16];
                size_t bin_len;

                p += snprintf(p, len - (size_t)(p - s), "%s%s:%s", i ? "," : "",
                              is_address(names[i], bin, &bin_len) ? "IP" : "DNS", names[i]);
        }
        return s;
}

static int add_extension(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
        int ok = ext && X509_add_ext(x, ext, -1);

        X509_EXTENSION_free(ext);
        return ok ? 0 : -EIO;
}

/* A random positive serial of SERIAL_BYTES bytes (RFC 5280 4.1.2.2: at most 20 octets). */
static int set_random_serial(X509 *x)
{
        unsigned char bytes[SERIAL_BYTES];
        BIGNUM *bn;
        int r;

        r = crypto_random(bytes, sizeof(bytes));
        if (r < 0)
                return r;
        bytes[0] &= 0x7f;
        bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
        r = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ? 0 : -ENOMEM;
        BN_free(bn);
        return r;
}

/* @x's PEM (or @key's, PKCS#8) as a new string. */
static char *to_pem(X509 *x, EVP_PKEY *key)
{
        /* A key's text is secret: secure memory is wiped when freed. */
        BIO *bio = BIO_new(key ? BIO_s_secmem() : BIO_s_mem());
        char *data, *s = NULL;
        long n;

        if (!bio)
                return NULL;
        if (key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                : PEM_write_bio_X509(bio, x)) {
                n = BIO_get_mem_data(bio, &data);
                if (n > 0)
                        s = strndup(data, (size_t)n);
        }
        BIO_free(bio);
        return s;
}

static int build_self_signed(X509 *x, EVP_PKEY *key, const char *const *names, size_t n,
                             int64_t now)
{
        static const struct {
                int nid;
                const char *value;
        } fixed[] = {
                {NID_basic_constraints, "critical,CA:FALSE"},
                {NID_key_usage, "critical,digitalSignature"},
                {NID_ext_key_usage, "serverAuth"},
                {NID_subject_key_identifier, "hash"},
        };
        /* CN holds at most 64 characters (RFC 5280, ub-common-name); browsers read the SAN. */
        const char *cn = strlen(names[0]) <= 64 ? names[0] : "firegate";
        time_t t = (time_t)now;
        X509_NAME *subject;
        X509V3_CTX v3;
        char *san;
        int r;

        if (!X509_set_version(x, X509_VERSION_3))
                return -ENOMEM;
        r = set_random_serial(x);
        if (r < 0)
                return r;
        if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &t) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), CERT_SELF_SIGNED_DAYS, -3600, &t))
                return -EIO;
        subject = X509_get_subject_name(x);
        if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                        -1, 0) ||
            !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, key))
                return -ENOMEM;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
                r = add_extension(x, &v3, fixed[i].nid, fixed[i].value);
                if (r < 0)
                        return r;
        }
        san = san_config(names, n);
        if (!san)
                return -ENOMEM;
        r = add_extension(x, &v3, NID_subject_alt_name, san);
        free(san);
        if (r < 0)
                return r;
        return X509_sign(x, key, EVP_sha256()) > 0 ? 0 : -EIO;
}

int cert_make_self_signed(const char *const *names, size_t n_names, int64_t now, char **cert_pem,
                          char **key_pem, char *why, size_t why_len)
{
        EVP_PKEY *key = NULL;
        X509 *x = NULL;
        int r;

        *cert_pem = *key_pem = NULL;
        if (n_names == 0 || n_names > CERT_NAMES_MAX) {
                snprintf(why, why_len, "a certificate needs 1 to %d names", CERT_NAMES_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < n_names; i++)
                if (!cert_name_ok(names[i])) {
                        snprintf(why, why_len,
                                 "'%s' is neither a host name (letters, digits, '-' and '.') nor "
                                 "an IP address",
                                 names[i]);
                        return -EINVAL;
                }
        key = EVP_EC_gen("P-256");
        x = X509_new();
        if (!key || !x) {
                r = -ENOMEM;
                goto out;
        }
        r = build_self_signed(x, key, names, n_names, now);
        if (r < 0)
                goto out;
        *cert_pem = to_pem(x, NULL);
        *key_pem = to_pem(NULL, key);
        if (!*cert_pem || !*key_pem) {
                free(*cert_pem);
                if (*key_pem)
                        explicit_bzero(*key_pem, strlen(*key_pem));
                free(*key_pem);
                *cert_pem = *key_pem = NULL;
                r = -ENOMEM;
        }
out:
        X509_free(x);
        EVP_PKEY_free(key);
        return openssl_done(r);
}

/* Whether general name @g is @name. */
static bool general_name_is(const GENERAL_NAME *g, const char *name)
{
        unsigned char bin[16];
        size_t len;

        if (is_address(name, bin, &len))
                return g->type == GEN_IPADD && (size_t)ASN1_STRING_length(g->d.iPAddress) == len &&
                       memcmp(ASN1_STRING_get0_data(g->d.iPAddress), bin, len) == 0;
        return g->type == GEN_DNS && (size_t)ASN1_STRING_length(g->d.dNSName) == strlen(name) &&
               strncasecmp((const char *)ASN1_STRING_get0_data(g->d.dNSName), name, strlen(name)) ==
                       0;
}

int cert_has_names(const char *pem, size_t len, const char *const *names, size_t n_names)
{
        STACK_OF(X509) *certs = NULL;
        GENERAL_NAMES *san = NULL;
        char why[256];
        int r, found = 1;

        r = read_certs(pem, len, &certs, why, sizeof(why));
        if (r < 0)
                return r;
        san = X509_get_ext_d2i(sk_X509_value(certs, 0), NID_subject_alt_name, NULL, NULL);
        if (!san || (size_t)sk_GENERAL_NAME_num(san) != n_names)
                found = 0;
        for (size_t i = 0; found && i < n_names; i++) {
                found = 0;
                for (int k = 0; !found && k < sk_GENERAL_NAME_num(san); k++)
                        found = general_name_is(sk_GENERAL_NAME_value(san, k), names[i]);
        }
        GENERAL_NAMES_free(san);
        sk_X509_pop_free(certs, X509_free);
        ERR_clear_error();
        return found;
}
