/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto: Ed25519, SHA-256, HMAC-SHA-256, base64 and random bytes, on OpenSSL 3 EVP.
 *
 * OpenSSL keeps a per-thread error queue that its functions push onto and never pop; an error
 * left there is later mistaken for the cause of an unrelated failure, so every path that fails
 * inside OpenSSL clears it before returning. Base64 is decoded here rather than with
 * EVP_DecodeBlock(), which skips whitespace, ignores padding and so accepts many spellings of
 * the same bytes: a signed record must have exactly one.
 */
#include "crypto.h"

#include "fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A key file is a few hundred bytes; anything much larger is not one. */
#define CRYPTO_KEY_FILE_MAX (64 * 1024)

struct crypto_key {
        EVP_PKEY *pkey;
        bool has_private;
        bool demo;
        char id[CRYPTO_KEY_ID_LEN + 1];
};

static int openssl_fail(int r)
{
        ERR_clear_error();
        return r;
}

/* Parses one PEM block's DER body. Returns the key, or NULL with *@r set. */
static EVP_PKEY *pem_block_to_pkey(const char *name, const unsigned char *der, long der_len,
                                   bool *private_part, int *r)
{
        const unsigned char *p = der;
        EVP_PKEY *pkey;

        if (strcmp(name, PEM_STRING_PKCS8INF) == 0) {
                pkey = d2i_AutoPrivateKey(NULL, &p, der_len);
                *private_part = true;
        } else {
                pkey = d2i_PUBKEY(NULL, &p, der_len);
                *private_part = false;
        }
        /* Bytes after the DER object mean the block is not exactly one key: refuse them. */
        if (!pkey || p != der + der_len) {
                EVP_PKEY_free(pkey);
                *r = -EBADMSG;
                return NULL;
        }
        return pkey;
}

/* The traditional PEM names of keys of one algorithm, which is never Ed25519. */
static bool pem_name_is_other_algorithm(const char *name)
{
        static const char *const names[] = {
                PEM_STRING_RSA,
                PEM_STRING_RSA_PUBLIC,
                PEM_STRING_ECPRIVATEKEY,
                PEM_STRING_DSA,
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(name, names[i]) == 0)
                        return true;
        return false;
}

/* Reads PEM blocks until the first that holds a key; other blocks (a certificate, EC
 * parameters) are skipped. An encrypted private key counts as none: the gateway starts
 * unattended and has no one to type a pass phrase. */
static int pem_read_key(BIO *bio, EVP_PKEY **pkey, bool *private_part)
{
        for (;;) {
                char *name = NULL, *header = NULL;
                unsigned char *der = NULL;
                long der_len = 0;
                int r = 1;

                if (!PEM_read_bio(bio, &name, &header, &der, &der_len))
                        return -EBADMSG;
                if (strcmp(name, PEM_STRING_PKCS8INF) == 0 ||
                    strcmp(name, PEM_STRING_PUBLIC) == 0) {
                        *pkey = pem_block_to_pkey(name, der, der_len, private_part, &r);
                        if (*pkey)
                                r = 0;
                } else if (pem_name_is_other_algorithm(name)) {
                        r = -EPROTONOSUPPORT;
                }
                OPENSSL_cleanse(der, (size_t)der_len);
                OPENSSL_free(name);
                OPENSSL_free(header);
                OPENSSL_free(der);
                if (r <= 0)
                        return r;
        }
}

static int key_compute_id(struct crypto_key *key)
{
        uint8_t raw[CRYPTO_ED25519_PUB], digest[CRYPTO_SHA256_LEN];
        size_t raw_len = sizeof(raw);

        if (!EVP_PKEY_get_raw_public_key(key->pkey, raw, &raw_len) || raw_len != sizeof(raw))
                return -EIO;
        crypto_sha256(raw, raw_len, digest);
        crypto_hex(digest, CRYPTO_KEY_ID_LEN / 2, key->id);
        return 0;
}

/* Takes ownership of @pkey whatever the outcome. */
static int key_wrap(EVP_PKEY *pkey, bool private_part, bool demo, struct crypto_key **key)
{
        struct crypto_key *k;
        int r;

        if (!EVP_PKEY_is_a(pkey, "ED25519")) {
                EVP_PKEY_free(pkey);
                return -EPROTONOSUPPORT;
        }
        k = calloc(1, sizeof(*k));
        if (!k) {
                EVP_PKEY_free(pkey);
                return -ENOMEM;
        }
        k->pkey = pkey;
        k->has_private = private_part;
        k->demo = demo;
        r = key_compute_id(k);
        if (r < 0) {
                crypto_key_free(k);
                return r;
        }
        *key = k;
        return 0;
}

int crypto_key_load_mem(const char *pem, size_t len, struct crypto_key **key)
{
        const char *begin;
        EVP_PKEY *pkey = NULL;
        bool private_part = false, demo;
        BIO *bio;
        int r;

        if (!pem || len == 0 || len > INT_MAX)
                return -EBADMSG;
        /* The marker counts only in the text before the key, where a comment line sits. */
        begin = memmem(pem, len, "-----BEGIN ", strlen("-----BEGIN "));
        if (!begin)
                return -EBADMSG;
        demo = memmem(pem, (size_t)(begin - pem), CRYPTO_DEMO_MARKER, strlen(CRYPTO_DEMO_MARKER)) !=
               NULL;

        bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio)
                return openssl_fail(-ENOMEM);
        r = pem_read_key(bio, &pkey, &private_part);
        BIO_free(bio);
        if (r < 0)
                return openssl_fail(r);
        r = key_wrap(pkey, private_part, demo, key);
        if (r < 0)
                return openssl_fail(r);
        return 0;
}

int crypto_key_load(const char *path, struct crypto_key **key)
{
        char *text;
        size_t len;
        int r;

        r = fileio_read_all(path, CRYPTO_KEY_FILE_MAX, &text, &len);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        r = crypto_key_load_mem(text, len, key);
        /* A private key's text is secret: don't leave it in freed heap. */
        explicit_bzero(text, len);
        free(text);
        return r;
}

int crypto_key_generate(struct crypto_key **key)
{
        EVP_PKEY *pkey;
        int r;

        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (!pkey)
                return openssl_fail(-EIO);
        r = key_wrap(pkey, true, false, key);
        if (r < 0)
                return openssl_fail(r);
        return 0;
}

int crypto_key_to_pem(const struct crypto_key *key, bool private_part, char **pem)
{
        char *data, *copy;
        long n;
        BIO *bio;
        int ok, r;

        bio = BIO_new(BIO_s_mem());
        if (!bio)
                return openssl_fail(-ENOMEM);
        if (private_part && key->has_private)
                ok = PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL);
        else
                ok = PEM_write_bio_PUBKEY(bio, key->pkey);
        if (!ok) {
                r = -EIO;
                goto out_free_bio;
        }
        n = BIO_get_mem_data(bio, &data);
        copy = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (!copy) {
                r = n > 0 ? -ENOMEM : -EIO;
                goto out_free_bio;
        }
        memcpy(copy, data, (size_t)n);
        copy[n] = '\0';
        *pem = copy;
        r = 0;

out_free_bio:
        /* The memory BIO held the private key's text. */
        if (BIO_reset(bio) < 0)
                ERR_clear_error();
        BIO_free(bio);
        if (r < 0)
                ERR_clear_error();
        return r;
}

void crypto_key_free(struct crypto_key *key)
{
        if (!key)
                return;
        EVP_PKEY_free(key->pkey);
        free(key);
}

bool crypto_key_is_demo(const struct crypto_key *key)
{
        return key->demo;
}

bool crypto_key_has_private(const struct crypto_key *key)
{
        return key->has_private;
}

const char *crypto_key_id(const struct crypto_key *key)
{
        return key->id;
}

int crypto_verify(const struct crypto_key *key, const void *msg, size_t len, const uint8_t *sig,
                  size_t sig_len)
{
        static const unsigned char empty;
        EVP_MD_CTX *ctx;
        int ok, r;

        /* Checked here, not left to OpenSSL: a 65-byte signature whose first 64 bytes verify
         * must not pass, whatever a library version does with the extra byte. */
        if (!sig || sig_len != CRYPTO_ED25519_SIG)
                return -EBADMSG;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return openssl_fail(-ENOMEM);
        /* Ed25519 hashes internally (PureEdDSA): no digest, and only the one-shot call. */
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) != 1) {
                r = -EIO;
                goto out_free_ctx;
        }
        ok = EVP_DigestVerify(ctx, sig, sig_len, msg ? msg : &empty, len);
        r = ok == 1 ? 0 : (ok == 0 ? -EBADMSG : -EIO);

out_free_ctx:
        EVP_MD_CTX_free(ctx);
        if (r < 0)
                ERR_clear_error();
        return r;
}

int crypto_sign(const struct crypto_key *key, const void *msg, size_t len,
                uint8_t sig[CRYPTO_ED25519_SIG])
{
        static const unsigned char empty;
        size_t sig_len = CRYPTO_ED25519_SIG;
        EVP_MD_CTX *ctx;
        int r = -EIO;

        if (!key->has_private)
                return -ENOKEY;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return openssl_fail(-ENOMEM);
        if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1)
                goto out_free_ctx;
        if (EVP_DigestSign(ctx, sig, &sig_len, msg ? msg : &empty, len) != 1 ||
            sig_len != CRYPTO_ED25519_SIG)
                goto out_free_ctx;
        r = 0;

out_free_ctx:
        EVP_MD_CTX_free(ctx);
        if (r < 0)
                ERR_clear_error();
        return r;
}

/* The digest functions cannot report an error (they fail only when OpenSSL cannot allocate).
 * Random output then matches nothing, where zeros would make every failed hash equal. */
static void digest_failed(uint8_t out[CRYPTO_SHA256_LEN])
{
        ERR_clear_error();
        /* getrandom(2) does not fail for 32 bytes on any kernel this runs on. */
        (void)crypto_random(out, CRYPTO_SHA256_LEN);
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
        static const unsigned char empty;
        unsigned int n = 0;

        if (EVP_Digest(data ? data : &empty, len, out, &n, EVP_sha256(), NULL) != 1 ||
            n != CRYPTO_SHA256_LEN)
                digest_failed(out);
}

void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[CRYPTO_SHA256_LEN])
{
        static const unsigned char empty;
        size_t n = 0;

        /* OpenSSL's HMAC treats a NULL key as "keep the previous key", which a fresh context
         * does not have; an empty key must be passed as a valid pointer. */
        if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key ? key : &empty, key_len,
                       data ? data : &empty, len, out, CRYPTO_SHA256_LEN, &n) ||
            n != CRYPTO_SHA256_LEN)
                digest_failed(out);
}

static const char base64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of a base64 character, or -1. Written out rather than looked up with
 * strchr(), which would also find the terminating NUL. */
static int base64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

long crypto_base64_decode(const char *text, uint8_t *out, size_t out_size)
{
        size_t n, pad = 0, out_len, o = 0;

        if (!text)
                return -EINVAL;
        n = strlen(text);
        if (n % 4 != 0 || n / 4 > LONG_MAX / 3)
                return -EINVAL;
        if (n > 0 && text[n - 1] == '=')
                pad = text[n - 2] == '=' ? 2 : 1;
        out_len = n / 4 * 3 - pad;

        /* Validate everything before writing, so a refused text leaves @out untouched and a
         * bad text is reported as such even when @out is also too small. */
        for (size_t i = 0; i < n; i++) {
                int v = base64_value(text[i]);

                if (v >= 0)
                        continue;
                if (text[i] != '=' || i < n - pad)
                        return -EINVAL;
        }
        /* RFC 4648 section 3.5: the bits after the last byte are zero in canonical text, so
         * "Zg==" is the one spelling of "f" and "Zh==" is refused. */
        if (pad == 2 && (base64_value(text[n - 3]) & 0x0f) != 0)
                return -EINVAL;
        if (pad == 1 && (base64_value(text[n - 2]) & 0x03) != 0)
                return -EINVAL;
        if (out_len > out_size)
                return -ENOBUFS;

        for (size_t i = 0; i < n; i += 4) {
                uint32_t quad = 0;
                size_t chars = i + 4 == n ? 4 - pad : 4;

                for (size_t j = 0; j < 4; j++)
                        quad = quad << 6 | (uint32_t)(j < chars ? base64_value(text[i + j]) : 0);
                out[o++] = (uint8_t)(quad >> 16);
                if (chars > 2)
                        out[o++] = (uint8_t)(quad >> 8);
                if (chars > 3)
                        out[o++] = (uint8_t)quad;
        }
        return (long)out_len;
}

int crypto_base64_encode(const uint8_t *data, size_t len, char *out, size_t out_size)
{
        size_t o = 0;

        if (len / 3 >= (SIZE_MAX - 1) / 4 - 1 || out_size < (len + 2) / 3 * 4 + 1)
                return -ENOBUFS;
        for (size_t i = 0; i < len; i += 3) {
                size_t left = len - i;
                uint32_t triple = (uint32_t)data[i] << 16;

                if (left > 1)
                        triple |= (uint32_t)data[i + 1] << 8;
                if (left > 2)
                        triple |= data[i + 2];
                out[o++] = base64_alphabet[triple >> 18 & 0x3f];
                out[o++] = base64_alphabet[triple >> 12 & 0x3f];
                out[o++] = left > 1 ? base64_alphabet[triple >> 6 & 0x3f] : '=';
                out[o++] = left > 2 ? base64_alphabet[triple & 0x3f] : '=';
        }
        out[o] = '\0';
        return 0;
}

void crypto_hex(const uint8_t *data, size_t len, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[data[i] >> 4];
                out[2 * i + 1] = digits[data[i] & 0x0f];
        }
        out[2 * len] = '\0';
}

int crypto_hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

bool crypto_unhex(const char *hex, uint8_t *out, size_t len)
{
        if (!hex || strlen(hex) != 2 * len)
                return false;
        for (size_t i = 0; i < len; i++) {
                int hi = crypto_hex_digit(hex[2 * i]), lo = crypto_hex_digit(hex[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return false;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return true;
}

int crypto_random(void *buf, size_t len)
{
        uint8_t *p = buf;

        /* Without GRND_NONBLOCK this waits until the kernel's pool is initialised, which is
         * what a secret made at first boot needs. Large requests may return short. */
        while (len > 0) {
                ssize_t n = getrandom(p, len, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}
