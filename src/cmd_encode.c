/*
 * fnguard encode [--console URL] [--interval MS] [--sign KEYFILE]
 *                [--no-gzip] FILE
 * fnguard encode --genkey DIR
 *
 * Makes a TW_POLICY value (SPEC section 3) from a policy file, and reports
 * its size against Lambda's 4 KB limit on all environment variables.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "fnguard/cli.h"
#include "fnguard/codec.h"

/* AWS Lambda: "The total size of all environment variables doesn't exceed
 * 4 KB" (names and values). */
#define LAMBDA_ENV_LIMIT 4096

static const char encode_usage[] =
    "usage: fnguard encode [--console URL] [--interval MS] "
    "[--sign KEYFILE] [--no-gzip] FILE\n"
    "       fnguard encode --genkey DIR\n"
    "Prints the TW_POLICY value for policy FILE and reports its size\n"
    "against Lambda's 4096-byte limit for all environment variables.\n"
    "  --console URL    consoleAddr for policy updates\n"
    "  --interval MS    updateIntervalMs (default 120000)\n"
    "  --sign KEYFILE   sign with this Ed25519 private key (PEM)\n"
    "  --no-gzip        never gzip (by default: gzip when smaller)\n"
    "  --genkey DIR     write DIR/fnguard-policy.key and .pub, print the\n"
    "                   public key for TW_POLICY_PUBKEY\n";

struct encode_opts {
	const char *console, *keyfile, *genkey_dir, *file;
	long long interval;
	bool no_gzip;
};

static int
genkey(const char *dir)
{
	uint8_t pub[SIGN_PUBKEY_LEN];
	const char *why;
	char *b64;

	if (sign_genkey(dir, pub, &why) == -1) {
		fprintf(stderr, "fnguard: encode: --genkey %s: %s\n", dir, why);
		return EXIT_FOUND;
	}
	if ((b64 = codec_b64_encode(pub, sizeof(pub))) == NULL)
		return EXIT_FOUND;
	printf("TW_POLICY_PUBKEY=%s\n", b64);
	fprintf(stderr, "fnguard: encode: wrote %s/fnguard-policy.key (keep "
	    "it secret) and %s/fnguard-policy.pub\n", dir, dir);
	free(b64);
	return EXIT_OK;
}

/* The smaller of data and its gzip; takes ownership of data. */
static uint8_t *
maybe_gzip(uint8_t *data, size_t *len, bool no_gzip, bool *zipped)
{
	uint8_t *z;
	size_t zlen;

	*zipped = false;
	if (no_gzip || codec_gzip(data, *len, &z, &zlen) == -1)
		return data;
	if (zlen >= *len) {
		free(z);
		return data;
	}
	free(data);
	*len = zlen;
	*zipped = true;
	return z;
}

static json_t *
build_wrapper(const struct encode_opts *o)
{
	json_error_t err;
	json_t *doc, *wrapper;

	if ((doc = json_load_file(o->file, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL)
		return NULL;
	/* A file that already is a wrapper keeps its fields. */
	if (json_object_get(doc, "policy") != NULL)
		wrapper = doc;
	else {
		wrapper = json_object();
		json_object_set_new(wrapper, "policy", doc);
	}
	if (o->console != NULL)
		json_object_set_new(wrapper, "consoleAddr",
		    json_string(o->console));
	if (o->interval > 0)
		json_object_set_new(wrapper, "updateIntervalMs",
		    json_integer(o->interval));
	return wrapper;
}

static char *
sign_wrapper(const struct encode_opts *o, uint8_t *payload, size_t len)
{
	uint8_t sig[SIGN_SIG_LEN];
	const char *why;
	char *p64, *s64, *text = NULL;
	json_t *signed_doc;

	if (sign_message(o->keyfile, payload, len, sig, &why) == -1) {
		fprintf(stderr, "fnguard: encode: --sign %s: %s\n", o->keyfile,
		    why);
		return NULL;
	}
	p64 = codec_b64_encode(payload, len);
	s64 = codec_b64_encode(sig, sizeof(sig));
	if (p64 != NULL && s64 != NULL) {
		signed_doc = json_pack("{s:s,s:s}", "payload", p64, "sig", s64);
		text = json_dumps(signed_doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(signed_doc);
	}
	free(p64);
	free(s64);
	return text;
}

static int
encode(const struct encode_opts *o)
{
	struct diags d;
	struct policy *pol;
	json_t *wrapper;
	uint8_t *data;
	char *text, *value;
	size_t len, total;
	bool hijacked, zipped;

	diags_init(&d);
	pol = policy_load_file(o->file, NULL, &d, &hijacked);
	cli_print_diags("encode", o->file, &d);
	diags_clear(&d);
	if (pol == NULL)
		return EXIT_FOUND;
	policy_free(pol);
	if ((wrapper = build_wrapper(o)) == NULL) {
		fprintf(stderr, "fnguard: encode: %s: cannot read\n", o->file);
		return EXIT_FOUND;
	}
	text = json_dumps(wrapper, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(wrapper);
	if (text == NULL)
		return EXIT_FOUND;
	len = strlen(text);
	data = maybe_gzip((uint8_t *)text, &len, o->no_gzip, &zipped);
	if (o->keyfile != NULL) {
		text = sign_wrapper(o, data, len);
		free(data);
		if (text == NULL)
			return EXIT_FOUND;
		len = strlen(text);
		data = maybe_gzip((uint8_t *)text, &len, o->no_gzip, &zipped);
	}
	value = codec_b64_encode(data, len);
	free(data);
	if (value == NULL)
		return EXIT_FOUND;
	printf("%s\n", value);
	total = strlen("TW_POLICY=") + strlen(value);
	fprintf(stderr, "fnguard: encode: TW_POLICY is %zu bytes%s%s; with "
	    "its name %zu of Lambda's %d bytes for all environment "
	    "variables\n", strlen(value), zipped ? " (gzip)" : "",
	    o->keyfile ? ", signed" : "", total, LAMBDA_ENV_LIMIT);
	free(value);
	if (total > LAMBDA_ENV_LIMIT) {
		fprintf(stderr, "fnguard: encode: %s: too large for Lambda "
		    "(%zu > %d bytes); serve it from the console instead\n",
		    o->file, total, LAMBDA_ENV_LIMIT);
		return EXIT_FOUND;
	}
	return EXIT_OK;
}

int
cmd_encode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "console", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "sign", required_argument, NULL, 's' },
		{ "no-gzip", no_argument, NULL, 'n' },
		{ "genkey", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct encode_opts o;
	char *end;
	int ch;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.console = optarg; break;
		case 's': o.keyfile = optarg; break;
		case 'n': o.no_gzip = true; break;
		case 'g': o.genkey_dir = optarg; break;
		case 'i':
			errno = 0;
			o.interval = strtoll(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o.interval < 1000)
				cli_usage("encode", "--interval takes "
				    "milliseconds, at least 1000");
			break;
		case 'h':
			fputs(encode_usage, stdout);
			return EXIT_OK;
		default:
			cli_bad_option("encode", ch, argv);
		}
	}
	if (o.genkey_dir != NULL) {
		if (optind != argc)
			cli_usage("encode", "--genkey takes no FILE");
		return genkey(o.genkey_dir);
	}
	if (argc - optind != 1)
		cli_usage("encode", "expected one policy FILE");
	o.file = argv[optind];
	return encode(&o);
}
