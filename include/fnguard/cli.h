/*
 * cli — what the subcommands share: usage errors, the policy source
 * (--policy, TW_POLICY), the verification key, identity flags.
 */
#ifndef FNGUARD_CLI_H
#define FNGUARD_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "fnguard/audit.h"
#include "fnguard/identity.h"
#include "fnguard/policy.h"
#include "fnguard/sign.h"

/* Exit statuses (SPEC section 1). */
#define EXIT_OK 0
#define EXIT_FOUND 1
#define EXIT_USAGE 2

/* "fnguard: CMD: MESSAGE" and exit 2. */
void cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* After getopt_long returned '?' or ':' (with opterr = 0 and an
 * optstring starting "+:"): the one-line usage error naming the option. */
void cli_bad_option(const char *cmd, int ch, char **argv)
    __attribute__((noreturn));

/*
 * The configured verification key: --policy-pubkey FILE (keyfile) or the
 * TW_POLICY_PUBKEY variable. Returns 0 with *have false when none; exits 1
 * on a key that does not parse.
 */
void cli_pubkey(const char *cmd, const char *keyfile,
    uint8_t key[SIGN_PUBKEY_LEN], bool *have);

/* Where a policy came from, for messages. */
struct policy_source {
	const char *name;	/* the file name, or "TW_POLICY" */
	bool from_env;
};

/*
 * Loads the policy from path, else from TW_POLICY; NULL with src->name NULL
 * when there is neither (everything allowed). Prints every diagnostic as
 * one line. On a failure returns NULL with *failed set, and audits the
 * policyHijacked record (SPEC section 3) into audit — or, when audit is
 * NULL, to the destinations given (stderr when none) — when signing was at
 * fault, or when audit_invalid is set, for any refused policy (SPEC
 * section 1: "the error is logged and audited").
 */
struct policy *cli_load_policy(const char *cmd, const char *path,
    const char *keyfile, struct audit *audit, const char *const *audit_dests,
    size_t naudit, bool audit_invalid, const struct identity *id,
    struct policy_source *src, bool *failed);

/* Prints diags as "fnguard: CMD: NAME: [warning: ]PLACE: MESSAGE". */
void cli_print_diags(const char *cmd, const char *name,
    const struct diags *d);

/* Now, in Unix milliseconds. */
int64_t cli_now_ms(void);

#endif
