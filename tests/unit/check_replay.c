/*
 * check_replay — replaying recordings (SPEC section 6) with the rule engine:
 * the bundled recording against each bundled policy, line by line, with the
 * verdicts worked out from SPEC section 2; requireResolved and the TTL of
 * learned addresses; reading JSON-lines files; identity overrides.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fnguard/diag.h"
#include "fnguard/event.h"
#include "fnguard/ipmap.h"
#include "fnguard/policy.h"
#include "fnguard/replay.h"
#include "fnguard/rules.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define RECORDING TOP_SRCDIR "/conf/examples/recording.jsonl"
#define NLINES 26

/* 2026-11-29T06:00:00Z in Unix milliseconds. */
#define T0 INT64_C(1795932000000)

struct expect {
	enum verdict_kind verdict;
	enum attack_type attack;
};

#define A { VERDICT_ALLOW, ATTACK_NONE }
#define P(x) { VERDICT_PREVENT, ATTACK_##x }
#define L(x) { VERDICT_ALERT, ATTACK_##x }

/*
 * The recording, line by line (conf/examples/README.md tells its story):
 *  1 exec main python3.12        14 link /tmp/cache.old -> .link
 *  2 open read /var/task/...     15 mkdir /tmp/work
 *  3 dns s3.amazon.com           16 rmdir /tmp/work
 *  4 dns www.amazon.com          17 chmod /tmp/cache.old
 *  5 connect 192.0.2.10:443      18 chown /tmp/cache.old
 *    tcp, SNI s3.amazon.com      19 unlink /tmp/cache.link
 *  6 dns dynamodb.us-east-1.     20 open read /etc/passwd
 *    amazon.com                  21 exec /bin/sh (pid 42, not main)
 *  7 sendto 192.0.2.53:53 udp    22 exec /usr/bin/wget (pid 43)
 *  8 listen 8080                 23 dns yahoo.com (wget)
 *  9 accept 198.51.100.7         24 connect 192.0.2.99:80 (wget)
 * 10 create /tmp/cache.db        25 connect 169.254.169.254:80
 * 11 open write /tmp/cache.db    26 exec /tmp/xmrig ... stratum+tcp://
 * 12 truncate /tmp/cache.db
 * 13 rename /tmp/cache.db -> /tmp/cache.old
 */

/*
 * amazon-dns.json: one rule for every function, only dns on (prevent,
 * whitelist "*amazon.com", which ends-with matches every *.amazon.com
 * name). Only yahoo.com is outside it.
 */
static const struct expect seed[NLINES] = {
	A, A, A, A, A, A, A, A, A, A,
	A, A, A, A, A, A, A, A, A, A,
	A, A, P(DENIED_DNS), A, A, A,
};

/*
 * lambda-hardened.json: processes prevent with blockAllBinaries and
 * checkCryptoMiners (the main process may run; pids 42 and 43 may not; the
 * miner is a miner); network prevent with the metadata address
 * blacklisted; dns off; filesystem alert on /etc/passwd among others.
 */
static const struct expect hardened[NLINES] = {
	A, A, A, A, A, A, A, A, A, A,
	A, A, A, A, A, A, A, A, A, L(REG_FILE_ACCESS),
	P(DENIED_PROCESS), P(DENIED_PROCESS), A, A, P(DENIED_IP),
	P(CRYPTO_MINER),
};

/*
 * commercial-export.json for payments-api in us-east-1: rule
 * payments-prod (functions payments-*, labels region:us-east-1).
 * dns prevent with only amazonaws.com / stripe.com names: every amazon.com
 * name and yahoo.com fail, and so does the SNI s3.amazon.com of line 5 (the
 * name on the wire is judged as a name too, so an allowed address cannot
 * front a denied name). network prevent: outbound ports whitelist 443 only
 * (line 7 udp 53 and line 24 tcp 80 fail), 169.254.169.254 blacklisted
 * (line 25: the address is named, so explicitlyDeniedIP). processes:
 * blockAllBinaries + miners. filesystem alert under /etc and /root.
 */
static const struct expect export_payments[NLINES] = {
	A, A, P(DENIED_DNS), P(DENIED_DNS), P(DENIED_DNS), P(DENIED_DNS),
	P(DENIED_OUTBOUND_PORT), A, A, A,
	A, A, A, A, A, A, A, A, A, L(REG_FILE_ACCESS),
	P(DENIED_PROCESS), P(DENIED_PROCESS), P(DENIED_DNS),
	P(DENIED_OUTBOUND_PORT), P(DENIED_IP), P(CRYPTO_MINER),
};

/*
 * The same export as orders-api: payments-prod does not match,
 * legacy-block-outbound is disabled, so the "All" default rule applies:
 * every section alert, no lists but the metadata address, miners checked,
 * filesystem blacklist /etc/shadow and all under /root (not /etc/passwd).
 */
static const struct expect export_orders[NLINES] = {
	A, A, A, A, A, A, A, A, A, A,
	A, A, A, A, A, A, A, A, A, A,
	A, A, A, A, L(DENIED_IP), L(CRYPTO_MINER),
};

/* ---- helpers ---- */

static struct policy *
load_policy_file(const char *path)
{
	struct diags d;
	struct policy *pol;
	bool hijacked;
	char buf[512];

	diags_init(&d);
	pol = policy_load_file(path, NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s: %s", path,
	    diags_first_error(&d, buf, sizeof(buf)));
	diags_clear(&d);
	return pol;
}

static struct policy *
load_conf(const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/conf/policies/%s", TOP_SRCDIR, name);
	return load_policy_file(path);
}

static struct policy *
policy_text(const char *json)
{
	struct diags d;
	struct policy *pol;
	bool hijacked;
	char buf[512];

	diags_init(&d);
	pol = policy_parse(json, strlen(json), NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_first_error(&d, buf,
	    sizeof(buf)));
	diags_clear(&d);
	return pol;
}

struct run {
	struct replayer *rp;
	size_t n;			/* events seen */
	size_t broken;
	size_t lineno[64];
	struct verdict v[64];
	char rule[64][128];
	char object[64][128];		/* the denied object, copied */
	enum event_kind kind[64];
	unsigned kinds_seen;
};

static void
run_line_cb(const char *file, size_t lineno, const struct event_doc *doc,
    const char *error, void *arg)
{
	struct run *run = arg;

	(void)file;
	(void)error;
	if (doc == NULL) {
		run->broken++;
		return;
	}
	ck_assert_uint_lt(run->n, 64);
	run->lineno[run->n] = lineno;
	run->kind[run->n] = doc->ev.kind;
	run->kinds_seen |= 1u << doc->ev.kind;
	replayer_eval(run->rp, &doc->ev, &run->v[run->n]);
	snprintf(run->rule[run->n], sizeof(run->rule[0]), "%s",
	    run->v[run->n].rule != NULL ? run->v[run->n].rule->name : "");
	snprintf(run->object[run->n], sizeof(run->object[0]), "%s",
	    run->v[run->n].object != NULL ? run->v[run->n].object : "");
	run->v[run->n].object = NULL;	/* it pointed into the line */
	run->n++;
}

static void
replay_recording(const struct policy *pol, const struct replay_overrides *ov,
    struct run *run)
{
	memset(run, 0, sizeof(*run));
	run->rp = replayer_new(pol, ov);
	ck_assert_ptr_nonnull(run->rp);
	ck_assert_msg(access(RECORDING, R_OK) == 0, "%s missing", RECORDING);
	ck_assert_int_eq(replay_read_file(RECORDING, run_line_cb, run), 0);
	replayer_free(run->rp);
	run->rp = NULL;
	ck_assert_uint_eq(run->broken, 0);
	ck_assert_uint_eq(run->n, NLINES);
}

static void
assert_run(const struct run *run, const struct expect *want,
    const char *rule)
{
	size_t i;

	for (i = 0; i < run->n; i++) {
		ck_assert_uint_eq(run->lineno[i], i + 1);
		ck_assert_msg(run->v[i].verdict == want[i].verdict &&
		    run->v[i].attack == want[i].attack,
		    "line %zu (%s): %s %s, want %s %s", i + 1,
		    event_kind_name(run->kind[i]),
		    verdict_name(run->v[i].verdict),
		    attack_type_name(run->v[i].attack),
		    verdict_name(want[i].verdict),
		    attack_type_name(want[i].attack));
		if (rule != NULL)
			ck_assert_msg(strcmp(run->rule[i], rule) == 0,
			    "line %zu: rule \"%s\", want \"%s\"", i + 1,
			    run->rule[i], rule);
	}
}

static void
count(const struct run *run, size_t *allow, size_t *alert, size_t *prevent)
{
	size_t i;

	*allow = *alert = *prevent = 0;
	for (i = 0; i < run->n; i++) {
		if (run->v[i].verdict == VERDICT_ALLOW)
			(*allow)++;
		else if (run->v[i].verdict == VERDICT_ALERT)
			(*alert)++;
		else
			(*prevent)++;
	}
}

/* ---- the bundled recording ---- */

START_TEST(test_recording_kinds)
{
	struct run run;

	replay_recording(NULL, NULL, &run);
	/* It holds every kind at least once, and no policy allows all. */
	ck_assert_uint_eq(run.kinds_seen, (1u << EVENT_KIND_COUNT) - 1);
	assert_run(&run, (const struct expect[NLINES]){ A, A, A, A, A, A, A,
	    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A }, "");
}
END_TEST

START_TEST(test_recording_seed)
{
	struct policy *pol = load_conf("amazon-dns.json");
	struct run run;
	size_t allow, alert, prevent;

	replay_recording(pol, NULL, &run);
	assert_run(&run, seed, "allow-aws-only");
	count(&run, &allow, &alert, &prevent);
	ck_assert_uint_eq(allow, 25);
	ck_assert_uint_eq(alert, 0);
	ck_assert_uint_eq(prevent, 1);
	policy_free(pol);
}
END_TEST

START_TEST(test_recording_hardened)
{
	struct policy *pol = load_conf("lambda-hardened.json");
	struct run run;
	size_t allow, alert, prevent;

	replay_recording(pol, NULL, &run);
	assert_run(&run, hardened, "lambda-hardened");
	count(&run, &allow, &alert, &prevent);
	ck_assert_uint_eq(allow, 21);
	ck_assert_uint_eq(alert, 1);
	ck_assert_uint_eq(prevent, 4);
	/* The denied objects. */
	ck_assert_str_eq(run.object[19], "/etc/passwd");
	ck_assert_str_eq(run.object[25], "/tmp/xmrig");
	ck_assert_int_eq(run.v[20].reason, REASON_BLOCK_ALL_BINARIES);
	ck_assert_int_eq(run.v[24].reason, REASON_BLACKLISTED);
	policy_free(pol);
}
END_TEST

START_TEST(test_recording_export)
{
	struct policy *pol = load_conf("commercial-export.json");
	struct replay_overrides ov;
	struct run run;
	size_t allow, alert, prevent;

	memset(&ov, 0, sizeof(ov));
	ov.function = "payments-api";
	ov.region = "us-east-1";
	replay_recording(pol, &ov, &run);
	assert_run(&run, export_payments, "payments-prod");
	count(&run, &allow, &alert, &prevent);
	ck_assert_uint_eq(allow, 14);
	ck_assert_uint_eq(alert, 1);
	ck_assert_uint_eq(prevent, 11);
	policy_free(pol);
}
END_TEST

START_TEST(test_recording_export_other_function)
{
	struct policy *pol = load_conf("commercial-export.json");
	struct replay_overrides ov;
	struct run run;

	memset(&ov, 0, sizeof(ov));
	ov.function = "orders-api";
	replay_recording(pol, &ov, &run);
	assert_run(&run, export_orders,
	    "Default - alert on suspicious runtime behavior");
	policy_free(pol);

	/* payments-api outside us-east-1: the default rule as well. */
	pol = load_conf("commercial-export.json");
	ov.function = "payments-api";
	ov.region = "eu-west-1";
	replay_recording(pol, &ov, &run);
	assert_run(&run, export_orders,
	    "Default - alert on suspicious runtime behavior");
	policy_free(pol);
}
END_TEST

/* ---- requireResolved ---- */

static const char rr_policy[] =
    "{\"rules\": [{\"name\": \"rr\", \"network\": {\"effect\": \"prevent\","
    " \"requireResolved\": true, \"whitelistIPs\": [\"203.0.113.5\"]},"
    " \"dns\": {\"effect\": \"prevent\", \"blacklist\": [\"evil.example\"]}}]}";

static void
dns_event(struct event *ev, const char *name, const char *a1, const char *a2,
    uint32_t ttl, int64_t t)
{
	event_init(ev, EVENT_DNS);
	ev->time_ms = t;
	ev->function = "f";
	ev->process_path = "/usr/bin/curl";
	ev->domain = name;
	ev->ttl = ttl;
	ck_assert_int_eq(ipaddr_parse(a1, strlen(a1), &ev->answers[0]), 0);
	ev->nanswers = 1;
	if (a2 != NULL) {
		ck_assert_int_eq(ipaddr_parse(a2, strlen(a2),
		    &ev->answers[1]), 0);
		ev->nanswers = 2;
	}
}

static void
net_event(struct event *ev, enum event_kind kind, const char *ip, int port,
    int64_t t)
{
	event_init(ev, kind);
	ev->time_ms = t;
	ev->function = "f";
	ev->process_path = "/usr/bin/curl";
	ck_assert_int_eq(ipaddr_parse(ip, strlen(ip), &ev->ip), 0);
	ev->port = port;
	ev->proto = kind == EVENT_SENDTO ? PROTO_UDP : PROTO_TCP;
}

static enum verdict_kind
eval_connect(struct replayer *rp, const char *ip, int64_t t,
    struct verdict *v)
{
	struct event ev;

	net_event(&ev, EVENT_CONNECT, ip, 443, t);
	replayer_eval(rp, &ev, v);
	return v->verdict;
}

START_TEST(test_require_resolved)
{
	struct policy *pol = policy_text(rr_policy);
	struct replayer *rp = replayer_new(pol, NULL);
	struct event ev;
	struct verdict v;

	ck_assert_ptr_nonnull(rp);
	/* Before any answer: not resolved. */
	ck_assert_int_eq(eval_connect(rp, "192.0.2.20", T0, &v),
	    VERDICT_PREVENT);
	ck_assert_int_eq(v.attack, ATTACK_DENIED_IP);
	ck_assert_int_eq(v.reason, REASON_NOT_RESOLVED);

	/* An allowed answer teaches its addresses. */
	dns_event(&ev, "good.example", "192.0.2.20", "2001:db8::20", 60,
	    T0 + 1000);
	replayer_eval(rp, &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	ck_assert_int_eq(eval_connect(rp, "192.0.2.20", T0 + 2000, &v),
	    VERDICT_ALLOW);
	ck_assert_int_eq(eval_connect(rp, "2001:db8::20", T0 + 2000, &v),
	    VERDICT_ALLOW);
	/* The mapped form of a learned IPv4 address is that address. */
	ck_assert_int_eq(eval_connect(rp, "::ffff:192.0.2.20", T0 + 2000, &v),
	    VERDICT_ALLOW);
	/* UDP too. */
	net_event(&ev, EVENT_SENDTO, "192.0.2.20", 53, T0 + 2000);
	replayer_eval(rp, &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	net_event(&ev, EVENT_SENDTO, "192.0.2.21", 53, T0 + 2000);
	replayer_eval(rp, &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_PREVENT);
	ck_assert_int_eq(v.attack, ATTACK_DENIED_IP);

	/* A denied answer teaches nothing. */
	dns_event(&ev, "evil.example", "192.0.2.66", NULL, 60, T0 + 3000);
	replayer_eval(rp, &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_PREVENT);
	ck_assert_int_eq(v.attack, ATTACK_DENIED_DNS);
	ck_assert_int_eq(eval_connect(rp, "192.0.2.66", T0 + 4000, &v),
	    VERDICT_PREVENT);
	ck_assert_int_eq(v.attack, ATTACK_DENIED_IP);

	/* Never resolved; whitelisted. */
	ck_assert_int_eq(eval_connect(rp, "198.51.100.1", T0 + 4000, &v),
	    VERDICT_PREVENT);
	ck_assert_int_eq(eval_connect(rp, "203.0.113.5", T0 + 4000, &v),
	    VERDICT_ALLOW);

	/* replayer_resolved says the same. */
	net_event(&ev, EVENT_CONNECT, "192.0.2.20", 443, T0 + 4000);
	ck_assert(replayer_resolved(rp, &ev));
	net_event(&ev, EVENT_CONNECT, "192.0.2.66", 443, T0 + 4000);
	ck_assert(!replayer_resolved(rp, &ev));

	replayer_free(rp);
	policy_free(pol);
}
END_TEST

START_TEST(test_require_resolved_expiry)
{
	struct policy *pol = policy_text(rr_policy);
	struct replayer *rp = replayer_new(pol, NULL);
	const int64_t learned = T0 + 1000;
	const int64_t expiry = learned + (60 + IPMAP_DEFAULT_GRACE_S) * 1000;
	struct event ev;
	struct verdict v;

	dns_event(&ev, "good.example", "192.0.2.20", "2001:db8::20", 60,
	    learned);
	replayer_eval(rp, &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	/* Past the TTL, within the grace: still good. */
	ck_assert_int_eq(eval_connect(rp, "192.0.2.20", learned + 61000, &v),
	    VERDICT_ALLOW);
	ck_assert_int_eq(eval_connect(rp, "192.0.2.20", expiry - 1000, &v),
	    VERDICT_ALLOW);
	/* After TTL + grace, by the events' own times: gone. */
	ck_assert_int_eq(eval_connect(rp, "192.0.2.20", expiry + 1000, &v),
	    VERDICT_PREVENT);
	ck_assert_int_eq(v.attack, ATTACK_DENIED_IP);
	ck_assert_int_eq(eval_connect(rp, "2001:db8::20", expiry + 1000, &v),
	    VERDICT_PREVENT);
	net_event(&ev, EVENT_CONNECT, "192.0.2.20", 443, expiry + 1000);
	ck_assert(!replayer_resolved(rp, &ev));

	/* A fresh answer teaches it again. */
	dns_event(&ev, "good.example", "192.0.2.20", NULL, 30, expiry + 2000);
	replayer_eval(rp, &ev, &v);
	ck_assert_int_eq(eval_connect(rp, "192.0.2.20", expiry + 3000, &v),
	    VERDICT_ALLOW);
	replayer_free(rp);
	policy_free(pol);
}
END_TEST

START_TEST(test_require_resolved_from_lines)
{
	/* The same through the recording format, times and all. */
	static const char *const lines[] = {
	    "{\"event\": \"dns\", \"time\": \"2026-11-29T06:00:00Z\", "
	    "\"domain\": \"api.example.com\", \"answers\": [\"192.0.2.30\"], "
	    "\"ttl\": 10}",
	    "{\"event\": \"connect\", \"time\": \"2026-11-29T06:02:09Z\", "
	    "\"ip\": \"192.0.2.30\", \"port\": 443, \"proto\": \"tcp\"}",
	    "{\"event\": \"connect\", \"time\": \"2026-11-29T06:02:11Z\", "
	    "\"ip\": \"192.0.2.30\", \"port\": 443, \"proto\": \"tcp\"}",
	};
	static const enum verdict_kind want[] = { VERDICT_ALLOW, VERDICT_ALLOW,
	    VERDICT_PREVENT };
	struct policy *pol = policy_text(rr_policy);
	struct replayer *rp = replayer_new(pol, NULL);
	struct event_doc doc;
	struct verdict v;
	char err[256];
	size_t i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(event_parse(lines[i], strlen(lines[i]), &doc,
		    err, sizeof(err)), 0);
		replayer_eval(rp, &doc.ev, &v);
		ck_assert_msg(v.verdict == want[i], "line %zu: %s", i + 1,
		    verdict_name(v.verdict));
		event_doc_clear(&doc);
	}
	replayer_free(rp);
	policy_free(pol);
}
END_TEST

/* ---- reading files ---- */

struct seen {
	size_t n;
	size_t lineno[16];
	bool ok[16];
	enum event_kind kind[16];
	char text[16][128];	/* domain/path of good lines, error of bad */
};

static void
seen_cb(const char *file, size_t lineno, const struct event_doc *doc,
    const char *error, void *arg)
{
	struct seen *s = arg;

	ck_assert_ptr_nonnull(file);
	ck_assert_uint_lt(s->n, 16);
	s->lineno[s->n] = lineno;
	s->ok[s->n] = doc != NULL;
	if (doc != NULL) {
		ck_assert_ptr_null(error);
		s->kind[s->n] = doc->ev.kind;
		snprintf(s->text[s->n], sizeof(s->text[0]), "%s",
		    doc->ev.domain ? doc->ev.domain : doc->ev.filepath ?
		    doc->ev.filepath : doc->ev.process_path ?
		    doc->ev.process_path : "");
	} else {
		ck_assert_ptr_nonnull(error);
		snprintf(s->text[s->n], sizeof(s->text[0]), "%s", error);
	}
	s->n++;
}

START_TEST(test_read_file)
{
	char dir[] = "/tmp/check_replay.XXXXXX", path[64];
	FILE *f;
	struct seen s;
	size_t i, big = REPLAY_MAX_LINE + 100;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rec.jsonl", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	/* lines 1 to 7 */
	fputs("{\"event\": \"dns\", \"domain\": \"a.example\"}\n"
	    "\n"
	    "  \t \n"
	    "{\"event\": \"dns\", \"domain\": \n"
	    "{\"event\": \"exec\", \"processPath\": \"/bin/sh\"}\n"
	    "{\"event\": \"teleport\"}\n"
	    "{\"event\": \"connect\", \"ip\": \"192.0.2.1\", "
	    "\"domain\": \"crlf.example\"}\r\n", f);
	/* line 8, too long */
	fputs("{\"event\": \"exec\", \"command\": \"", f);
	for (i = 0; i < big; i++)
		fputc('x', f);
	fputs("\"}\n", f);
	/* line 9, with no newline at the end */
	fputs("{\"event\": \"open\", \"filepath\": \"/tmp/last\"}", f);
	ck_assert_int_eq(fclose(f), 0);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(replay_read_file(path, seen_cb, &s), 0);
	ck_assert_uint_eq(s.n, 7);
	ck_assert_uint_eq(s.lineno[0], 1);
	ck_assert(s.ok[0]);
	ck_assert_int_eq(s.kind[0], EVENT_DNS);
	ck_assert_str_eq(s.text[0], "a.example");
	ck_assert_uint_eq(s.lineno[1], 4);
	ck_assert(!s.ok[1]);
	ck_assert_msg(s.text[1][0] != '\0', "no reason for line 4");
	ck_assert_uint_eq(s.lineno[2], 5);
	ck_assert(s.ok[2]);
	ck_assert_int_eq(s.kind[2], EVENT_EXEC);
	ck_assert_str_eq(s.text[2], "/bin/sh");
	ck_assert_uint_eq(s.lineno[3], 6);
	ck_assert(!s.ok[3]);
	ck_assert_msg(strstr(s.text[3], "unknown event kind") != NULL, "%s",
	    s.text[3]);
	ck_assert_uint_eq(s.lineno[4], 7);
	ck_assert(s.ok[4]);
	ck_assert_int_eq(s.kind[4], EVENT_CONNECT);
	ck_assert_str_eq(s.text[4], "crlf.example");
	ck_assert_uint_eq(s.lineno[5], 8);
	ck_assert(!s.ok[5]);
	ck_assert_uint_eq(s.lineno[6], 9);
	ck_assert(s.ok[6]);
	ck_assert_int_eq(s.kind[6], EVENT_OPEN);
	ck_assert_str_eq(s.text[6], "/tmp/last");

	/* An empty file: no lines, no error. */
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fclose(f), 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(replay_read_file(path, seen_cb, &s), 0);
	ck_assert_uint_eq(s.n, 0);

	unlink(path);
	rmdir(dir);

	/* A file that cannot be read. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(replay_read_file("/nonexistent/rec.jsonl", seen_cb,
	    &s), -1);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

/* ---- identity overrides ---- */

static const char scoped_policy[] =
    "{\"rules\": [{\"name\": \"payments\", \"collections\": [{\"name\": "
    "\"p\", \"functions\": [\"payments-*\"]}], \"dns\": {\"effect\": "
    "\"prevent\", \"whitelist\": [\"example.com\"]}}]}";

static void
eval_dns_as(const struct policy *pol, const struct replay_overrides *ov,
    const char *own_function, struct verdict *v)
{
	struct replayer *rp = replayer_new(pol, ov);
	struct event ev;

	event_init(&ev, EVENT_DNS);
	ev.time_ms = T0;
	ev.function = own_function;
	ev.domain = "evil.org";
	replayer_eval(rp, &ev, v);
	replayer_free(rp);
}

START_TEST(test_override_function)
{
	struct policy *pol = policy_text(scoped_policy);
	struct replay_overrides ov;
	struct verdict v;

	memset(&ov, 0, sizeof(ov));
	/* The event's own name decides without overrides. */
	eval_dns_as(pol, NULL, "orders-api", &v);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	ck_assert_ptr_null(v.rule);
	eval_dns_as(pol, NULL, "payments-api", &v);
	ck_assert_int_eq(v.verdict, VERDICT_PREVENT);
	ck_assert_int_eq(v.attack, ATTACK_DENIED_DNS);
	ck_assert_str_eq(v.rule->name, "payments");

	/* --function replaces it, both ways. */
	ov.function = "payments-api";
	eval_dns_as(pol, &ov, "orders-api", &v);
	ck_assert_int_eq(v.verdict, VERDICT_PREVENT);
	ck_assert_str_eq(v.rule->name, "payments");
	ov.function = "orders-api";
	eval_dns_as(pol, &ov, "payments-api", &v);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	ck_assert_ptr_null(v.rule);
	/* An event with no identity at all. */
	ov.function = "payments-x";
	eval_dns_as(pol, &ov, NULL, &v);
	ck_assert_int_eq(v.verdict, VERDICT_PREVENT);
	policy_free(pol);
}
END_TEST

START_TEST(test_override_region_account_labels)
{
	static const char json[] =
	    "{\"rules\": ["
	    " {\"name\": \"east\", \"collections\": [{\"name\": \"e\","
	    "  \"labels\": [\"region:us-east-*\"]}],"
	    "  \"dns\": {\"effect\": \"prevent\","
	    "   \"blacklist\": [\"a.test\"]}},"
	    " {\"name\": \"acct\", \"collections\": [{\"name\": \"a\","
	    "  \"accountIDs\": [\"111111111111\"]}],"
	    "  \"dns\": {\"effect\": \"prevent\","
	    "   \"blacklist\": [\"a.test\"]}},"
	    " {\"name\": \"team\", \"collections\": [{\"name\": \"t\","
	    "  \"labels\": [\"team:pay\"]}],"
	    "  \"dns\": {\"effect\": \"alert\","
	    "   \"blacklist\": [\"a.test\"]}}]}";
	struct policy *pol = policy_text(json);
	struct replay_overrides ov;
	struct replayer *rp;
	struct identity id;
	struct event ev;
	struct verdict v;

	event_init(&ev, EVENT_DNS);
	ev.domain = "a.test";
	ev.function = "f";
	ev.region = "eu-west-1";
	ev.account = "222222222222";
	ev.labels[0] = "team:ops";
	ev.nlabels = 1;

	memset(&ov, 0, sizeof(ov));
	rp = replayer_new(pol, &ov);
	replayer_eval(rp, &ev, &v);
	ck_assert_ptr_null(v.rule);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	replayer_identity(rp, &ev, &id);
	ck_assert_str_eq(id.function, "f");
	ck_assert_str_eq(id.region, "eu-west-1");
	ck_assert_str_eq(id.account, "222222222222");
	ck_assert_str_eq(id.provider, "others");
	ck_assert_uint_eq(id.nlabels, 1);
	ck_assert_str_eq(id.labels[0], "team:ops");
	replayer_free(rp);

	ov.region = "us-east-2";
	rp = replayer_new(pol, &ov);
	replayer_eval(rp, &ev, &v);
	ck_assert_ptr_nonnull(v.rule);
	ck_assert_str_eq(v.rule->name, "east");
	replayer_identity(rp, &ev, &id);
	ck_assert_str_eq(id.region, "us-east-2");
	ck_assert_str_eq(id.function, "f");
	replayer_free(rp);

	ov.region = NULL;
	ov.account = "111111111111";
	ov.provider = "aws";
	rp = replayer_new(pol, &ov);
	replayer_eval(rp, &ev, &v);
	ck_assert_ptr_nonnull(v.rule);
	ck_assert_str_eq(v.rule->name, "acct");
	replayer_identity(rp, &ev, &id);
	ck_assert_str_eq(id.provider, "aws");
	ck_assert_str_eq(id.region, "eu-west-1");
	replayer_free(rp);

	ov.account = NULL;
	ov.labels[0] = "team:pay";
	ov.nlabels = 1;
	rp = replayer_new(pol, &ov);
	replayer_eval(rp, &ev, &v);
	ck_assert_ptr_nonnull(v.rule);
	ck_assert_str_eq(v.rule->name, "team");
	ck_assert_int_eq(v.verdict, VERDICT_ALERT);
	replayer_identity(rp, &ev, &id);
	ck_assert_uint_eq(id.nlabels, 1);
	ck_assert_str_eq(id.labels[0], "team:pay");
	replayer_free(rp);
	policy_free(pol);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc;

	tc = tcase_create("recording");
	tcase_add_test(tc, test_recording_kinds);
	tcase_add_test(tc, test_recording_seed);
	tcase_add_test(tc, test_recording_hardened);
	tcase_add_test(tc, test_recording_export);
	tcase_add_test(tc, test_recording_export_other_function);
	suite_add_tcase(s, tc);

	tc = tcase_create("requireResolved");
	tcase_add_test(tc, test_require_resolved);
	tcase_add_test(tc, test_require_resolved_expiry);
	tcase_add_test(tc, test_require_resolved_from_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_read_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("overrides");
	tcase_add_test(tc, test_override_function);
	tcase_add_test(tc, test_override_region_account_labels);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(replay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
