/* service — see service.h. */
#include "config.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/cli.h"
#include "fnguard/log.h"
#include "service.h"

extern char **environ;

bool
service_option(const char *cmd, struct service_opts *o, int ch,
    const char *arg)
{
	switch (ch) {
	case 'p': o->policy_path = arg; break;
	case 'k': o->keyfile = arg; break;
	case 'r': o->record_path = arg; break;
	case 'F': o->function = arg; break;
	case 'R': o->region = arg; break;
	case 'P': o->provider = arg; break;
	case 'A': o->account = arg; break;
	case 'T': o->runtime = arg; break;
	case 'a':
		if (o->naudit == SERVICE_MAX_AUDIT)
			cli_usage(cmd, "at most %d --audit", SERVICE_MAX_AUDIT);
		o->audit[o->naudit++] = arg;
		break;
	case 'L':
		if (strchr(arg, ':') == NULL ||
		    o->nlabels == IDENTITY_MAX_LABELS)
			cli_usage(cmd, "--label takes KEY:VALUE");
		o->labels[o->nlabels++] = arg;
		break;
	default:
		return false;
	}
	return true;
}

static bool
policy_changed(struct service *s)
{
	struct stat st;

	if (s->o->policy_path == NULL || stat(s->o->policy_path, &st) == -1)
		return false;
	if (s->have_stat && st.st_mtim.tv_sec == s->policy_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == s->policy_stat.st_mtim.tv_nsec &&
	    st.st_size == s->policy_stat.st_size &&
	    st.st_ino == s->policy_stat.st_ino)
		return false;
	s->policy_stat = st;
	s->have_stat = true;
	return true;
}

/* Everything but the policy: the big tables are made while the heap is
 * still small, so they come from fresh zero pages that cost memory only
 * as they fill, not from the space the policy parser leaves behind. */
int
service_setup(struct service *s, const char *cmd,
    const struct service_opts *o)
{
	struct guard *g = &s->guard;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->cmd = cmd;
	s->o = o;
	identity_from_env(&g->identity, environ);
	identity_override(&g->identity, o->function, o->region, o->provider,
	    o->account, o->runtime);
	for (i = 0; i < o->nlabels; i++)
		identity_add_label(&g->identity, o->labels[i]);
	if ((g->audit = audit_new(NULL)) == NULL)
		return -1;
	for (i = 0; i < o->naudit; i++)
		if (audit_add_sink(g->audit, o->audit[i]) == -1) {
			log_warn("--audit %s", o->audit[i]);
			return -1;
		}
	if (o->naudit == 0)
		audit_add_sink(g->audit, "-");
	g->learned = ipmap_new(IPMAP_DEFAULT_MAX, IPMAP_DEFAULT_PER_NAME,
	    IPMAP_DEFAULT_GRACE_S);
	g->procs = procfinder_new(50);
	if (o->record_path != NULL &&
	    (g->record = fopen(o->record_path, "a")) == NULL) {
		log_warn("--record %s", o->record_path);
		return -1;
	}
	return g->learned != NULL && g->procs != NULL ? 0 : -1;
}

int
service_load_policy(struct service *s)
{
	struct policy_source src;
	struct policy *pol;
	bool failed;

	pol = cli_load_policy(s->cmd, s->o->policy_path, s->o->keyfile,
	    s->guard.audit, NULL, 0, true, &s->guard.identity, &src, &failed);
	if (failed)
		return -1;
	if (src.name == NULL)
		log_warnx("no policy (--policy or TW_POLICY): everything is "
		    "allowed");
	guard_set_policy(&s->guard, pol);
	malloc_trim(0);		/* the parser's JSON tree is gone */
	policy_changed(s);
	return 0;
}

void
service_reload(struct service *s, const char *why)
{
	struct policy_source src;
	struct policy *pol;
	bool failed;

	if (s->o->policy_path == NULL)
		return;
	pol = cli_load_policy(s->cmd, s->o->policy_path, s->o->keyfile,
	    s->guard.audit, NULL, 0, true, &s->guard.identity, &src, &failed);
	if (failed) {
		log_warnx("policy %s: reload (%s) refused; the running policy "
		    "stays", s->o->policy_path, why);
		return;
	}
	guard_set_policy(&s->guard, pol);
	malloc_trim(0);
	log_info("policy %s: reloaded (%s): %zu rules, rule %s applies",
	    s->o->policy_path, why, pol->nrules, s->guard.rule != NULL ?
	    s->guard.rule->name : "(none)");
	if (s->reloaded != NULL)
		s->reloaded(s, s->reloaded_arg);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct service *s = arg;

	(void)fd;
	(void)what;
	audit_tick(s->guard.audit, cli_now_ms(), false);
	audit_flush(s->guard.audit);
	if (s->guard.record != NULL)
		fflush(s->guard.record);
	if (policy_changed(s))
		service_reload(s, "file changed");
}

int
service_start(struct service *s, struct event_base *base)
{
	const struct timeval second = { 1, 0 };

	s->base = base;
	if ((s->tick = event_new(base, -1, EV_PERSIST, tick_cb, s)) == NULL ||
	    event_add(s->tick, &second) == -1)
		return -1;
	return 0;
}

void
service_clear(struct service *s)
{
	if (s->tick != NULL)
		event_free(s->tick);
	s->tick = NULL;
	guard_clear(&s->guard);
}
