/* audit — see include/fnguard/audit.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "fnguard/audit.h"
#include "fnguard/log.h"

#define AUDIT_MAX_SINKS 8
#define AGG_PROBES 8

/* ---- records ---- */

static const char *
or_unknown(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "unknown";
}

static const char *
severity_of(enum attack_type a)
{
	switch (a) {
	case ATTACK_CRYPTO_MINER:
	case ATTACK_POLICY_HIJACKED:
	case ATTACK_DENIED_PROCESS:
		return "high";
	case ATTACK_REG_FILE_ACCESS:
		return "low";
	default:
		return "medium";
	}
}

static void copy_field(char *dst, size_t size, const char *s);

/* The message with raw bytes from the process in it, then made valid UTF-8
 * and cut at a character boundary like every other field. */
static void message_raw(const struct verdict *, const struct event *,
    char *buf, size_t len);

void
audit_message(const struct verdict *v, const struct event *ev, char *buf,
    size_t len)
{
	char raw[AUDIT_MSG_LEN * 2];

	message_raw(v, ev, raw, sizeof(raw));
	copy_field(buf, len, raw);
}

static void
message_raw(const struct verdict *v, const struct event *ev, char *buf,
    size_t len)
{
	const char *proc = or_unknown(ev->process_path);
	const char *cmd = ev->command != NULL ? ev->command : proc;
	char ip[48];

	ipaddr_format(&ev->ip, ip, sizeof(ip));
	switch (v->attack) {
	case ATTACK_DENIED_DNS:
		if (ev->kind == EVENT_DNS)
			snprintf(buf, len, "DNS resolution of domain name %s "
			    "triggered by %s explicitly denied by a runtime "
			    "rule.", or_unknown(v->object), proc);
		else	/* fnguard extension: a name seen on the wire */
			snprintf(buf, len, "Outbound connection %s to domain "
			    "%s (IP: %s) is explicitly denied by a runtime "
			    "rule.", proc, or_unknown(v->object), ip);
		break;
	case ATTACK_DENIED_PROCESS:
		snprintf(buf, len, "%s launched and is explicitly denied by "
		    "runtime rule. Full command %s", or_unknown(v->object), cmd);
		break;
	case ATTACK_CRYPTO_MINER:
		snprintf(buf, len, "%s launched and is identified as a crypto "
		    "miner. Full command: %s", proc, cmd);
		break;
	case ATTACK_DENIED_IP:
		if (ev->kind == EVENT_ACCEPT)	/* fnguard extension */
			snprintf(buf, len, "Inbound connection to %s on port "
			    "%d from IP %s is explicitly denied by a runtime "
			    "rule", proc, ev->port, ip);
		else
			snprintf(buf, len, "Outbound connection %s to IP %s is "
			    "explicitly denied by a runtime rule", proc, ip);
		break;
	case ATTACK_DENIED_OUTBOUND_PORT:
		snprintf(buf, len, "Outbound connection %s to port %d (IP: %s) "
		    "is explicitly denied by a runtime rule.", proc, ev->port,
		    ip);
		break;
	case ATTACK_DENIED_LISTENING_PORT:
		snprintf(buf, len, "Process %s is listening on port %d "
		    "explicitly denied by a runtime rule", proc, ev->port);
		break;
	case ATTACK_REG_FILE_ACCESS:
		snprintf(buf, len, "%s access a suspicious path of %s", proc,
		    or_unknown(v->object));
		break;
	case ATTACK_POLICY_HIJACKED:
		snprintf(buf, len, "Possible tampering of Defender policy "
		    "detected.");
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

/*
 * Copies s into dst: invalid UTF-8 bytes (paths and commands come from
 * processes and may hold any bytes) become '?', and a value that does not
 * fit is cut at a character boundary and ends in "...".
 */
static void
copy_field(char *dst, size_t size, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left, o = 0, n, room;

	if (s == NULL) {
		dst[0] = '\0';
		return;
	}
	/* Sanitising keeps the length, so the whole value fits or not. */
	left = strlen(s);
	if (left < size) {
		size_t i;

		for (i = 0; i < left && p[i] < 0x80; i++)
			;
		if (i == left) {	/* plain ASCII: nothing to mend */
			memcpy(dst, s, left + 1);
			return;
		}
	}
	room = left < size ? size - 1 : size - 4;
	while (left > 0) {
		n = utf8_seq(p, left);
		if (o + (n ? n : 1) > room)
			break;
		if (n == 0) {
			dst[o++] = '?';
			n = 1;
		} else {
			memcpy(dst + o, p, n);
			o += n;
		}
		p += n;
		left -= n;
	}
	if (left > 0) {
		memcpy(dst + o, "...", 4);
		return;
	}
	dst[o] = '\0';
}

static const char *
pick(const char *preferred, const char *fallback)
{
	return preferred != NULL && preferred[0] != '\0' ? preferred :
	    fallback;
}

static void
record_identity(struct audit_record *rec, const struct identity *id,
    const struct event *ev)
{
	static const struct identity none = { .function = "", .region = "",
	    .provider = "", .account = "", .runtime = "", .request_id = "" };

	if (id == NULL)
		id = &none;
	copy_field(rec->function, sizeof(rec->function),
	    pick(id->function, ev ? ev->function : NULL));
	copy_field(rec->region, sizeof(rec->region),
	    pick(id->region, ev ? ev->region : NULL));
	/* "others" means the environment said nothing: a recorded event's
	 * own provider is better. */
	copy_field(rec->provider, sizeof(rec->provider),
	    ev != NULL && ev->provider != NULL && ev->provider[0] != '\0' &&
	    (id->provider == NULL || id->provider[0] == '\0' ||
	    strcmp(id->provider, "others") == 0) ? ev->provider :
	    pick(id->provider, "others"));
	copy_field(rec->account, sizeof(rec->account),
	    pick(id->account, ev ? ev->account : NULL));
	copy_field(rec->runtime, sizeof(rec->runtime), id->runtime);
	copy_field(rec->request_id, sizeof(rec->request_id), id->request_id);
}

void
audit_record_from_verdict(struct audit_record *rec, const struct identity *id,
    const struct event *ev, const struct verdict *v)
{
	/* Every field is written below (no memset of the whole record: it
	 * is several KiB and this runs once per denial). */
	rec->ip[0] = '\0';
	rec->filepath[0] = '\0';
	rec->time_ms = ev->time_ms;
	record_identity(rec, id, ev);
	rec->type = event_type_name(ev->kind);
	rec->attack = v->attack;
	rec->effect = v->verdict;
	copy_field(rec->rule_name, sizeof(rec->rule_name),
	    v->rule != NULL ? v->rule->name : "");
	audit_message(v, ev, rec->msg, sizeof(rec->msg));
	rec->count = 1;
	rec->severity = severity_of(v->attack);
	copy_field(rec->process_path, sizeof(rec->process_path),
	    or_unknown(ev->process_path));
	rec->pid = ev->pid;
	copy_field(rec->command, sizeof(rec->command), ev->command);
	copy_field(rec->user, sizeof(rec->user), ev->user);
	copy_field(rec->domain, sizeof(rec->domain), ev->domain);
	if (ev->ip.family != 0)
		ipaddr_format(&ev->ip, rec->ip, sizeof(rec->ip));
	rec->port = ev->port;
	if (v->attack == ATTACK_REG_FILE_ACCESS)
		copy_field(rec->filepath, sizeof(rec->filepath), v->object);
	else if (event_is_filesystem(ev->kind))
		copy_field(rec->filepath, sizeof(rec->filepath), ev->filepath);
}

void
audit_record_hijack(struct audit_record *rec, const struct identity *id,
    int64_t now_ms)
{
	struct verdict v = { .verdict = VERDICT_PREVENT,
	    .attack = ATTACK_POLICY_HIJACKED };
	struct event ev;

	event_init(&ev, EVENT_DNS);
	memset(rec, 0, sizeof(*rec));
	rec->time_ms = now_ms;
	record_identity(rec, id, NULL);
	rec->type = "processes";
	rec->attack = ATTACK_POLICY_HIJACKED;
	rec->effect = VERDICT_PREVENT;
	audit_message(&v, &ev, rec->msg, sizeof(rec->msg));
	rec->count = 1;
	rec->severity = severity_of(ATTACK_POLICY_HIJACKED);
	rec->port = -1;
}

/*
 * A JSON writer for the one shape an audit record has: fields in SPEC
 * order, strings escaped per RFC 8259 section 7. Strings are valid UTF-8
 * already (copy_field), so only quotes, backslashes and control bytes need
 * escapes. It is several times faster than building a jansson tree, which
 * matters when a flood of distinct denials is being written.
 */
struct jw {
	char *buf;
	size_t len, off;
	bool overflow;
	bool first;
};

static void
jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->off + n >= w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->off, s, n);
	w->off += n;
}

static void
jw_string(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *run;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	jw_raw(w, "\"", 1);
	for (;;) {
		/* Copy the longest run that needs no escape at once. */
		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\' &&
		    *p != 0x7f; p++)
			;
		jw_raw(w, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p == '"' || *p == '\\') {
			esc[1] = (char)*p;
			jw_raw(w, esc, 2);
			esc[1] = 'u';
		} else {
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			jw_raw(w, esc, 6);
		}
		p++;
	}
	jw_raw(w, "\"", 1);
}

static void
jw_key(struct jw *w, const char *key)
{
	jw_raw(w, w->first ? "{" : ",", 1);
	w->first = false;
	jw_string(w, key);
	jw_raw(w, ":", 1);
}

static void
jw_field(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	jw_string(w, v);
}

static void
jw_nonempty(struct jw *w, const char *key, const char *v)
{
	if (v[0] != '\0')
		jw_field(w, key, v);
}

static void
jw_number(struct jw *w, const char *key, long long v)
{
	char num[24];

	jw_key(w, key);
	jw_raw(w, num, (size_t)snprintf(num, sizeof(num), "%lld", v));
}

size_t
audit_record_json(const struct audit_record *rec, char *buf, size_t len)
{
	struct jw w = { buf, len, 0, false, true };
	char t[40];

	event_format_time(rec->time_ms, t, sizeof(t));
	jw_field(&w, "time", t);
	jw_field(&w, "function", rec->function);
	jw_field(&w, "region", rec->region);
	jw_field(&w, "provider", rec->provider);
	jw_field(&w, "accountID", rec->account);
	jw_field(&w, "runtime", rec->runtime);
	jw_field(&w, "requestID", rec->request_id);
	jw_field(&w, "type", rec->type);
	jw_field(&w, "attackType", attack_type_name(rec->attack));
	jw_field(&w, "effect", verdict_name(rec->effect));
	jw_field(&w, "ruleName", rec->rule_name);
	jw_field(&w, "msg", rec->msg);
	jw_number(&w, "count", (long long)rec->count);
	jw_field(&w, "severity", rec->severity);
	jw_nonempty(&w, "processPath", rec->process_path);
	if (rec->pid > 0)
		jw_number(&w, "pid", rec->pid);
	jw_nonempty(&w, "command", rec->command);
	jw_nonempty(&w, "user", rec->user);
	jw_nonempty(&w, "domain", rec->domain);
	jw_nonempty(&w, "ip", rec->ip);
	if (rec->port >= 0)
		jw_number(&w, "port", rec->port);
	jw_nonempty(&w, "filepath", rec->filepath);
	jw_raw(&w, "}\n", 2);
	return w.overflow ? 0 : w.off;
}

/* ---- the shipper ---- */

struct agg_slot {
	uint64_t hash;		/* 0 = free */
	int64_t window_end;
	uint64_t pending;
	struct audit_record rec;
};

struct audit {
	struct audit_record *queue;
	size_t qsize, qhead, qlen;
	struct agg_slot *agg;
	size_t nagg;
	int64_t window_ms;
	struct sink sinks[AUDIT_MAX_SINKS];
	size_t nsinks;
	struct audit_stats stats;
	uint64_t dropped_reported;
};

static const struct sink_ops *const sink_table[] = { &sink_file_ops, NULL };

struct audit *
audit_new(const struct audit_config *cfg)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->qsize = cfg && cfg->queue_size ? cfg->queue_size : 512;
	a->nagg = cfg && cfg->aggregate_slots ? cfg->aggregate_slots : 512;
	a->window_ms = cfg && cfg->window_ms ? cfg->window_ms : 10000;
	a->queue = calloc(a->qsize, sizeof(*a->queue));
	a->agg = calloc(a->nagg, sizeof(*a->agg));
	if (a->queue == NULL || a->agg == NULL) {
		free(a->queue);
		free(a->agg);
		free(a);
		return NULL;
	}
	return a;
}

void
audit_free(struct audit *a)
{
	size_t i;

	if (a == NULL)
		return;
	audit_tick(a, INT64_MAX, true);
	audit_flush(a);
	for (i = 0; i < a->nsinks; i++)
		a->sinks[i].ops->close(&a->sinks[i]);
	free(a->queue);
	free(a->agg);
	free(a);
}

int
audit_add_sink(struct audit *a, const char *dest)
{
	size_t i;

	if (a->nsinks == AUDIT_MAX_SINKS) {
		errno = ENOSPC;
		return -1;
	}
	for (i = 0; sink_table[i] != NULL; i++) {
		if (!sink_table[i]->accepts(dest))
			continue;
		memset(&a->sinks[a->nsinks], 0, sizeof(a->sinks[0]));
		a->sinks[a->nsinks].ops = sink_table[i];
		if (sink_table[i]->open(&a->sinks[a->nsinks], dest) == -1)
			return -1;
		a->nsinks++;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

static uint64_t
fnv(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (h ^ 0xff) * UINT64_C(1099511628211);
}

/* What makes two records "identical" (SPEC section 4). */
static uint64_t
record_key(const struct audit_record *r)
{
	uint64_t h = UINT64_C(1469598103934665603);

	h = (h ^ (uint64_t)r->attack ^ ((uint64_t)r->effect << 8)) *
	    UINT64_C(1099511628211);
	h = fnv(h, r->rule_name);
	h = fnv(h, r->process_path);
	h = fnv(h, r->domain);
	h = fnv(h, r->ip);
	h = (h ^ (uint64_t)(r->port + 1)) * UINT64_C(1099511628211);
	h = fnv(h, r->filepath);
	return h | 1;
}

static bool
same_record(const struct audit_record *x, const struct audit_record *y)
{
	return x->attack == y->attack && x->effect == y->effect &&
	    x->port == y->port && strcmp(x->rule_name, y->rule_name) == 0 &&
	    strcmp(x->process_path, y->process_path) == 0 &&
	    strcmp(x->domain, y->domain) == 0 && strcmp(x->ip, y->ip) == 0 &&
	    strcmp(x->filepath, y->filepath) == 0;
}

static void
enqueue(struct audit *a, const struct audit_record *rec)
{
	if (a->qlen == a->qsize) {
		a->stats.dropped++;
		return;
	}
	a->queue[(a->qhead + a->qlen) % a->qsize] = *rec;
	a->qlen++;
}

void
audit_submit(struct audit *a, const struct audit_record *rec, int64_t now_ms)
{
	uint64_t key = record_key(rec);
	struct agg_slot *free_slot = NULL;
	size_t i;

	a->stats.submitted++;
	for (i = 0; i < AGG_PROBES; i++) {
		struct agg_slot *s = &a->agg[(key + i) % a->nagg];

		if (s->hash == 0) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (s->hash == key && same_record(&s->rec, rec) &&
		    now_ms < s->window_end) {
			s->pending += rec->count;
			a->stats.aggregated++;
			return;
		}
	}
	/* First of its kind in this window: out at once, and remembered. */
	enqueue(a, rec);
	if (free_slot != NULL) {
		free_slot->hash = key;
		free_slot->window_end = now_ms + a->window_ms;
		free_slot->pending = 0;
		free_slot->rec = *rec;
	}
}

void
audit_tick(struct audit *a, int64_t now_ms, bool force)
{
	size_t i;

	for (i = 0; i < a->nagg; i++) {
		struct agg_slot *s = &a->agg[i];

		if (s->hash == 0 || (!force && now_ms < s->window_end))
			continue;
		if (s->pending == 0) {
			s->hash = 0;
			continue;
		}
		/* One record stands for the repeats of the window. */
		s->rec.count = s->pending;
		s->rec.time_ms = force && now_ms == INT64_MAX ?
		    s->rec.time_ms : now_ms;
		enqueue(a, &s->rec);
		s->pending = 0;
		if (force)
			s->hash = 0;
		else
			s->window_end = now_ms + a->window_ms;
	}
}

static void
write_sinks(struct audit *a, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < a->nsinks && len > 0; i++)
		if (a->sinks[i].ops->write(&a->sinks[i], buf, len) == -1)
			a->stats.sink_failures++;
}

void
audit_flush(struct audit *a)
{
	/* Whole lines gathered into one write per 64 KiB. */
	static char out[65536];
	size_t used = 0, n;

	while (a->qlen > 0) {
		const struct audit_record *rec = &a->queue[a->qhead];

		n = audit_record_json(rec, out + used, sizeof(out) - used);
		if (n == 0 && used > 0) {
			write_sinks(a, out, used);
			used = 0;
			continue;
		}
		used += n;
		if (n > 0)
			a->stats.written++;
		a->qhead = (a->qhead + 1) % a->qsize;
		a->qlen--;
	}
	write_sinks(a, out, used);
	if (a->stats.dropped > a->dropped_reported) {
		log_warnx("audit: %llu records dropped: queue full "
		    "(%llu in all)", (unsigned long long)(a->stats.dropped -
		    a->dropped_reported), (unsigned long long)a->stats.dropped);
		a->dropped_reported = a->stats.dropped;
	}
}

bool
audit_backlogged(const struct audit *a)
{
	return a->qlen * 2 >= a->qsize;
}

void
audit_stats(const struct audit *a, struct audit_stats *out)
{
	*out = a->stats;
}
