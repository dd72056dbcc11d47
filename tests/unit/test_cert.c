/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cert: the desk page's self-signed certificate, parsed back with OpenSSL (its
 * names, validity, extensions, key and signature), and the checks an installer's files go
 * through: a key that is not the certificate's, an expired or not yet valid certificate, an
 * encrypted key, a CA that does not verify a client certificate, text that is no certificate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"

/* 2026-11-23 00:00:00 UTC: the tests run on a clock of their own. */
#define NOW   INT64_C(1795392000)
#define DAY_S INT64_C(86400)

struct pair {
        char *cert, *key;
};

static struct pair make(const char *const *names, size_t n)
{
        struct pair p = {NULL, NULL};
        char why[256] = "";

        assert_int_equal(cert_make_self_signed(names, n, NOW, &p.cert, &p.key, why, sizeof(why)),
                         0);
        assert_non_null(p.cert);
        assert_non_null(p.key);
        return p;
}

static void pair_free(struct pair *p)
{
        free(p->cert);
        free(p->key);
}

static X509 *parse_cert(const char *pem)
{
        BIO *bio = BIO_new_mem_buf(pem, -1);
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

        BIO_free(bio);
        assert_non_null(x);
        return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
        BIO *bio = BIO_new_mem_buf(pem, -1);
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

        BIO_free(bio);
        assert_non_null(key);
        return key;
}

static int64_t seconds(const ASN1_TIME *t)
{
        struct tm tm;

        assert_true(ASN1_TIME_to_tm(t, &tm));
        return (int64_t)timegm(&tm);
}

static void test_self_signed_certificate_parses_back_as_asked(void **state)
{
        static const char *const names[] = {"gw-a12.local", "192.0.2.7", "2001:db8::7"};
        struct pair p = make(names, 3);
        X509 *x = parse_cert(p.cert);
        EVP_PKEY *key = parse_key(p.key), *pub = X509_get0_pubkey(x);
        GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
        const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
        unsigned char v4[4], v6[16];
        char cn[128] = "";
        BIGNUM *bn;

        (void)state;
        /* The names, as the desk's browsers read them. */
        assert_non_null(san);
        assert_int_equal(sk_GENERAL_NAME_num(san), 3);
        assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, GEN_DNS);
        assert_string_equal(ASN1_STRING_get0_data(sk_GENERAL_NAME_value(san, 0)->d.dNSName),
                            "gw-a12.local");
        assert_int_equal(inet_pton(AF_INET, "192.0.2.7", v4), 1);
        assert_int_equal(sk_GENERAL_NAME_value(san, 1)->type, GEN_IPADD);
        assert_int_equal(ASN1_STRING_length(sk_GENERAL_NAME_value(san, 1)->d.iPAddress), 4);
        assert_memory_equal(ASN1_STRING_get0_data(sk_GENERAL_NAME_value(san, 1)->d.iPAddress), v4,
                            4);
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", v6), 1);
        assert_memory_equal(ASN1_STRING_get0_data(sk_GENERAL_NAME_value(san, 2)->d.iPAddress), v6,
                            16);
        assert_int_equal(
                X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)),
                (int)strlen("gw-a12.local"));
        assert_string_equal(cn, "gw-a12.local");

        /* 825 days from an hour before now. */
        assert_int_equal(seconds(X509_get0_notBefore(x)), NOW - 3600);
        assert_int_equal(seconds(X509_get0_notAfter(x)) - seconds(X509_get0_notBefore(x)),
                         CERT_SELF_SIGNED_DAYS * DAY_S);

        /* A server certificate, no CA, self-signed with SHA-256 by its own P-256 key. */
        assert_non_null(bc);
        assert_false(bc->ca);
        assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
        assert_false(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
        assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
        assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
        assert_true(EVP_PKEY_is_a(pub, "EC"));
        assert_int_equal(EVP_PKEY_get_bits(pub), 256);
        assert_int_equal(X509_verify(x, pub), 1);
        assert_int_equal(X509_check_private_key(x, key), 1);
        assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

        /* A positive serial of at most 128 bits. */
        bn = ASN1_INTEGER_to_BN(serial, NULL);
        assert_non_null(bn);
        assert_false(BN_is_negative(bn));
        assert_true(BN_num_bits(bn) <= 128 && BN_num_bits(bn) > 64);
        assert_string_equal(p.key + strlen(p.key) - strlen("-----END PRIVATE KEY-----\n"),
                            "-----END PRIVATE KEY-----\n");

        BN_free(bn);
        BASIC_CONSTRAINTS_free(bc);
        GENERAL_NAMES_free(san);
        EVP_PKEY_free(key);
        X509_free(x);
        pair_free(&p);
}

static void test_two_certificates_have_different_serials_and_keys(void **state)
{
        static const char *const names[] = {"gw"};
        struct pair a = make(names, 1), b = make(names, 1);
        X509 *xa = parse_cert(a.cert), *xb = parse_cert(b.cert);

        (void)state;
        assert_int_not_equal(
                ASN1_INTEGER_cmp(X509_get0_serialNumber(xa), X509_get0_serialNumber(xb)), 0);
        assert_string_not_equal(a.key, b.key);
        X509_free(xa);
        X509_free(xb);
        pair_free(&a);
        pair_free(&b);
}

static void test_pair_is_checked_for_key_and_validity(void **state)
{
        static const char *const names[] = {"gw.local", "192.0.2.7"};
        struct pair a = make(names, 2), b = make(names, 2);
        char why[512];

        (void)state;
        assert_int_equal(cert_check_pair(a.cert, strlen(a.cert), a.key, strlen(a.key), NOW, why,
                                         sizeof(why)),
                         0);
        assert_int_equal(cert_check_pair(a.cert, strlen(a.cert), b.key, strlen(b.key), NOW, why,
                                         sizeof(why)),
                         -EINVAL);
        assert_string_equal(why, "the key does not match the certificate CN=gw.local");
        assert_int_equal(cert_check_pair(a.cert, strlen(a.cert), a.key, strlen(a.key),
                                         NOW + 826 * DAY_S, why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "the certificate CN=gw.local expired on "));
        assert_int_equal(cert_check_pair(a.cert, strlen(a.cert), a.key, strlen(a.key),
                                         NOW - 2 * 3600, why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "is not valid before "));
        /* A key where the certificate should be, and the other way round. */
        assert_int_equal(
                cert_check_pair(a.key, strlen(a.key), a.key, strlen(a.key), NOW, why, sizeof(why)),
                -EINVAL);
        assert_string_equal(why, "it holds no PEM certificate");
        assert_int_equal(cert_check_pair(a.cert, strlen(a.cert), a.cert, strlen(a.cert), NOW, why,
                                         sizeof(why)),
                         -EINVAL);
        assert_string_equal(why, "it holds no PEM private key");
        pair_free(&a);
        pair_free(&b);
}

static void test_encrypted_key_is_refused_without_asking(void **state)
{
        static const char *const names[] = {"gw"};
        struct pair p = make(names, 1);
        EVP_PKEY *key = parse_key(p.key);
        BIO *bio = BIO_new(BIO_s_mem());
        char *data = NULL, *encrypted, why[512];
        long n;

        (void)state;
        assert_true(PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), NULL, 0, NULL,
                                                  (void *)(uintptr_t) "pass phrase"));
        n = BIO_get_mem_data(bio, &data);
        encrypted = strndup(data, (size_t)n);
        assert_int_equal(cert_check_pair(p.cert, strlen(p.cert), encrypted, strlen(encrypted), NOW,
                                         why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "encrypted"));
        free(encrypted);
        BIO_free(bio);
        EVP_PKEY_free(key);
        pair_free(&p);
}

static void test_client_certificate_is_checked_against_the_ca(void **state)
{
        static const char *const names[] = {"gw"};
        struct pair a = make(names, 1), b = make(names, 1);
        char why[512];

        (void)state;
        /* Another CA: no issuer found. */
        assert_int_equal(cert_check_client(b.cert, strlen(b.cert), a.cert, strlen(a.cert), NOW, why,
                                           sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "the CA does not verify the client certificate CN=gw: "));
        /* Its own issuer, but a server certificate is no client certificate. */
        assert_int_equal(cert_check_client(a.cert, strlen(a.cert), a.cert, strlen(a.cert), NOW, why,
                                           sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "purpose"));
        pair_free(&a);
        pair_free(&b);
}

static void test_ca_file_needs_certificates_valid_now(void **state)
{
        static const char *const names[] = {"ca"};
        struct pair p = make(names, 1);
        char why[512];

        (void)state;
        assert_int_equal(cert_check_ca(p.cert, strlen(p.cert), NOW, why, sizeof(why)), 0);
        assert_int_equal(cert_check_ca(p.cert, strlen(p.cert), NOW + 900 * DAY_S, why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "expired on"));
        assert_int_equal(cert_check_ca("hello\n", 6, NOW, why, sizeof(why)), -EINVAL);
        assert_string_equal(why, "it holds no PEM certificate");
        assert_int_equal(cert_check_ca("", 0, NOW, why, sizeof(why)), -EINVAL);
        pair_free(&p);
}

static void test_names_are_compared_as_a_set(void **state)
{
        static const char *const names[] = {"gw.local", "192.0.2.7"};
        static const char *const reordered[] = {"192.0.2.7", "GW.local"};
        static const char *const fewer[] = {"gw.local"};
        static const char *const other[] = {"gw.local", "192.0.2.8"};
        struct pair p = make(names, 2);
        size_t len = strlen(p.cert);

        (void)state;
        assert_int_equal(cert_has_names(p.cert, len, names, 2), 1);
        assert_int_equal(cert_has_names(p.cert, len, reordered, 2), 1);
        assert_int_equal(cert_has_names(p.cert, len, fewer, 1), 0);
        assert_int_equal(cert_has_names(p.cert, len, other, 2), 0);
        assert_int_equal(cert_has_names("x", 1, names, 2), -EINVAL);
        pair_free(&p);
}

static void test_info_gives_the_fingerprint_openssl_gives(void **state)
{
        static const char *const names[] = {"gw.local", "192.0.2.7"};
        struct pair p = make(names, 2);
        X509 *x = parse_cert(p.cert);
        unsigned char md[32];
        unsigned md_len = 0;
        struct cert_info info;
        char why[256], want[CERT_FINGERPRINT_LEN + 1];

        (void)state;
        assert_int_equal(cert_info(p.cert, strlen(p.cert), &info, why, sizeof(why)), 0);
        assert_true(X509_digest(x, EVP_sha256(), md, &md_len));
        for (unsigned i = 0; i < md_len; i++)
                snprintf(want + 3 * i, sizeof(want) - 3 * i, "%02X%s", md[i],
                         i + 1 < md_len ? ":" : "");
        assert_string_equal(info.sha256, want);
        assert_string_equal(info.subject, "CN=gw.local");
        assert_string_equal(info.san, "DNS:gw.local, IP Address:192.0.2.7");
        assert_int_equal(info.not_before, NOW - 3600);
        assert_int_equal(info.not_after, NOW - 3600 + CERT_SELF_SIGNED_DAYS * DAY_S);
        X509_free(x);
        pair_free(&p);
}

static void test_names_that_cannot_be_in_a_certificate_are_refused(void **state)
{
        static const char *const ok[] = {"gw", "gw-a12.example", "192.0.2.7", "::1", "xn--gw-1"};
        static const char *const bad[] = {"",        "-gw",         "gw-",         "gw..local",
                                          "gw,IP:1", "gw local",    "192.0.2.300", "gw_a12",
                                          "*.local", "fe80::1%eth0"};
        char *cert = NULL, *key = NULL, why[256];

        (void)state;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                assert_true(cert_name_ok(ok[i]));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_false(cert_name_ok(bad[i]));
                assert_int_equal(
                        cert_make_self_signed(&bad[i], 1, NOW, &cert, &key, why, sizeof(why)),
                        -EINVAL);
                assert_null(cert);
                assert_null(key);
        }
        assert_int_equal(cert_make_self_signed(ok, 0, NOW, &cert, &key, why, sizeof(why)), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_self_signed_certificate_parses_back_as_asked),
                cmocka_unit_test(test_two_certificates_have_different_serials_and_keys),
                cmocka_unit_test(test_pair_is_checked_for_key_and_validity),
                cmocka_unit_test(test_encrypted_key_is_refused_without_asking),
                cmocka_unit_test(test_client_certificate_is_checked_against_the_ca),
                cmocka_unit_test(test_ca_file_needs_certificates_valid_now),
                cmocka_unit_test(test_names_are_compared_as_a_set),
                cmocka_unit_test(test_info_gives_the_fingerprint_openssl_gives),
                cmocka_unit_test(test_names_that_cannot_be_in_a_certificate_are_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
