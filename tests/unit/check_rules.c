/*
 * check_rules — the rule engine (SPEC section 2): which rule applies to a
 * function (scope), and the verdict of that rule for every kind of event,
 * with policies written as JSON and loaded by policy_parse.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/diag.h"
#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/pattern.h"
#include "fnguard/policy.h"
#include "fnguard/rules.h"

/* ---- helpers ---- */

/* All diags as text, for failure messages. */
static const char *
diags_text(const struct diags *d)
{
	static char buf[4096];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < d->count && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s: %s; ",
		    d->items[i].place, d->items[i].message);
	return buf;
}

/* Parses a policy written with ' for " (no policy here needs a '). */
static struct policy *
load(const char *sq)
{
	struct policy *pol;
	struct diags d;
	bool hijacked = false;
	char *json = strdup(sq), *p;

	ck_assert_ptr_nonnull(json);
	for (p = json; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	diags_init(&d);
	pol = policy_parse(json, strlen(json), NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "policy did not load: %s (%s)",
	    diags_text(&d), sq);
	ck_assert(!hijacked);
	diags_clear(&d);
	free(json);
	return pol;
}

/* A policy of one rule for every function, with the given sections. */
static struct policy *
load_rule(const char *sections)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "{'rules': [{'name': 'r1', %s}]}",
	    sections);
	return load(buf);
}

static void
ident(struct identity *id, const char *function, const char *region,
    const char *account)
{
	memset(id, 0, sizeof(*id));
	id->function = function;
	id->region = region;
	id->provider = "aws";
	id->account = account;
	id->runtime = "python3.12";
	id->request_id = "";
}

/* The default identity of the verdict tests. */
static struct identity the_id;

static void
setup_id(void)
{
	ident(&the_id, "payments-api", "us-east-1", "123456789012");
}

static struct ipaddr
ip(const char *text)
{
	struct ipaddr a;

	ck_assert_msg(ipaddr_parse(text, strlen(text), &a) == 0,
	    "bad address %s", text);
	return a;
}

static void
ev_dns(struct event *ev, const char *name)
{
	event_init(ev, EVENT_DNS);
	ev->process_path = "/usr/bin/wget";
	ev->pid = 43;
	ev->domain = name;
}

static void
ev_exec(struct event *ev, const char *path, const char *command,
    bool main_process)
{
	event_init(ev, EVENT_EXEC);
	ev->process_path = path;
	ev->command = command;
	ev->pid = 42;
	ev->main_process = main_process;
}

static void
ev_net(struct event *ev, enum event_kind kind, const char *addr, int port)
{
	event_init(ev, kind);
	ev->process_path = "/usr/bin/curl";
	ev->pid = 44;
	if (addr != NULL)
		ev->ip = ip(addr);
	ev->port = port;
	ev->proto = kind == EVENT_SENDTO ? PROTO_UDP : PROTO_TCP;
}

static void
ev_fs(struct event *ev, enum event_kind kind, const char *path,
    const char *newpath)
{
	event_init(ev, kind);
	ev->process_path = "/var/lang/bin/python3";
	ev->pid = 1;
	ev->filepath = path;
	ev->newpath = newpath;
	if (kind == EVENT_OPEN)
		ev->access = ACCESS_READ;
}

/* Checks a verdict, with the names of what differs. */
static void
expect(const struct verdict *v, enum verdict_kind verdict,
    enum attack_type attack, enum deny_reason reason, const char *what)
{
	ck_assert_msg(v->verdict == verdict, "%s: verdict %s, expected %s",
	    what, verdict_name(v->verdict), verdict_name(verdict));
	ck_assert_msg(v->attack == attack, "%s: attack \"%s\", expected "
	    "\"%s\"", what, attack_type_name(v->attack),
	    attack_type_name(attack));
	ck_assert_msg(v->reason == reason, "%s: reason %d, expected %d", what,
	    (int)v->reason, (int)reason);
}

static void
expect_allow(const struct verdict *v, const char *what)
{
	expect(v, VERDICT_ALLOW, ATTACK_NONE, REASON_NONE, what);
	ck_assert_msg(v->object == NULL, "%s: allowed with object %s", what,
	    v->object);
}

static void
expect_object(const struct verdict *v, const char *object, const char *what)
{
	ck_assert_msg(v->object != NULL, "%s: no object", what);
	ck_assert_msg(strcmp(v->object, object) == 0,
	    "%s: object \"%s\", expected \"%s\"", what, v->object, object);
}

/* ---- rule selection ---- */

static const char scope_policy[] =
"{'rules': ["
" {'name': 'off', 'disabled': true},"
" {'name': 'payments', 'collections': [{'name': 'pay',"
"   'functions': ['payments-*', '-payments-test']}]},"
" {'name': 'east', 'collections': [{'name': 'east',"
"   'labels': ['region:us-east-1']}]},"
" {'name': 'team-blue', 'collections': [{'name': 'blue',"
"   'labels': ['team:blue']}]},"
" {'name': 'acct', 'collections': [{'name': 'acct',"
"   'accountIDs': ['1111*']}]},"
" {'name': 'and', 'collections': [{'name': 'and',"
"   'functions': ['billing-*'], 'labels': ['region:eu-west-1'],"
"   'accountIDs': ['2222']}]},"
" {'name': 'or', 'collections': [{'name': 'a', 'functions': ['alpha']},"
"   {'name': 'b', 'functions': ['beta']}]}"
"]}";

struct scope_case {
	const char *function, *region, *account, *label;
	const char *rule;	/* expected rule name; NULL: none */
};

static const struct scope_case scope_cases[] = {
	/* functions, with an exemption */
	{ "payments-api", "eu-west-1", "999", NULL, "payments" },
	{ "PAYMENTS-API", "eu-west-1", "999", NULL, "payments" },
	{ "payments-test", "eu-west-1", "999", NULL, NULL },
	/* first match wins: payments-api in us-east-1 matches both */
	{ "payments-api", "us-east-1", "999", NULL, "payments" },
	{ "payments-test", "us-east-1", "999", NULL, "east" },
	/* region: labels against the identity's region */
	{ "web", "us-east-1", "999", NULL, "east" },
	{ "web", "us-east-2", "999", NULL, NULL },
	/* other labels against the identity's labels */
	{ "web", "eu-west-1", "999", "team:blue", "team-blue" },
	{ "web", "eu-west-1", "999", "team:red", NULL },
	{ "web", "eu-west-1", "999", "owner:blue", NULL },
	/* accountIDs */
	{ "web", "eu-west-1", "111122223333", NULL, "acct" },
	{ "web", "eu-west-1", "2222", NULL, NULL },
	/* fields AND-ed */
	{ "billing-x", "eu-west-1", "2222", NULL, "and" },
	{ "billing-x", "eu-west-1", "3333", NULL, NULL },
	{ "billing-x", "us-west-2", "2222", NULL, NULL },
	{ "other", "eu-west-1", "2222", NULL, NULL },
	/* collections OR-ed */
	{ "alpha", "eu-west-1", "0", NULL, "or" },
	{ "beta", "eu-west-1", "0", NULL, "or" },
	{ "gamma", "eu-west-1", "0", NULL, NULL },
};

START_TEST(test_select_scope)
{
	const struct scope_case *c = &scope_cases[_i];
	struct policy *pol = load(scope_policy);
	const struct rule *r;
	struct identity id;

	ident(&id, c->function, c->region, c->account);
	if (c->label != NULL)
		ck_assert_int_eq(identity_add_label(&id, c->label), 0);
	r = rules_select(pol, &id);
	if (c->rule == NULL)
		ck_assert_msg(r == NULL, "%s/%s/%s/%s: rule %s, expected none",
		    c->function, c->region, c->account,
		    c->label ? c->label : "-", r ? r->name : "");
	else {
		ck_assert_msg(r != NULL, "%s/%s/%s/%s: no rule, expected %s",
		    c->function, c->region, c->account,
		    c->label ? c->label : "-", c->rule);
		ck_assert_str_eq(r->name, c->rule);
	}
	policy_free(pol);
}
END_TEST

START_TEST(test_select_disabled_skipped)
{
	struct policy *pol = load("{'rules': ["
	    "{'name': 'first', 'disabled': true},"
	    "{'name': 'second'}, {'name': 'third'}]}");
	const struct rule *r;

	setup_id();
	r = rules_select(pol, &the_id);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->name, "second");
	policy_free(pol);
}
END_TEST

START_TEST(test_select_all_collection)
{
	/* A collection named All matches every function, whatever else. */
	struct policy *pol = load("{'rules': ["
	    "{'name': 'narrow', 'collections': [{'name': 'x',"
	    "  'functions': ['nothing-like-this']}]},"
	    "{'name': 'everyone', 'collections': [{'name': 'All',"
	    "  'functions': ['*'], 'labels': ['*'], 'accountIDs': ['*']}]}]}");
	struct identity id;
	const struct rule *r;

	ident(&id, "anything", "ap-south-1", "42");
	r = rules_select(pol, &id);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->name, "everyone");
	policy_free(pol);
}
END_TEST

START_TEST(test_select_star_and_absent)
{
	/* ["*"] and absent fields match anything; empty strings too. */
	static const char *const docs[] = {
		"{'rules': [{'name': 'r', 'collections': [{'name': 'c',"
		" 'functions': ['*'], 'labels': ['*'],"
		" 'accountIDs': ['*']}]}]}",
		"{'rules': [{'name': 'r', 'collections': [{'name': 'c'}]}]}",
		"{'rules': [{'name': 'r'}]}",
	};
	struct identity id;
	const struct rule *r;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct policy *pol = load(docs[i]);

		ident(&id, "f", "sa-east-1", "77");
		ck_assert_int_eq(identity_add_label(&id, "team:x"), 0);
		r = rules_select(pol, &id);
		ck_assert_msg(r != NULL, "doc %zu selected nothing", i);
		ck_assert_str_eq(r->name, "r");
		ident(&id, "", "", "");
		r = rules_select(pol, &id);
		ck_assert_msg(r != NULL, "doc %zu: empty identity", i);
		policy_free(pol);
	}
}
END_TEST

START_TEST(test_select_star_with_exemption)
{
	/* "*" plus an exemption: every function but the exempted one (the
	 * exemption is checked first, SPEC section 2 "Patterns"). */
	struct policy *pol = load("{'rules': [{'name': 'r', 'collections':"
	    " [{'name': 'c', 'functions': ['*', '-payments-test']}]}]}");
	struct identity id;

	ident(&id, "payments-api", "us-east-1", "1");
	ck_assert_ptr_nonnull(rules_select(pol, &id));
	ident(&id, "payments-test", "us-east-1", "1");
	ck_assert_msg(rules_select(pol, &id) == NULL,
	    "functions [\"*\", \"-payments-test\"] selected payments-test");
	policy_free(pol);
}
END_TEST

START_TEST(test_select_region_pattern)
{
	struct policy *pol = load("{'rules': [{'name': 'us', 'collections':"
	    " [{'name': 'c',"
	    "  'labels': ['region:us-*', '-region:us-west-1']}]}]}");
	struct identity id;

	ident(&id, "f", "us-east-2", "1");
	ck_assert_ptr_nonnull(rules_select(pol, &id));
	ident(&id, "f", "us-west-1", "1");
	ck_assert_ptr_null(rules_select(pol, &id));
	ident(&id, "f", "eu-central-1", "1");
	ck_assert_ptr_null(rules_select(pol, &id));
	policy_free(pol);
}
END_TEST

START_TEST(test_first_match_only)
{
	/* The first rule applies and no other: its dns section is off, so
	 * the second rule's blacklist is never consulted. */
	struct policy *pol = load("{'rules': ["
	    "{'name': 'pay', 'collections': [{'name': 'p',"
	    "  'functions': ['payments-*']}],"
	    " 'dns': {'effect': 'disable', 'blacklist': ['yahoo.com']}},"
	    "{'name': 'rest', 'dns': {'effect': 'prevent',"
	    "  'blacklist': ['yahoo.com']}}]}");
	struct identity other;
	struct event ev;
	struct verdict v;

	setup_id();
	ev_dns(&ev, "yahoo.com");
	rules_eval(pol, &the_id, &ev, &v);
	expect_allow(&v, "payments-api");
	ck_assert_ptr_nonnull(v.rule);
	ck_assert_str_eq(v.rule->name, "pay");

	ident(&other, "web", "us-east-1", "1");
	rules_eval(pol, &other, &ev, &v);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS, REASON_BLACKLISTED,
	    "web");
	ck_assert_str_eq(v.rule->name, "rest");
	policy_free(pol);
}
END_TEST

START_TEST(test_no_matching_rule_allows)
{
	struct policy *pol = load("{'rules': [{'name': 'only-x',"
	    " 'collections': [{'name': 'x', 'functions': ['x']}],"
	    " 'dns': {'effect': 'prevent', 'whitelist': ['nothing.test']},"
	    " 'processes': {'effect': 'prevent', 'blockAllBinaries': true},"
	    " 'filesystem': {'effect': 'prevent', 'blacklist': ['/*']}}]}");
	struct event ev;
	struct verdict v;

	setup_id();
	ck_assert_ptr_null(rules_select(pol, &the_id));
	ev_dns(&ev, "yahoo.com");
	rules_eval(pol, &the_id, &ev, &v);
	expect_allow(&v, "dns, no rule");
	ck_assert_ptr_null(v.rule);
	ev_exec(&ev, "/bin/sh", "sh", false);
	rules_eval(pol, &the_id, &ev, &v);
	expect_allow(&v, "exec, no rule");
	ck_assert_ptr_null(v.rule);
	ev_fs(&ev, EVENT_OPEN, "/etc/passwd", NULL);
	rules_eval(pol, &the_id, &ev, &v);
	expect_allow(&v, "open, no rule");
	policy_free(pol);
}
END_TEST

START_TEST(test_no_policy_allows)
{
	struct event ev;
	struct verdict v;

	setup_id();
	ck_assert_ptr_null(rules_select(NULL, &the_id));
	ev_exec(&ev, "/tmp/xmrig", "/tmp/xmrig -o stratum+tcp://p:3333",
	    false);
	memset(&v, 0xa5, sizeof(v));
	rules_eval(NULL, &the_id, &ev, &v);
	expect_allow(&v, "no policy");
	ck_assert_ptr_null(v.rule);
	rules_eval_rule(NULL, &ev, &v);
	expect_allow(&v, "no rule");
}
END_TEST

/* ---- dns ---- */

static struct verdict
eval_with(const struct policy *pol, const struct event *ev)
{
	struct verdict v;

	rules_eval(pol, &the_id, ev, &v);
	return v;
}

START_TEST(test_dns_whitelist)
{
	struct policy *pol = load_rule("'dns': {'effect': 'prevent',"
	    " 'whitelist': ['amazon.com', '*.amazon.com', '-bad.amazon.com']}");
	static const char *const allowed[] = { "amazon.com", "amazon.com.",
	    "s3.amazon.com", "S3.Amazon.COM", "www.amazon.com." };
	static const char *const denied[] = { "yahoo.com", "evilamazon.com",
	    "amazon.com.evil.test", "bad.amazon.com", "BAD.amazon.com." };
	struct event ev;
	struct verdict v;
	size_t i;

	setup_id();
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		ev_dns(&ev, allowed[i]);
		v = eval_with(pol, &ev);
		expect_allow(&v, allowed[i]);
		ck_assert_ptr_nonnull(v.rule);
	}
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		ev_dns(&ev, denied[i]);
		v = eval_with(pol, &ev);
		expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS,
		    REASON_NOT_WHITELISTED, denied[i]);
		ck_assert_str_eq(v.rule->name, "r1");
		ck_assert_ptr_nonnull(v.object);
	}
	ev_dns(&ev, "yahoo.com");
	v = eval_with(pol, &ev);
	expect_object(&v, "yahoo.com", "yahoo.com");
	policy_free(pol);
}
END_TEST

START_TEST(test_dns_blacklist)
{
	struct policy *pol = load_rule("'dns': {'effect': 'prevent',"
	    " 'blacklist': ['yahoo.com', '*.evil.test']}");
	static const char *const denied[] = { "yahoo.com", "yahoo.com.",
	    "YAHOO.COM", "a.b.evil.test", "X.EVIL.TEST." };
	static const char *const allowed[] = { "google.com", "www.yahoo.com",
	    "evil.test", "yahoo.co" };
	struct event ev;
	struct verdict v;
	size_t i;

	setup_id();
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		ev_dns(&ev, denied[i]);
		v = eval_with(pol, &ev);
		expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS,
		    REASON_BLACKLISTED, denied[i]);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		ev_dns(&ev, allowed[i]);
		v = eval_with(pol, &ev);
		expect_allow(&v, allowed[i]);
	}
	policy_free(pol);
}
END_TEST

START_TEST(test_dns_effects)
{
	struct policy *alert = load_rule("'dns': {'effect': 'alert',"
	    " 'blacklist': ['yahoo.com']}");
	struct policy *off = load_rule("'dns': {'effect': 'disable',"
	    " 'blacklist': ['yahoo.com']}");
	struct policy *block = load_rule("'dns': {'effect': 'block',"
	    " 'blacklist': ['yahoo.com']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_dns(&ev, "yahoo.com");
	v = eval_with(alert, &ev);
	expect(&v, VERDICT_ALERT, ATTACK_DENIED_DNS, REASON_BLACKLISTED,
	    "alert");
	expect_object(&v, "yahoo.com", "alert");
	v = eval_with(off, &ev);
	expect_allow(&v, "disable");
	ck_assert_ptr_nonnull(v.rule);
	v = eval_with(block, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS, REASON_BLACKLISTED,
	    "block");
	policy_free(alert);
	policy_free(off);
	policy_free(block);
}
END_TEST

START_TEST(test_sections_absent)
{
	/* A rule without sections enforces nothing. */
	struct policy *pol = load_rule("'disabled': false");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_dns(&ev, "yahoo.com");
	v = eval_with(pol, &ev);
	expect_allow(&v, "dns");
	ev_exec(&ev, "/tmp/xmrig", "xmrig --donate-level 1", false);
	v = eval_with(pol, &ev);
	expect_allow(&v, "exec");
	ev_net(&ev, EVENT_CONNECT, "169.254.169.254", 80);
	v = eval_with(pol, &ev);
	expect_allow(&v, "connect");
	ev_fs(&ev, EVENT_UNLINK, "/etc/passwd", NULL);
	v = eval_with(pol, &ev);
	expect_allow(&v, "unlink");
	policy_free(pol);
}
END_TEST

/* ---- processes ---- */

struct exec_case {
	const char *path, *command;
	bool main_process;
	enum verdict_kind verdict;
	enum attack_type attack;
	enum deny_reason reason;
};

#define EX_ALLOW(p) { p, NULL, false, VERDICT_ALLOW, ATTACK_NONE, REASON_NONE }
#define EX_DENY(p, r) { p, NULL, false, VERDICT_PREVENT, \
	ATTACK_DENIED_PROCESS, REASON_##r }

static void
run_exec_cases(const struct policy *pol, const struct exec_case *c, size_t n)
{
	struct event ev;
	struct verdict v;
	size_t i;

	setup_id();
	for (i = 0; i < n; i++) {
		ev_exec(&ev, c[i].path, c[i].command, c[i].main_process);
		v = eval_with(pol, &ev);
		expect(&v, c[i].verdict, c[i].attack, c[i].reason, c[i].path);
		if (c[i].verdict != VERDICT_ALLOW)
			expect_object(&v, c[i].path, c[i].path);
	}
}

START_TEST(test_exec_whitelist)
{
	static const struct exec_case cases[] = {
		EX_ALLOW("/usr/bin/python3.12"),
		EX_ALLOW("/usr/local/bin/node"),	/* base name */
		EX_ALLOW("/opt/NODE"),			/* ... any case */
		EX_DENY("/usr/bin/wget", NOT_WHITELISTED),
		EX_DENY("/USR/BIN/python3.12", NOT_WHITELISTED),
		EX_DENY("/usr/local/bin/python3", NOT_WHITELISTED),
		EX_DENY("/usr/bin/nodejs", NOT_WHITELISTED),
	};
	struct policy *pol = load_rule("'processes': {'effect': 'prevent',"
	    " 'whitelist': ['/usr/bin/python3*', 'node']}");

	run_exec_cases(pol, cases, sizeof(cases) / sizeof(cases[0]));
	policy_free(pol);
}
END_TEST

START_TEST(test_exec_blacklist)
{
	static const struct exec_case cases[] = {
		EX_DENY("/usr/bin/wget", BLACKLISTED),
		EX_DENY("/bin/curl", BLACKLISTED),
		EX_DENY("/tmp/x/CURL", BLACKLISTED),
		EX_DENY("/usr/bin/nc.openbsd", BLACKLISTED),
		EX_ALLOW("/usr/local/bin/wget"),
		EX_ALLOW("/usr/bin/python3"),
		EX_ALLOW("/usr/bin/curlx"),
		EX_ALLOW("/usr/bin/WGET"),
	};
	struct policy *pol = load_rule("'processes': {'effect': 'prevent',"
	    " 'blacklist': ['/usr/bin/wget', 'curl', 'nc*']}");

	run_exec_cases(pol, cases, sizeof(cases) / sizeof(cases[0]));
	policy_free(pol);
}
END_TEST

START_TEST(test_exec_block_all_binaries)
{
	static const struct exec_case cases[] = {
		{ "/var/lang/bin/python3", "python3 bootstrap.py", true,
		  VERDICT_ALLOW, ATTACK_NONE, REASON_NONE },
		{ "/bin/sh", "sh -c id", false, VERDICT_PREVENT,
		  ATTACK_DENIED_PROCESS, REASON_BLOCK_ALL_BINARIES },
		{ "/var/lang/bin/python3", "python3 x.py", false,
		  VERDICT_PREVENT, ATTACK_DENIED_PROCESS,
		  REASON_BLOCK_ALL_BINARIES },
	};
	struct policy *pol = load_rule("'processes': {'effect': 'prevent',"
	    " 'blockAllBinaries': true}");
	struct policy *alert = load_rule("'processes': {'effect': 'alert',"
	    " 'blockAllBinaries': true}");
	struct event ev;
	struct verdict v;

	run_exec_cases(pol, cases, sizeof(cases) / sizeof(cases[0]));
	ev_exec(&ev, "/bin/sh", "sh", false);
	v = eval_with(alert, &ev);
	expect(&v, VERDICT_ALERT, ATTACK_DENIED_PROCESS,
	    REASON_BLOCK_ALL_BINARIES, "alert");
	policy_free(pol);
	policy_free(alert);
}
END_TEST

START_TEST(test_exec_crypto_miners)
{
	static const struct exec_case cases[] = {
		{ "/tmp/xmrig", "/tmp/xmrig", false, VERDICT_PREVENT,
		  ATTACK_CRYPTO_MINER, REASON_MINER_NAME },
		{ "/tmp/xmrig-6.21.0", NULL, true, VERDICT_PREVENT,
		  ATTACK_CRYPTO_MINER, REASON_MINER_NAME },
		{ "/tmp/kworker", "/tmp/kworker -o stratum+tcp://pool.test:3333"
		  " -u wallet", false, VERDICT_PREVENT, ATTACK_CRYPTO_MINER,
		  REASON_MINER_ARGUMENTS },
		{ "/tmp/.cache/sys", "sys --donate-level 1 -o pool.test:443",
		  true, VERDICT_PREVENT, ATTACK_CRYPTO_MINER,
		  REASON_MINER_ARGUMENTS },
		{ "/usr/bin/python3", "python3 app.py", false, VERDICT_ALLOW,
		  ATTACK_NONE, REASON_NONE },
	};
	/* The whitelist allows everything under /tmp and /usr: miners are
	 * denied all the same. */
	struct policy *pol = load_rule("'processes': {'effect': 'prevent',"
	    " 'whitelist': ['/tmp/*', '/usr/*'], 'checkCryptoMiners': true}");
	struct policy *unchecked = load_rule("'processes': {'effect':"
	    " 'prevent', 'checkCryptoMiners': false}");
	struct event ev;
	struct verdict v;

	run_exec_cases(pol, cases, sizeof(cases) / sizeof(cases[0]));
	ev_exec(&ev, "/tmp/xmrig", "/tmp/xmrig -o stratum+tcp://p:1", false);
	v = eval_with(unchecked, &ev);
	expect_allow(&v, "checkCryptoMiners false");
	policy_free(pol);
	policy_free(unchecked);
}
END_TEST

START_TEST(test_exec_interpreter)
{
	struct policy *pol = load_rule("'processes': {'effect': 'prevent',"
	    " 'whitelist': ['/var/task/*', 'bash']}");
	struct policy *bl = load_rule("'processes': {'effect': 'prevent',"
	    " 'blacklist': ['perl']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_exec(&ev, "/var/task/run.sh", "/var/task/run.sh", true);
	ev.interpreter = "/bin/bash";
	v = eval_with(pol, &ev);
	expect_allow(&v, "script and interpreter allowed");

	ev.interpreter = "/usr/bin/perl";
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_PROCESS,
	    REASON_NOT_WHITELISTED, "interpreter not whitelisted");
	expect_object(&v, "/usr/bin/perl", "interpreter not whitelisted");

	ev_exec(&ev, "/tmp/x.sh", "/tmp/x.sh", true);
	ev.interpreter = "/bin/bash";
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_PROCESS,
	    REASON_NOT_WHITELISTED, "script not whitelisted");
	expect_object(&v, "/tmp/x.sh", "script not whitelisted");

	ev_exec(&ev, "/var/task/run.pl", "/var/task/run.pl", true);
	ev.interpreter = "/usr/bin/perl";
	v = eval_with(bl, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_PROCESS,
	    REASON_BLACKLISTED, "interpreter blacklisted");
	expect_object(&v, "/usr/bin/perl", "interpreter blacklisted");
	ev.interpreter = "/usr/bin/python3";
	v = eval_with(bl, &ev);
	expect_allow(&v, "interpreter not blacklisted");
	policy_free(pol);
	policy_free(bl);
}
END_TEST

START_TEST(test_exec_filesystem)
{
	/* The executable is a file: the filesystem section sees execs. */
	struct policy *pol = load_rule("'filesystem': {'effect': 'prevent',"
	    " 'blacklist': ['/tmp/*', '/dev/shm/*']}");
	struct policy *both = load_rule("'processes': {'effect': 'alert',"
	    " 'blacklist': ['evil']}, 'filesystem': {'effect': 'prevent',"
	    " 'blacklist': ['/tmp/*']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_exec(&ev, "/tmp/evil", "/tmp/evil", true);
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS, REASON_BLACKLISTED,
	    "exec /tmp/evil");
	expect_object(&v, "/tmp/evil", "exec /tmp/evil");
	ev_exec(&ev, "/dev/shm/x", "x", false);
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS, REASON_BLACKLISTED,
	    "exec /dev/shm/x");
	ev_exec(&ev, "/usr/bin/ls", "ls", false);
	v = eval_with(pol, &ev);
	expect_allow(&v, "exec /usr/bin/ls");

	/* An alert from processes does not hide a prevent from filesystem. */
	ev_exec(&ev, "/tmp/evil", "/tmp/evil", true);
	v = eval_with(both, &ev);
	ck_assert_msg(v.verdict == VERDICT_PREVENT, "exec /tmp/evil under "
	    "processes alert + filesystem prevent: %s",
	    verdict_name(v.verdict));
	policy_free(pol);
	policy_free(both);
}
END_TEST

/* ---- network: outbound ---- */

struct net_case {
	enum event_kind kind;
	const char *addr;
	int port;
	enum verdict_kind verdict;
	enum attack_type attack;
	enum deny_reason reason;
};

static void
run_net_cases(const struct policy *pol, const struct net_case *c, size_t n)
{
	struct event ev;
	struct verdict v;
	char what[96];
	size_t i;

	setup_id();
	for (i = 0; i < n; i++) {
		ev_net(&ev, c[i].kind, c[i].addr, c[i].port);
		snprintf(what, sizeof(what), "%s %s port %d",
		    event_kind_name(c[i].kind), c[i].addr ? c[i].addr : "-",
		    c[i].port);
		v = eval_with(pol, &ev);
		expect(&v, c[i].verdict, c[i].attack, c[i].reason, what);
	}
}

#define NET_ALLOW(k, a, p) { EVENT_##k, a, p, VERDICT_ALLOW, ATTACK_NONE, \
	REASON_NONE }
#define NET_DENY(k, a, p, at, r) { EVENT_##k, a, p, VERDICT_PREVENT, \
	ATTACK_##at, REASON_##r }

START_TEST(test_net_blacklist_ips)
{
	static const struct net_case cases[] = {
		NET_DENY(CONNECT, "169.254.169.254", 80, DENIED_IP,
		    BLACKLISTED),
		NET_DENY(CONNECT, "::ffff:169.254.169.254", 80, DENIED_IP,
		    BLACKLISTED),
		NET_DENY(CONNECT, "10.1.2.3", 443, DENIED_IP, BLACKLISTED),
		NET_DENY(CONNECT, "10.255.255.255", 443, DENIED_IP,
		    BLACKLISTED),
		NET_ALLOW(CONNECT, "11.0.0.0", 443),
		NET_ALLOW(CONNECT, "9.255.255.255", 443),
		NET_DENY(CONNECT, "fd12:3456::1", 443, DENIED_IP,
		    BLACKLISTED),
		NET_DENY(CONNECT, "2001:db8::1", 443, DENIED_IP, BLACKLISTED),
		NET_ALLOW(CONNECT, "2001:db8::2", 443),
		NET_ALLOW(CONNECT, "fe80::1", 443),
		NET_DENY(SENDTO, "10.0.0.53", 53, DENIED_IP, BLACKLISTED),
		NET_ALLOW(SENDTO, "192.0.2.53", 53),
	};
	struct policy *pol = load_rule("'network': {'effect': 'prevent',"
	    " 'blacklistIPs': ['169.254.169.254', '10.0.0.0/8',"
	    " 'fd00::/8', '2001:db8::1']}");

	run_net_cases(pol, cases, sizeof(cases) / sizeof(cases[0]));
	policy_free(pol);
}
END_TEST

START_TEST(test_net_mapped_event_address)
{
	/* An event address in IPv4-mapped IPv6 form, as a socket of family
	 * AF_INET6 reports it, is checked as the IPv4 address it carries
	 * (SPEC section 2 "Patterns"). */
	struct policy *pol = load_rule("'network': {'effect': 'prevent',"
	    " 'blacklistIPs': ['169.254.169.254']}");
	struct event ev;
	struct verdict v;
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 169, 254, 169, 254 };

	setup_id();
	ev_net(&ev, EVENT_CONNECT, NULL, 80);
	ev.ip.family = 6;
	memcpy(ev.ip.bytes, mapped, sizeof(mapped));
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_IP, REASON_BLACKLISTED,
	    "connect to ::ffff:169.254.169.254 (family 6)");
	policy_free(pol);
}
END_TEST

START_TEST(test_net_whitelist_ips)
{
	static const struct net_case cases[] = {
		NET_ALLOW(CONNECT, "192.0.2.10", 443),
		NET_ALLOW(CONNECT, "::ffff:192.0.2.200", 443),
		NET_ALLOW(CONNECT, "2001:db8:1::5", 443),
		NET_DENY(CONNECT, "198.51.100.1", 443, DENIED_IP,
		    NOT_WHITELISTED),
		NET_DENY(CONNECT, "2001:db8:2::5", 443, DENIED_IP,
		    NOT_WHITELISTED),
		NET_DENY(SENDTO, "8.8.8.8", 53, DENIED_IP, NOT_WHITELISTED),
	};
	struct policy *pol = load_rule("'network': {'effect': 'prevent',"
	    " 'whitelistIPs': ['192.0.2.0/24', '2001:db8:1::/48']}");

	run_net_cases(pol, cases, sizeof(cases) / sizeof(cases[0]));
	policy_free(pol);
}
END_TEST

START_TEST(test_net_require_resolved)
{
	struct policy *pol = load_rule("'network': {'effect': 'prevent',"
	    " 'requireResolved': true, 'whitelistIPs': ['192.0.2.53']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_net(&ev, EVENT_CONNECT, "203.0.113.5", 443);
	ev.resolved = true;
	v = eval_with(pol, &ev);
	expect_allow(&v, "resolved");
	ev.resolved = false;
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_IP, REASON_NOT_RESOLVED,
	    "not resolved");
	/* whitelistIPs is the escape hatch */
	ev_net(&ev, EVENT_SENDTO, "192.0.2.53", 53);
	ev.resolved = false;
	v = eval_with(pol, &ev);
	expect_allow(&v, "whitelisted, not resolved");
	policy_free(pol);
}
END_TEST

START_TEST(test_net_outbound_ports)
{
	static const struct net_case bl_cases[] = {
		NET_DENY(CONNECT, "192.0.2.1", 25, DENIED_OUTBOUND_PORT,
		    BLACKLISTED),
		NET_DENY(CONNECT, "192.0.2.1", 6660, DENIED_OUTBOUND_PORT,
		    BLACKLISTED),
		NET_DENY(CONNECT, "192.0.2.1", 6669, DENIED_OUTBOUND_PORT,
		    BLACKLISTED),
		NET_ALLOW(CONNECT, "192.0.2.1", 6670),
		NET_ALLOW(CONNECT, "192.0.2.1", 443),
		NET_DENY(SENDTO, "192.0.2.1", 25, DENIED_OUTBOUND_PORT,
		    BLACKLISTED),
	};
	static const struct net_case wl_cases[] = {
		NET_ALLOW(CONNECT, "192.0.2.1", 443),
		NET_DENY(CONNECT, "192.0.2.1", 80, DENIED_OUTBOUND_PORT,
		    NOT_WHITELISTED),
		NET_DENY(SENDTO, "192.0.2.1", 53, DENIED_OUTBOUND_PORT,
		    NOT_WHITELISTED),
	};
	struct policy *bl = load_rule("'network': {'effect': 'prevent',"
	    " 'blacklistOutboundPorts': [{'start': 25, 'end': 25},"
	    " {'start': 6660, 'end': 6669}]}");
	struct policy *wl = load_rule("'network': {'effect': 'prevent',"
	    " 'whitelistOutboundPorts': [{'start': 443, 'end': 443}]}");

	run_net_cases(bl, bl_cases, sizeof(bl_cases) / sizeof(bl_cases[0]));
	run_net_cases(wl, wl_cases, sizeof(wl_cases) / sizeof(wl_cases[0]));
	policy_free(bl);
	policy_free(wl);
}
END_TEST

START_TEST(test_net_alert_and_disable)
{
	static const struct net_case alert_cases[] = {
		{ EVENT_CONNECT, "169.254.169.254", 80, VERDICT_ALERT,
		  ATTACK_DENIED_IP, REASON_BLACKLISTED },
	};
	static const struct net_case off_cases[] = {
		NET_ALLOW(CONNECT, "169.254.169.254", 80),
		NET_ALLOW(LISTEN, NULL, 22),
	};
	struct policy *alert = load_rule("'network': {'effect': 'alert',"
	    " 'blacklistIPs': ['169.254.169.254']}");
	struct policy *off = load_rule("'network': {'effect': 'disable',"
	    " 'blacklistIPs': ['169.254.169.254'],"
	    " 'blacklistListeningPorts': [{'start': 22, 'end': 22}]}");

	run_net_cases(alert, alert_cases, 1);
	run_net_cases(off, off_cases, 2);
	policy_free(alert);
	policy_free(off);
}
END_TEST

START_TEST(test_net_domains)
{
	struct policy *wl = load_rule("'network': {'effect': 'prevent',"
	    " 'whitelistDomains': ['*.example.com']}");
	struct policy *bl = load_rule("'network': {'effect': 'prevent',"
	    " 'blacklistDomains': ['evil.example.com']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_net(&ev, EVENT_CONNECT, "192.0.2.10", 443);
	ev.domain = "api.example.com";
	v = eval_with(wl, &ev);
	expect_allow(&v, "SNI api.example.com");
	ev.domain = "evil.test";
	v = eval_with(wl, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS, REASON_DOMAIN,
	    "SNI evil.test not whitelisted");
	expect_object(&v, "evil.test", "SNI evil.test");
	ev.domain = NULL;	/* no SNI/Host known: only the IP counts */
	v = eval_with(wl, &ev);
	expect_allow(&v, "no SNI");

	ev.domain = "EVIL.example.com.";
	v = eval_with(bl, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS, REASON_DOMAIN,
	    "SNI EVIL.example.com. blacklisted");
	ev.domain = "good.example.com";
	v = eval_with(bl, &ev);
	expect_allow(&v, "SNI good.example.com");
	policy_free(wl);
	policy_free(bl);
}
END_TEST

START_TEST(test_net_wire_domain_against_dns)
{
	/* The IP is whitelisted, but the name on the wire is one the dns
	 * section denies. */
	struct policy *pol = load_rule("'network': {'effect': 'prevent',"
	    " 'whitelistIPs': ['192.0.2.0/24']},"
	    " 'dns': {'effect': 'prevent', 'blacklist': ['yahoo.com']}");
	struct policy *alert = load_rule("'dns': {'effect': 'alert',"
	    " 'whitelist': ['*.amazon.com']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_net(&ev, EVENT_CONNECT, "192.0.2.10", 443);
	ev.domain = "yahoo.com";
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS, REASON_DOMAIN_DNS,
	    "SNI yahoo.com");
	expect_object(&v, "yahoo.com", "SNI yahoo.com");
	ev.domain = "www.amazon.com";
	v = eval_with(pol, &ev);
	expect_allow(&v, "SNI www.amazon.com");

	/* With the network section absent, the dns section still sees the
	 * wire name, with its own effect. */
	ev.domain = "yahoo.com";
	v = eval_with(alert, &ev);
	expect(&v, VERDICT_ALERT, ATTACK_DENIED_DNS, REASON_DOMAIN_DNS,
	    "SNI yahoo.com, dns alert");
	ev.domain = "s3.amazon.com";
	v = eval_with(alert, &ev);
	expect_allow(&v, "SNI s3.amazon.com, dns alert");
	policy_free(pol);
	policy_free(alert);
}
END_TEST

/* ---- network: listen, accept ---- */

START_TEST(test_listen_ports)
{
	static const struct net_case bl_cases[] = {
		NET_DENY(LISTEN, NULL, 22, DENIED_LISTENING_PORT, BLACKLISTED),
		NET_DENY(LISTEN, "0.0.0.0", 4444, DENIED_LISTENING_PORT,
		    BLACKLISTED),
		NET_ALLOW(LISTEN, NULL, 8080),
	};
	static const struct net_case wl_cases[] = {
		NET_ALLOW(LISTEN, NULL, 8080),
		NET_ALLOW(LISTEN, "::", 8081),
		NET_DENY(LISTEN, NULL, 9000, DENIED_LISTENING_PORT,
		    NOT_WHITELISTED),
		NET_DENY(LISTEN, NULL, 22, DENIED_LISTENING_PORT,
		    NOT_WHITELISTED),
	};
	struct policy *bl = load_rule("'network': {'effect': 'prevent',"
	    " 'blacklistListeningPorts': [{'start': 22, 'end': 22},"
	    " {'start': 4000, 'end': 4999}]}");
	struct policy *wl = load_rule("'network': {'effect': 'prevent',"
	    " 'whitelistListeningPorts': [{'start': 8080, 'end': 8081}]}");

	run_net_cases(bl, bl_cases, sizeof(bl_cases) / sizeof(bl_cases[0]));
	run_net_cases(wl, wl_cases, sizeof(wl_cases) / sizeof(wl_cases[0]));
	policy_free(bl);
	policy_free(wl);
}
END_TEST

START_TEST(test_accept_inbound)
{
	static const struct net_case cases[] = {
		NET_ALLOW(ACCEPT, "10.1.1.1", 8080),
		NET_ALLOW(ACCEPT, "::ffff:10.9.9.9", 8080),
		NET_DENY(ACCEPT, "198.51.100.7", 8080, DENIED_IP,
		    INBOUND_SOURCE),
		NET_DENY(ACCEPT, "2001:db8::7", 8080, DENIED_IP,
		    INBOUND_SOURCE),
	};
	struct policy *pol = load_rule("'network': {'effect': 'prevent',"
	    " 'whitelistInboundIPs': ['10.0.0.0/8']}");

	run_net_cases(pol, cases, sizeof(cases) / sizeof(cases[0]));
	policy_free(pol);
}
END_TEST

/* ---- filesystem ---- */

static const enum event_kind one_path_kinds[] = {
	EVENT_OPEN, EVENT_CREATE, EVENT_UNLINK, EVENT_MKDIR, EVENT_RMDIR,
	EVENT_CHMOD, EVENT_CHOWN, EVENT_TRUNCATE,
};

START_TEST(test_fs_blacklist_each_kind)
{
	enum event_kind kind = one_path_kinds[_i];
	struct policy *pol = load_rule("'filesystem': {'effect': 'prevent',"
	    " 'blacklist': ['/etc/*', '/root/*']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_fs(&ev, kind, "/etc/passwd", NULL);
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS, REASON_BLACKLISTED,
	    event_kind_name(kind));
	expect_object(&v, "/etc/passwd", event_kind_name(kind));
	ev_fs(&ev, kind, "/root/.ssh", NULL);
	v = eval_with(pol, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS, REASON_BLACKLISTED,
	    event_kind_name(kind));
	ev_fs(&ev, kind, "/tmp/work", NULL);
	v = eval_with(pol, &ev);
	expect_allow(&v, event_kind_name(kind));
	/* paths are case-sensitive */
	ev_fs(&ev, kind, "/ETC/passwd", NULL);
	v = eval_with(pol, &ev);
	expect_allow(&v, event_kind_name(kind));
	policy_free(pol);
}
END_TEST

START_TEST(test_fs_two_paths)
{
	static const enum event_kind kinds[] = { EVENT_RENAME, EVENT_LINK };
	struct policy *pol = load_rule("'filesystem': {'effect': 'prevent',"
	    " 'blacklist': ['/etc/*']}");
	const char *newpath = "/etc/cron.d/job";
	struct event ev;
	struct verdict v;
	size_t i;

	setup_id();
	for (i = 0; i < 2; i++) {
		const char *what = event_kind_name(kinds[i]);

		ev_fs(&ev, kinds[i], "/tmp/job", newpath);
		v = eval_with(pol, &ev);
		expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS,
		    REASON_BLACKLISTED, what);
		ck_assert_msg(v.object == newpath, "%s: object %s, expected "
		    "the newpath", what, v.object ? v.object : "(null)");
		ev_fs(&ev, kinds[i], "/etc/shadow", "/tmp/shadow");
		v = eval_with(pol, &ev);
		expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS,
		    REASON_BLACKLISTED, what);
		expect_object(&v, "/etc/shadow", what);
		ev_fs(&ev, kinds[i], "/tmp/a", "/tmp/b");
		v = eval_with(pol, &ev);
		expect_allow(&v, what);
	}
	policy_free(pol);
}
END_TEST

START_TEST(test_fs_whitelist_and_alert)
{
	struct policy *wl = load_rule("'filesystem': {'effect': 'prevent',"
	    " 'whitelist': ['/tmp/*', '/var/task/*', '-/tmp/secret*']}");
	struct policy *alert = load_rule("'filesystem': {'effect': 'alert',"
	    " 'blacklist': ['*.pem']}");
	struct event ev;
	struct verdict v;

	setup_id();
	ev_fs(&ev, EVENT_OPEN, "/var/task/app.py", NULL);
	v = eval_with(wl, &ev);
	expect_allow(&v, "open /var/task/app.py");
	ev_fs(&ev, EVENT_CREATE, "/tmp/out", NULL);
	v = eval_with(wl, &ev);
	expect_allow(&v, "create /tmp/out");
	ev_fs(&ev, EVENT_OPEN, "/home/user/x", NULL);
	v = eval_with(wl, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS,
	    REASON_NOT_WHITELISTED, "open /home/user/x");
	ev_fs(&ev, EVENT_OPEN, "/tmp/secret.key", NULL);
	v = eval_with(wl, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS,
	    REASON_NOT_WHITELISTED, "open /tmp/secret.key (exempted)");
	ev_fs(&ev, EVENT_RENAME, "/tmp/a", "/home/a");
	v = eval_with(wl, &ev);
	expect(&v, VERDICT_PREVENT, ATTACK_REG_FILE_ACCESS,
	    REASON_NOT_WHITELISTED, "rename to /home/a");
	expect_object(&v, "/home/a", "rename to /home/a");

	ev_fs(&ev, EVENT_OPEN, "/var/task/key.pem", NULL);
	v = eval_with(alert, &ev);
	expect(&v, VERDICT_ALERT, ATTACK_REG_FILE_ACCESS, REASON_BLACKLISTED,
	    "alert *.pem");
	ev_fs(&ev, EVENT_OPEN, "/var/task/key.PEM", NULL);
	v = eval_with(alert, &ev);
	expect_allow(&v, "key.PEM (case-sensitive)");
	policy_free(wl);
	policy_free(alert);
}
END_TEST

/* ---- rules_miner_check ---- */

struct miner_case {
	const char *path, *command;
	enum deny_reason reason;
};

static const struct miner_case miner_cases[] = {
	{ "/tmp/xmrig", NULL, REASON_MINER_NAME },
	{ "/usr/local/bin/xmrig-6.21.0", NULL, REASON_MINER_NAME },
	{ "/tmp/XMRig", "XMRig", REASON_MINER_NAME },
	{ "xmrig", NULL, REASON_MINER_NAME },
	{ "/opt/cpuminer-avx2", NULL, REASON_MINER_NAME },
	{ "/usr/bin/python3", "python3 app.py", REASON_NONE },
	{ "python3", NULL, REASON_NONE },
	{ "/usr/bin/node", "node index.js --port 3000", REASON_NONE },
	{ "/tmp/kworker", "kworker -o stratum+tcp://pool.test:3333",
	  REASON_MINER_ARGUMENTS },
	{ "/tmp/a", "a -o stratum+ssl://pool.test:443",
	  REASON_MINER_ARGUMENTS },
	{ "/tmp/a", "a --donate-level=1", REASON_MINER_ARGUMENTS },
	{ "/tmp/a", "a --donate-level 0 -o pool.test", REASON_MINER_ARGUMENTS },
	{ "/tmp/a", "a -o STRATUM+TCP://pool.test:3333",
	  REASON_MINER_ARGUMENTS },
	{ "/tmp/xmrig-dir/run", NULL, REASON_NONE },
	{ NULL, NULL, REASON_NONE },
	{ NULL, "stratum+tcp://x:1", REASON_MINER_ARGUMENTS },
};

START_TEST(test_miner_check)
{
	const struct miner_case *c = &miner_cases[_i];
	enum deny_reason r = rules_miner_check(c->path, c->command);

	ck_assert_msg(r == c->reason, "%s / %s: reason %d, expected %d",
	    c->path ? c->path : "(null)", c->command ? c->command : "(null)",
	    (int)r, (int)c->reason);
}
END_TEST

/* ---- names ---- */

START_TEST(test_names)
{
	static const char *const names[ATTACK_TYPE_COUNT] = { "",
	    "explicitlyDeniedProcess", "cryptoMinerProcess",
	    "explicitlyDeniedIP", "explicitlyDeniedOutboundPort",
	    "explicitlyDeniedListeningPort", "explicitlyDeniedDNS",
	    "regFileAccess", "policyHijacked" };
	enum attack_type a;
	size_t i;

	for (i = 1; i < ATTACK_TYPE_COUNT; i++) {
		ck_assert_str_eq(attack_type_name((enum attack_type)i),
		    names[i]);
		ck_assert_int_eq(attack_type_parse(names[i], &a), 0);
		ck_assert_int_eq((int)a, (int)i);
	}
	ck_assert_int_eq(attack_type_parse("explicitlydenieddns", &a), -1);
	ck_assert_int_eq(attack_type_parse("", &a), -1);
	ck_assert_str_eq(verdict_name(VERDICT_ALLOW), "allow");
	ck_assert_str_eq(verdict_name(VERDICT_ALERT), "alert");
	ck_assert_str_eq(verdict_name(VERDICT_PREVENT), "prevent");
}
END_TEST

/* ---- a big list ---- */

#define BIG_EXACT 90000
#define BIG_SUFFIX 10000

START_TEST(test_big_domain_list)
{
	size_t cap = (size_t)(BIG_EXACT + BIG_SUFFIX) * 24 + 256, n = 0;
	char *doc = malloc(cap);
	struct policy *pol;
	struct event ev;
	struct verdict v;
	size_t i;
	static const char *const denied[] = { "d000000.example",
	    "d089999.example", "d045678.example.", "D012345.EXAMPLE",
	    "a.z00000.test", "deep.er.z09999.test", "X.Z05000.TEST." };
	static const char *const allowed[] = { "d090000.example",
	    "xd000001.example", "d00000.example", "example", "z00000.test",
	    "a.z10000.test", "a.z00000.test.evil", "amazon.com" };

	ck_assert_ptr_nonnull(doc);
	n += (size_t)snprintf(doc + n, cap - n, "{'rules': [{'name': 'big',"
	    " 'dns': {'effect': 'prevent', 'blacklist': [");
	for (i = 0; i < BIG_EXACT; i++)
		n += (size_t)snprintf(doc + n, cap - n, "'d%06zu.example',", i);
	for (i = 0; i < BIG_SUFFIX; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s'*.z%05zu.test'",
		    i ? "," : "", i);
	n += (size_t)snprintf(doc + n, cap - n, "]}}]}");
	ck_assert_uint_lt(n, cap);
	pol = load(doc);
	free(doc);
	ck_assert_uint_eq(patternset_count(pol->rules[0].dns.blacklist),
	    BIG_EXACT + BIG_SUFFIX);

	setup_id();
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		ev_dns(&ev, denied[i]);
		v = eval_with(pol, &ev);
		expect(&v, VERDICT_PREVENT, ATTACK_DENIED_DNS,
		    REASON_BLACKLISTED, denied[i]);
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		ev_dns(&ev, allowed[i]);
		v = eval_with(pol, &ev);
		expect_allow(&v, allowed[i]);
	}
	policy_free(pol);
}
END_TEST

/*
 * A label holding a dot is one label: "x\\.amazon.com" is "x.amazon"
 * under "com", not a name under amazon.com, and "*.amazon.com" must not
 * take it for one (the suffix would start on an escaped character).
 */
START_TEST(test_dns_escaped_dot_is_not_a_subdomain)
{
	static const char doc[] = "{\"rules\":[{\"name\":\"r\",\"dns\":"
	    "{\"effect\":\"prevent\",\"whitelist\":[\"*.amazon.com\"]}}]}";
	struct diags d;
	struct policy *pol;
	struct event ev;
	struct verdict v;
	bool hijacked;

	diags_init(&d);
	pol = policy_parse(doc, strlen(doc), NULL, &d, &hijacked);
	ck_assert_ptr_nonnull(pol);
	event_init(&ev, EVENT_DNS);
	ev.domain = "x\\.amazon.com";
	rules_eval_rule(&pol->rules[0], &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_PREVENT);
	ev.domain = "x.amazon.com";
	rules_eval_rule(&pol->rules[0], &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	/* An escaped backslash before the dot leaves the dot a boundary. */
	ev.domain = "x\\\\.amazon.com";
	rules_eval_rule(&pol->rules[0], &ev, &v);
	ck_assert_int_eq(v.verdict, VERDICT_ALLOW);
	ck_assert(!pattern_match("*.amazon.com", 12, "x\\.amazon.com", 13,
	    true));
	/* Paths are not names: no escapes there. */
	ck_assert(pattern_match("*.amazon.com", 12, "x\\.amazon.com", 13,
	    false));
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc;

	tc = tcase_create("select");
	tcase_add_loop_test(tc, test_select_scope, 0,
	    sizeof(scope_cases) / sizeof(scope_cases[0]));
	tcase_add_test(tc, test_select_disabled_skipped);
	tcase_add_test(tc, test_select_all_collection);
	tcase_add_test(tc, test_select_star_and_absent);
	tcase_add_test(tc, test_select_star_with_exemption);
	tcase_add_test(tc, test_select_region_pattern);
	tcase_add_test(tc, test_first_match_only);
	tcase_add_test(tc, test_no_matching_rule_allows);
	tcase_add_test(tc, test_no_policy_allows);
	suite_add_tcase(s, tc);

	tc = tcase_create("dns");
	tcase_add_test(tc, test_dns_whitelist);
	tcase_add_test(tc, test_dns_escaped_dot_is_not_a_subdomain);
	tcase_add_test(tc, test_dns_blacklist);
	tcase_add_test(tc, test_dns_effects);
	tcase_add_test(tc, test_sections_absent);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_test(tc, test_exec_whitelist);
	tcase_add_test(tc, test_exec_blacklist);
	tcase_add_test(tc, test_exec_block_all_binaries);
	tcase_add_test(tc, test_exec_crypto_miners);
	tcase_add_test(tc, test_exec_interpreter);
	tcase_add_test(tc, test_exec_filesystem);
	tcase_add_loop_test(tc, test_miner_check, 0,
	    sizeof(miner_cases) / sizeof(miner_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("network");
	tcase_add_test(tc, test_net_blacklist_ips);
	tcase_add_test(tc, test_net_mapped_event_address);
	tcase_add_test(tc, test_net_whitelist_ips);
	tcase_add_test(tc, test_net_require_resolved);
	tcase_add_test(tc, test_net_outbound_ports);
	tcase_add_test(tc, test_net_alert_and_disable);
	tcase_add_test(tc, test_net_domains);
	tcase_add_test(tc, test_net_wire_domain_against_dns);
	tcase_add_test(tc, test_listen_ports);
	tcase_add_test(tc, test_accept_inbound);
	suite_add_tcase(s, tc);

	tc = tcase_create("filesystem");
	tcase_add_loop_test(tc, test_fs_blacklist_each_kind, 0,
	    sizeof(one_path_kinds) / sizeof(one_path_kinds[0]));
	tcase_add_test(tc, test_fs_two_paths);
	tcase_add_test(tc, test_fs_whitelist_and_alert);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_big_domain_list);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(rules_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
