/*
 * guard — what every live enforcement point shares: the running policy,
 * the function's identity, learned addresses, the audit shipper and the
 * recording. guard_judge() is the one path from an observed act to its
 * verdict, its audit record and its recorded event.
 */
#ifndef FNGUARD_GUARD_H
#define FNGUARD_GUARD_H

#include <stdio.h>

#include "fnguard/audit.h"
#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/ipmap.h"
#include "fnguard/policy.h"
#include "fnguard/procinfo.h"
#include "fnguard/rules.h"

struct guard {
	struct policy *policy;		/* owned; NULL = allow everything */
	const struct rule *rule;	/* selected for identity */
	struct identity identity;
	struct audit *audit;		/* owned */
	struct ipmap *learned;		/* owned */
	struct procfinder *procs;	/* owned */
	FILE *record;			/* owned, or NULL */
	uint64_t recorded, record_errors;
};

/* Takes ownership of pol; selects its rule for the identity. */
void guard_set_policy(struct guard *, struct policy *pol);

/*
 * Evaluates ev at now_ms with the running rule (connect events are looked
 * up among learned addresses first), submits an audit record when the
 * verdict is not allow, and writes ev to the recording. ev->process_path
 * and friends should be filled before (see guard_attribute).
 */
void guard_judge(struct guard *, struct event *ev, int64_t now_ms,
    struct verdict *out);

/* Submits the audit record of a verdict that is not allow. */
void guard_audit(struct guard *, const struct event *ev,
    const struct verdict *v, int64_t now_ms);

/* Evaluates without auditing or recording: may the act go ahead? */
void guard_peek(const struct guard *, const struct event *ev,
    struct verdict *out);

/* Fills ev's process fields from p (or "unknown" when p is NULL). */
void guard_attribute(struct event *ev, const struct procinfo *p);

/* Writes ev to the recording (guard_judge does this itself). */
void guard_record(struct guard *, const struct event *ev);

void guard_clear(struct guard *);

#endif
