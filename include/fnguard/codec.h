/*
 * codec — base64 (RFC 4648) and gzip (RFC 1952) for TW_POLICY values.
 * Pure: explicit lengths in, heap buffers out (caller frees).
 */
#ifndef FNGUARD_CODEC_H
#define FNGUARD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Strict base64: standard or URL-safe alphabet, ASCII white space ignored,
 * padding optional but never in the middle. Returns 0, or -1 with *why set
 * to a static reason and *where to the offending byte offset.
 */
int codec_b64_decode(const char *in, size_t len, uint8_t **out,
    size_t *outlen, const char **why, size_t *where);
/* Standard alphabet with padding; NUL-terminated; NULL on no memory. */
char *codec_b64_encode(const uint8_t *in, size_t len);

bool codec_is_gzip(const uint8_t *in, size_t len);
/* Inflates a gzip stream, refusing output larger than max bytes. */
int codec_gunzip(const uint8_t *in, size_t len, size_t max, uint8_t **out,
    size_t *outlen, const char **why);
int codec_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen);

#endif
