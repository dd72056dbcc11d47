/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto: the few primitives the gateway needs, on OpenSSL 3 EVP: Ed25519 signatures (the
 * registry authority's records, later the gateway's own evidence exports), SHA-256 and
 * HMAC-SHA-256 (keyed hashes of identity numbers), strict base64 and random bytes.
 *
 * Keys are opaque `struct crypto_key` objects. A key file is PEM; a file whose text contains
 * the marker CRYPTO_DEMO_MARKER (on a comment line before the PEM block) is a demo key, and
 * crypto_key_is_demo() says so, so that every place that shows the key can mark it.
 */
#ifndef FIREGATE_CRYPTO_H
#define FIREGATE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_DEMO_MARKER "FIREGATE DEMO KEY"
#define CRYPTO_ED25519_SIG 64
#define CRYPTO_ED25519_PUB 32
#define CRYPTO_SHA256_LEN  32
/* A key id is the first 8 bytes of SHA-256 over the raw 32-byte public key, in hex. */
#define CRYPTO_KEY_ID_LEN 16

struct crypto_key;

/* Loads an Ed25519 public key (PEM "PUBLIC KEY") or private key (PEM "PRIVATE KEY", whose public
 * half is then used for verifying) from @path. Returns 0 and sets *@key, or -ENOENT/-EACCES/...
 * for a file that cannot be read, -EBADMSG for a file that holds no PEM key, -EPROTONOSUPPORT
 * for a key that is not Ed25519. */
int crypto_key_load(const char *path, struct crypto_key **key);

/* Same as crypto_key_load() from a buffer of @len bytes (for tests). */
int crypto_key_load_mem(const char *pem, size_t len, struct crypto_key **key);

/* Makes a new Ed25519 private key. Returns 0 or -ENOMEM / -EIO. */
int crypto_key_generate(struct crypto_key **key);

/* Writes the PEM of @key: the private key when @private_part and the key has one, else the public
 * key. *@pem is a new NUL-terminated string (caller frees). Returns 0 or a negative errno. */
int crypto_key_to_pem(const struct crypto_key *key, bool private_part, char **pem);

/* Frees @key; NULL is a no-op. */
void crypto_key_free(struct crypto_key *key);

/* Whether the key was loaded from a file marked with CRYPTO_DEMO_MARKER. */
bool crypto_key_is_demo(const struct crypto_key *key);

/* Whether the key holds a private part (can sign). */
bool crypto_key_has_private(const struct crypto_key *key);

/* The key id: CRYPTO_KEY_ID_LEN lowercase hex digits, NUL-terminated, owned by @key. */
const char *crypto_key_id(const struct crypto_key *key);

/* Verifies an Ed25519 signature of @len bytes over @msg. Returns 0 when it verifies, -EBADMSG
 * when it does not (wrong key, altered message, or a signature that is not 64 bytes). */
int crypto_verify(const struct crypto_key *key, const void *msg, size_t len, const uint8_t *sig,
                  size_t sig_len);

/* Signs @msg with @key's private part into @sig. Returns 0, or -ENOKEY if @key has no private
 * part, or -EIO. */
int crypto_sign(const struct crypto_key *key, const void *msg, size_t len,
                uint8_t sig[CRYPTO_ED25519_SIG]);

/* SHA-256 of @len bytes. It cannot fail but for OpenSSL running out of memory; @out is then
 * random bytes, which match nothing (zeros would make every failed digest equal). */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* HMAC-SHA-256 of @len bytes under @key; on failure as crypto_sha256(). */
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        uint8_t out[CRYPTO_SHA256_LEN]);

/* Decodes standard base64 (RFC 4648 section 4, padding required, no whitespace) into @out of
 * @out_size bytes. Returns the number of bytes decoded, or -EINVAL for text that is not
 * canonical base64, or -ENOBUFS when @out is too small. */
long crypto_base64_decode(const char *text, uint8_t *out, size_t out_size);

/* Encodes @len bytes as standard base64 with padding into @out (needs 4*ceil(len/3)+1 bytes).
 * Returns 0 or -ENOBUFS. */
int crypto_base64_encode(const uint8_t *data, size_t len, char *out, size_t out_size);

/* Writes @len bytes of lowercase hex of @data to @out (needs 2*len+1 bytes). */
void crypto_hex(const uint8_t *data, size_t len, char *out);

/* The value of hex digit @c (either case), or -1. */
int crypto_hex_digit(char c);

/* Reads exactly 2*@len hex digits (either case, nothing else: no sign, space or prefix) from
 * @hex into @out. Returns true when @hex was exactly that; NULL is false. */
bool crypto_unhex(const char *hex, uint8_t *out, size_t len);

/* Fills @buf with @len bytes from the kernel's random source. Returns 0 or a negative errno. */
int crypto_random(void *buf, size_t len);

#endif
