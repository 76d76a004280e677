/*
 * rules — the one rule engine: which rule applies to a function (scope), and
 * what that rule says of an event. Pure: no I/O, no globals, no allocation;
 * the resolver, the proxy, the tracer, replay and the tests all call this.
 */
#ifndef FNGUARD_RULES_H
#define FNGUARD_RULES_H

#include <stdbool.h>

#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/policy.h"

enum verdict_kind { VERDICT_ALLOW, VERDICT_ALERT, VERDICT_PREVENT };

enum attack_type {
	ATTACK_NONE,
	ATTACK_DENIED_PROCESS,		/* explicitlyDeniedProcess */
	ATTACK_CRYPTO_MINER,		/* cryptoMinerProcess */
	ATTACK_DENIED_IP,		/* explicitlyDeniedIP */
	ATTACK_DENIED_OUTBOUND_PORT,	/* explicitlyDeniedOutboundPort */
	ATTACK_DENIED_LISTENING_PORT,	/* explicitlyDeniedListeningPort */
	ATTACK_DENIED_DNS,		/* explicitlyDeniedDNS */
	ATTACK_REG_FILE_ACCESS,		/* regFileAccess */
	ATTACK_POLICY_HIJACKED,		/* policyHijacked */
	ATTACK_TYPE_COUNT
};

/* Which check denied, for messages and for replay's table. */
enum deny_reason {
	REASON_NONE,
	REASON_NOT_WHITELISTED,
	REASON_BLACKLISTED,
	REASON_BLOCK_ALL_BINARIES,
	REASON_MINER_NAME,
	REASON_MINER_ARGUMENTS,
	REASON_MINER_TRAFFIC,		/* stratum in a connection's bytes */
	REASON_NOT_RESOLVED,		/* requireResolved */
	REASON_DOMAIN,			/* SNI/Host against network domains */
	REASON_DOMAIN_DNS,		/* SNI/Host against the dns lists */
	REASON_INBOUND_SOURCE,
};

struct verdict {
	enum verdict_kind verdict;
	enum attack_type attack;
	enum deny_reason reason;
	const struct rule *rule;	/* the rule that applied; NULL: none */
	const char *object;		/* the denied path or name, if any */
};

/* Does the rule look at a connection's first bytes (names on the wire,
 * miner protocols)? Then the proxy peeks before it connects. */
bool rules_needs_payload(const struct rule *);

/* The first enabled rule whose scope matches id; NULL when none does. */
const struct rule *rules_select(const struct policy *,
    const struct identity *);

/*
 * The verdict of policy pol for event ev of the function id. With no policy
 * or no matching rule, everything is allowed (SPEC section 1). The caller
 * sets ev->resolved for connect events when requireResolved may matter.
 */
void rules_eval(const struct policy *pol, const struct identity *id,
    const struct event *ev, struct verdict *out);
/* The same with the rule already selected (may be NULL). */
void rules_eval_rule(const struct rule *rule, const struct event *ev,
    struct verdict *out);

/* Crypto-miner markers in an executable's path or its command line. */
enum deny_reason rules_miner_check(const char *path, const char *command);

const char *verdict_name(enum verdict_kind);
const char *attack_type_name(enum attack_type);
int attack_type_parse(const char *name, enum attack_type *out);

#endif
