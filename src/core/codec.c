/* codec — see include/fnguard/codec.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fnguard/codec.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
codec_b64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen,
    const char **why, size_t *where)
{
	uint8_t *buf;
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0, pads = 0, sym = 0;

	*out = NULL;
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL) {
		*why = "out of memory";
		*where = 0;
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (is_space(c))
			continue;
		if (c == '=') {
			pads++;
			continue;
		}
		if ((v = b64_value(c)) < 0 || pads > 0) {
			*why = pads > 0 ? "data after padding" :
			    "not a base64 character";
			*where = i;
			goto fail;
		}
		sym++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* A lone symbol in the last quantum carries under 8 bits. */
	if (sym % 4 == 1 || pads > 2 || (pads > 0 && (sym + pads) % 4 != 0)) {
		*why = "truncated or badly padded base64";
		*where = len;
		goto fail;
	}
	if (n == 0) {
		*why = "empty";
		*where = 0;
		goto fail;
	}
	*out = buf;
	*outlen = n;
	return 0;
fail:
	free(buf);
	return -1;
}

char *
codec_b64_encode(const uint8_t *in, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = b64_alphabet[(v >> 6) & 63];
		*p++ = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 |
		    (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

bool
codec_is_gzip(const uint8_t *in, size_t len)
{
	return len >= 2 && in[0] == 0x1f && in[1] == 0x8b;
}

int
codec_gunzip(const uint8_t *in, size_t len, size_t max, uint8_t **out,
    size_t *outlen, const char **why)
{
	z_stream zs;
	uint8_t *buf = NULL, *n;
	size_t cap = 0;
	int rc = -1, zr;

	*out = NULL;
	memset(&zs, 0, sizeof(zs));
	/* 16 + MAX_WBITS: gzip wrapper only (zlib manual, inflateInit2). */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		*why = "cannot start zlib";
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	do {
		if (zs.total_out == cap) {
			if (cap >= max + 1) {
				*why = "decompressed data too large";
				goto done;
			}
			cap = cap ? cap * 2 : 4096;
			if (cap > max + 1)
				cap = max + 1;
			if ((n = realloc(buf, cap)) == NULL) {
				*why = "out of memory";
				goto done;
			}
			buf = n;
		}
		zs.next_out = buf + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		zr = inflate(&zs, Z_NO_FLUSH);
	} while (zr == Z_OK);
	if (zr != Z_STREAM_END) {
		*why = zr == Z_BUF_ERROR ? "truncated gzip data" :
		    "corrupt gzip data";
		goto done;
	}
	if (zs.total_out > max) {
		*why = "decompressed data too large";
		goto done;
	}
	if (zs.avail_in != 0) {
		*why = "data after the gzip stream";
		goto done;
	}
	*out = buf;
	*outlen = zs.total_out;
	buf = NULL;
	rc = 0;
done:
	inflateEnd(&zs);
	free(buf);
	return rc;
}

int
codec_gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream zs;
	uint8_t *buf;
	size_t cap;
	int rc = -1;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS,
	    9, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	cap = deflateBound(&zs, (uLong)len) + 32;
	if ((buf = malloc(cap)) == NULL)
		goto done;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		free(buf);
		goto done;
	}
	*out = buf;
	*outlen = zs.total_out;
	rc = 0;
done:
	deflateEnd(&zs);
	return rc;
}
