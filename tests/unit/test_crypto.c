/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for crypto: Ed25519 signatures accepted only when every byte of message and
 * signature is as signed, key loading that refuses anything but an Ed25519 PEM key, the demo
 * marker, key ids, strict base64, and the digests against published test vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto.h"

/* A record as the registry authority would sign it; the tests alter one field at a time. */
static const char record[] = "{\"unit\":\"B-1204\",\"building\":\"000000000001\","
                             "\"resident_last4\":\"4821\",\"issued\":\"2026-03-01T08:00:00Z\"}";

static void sign_record(const struct crypto_key *key, uint8_t sig[CRYPTO_ED25519_SIG])
{
        assert_int_equal(crypto_sign(key, record, strlen(record), sig), 0);
}

static struct crypto_key *generate_key(void)
{
        struct crypto_key *key = NULL;

        assert_int_equal(crypto_key_generate(&key), 0);
        assert_non_null(key);
        return key;
}

/* Loads @key's public half as a verifier would, from PEM. */
static struct crypto_key *public_half(const struct crypto_key *key)
{
        struct crypto_key *pub = NULL;
        char *pem = NULL;

        assert_int_equal(crypto_key_to_pem(key, false, &pem), 0);
        assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
        assert_int_equal(crypto_key_load_mem(pem, strlen(pem), &pub), 0);
        free(pem);
        return pub;
}

/* PEM of a freshly generated key of another algorithm ("RSA", "EC"). */
static char *other_algorithm_pem(const char *type, bool private_part)
{
        EVP_PKEY *pkey;
        BIO *bio;
        char *data, *pem;
        long n;

        if (strcmp(type, "RSA") == 0)
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        else
                pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_non_null(pkey);
        bio = BIO_new(BIO_s_mem());
        assert_non_null(bio);
        if (private_part)
                assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
        else
                assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
        n = BIO_get_mem_data(bio, &data);
        assert_true(n > 0);
        pem = strndup(data, (size_t)n);
        assert_non_null(pem);
        BIO_free(bio);
        EVP_PKEY_free(pkey);
        return pem;
}

static void test_signature_made_with_key_verifies_with_its_public_half(void **state)
{
        struct crypto_key *key = generate_key(), *pub = public_half(key);
        uint8_t sig[CRYPTO_ED25519_SIG];

        (void)state;
        sign_record(key, sig);
        assert_int_equal(crypto_verify(pub, record, strlen(record), sig, sizeof(sig)), 0);
        assert_int_equal(crypto_verify(key, record, strlen(record), sig, sizeof(sig)), 0);
        assert_int_equal(ERR_peek_error(), 0);
        crypto_key_free(pub);
        crypto_key_free(key);
}

static void test_empty_message_signs_and_verifies(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG];

        (void)state;
        assert_int_equal(crypto_sign(key, "", 0, sig), 0);
        assert_int_equal(crypto_verify(key, "", 0, sig, sizeof(sig)), 0);
        assert_int_equal(crypto_verify(key, "x", 1, sig, sizeof(sig)), -EBADMSG);
        crypto_key_free(key);
}

static void test_verify_refuses_record_with_one_field_changed(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG];
        char altered[sizeof(record)];
        char *unit;

        (void)state;
        sign_record(key, sig);
        memcpy(altered, record, sizeof(record));
        unit = strstr(altered, "B-1204");
        assert_non_null(unit);
        unit[5] = '5';
        assert_int_equal(crypto_verify(key, altered, strlen(altered), sig, sizeof(sig)), -EBADMSG);
        assert_int_equal(ERR_peek_error(), 0);
        crypto_key_free(key);
}

static void test_verify_refuses_message_with_any_single_bit_flipped(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG];
        char altered[sizeof(record)];
        size_t len = strlen(record);

        (void)state;
        sign_record(key, sig);
        for (size_t i = 0; i < len; i++) {
                memcpy(altered, record, sizeof(record));
                altered[i] ^= 0x01;
                assert_int_equal(crypto_verify(key, altered, len, sig, sizeof(sig)), -EBADMSG);
        }
        crypto_key_free(key);
}

static void test_verify_refuses_truncated_or_extended_message(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG];
        char longer[sizeof(record) + 1];

        (void)state;
        sign_record(key, sig);
        assert_int_equal(crypto_verify(key, record, strlen(record) - 1, sig, sizeof(sig)),
                         -EBADMSG);
        memcpy(longer, record, sizeof(record));
        longer[sizeof(record) - 1] = ' ';
        longer[sizeof(record)] = '\0';
        assert_int_equal(crypto_verify(key, longer, strlen(longer), sig, sizeof(sig)), -EBADMSG);
        crypto_key_free(key);
}

static void test_verify_refuses_signature_with_any_byte_changed(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG], bad[CRYPTO_ED25519_SIG];

        (void)state;
        sign_record(key, sig);
        for (size_t i = 0; i < sizeof(sig); i++) {
                memcpy(bad, sig, sizeof(sig));
                bad[i] ^= 0x80;
                assert_int_equal(crypto_verify(key, record, strlen(record), bad, sizeof(bad)),
                                 -EBADMSG);
        }
        assert_int_equal(ERR_peek_error(), 0);
        crypto_key_free(key);
}

static void test_verify_refuses_signature_from_another_key(void **state)
{
        struct crypto_key *signer = generate_key(), *other = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG];

        (void)state;
        sign_record(signer, sig);
        assert_int_equal(crypto_verify(other, record, strlen(record), sig, sizeof(sig)), -EBADMSG);
        crypto_key_free(other);
        crypto_key_free(signer);
}

static void test_verify_refuses_missing_signature(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG];

        (void)state;
        sign_record(key, sig);
        assert_int_equal(crypto_verify(key, record, strlen(record), NULL, 0), -EBADMSG);
        assert_int_equal(crypto_verify(key, record, strlen(record), sig, 0), -EBADMSG);
        crypto_key_free(key);
}

static void test_verify_refuses_truncated_signature_of_63_bytes(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG];

        (void)state;
        sign_record(key, sig);
        assert_int_equal(crypto_verify(key, record, strlen(record), sig, 63), -EBADMSG);
        /* The last 63 bytes as well: neither end may be dropped. */
        assert_int_equal(crypto_verify(key, record, strlen(record), sig + 1, 63), -EBADMSG);
        crypto_key_free(key);
}

static void test_verify_refuses_valid_signature_with_a_65th_byte(void **state)
{
        struct crypto_key *key = generate_key();
        uint8_t sig[CRYPTO_ED25519_SIG + 1];

        (void)state;
        sign_record(key, sig);
        sig[CRYPTO_ED25519_SIG] = 0;
        assert_int_equal(crypto_verify(key, record, strlen(record), sig, CRYPTO_ED25519_SIG), 0);
        assert_int_equal(crypto_verify(key, record, strlen(record), sig, sizeof(sig)), -EBADMSG);
        crypto_key_free(key);
}

static void test_sign_without_private_part_is_refused_with_enokey(void **state)
{
        struct crypto_key *key = generate_key(), *pub = public_half(key);
        uint8_t sig[CRYPTO_ED25519_SIG];

        (void)state;
        assert_true(crypto_key_has_private(key));
        assert_false(crypto_key_has_private(pub));
        assert_int_equal(crypto_sign(pub, record, strlen(record), sig), -ENOKEY);
        crypto_key_free(pub);
        crypto_key_free(key);
}

static void test_private_pem_round_trip_keeps_key_and_signing_ability(void **state)
{
        struct crypto_key *key = generate_key(), *loaded = NULL;
        uint8_t sig[CRYPTO_ED25519_SIG];
        char *pem = NULL;

        (void)state;
        assert_int_equal(crypto_key_to_pem(key, true, &pem), 0);
        assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
        assert_int_equal(crypto_key_load_mem(pem, strlen(pem), &loaded), 0);
        assert_true(crypto_key_has_private(loaded));
        assert_string_equal(crypto_key_id(loaded), crypto_key_id(key));
        assert_int_equal(crypto_sign(loaded, record, strlen(record), sig), 0);
        assert_int_equal(crypto_verify(key, record, strlen(record), sig, sizeof(sig)), 0);
        free(pem);
        crypto_key_free(loaded);
        crypto_key_free(key);
}

static void test_to_pem_of_public_key_asked_for_private_gives_public(void **state)
{
        struct crypto_key *key = generate_key(), *pub = public_half(key);
        char *pem = NULL;

        (void)state;
        assert_int_equal(crypto_key_to_pem(pub, true, &pem), 0);
        assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
        assert_null(strstr(pem, "PRIVATE"));
        free(pem);
        crypto_key_free(pub);
        crypto_key_free(key);
}

static void assert_load_refused(const char *text, size_t len, int expected)
{
        struct crypto_key *key = NULL;

        assert_int_equal(crypto_key_load_mem(text, len, &key), expected);
        assert_null(key);
        /* A refused key must leave no error behind for the next OpenSSL caller to trip on. */
        assert_int_equal(ERR_peek_error(), 0);
}

static void test_load_refuses_text_that_is_not_a_pem_key(void **state)
{
        static const char *const garbage[] = {
                "",
                "hello",
                "-----BEGIN PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\nnot base64 at all!\n-----END PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\nAAAAAAAAAAAAAAAA\n-----END PUBLIC KEY-----\n",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
        };

        (void)state;
        for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
                assert_load_refused(garbage[i], strlen(garbage[i]), -EBADMSG);
        assert_load_refused(NULL, 0, -EBADMSG);
}

static void test_load_refuses_pem_with_one_base64_character_changed(void **state)
{
        struct crypto_key *key = generate_key();
        char *pem = NULL, *body;

        (void)state;
        assert_int_equal(crypto_key_to_pem(key, false, &pem), 0);
        body = strchr(pem, '\n');
        assert_non_null(body);
        /* The first body characters hold the DER header; '!' is outside the alphabet. */
        body[1] = '!';
        assert_load_refused(pem, strlen(pem), -EBADMSG);
        free(pem);
        crypto_key_free(key);
}

static void test_load_refuses_rsa_and_ec_keys_with_eprotonosupport(void **state)
{
        static const char *const types[] = {"RSA", "EC"};

        (void)state;
        for (size_t i = 0; i < 2; i++) {
                for (int private_part = 0; private_part <= 1; private_part++) {
                        char *pem = other_algorithm_pem(types[i], private_part);

                        assert_load_refused(pem, strlen(pem), -EPROTONOSUPPORT);
                        free(pem);
                }
        }
}

static void test_load_refuses_traditional_rsa_pem_with_eprotonosupport(void **state)
{
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        BIO *bio = BIO_new(BIO_s_mem());
        char *data;
        long n;

        (void)state;
        assert_non_null(pkey);
        assert_non_null(bio);
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL),
                         1);
        n = BIO_get_mem_data(bio, &data);
        assert_non_null(memmem(data, (size_t)n, "RSA PRIVATE KEY", 15));
        assert_load_refused(data, (size_t)n, -EPROTONOSUPPORT);
        BIO_free(bio);
        EVP_PKEY_free(pkey);
}

static char *with_prefix(const char *prefix, const char *pem, const char *suffix)
{
        size_t n = strlen(prefix) + strlen(pem) + strlen(suffix) + 1;
        char *text = malloc(n);

        assert_non_null(text);
        assert_int_equal(snprintf(text, n, "%s%s%s", prefix, pem, suffix), (int)n - 1);
        return text;
}

static void test_load_detects_demo_marker_only_before_the_pem_block(void **state)
{
        struct crypto_key *key = generate_key(), *loaded = NULL;
        char *pem = NULL, *text;

        (void)state;
        assert_int_equal(crypto_key_to_pem(key, true, &pem), 0);
        assert_false(crypto_key_is_demo(key));

        text = with_prefix("# " CRYPTO_DEMO_MARKER ": for trying firegate out, never deploy\n", pem,
                           "");
        assert_int_equal(crypto_key_load_mem(text, strlen(text), &loaded), 0);
        assert_true(crypto_key_is_demo(loaded));
        crypto_key_free(loaded);
        free(text);

        text = with_prefix("# production key of the registry\n", pem, "");
        assert_int_equal(crypto_key_load_mem(text, strlen(text), &loaded), 0);
        assert_false(crypto_key_is_demo(loaded));
        crypto_key_free(loaded);
        free(text);

        text = with_prefix("", pem, "# " CRYPTO_DEMO_MARKER "\n");
        assert_int_equal(crypto_key_load_mem(text, strlen(text), &loaded), 0);
        assert_false(crypto_key_is_demo(loaded));
        crypto_key_free(loaded);
        free(text);

        free(pem);
        crypto_key_free(key);
}

static void test_key_id_is_16_lowercase_hex_of_sha256_of_raw_public_key(void **state)
{
        struct crypto_key *key = generate_key(), *pub = public_half(key), *other = generate_key();
        uint8_t raw[CRYPTO_ED25519_PUB], digest[CRYPTO_SHA256_LEN];
        char expected[CRYPTO_KEY_ID_LEN + 1];
        EVP_PKEY *pkey;
        size_t raw_len = sizeof(raw);
        char *pem = NULL;
        const char *id = crypto_key_id(key);
        BIO *bio;

        (void)state;
        assert_int_equal(strlen(id), CRYPTO_KEY_ID_LEN);
        assert_int_equal(strspn(id, "0123456789abcdef"), CRYPTO_KEY_ID_LEN);
        assert_string_equal(crypto_key_id(pub), id);
        assert_string_not_equal(crypto_key_id(other), id);

        /* Recompute the id from the PEM with OpenSSL directly. */
        assert_int_equal(crypto_key_to_pem(key, false, &pem), 0);
        bio = BIO_new_mem_buf(pem, -1);
        assert_non_null(bio);
        pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        assert_non_null(pkey);
        assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len), 1);
        assert_int_equal(raw_len, CRYPTO_ED25519_PUB);
        assert_int_equal(EVP_Digest(raw, raw_len, digest, NULL, EVP_sha256(), NULL), 1);
        for (size_t i = 0; i < CRYPTO_KEY_ID_LEN / 2; i++)
                assert_int_equal(snprintf(expected + 2 * i, 3, "%02x", digest[i]), 2);
        assert_string_equal(id, expected);

        EVP_PKEY_free(pkey);
        BIO_free(bio);
        free(pem);
        crypto_key_free(other);
        crypto_key_free(pub);
        crypto_key_free(key);
}

static void test_load_from_file_reads_key_and_reports_missing_file(void **state)
{
        char dir[] = "/tmp/test_crypto.XXXXXX", path[64];
        struct crypto_key *key = generate_key(), *loaded = NULL;
        char *pem = NULL;
        FILE *f;

        (void)state;
        assert_non_null(mkdtemp(dir));
        assert_true(snprintf(path, sizeof(path), "%s/registry.pem", dir) < (int)sizeof(path));
        assert_int_equal(crypto_key_load(path, &loaded), -ENOENT);
        assert_null(loaded);

        assert_int_equal(crypto_key_to_pem(key, false, &pem), 0);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_true(fprintf(f, "# %s\n%s", CRYPTO_DEMO_MARKER, pem) > 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(crypto_key_load(path, &loaded), 0);
        assert_string_equal(crypto_key_id(loaded), crypto_key_id(key));
        assert_true(crypto_key_is_demo(loaded));
        assert_false(crypto_key_has_private(loaded));

        crypto_key_free(loaded);
        free(pem);
        crypto_key_free(key);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_key_free_accepts_null(void **state)
{
        (void)state;
        crypto_key_free(NULL);
        assert_int_equal(ERR_peek_error(), 0);
}

static void test_sha256_matches_fips_180_vectors(void **state)
{
        static const struct {
                const char *msg, *hex;
        } vectors[] = {
                {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
                {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        };
        uint8_t digest[CRYPTO_SHA256_LEN];
        char hex[2 * CRYPTO_SHA256_LEN + 1];

        (void)state;
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                crypto_sha256(vectors[i].msg, strlen(vectors[i].msg), digest);
                crypto_hex(digest, sizeof(digest), hex);
                assert_string_equal(hex, vectors[i].hex);
        }
}

static void test_hmac_sha256_matches_rfc_4231_vectors(void **state)
{
        uint8_t key1[20], key6[131], mac[CRYPTO_SHA256_LEN];
        char hex[2 * CRYPTO_SHA256_LEN + 1];
        static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

        (void)state;
        /* Test case 1. */
        memset(key1, 0x0b, sizeof(key1));
        crypto_hmac_sha256(key1, sizeof(key1), "Hi There", 8, mac);
        crypto_hex(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        /* Test case 2: a key shorter than the output. */
        crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
        crypto_hex(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        /* Test case 6: a key longer than the block, hashed first. */
        memset(key6, 0xaa, sizeof(key6));
        crypto_hmac_sha256(key6, sizeof(key6), data6, strlen(data6), mac);
        crypto_hex(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
        assert_int_equal(ERR_peek_error(), 0);
}

static void test_hmac_sha256_with_empty_key_is_the_standard_value(void **state)
{
        uint8_t mac[CRYPTO_SHA256_LEN];
        char hex[2 * CRYPTO_SHA256_LEN + 1];

        (void)state;
        /* HMAC-SHA-256 with an empty key over an empty message, as `openssl mac` gives it. */
        crypto_hmac_sha256("", 0, "", 0, mac);
        crypto_hex(mac, sizeof(mac), hex);
        assert_string_equal(hex,
                            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_base64_encodes_rfc_4648_vectors_and_decodes_them_back(void **state)
{
        static const char *const vectors[][2] = {
                {"", ""},
                {"f", "Zg=="},
                {"fo", "Zm8="},
                {"foo", "Zm9v"},
                {"foob", "Zm9vYg=="},
                {"fooba", "Zm9vYmE="},
                {"foobar", "Zm9vYmFy"},
        };
        char text[16];
        uint8_t bytes[8];

        (void)state;
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                size_t n = strlen(vectors[i][0]);

                assert_int_equal(
                        crypto_base64_encode((const uint8_t *)vectors[i][0], n, text, sizeof(text)),
                        0);
                assert_string_equal(text, vectors[i][1]);
                assert_int_equal(crypto_base64_decode(vectors[i][1], bytes, sizeof(bytes)),
                                 (long)n);
                assert_memory_equal(bytes, vectors[i][0], n);
        }
}

static void test_base64_round_trips_every_byte_value_at_every_length(void **state)
{
        uint8_t data[256], back[256];
        char text[4 * sizeof(data) / 3 + 5];

        (void)state;
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t)(255 - i);
        for (size_t len = 0; len <= sizeof(data); len++) {
                assert_int_equal(crypto_base64_encode(data, len, text, sizeof(text)), 0);
                assert_int_equal(strlen(text), (len + 2) / 3 * 4);
                memset(back, 0, sizeof(back));
                assert_int_equal(crypto_base64_decode(text, back, sizeof(back)), (long)len);
                assert_memory_equal(back, data, len);
        }
}

static void test_base64_decode_refuses_every_non_canonical_form(void **state)
{
        static const char *const refused[] = {
                "Zg",          /* padding missing */
                "Zg=",         /* padding short */
                "Zm9",         /* length not a multiple of 4 */
                "Zm9vY",       /* one character past a quad */
                "Zg===",       /* padding too long */
                "Z===",        /* three padding characters */
                "====",        /* padding only */
                "=Zm9",        /* padding first */
                "Zm=v",        /* padding inside the quad */
                "Zg==Zm9v",    /* padding before the end */
                "Zm9v\n",      /* trailing newline */
                "Zm9v\r\n",    /* CRLF */
                " Zm9v",       /* leading space */
                "Zm9v ",       /* trailing space */
                "Zm 9v",       /* space inside */
                "Zm9\tv",      /* tab inside */
                "Zm9vYmFy\n",  /* a line break as PEM writes it */
                "Zm9-",        /* URL-safe alphabet */
                "Zm9_",        /* URL-safe alphabet */
                "Zm9.",        /* not in any alphabet */
                "Zm9\xc3\xa9", /* non-ASCII */
                "Zh==",        /* non-zero bits after the last byte (one byte) */
                "Zm9=",        /* non-zero bits after the last byte (two bytes) */
        };
        uint8_t out[16];

        (void)state;
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                memset(out, 0x5a, sizeof(out));
                assert_int_equal(crypto_base64_decode(refused[i], out, sizeof(out)), -EINVAL);
                /* A refused text writes nothing. */
                for (size_t j = 0; j < sizeof(out); j++)
                        assert_int_equal(out[j], 0x5a);
        }
        assert_int_equal(crypto_base64_decode(NULL, out, sizeof(out)), -EINVAL);
}

static void test_base64_decode_reports_short_buffer_with_enobufs(void **state)
{
        uint8_t out[6];

        (void)state;
        assert_int_equal(crypto_base64_decode("Zm9vYmFy", out, 5), -ENOBUFS);
        assert_int_equal(crypto_base64_decode("Zm9vYmE=", out, 4), -ENOBUFS);
        assert_int_equal(crypto_base64_decode("Zm9vYmE=", out, 5), 5);
        assert_int_equal(crypto_base64_decode("Zm9vYmFy", out, 6), 6);
        /* A bad text is reported as bad even into a buffer too small. */
        assert_int_equal(crypto_base64_decode("Zm9vYmF!", out, 1), -EINVAL);
}

static void test_base64_encode_reports_short_buffer_with_enobufs(void **state)
{
        const uint8_t data[] = {'f', 'o', 'o', 'b'};
        char text[9];

        (void)state;
        assert_int_equal(crypto_base64_encode(data, 4, text, 8), -ENOBUFS);
        assert_int_equal(crypto_base64_encode(data, 4, text, 9), 0);
        assert_string_equal(text, "Zm9vYg==");
        assert_int_equal(crypto_base64_encode(data, 0, text, 0), -ENOBUFS);
}

static void test_hex_is_lowercase_two_digits_per_byte(void **state)
{
        const uint8_t data[] = {0x00, 0x0f, 0xa0, 0xff, 0x5c};
        char hex[11];

        (void)state;
        crypto_hex(data, sizeof(data), hex);
        assert_string_equal(hex, "000fa0ff5c");
        crypto_hex(data, 0, hex);
        assert_string_equal(hex, "");
}

static void test_unhex_reads_back_exactly_and_refuses_everything_else(void **state)
{
        /* sscanf("%2x") took a sign, a space or a "0x" for a digit: an export from outside
         * could carry hashes that were not hex at all. */
        static const char *const refused[] = {
                "+00fa0ff5c", " 0fa0ff5c0",  "0x0fa0ff5c", "-10fa0ff5c", /* what sscanf took */
                "000fa0ff5",  "000fa0ff5c0", "000fa0ff5g", "",           "000f\n0ff5c"};
        const uint8_t data[] = {0x00, 0x0f, 0xa0, 0xff, 0x5c};
        uint8_t out[5];

        (void)state;
        assert_true(crypto_unhex("000fa0ff5c", out, sizeof(out)));
        assert_memory_equal(out, data, sizeof(data));
        assert_true(crypto_unhex("000FA0FF5C", out, sizeof(out)));
        assert_memory_equal(out, data, sizeof(data));
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
                assert_false(crypto_unhex(refused[i], out, sizeof(out)));
        assert_false(crypto_unhex(NULL, out, sizeof(out)));
}

static void test_random_fills_buffer_with_fresh_bytes_each_call(void **state)
{
        uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
        static uint8_t big[1 << 20];

        (void)state;
        assert_int_equal(crypto_random(a, sizeof(a)), 0);
        assert_int_equal(crypto_random(b, sizeof(b)), 0);
        assert_memory_not_equal(a, zero, sizeof(a));
        assert_memory_not_equal(a, b, sizeof(a));
        assert_int_equal(crypto_random(a, 0), 0);
        /* A request larger than one getrandom(2) call may return is still filled to the end. */
        assert_int_equal(crypto_random(big, sizeof(big)), 0);
        assert_memory_not_equal(big + sizeof(big) - sizeof(zero), zero, sizeof(zero));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_signature_made_with_key_verifies_with_its_public_half),
                cmocka_unit_test(test_empty_message_signs_and_verifies),
                cmocka_unit_test(test_verify_refuses_record_with_one_field_changed),
                cmocka_unit_test(test_verify_refuses_message_with_any_single_bit_flipped),
                cmocka_unit_test(test_verify_refuses_truncated_or_extended_message),
                cmocka_unit_test(test_verify_refuses_signature_with_any_byte_changed),
                cmocka_unit_test(test_verify_refuses_signature_from_another_key),
                cmocka_unit_test(test_verify_refuses_missing_signature),
                cmocka_unit_test(test_verify_refuses_truncated_signature_of_63_bytes),
                cmocka_unit_test(test_verify_refuses_valid_signature_with_a_65th_byte),
                cmocka_unit_test(test_sign_without_private_part_is_refused_with_enokey),
                cmocka_unit_test(test_private_pem_round_trip_keeps_key_and_signing_ability),
                cmocka_unit_test(test_to_pem_of_public_key_asked_for_private_gives_public),
                cmocka_unit_test(test_load_refuses_text_that_is_not_a_pem_key),
                cmocka_unit_test(test_load_refuses_pem_with_one_base64_character_changed),
                cmocka_unit_test(test_load_refuses_rsa_and_ec_keys_with_eprotonosupport),
                cmocka_unit_test(test_load_refuses_traditional_rsa_pem_with_eprotonosupport),
                cmocka_unit_test(test_load_detects_demo_marker_only_before_the_pem_block),
                cmocka_unit_test(test_key_id_is_16_lowercase_hex_of_sha256_of_raw_public_key),
                cmocka_unit_test(test_load_from_file_reads_key_and_reports_missing_file),
                cmocka_unit_test(test_key_free_accepts_null),
                cmocka_unit_test(test_sha256_matches_fips_180_vectors),
                cmocka_unit_test(test_hmac_sha256_matches_rfc_4231_vectors),
                cmocka_unit_test(test_hmac_sha256_with_empty_key_is_the_standard_value),
                cmocka_unit_test(test_base64_encodes_rfc_4648_vectors_and_decodes_them_back),
                cmocka_unit_test(test_base64_round_trips_every_byte_value_at_every_length),
                cmocka_unit_test(test_base64_decode_refuses_every_non_canonical_form),
                cmocka_unit_test(test_base64_decode_reports_short_buffer_with_enobufs),
                cmocka_unit_test(test_base64_encode_reports_short_buffer_with_enobufs),
                cmocka_unit_test(test_hex_is_lowercase_two_digits_per_byte),
                cmocka_unit_test(test_unhex_reads_back_exactly_and_refuses_everything_else),
                cmocka_unit_test(test_random_fills_buffer_with_fresh_bytes_each_call),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
