/* event — see include/fnguard/event.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fnguard/event.h"

static const char *const kind_names[EVENT_KIND_COUNT] = {
	"dns", "exec", "connect", "sendto", "listen", "accept", "open",
	"create", "unlink", "rename", "link", "mkdir", "rmdir", "chmod",
	"chown", "truncate",
};

void
event_init(struct event *ev, enum event_kind kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->port = -1;
}

const char *
event_kind_name(enum event_kind kind)
{
	return (unsigned)kind < EVENT_KIND_COUNT ? kind_names[kind] : "?";
}

int
event_kind_parse(const char *name, enum event_kind *out)
{
	size_t i;

	for (i = 0; i < EVENT_KIND_COUNT; i++)
		if (strcmp(name, kind_names[i]) == 0) {
			*out = (enum event_kind)i;
			return 0;
		}
	return -1;
}

bool
event_is_filesystem(enum event_kind kind)
{
	return kind >= EVENT_OPEN && kind <= EVENT_TRUNCATE;
}

const char *
event_type_name(enum event_kind kind)
{
	if (kind == EVENT_EXEC)
		return "processes";
	if (event_is_filesystem(kind))
		return "filesystem";
	return "network";
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

void
event_format_time(int64_t ms, char *buf, size_t len)
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	unsigned m, d;
	int y;

	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
	    (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
	    (int)(ms - secs * 1000));
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
event_parse_time(const char *t, int64_t *out)
{
	int y, mo, d, h, mi, s, oh = 0, om = 0, ms = 0, scale = 100;
	int64_t secs;

	if (digits(&t, 4, &y) || *t++ != '-' || digits(&t, 2, &mo) ||
	    *t++ != '-' || digits(&t, 2, &d) || (*t != 'T' && *t != 't' &&
	    *t != ' ') || (t++, digits(&t, 2, &h)) || *t++ != ':' ||
	    digits(&t, 2, &mi) || *t++ != ':' || digits(&t, 2, &s))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || s > 60)
		return -1;
	if (*t == '.') {
		/* RFC 3339: "." 1*DIGIT */
		if (t[1] < '0' || t[1] > '9')
			return -1;
		for (t++; *t >= '0' && *t <= '9'; t++) {
			ms += (*t - '0') * scale;
			scale /= 10;
		}
	}
	if (*t == 'Z' || *t == 'z')
		t++;
	else if (*t == '+' || *t == '-') {
		int sign = *t++ == '-' ? -1 : 1;

		if (digits(&t, 2, &oh) || *t++ != ':' || digits(&t, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		oh *= sign;
		om *= sign;
	} else
		return -1;
	if (*t != '\0')
		return -1;
	secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + s - oh * 3600 - om * 60;
	/* An offset may carry 0000-01-01 or 9999-12-31 over the edge of
	 * what a four-digit year can write back in UTC. */
	if (secs < INT64_C(-62167219200) || secs > INT64_C(253402300799))
		return -1;
	*out = secs * 1000 + ms;
	return 0;
}

/* ---- parsing ---- */

struct reader {
	const json_t *obj;
	char *err;
	size_t errlen;
	int failed;
};

static void
fail(struct reader *r, const char *field, const char *what)
{
	if (!r->failed)
		snprintf(r->err, r->errlen, "field \"%s\": %s", field, what);
	r->failed = 1;
}

static const char *
opt_string(struct reader *r, const char *field)
{
	const json_t *v = json_object_get(r->obj, field);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		fail(r, field, "expected a string");
		return NULL;
	}
	return json_string_value(v);
}

static long long
opt_int(struct reader *r, const char *field, long long min, long long max,
    long long dflt)
{
	const json_t *v = json_object_get(r->obj, field);
	long long n;

	if (v == NULL || json_is_null(v))
		return dflt;
	if (json_is_string(v)) {
		/* Audit records may carry numbers as strings. */
		char *end;

		n = strtoll(json_string_value(v), &end, 10);
		if (*end != '\0' || end == json_string_value(v)) {
			fail(r, field, "expected an integer");
			return dflt;
		}
	} else if (json_is_integer(v))
		n = json_integer_value(v);
	else {
		fail(r, field, "expected an integer");
		return dflt;
	}
	if (n < min || n > max) {
		fail(r, field, "out of range");
		return dflt;
	}
	return n;
}

static bool
opt_bool(struct reader *r, const char *field)
{
	const json_t *v = json_object_get(r->obj, field);

	if (v == NULL || json_is_null(v))
		return false;
	if (!json_is_boolean(v)) {
		fail(r, field, "expected true or false");
		return false;
	}
	return json_is_true(v);
}

static void
read_ip(struct reader *r, const char *field, struct ipaddr *out)
{
	const json_t *v = json_object_get(r->obj, field);

	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_string(v) || ipaddr_parse(json_string_value(v),
	    json_string_length(v), out) == -1)
		fail(r, field, "expected an IP address");
}

static void
read_answers(struct reader *r, struct event *ev)
{
	const json_t *arr = json_object_get(r->obj, "answers"), *v;
	size_t i;

	if (arr == NULL || json_is_null(arr))
		return;
	if (!json_is_array(arr)) {
		fail(r, "answers", "expected an array of IP addresses");
		return;
	}
	json_array_foreach(arr, i, v) {
		if (ev->nanswers == EVENT_MAX_ANSWERS)
			break;
		if (!json_is_string(v) || ipaddr_parse(json_string_value(v),
		    json_string_length(v), &ev->answers[ev->nanswers]) == -1) {
			fail(r, "answers", "expected an array of IP addresses");
			return;
		}
		ev->nanswers++;
	}
}

static void
read_labels(struct reader *r, struct event *ev)
{
	const json_t *arr = json_object_get(r->obj, "labels"), *v;
	size_t i;

	if (arr == NULL || json_is_null(arr))
		return;
	if (!json_is_array(arr)) {
		fail(r, "labels", "expected an array of \"KEY:VALUE\" strings");
		return;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    strchr(json_string_value(v), ':') == NULL) {
			fail(r, "labels", "expected \"KEY:VALUE\" strings");
			return;
		}
		if (ev->nlabels < EVENT_MAX_LABELS)
			ev->labels[ev->nlabels++] = json_string_value(v);
	}
}

static void
read_common(struct reader *r, struct event *ev)
{
	const char *s;

	if ((s = opt_string(r, "time")) != NULL &&
	    event_parse_time(s, &ev->time_ms) == -1)
		fail(r, "time", "expected an RFC 3339 time");
	ev->function = opt_string(r, "function");
	ev->region = opt_string(r, "region");
	ev->provider = opt_string(r, "provider");
	ev->account = opt_string(r, "accountID");
	read_labels(r, ev);
	ev->process_path = opt_string(r, "processPath");
	ev->pid = (long)opt_int(r, "pid", 0, 0x7fffffff, 0);
	ev->command = opt_string(r, "command");
	ev->user = opt_string(r, "user");
	ev->main_process = opt_bool(r, "mainProcess");
	ev->interpreter = opt_string(r, "interpreter");
	ev->domain = opt_string(r, "domain");
	ev->miner_protocol = opt_bool(r, "minerProtocol");
	read_answers(r, ev);
	ev->ttl = (uint32_t)opt_int(r, "ttl", 0, 0x7fffffff, 0);
	read_ip(r, "ip", &ev->ip);
	ev->port = (int)opt_int(r, "port", 0, 65535, -1);
	ev->filepath = opt_string(r, "filepath");
	ev->newpath = opt_string(r, "newpath");
}

static void
read_enums(struct reader *r, struct event *ev)
{
	const char *s;

	if ((s = opt_string(r, "proto")) != NULL) {
		if (strcmp(s, "tcp") == 0)
			ev->proto = PROTO_TCP;
		else if (strcmp(s, "udp") == 0)
			ev->proto = PROTO_UDP;
		else
			fail(r, "proto", "expected \"tcp\" or \"udp\"");
	}
	if ((s = opt_string(r, "access")) != NULL) {
		if (strcmp(s, "read") == 0)
			ev->access = ACCESS_READ;
		else if (strcmp(s, "write") == 0)
			ev->access = ACCESS_WRITE;
		else if (strcmp(s, "exec") == 0)
			ev->access = ACCESS_EXEC;
		else
			fail(r, "access", "expected \"read\", \"write\" or "
			    "\"exec\"");
	}
}

/* An audit record (SPEC section 4) back into the event it reports. */
static int
kind_from_audit(struct reader *r, enum event_kind *kind)
{
	const char *type = opt_string(r, "type");
	const char *attack = opt_string(r, "attackType");

	if (r->failed)
		return -1;
	if (type == NULL || attack == NULL) {
		fail(r, "event", "missing (neither an event nor an audit record)");
		return -1;
	}
	if (strcmp(attack, "policyHijacked") == 0) {
		fail(r, "attackType", "policyHijacked records report no event");
		return -1;
	}
	if (strcmp(type, "processes") == 0)
		*kind = EVENT_EXEC;
	else if (strcmp(type, "filesystem") == 0)
		*kind = EVENT_OPEN;
	else if (strcmp(type, "network") != 0) {
		fail(r, "type", "expected processes, network or filesystem");
		return -1;
	} else if (strcmp(attack, "explicitlyDeniedDNS") == 0 &&
	    json_object_get(r->obj, "ip") == NULL)
		*kind = EVENT_DNS;
	else if (strcmp(attack, "explicitlyDeniedListeningPort") == 0)
		*kind = EVENT_LISTEN;
	else
		*kind = EVENT_CONNECT;
	return 0;
}

int
event_parse(const char *line, size_t len, struct event_doc *out, char *err,
    size_t errlen)
{
	struct reader r = { NULL, err, errlen, 0 };
	json_error_t jerr;
	json_t *doc;
	const char *name;
	enum event_kind kind = EVENT_DNS;

	memset(out, 0, sizeof(*out));
	doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		snprintf(err, errlen, "column %d: %s", jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "expected a JSON object");
		json_decref(doc);
		return -1;
	}
	r.obj = doc;
	name = opt_string(&r, "event");
	if (name != NULL) {
		if (event_kind_parse(name, &kind) == -1)
			fail(&r, "event", "unknown event kind");
	} else if (!r.failed && kind_from_audit(&r, &kind) == 0)
		out->from_audit = true;
	if (r.failed) {
		json_decref(doc);
		return -1;
	}
	event_init(&out->ev, kind);
	read_common(&r, &out->ev);
	read_enums(&r, &out->ev);
	if (out->ev.kind == EVENT_CONNECT && out->ev.proto == PROTO_UDP)
		out->ev.kind = EVENT_SENDTO;
	if (r.failed) {
		json_decref(doc);
		return -1;
	}
	out->json = doc;
	return 0;
}

void
event_doc_clear(struct event_doc *doc)
{
	json_decref(doc->json);
	memset(doc, 0, sizeof(*doc));
}

/* ---- output ---- */

static void
set_string(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

void *
event_to_json(const struct event *ev)
{
	static const char *const access_names[] = { NULL, "read", "write",
	    "exec" };
	json_t *o = json_object();
	char buf[64];
	size_t i;

	json_object_set_new(o, "event", json_string(event_kind_name(ev->kind)));
	if (ev->time_ms != 0) {
		event_format_time(ev->time_ms, buf, sizeof(buf));
		json_object_set_new(o, "time", json_string(buf));
	}
	set_string(o, "function", ev->function);
	set_string(o, "region", ev->region);
	set_string(o, "provider", ev->provider);
	set_string(o, "accountID", ev->account);
	if (ev->nlabels > 0) {
		json_t *labels = json_array();

		for (i = 0; i < ev->nlabels; i++)
			json_array_append_new(labels, json_string(ev->labels[i]));
		json_object_set_new(o, "labels", labels);
	}
	set_string(o, "processPath", ev->process_path);
	if (ev->pid > 0)
		json_object_set_new(o, "pid", json_integer(ev->pid));
	set_string(o, "command", ev->command);
	set_string(o, "user", ev->user);
	json_object_set_new(o, "mainProcess", json_boolean(ev->main_process));
	set_string(o, "interpreter", ev->interpreter);
	set_string(o, "domain", ev->domain);
	if (ev->miner_protocol)
		json_object_set_new(o, "minerProtocol", json_true());
	if (ev->kind == EVENT_DNS) {
		json_t *answers = json_array();

		for (i = 0; i < ev->nanswers; i++)
			json_array_append_new(answers, json_string(
			    ipaddr_format(&ev->answers[i], buf, sizeof(buf))));
		json_object_set_new(o, "answers", answers);
		json_object_set_new(o, "ttl", json_integer(ev->ttl));
	}
	if (ev->ip.family != 0)
		json_object_set_new(o, "ip", json_string(ipaddr_format(&ev->ip,
		    buf, sizeof(buf))));
	if (ev->port >= 0)
		json_object_set_new(o, "port", json_integer(ev->port));
	if (ev->proto != PROTO_NONE)
		json_object_set_new(o, "proto", json_string(ev->proto ==
		    PROTO_TCP ? "tcp" : "udp"));
	set_string(o, "filepath", ev->filepath);
	set_string(o, "newpath", ev->newpath);
	if (ev->access != ACCESS_NONE)
		json_object_set_new(o, "access",
		    json_string(access_names[ev->access]));
	return o;
}
