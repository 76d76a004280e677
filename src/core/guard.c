/* guard — see include/fnguard/guard.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fnguard/guard.h"
#include "fnguard/log.h"

void
guard_set_policy(struct guard *g, struct policy *pol)
{
	/* Built whole off to the side, swapped in by pointer. */
	policy_free(g->policy);
	g->policy = pol;
	g->rule = rules_select(pol, &g->identity);
}

void
guard_peek(const struct guard *g, const struct event *ev, struct verdict *v)
{
	rules_eval_rule(g->rule, ev, v);
}

void
guard_attribute(struct event *ev, const struct procinfo *p)
{
	if (p == NULL) {
		ev->process_path = "unknown";
		ev->pid = 0;
		ev->command = NULL;
		ev->user = NULL;
		return;
	}
	ev->process_path = p->exe;
	ev->pid = p->pid;
	ev->command = p->command[0] != '\0' ? p->command : NULL;
	ev->user = p->user[0] != '\0' ? p->user : NULL;
}

void
guard_record(struct guard *g, const struct event *ev)
{
	json_t *o;
	struct event e;

	if (g->record == NULL)
		return;
	e = *ev;
	e.function = g->identity.function;
	e.region = g->identity.region;
	e.provider = g->identity.provider;
	e.account = g->identity.account;
	o = event_to_json(&e);
	if (json_dumpf(o, g->record, JSON_COMPACT | JSON_PRESERVE_ORDER) == -1 ||
	    fputc('\n', g->record) == EOF)
		g->record_errors++;
	else
		g->recorded++;
	json_decref(o);
}

void
guard_audit(struct guard *g, const struct event *ev, const struct verdict *v,
    int64_t now_ms)
{
	if (v->verdict == VERDICT_ALLOW || g->audit == NULL)
		return;
	audit_verdict(g->audit, &g->identity, ev, v, now_ms);
}

void
guard_judge(struct guard *g, struct event *ev, int64_t now_ms,
    struct verdict *v)
{
	if (ev->time_ms == 0)
		ev->time_ms = now_ms;
	if ((ev->kind == EVENT_CONNECT || ev->kind == EVENT_SENDTO) &&
	    g->learned != NULL)
		ev->resolved = ipmap_lookup(g->learned, &ev->ip, now_ms, NULL);
	rules_eval_rule(g->rule, ev, v);
	guard_audit(g, ev, v, now_ms);
	guard_record(g, ev);
}

void
guard_clear(struct guard *g)
{
	policy_free(g->policy);
	audit_free(g->audit);
	ipmap_free(g->learned);
	procfinder_free(g->procs);
	if (g->record != NULL && fclose(g->record) != 0)
		log_warn("record");
	memset(g, 0, sizeof(*g));
}
