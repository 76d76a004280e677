/* audit — see include/fnguard/audit.h. */
#include "config.h"

#include <sys/mman.h>

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

/* The acting process's path: for a denied exec, the executable that was
 * denied (a script's interpreter when that is what the rule refused), so
 * that processPath and the message name the same file. */
static const char *
raw_process(const struct event *ev, const struct verdict *v)
{
	if (ev->kind == EVENT_EXEC && v->attack == ATTACK_DENIED_PROCESS &&
	    v->object != NULL)
		return v->object;
	return or_unknown(ev->process_path);
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

/* Where a verdict's record takes its key fields from (raw, before
 * copy_field): one place, so that the aggregation key computed before a
 * record is built and the record itself cannot disagree. */
static const char *
raw_rule(const struct verdict *v)
{
	return v->rule != NULL ? v->rule->name : "";
}

static const char *
raw_filepath(const struct event *ev, const struct verdict *v)
{
	if (v->attack == ATTACK_REG_FILE_ACCESS)
		return v->object;
	return event_is_filesystem(ev->kind) ? ev->filepath : NULL;
}

void
audit_record_from_verdict(struct audit_record *rec, const struct identity *id,
    const struct event *ev, const struct verdict *v)
{
	/* Every field is written below (no memset of the whole record: it
	 * is several KiB). */
	rec->ip[0] = '\0';
	rec->time_ms = ev->time_ms;
	record_identity(rec, id, ev);
	rec->type = event_type_name(ev->kind);
	rec->attack = v->attack;
	rec->effect = v->verdict;
	copy_field(rec->rule_name, sizeof(rec->rule_name), raw_rule(v));
	audit_message(v, ev, rec->msg, sizeof(rec->msg));
	rec->count = 1;
	rec->severity = severity_of(v->attack);
	copy_field(rec->process_path, sizeof(rec->process_path),
	    raw_process(ev, v));
	rec->pid = ev->pid;
	copy_field(rec->command, sizeof(rec->command), ev->command);
	copy_field(rec->user, sizeof(rec->user), ev->user);
	copy_field(rec->domain, sizeof(rec->domain), ev->domain);
	if (ev->ip.family != 0)
		ipaddr_format(&ev->ip, rec->ip, sizeof(rec->ip));
	rec->port = ev->port;
	copy_field(rec->filepath, sizeof(rec->filepath), raw_filepath(ev, v));
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
	char num[24], *p = num + sizeof(num);
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v :
	    (unsigned long long)v;

	jw_key(w, key);
	do {			/* digits from the right, no format parsing */
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	jw_raw(w, p, (size_t)(num + sizeof(num) - p));
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

#define AGG_DEFAULT_MAX 262144		/* records remembered, by default */
#define AGG_MAX_MAX (1u << 24)		/* keeps arena offsets in 32 bits */
#define AGG_BYTES_PER_RECORD 128	/* the arena's cap, per record */
#define AGG_ARENA_MIN 65536
#define AGG_INDEX_MIN 1024
#define AGG_CTX_CACHE 256		/* contexts found again by hash */
#define AGG_BASE 8			/* arena offset 0 means "none" */
#define QUEUE_LINE_AVG 1024		/* queue bytes per queued record */
#define QUEUE_LINE_MAX 65536		/* room for the longest line */

#define FIELD_SIZE(f) sizeof(((struct audit_record *)NULL)->f)
#define FNV_BASIS UINT64_C(1469598103934665603)
#define FNV_PRIME UINT64_C(1099511628211)
#define KEY_MUL UINT64_C(0x9e3779b97f4a7c15)	/* 2^64 / golden ratio */

/*
 * What makes two records identical (SPEC section 4), as the strings the
 * record's fields hold (copy_field applied), and its hash.
 */
struct agg_key {
	uint64_t hash;
	enum attack_type attack;
	enum verdict_kind effect;
	int port;
	const char *rule, *proc, *domain, *ip, *filepath;
};

/* Room for the key fields that copy_field changes. */
struct key_buf {
	char rule[FIELD_SIZE(rule_name)];
	char proc[FIELD_SIZE(process_path)];
	char domain[FIELD_SIZE(domain)];
	char ip[FIELD_SIZE(ip)];
	char filepath[FIELD_SIZE(filepath)];
};

/*
 * The table of records that went out in their window. Chunks packed in one
 * arena: a context holds what records of one origin share (all but the
 * object, counters and time; the message as the text around its object),
 * a record its object and counters. An open-addressed index (linear
 * probing, at most half full) finds records; a dead record is its own
 * tombstone until the arena is rebuilt.
 */
enum { CHUNK_DEAD, CHUNK_CTX, CHUNK_REC };

struct chunk {
	uint32_t size;			/* header included; a multiple of 8 */
	uint32_t kind;
};

enum {
	CTX_FUNCTION, CTX_REGION, CTX_PROVIDER, CTX_ACCOUNT, CTX_RUNTIME,
	CTX_REQUEST_ID, CTX_RULE, CTX_PROC, CTX_COMMAND, CTX_USER,
	CTX_MSG_PRE, CTX_MSG_POST, CTX_NFIELDS
};

enum { OBJ_NONE, OBJ_DOMAIN, OBJ_IP, OBJ_FILEPATH };

struct agg_ctx {
	struct chunk h;
	uint32_t refs;			/* records that point here */
	uint32_t forward;		/* its new offset, while rebuilding */
	/* From here to the end, padding zeroed: compared as bytes. */
	uint64_t hash;
	const char *type, *severity;
	long pid;
	int32_t attack, effect;
	uint32_t msg_obj;		/* OBJ_*: what sits between pre, post */
	uint16_t off[CTX_NFIELDS];	/* of each string in s */
	char s[];
};

struct agg_rec {
	struct chunk h;
	uint32_t ctx;			/* offset of its context */
	int32_t port;
	uint64_t hash;
	int64_t window_end;
	int64_t time_ms;		/* of the record that went out */
	uint64_t pending;		/* repeats since */
	uint16_t ip_off, filepath_off;	/* domain at 0 */
	char s[];
};

struct agg_slot {
	uint32_t tag;			/* the hash's high half */
	uint32_t off;			/* 0: free */
};

struct audit {
	/* The queue: records as their JSON lines, until audit_flush. */
	char *qbuf;
	size_t qused, qcap, qlen, qsize;

	char *arena;
	size_t used, cap, max_bytes, dead_bytes;
	struct agg_slot *index;
	size_t nslots, max_slots, tombs;
	size_t live, max_live;
	int64_t next_due;		/* no window closes before */
	int64_t window_ms;
	uint32_t ctx_cache[AGG_CTX_CACHE];

	struct audit_record rec;	/* the one being built */
	struct sink sinks[AUDIT_MAX_SINKS];
	size_t nsinks;
	struct audit_stats stats;
	uint64_t dropped_reported, unaggregated_reported;
};

#define AT(a, off) ((void *)((a)->arena + (off)))

static const struct sink_ops *const sink_table[] = { &sink_file_ops, NULL };

struct audit *
audit_new(const struct audit_config *cfg)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->qsize = cfg && cfg->queue_size ? cfg->queue_size : 512;
	a->max_live = cfg && cfg->aggregate_max ? cfg->aggregate_max :
	    AGG_DEFAULT_MAX;
	if (a->max_live > AGG_MAX_MAX)
		a->max_live = AGG_MAX_MAX;
	a->window_ms = cfg && cfg->window_ms ? cfg->window_ms : 10000;
	a->max_bytes = a->max_live * AGG_BYTES_PER_RECORD;
	if (a->max_bytes < AGG_ARENA_MIN)
		a->max_bytes = AGG_ARENA_MIN;
	for (a->max_slots = AGG_INDEX_MIN; a->max_slots < 2 * a->max_live;)
		a->max_slots *= 2;
	a->next_due = INT64_MAX;
	/* Pages are touched only as lines are queued. */
	a->qcap = a->qsize * QUEUE_LINE_AVG + QUEUE_LINE_MAX;
	if ((a->qbuf = malloc(a->qcap)) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

static void agg_reset(struct audit *);

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
	agg_reset(a);
	free(a->qbuf);
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

/* ---- keys ---- */

static uint64_t
fnv_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0)
		h = (h ^ *b++) * FNV_PRIME;
	return h;
}

static uint64_t
mix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

/* s into h eight bytes at a time (a flood's every event is hashed: one
 * multiply per byte was a tenth of the resolver's own work). The last
 * word carries the length, so ("ab", "c") and ("a", "bc") differ. */
static uint64_t
hash_str(uint64_t h, const char *s)
{
	size_t n = strlen(s), i;
	uint64_t w;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * KEY_MUL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, s + i, n - i);
	h = (h ^ w ^ (uint64_t)(n & 0xff) << 56) * KEY_MUL;
	return h ^ h >> 29;
}

static void
key_hash(struct agg_key *k)
{
	uint64_t h = FNV_BASIS;

	h = (h ^ ((uint64_t)k->attack | (uint64_t)k->effect << 8 |
	    (uint64_t)(uint32_t)k->port << 32)) * KEY_MUL;
	h = hash_str(h, k->rule);
	h = hash_str(h, k->proc);
	h = hash_str(h, k->domain);
	h = hash_str(h, k->ip);
	h = hash_str(h, k->filepath);
	k->hash = mix(h);
}

/* s as copy_field leaves it in a field of size bytes: s itself when that
 * changes nothing (plain ASCII that fits, the usual case), else a copy in
 * buf. */
static const char *
field_view(const char *s, size_t size, char *buf)
{
	size_t i;

	if (s == NULL)
		return "";
	for (i = 0; s[i] != '\0' && (unsigned char)s[i] < 0x80; i++)
		;
	if (s[i] == '\0' && i < size)
		return s;
	copy_field(buf, size, s);
	return buf;
}

/* The key of the record audit_record_from_verdict would build. */
static void
key_from_verdict(struct agg_key *k, struct key_buf *b, const struct event *ev,
    const struct verdict *v)
{
	k->attack = v->attack;
	k->effect = v->verdict;
	k->port = ev->port;
	k->rule = field_view(raw_rule(v), sizeof(b->rule), b->rule);
	k->proc = field_view(raw_process(ev, v), sizeof(b->proc), b->proc);
	k->domain = field_view(ev->domain, sizeof(b->domain), b->domain);
	b->ip[0] = '\0';
	if (ev->ip.family != 0)
		ipaddr_format(&ev->ip, b->ip, sizeof(b->ip));
	k->ip = b->ip;
	k->filepath = field_view(raw_filepath(ev, v), sizeof(b->filepath),
	    b->filepath);
	key_hash(k);
}

static void
key_from_record(struct agg_key *k, const struct audit_record *rec)
{
	k->attack = rec->attack;
	k->effect = rec->effect;
	k->port = rec->port;
	k->rule = rec->rule_name;
	k->proc = rec->process_path;
	k->domain = rec->domain;
	k->ip = rec->ip;
	k->filepath = rec->filepath;
	key_hash(k);
}

/* ---- the table ---- */

/*
 * The arena and the index are mapped, not malloc'd: unmapped when the
 * table empties, their memory goes back to the system at once, where the
 * heap would keep it after a flood. Zero-filled when new.
 */
static void *
map_new(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void *
map_grow(void *p, size_t old, size_t size)
{
	if (p == NULL)
		return map_new(size);
	p = mremap(p, old, size, MREMAP_MAYMOVE);
	return p == MAP_FAILED ? NULL : p;
}

static void
map_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size);
}

static const char *
ctx_str(const struct agg_ctx *c, int field)
{
	return c->s + c->off[field];
}

static bool
same_key(struct audit *a, const struct agg_rec *r, const struct agg_key *k)
{
	const struct agg_ctx *c = AT(a, r->ctx);

	return r->hash == k->hash && r->port == k->port &&
	    c->attack == (int32_t)k->attack &&
	    c->effect == (int32_t)k->effect &&
	    strcmp(r->s, k->domain) == 0 &&
	    strcmp(r->s + r->ip_off, k->ip) == 0 &&
	    strcmp(r->s + r->filepath_off, k->filepath) == 0 &&
	    strcmp(ctx_str(c, CTX_RULE), k->rule) == 0 &&
	    strcmp(ctx_str(c, CTX_PROC), k->proc) == 0;
}

/* The live record of key k, or NULL; *slot: where k is, or would go (the
 * free slot that ends the probe). Only a slot whose tag matches is
 * followed into the arena: a probe past others costs no cache miss. So
 * tombstones are not reused; they go when the index is rebuilt
 * (agg_index_room counts them). */
static struct agg_rec *
agg_find(struct audit *a, const struct agg_key *k, struct agg_slot **slot)
{
	uint32_t tag = (uint32_t)(k->hash >> 32);
	size_t i, mask;

	*slot = NULL;
	if (a->index == NULL)
		return NULL;
	mask = a->nslots - 1;
	for (i = (size_t)k->hash & mask;; i = (i + 1) & mask) {
		struct agg_slot *s = &a->index[i];
		struct agg_rec *r;

		if (s->off == 0) {
			*slot = s;
			return NULL;
		}
		if (s->tag != tag)
			continue;
		r = AT(a, s->off);
		if (r->h.kind != CHUNK_DEAD && same_key(a, r, k)) {
			*slot = s;
			return r;
		}
	}
}

static void
index_put(struct agg_slot *index, size_t nslots, uint64_t hash, uint32_t off)
{
	size_t i, mask = nslots - 1;

	for (i = (size_t)hash & mask; index[i].off != 0; i = (i + 1) & mask)
		;
	index[i].tag = (uint32_t)(hash >> 32);
	index[i].off = off;
}

/* Every live record of the arena into a new index of n slots. */
static bool
agg_reindex(struct audit *a, size_t n)
{
	struct agg_slot *index = map_new(n * sizeof(*index));
	const struct chunk *h;
	size_t off;

	if (index == NULL)
		return false;
	for (off = AGG_BASE; off < a->used; off += h->size) {
		h = AT(a, off);
		if (h->kind == CHUNK_REC)
			index_put(index, n, ((const struct agg_rec *)h)->hash,
			    (uint32_t)off);
	}
	map_free(a->index, a->nslots * sizeof(*a->index));
	a->index = index;
	a->nslots = n;
	a->tombs = 0;
	return true;
}

/* Room in the index for one more record: grown (or cleared of tombstones)
 * while it would be more than half full. */
static bool
agg_index_room(struct audit *a)
{
	size_t n;

	if (a->index != NULL && (a->live + a->tombs + 1) * 2 <= a->nslots)
		return true;
	n = a->nslots != 0 ? a->nslots : AGG_INDEX_MIN;
	while ((a->live + 1) * 4 > n && n < a->max_slots)
		n *= 2;
	if ((a->live + 1) * 2 > n)
		return false;
	return agg_reindex(a, n);
}

/* size bytes at the arena's end, grown by doubling up to its cap; the
 * offset, or 0. */
static uint32_t
arena_alloc(struct audit *a, size_t size, uint32_t kind)
{
	struct chunk *h;
	size_t need, ncap, used = a->used != 0 ? a->used : AGG_BASE;
	char *p;

	size = (size + 7) & ~(size_t)7;
	need = used + size;
	if (need > a->max_bytes)
		return 0;
	if (need > a->cap) {
		for (ncap = a->cap != 0 ? a->cap : AGG_ARENA_MIN; ncap < need;)
			ncap *= 2;
		if (ncap > a->max_bytes)
			ncap = a->max_bytes;
		if ((p = map_grow(a->arena, a->cap, ncap)) == NULL)
			return 0;
		a->arena = p;
		a->cap = ncap;
	}
	a->used = need;
	h = AT(a, used);
	memset(h, 0, size);
	h->size = (uint32_t)size;
	h->kind = kind;
	return (uint32_t)used;
}

static void
agg_reset(struct audit *a)
{
	map_free(a->arena, a->cap);
	map_free(a->index, a->nslots * sizeof(*a->index));
	a->arena = NULL;
	a->index = NULL;
	a->used = a->cap = a->dead_bytes = 0;
	a->nslots = a->tombs = a->live = 0;
	a->next_due = INT64_MAX;
	memset(a->ctx_cache, 0, sizeof(a->ctx_cache));
}

/*
 * The arena again with live chunks only, in a buffer twice their size
 * (freed when nothing is live): what expired is given back. Left as it is
 * when memory is short; tried again at the next tick.
 */
static void
agg_rebuild(struct audit *a)
{
	struct agg_slot *index;
	const struct chunk *h;
	size_t keep = a->used - a->dead_bytes, ncap, nslots, off, nused;
	char *na;

	if (a->live == 0) {
		agg_reset(a);
		return;
	}
	for (ncap = AGG_ARENA_MIN; ncap < 2 * keep && ncap < a->max_bytes;)
		ncap *= 2;
	if (ncap > a->max_bytes)
		ncap = a->max_bytes;
	for (nslots = AGG_INDEX_MIN; a->live * 4 > nslots;)
		nslots *= 2;
	na = map_new(ncap);
	index = map_new(nslots * sizeof(*index));
	if (na == NULL || index == NULL) {
		map_free(na, ncap);
		map_free(index, nslots * sizeof(*index));
		return;
	}
	memset(a->ctx_cache, 0, sizeof(a->ctx_cache));
	nused = AGG_BASE;
	for (off = AGG_BASE; off < a->used; off += h->size) {
		h = AT(a, off);
		if (h->kind == CHUNK_CTX) {
			struct agg_ctx *c = AT(a, off);

			if (c->refs == 0)
				continue;
			memcpy(na + nused, c, h->size);
			((struct agg_ctx *)(void *)(na + nused))->refs = 0;
			c->forward = (uint32_t)nused;
			a->ctx_cache[c->hash % AGG_CTX_CACHE] = (uint32_t)nused;
		} else if (h->kind == CHUNK_REC) {
			struct agg_rec *r = (void *)(na + nused);
			const struct agg_ctx *c;

			memcpy(r, h, h->size);
			c = AT(a, r->ctx);
			r->ctx = c->forward;
			((struct agg_ctx *)(void *)(na + r->ctx))->refs++;
			index_put(index, nslots, r->hash, (uint32_t)nused);
		} else
			continue;
		nused += h->size;
	}
	map_free(a->arena, a->cap);
	map_free(a->index, a->nslots * sizeof(*a->index));
	a->arena = na;
	a->cap = ncap;
	a->used = nused;
	a->dead_bytes = 0;
	a->index = index;
	a->nslots = nslots;
	a->tombs = 0;
}

/* The context of rec (key k) in the arena: found again when the last one
 * of its hash is the same, else added. Its offset, or 0 (no room). */
static uint32_t
ctx_intern(struct audit *a, const struct agg_key *k,
    const struct audit_record *rec)
{
	const char *f[CTX_NFIELDS], *hit = NULL;
	size_t len[CTX_NFIELDS], size, i, o;
	uint32_t off, obj = OBJ_NONE, *cached;
	struct agg_ctx *c;

	/* The message as the text around its object, so that records of
	 * one origin share it. */
	if (k->domain[0] != '\0' && (hit = strstr(rec->msg, k->domain)))
		obj = OBJ_DOMAIN;
	else if (k->filepath[0] != '\0' &&
	    (hit = strstr(rec->msg, k->filepath)))
		obj = OBJ_FILEPATH;
	else if (k->ip[0] != '\0' && (hit = strstr(rec->msg, k->ip)))
		obj = OBJ_IP;
	f[CTX_FUNCTION] = rec->function;
	f[CTX_REGION] = rec->region;
	f[CTX_PROVIDER] = rec->provider;
	f[CTX_ACCOUNT] = rec->account;
	f[CTX_RUNTIME] = rec->runtime;
	f[CTX_REQUEST_ID] = rec->request_id;
	f[CTX_RULE] = k->rule;
	f[CTX_PROC] = k->proc;
	f[CTX_COMMAND] = rec->command;
	f[CTX_USER] = rec->user;
	f[CTX_MSG_PRE] = rec->msg;
	f[CTX_MSG_POST] = "";
	size = offsetof(struct agg_ctx, s);
	for (i = 0; i < CTX_NFIELDS; i++) {
		len[i] = strlen(f[i]);
		if (i == CTX_MSG_PRE && hit != NULL) {
			len[i] = (size_t)(hit - rec->msg);
			f[CTX_MSG_POST] = hit + strlen(obj == OBJ_DOMAIN ?
			    k->domain : obj == OBJ_FILEPATH ? k->filepath :
			    k->ip);
		}
		size += len[i] + 1;
	}
	if ((off = arena_alloc(a, size, CHUNK_CTX)) == 0)
		return 0;
	c = AT(a, off);
	c->type = rec->type;
	c->severity = rec->severity;
	c->pid = rec->pid;
	c->attack = (int32_t)rec->attack;
	c->effect = (int32_t)rec->effect;
	c->msg_obj = obj;
	for (i = 0, o = 0; i < CTX_NFIELDS; i++) {
		c->off[i] = (uint16_t)o;
		memcpy(c->s + o, f[i], len[i]);
		o += len[i] + 1;	/* the NUL: zeroed by arena_alloc */
	}
	c->hash = mix(fnv_bytes(FNV_BASIS, (char *)&c->hash + sizeof(c->hash),
	    c->h.size - offsetof(struct agg_ctx, hash) - sizeof(c->hash)));
	cached = &a->ctx_cache[c->hash % AGG_CTX_CACHE];
	if (*cached != 0) {
		const struct agg_ctx *old = AT(a, *cached);

		if (old->h.size == c->h.size && memcmp(&old->hash, &c->hash,
		    c->h.size - offsetof(struct agg_ctx, hash)) == 0) {
			a->used -= c->h.size;	/* the last chunk: undone */
			return *cached;
		}
	}
	*cached = off;
	return off;
}

/* Remembers rec (key k), which just went out, for its window; when the
 * table is full it is not remembered, and counted. */
static void
agg_remember(struct audit *a, const struct agg_key *k,
    const struct audit_record *rec, int64_t now_ms)
{
	struct agg_slot *slot;
	struct agg_rec *r;
	uint32_t ctx, off;
	size_t dl, il, fl;
	bool rebuilt = false;

again:
	if (a->live >= a->max_live || !agg_index_room(a))
		goto full;
	(void)agg_find(a, k, &slot);
	dl = strlen(k->domain);
	il = strlen(k->ip);
	fl = strlen(k->filepath);
	if ((ctx = ctx_intern(a, k, rec)) == 0 ||
	    (off = arena_alloc(a, offsetof(struct agg_rec, s) + dl + il + fl +
	    3, CHUNK_REC)) == 0) {
		/* The arena is full. Of dead records too, when windows
		 * closed at lookups faster than ticks came to clear them:
		 * then it is rebuilt now, once (a context made and not used
		 * goes with it). */
		if (rebuilt || a->dead_bytes == 0)
			goto full;
		rebuilt = true;
		agg_rebuild(a);
		goto again;
	}
	r = AT(a, off);
	r->ctx = ctx;
	r->port = k->port;
	r->hash = k->hash;
	r->window_end = now_ms + a->window_ms;
	r->time_ms = rec->time_ms;
	r->pending = 0;
	r->ip_off = (uint16_t)(dl + 1);
	r->filepath_off = (uint16_t)(dl + il + 2);
	memcpy(r->s, k->domain, dl);
	memcpy(r->s + r->ip_off, k->ip, il);
	memcpy(r->s + r->filepath_off, k->filepath, fl);
	((struct agg_ctx *)AT(a, ctx))->refs++;
	slot->tag = (uint32_t)(k->hash >> 32);
	slot->off = off;
	a->live++;
	if (r->window_end < a->next_due)
		a->next_due = r->window_end;
	return;
full:
	a->stats.unaggregated++;
}

static void
agg_kill(struct audit *a, struct agg_rec *r)
{
	r->h.kind = CHUNK_DEAD;
	((struct agg_ctx *)AT(a, r->ctx))->refs--;
	a->dead_bytes += r->h.size;
	a->tombs++;
	a->live--;
}

/* ---- the queue ---- */

static void
enqueue(struct audit *a, const struct audit_record *rec)
{
	size_t n = 0;

	if (a->qlen < a->qsize)
		n = audit_record_json(rec, a->qbuf + a->qused,
		    a->qcap - a->qused);
	if (n == 0) {
		a->stats.dropped++;
		return;
	}
	a->qused += n;
	a->qlen++;
}

/* s into dst (size > 0), cut to fit: snprintf("%s") without the
 * format parsing, for the dozen fields of every record of a flood.
 * Returns the length written. */
static size_t
put(char *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
	return n;
}

/* The record r stands for, with the count of its repeats, out. */
static void
agg_emit(struct audit *a, const struct agg_rec *r, int64_t time_ms)
{
	const struct agg_ctx *c = AT(a, r->ctx);
	struct audit_record *rec = &a->rec;
	const char *obj;
	size_t n;

	rec->time_ms = time_ms;
	put(rec->function, sizeof(rec->function), ctx_str(c, CTX_FUNCTION));
	put(rec->region, sizeof(rec->region), ctx_str(c, CTX_REGION));
	put(rec->provider, sizeof(rec->provider), ctx_str(c, CTX_PROVIDER));
	put(rec->account, sizeof(rec->account), ctx_str(c, CTX_ACCOUNT));
	put(rec->runtime, sizeof(rec->runtime), ctx_str(c, CTX_RUNTIME));
	put(rec->request_id, sizeof(rec->request_id),
	    ctx_str(c, CTX_REQUEST_ID));
	rec->type = c->type;
	rec->attack = (enum attack_type)c->attack;
	rec->effect = (enum verdict_kind)c->effect;
	put(rec->rule_name, sizeof(rec->rule_name), ctx_str(c, CTX_RULE));
	switch (c->msg_obj) {
	case OBJ_DOMAIN:
		obj = r->s;
		break;
	case OBJ_IP:
		obj = r->s + r->ip_off;
		break;
	case OBJ_FILEPATH:
		obj = r->s + r->filepath_off;
		break;
	default:
		obj = "";
		break;
	}
	n = put(rec->msg, sizeof(rec->msg), ctx_str(c, CTX_MSG_PRE));
	n += put(rec->msg + n, sizeof(rec->msg) - n, obj);
	put(rec->msg + n, sizeof(rec->msg) - n, ctx_str(c, CTX_MSG_POST));
	rec->count = r->pending;
	rec->severity = c->severity;
	put(rec->process_path, sizeof(rec->process_path),
	    ctx_str(c, CTX_PROC));
	rec->pid = c->pid;
	put(rec->command, sizeof(rec->command), ctx_str(c, CTX_COMMAND));
	put(rec->user, sizeof(rec->user), ctx_str(c, CTX_USER));
	put(rec->domain, sizeof(rec->domain), r->s);
	put(rec->ip, sizeof(rec->ip), r->s + r->ip_off);
	rec->port = r->port;
	put(rec->filepath, sizeof(rec->filepath), r->s + r->filepath_off);
	enqueue(a, rec);
}

/* ---- submitting ---- */

/* Counts k as a repeat in its window: true. False when it goes out as
 * the first of its kind (a closed window's repeats go out before it). */
static bool
agg_count(struct audit *a, const struct agg_key *k, uint64_t count,
    int64_t now_ms)
{
	struct agg_slot *slot;
	struct agg_rec *r;

	a->stats.submitted++;
	if ((r = agg_find(a, k, &slot)) == NULL)
		return false;
	if (now_ms < r->window_end) {
		r->pending += count;
		a->stats.aggregated++;
		return true;
	}
	if (r->pending > 0)
		agg_emit(a, r, now_ms);
	agg_kill(a, r);
	return false;
}

void
audit_verdict(struct audit *a, const struct identity *id,
    const struct event *ev, const struct verdict *v, int64_t now_ms)
{
	struct key_buf b;
	struct agg_key k;

	if (v->verdict == VERDICT_ALLOW)
		return;
	key_from_verdict(&k, &b, ev, v);
	if (agg_count(a, &k, 1, now_ms))
		return;
	audit_record_from_verdict(&a->rec, id, ev, v);
	enqueue(a, &a->rec);
	agg_remember(a, &k, &a->rec, now_ms);
}

void
audit_submit(struct audit *a, const struct audit_record *rec, int64_t now_ms)
{
	struct agg_key k;

	key_from_record(&k, rec);
	if (agg_count(a, &k, rec->count, now_ms))
		return;
	enqueue(a, rec);
	agg_remember(a, &k, rec, now_ms);
}

void
audit_tick(struct audit *a, int64_t now_ms, bool force)
{
	const struct chunk *h;
	int64_t due = INT64_MAX;
	size_t off;

	if (a->live == 0 || (!force && now_ms < a->next_due))
		return;
	for (off = AGG_BASE; off < a->used; off += h->size) {
		struct agg_rec *r = AT(a, off);

		h = &r->h;
		if (h->kind != CHUNK_REC)
			continue;
		if (!force && now_ms < r->window_end) {
			if (r->window_end < due)
				due = r->window_end;
			continue;
		}
		if (r->pending > 0) {
			/* One record stands for the repeats of the window;
			 * a full queue is written out first (not on the
			 * enforcement path: ticks come from a timer). */
			if (a->qlen == a->qsize ||
			    a->qcap - a->qused < QUEUE_LINE_MAX)
				audit_flush(a);
			agg_emit(a, r, force && now_ms == INT64_MAX ?
			    r->time_ms : now_ms);
			r->pending = 0;
			if (!force) {
				r->window_end = now_ms + a->window_ms;
				if (r->window_end < due)
					due = r->window_end;
				continue;
			}
		}
		agg_kill(a, r);
	}
	a->next_due = due;
	if (a->live == 0 || a->dead_bytes * 2 > a->used)
		agg_rebuild(a);
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
	write_sinks(a, a->qbuf, a->qused);
	a->stats.written += a->qlen;
	a->qused = 0;
	a->qlen = 0;
	if (a->stats.dropped > a->dropped_reported) {
		log_warnx("audit: %llu records dropped: queue full "
		    "(%llu in all)", (unsigned long long)(a->stats.dropped -
		    a->dropped_reported), (unsigned long long)a->stats.dropped);
		a->dropped_reported = a->stats.dropped;
	}
	if (a->stats.unaggregated > a->unaggregated_reported) {
		log_warnx("audit: %llu records not aggregated: table full "
		    "(%llu in all)", (unsigned long long)
		    (a->stats.unaggregated - a->unaggregated_reported),
		    (unsigned long long)a->stats.unaggregated);
		a->unaggregated_reported = a->stats.unaggregated;
	}
}

bool
audit_backlogged(const struct audit *a)
{
	return a->qlen * 2 >= a->qsize || a->qused * 2 >= a->qcap;
}

void
audit_stats(const struct audit *a, struct audit_stats *out)
{
	*out = a->stats;
	out->remembered = a->live;
}
