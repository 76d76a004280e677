/*
 * check_codec — base64 (RFC 4648) and gzip (RFC 1952), the two layers of a
 * TW_POLICY value (SPEC section 3).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/codec.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static void
random_bytes(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rng_next();
}

/* Decodes text that must be valid; returns the bytes (caller frees). */
static uint8_t *
decode_ok(const char *text, size_t len, size_t *outlen)
{
	uint8_t *out = NULL;
	const char *why = NULL;
	size_t where = 0;

	ck_assert_msg(codec_b64_decode(text, len, &out, outlen, &why,
	    &where) == 0, "\"%.*s\" refused: %s at %zu", (int)len, text,
	    why ? why : "?", where);
	ck_assert_ptr_nonnull(out);
	return out;
}

static void
assert_decodes_to(const char *text, const void *want, size_t wantlen)
{
	size_t n = 0;
	uint8_t *out = decode_ok(text, strlen(text), &n);

	ck_assert_msg(n == wantlen, "\"%s\": %zu bytes, want %zu", text, n,
	    wantlen);
	ck_assert_msg(memcmp(out, want, n) == 0, "\"%s\": wrong bytes", text);
	free(out);
}

/* ---- base64 ---- */

/* RFC 4648 section 10. */
static const struct {
	const char *plain;
	const char *encoded;
} rfc_vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

START_TEST(test_b64_rfc_vectors)
{
	const char *plain = rfc_vectors[_i].plain;
	const char *enc = rfc_vectors[_i].encoded;
	char *got = codec_b64_encode((const uint8_t *)plain, strlen(plain));

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, enc);
	free(got);
	if (plain[0] != '\0')
		assert_decodes_to(enc, plain, strlen(plain));
}
END_TEST

/* An empty value is no base64 payload: refused, not decoded to nothing. */
START_TEST(test_b64_empty_refused)
{
	static const char *const empties[] = { "", "  \n\t\r " };
	size_t i;

	for (i = 0; i < NELEM(empties); i++) {
		uint8_t *out = (uint8_t *)1;
		size_t n = 0, where = 99;
		const char *why = NULL;

		ck_assert_int_eq(codec_b64_decode(empties[i],
		    strlen(empties[i]), &out, &n, &why, &where), -1);
		ck_assert_ptr_null(out);
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, "empty");
	}
}
END_TEST

START_TEST(test_b64_round_trip)
{
	uint8_t in[64];
	size_t len = (size_t)_i, n, i, j;
	char *enc, *nopad, *wrapped;
	uint8_t *out;

	rng_state = 1000 + len;
	random_bytes(in, len);
	enc = codec_b64_encode(in, len);
	ck_assert_ptr_nonnull(enc);
	ck_assert_uint_eq(strlen(enc), (len + 2) / 3 * 4);
	if (len == 0) {
		ck_assert_str_eq(enc, "");
		free(enc);
		return;
	}
	out = decode_ok(enc, strlen(enc), &n);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(out, in, len) == 0);
	free(out);

	/* Without the padding. */
	nopad = strdup(enc);
	ck_assert_ptr_nonnull(nopad);
	nopad[strcspn(nopad, "=")] = '\0';
	ck_assert_uint_eq(strlen(nopad), (len * 4 + 2) / 3);
	out = decode_ok(nopad, strlen(nopad), &n);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(out, in, len) == 0);
	free(out);

	/* Wrapped every 5 characters with mixed white space. */
	wrapped = malloc(strlen(enc) * 2 + 1);
	ck_assert_ptr_nonnull(wrapped);
	for (i = 0, j = 0; enc[i] != '\0'; i++) {
		wrapped[j++] = enc[i];
		if (i % 5 == 4)
			wrapped[j++] = " \t\r\n"[i % 4];
	}
	wrapped[j] = '\0';
	out = decode_ok(wrapped, j, &n);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(out, in, len) == 0);
	free(out);

	/* The URL-safe alphabet decodes to the same bytes. */
	for (i = 0; enc[i] != '\0'; i++)
		if (enc[i] == '+')
			enc[i] = '-';
		else if (enc[i] == '/')
			enc[i] = '_';
	out = decode_ok(enc, strlen(enc), &n);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(out, in, len) == 0);
	free(out);
	free(wrapped);
	free(nopad);
	free(enc);
}
END_TEST

START_TEST(test_b64_alphabets)
{
	static const uint8_t fbff[] = { 0xfb, 0xff };
	static const uint8_t all62[] = { 0xfb, 0xef, 0xbe };	/* "++++" */
	static const uint8_t all63[] = { 0xff, 0xff, 0xff };	/* "////" */
	char *enc = codec_b64_encode(fbff, 2);

	/* The encoder writes the standard alphabet with padding. */
	ck_assert_str_eq(enc, "+/8=");
	free(enc);
	assert_decodes_to("+/8=", fbff, 2);
	assert_decodes_to("+/8", fbff, 2);
	assert_decodes_to("-_8=", fbff, 2);
	assert_decodes_to("-_8", fbff, 2);
	assert_decodes_to("++++", all62, 3);
	assert_decodes_to("----", all62, 3);
	assert_decodes_to("////", all63, 3);
	assert_decodes_to("____", all63, 3);
}
END_TEST

START_TEST(test_b64_whitespace)
{
	assert_decodes_to("Zm9v\nYmFy\r\n", "foobar", 6);
	assert_decodes_to(" Z m 9 v ", "foo", 3);
	assert_decodes_to("\tZm9vYg==\n", "foob", 4);
	assert_decodes_to("Zg=\n=", "f", 1);
	assert_decodes_to("Zm9vYmE=\r\n\r\n", "fooba", 5);
}
END_TEST

static const struct b64_error {
	const char *text;
	size_t len;		/* 0: strlen */
	const char *why;
	size_t where;
} b64_errors[] = {
	{ "Zm9v!mFy", 0, "not a base64 character", 4 },
	{ "Zm9vYmF*", 0, "not a base64 character", 7 },
	{ "Zm9v YmF.", 0, "not a base64 character", 8 },
	{ "\xc3\xa9Zm9v", 0, "not a base64 character", 0 },
	{ "Zm9v\0YmFy", 9, "not a base64 character", 4 },
	{ "Zm9v\vYmFy", 0, "not a base64 character", 4 },
	{ "Zg==Zg==", 0, "data after padding", 4 },
	{ "QQ=A", 0, "data after padding", 3 },
	{ "Zm9=v", 0, "data after padding", 4 },
	{ "Zg== Z", 0, "data after padding", 5 },
	{ "Zg==!", 0, "data after padding", 4 },
	/* One symbol alone in the last quantum holds under 8 bits. */
	{ "Q", 0, "truncated or badly padded base64", 1 },
	{ "Zm9vY", 0, "truncated or badly padded base64", 5 },
	{ "Zm9vY===", 0, "truncated or badly padded base64", 8 },
	/* Padding that does not complete a quantum. */
	{ "Zg=", 0, "truncated or badly padded base64", 3 },
	{ "Zg===", 0, "truncated or badly padded base64", 5 },
	{ "Zm9v=", 0, "truncated or badly padded base64", 5 },
	{ "Zm9v====", 0, "truncated or badly padded base64", 8 },
	{ "=", 0, "truncated or badly padded base64", 1 },
	{ "====", 0, "truncated or badly padded base64", 4 },
};

START_TEST(test_b64_errors)
{
	const struct b64_error *c = &b64_errors[_i];
	size_t len = c->len ? c->len : strlen(c->text), n = 0, where = 12345;
	uint8_t *out = (uint8_t *)1;
	const char *why = NULL;

	ck_assert_msg(codec_b64_decode(c->text, len, &out, &n, &why,
	    &where) == -1, "\"%s\" accepted", c->text);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, c->why);
	ck_assert_msg(where == c->where, "\"%s\": offset %zu, want %zu",
	    c->text, where, c->where);
}
END_TEST

/* ---- gzip ---- */

static uint8_t *
gzip_of(const void *in, size_t len, size_t *outlen)
{
	uint8_t *gz = NULL;

	ck_assert_int_eq(codec_gzip(in, len, &gz, outlen), 0);
	ck_assert_ptr_nonnull(gz);
	return gz;
}

static void
assert_gunzip_refused(const uint8_t *gz, size_t len, size_t max,
    const char *want1, const char *want2, const char *what)
{
	uint8_t *out = (uint8_t *)1;
	size_t n = 0;
	const char *why = NULL;

	ck_assert_msg(codec_gunzip(gz, len, max, &out, &n, &why) == -1,
	    "%s: accepted", what);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strcmp(why, want1) == 0 ||
	    (want2 != NULL && strcmp(why, want2) == 0),
	    "%s: \"%s\", want \"%s\"%s%s%s", what, why, want1,
	    want2 ? " or \"" : "", want2 ? want2 : "", want2 ? "\"" : "");
}

START_TEST(test_gzip_round_trip)
{
	static const size_t sizes[] = { 0, 1, 2, 100, 4095, 4096, 4097,
	    65536, 300000 };
	size_t k;

	rng_state = 7;
	for (k = 0; k < NELEM(sizes); k++) {
		size_t len = sizes[k], gzlen, n, i;
		uint8_t *in = malloc(len + 1), *gz, *out = NULL;
		const char *why = NULL;

		ck_assert_ptr_nonnull(in);
		/* Half random, half text-like, so both stored and
		 * compressed blocks occur. */
		for (i = 0; i < len; i++)
			in[i] = i < len / 2 ? (uint8_t)rng_next() :
			    (uint8_t)("{\"rules\": []} "[i % 14]);
		gz = gzip_of(in, len, &gzlen);
		ck_assert(codec_is_gzip(gz, gzlen));
		ck_assert_msg(codec_gunzip(gz, gzlen, len, &out, &n,
		    &why) == 0, "%zu bytes: %s", len, why);
		ck_assert_ptr_nonnull(out);
		ck_assert_uint_eq(n, len);
		ck_assert(len == 0 || memcmp(out, in, len) == 0);
		free(out);
		free(gz);
		free(in);
	}
}
END_TEST

START_TEST(test_gzip_compresses)
{
	char text[10000];
	size_t gzlen;
	uint8_t *gz;

	memset(text, 'a', sizeof(text));
	gz = gzip_of(text, sizeof(text), &gzlen);
	ck_assert_msg(gzlen < 200, "10000 x 'a' compressed to %zu", gzlen);
	free(gz);
}
END_TEST

/* Output of the gzip(1) command for "hello\n" (RFC 1952 member with a
 * file name), decoded by our inflater. */
START_TEST(test_gunzip_foreign)
{
	static const uint8_t hello_gz[] = {
		0x1f, 0x8b, 0x08, 0x08, 0x89, 0xc6, 0x0b, 0x6b, 0x00, 0x03,
		0x68, 0x00, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00,
		0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00 };
	uint8_t *out = NULL;
	size_t n = 0;
	const char *why = NULL;

	ck_assert_msg(codec_gunzip(hello_gz, sizeof(hello_gz), 1024, &out,
	    &n, &why) == 0, "%s", why);
	ck_assert_uint_eq(n, 6);
	ck_assert(memcmp(out, "hello\n", 6) == 0);
	free(out);
}
END_TEST

START_TEST(test_is_gzip)
{
	static const uint8_t magic[] = { 0x1f, 0x8b };
	static const uint8_t half[] = { 0x1f };
	static const uint8_t swapped[] = { 0x8b, 0x1f, 0x08 };
	size_t gzlen;
	uint8_t *gz = gzip_of("{}", 2, &gzlen);

	ck_assert(codec_is_gzip(gz, gzlen));
	ck_assert(codec_is_gzip(magic, 2));
	ck_assert(!codec_is_gzip(half, 1));
	ck_assert(!codec_is_gzip(magic, 0));
	ck_assert(!codec_is_gzip(swapped, 3));
	ck_assert(!codec_is_gzip((const uint8_t *)"{\"rules\":[]}", 12));
	ck_assert(!codec_is_gzip((const uint8_t *)"H4sI", 4));
	free(gz);
}
END_TEST

START_TEST(test_gunzip_truncated)
{
	char text[3000];
	size_t gzlen, i, cuts[8], ncuts = 0;
	uint8_t *gz;

	for (i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + (i * i) % 23);
	gz = gzip_of(text, sizeof(text), &gzlen);
	ck_assert_uint_gt(gzlen, 40);
	cuts[ncuts++] = 0;
	cuts[ncuts++] = 1;
	cuts[ncuts++] = 5;
	cuts[ncuts++] = 10;		/* header only */
	cuts[ncuts++] = gzlen / 2;
	cuts[ncuts++] = gzlen - 8;	/* no trailer */
	cuts[ncuts++] = gzlen - 4;	/* CRC but no size */
	cuts[ncuts++] = gzlen - 1;
	for (i = 0; i < ncuts; i++) {
		char what[64];

		snprintf(what, sizeof(what), "cut at %zu of %zu", cuts[i],
		    gzlen);
		assert_gunzip_refused(gz, cuts[i], 1 << 20,
		    "truncated gzip data", "corrupt gzip data", what);
	}
	free(gz);
}
END_TEST

START_TEST(test_gunzip_corrupt)
{
	char text[3000];
	size_t gzlen, i;
	uint8_t *gz;

	for (i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + (i * i) % 23);
	gz = gzip_of(text, sizeof(text), &gzlen);

	/* CRC-32 of the data (RFC 1952 2.3.1). */
	gz[gzlen - 6] ^= 0x01;
	assert_gunzip_refused(gz, gzlen, 1 << 20, "corrupt gzip data", NULL,
	    "CRC flipped");
	gz[gzlen - 6] ^= 0x01;
	/* ISIZE. */
	gz[gzlen - 2] ^= 0x10;
	assert_gunzip_refused(gz, gzlen, 1 << 20, "corrupt gzip data", NULL,
	    "ISIZE flipped");
	gz[gzlen - 2] ^= 0x10;
	/* Magic. */
	gz[1] ^= 0xff;
	assert_gunzip_refused(gz, gzlen, 1 << 20, "corrupt gzip data", NULL,
	    "magic flipped");
	gz[1] ^= 0xff;
	/* Compression method other than deflate. */
	gz[2] = 7;
	assert_gunzip_refused(gz, gzlen, 1 << 20, "corrupt gzip data", NULL,
	    "method 7");
	gz[2] = 8;
	/* A byte in the middle of the compressed data. */
	gz[gzlen / 2] ^= 0x5a;
	assert_gunzip_refused(gz, gzlen, 1 << 20, "corrupt gzip data",
	    "truncated gzip data", "data byte flipped");
	gz[gzlen / 2] ^= 0x5a;
	/* Restored: accepted again, so the refusals were the flips. */
	{
		uint8_t *out = NULL;
		size_t n = 0;
		const char *why = NULL;

		ck_assert_int_eq(codec_gunzip(gz, gzlen, 1 << 20, &out, &n,
		    &why), 0);
		ck_assert_uint_eq(n, sizeof(text));
		free(out);
	}
	/* Not gzip at all. */
	assert_gunzip_refused((const uint8_t *)"{\"rules\": []}", 13, 1 << 20,
	    "corrupt gzip data", NULL, "plain JSON");
	free(gz);
}
END_TEST

START_TEST(test_gunzip_max)
{
	static uint8_t zeros[1 << 20];
	char text[10000];
	size_t gzlen, n;
	uint8_t *gz, *out = NULL;
	const char *why = NULL;

	memset(text, 'a', sizeof(text));
	gz = gzip_of(text, sizeof(text), &gzlen);
	assert_gunzip_refused(gz, gzlen, sizeof(text) - 1,
	    "decompressed data too large", NULL, "max one under");
	assert_gunzip_refused(gz, gzlen, 0, "decompressed data too large",
	    NULL, "max 0");
	assert_gunzip_refused(gz, gzlen, 4096, "decompressed data too large",
	    NULL, "max 4096");
	/* Exactly the size: accepted. */
	ck_assert_int_eq(codec_gunzip(gz, gzlen, sizeof(text), &out, &n,
	    &why), 0);
	ck_assert_uint_eq(n, sizeof(text));
	free(out);
	free(gz);

	/* A gzip bomb: 1 MiB of zeros in about a kilobyte. */
	gz = gzip_of(zeros, sizeof(zeros), &gzlen);
	ck_assert_uint_lt(gzlen, 4096);
	assert_gunzip_refused(gz, gzlen, 65536, "decompressed data too large",
	    NULL, "1 MiB of zeros, max 64 KiB");
	free(gz);

	/* An empty member under max 0 is fine. */
	gz = gzip_of("", 0, &gzlen);
	out = NULL;
	ck_assert_int_eq(codec_gunzip(gz, gzlen, 0, &out, &n, &why), 0);
	ck_assert_uint_eq(n, 0);
	free(out);
	free(gz);
}
END_TEST

START_TEST(test_gunzip_trailing)
{
	size_t gzlen;
	uint8_t *gz = gzip_of("{\"rules\": []}", 13, &gzlen), *two;

	two = malloc(gzlen * 2);
	ck_assert_ptr_nonnull(two);
	memcpy(two, gz, gzlen);
	two[gzlen] = 'x';
	assert_gunzip_refused(two, gzlen + 1, 1 << 20,
	    "data after the gzip stream", NULL, "one byte after");
	two[gzlen] = '\0';
	assert_gunzip_refused(two, gzlen + 1, 1 << 20,
	    "data after the gzip stream", NULL, "a NUL after");
	memcpy(two + gzlen, gz, gzlen);
	assert_gunzip_refused(two, gzlen * 2, 1 << 20,
	    "data after the gzip stream", NULL, "two members");
	free(two);
	free(gz);
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tcase_create("base64");
	tcase_add_loop_test(tc, test_b64_rfc_vectors, 0, NELEM(rfc_vectors));
	tcase_add_test(tc, test_b64_empty_refused);
	tcase_add_loop_test(tc, test_b64_round_trip, 0, 65);
	tcase_add_test(tc, test_b64_alphabets);
	tcase_add_test(tc, test_b64_whitespace);
	tcase_add_loop_test(tc, test_b64_errors, 0, NELEM(b64_errors));
	suite_add_tcase(s, tc);

	tc = tcase_create("gzip");
	tcase_add_test(tc, test_gzip_round_trip);
	tcase_add_test(tc, test_gzip_compresses);
	tcase_add_test(tc, test_gunzip_foreign);
	tcase_add_test(tc, test_is_gzip);
	tcase_add_test(tc, test_gunzip_truncated);
	tcase_add_test(tc, test_gunzip_corrupt);
	tcase_add_test(tc, test_gunzip_max);
	tcase_add_test(tc, test_gunzip_trailing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(codec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
