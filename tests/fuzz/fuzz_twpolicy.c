/*
 * fuzz_twpolicy — libFuzzer target for TW_POLICY values (SPEC section 3):
 * policy_from_twpolicy() on the input as the variable's text, and the codec
 * underneath it (base64, RFC 4648; gzip, RFC 1952) on the same bytes.
 *
 * Properties, each an abort() when broken:
 *   - a value that gives a policy without a key is refused under a key
 *     nobody holds, with *hijacked set; nothing is ever accepted under it;
 *     an accepted policy dumps to a document that parses;
 *   - base64: what decodes re-encodes to padded standard base64 of
 *     4 * ceil(n / 3) characters that decodes to the same bytes, and the
 *     decoded length is at most 3/4 of the input;
 *   - gzip (on the input and on what its base64 decodes to): what
 *     inflates stays within the limit, and gzip of the result inflates
 *     back to the same bytes.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/codec.h"
#include "fnguard/diag.h"
#include "fnguard/policy.h"
#include "fnguard/sign.h"
#include "fuzz_holds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUNZIP_MAX (1024 * 1024)

/* A real Ed25519 public key whose private key was thrown away. */
static const uint8_t unheld_key[SIGN_PUBKEY_LEN] = {
	0x6f, 0x54, 0xc6, 0xf2, 0x1b, 0x7b, 0x26, 0x34, 0x1c, 0xb1, 0x3d,
	0x1e, 0xf6, 0xa7, 0xf9, 0x8a, 0xdd, 0x6f, 0x2f, 0x85, 0xdc, 0x34,
	0x7c, 0x19, 0x4d, 0x1a, 0xa3, 0xe3, 0xe9, 0xcd, 0x03, 0x67,
};

#define TARGET "fuzz_twpolicy"

/* A broken property aborts (fuzz_holds.c), unless FNGUARD_FUZZ_IGNORE
 * names it. */
#define holds(cond, what) fuzz_holds(TARGET, (cond), (what))

static void
check_twpolicy(const char *text, size_t len)
{
	struct policy *pol, *keyed, *again;
	struct diags d;
	bool hijacked;
	char *dump;

	diags_init(&d);
	pol = policy_from_twpolicy(text, len, NULL, &d, &hijacked);
	holds(!hijacked, "hijacked set without a key");
	holds((pol == NULL) == (d.errors > 0),
	    "result and error count disagree");
	diags_clear(&d);
	if (pol != NULL) {
		dump = policy_dump(pol);
		if (holds(dump != NULL, "policy_dump returned NULL")) {
			again = policy_parse(dump, strlen(dump), NULL, &d,
			    &hijacked);
			holds(again != NULL,
			    "the dump of a valid policy does not parse");
			diags_clear(&d);
			policy_free(again);
			free(dump);
		}
	}
	keyed = policy_from_twpolicy(text, len, unheld_key, &d, &hijacked);
	holds(keyed == NULL, "accepted under a key nobody holds");
	policy_free(keyed);
	holds(pol == NULL || hijacked,
	    "a valid unsigned policy refused without *hijacked");
	diags_clear(&d);
	policy_free(pol);
}

static bool
is_standard_b64(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		    (c == '=' && i + 2 >= len)))
			return false;
	}
	return true;
}

static void
check_gunzip(const uint8_t *in, size_t len)
{
	uint8_t *out, *z = NULL, *back = NULL;
	size_t outlen, zlen, backlen;
	const char *why;

	if (codec_gunzip(in, len, GUNZIP_MAX, &out, &outlen, &why) == -1) {
		holds(out == NULL, "a failed gunzip left output");
		holds(why != NULL && why[0] != '\0', "a failed gunzip, no why");
		return;
	}
	holds(codec_is_gzip(in, len), "gunzip took what is not gzip");
	holds(outlen <= GUNZIP_MAX, "gunzip went past its limit");
	if (!holds(codec_gzip(out, outlen, &z, &zlen) == 0, "gzip failed"))
		goto done;
	holds(codec_is_gzip(z, zlen), "gzip output lacks the gzip magic");
	if (!holds(codec_gunzip(z, zlen, GUNZIP_MAX, &back, &backlen, &why) ==
	    0, "gzip output does not inflate"))
		goto done;
	holds(backlen == outlen && memcmp(back, out, outlen) == 0,
	    "gzip round trip changed the bytes");
done:
	free(back);
	free(z);
	free(out);
}

static void
check_b64(const char *text, size_t len)
{
	uint8_t *raw, *again = NULL;
	size_t rawlen, againlen, where;
	const char *why;
	char *enc;

	if (codec_b64_decode(text, len, &raw, &rawlen, &why, &where) == -1) {
		holds(raw == NULL, "a failed decode left output");
		holds(why != NULL && why[0] != '\0', "a failed decode, no why");
		holds(where <= len, "error offset past the input");
		return;
	}
	holds(rawlen > 0 && rawlen <= len / 4 * 3 + 2,
	    "decoded length out of bounds");
	if ((enc = codec_b64_encode(raw, rawlen)) == NULL)
		goto done;	/* out of memory */
	holds(strlen(enc) == (rawlen + 2) / 3 * 4, "encoded length wrong");
	holds(is_standard_b64(enc, strlen(enc)), "encoded text not base64");
	if (holds(codec_b64_decode(enc, strlen(enc), &again, &againlen, &why,
	    &where) == 0, "the encoding does not decode"))
		holds(againlen == rawlen && memcmp(again, raw, rawlen) == 0,
		    "base64 round trip changed the bytes");
	/* What a TW_POLICY value carries: gzip, perhaps. */
	check_gunzip(raw, rawlen);
done:
	free(again);
	free(enc);
	free(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_twpolicy((const char *)data, size);
	check_b64((const char *)data, size);
	check_gunzip(data, size);
	return 0;
}
