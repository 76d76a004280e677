/* cli — see include/fnguard/cli.h. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fnguard/audit.h"
#include "fnguard/cli.h"

void
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fnguard: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'fnguard %s --help')\n", cmd);
	exit(EXIT_USAGE);
}

void
cli_bad_option(const char *cmd, int ch, char **argv)
{
	const char *opt = argv[optind - 1];

	if (ch == ':')
		cli_usage(cmd, "option '%s' needs a value", opt);
	if (optopt != 0 && opt[0] == '-' && opt[1] != '-')
		cli_usage(cmd, "unknown option '-%c'", optopt);
	cli_usage(cmd, "unknown option '%s'", opt);
}

void
cli_pubkey(const char *cmd, const char *keyfile,
    uint8_t key[SIGN_PUBKEY_LEN], bool *have)
{
	const char *env = getenv("TW_POLICY_PUBKEY"), *why;

	*have = false;
	if (keyfile != NULL) {
		if (sign_pubkey_load(keyfile, key, &why) == -1) {
			fprintf(stderr, "fnguard: %s: %s: %s\n", cmd, keyfile,
			    why);
			exit(EXIT_FOUND);
		}
		*have = true;
	} else if (env != NULL && env[0] != '\0') {
		if (sign_pubkey_parse(env, strlen(env), key, &why) == -1) {
			fprintf(stderr, "fnguard: %s: TW_POLICY_PUBKEY: %s\n",
			    cmd, why);
			exit(EXIT_FOUND);
		}
		*have = true;
	}
}

void
cli_print_diags(const char *cmd, const char *name, const struct diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		const struct diag *g = &d->items[i];

		fprintf(stderr, "fnguard: %s: %s: %s%s%s%s\n", cmd, name,
		    g->level == DIAG_WARNING ? "warning: " : "", g->place,
		    g->place[0] != '\0' ? ": " : "", g->message);
	}
	if (d->dropped > 0)
		fprintf(stderr, "fnguard: %s: %s: %zu more messages not shown\n",
		    cmd, name, d->dropped);
}

int64_t
cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
audit_hijack(struct audit *shared, const char *const *dests, size_t n,
    const struct identity *id)
{
	struct audit_record rec;
	struct audit *a = shared;
	size_t i;

	if (a == NULL && (a = audit_new(NULL)) == NULL)
		return;
	if (shared == NULL) {
		for (i = 0; i < n; i++)
			if (audit_add_sink(a, dests[i]) == -1)
				fprintf(stderr, "fnguard: audit: %s: cannot "
				    "open\n", dests[i]);
		if (n == 0)
			audit_add_sink(a, "-");
	}
	audit_record_hijack(&rec, id, cli_now_ms());
	audit_submit(a, &rec, cli_now_ms());
	if (shared == NULL)
		audit_free(a);
	else
		audit_flush(a);
}

struct policy *
cli_load_policy(const char *cmd, const char *path, const char *keyfile,
    struct audit *audit, const char *const *audit_dests, size_t naudit,
    bool audit_invalid, const struct identity *id, struct policy_source *src,
    bool *failed)
{
	uint8_t key[SIGN_PUBKEY_LEN];
	const char *env = getenv("TW_POLICY");
	struct policy *pol = NULL;
	struct diags d;
	bool have_key, hijacked = false;

	*failed = false;
	src->name = NULL;
	src->from_env = false;
	cli_pubkey(cmd, keyfile, key, &have_key);
	diags_init(&d);
	if (path != NULL) {
		src->name = path;
		pol = policy_load_file(path, have_key ? key : NULL, &d,
		    &hijacked);
	} else if (env != NULL && env[0] != '\0') {
		src->name = "TW_POLICY";
		src->from_env = true;
		pol = policy_from_twpolicy(env, strlen(env),
		    have_key ? key : NULL, &d, &hijacked);
	} else
		return NULL;
	cli_print_diags(cmd, src->name, &d);
	diags_clear(&d);
	if (pol == NULL) {
		*failed = true;
		if (hijacked || audit_invalid)
			audit_hijack(audit, audit_dests, naudit, id);
	}
	return pol;
}
