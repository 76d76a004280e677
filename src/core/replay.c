/* replay — see include/fnguard/replay.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/replay.h"

struct replayer {
	const struct policy *policy;
	const struct replay_overrides *ov;
	struct ipmap *learned;
	int64_t last_time_ms;
};

struct replayer *
replayer_new(const struct policy *pol, const struct replay_overrides *ov)
{
	struct replayer *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->policy = pol;
	r->ov = ov;
	r->learned = ipmap_new(IPMAP_DEFAULT_MAX, IPMAP_DEFAULT_PER_NAME,
	    IPMAP_DEFAULT_GRACE_S);
	if (r->learned == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
replayer_free(struct replayer *r)
{
	if (r == NULL)
		return;
	ipmap_free(r->learned);
	free(r);
}

static const char *
choose(const char *override, const char *own, const char *dflt)
{
	if (override != NULL)
		return override;
	return own != NULL ? own : dflt;
}

void
replayer_identity(const struct replayer *r, const struct event *ev,
    struct identity *id)
{
	const struct replay_overrides *ov = r->ov;
	size_t i;

	memset(id, 0, sizeof(*id));
	id->function = choose(ov ? ov->function : NULL, ev->function, "");
	id->region = choose(ov ? ov->region : NULL, ev->region, "");
	id->provider = choose(ov ? ov->provider : NULL, ev->provider, "others");
	id->account = choose(ov ? ov->account : NULL, ev->account, "");
	id->runtime = id->request_id = "";
	if (ov != NULL && ov->nlabels > 0) {
		for (i = 0; i < ov->nlabels; i++)
			id->labels[id->nlabels++] = ov->labels[i];
		return;
	}
	for (i = 0; i < ev->nlabels && i < IDENTITY_MAX_LABELS; i++)
		id->labels[id->nlabels++] = ev->labels[i];
}

void
replayer_eval(struct replayer *r, const struct event *ev, struct verdict *v)
{
	struct identity id;
	struct event e = *ev;

	/* Events without a time are taken to happen when the one before. */
	if (e.time_ms != 0)
		r->last_time_ms = e.time_ms;
	e.time_ms = r->last_time_ms;
	if (e.kind == EVENT_CONNECT || e.kind == EVENT_SENDTO)
		e.resolved = ipmap_lookup(r->learned, &e.ip, e.time_ms, NULL);
	replayer_identity(r, &e, &id);
	rules_eval(r->policy, &id, &e, v);
	/* alert lets the answer through, so it teaches as allow does */
	if (e.kind == EVENT_DNS && v->verdict != VERDICT_PREVENT &&
	    e.domain != NULL)
		ipmap_learn(r->learned, e.domain, e.answers, e.nanswers, e.ttl,
		    e.time_ms);
}

bool
replayer_resolved(const struct replayer *r, const struct event *ev)
{
	return ipmap_lookup(r->learned, &ev->ip, ev->time_ms != 0 ?
	    ev->time_ms : r->last_time_ms, NULL);
}

int
replay_read_file(const char *path, replay_line_fn fn, void *arg)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL, err[256];
	size_t cap = 0, lineno = 0, i;
	ssize_t len;
	struct event_doc doc;

	if (f == NULL)
		return -1;
	while ((len = getline(&line, &cap, f)) != -1) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			len--;
		for (i = 0; i < (size_t)len && (line[i] == ' ' ||
		    line[i] == '\t'); i++)
			;
		if (i == (size_t)len)
			continue;
		if (len > REPLAY_MAX_LINE) {
			fn(path, lineno, NULL, "line too long", arg);
			continue;
		}
		if (event_parse(line, (size_t)len, &doc, err, sizeof(err)) == -1) {
			fn(path, lineno, NULL, err, arg);
			continue;
		}
		fn(path, lineno, &doc, NULL, arg);
		event_doc_clear(&doc);
	}
	free(line);
	if (ferror(f)) {
		if (f != stdin)
			fclose(f);
		errno = EIO;
		return -1;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}
