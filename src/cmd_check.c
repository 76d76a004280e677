/*
 * fnguard check [--print] [--policy-pubkey KEY] [FILE]
 *
 * Lints a policy: every error and warning, one line each, with its place.
 * Without FILE, checks the TW_POLICY variable.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fnguard/cli.h"

static const char check_usage[] =
    "usage: fnguard check [--print] [--policy-pubkey KEY] [FILE]\n"
    "Lints a policy (FILE, or the TW_POLICY variable): prints each error\n"
    "and warning on one line with its place; exits 1 when there is an "
    "error.\n"
    "  --print               write the normalised policy to stdout\n"
    "  --policy-pubkey KEY   require a valid Ed25519 signature\n";

int
cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "print", no_argument, NULL, 'p' },
		{ "policy-pubkey", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t key[SIGN_PUBKEY_LEN];
	const char *keyfile = NULL, *name, *env = getenv("TW_POLICY");
	struct policy *pol;
	struct diags d;
	bool print = false, have_key, hijacked;
	size_t warnings;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			print = true;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'h':
			fputs(check_usage, stdout);
			return EXIT_OK;
		default:
			cli_bad_option("check", ch, argv);
		}
	}
	if (argc - optind > 1)
		cli_usage("check", "one policy file at a time");
	if (argc == optind && (env == NULL || env[0] == '\0'))
		cli_usage("check", "no FILE given and TW_POLICY is not set");
	cli_pubkey("check", keyfile, key, &have_key);
	diags_init(&d);
	if (argc > optind) {
		name = argv[optind];
		pol = policy_load_file(name, have_key ? key : NULL, &d,
		    &hijacked);
	} else {
		name = "TW_POLICY";
		pol = policy_from_twpolicy(env, strlen(env),
		    have_key ? key : NULL, &d, &hijacked);
	}
	cli_print_diags("check", name, &d);
	warnings = d.count + d.dropped - d.errors;
	if (pol == NULL) {
		fprintf(stderr, "fnguard: check: %s: invalid: %zu error%s, "
		    "%zu warning%s\n", name, d.errors, d.errors == 1 ? "" : "s",
		    warnings, warnings == 1 ? "" : "s");
		diags_clear(&d);
		return EXIT_FOUND;
	}
	if (print) {
		char *text = policy_dump(pol);

		if (text != NULL)
			printf("%s\n", text);
		free(text);
	}
	fprintf(stderr, "fnguard: check: %s: valid: %zu rule%s, %zu warning%s\n",
	    name, pol->nrules, pol->nrules == 1 ? "" : "s", warnings,
	    warnings == 1 ? "" : "s");
	diags_clear(&d);
	policy_free(pol);
	return EXIT_OK;
}
