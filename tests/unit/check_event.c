/*
 * check_event — the recording format (SPEC section 6): every event kind with
 * all its fields, audit records (SPEC section 4) read back as events, errors,
 * the JSON round trip, and RFC 3339 times.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fnguard/event.h"
#include "fnguard/pattern.h"

/* 2026-11-29T06:00:00Z in Unix milliseconds. */
#define T0 INT64_C(1795932000000)

/* The identity and process fields every test line carries. */
#define COMMON \
	"\"time\": \"2026-11-29T06:00:00.250Z\", \"function\": \"payments-api\"," \
	" \"region\": \"us-east-1\", \"provider\": \"aws\"," \
	" \"accountID\": \"123456789012\", \"labels\": [\"team:pay\"," \
	" \"env:prod\"], \"processPath\": \"/var/lang/bin/python3.12\"," \
	" \"pid\": 7, \"command\": \"python3 app.py\"," \
	" \"user\": \"sbx_user1051\", \"mainProcess\": true"

static void
parse_ok(const char *line, struct event_doc *doc)
{
	char err[256] = "";

	ck_assert_msg(event_parse(line, strlen(line), doc, err,
	    sizeof(err)) == 0, "%s: %s", line, err);
}

static void
assert_ip(const struct ipaddr *a, const char *text)
{
	struct ipaddr want;
	char buf[64];

	if (text == NULL) {
		ck_assert_int_eq(a->family, 0);
		return;
	}
	ck_assert_int_eq(ipaddr_parse(text, strlen(text), &want), 0);
	ck_assert_msg(ipaddr_equal(a, &want), "ip %s, want %s",
	    ipaddr_format(a, buf, sizeof(buf)), text);
}

static void
assert_str(const char *got, const char *want, const char *field)
{
	if (want == NULL)
		ck_assert_msg(got == NULL, "%s: \"%s\", want none", field, got);
	else {
		ck_assert_msg(got != NULL, "%s: none, want \"%s\"", field,
		    want);
		ck_assert_str_eq(got, want);
	}
}

static void
assert_common(const struct event *ev)
{
	ck_assert_int_eq(ev->time_ms, T0 + 250);
	assert_str(ev->function, "payments-api", "function");
	assert_str(ev->region, "us-east-1", "region");
	assert_str(ev->provider, "aws", "provider");
	assert_str(ev->account, "123456789012", "accountID");
	ck_assert_uint_eq(ev->nlabels, 2);
	ck_assert_str_eq(ev->labels[0], "team:pay");
	ck_assert_str_eq(ev->labels[1], "env:prod");
	assert_str(ev->process_path, "/var/lang/bin/python3.12", "processPath");
	ck_assert_int_eq(ev->pid, 7);
	assert_str(ev->command, "python3 app.py", "command");
	assert_str(ev->user, "sbx_user1051", "user");
	ck_assert(ev->main_process);
	ck_assert(!ev->resolved);
}

/* ---- every kind, every field ---- */

static const struct kind_case {
	const char *name;		/* "event" */
	const char *rest;		/* the object's fields */
	enum event_kind kind;
	const char *domain;
	const char *answers[3];
	uint32_t ttl;
	const char *ip;
	int port;
	enum event_proto proto;
	const char *filepath, *newpath;
	enum event_access access;
	const char *interpreter;
} kind_cases[] = {
	{ "dns", "\"domain\": \"s3.amazonaws.com\", \"answers\": [\"192.0.2.10\","
	  " \"2001:db8::11\", \"::ffff:192.0.2.12\"], \"ttl\": 60",
	  EVENT_DNS, "s3.amazonaws.com", { "192.0.2.10", "2001:db8::11",
	  "192.0.2.12" }, 60, NULL, -1, PROTO_NONE, NULL, NULL, ACCESS_NONE,
	  NULL },
	{ "exec", "\"interpreter\": \"/usr/bin/python3\"",
	  EVENT_EXEC, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, NULL, NULL,
	  ACCESS_NONE, "/usr/bin/python3" },
	{ "connect", "\"ip\": \"192.0.2.10\", \"port\": 443, \"proto\": \"tcp\","
	  " \"domain\": \"s3.amazonaws.com\"",
	  EVENT_CONNECT, "s3.amazonaws.com", { NULL }, 0, "192.0.2.10", 443,
	  PROTO_TCP, NULL, NULL, ACCESS_NONE, NULL },
	{ "connect", "\"ip\": \"2001:db8::53\", \"port\": 53, \"proto\": \"udp\"",
	  EVENT_SENDTO, NULL, { NULL }, 0, "2001:db8::53", 53, PROTO_UDP, NULL,
	  NULL, ACCESS_NONE, NULL },
	{ "sendto", "\"ip\": \"192.0.2.53\", \"port\": 53, \"proto\": \"udp\"",
	  EVENT_SENDTO, NULL, { NULL }, 0, "192.0.2.53", 53, PROTO_UDP, NULL,
	  NULL, ACCESS_NONE, NULL },
	{ "listen", "\"port\": 8080, \"proto\": \"tcp\"",
	  EVENT_LISTEN, NULL, { NULL }, 0, NULL, 8080, PROTO_TCP, NULL, NULL,
	  ACCESS_NONE, NULL },
	{ "accept", "\"ip\": \"::ffff:198.51.100.7\", \"port\": 8080,"
	  " \"proto\": \"tcp\"",
	  EVENT_ACCEPT, NULL, { NULL }, 0, "198.51.100.7", 8080, PROTO_TCP,
	  NULL, NULL, ACCESS_NONE, NULL },
	{ "open", "\"filepath\": \"/etc/passwd\", \"access\": \"read\"",
	  EVENT_OPEN, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/etc/passwd",
	  NULL, ACCESS_READ, NULL },
	{ "open", "\"filepath\": \"/tmp/x\", \"access\": \"write\"",
	  EVENT_OPEN, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/x", NULL,
	  ACCESS_WRITE, NULL },
	{ "open", "\"filepath\": \"/tmp/run.sh\", \"access\": \"exec\"",
	  EVENT_OPEN, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/run.sh",
	  NULL, ACCESS_EXEC, NULL },
	{ "create", "\"filepath\": \"/tmp/cache.db\"",
	  EVENT_CREATE, NULL, { NULL }, 0, NULL, -1, PROTO_NONE,
	  "/tmp/cache.db", NULL, ACCESS_NONE, NULL },
	{ "unlink", "\"filepath\": \"/tmp/cache.link\"",
	  EVENT_UNLINK, NULL, { NULL }, 0, NULL, -1, PROTO_NONE,
	  "/tmp/cache.link", NULL, ACCESS_NONE, NULL },
	{ "rename", "\"filepath\": \"/tmp/a\", \"newpath\": \"/tmp/b\"",
	  EVENT_RENAME, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/a",
	  "/tmp/b", ACCESS_NONE, NULL },
	{ "link", "\"filepath\": \"/tmp/b\", \"newpath\": \"/tmp/c\"",
	  EVENT_LINK, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/b",
	  "/tmp/c", ACCESS_NONE, NULL },
	{ "mkdir", "\"filepath\": \"/tmp/work\"",
	  EVENT_MKDIR, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/work",
	  NULL, ACCESS_NONE, NULL },
	{ "rmdir", "\"filepath\": \"/tmp/work\"",
	  EVENT_RMDIR, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/work",
	  NULL, ACCESS_NONE, NULL },
	{ "chmod", "\"filepath\": \"/tmp/b\"",
	  EVENT_CHMOD, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/b", NULL,
	  ACCESS_NONE, NULL },
	{ "chown", "\"filepath\": \"/tmp/b\"",
	  EVENT_CHOWN, NULL, { NULL }, 0, NULL, -1, PROTO_NONE, "/tmp/b", NULL,
	  ACCESS_NONE, NULL },
	{ "truncate", "\"filepath\": \"/tmp/cache.db\"",
	  EVENT_TRUNCATE, NULL, { NULL }, 0, NULL, -1, PROTO_NONE,
	  "/tmp/cache.db", NULL, ACCESS_NONE, NULL },
};

#define NKIND_CASES (sizeof(kind_cases) / sizeof(kind_cases[0]))

static char *
kind_line(const struct kind_case *c)
{
	char *line;

	ck_assert_int_ge(asprintf(&line, "{\"event\": \"%s\", " COMMON
	    ", %s}", c->name, c->rest), 0);
	return line;
}

static void
assert_kind_case(const struct event *ev, const struct kind_case *c)
{
	size_t n, i;

	ck_assert_int_eq(ev->kind, c->kind);
	assert_common(ev);
	assert_str(ev->domain, c->domain, "domain");
	for (n = 0; n < 3 && c->answers[n] != NULL; n++)
		;
	ck_assert_uint_eq(ev->nanswers, n);
	for (i = 0; i < n; i++)
		assert_ip(&ev->answers[i], c->answers[i]);
	ck_assert_uint_eq(ev->ttl, c->ttl);
	assert_ip(&ev->ip, c->ip);
	ck_assert_int_eq(ev->port, c->port);
	ck_assert_int_eq(ev->proto, c->proto);
	assert_str(ev->filepath, c->filepath, "filepath");
	assert_str(ev->newpath, c->newpath, "newpath");
	ck_assert_int_eq(ev->access, c->access);
	assert_str(ev->interpreter, c->interpreter, "interpreter");
}

START_TEST(test_kind_fields)
{
	const struct kind_case *c = &kind_cases[_i];
	char *line = kind_line(c);
	struct event_doc doc;

	parse_ok(line, &doc);
	ck_assert(!doc.from_audit);
	assert_kind_case(&doc.ev, c);
	ck_assert_str_eq(event_kind_name(doc.ev.kind), c->kind == EVENT_SENDTO ?
	    "sendto" : c->name);
	event_doc_clear(&doc);
	free(line);
}
END_TEST

START_TEST(test_kind_names)
{
	static const char *const names[EVENT_KIND_COUNT] = { "dns", "exec",
	    "connect", "sendto", "listen", "accept", "open", "create",
	    "unlink", "rename", "link", "mkdir", "rmdir", "chmod", "chown",
	    "truncate" };
	enum event_kind k;
	size_t i;

	for (i = 0; i < EVENT_KIND_COUNT; i++) {
		ck_assert_str_eq(event_kind_name((enum event_kind)i), names[i]);
		ck_assert_int_eq(event_kind_parse(names[i], &k), 0);
		ck_assert_int_eq(k, (enum event_kind)i);
	}
	ck_assert_int_eq(event_kind_parse("teleport", &k), -1);
	ck_assert_int_eq(event_kind_parse("DNS", &k), -1);
	ck_assert_str_eq(event_type_name(EVENT_EXEC), "processes");
	ck_assert_str_eq(event_type_name(EVENT_DNS), "network");
	ck_assert_str_eq(event_type_name(EVENT_CONNECT), "network");
	ck_assert_str_eq(event_type_name(EVENT_ACCEPT), "network");
	ck_assert_str_eq(event_type_name(EVENT_OPEN), "filesystem");
	ck_assert_str_eq(event_type_name(EVENT_TRUNCATE), "filesystem");
}
END_TEST

START_TEST(test_minimal_event)
{
	struct event_doc doc;

	parse_ok("{\"event\": \"exec\"}", &doc);
	ck_assert_int_eq(doc.ev.kind, EVENT_EXEC);
	ck_assert_int_eq(doc.ev.time_ms, 0);
	ck_assert_ptr_null(doc.ev.function);
	ck_assert_ptr_null(doc.ev.process_path);
	ck_assert_int_eq(doc.ev.pid, 0);
	ck_assert(!doc.ev.main_process);
	ck_assert_uint_eq(doc.ev.nlabels, 0);
	ck_assert_int_eq(doc.ev.port, -1);
	ck_assert_int_eq(doc.ev.ip.family, 0);
	event_doc_clear(&doc);

	/* null is as good as absent; unknown fields are ignored. */
	parse_ok("{\"event\": \"connect\", \"ip\": null, \"port\": null, "
	    "\"proto\": \"tcp\", \"comment\": \"hi\"}", &doc);
	ck_assert_int_eq(doc.ev.kind, EVENT_CONNECT);
	ck_assert_int_eq(doc.ev.port, -1);
	ck_assert_int_eq(doc.ev.ip.family, 0);
	event_doc_clear(&doc);
}
END_TEST

/* ---- audit records ---- */

#define AUDIT_HEAD \
	"\"time\": \"2026-11-29T06:00:02.150Z\", \"function\": \"payments-api\"," \
	" \"region\": \"us-east-1\", \"provider\": \"aws\"," \
	" \"accountID\": \"123456789012\", \"runtime\": \"python3.12\"," \
	" \"requestID\": \"8f5c\", \"effect\": \"prevent\"," \
	" \"ruleName\": \"payments-prod\", \"count\": 1," \
	" \"severity\": \"high\", \"user\": \"sbx_user1051\""

static const struct audit_case {
	const char *line;
	enum event_kind kind;
	const char *process_path;
	long pid;
	const char *command;
	const char *domain;
	const char *ip;
	int port;
	const char *filepath;
} audit_cases[] = {
	{ "{" AUDIT_HEAD ", \"type\": \"network\", \"attackType\": "
	  "\"explicitlyDeniedDNS\", \"msg\": \"DNS resolution of domain name "
	  "yahoo.com triggered by /usr/bin/wget explicitly denied by a runtime "
	  "rule.\", \"processPath\": \"/usr/bin/wget\", \"pid\": 43, "
	  "\"command\": \"wget http://yahoo.com\", \"domain\": \"yahoo.com\"}",
	  EVENT_DNS, "/usr/bin/wget", 43, "wget http://yahoo.com", "yahoo.com",
	  NULL, -1, NULL },
	{ "{" AUDIT_HEAD ", \"type\": \"network\", \"attackType\": "
	  "\"explicitlyDeniedListeningPort\", \"msg\": \"Process /usr/bin/nc is "
	  "listening on port 4444 explicitly denied by a runtime rule\", "
	  "\"processPath\": \"/usr/bin/nc\", \"pid\": 50, \"port\": 4444}",
	  EVENT_LISTEN, "/usr/bin/nc", 50, NULL, NULL, NULL, 4444, NULL },
	{ "{" AUDIT_HEAD ", \"type\": \"network\", \"attackType\": "
	  "\"explicitlyDeniedIP\", \"msg\": \"Outbound connection "
	  "/var/lang/bin/python3.12 to IP 169.254.169.254 is explicitly denied "
	  "by a runtime rule\", \"processPath\": \"/var/lang/bin/python3.12\", "
	  "\"pid\": 1, \"ip\": \"169.254.169.254\", \"port\": 80}",
	  EVENT_CONNECT, "/var/lang/bin/python3.12", 1, NULL, NULL,
	  "169.254.169.254", 80, NULL },
	{ "{" AUDIT_HEAD ", \"type\": \"network\", \"attackType\": "
	  "\"explicitlyDeniedOutboundPort\", \"msg\": \"Outbound connection "
	  "/usr/bin/wget to port 80 (IP: 192.0.2.99) is explicitly denied by a "
	  "runtime rule.\", \"processPath\": \"/usr/bin/wget\", \"pid\": 43, "
	  "\"ip\": \"192.0.2.99\", \"port\": 80}",
	  EVENT_CONNECT, "/usr/bin/wget", 43, NULL, NULL, "192.0.2.99", 80,
	  NULL },
	{ "{" AUDIT_HEAD ", \"type\": \"processes\", \"attackType\": "
	  "\"explicitlyDeniedProcess\", \"msg\": \"/bin/sh launched and is "
	  "explicitly denied by runtime rule. Full command /bin/sh -c wget "
	  "http://yahoo.com\", \"processPath\": \"/bin/sh\", \"pid\": 42, "
	  "\"command\": \"/bin/sh -c wget http://yahoo.com\"}",
	  EVENT_EXEC, "/bin/sh", 42, "/bin/sh -c wget http://yahoo.com", NULL,
	  NULL, -1, NULL },
	{ "{" AUDIT_HEAD ", \"type\": \"processes\", \"attackType\": "
	  "\"cryptoMinerProcess\", \"msg\": \"/tmp/xmrig launched and is "
	  "identified as a crypto miner. Full command: /tmp/xmrig -o "
	  "stratum+tcp://pool.example.net:3333\", \"processPath\": "
	  "\"/tmp/xmrig\", \"pid\": 44, \"command\": \"/tmp/xmrig -o "
	  "stratum+tcp://pool.example.net:3333\"}",
	  EVENT_EXEC, "/tmp/xmrig", 44, "/tmp/xmrig -o "
	  "stratum+tcp://pool.example.net:3333", NULL, NULL, -1, NULL },
	{ "{" AUDIT_HEAD ", \"type\": \"filesystem\", \"attackType\": "
	  "\"regFileAccess\", \"msg\": \"/var/lang/bin/python3.12 access a "
	  "suspicious path of /etc/passwd\", \"processPath\": "
	  "\"/var/lang/bin/python3.12\", \"pid\": 1, \"filepath\": "
	  "\"/etc/passwd\"}",
	  EVENT_OPEN, "/var/lang/bin/python3.12", 1, NULL, NULL, NULL, -1,
	  "/etc/passwd" },
};

START_TEST(test_audit_records)
{
	const struct audit_case *c = &audit_cases[_i];
	struct event_doc doc;

	parse_ok(c->line, &doc);
	ck_assert(doc.from_audit);
	ck_assert_int_eq(doc.ev.kind, c->kind);
	ck_assert_int_eq(doc.ev.time_ms, T0 + 2150);
	assert_str(doc.ev.function, "payments-api", "function");
	assert_str(doc.ev.region, "us-east-1", "region");
	assert_str(doc.ev.provider, "aws", "provider");
	assert_str(doc.ev.account, "123456789012", "accountID");
	assert_str(doc.ev.user, "sbx_user1051", "user");
	assert_str(doc.ev.process_path, c->process_path, "processPath");
	ck_assert_int_eq(doc.ev.pid, c->pid);
	assert_str(doc.ev.command, c->command, "command");
	assert_str(doc.ev.domain, c->domain, "domain");
	assert_ip(&doc.ev.ip, c->ip);
	ck_assert_int_eq(doc.ev.port, c->port);
	assert_str(doc.ev.filepath, c->filepath, "filepath");
	event_doc_clear(&doc);
}
END_TEST

START_TEST(test_audit_policy_hijacked)
{
	static const char line[] = "{\"time\": \"2026-11-29T06:00:00.000Z\", "
	    "\"function\": \"payments-api\", \"region\": \"us-east-1\", "
	    "\"provider\": \"aws\", \"accountID\": \"123456789012\", "
	    "\"type\": \"processes\", \"attackType\": \"policyHijacked\", "
	    "\"effect\": \"prevent\", \"ruleName\": \"\", \"msg\": \"Possible "
	    "tampering of Defender policy detected.\", \"count\": 1, "
	    "\"severity\": \"high\"}";
	struct event_doc doc;
	char err[256] = "";

	ck_assert_int_eq(event_parse(line, strlen(line), &doc, err,
	    sizeof(err)), -1);
	ck_assert_msg(err[0] != '\0', "no reason given");
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_msg(strstr(err, "policyHijacked") != NULL, "%s", err);
}
END_TEST

/* ---- errors ---- */

static const struct {
	const char *line;
	const char *err;
	bool exact;
} error_cases[] = {
	{ "{\"event\": \"exec\", \"pid\": \"abc\"}",
	  "field \"pid\": expected an integer", true },
	{ "{\"event\": \"exec\", \"pid\": 1.5}",
	  "field \"pid\": expected an integer", true },
	{ "{\"event\": \"exec\", \"pid\": true}",
	  "field \"pid\": expected an integer", true },
	{ "{\"event\": \"exec\", \"pid\": -3}", "field \"pid\"", false },
	{ "{\"event\": \"teleport\"}", "unknown event kind", false },
	{ "{\"event\": \"teleport\"}", "field \"event\"", false },
	{ "{\"event\": 5}", "field \"event\"", false },
	{ "{\"event\": \"connect\", \"ip\": \"192.0.2.300\"}", "field \"ip\"",
	  false },
	{ "{\"event\": \"connect\", \"ip\": \"example.com\"}", "field \"ip\"",
	  false },
	{ "{\"event\": \"connect\", \"ip\": 3232235777}", "field \"ip\"",
	  false },
	{ "{\"event\": \"dns\", \"answers\": [\"192.0.2.1\", \"nope\"]}",
	  "field \"answers\"", false },
	{ "{\"event\": \"dns\", \"answers\": \"192.0.2.1\"}",
	  "field \"answers\"", false },
	{ "{\"event\": \"dns\", \"ttl\": \"long\"}", "field \"ttl\"", false },
	{ "{\"event\": \"dns\", \"time\": \"yesterday\"}", "field \"time\"",
	  false },
	{ "{\"event\": \"dns\", \"time\": \"2026-13-01T00:00:00Z\"}",
	  "field \"time\"", false },
	{ "{\"event\": \"dns\", \"time\": 1795932000}", "field \"time\"",
	  false },
	{ "{\"event\": \"connect\", \"port\": 70000}", "field \"port\"",
	  false },
	{ "{\"event\": \"connect\", \"port\": -2}", "field \"port\"", false },
	{ "{\"event\": \"connect\", \"proto\": \"sctp\"}", "field \"proto\"",
	  false },
	{ "{\"event\": \"open\", \"access\": \"rw\"}", "field \"access\"",
	  false },
	{ "{\"event\": \"exec\", \"mainProcess\": \"yes\"}",
	  "field \"mainProcess\"", false },
	{ "{\"event\": \"exec\", \"processPath\": 5}", "field \"processPath\"",
	  false },
	{ "{\"event\": \"exec\", \"function\": [\"f\"]}", "field \"function\"",
	  false },
	{ "{\"event\": \"exec\", \"labels\": \"team:pay\"}", "field \"labels\"",
	  false },
	{ "{\"event\": \"exec\", \"labels\": [\"nocolon\"]}",
	  "field \"labels\"", false },
	{ "{\"event\": \"open\", \"filepath\": {}}", "field \"filepath\"",
	  false },
	{ "{\"pid\": 1}", "event", false },
	{ "{\"type\": \"registry\", \"attackType\": \"regFileAccess\"}",
	  "field \"type\"", false },
	{ "{\"event\": \"dns\", \"event\": \"exec\"}", NULL, false },
	{ "{\"event\": \"dns\"", NULL, false },
	{ "{\"event\": \"dns\"} trailing", NULL, false },
	{ "[\"dns\"]", NULL, false },
	{ "\"dns\"", NULL, false },
	{ "", NULL, false },
	{ "{\"event\": \"exec\", \"processPath\": \"/bin/\xff\"}", NULL,
	  false },
};

START_TEST(test_errors)
{
	const char *line = error_cases[_i].line;
	struct event_doc doc;
	char err[256] = "";
	int rc = event_parse(line, strlen(line), &doc, err, sizeof(err));

	ck_assert_msg(rc == -1, "parsed: %s", line);
	ck_assert_msg(err[0] != '\0', "%s: no reason", line);
	ck_assert_msg(strchr(err, '\n') == NULL, "%s: not one line: %s", line,
	    err);
	if (error_cases[_i].err == NULL)
		return;
	if (error_cases[_i].exact)
		ck_assert_str_eq(err, error_cases[_i].err);
	else
		ck_assert_msg(strstr(err, error_cases[_i].err) != NULL,
		    "%s: \"%s\" lacks %s", line, err, error_cases[_i].err);
}
END_TEST

START_TEST(test_error_small_buffer)
{
	static const char line[] = "{\"event\": \"exec\", \"pid\": \"abc\"}";
	struct event_doc doc;
	char err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(event_parse(line, strlen(line), &doc, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(memchr(err, '\0', sizeof(err)));
	ck_assert_str_eq(err, "field \"");
}
END_TEST

START_TEST(test_numbers_as_strings)
{
	/* Audit records may carry numbers as strings. */
	struct event_doc doc;

	parse_ok("{\"event\": \"connect\", \"pid\": \"42\", \"port\": \"443\","
	    " \"ip\": \"192.0.2.1\"}", &doc);
	ck_assert_int_eq(doc.ev.pid, 42);
	ck_assert_int_eq(doc.ev.port, 443);
	event_doc_clear(&doc);
}
END_TEST

/* ---- round trip ---- */

static void
assert_same_str(const char *a, const char *b, const char *field)
{
	if (a == NULL || b == NULL)
		ck_assert_msg(a == b, "%s: \"%s\" vs \"%s\"", field,
		    a ? a : "(none)", b ? b : "(none)");
	else
		ck_assert_msg(strcmp(a, b) == 0, "%s: \"%s\" vs \"%s\"",
		    field, a, b);
}

static void
assert_same_event(const struct event *a, const struct event *b)
{
	size_t i;

	ck_assert_int_eq(a->kind, b->kind);
	ck_assert_int_eq(a->time_ms, b->time_ms);
	assert_same_str(a->function, b->function, "function");
	assert_same_str(a->region, b->region, "region");
	assert_same_str(a->provider, b->provider, "provider");
	assert_same_str(a->account, b->account, "account");
	ck_assert_uint_eq(a->nlabels, b->nlabels);
	for (i = 0; i < a->nlabels; i++)
		assert_same_str(a->labels[i], b->labels[i], "labels");
	assert_same_str(a->process_path, b->process_path, "processPath");
	ck_assert_int_eq(a->pid, b->pid);
	assert_same_str(a->command, b->command, "command");
	assert_same_str(a->user, b->user, "user");
	ck_assert_int_eq(a->main_process, b->main_process);
	assert_same_str(a->interpreter, b->interpreter, "interpreter");
	assert_same_str(a->domain, b->domain, "domain");
	ck_assert_uint_eq(a->nanswers, b->nanswers);
	for (i = 0; i < a->nanswers; i++)
		ck_assert(ipaddr_equal(&a->answers[i], &b->answers[i]));
	ck_assert_uint_eq(a->ttl, b->ttl);
	ck_assert_int_eq(a->ip.family, b->ip.family);
	if (a->ip.family != 0)
		ck_assert(ipaddr_equal(&a->ip, &b->ip));
	ck_assert_int_eq(a->port, b->port);
	ck_assert_int_eq(a->proto, b->proto);
	assert_same_str(a->filepath, b->filepath, "filepath");
	assert_same_str(a->newpath, b->newpath, "newpath");
	ck_assert_int_eq(a->access, b->access);
}

static char *
to_text(const struct event *ev)
{
	json_t *o = event_to_json(ev);
	char *text;

	ck_assert_ptr_nonnull(o);
	text = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	json_decref(o);
	return text;
}

START_TEST(test_round_trip)
{
	char *line = kind_line(&kind_cases[_i]), *text, *again;
	struct event_doc one, two;

	parse_ok(line, &one);
	text = to_text(&one.ev);
	parse_ok(text, &two);
	assert_same_event(&one.ev, &two.ev);
	/* and the event's own checks still hold */
	assert_kind_case(&two.ev, &kind_cases[_i]);
	/* The JSON form is stable once written. */
	again = to_text(&two.ev);
	ck_assert_str_eq(text, again);
	event_doc_clear(&one);
	event_doc_clear(&two);
	free(again);
	free(text);
	free(line);
}
END_TEST

START_TEST(test_round_trip_audit)
{
	char *text;
	struct event_doc one, two;

	parse_ok(audit_cases[_i].line, &one);
	text = to_text(&one.ev);
	parse_ok(text, &two);
	ck_assert(!two.from_audit);
	assert_same_event(&one.ev, &two.ev);
	event_doc_clear(&one);
	event_doc_clear(&two);
	free(text);
}
END_TEST

START_TEST(test_to_json_fields)
{
	struct event ev;
	json_t *o;
	struct ipaddr a;

	event_init(&ev, EVENT_CONNECT);
	ck_assert_int_eq(ev.port, -1);
	ev.time_ms = T0 + 7;
	ev.function = "payments-api";
	ev.process_path = "/usr/bin/curl";
	ev.pid = 99;
	ck_assert_int_eq(ipaddr_parse("2001:db8::1", 11, &a), 0);
	ev.ip = a;
	ev.port = 443;
	ev.proto = PROTO_TCP;
	o = event_to_json(&ev);
	ck_assert_str_eq(json_string_value(json_object_get(o, "event")),
	    "connect");
	ck_assert_str_eq(json_string_value(json_object_get(o, "time")),
	    "2026-11-29T06:00:00.007Z");
	ck_assert_str_eq(json_string_value(json_object_get(o, "function")),
	    "payments-api");
	ck_assert_str_eq(json_string_value(json_object_get(o, "processPath")),
	    "/usr/bin/curl");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), 99);
	ck_assert_str_eq(json_string_value(json_object_get(o, "ip")),
	    "2001:db8::1");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "port")), 443);
	ck_assert_str_eq(json_string_value(json_object_get(o, "proto")), "tcp");
	/* absent stays absent */
	ck_assert_ptr_null(json_object_get(o, "region"));
	ck_assert_ptr_null(json_object_get(o, "filepath"));
	ck_assert_ptr_null(json_object_get(o, "newpath"));
	ck_assert_ptr_null(json_object_get(o, "access"));
	json_decref(o);
}
END_TEST

/* ---- time ---- */

static const struct {
	const char *text;
	int64_t ms;
} good_times[] = {
	{ "2026-11-29T06:00:00Z", T0 },
	{ "2026-11-29T06:00:00.000Z", T0 },
	{ "2026-11-29T06:00:00.1Z", T0 + 100 },
	{ "2026-11-29T06:00:00.12Z", T0 + 120 },
	{ "2026-11-29T06:00:00.123Z", T0 + 123 },
	{ "2026-11-29T06:00:00.1234Z", T0 + 123 },
	{ "2026-11-29T06:00:00.12345Z", T0 + 123 },
	{ "2026-11-29T06:00:00.123456Z", T0 + 123 },
	{ "2026-11-29T06:00:00.1234567Z", T0 + 123 },
	{ "2026-11-29T06:00:00.12345678Z", T0 + 123 },
	{ "2026-11-29T06:00:00.123456789Z", T0 + 123 },
	{ "2026-11-29T06:00:00.999999999Z", T0 + 999 },
	{ "2026-11-29T08:00:00+02:00", T0 },
	{ "2026-11-29T08:00:00.250+02:00", T0 + 250 },
	{ "2026-11-29T01:30:00-04:30", T0 },
	{ "2026-11-29T06:00:00+00:00", T0 },
	{ "2026-11-29T06:00:00-00:00", T0 },
	{ "2026-11-30T05:00:00+23:00", T0 },
	{ "2026-11-29t06:00:00z", T0 },
	{ "2026-11-29t06:00:00.5z", T0 + 500 },
	{ "1970-01-01T00:00:00Z", 0 },
	{ "1970-01-01T00:00:00.001Z", 1 },
	{ "2000-02-29T12:34:56Z", INT64_C(951827696000) },
	{ "2024-02-29T00:00:00Z", INT64_C(1709164800000) },
	{ "2024-03-01T00:00:00Z", INT64_C(1709164800000) + 86400000 },
	{ "2024-12-31T23:59:59.999Z", INT64_C(1735689599999) },
	{ "2023-03-01T00:00:00Z", INT64_C(1677628800000) },
	{ "2038-01-19T03:14:08Z", INT64_C(2147483648000) },
};

START_TEST(test_parse_time_good)
{
	int64_t ms = -42;

	ck_assert_msg(event_parse_time(good_times[_i].text, &ms) == 0,
	    "%s refused", good_times[_i].text);
	ck_assert_msg(ms == good_times[_i].ms, "%s: %lld, want %lld",
	    good_times[_i].text, (long long)ms, (long long)good_times[_i].ms);
}
END_TEST

static const char *const bad_times[] = {
	"2026-13-01T00:00:00Z",		/* month 13 */
	"2026-00-10T00:00:00Z",		/* month 0 */
	"2026-11-00T00:00:00Z",		/* day 0 */
	"2026-11-31T00:00:00Z",		/* November has 30 days */
	"2026-04-31T00:00:00Z",
	"2026-02-29T00:00:00Z",		/* 2026 is not a leap year */
	"1900-02-29T00:00:00Z",		/* nor is 1900 */
	"2024-02-30T00:00:00Z",
	"2026-11-32T00:00:00Z",
	"2026-11-29",			/* a date is not a time */
	"2026-11-29T06:00Z",
	"2026-11-29T06:00:00",		/* no offset */
	"2026-11-29T24:00:00Z",
	"2026-11-29T06:60:00Z",
	"2026-11-29T06:00:61Z",
	"2026-11-29T06:00:00Zjunk",	/* trailing junk */
	"2026-11-29T06:00:00Z ",
	"2026-11-29T06:00:00.Z",	/* a dot needs digits */
	"2026-11-29T06:00:00+0200",
	"2026-11-29T06:00:00+02",
	"2026-11-29T06:00:00+24:00",
	"2026-11-29T06:00:00+02:60",
	"2026-11-29X06:00:00Z",
	"26-11-29T06:00:00Z",
	"2026/11/29T06:00:00Z",
	"2026-1-29T06:00:00Z",
	" 2026-11-29T06:00:00Z",
	"",
	"yesterday",
};

START_TEST(test_parse_time_bad)
{
	int64_t ms = 0;

	ck_assert_msg(event_parse_time(bad_times[_i], &ms) == -1,
	    "\"%s\" accepted as %lld", bad_times[_i], (long long)ms);
}
END_TEST

static const struct {
	int64_t ms;
	const char *text;
} formats[] = {
	{ T0, "2026-11-29T06:00:00.000Z" },
	{ T0 + 7, "2026-11-29T06:00:00.007Z" },
	{ T0 + 86399999, "2026-11-30T05:59:59.999Z" },
	{ 0, "1970-01-01T00:00:00.000Z" },
	{ -1, "1969-12-31T23:59:59.999Z" },
	{ INT64_C(951827696000), "2000-02-29T12:34:56.000Z" },
	{ INT64_C(1709164800000), "2024-02-29T00:00:00.000Z" },
	{ INT64_C(1735689599999), "2024-12-31T23:59:59.999Z" },
	{ INT64_C(4102444800000), "2100-01-01T00:00:00.000Z" },
};

START_TEST(test_format_time)
{
	char buf[64];
	int64_t back;

	event_format_time(formats[_i].ms, buf, sizeof(buf));
	ck_assert_str_eq(buf, formats[_i].text);
	ck_assert_int_eq(event_parse_time(buf, &back), 0);
	ck_assert_int_eq(back, formats[_i].ms);
}
END_TEST

START_TEST(test_format_parse_sweep)
{
	/* Every day from 1999 through 2031 at a varying time of day. */
	int64_t ms, back;
	char buf[64];

	for (ms = INT64_C(915148800000); ms < INT64_C(1956528000000);
	    ms += INT64_C(86400000) + 3723001) {
		event_format_time(ms, buf, sizeof(buf));
		ck_assert_msg(event_parse_time(buf, &back) == 0, "%s", buf);
		ck_assert_msg(back == ms, "%s: %lld != %lld", buf,
		    (long long)back, (long long)ms);
	}
}
END_TEST

static Suite *
event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc;

	tc = tcase_create("kinds");
	tcase_add_loop_test(tc, test_kind_fields, 0, NKIND_CASES);
	tcase_add_test(tc, test_kind_names);
	tcase_add_test(tc, test_minimal_event);
	tcase_add_test(tc, test_numbers_as_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit");
	tcase_add_loop_test(tc, test_audit_records, 0,
	    sizeof(audit_cases) / sizeof(audit_cases[0]));
	tcase_add_test(tc, test_audit_policy_hijacked);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_errors, 0,
	    sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_test(tc, test_error_small_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("round trip");
	tcase_add_loop_test(tc, test_round_trip, 0, NKIND_CASES);
	tcase_add_loop_test(tc, test_round_trip_audit, 0,
	    sizeof(audit_cases) / sizeof(audit_cases[0]));
	tcase_add_test(tc, test_to_json_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_add_loop_test(tc, test_parse_time_good, 0,
	    sizeof(good_times) / sizeof(good_times[0]));
	tcase_add_loop_test(tc, test_parse_time_bad, 0,
	    sizeof(bad_times) / sizeof(bad_times[0]));
	tcase_add_loop_test(tc, test_format_time, 0,
	    sizeof(formats) / sizeof(formats[0]));
	tcase_add_test(tc, test_format_parse_sweep);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(event_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
