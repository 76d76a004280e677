/*
 * sign — Ed25519 (RFC 8032) signatures over policy payloads, via OpenSSL.
 */
#ifndef FNGUARD_SIGN_H
#define FNGUARD_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGN_PUBKEY_LEN 32
#define SIGN_SIG_LEN 64

/* True when sig is a valid signature of msg under pubkey. */
bool sign_verify(const uint8_t pubkey[SIGN_PUBKEY_LEN], const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen);

/*
 * Reads a public key given as base64 of the raw 32 bytes or as PEM text.
 * Returns 0, or -1 with *why set.
 */
int sign_pubkey_parse(const char *text, size_t len,
    uint8_t out[SIGN_PUBKEY_LEN], const char **why);
/* The same from a file holding either form. */
int sign_pubkey_load(const char *path, uint8_t out[SIGN_PUBKEY_LEN],
    const char **why);

/* Signs msg with the PEM private key in keyfile. */
int sign_message(const char *keyfile, const uint8_t *msg, size_t len,
    uint8_t sig[SIGN_SIG_LEN], const char **why);

/*
 * Writes DIR/fnguard-policy.key (PEM PKCS#8, mode 0600) and
 * DIR/fnguard-policy.pub (PEM), refusing to overwrite. Puts the raw public
 * key in pub.
 */
int sign_genkey(const char *dir, uint8_t pub[SIGN_PUBKEY_LEN],
    const char **why);

#endif
