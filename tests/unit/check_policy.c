/*
 * check_policy — the policy loader (SPEC sections 2 and 3): every field into
 * the struct, errors and warnings with their places, bad input, TW_POLICY in
 * all its forms, signatures, and the normalised dump.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fnguard/codec.h"
#include "fnguard/diag.h"
#include "fnguard/pattern.h"
#include "fnguard/policy.h"
#include "fnguard/sign.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

/* ---- helpers ---- */

/* JSON written with ' for " (no policy here needs a literal '). */
static char *
dq(const char *sq)
{
	char *s = strdup(sq), *p;

	ck_assert_ptr_nonnull(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static struct policy *
parse_sq(const char *sq, struct diags *d)
{
	struct policy *pol;
	bool hijacked = true;
	char *json = dq(sq);

	diags_init(d);
	pol = policy_parse(json, strlen(json), NULL, d, &hijacked);
	ck_assert(!hijacked);
	free(json);
	return pol;
}

/* All diags as text, for failure messages. */
static const char *
diags_text(const struct diags *d)
{
	static char buf[8192];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < d->count && n < sizeof(buf) - 1; i++) {
		int w = snprintf(buf + n, sizeof(buf) - n, "[%s %s: %s] ",
		    d->items[i].level == DIAG_ERROR ? "E" : "W",
		    d->items[i].place, d->items[i].message);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	return buf;
}

static const struct diag *
find_diag(const struct diags *d, enum diag_level level, const char *place)
{
	size_t i;

	for (i = 0; i < d->count; i++)
		if (d->items[i].level == level &&
		    strcmp(d->items[i].place, place) == 0)
			return &d->items[i];
	return NULL;
}

static size_t
count_level(const struct diags *d, enum diag_level level)
{
	size_t i, n = 0;

	for (i = 0; i < d->count; i++)
		if (d->items[i].level == level)
			n++;
	return n;
}

#define assert_diag(d, level, place) ({					\
	const struct diag *_g = find_diag((d), (level), (place));	\
	ck_assert_msg(_g != NULL, "no %s at \"%s\"; got %s",		\
	    (level) == DIAG_ERROR ? "error" : "warning", (place),	\
	    diags_text(d));						\
	_g; })

#define assert_clean(d) ck_assert_msg((d)->count == 0,			\
	"expected no diagnostics, got %s", diags_text(d))

static bool
pmatch(const struct patternset *set, const char *s)
{
	return set != NULL && patternset_match(set, s, strlen(s));
}

static bool
cmatch(const struct cidrset *set, const char *ip)
{
	struct ipaddr a;

	ck_assert_int_eq(ipaddr_parse(ip, strlen(ip), &a), 0);
	return cidrset_match(set, &a);
}

static char *
make_tmpdir(void)
{
	char tmpl[] = "/tmp/check_policy.XXXXXX";
	char *dir = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(dir);
	return strdup(dir);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static char *
b64(const void *data, size_t len)
{
	char *s = codec_b64_encode(data, len);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* ---- every field ---- */

static const char full_policy[] =
"{'rules': ["
" {'name': 'full', 'disabled': false,"
"  'collections': ["
"   {'name': 'payments', 'functions': ['payments-*', 'billing'],"
"    'labels': ['region:us-east-1', '-env:dev'],"
"    'accountIDs': ['123456789012']},"
"   {'name': 'billing', 'functions': ['billing']}],"
"  'processes': {'effect': 'prevent',"
"   'whitelist': ['/usr/bin/python3', 'node'],"
"   'blacklist': ['nc', '/bin/sh'],"
"   'blockAllBinaries': false, 'checkCryptoMiners': true},"
"  'network': {'effect': 'alert',"
"   'whitelistIPs': ['10.0.0.0/8', '2001:db8::/32'],"
"   'blacklistIPs': ['169.254.169.254'],"
"   'whitelistOutboundPorts': [{'start': 443, 'end': 443},"
"                              {'start': 8000, 'end': 8080}],"
"   'blacklistOutboundPorts': [{'start': 25, 'end': 25}],"
"   'whitelistListeningPorts': [{'start': 8080, 'end': 8080}],"
"   'blacklistListeningPorts': [{'start': 22, 'end': 22}],"
"   'requireResolved': true,"
"   'whitelistDomains': ['*.example.com'],"
"   'blacklistDomains': ['evil.example.com'],"
"   'whitelistInboundIPs': ['192.0.2.0/24']},"
"  'dns': {'effect': 'block', 'whitelist': ['Amazon.COM.', '*.amazon.com'],"
"   'blacklist': ['bad.amazon.com'], 'deniedResponse': 'refused'},"
"  'filesystem': {'effect': 'alert', 'whitelist': ['/tmp/*'],"
"   'blacklist': ['/etc/*', '/root/*']}},"
" {'name': 'off', 'disabled': true,"
"  'dns': {'effect': 'disable', 'deniedResponse': 'nodata'}},"
" {'name': 'plain', 'collections': [{'name': 'one', 'functions': ['*'],"
"   'labels': ['*'], 'accountIDs': ['*']}, {'name': 'All'}],"
"  'processes': {'effect': 'alert', 'blockAllBinaries': true},"
"  'dns': {'effect': 'alert'}}"
"]}";

START_TEST(test_full_collections)
{
	struct diags d;
	struct policy *pol = parse_sq(full_policy, &d);
	const struct rule *r;
	const struct collection *c;

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert_uint_eq(pol->nrules, 3);
	ck_assert_ptr_null(pol->console_addr);
	ck_assert_uint_eq(pol->update_interval_ms, POLICY_DEFAULT_INTERVAL_MS);
	ck_assert(!pol->signed_ok);

	r = &pol->rules[0];
	ck_assert_str_eq(r->name, "full");
	ck_assert(!r->disabled);
	ck_assert_uint_eq(r->ncollections, 2);
	c = &r->collections[0];
	ck_assert_str_eq(c->name, "payments");
	ck_assert(!c->all);
	ck_assert_uint_eq(patternset_count(c->functions), 2);
	ck_assert(pmatch(c->functions, "payments-api"));
	ck_assert(pmatch(c->functions, "PAYMENTS-API"));
	ck_assert(pmatch(c->functions, "billing"));
	ck_assert(!pmatch(c->functions, "orders"));
	ck_assert(!pmatch(c->functions, "billing-2"));
	ck_assert_uint_eq(c->nlabels, 2);
	ck_assert_str_eq(c->labels[0].key, "region");
	ck_assert_str_eq(c->labels[0].value, "us-east-1");
	ck_assert(!c->labels[0].exempt);
	ck_assert_str_eq(c->labels[1].key, "env");
	ck_assert_str_eq(c->labels[1].value, "dev");
	ck_assert(c->labels[1].exempt);
	ck_assert_uint_eq(patternset_count(c->accounts), 1);
	ck_assert(pmatch(c->accounts, "123456789012"));
	ck_assert(!pmatch(c->accounts, "999999999999"));
	c = &r->collections[1];
	ck_assert_str_eq(c->name, "billing");
	ck_assert(!c->all);
	ck_assert_ptr_null(c->accounts);
	ck_assert_uint_eq(c->nlabels, 0);

	/* "*" in a scope field means any: nothing to match against. */
	r = &pol->rules[2];
	ck_assert_uint_eq(r->ncollections, 2);
	ck_assert_str_eq(r->collections[1].name, "All");
	ck_assert(r->collections[1].all);
	c = &r->collections[0];
	ck_assert_str_eq(c->name, "one");
	ck_assert(!c->all);
	ck_assert_ptr_null(c->functions);
	ck_assert_ptr_null(c->accounts);
	ck_assert_uint_eq(c->nlabels, 0);

	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_full_processes)
{
	struct diags d;
	struct policy *pol = parse_sq(full_policy, &d);
	const struct proc_section *p;

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	p = &pol->rules[0].processes;
	ck_assert_int_eq(p->effect, EFFECT_PREVENT);
	ck_assert_uint_eq(p->whitelist.count, 2);
	ck_assert(proclist_match(&p->whitelist, "/usr/bin/python3"));
	ck_assert(proclist_match(&p->whitelist, "/usr/local/bin/node"));
	ck_assert(!proclist_match(&p->whitelist, "/usr/bin/perl"));
	ck_assert(!proclist_match(&p->whitelist, "/opt/usr/bin/python3"));
	ck_assert_uint_eq(p->blacklist.count, 2);
	ck_assert(proclist_match(&p->blacklist, "/usr/bin/nc"));
	ck_assert(proclist_match(&p->blacklist, "/bin/sh"));
	ck_assert(!proclist_match(&p->blacklist, "/usr/bin/sh"));
	ck_assert(!p->block_all_binaries);
	ck_assert(p->check_crypto_miners);

	p = &pol->rules[2].processes;
	ck_assert_int_eq(p->effect, EFFECT_ALERT);
	ck_assert(p->block_all_binaries);
	ck_assert(!p->check_crypto_miners);
	ck_assert_uint_eq(p->whitelist.count, 0);
	ck_assert_uint_eq(p->blacklist.count, 0);

	/* An absent section is off. */
	ck_assert_int_eq(pol->rules[1].processes.effect, EFFECT_DISABLE);
	ck_assert_int_eq(pol->rules[2].network.effect, EFFECT_DISABLE);
	ck_assert_int_eq(pol->rules[2].filesystem.effect, EFFECT_DISABLE);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_full_network)
{
	struct diags d;
	struct policy *pol = parse_sq(full_policy, &d);
	const struct net_section *n;
	unsigned s, e;

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	n = &pol->rules[0].network;
	ck_assert_int_eq(n->effect, EFFECT_ALERT);
	ck_assert_uint_eq(cidrset_count(n->whitelist_ips), 2);
	ck_assert(cmatch(n->whitelist_ips, "10.200.3.4"));
	ck_assert(cmatch(n->whitelist_ips, "2001:db8::5"));
	ck_assert(cmatch(n->whitelist_ips, "::ffff:10.0.0.1"));
	ck_assert(!cmatch(n->whitelist_ips, "11.0.0.1"));
	ck_assert(!cmatch(n->whitelist_ips, "2001:db9::1"));
	ck_assert_uint_eq(cidrset_count(n->blacklist_ips), 1);
	ck_assert(cmatch(n->blacklist_ips, "169.254.169.254"));
	ck_assert(!cmatch(n->blacklist_ips, "169.254.169.253"));

	ck_assert_uint_eq(portset_count(n->whitelist_out), 2);
	portset_item(n->whitelist_out, 0, &s, &e);
	ck_assert_uint_eq(s, 443);
	ck_assert_uint_eq(e, 443);
	portset_item(n->whitelist_out, 1, &s, &e);
	ck_assert_uint_eq(s, 8000);
	ck_assert_uint_eq(e, 8080);
	ck_assert(portset_match(n->whitelist_out, 443));
	ck_assert(portset_match(n->whitelist_out, 8000));
	ck_assert(portset_match(n->whitelist_out, 8080));
	ck_assert(!portset_match(n->whitelist_out, 8081));
	ck_assert(!portset_match(n->whitelist_out, 80));
	ck_assert_uint_eq(portset_count(n->blacklist_out), 1);
	ck_assert(portset_match(n->blacklist_out, 25));
	ck_assert_uint_eq(portset_count(n->whitelist_listen), 1);
	ck_assert(portset_match(n->whitelist_listen, 8080));
	ck_assert_uint_eq(portset_count(n->blacklist_listen), 1);
	ck_assert(portset_match(n->blacklist_listen, 22));
	ck_assert(!portset_match(n->blacklist_listen, 23));

	ck_assert(n->require_resolved);
	ck_assert_uint_eq(patternset_count(n->whitelist_domains), 1);
	ck_assert(pmatch(n->whitelist_domains, "api.example.com"));
	ck_assert(!pmatch(n->whitelist_domains, "example.org"));
	ck_assert_uint_eq(patternset_count(n->blacklist_domains), 1);
	ck_assert(pmatch(n->blacklist_domains, "EVIL.example.com"));
	ck_assert_uint_eq(cidrset_count(n->whitelist_inbound), 1);
	ck_assert(cmatch(n->whitelist_inbound, "192.0.2.77"));
	ck_assert(!cmatch(n->whitelist_inbound, "198.51.100.1"));

	/* Absent lists are empty (allow everything): nothing is built. */
	n = &pol->rules[2].network;
	ck_assert_ptr_null(n->whitelist_ips);
	ck_assert_ptr_null(n->whitelist_out);
	ck_assert(!n->require_resolved);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_full_dns_filesystem)
{
	struct diags d;
	struct policy *pol = parse_sq(full_policy, &d);
	const struct rule *r;

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	r = &pol->rules[0];
	ck_assert_int_eq(r->dns.effect, EFFECT_PREVENT);
	ck_assert_uint_eq(patternset_count(r->dns.whitelist), 2);
	/* Written "Amazon.COM.": normalised like the queries it meets. */
	ck_assert(pmatch(r->dns.whitelist, "amazon.com"));
	ck_assert(pmatch(r->dns.whitelist, "s3.amazon.com"));
	ck_assert(!pmatch(r->dns.whitelist, "evilamazon.com"));
	ck_assert_uint_eq(patternset_count(r->dns.blacklist), 1);
	ck_assert(pmatch(r->dns.blacklist, "bad.amazon.com"));
	ck_assert_int_eq(r->dns.denied_response, DENIED_REFUSED);

	ck_assert_int_eq(r->filesystem.effect, EFFECT_ALERT);
	ck_assert_uint_eq(patternset_count(r->filesystem.whitelist), 1);
	ck_assert(pmatch(r->filesystem.whitelist, "/tmp/x"));
	ck_assert_uint_eq(patternset_count(r->filesystem.blacklist), 2);
	ck_assert(pmatch(r->filesystem.blacklist, "/etc/passwd"));
	ck_assert(pmatch(r->filesystem.blacklist, "/root/.ssh/id_rsa"));
	/* Paths are case-sensitive. */
	ck_assert(!pmatch(r->filesystem.blacklist, "/ETC/passwd"));

	r = &pol->rules[1];
	ck_assert_str_eq(r->name, "off");
	ck_assert(r->disabled);
	ck_assert_uint_eq(r->ncollections, 0);
	ck_assert_int_eq(r->dns.effect, EFFECT_DISABLE);
	ck_assert_int_eq(r->dns.denied_response, DENIED_NODATA);

	/* deniedResponse defaults to nxdomain. */
	ck_assert_int_eq(pol->rules[2].dns.denied_response, DENIED_NXDOMAIN);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

/* ---- effects ---- */

static const char *const sections[] = { "processes", "network", "dns",
    "filesystem" };
static const struct {
	const char *name;
	enum effect effect;
} effects[] = {
	{ "disable", EFFECT_DISABLE },
	{ "alert", EFFECT_ALERT },
	{ "prevent", EFFECT_PREVENT },
	{ "block", EFFECT_PREVENT },
};

static enum effect
section_effect(const struct rule *r, const char *section)
{
	if (strcmp(section, "processes") == 0)
		return r->processes.effect;
	if (strcmp(section, "network") == 0)
		return r->network.effect;
	if (strcmp(section, "dns") == 0)
		return r->dns.effect;
	return r->filesystem.effect;
}

START_TEST(test_effects)
{
	const char *sec = sections[_i / 4];
	struct diags d;
	struct policy *pol;
	char buf[256];

	snprintf(buf, sizeof(buf), "{'rules': [{'name': 'r', '%s': "
	    "{'effect': '%s'}}]}", sec, effects[_i % 4].name);
	pol = parse_sq(buf, &d);
	ck_assert_msg(pol != NULL, "%s: %s", buf, diags_text(&d));
	assert_clean(&d);
	ck_assert_int_eq(section_effect(&pol->rules[0], sec),
	    effects[_i % 4].effect);
	ck_assert_str_eq(effect_name(section_effect(&pol->rules[0], sec)),
	    effects[_i % 4].effect == EFFECT_DISABLE ? "disable" :
	    effects[_i % 4].effect == EFFECT_ALERT ? "alert" : "prevent");
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_effect_missing_or_unknown)
{
	const char *sec = sections[_i];
	struct diags d;
	struct policy *pol;
	const struct diag *g;
	char buf[256], place[64];

	snprintf(place, sizeof(place), "rules[0].%s.effect", sec);
	snprintf(buf, sizeof(buf), "{'rules': [{'name': 'r', '%s': {}}]}",
	    sec);
	pol = parse_sq(buf, &d);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	g = assert_diag(&d, DIAG_ERROR, place);
	ck_assert_ptr_nonnull(strstr(g->message, "missing"));
	diags_clear(&d);

	snprintf(buf, sizeof(buf), "{'rules': [{'name': 'r', '%s': "
	    "{'effect': 'deny'}}]}", sec);
	pol = parse_sq(buf, &d);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	g = assert_diag(&d, DIAG_ERROR, place);
	ck_assert_ptr_nonnull(strstr(g->message, "\"deny\""));
	diags_clear(&d);

	/* Effect names are exact. */
	snprintf(buf, sizeof(buf), "{'rules': [{'name': 'r', '%s': "
	    "{'effect': 'Prevent'}}]}", sec);
	pol = parse_sq(buf, &d);
	ck_assert_ptr_null(pol);
	assert_diag(&d, DIAG_ERROR, place);
	diags_clear(&d);
}
END_TEST

/* ---- errors, with their places ---- */

static const struct {
	const char *json;
	const char *place;
	const char *message;	/* exact when exact, else a part of it */
	bool exact;
} error_cases[] = {
	{ "{'rules': [{'name': 'r', 'dns': {'effect': 'prevent',"
	  " 'whitelist': ['a.com', 5]}}]}",
	  "rules[0].dns.whitelist[1]", "expected a string, got a number",
	  true },
	{ "{'rules': [{'name': 'r', 'dns': {'effect': 'prevent',"
	  " 'whitelist': [null]}}]}",
	  "rules[0].dns.whitelist[0]", "expected a string, got null", true },
	{ "{'rules': {}}", "rules", "expected an array, got an object", true },
	{ "{'rules': 'all'}", "rules", "expected an array, got a string",
	  true },
	{ "{'rules': [5]}", "rules[0]", "expected an object, got a number",
	  true },
	{ "{'rules': [{'name': 'r', 'disabled': 'yes'}]}",
	  "rules[0].disabled", "expected a boolean, got a string", true },
	{ "{'rules': [{'name': 'r', 'processes': {'effect': 'alert',"
	  " 'blockAllBinaries': 1}}]}",
	  "rules[0].processes.blockAllBinaries",
	  "expected a boolean, got a number", true },
	{ "{'rules': [{'name': 'r', 'processes': {'effect': 'alert',"
	  " 'whitelist': 'node'}}]}",
	  "rules[0].processes.whitelist", "expected an array, got a string",
	  true },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'alert',"
	  " 'whitelistOutboundPorts': [{'start': '443', 'end': 443}]}}]}",
	  "rules[0].network.whitelistOutboundPorts[0].start",
	  "expected an integer, got a string", true },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'alert',"
	  " 'blacklistOutboundPorts': [{'start': 1, 'end': 70000}]}}]}",
	  "rules[0].network.blacklistOutboundPorts[0].end", "70000", false },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'alert',"
	  " 'whitelistListeningPorts': [443]}}]}",
	  "rules[0].network.whitelistListeningPorts[0]",
	  "expected an object", false },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'alert',"
	  " 'whitelistIPs': [1]}}]}",
	  "rules[0].network.whitelistIPs[0]", "expected a string, got a number",
	  true },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'alert',"
	  " 'requireResolved': 'yes'}}]}",
	  "rules[0].network.requireResolved",
	  "expected a boolean, got a string", true },
	{ "{'rules': [{'name': 'r', 'collections': [{'name': 'c',"
	  " 'functions': 'payments-*'}]}]}",
	  "rules[0].collections[0].functions",
	  "expected an array, got a string", true },
	{ "{'rules': [{'name': 'r', 'collections': ['payments']}]}",
	  "rules[0].collections[0]", "expected an object, got a string",
	  true },
	{ "{'rules': [{'name': 'r', 'collections': {'name': 'c'}}]}",
	  "rules[0].collections", "expected an array, got an object", true },
	{ "{'rules': [{'name': 'r', 'collections': [{'name': 'c',"
	  " 'labels': ['useast1']}]}]}",
	  "rules[0].collections[0].labels[0]", "KEY:VALUE", false },
	{ "{'rules': [{'name': 'r', 'dns': []}]}",
	  "rules[0].dns", "expected an object, got an array", true },
	{ "{'rules': [{'name': 'r', 'dns': {'effect': 'prevent',"
	  " 'deniedResponse': 'drop'}}]}",
	  "rules[0].dns.deniedResponse", "\"drop\"", false },
	{ "{'rules': [{'name': 'r', 'filesystem': {'effect': 'prevent',"
	  " 'blacklist': ['']}}]}",
	  "rules[0].filesystem.blacklist[0]", "empty", false },
	{ "{'rules': [{'name': 'ok'}, {'name': 'r', 'network': "
	  "{'effect': 7}}]}",
	  "rules[1].network.effect", "expected a string, got a number", true },
};

START_TEST(test_error_places)
{
	struct diags d;
	struct policy *pol = parse_sq(error_cases[_i].json, &d);
	const struct diag *g;

	ck_assert_msg(pol == NULL, "loaded: %s", error_cases[_i].json);
	ck_assert_msg(d.errors == 1, "%s: %s", error_cases[_i].json,
	    diags_text(&d));
	g = assert_diag(&d, DIAG_ERROR, error_cases[_i].place);
	if (error_cases[_i].exact)
		ck_assert_str_eq(g->message, error_cases[_i].message);
	else
		ck_assert_msg(strstr(g->message, error_cases[_i].message) !=
		    NULL, "\"%s\" lacks \"%s\"", g->message,
		    error_cases[_i].message);
	diags_clear(&d);
}
END_TEST

START_TEST(test_first_error_line)
{
	struct diags d;
	struct policy *pol = parse_sq(error_cases[0].json, &d);
	char buf[256];

	ck_assert_ptr_null(pol);
	ck_assert_str_eq(diags_first_error(&d, buf, sizeof(buf)),
	    "rules[0].dns.whitelist[1]: expected a string, got a number");
	diags_clear(&d);
}
END_TEST

START_TEST(test_errors_reported_together)
{
	static const char json[] =
	    "{'rules': ["
	    " {'name': 'a', 'dns': {'effect': 'prevent',"
	    "  'whitelist': ['x.com', 5]},"
	    "  'network': {'effect': 'deny'}},"
	    " {'name': 'b', 'filesystem': {'blacklist': ['/etc/*']}},"
	    " {'name': 'c', 'disabled': 'no'},"
	    " {'name': 'd', 'dns': {'effect': 'alert'}}"
	    "]}";
	struct diags d;
	struct policy *pol = parse_sq(json, &d);

	ck_assert_ptr_null(pol);
	ck_assert_msg(d.errors == 4, "%s", diags_text(&d));
	assert_diag(&d, DIAG_ERROR, "rules[0].dns.whitelist[1]");
	assert_diag(&d, DIAG_ERROR, "rules[0].network.effect");
	assert_diag(&d, DIAG_ERROR, "rules[1].filesystem.effect");
	assert_diag(&d, DIAG_ERROR, "rules[2].disabled");
	diags_clear(&d);
}
END_TEST

/* ---- warnings: the policy loads ---- */

static const struct {
	const char *json;
	const char *place;
	const char *parts[3];	/* the message holds each */
} warning_cases[] = {
	/* *amazon.com also matches evilamazon.com */
	{ "{'rules': [{'name': 'r', 'dns': {'effect': 'prevent',"
	  " 'whitelist': ['*amazon.com']}}]}",
	  "rules[0].dns.whitelist[0]", { "\"amazon.com\"", "\"*.amazon.com\"",
	  NULL } },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'prevent',"
	  " 'whitelistDomains': ['*example.org']}}]}",
	  "rules[0].network.whitelistDomains[0]",
	  { "\"example.org\"", "\"*.example.org\"", NULL } },
	/* shadowed by an earlier rule that matches every function */
	{ "{'rules': [{'name': 'everyone', 'dns': {'effect': 'alert'}},"
	  " {'name': 'payments', 'collections': [{'name': 'p',"
	  " 'functions': ['payments-*']}], 'dns': {'effect': 'prevent'}}]}",
	  "rules[1]", { "payments", NULL } },
	{ "{'rules': [{'name': 'everyone', 'collections': [{'name': 'All'}],"
	  " 'dns': {'effect': 'alert'}},"
	  " {'name': 'payments', 'collections': [{'name': 'p',"
	  " 'functions': ['payments-*']}], 'dns': {'effect': 'prevent'}}]}",
	  "rules[1]", { "payments", NULL } },
	{ "{'rules': [{'name': 'everyone', 'collections': [{'name': 'any',"
	  " 'functions': ['*'], 'accountIDs': ['*']}],"
	  " 'dns': {'effect': 'alert'}},"
	  " {'name': 'payments', 'collections': [{'name': 'p',"
	  " 'functions': ['payments-*']}], 'dns': {'effect': 'prevent'}}]}",
	  "rules[1]", { "payments", NULL } },
	/* shadowed by an earlier rule of the same scope */
	{ "{'rules': [{'name': 'first', 'collections': [{'name': 'p',"
	  " 'functions': ['payments-*']}], 'dns': {'effect': 'alert'}},"
	  " {'name': 'second', 'collections': [{'name': 'q',"
	  " 'functions': ['payments-*']}], 'dns': {'effect': 'prevent'}}]}",
	  "rules[1]", { "second", NULL } },
	/* whitelist with blockAllBinaries */
	{ "{'rules': [{'name': 'r', 'processes': {'effect': 'prevent',"
	  " 'whitelist': ['/var/lang/bin/node'], 'blockAllBinaries': true}}]}",
	  "rules[0].processes", { "blockAllBinaries", NULL } },
	/* unknown fields */
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'prevent',"
	  " 'whitelistIP': ['10.0.0.1']}}]}",
	  "rules[0].network.whitelistIP", { NULL } },
	{ "{'rules': [{'name': 'r', 'dns': {'effect': 'prevent',"
	  " 'whitelists': ['a.com']}}]}",
	  "rules[0].dns.whitelists", { NULL } },
	{ "{'rules': [{'name': 'r', 'dnss': {'effect': 'prevent'}}]}",
	  "rules[0].dnss", { NULL } },
	{ "{'rulez': [], 'rules': []}", "rulez", { NULL } },
	{ "{'rules': [{'name': 'r', 'collections': [{'name': 'c',"
	  " 'function': ['x']}]}]}",
	  "rules[0].collections[0].function", { NULL } },
	/* unparseable addresses */
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'prevent',"
	  " 'whitelistIPs': ['10.0.0.1', 'ten.0.0.1']}}]}",
	  "rules[0].network.whitelistIPs[1]", { "ten.0.0.1", NULL } },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'prevent',"
	  " 'whitelistIPs': ['10.0.0.0/33']}}]}",
	  "rules[0].network.whitelistIPs[0]", { "10.0.0.0/33", NULL } },
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'prevent',"
	  " 'blacklistIPs': ['300.1.1.1']}}]}",
	  "rules[0].network.blacklistIPs[0]", { "300.1.1.1", NULL } },
	/* port range start > end */
	{ "{'rules': [{'name': 'r', 'network': {'effect': 'prevent',"
	  " 'whitelistOutboundPorts': [{'start': 500, 'end': 400}]}}]}",
	  "rules[0].network.whitelistOutboundPorts[0]", { "500", "400",
	  NULL } },
	/* relative filesystem path */
	{ "{'rules': [{'name': 'r', 'filesystem': {'effect': 'prevent',"
	  " 'blacklist': ['etc/passwd']}}]}",
	  "rules[0].filesystem.blacklist[0]", { "etc/passwd", NULL } },
};

START_TEST(test_warning_cases)
{
	struct diags d;
	struct policy *pol = parse_sq(warning_cases[_i].json, &d);
	const struct diag *g;
	size_t k;

	ck_assert_msg(pol != NULL, "%s: %s", warning_cases[_i].json,
	    diags_text(&d));
	ck_assert_uint_eq(d.errors, 0);
	ck_assert_msg(count_level(&d, DIAG_WARNING) == 1, "%s: %s",
	    warning_cases[_i].json, diags_text(&d));
	g = assert_diag(&d, DIAG_WARNING, warning_cases[_i].place);
	for (k = 0; warning_cases[_i].parts[k] != NULL; k++)
		ck_assert_msg(strstr(g->message, warning_cases[_i].parts[k]) !=
		    NULL, "\"%s\" lacks %s", g->message,
		    warning_cases[_i].parts[k]);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

/* Things that look like the warning cases but are fine. */
static const char *const quiet_cases[] = {
	"{'rules': [{'name': 'r', 'dns': {'effect': 'prevent',"
	" 'whitelist': ['amazon.com', '*.amazon.com']}}]}",
	/* the earlier universal rule is disabled: it shadows nothing */
	"{'rules': [{'name': 'everyone', 'disabled': true,"
	" 'dns': {'effect': 'alert'}},"
	" {'name': 'payments', 'collections': [{'name': 'p',"
	" 'functions': ['payments-*']}], 'dns': {'effect': 'prevent'}}]}",
	/* disjoint scopes */
	"{'rules': [{'name': 'orders', 'collections': [{'name': 'o',"
	" 'functions': ['orders']}], 'dns': {'effect': 'alert'}},"
	" {'name': 'payments', 'collections': [{'name': 'p',"
	" 'functions': ['payments-*']}], 'dns': {'effect': 'prevent'}},"
	" {'name': 'rest', 'dns': {'effect': 'alert'}}]}",
	/* the narrower rule first, the broader later */
	"{'rules': [{'name': 'payments-eu', 'collections': [{'name': 'p',"
	" 'functions': ['payments-*'], 'labels': ['region:eu-*']}],"
	" 'dns': {'effect': 'prevent'}},"
	" {'name': 'payments', 'collections': [{'name': 'p',"
	" 'functions': ['payments-*']}], 'dns': {'effect': 'alert'}}]}",
	"{'rules': [{'name': 'r', 'processes': {'effect': 'prevent',"
	" 'blockAllBinaries': true}}]}",
	"{'rules': [{'name': 'r', 'network': {'effect': 'prevent',"
	" 'whitelistIPs': ['10.0.0.0/8', '2001:db8::/32', '::ffff:10.1.2.3',"
	" '192.0.2.1'], 'whitelistOutboundPorts': [{'start': 443, 'end': 443},"
	" {'start': 0, 'end': 65535}]}}]}",
	"{'rules': [{'name': 'r', 'filesystem': {'effect': 'prevent',"
	" 'blacklist': ['/etc/*', '*.pem', '-/etc/hosts']}}]}",
	"{'rules': []}",
};

START_TEST(test_quiet_cases)
{
	struct diags d;
	struct policy *pol = parse_sq(quiet_cases[_i], &d);

	ck_assert_msg(pol != NULL, "%s: %s", quiet_cases[_i], diags_text(&d));
	ck_assert_msg(d.count == 0, "%s: %s", quiet_cases[_i],
	    diags_text(&d));
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_unparseable_whitelist_ip_still_denies)
{
	struct diags d;
	struct policy *pol = parse_sq("{'rules': [{'name': 'r', 'network':"
	    " {'effect': 'prevent', 'whitelistIPs': ['10.0.0.1',"
	    " 'no-address']}}]}", &d);

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert(cmatch(pol->rules[0].network.whitelist_ips, "10.0.0.1"));
	ck_assert(!cmatch(pol->rules[0].network.whitelist_ips, "10.0.0.2"));
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_commercial_fields_quiet)
{
	static const char json[] =
	    "{'_id': 'serverlessRuntime', 'learningDisabled': false,"
	    " 'rules': [{"
	    "  '_id': 'abc', 'owner': 'admin', 'name': 'Default - alert',"
	    "  'previousName': 'old', 'modified': '2024-05-01T10:00:00.000Z',"
	    "  'notes': '', 'disabled': false,"
	    "  'advancedProtection': true,"
	    "  'customRules': [{'_id': 5, 'action': 'incident',"
	    "   'effect': 'alert'}],"
	    "  'cloudMetadataEnforcement': false,"
	    "  'wildFireAnalysis': 'disabled',"
	    "  'collections': [{'hosts': ['*'], 'images': ['*'],"
	    "   'labels': ['*'], 'containers': ['*'], 'functions': ['*'],"
	    "   'namespaces': ['*'], 'appIDs': ['*'], 'accountIDs': ['*'],"
	    "   'codeRepos': ['*'], 'clusters': ['*'], 'name': 'All',"
	    "   'owner': 'system', 'modified': '2024-05-01T10:00:00.000Z',"
	    "   'color': '#3FA2F7', 'description': 'all', 'system': true,"
	    "   'prisma': false, '_id': 'c1'}],"
	    "  'processes': {'effect': 'alert', 'whitelist': [],"
	    "   'blacklist': [], 'checkCryptoMiners': true},"
	    "  'network': {'effect': 'alert', 'whitelistIPs': [],"
	    "   'blacklistIPs': [], 'whitelistOutboundPorts': [],"
	    "   'blacklistOutboundPorts': [], 'whitelistListeningPorts': [],"
	    "   'blacklistListeningPorts': [], 'detectPortScan': true},"
	    "  'dns': {'effect': 'alert', 'whitelist': [], 'blacklist': []},"
	    "  'filesystem': {'effect': 'alert', 'whitelist': [],"
	    "   'blacklist': [], 'backdoorFiles': true, 'checkNewFiles': true,"
	    "   'suspiciousELFHeaders': true}"
	    " }]}";
	struct diags d;
	struct policy *pol = parse_sq(json, &d);

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert_uint_eq(pol->nrules, 1);
	ck_assert_str_eq(pol->rules[0].name, "Default - alert");
	ck_assert(pol->rules[0].collections[0].all);
	ck_assert(pol->rules[0].processes.check_crypto_miners);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

/* ---- the bundled policies ---- */

static struct policy *
load_conf(const char *name, struct diags *d)
{
	struct policy *pol;
	bool hijacked = true;
	char path[1024];

	snprintf(path, sizeof(path), "%s/conf/policies/%s", TOP_SRCDIR, name);
	diags_init(d);
	pol = policy_load_file(path, NULL, d, &hijacked);
	ck_assert(!hijacked);
	return pol;
}

START_TEST(test_conf_commercial_export)
{
	struct diags d;
	struct policy *pol = load_conf("commercial-export.json", &d);

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert_uint_ge(pol->nrules, 1);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_conf_amazon_dns)
{
	struct diags d;
	struct policy *pol = load_conf("amazon-dns.json", &d);
	size_t i;

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert_uint_eq(d.errors, 0);
	ck_assert_msg(d.count == 1, "%s", diags_text(&d));
	ck_assert_int_eq(d.items[0].level, DIAG_WARNING);
	ck_assert_msg(strstr(d.items[0].message, "\"*.amazon.com\"") != NULL,
	    "%s", diags_text(&d));
	ck_assert_msg(strstr(d.items[0].message, "\"amazon.com\"") != NULL,
	    "%s", diags_text(&d));
	/* The warning names the list entry that holds *amazon.com. */
	ck_assert_ptr_nonnull(strstr(d.items[0].place, "whitelist["));
	for (i = 0; i < pol->nrules; i++)
		ck_assert_ptr_nonnull(pol->rules[i].name);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

START_TEST(test_conf_lambda_hardened)
{
	struct diags d;
	struct policy *pol = load_conf("lambda-hardened.json", &d);

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert_uint_ge(pol->nrules, 1);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

/* ---- bad input ---- */

static struct policy *
parse_raw(const char *buf, size_t len, struct diags *d)
{
	bool hijacked = true;
	struct policy *pol;

	diags_init(d);
	pol = policy_parse(buf, len, NULL, d, &hijacked);
	ck_assert(!hijacked);
	return pol;
}

START_TEST(test_malformed_json_position)
{
	static const char json[] =
	    "{\"rules\": [\n"
	    "  {\"name\": \"a\"},\n"
	    "  {\"name\": \"b\",,}\n"
	    "]}\n";
	struct diags d;
	struct policy *pol = parse_raw(json, strlen(json), &d);

	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_str_eq(d.items[0].place, "");
	ck_assert_msg(strstr(d.items[0].message, "line 3") != NULL,
	    "%s", d.items[0].message);
	ck_assert_msg(strstr(d.items[0].message, "column ") != NULL,
	    "%s", d.items[0].message);
	diags_clear(&d);
}
END_TEST

static const struct {
	const char *what;
	const char *buf;
	size_t len;		/* 0: strlen */
} bad_inputs[] = {
	{ "empty", "", 0 },
	{ "white space", "  \n ", 0 },
	{ "top-level array", "[{\"rules\": []}]", 0 },
	{ "top-level string", "\"rules\"", 0 },
	{ "top-level number", "42", 0 },
	{ "top-level null", "null", 0 },
	{ "duplicate top-level key", "{\"rules\": [], \"rules\": []}", 0 },
	{ "duplicate rule key", "{\"rules\": [{\"name\": \"a\", "
	  "\"dns\": {\"effect\": \"prevent\"}, \"dns\": {\"effect\": "
	  "\"disable\"}}]}", 0 },
	{ "NUL escape in a name", "{\"rules\": [{\"name\": \"a\\u0000b\"}]}",
	  0 },
	{ "NUL escape in a pattern", "{\"rules\": [{\"name\": \"a\", \"dns\": "
	  "{\"effect\": \"prevent\", \"whitelist\": [\"a.com\\u0000.evil\"]}}"
	  "]}", 0 },
	{ "invalid UTF-8", "{\"rules\": [{\"name\": \"a\xff\xfe\"}]}", 0 },
	{ "overlong UTF-8", "{\"rules\": [{\"name\": \"\xc0\xaf\"}]}", 0 },
	{ "raw NUL after the document", "{\"rules\": []}\0{}", 15 },
	{ "trailing garbage", "{\"rules\": []} x", 0 },
	{ "truncated", "{\"rules\": [{\"name\": \"a\"", 0 },
	{ "single quotes", "{'rules': []}", 0 },
	{ "comment", "{\"rules\": [] /* none */}", 0 },
};

START_TEST(test_bad_input)
{
	struct diags d;
	size_t len = bad_inputs[_i].len ? bad_inputs[_i].len :
	    strlen(bad_inputs[_i].buf);
	struct policy *pol = parse_raw(bad_inputs[_i].buf, len, &d);

	ck_assert_msg(pol == NULL, "%s: loaded", bad_inputs[_i].what);
	ck_assert_msg(d.errors >= 1, "%s: no error", bad_inputs[_i].what);
	diags_clear(&d);
}
END_TEST

START_TEST(test_deep_nesting)
{
	const size_t depth = 100000;
	char *buf = malloc(depth + 16);
	struct diags d;
	struct policy *pol;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "{\"rules\": ", 10);
	memset(buf + 10, '[', depth);
	pol = parse_raw(buf, depth + 10, &d);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_uint_eq(d.count, 1);
	diags_clear(&d);

	/* Balanced, too: still one error, no crash. */
	buf = realloc(buf, 2 * depth + 16);
	ck_assert_ptr_nonnull(buf);
	memset(buf + 10, '[', depth);
	memset(buf + 10 + depth, ']', depth);
	buf[10 + 2 * depth] = '}';
	pol = parse_raw(buf, 2 * depth + 11, &d);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	diags_clear(&d);
	free(buf);
}
END_TEST

/* A valid policy padded with spaces to len bytes. */
static char *
padded_policy(size_t len)
{
	static const char head[] = "{\"rules\": [] ";
	char *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, ' ', len - sizeof(head));
	buf[len - 1] = '}';
	return buf;
}

START_TEST(test_document_limit)
{
	char *buf = padded_policy(POLICY_MAX_DOCUMENT + 1);
	struct diags d;
	struct policy *pol;

	pol = parse_raw(buf, POLICY_MAX_DOCUMENT + 1, &d);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	diags_clear(&d);
	free(buf);

	/* Exactly at the limit is fine. */
	buf = padded_policy(POLICY_MAX_DOCUMENT);
	pol = parse_raw(buf, POLICY_MAX_DOCUMENT, &d);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert_uint_eq(pol->nrules, 0);
	policy_free(pol);
	diags_clear(&d);
	free(buf);
}
END_TEST

START_TEST(test_document_limit_file)
{
	char *dir = make_tmpdir(), *path = path_in(dir, "big.json");
	char *buf = padded_policy(POLICY_MAX_DOCUMENT + 1);
	struct diags d;
	struct policy *pol;
	bool hijacked = true;

	write_file(path, buf, POLICY_MAX_DOCUMENT + 1);
	diags_init(&d);
	pol = policy_load_file(path, NULL, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(!hijacked);
	ck_assert_uint_eq(d.errors, 1);
	diags_clear(&d);
	unlink(path);
	rmdir(dir);
	free(buf);
	free(path);
	free(dir);
}
END_TEST

/* ---- files ---- */

static const char small_policy[] =
    "{\"rules\": [{\"name\": \"gz\", \"dns\": {\"effect\": \"prevent\","
    " \"whitelist\": [\"example.com\"]}}]}";

START_TEST(test_load_file_plain_and_gzip)
{
	char *dir = make_tmpdir();
	char *plain = path_in(dir, "p.json"), *gz = path_in(dir, "p.json.gz");
	uint8_t *z;
	size_t zlen;
	struct diags d;
	struct policy *pol;
	bool hijacked = true;

	write_file(plain, small_policy, strlen(small_policy));
	diags_init(&d);
	pol = policy_load_file(plain, NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert(!hijacked);
	ck_assert_str_eq(pol->rules[0].name, "gz");
	policy_free(pol);
	diags_clear(&d);

	ck_assert_int_eq(codec_gzip((const uint8_t *)small_policy,
	    strlen(small_policy), &z, &zlen), 0);
	write_file(gz, z, zlen);
	pol = policy_load_file(gz, NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert_uint_eq(pol->nrules, 1);
	ck_assert_str_eq(pol->rules[0].name, "gz");
	ck_assert_int_eq(pol->rules[0].dns.effect, EFFECT_PREVENT);
	ck_assert(pmatch(pol->rules[0].dns.whitelist, "example.com"));
	policy_free(pol);
	diags_clear(&d);

	/* Truncated gzip: an error, no policy. */
	write_file(gz, z, zlen / 2);
	pol = policy_load_file(gz, NULL, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	diags_clear(&d);
	/* Without its 8-byte trailer (CRC and size) as well. */
	write_file(gz, z, zlen - 8);
	pol = policy_load_file(gz, NULL, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert_uint_ge(d.errors, 1);
	diags_clear(&d);

	unlink(plain);
	unlink(gz);
	rmdir(dir);
	free(z);
	free(plain);
	free(gz);
	free(dir);
}
END_TEST

START_TEST(test_load_file_missing)
{
	struct diags d;
	struct policy *pol;
	bool hijacked = true;

	diags_init(&d);
	pol = policy_load_file("/nonexistent/fnguard/policy.json", NULL, &d,
	    &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(!hijacked);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_msg(strstr(d.items[0].message, "No such file") != NULL,
	    "%s", d.items[0].message);
	diags_clear(&d);
}
END_TEST

/* ---- TW_POLICY ---- */

static const char wrapper[] =
    "{\"policy\": {\"rules\": [{\"name\": \"wrapped\", \"dns\": "
    "{\"effect\": \"prevent\", \"whitelist\": [\"example.com\"]}}]},"
    " \"consoleAddr\": \"https://c\", \"updateIntervalMs\": 60000}";

static struct policy *
tw(const char *value, const uint8_t *pubkey, struct diags *d, bool *hijacked)
{
	diags_init(d);
	*hijacked = false;
	return policy_from_twpolicy(value, strlen(value), pubkey, d, hijacked);
}

START_TEST(test_twpolicy_bare)
{
	char *v = b64(small_policy, strlen(small_policy));
	struct diags d;
	bool hijacked;
	struct policy *pol = tw(v, NULL, &d, &hijacked);

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert(!hijacked);
	ck_assert_str_eq(pol->rules[0].name, "gz");
	ck_assert_ptr_null(pol->console_addr);
	ck_assert_uint_eq(pol->update_interval_ms, 120000);
	policy_free(pol);
	diags_clear(&d);
	free(v);
}
END_TEST

START_TEST(test_twpolicy_wrapper)
{
	char *v = b64(wrapper, strlen(wrapper));
	struct diags d;
	bool hijacked;
	struct policy *pol = tw(v, NULL, &d, &hijacked);

	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert_str_eq(pol->rules[0].name, "wrapped");
	ck_assert_ptr_nonnull(pol->console_addr);
	ck_assert_str_eq(pol->console_addr, "https://c");
	ck_assert_uint_eq(pol->update_interval_ms, 60000);
	ck_assert(!pol->signed_ok);
	policy_free(pol);
	diags_clear(&d);
	free(v);
}
END_TEST

START_TEST(test_twpolicy_gzip_wrapper)
{
	uint8_t *z;
	size_t zlen;
	char *v;
	struct diags d;
	bool hijacked;
	struct policy *pol;

	ck_assert_int_eq(codec_gzip((const uint8_t *)wrapper, strlen(wrapper),
	    &z, &zlen), 0);
	v = b64(z, zlen);
	pol = tw(v, NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert_str_eq(pol->rules[0].name, "wrapped");
	ck_assert_str_eq(pol->console_addr, "https://c");
	ck_assert_uint_eq(pol->update_interval_ms, 60000);
	policy_free(pol);
	diags_clear(&d);
	free(v);

	/* A truncated gzip inside the base64 is an error. */
	v = b64(z, zlen / 2);
	pol = tw(v, NULL, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	diags_clear(&d);
	free(v);
	free(z);
}
END_TEST

START_TEST(test_twpolicy_line_wrapped_base64)
{
	/* base64(1) wraps at 76 columns; the value still decodes. */
	char *v = b64(wrapper, strlen(wrapper));
	size_t len = strlen(v), i, o = 0;
	char *wrapped = malloc(len + len / 76 + 2);
	struct diags d;
	bool hijacked;
	struct policy *pol;

	ck_assert_ptr_nonnull(wrapped);
	for (i = 0; i < len; i++) {
		if (i > 0 && i % 76 == 0)
			wrapped[o++] = '\n';
		wrapped[o++] = v[i];
	}
	wrapped[o++] = '\n';
	wrapped[o] = '\0';
	pol = tw(wrapped, NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert_str_eq(pol->console_addr, "https://c");
	policy_free(pol);
	diags_clear(&d);
	free(wrapped);
	free(v);
}
END_TEST

START_TEST(test_twpolicy_invalid_base64)
{
	struct diags d;
	bool hijacked;
	struct policy *pol = tw("eyJydWxlcyI6W119*AAA", NULL, &d, &hijacked);

	ck_assert_ptr_null(pol);
	ck_assert(!hijacked);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_msg(strstr(d.items[0].message, "offset 16") != NULL,
	    "%s", d.items[0].message);
	diags_clear(&d);

	/* Valid base64 of something that is not JSON. */
	pol = tw("aGVsbG8gd29ybGQ=", NULL, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	diags_clear(&d);

	pol = tw("", NULL, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert_uint_eq(d.errors, 1);
	diags_clear(&d);
}
END_TEST

static const struct {
	const char *json;
	const char *place;	/* NULL: none expected, the policy loads */
	uint64_t interval;
} interval_cases[] = {
	{ "{'policy': {'rules': []}, 'updateIntervalMs': 999}",
	  "updateIntervalMs", 0 },
	{ "{'policy': {'rules': []}, 'updateIntervalMs': 0}",
	  "updateIntervalMs", 0 },
	{ "{'policy': {'rules': []}, 'updateIntervalMs': -5}",
	  "updateIntervalMs", 0 },
	{ "{'policy': {'rules': []}, 'updateIntervalMs': '60000'}",
	  "updateIntervalMs", 0 },
	{ "{'policy': {'rules': []}, 'updateIntervalMs': 1000}", NULL, 1000 },
	{ "{'policy': {'rules': []}}", NULL, 120000 },
	{ "{'policy': [], 'consoleAddr': 'https://c'}", "policy", 0 },
	{ "{'policy': {'rules': []}, 'consoleAddr': 5}", "consoleAddr", 0 },
};

START_TEST(test_twpolicy_interval)
{
	char *json = dq(interval_cases[_i].json);
	char *v = b64(json, strlen(json));
	struct diags d;
	bool hijacked;
	struct policy *pol = tw(v, NULL, &d, &hijacked);

	if (interval_cases[_i].place != NULL) {
		ck_assert_msg(pol == NULL, "%s loaded", json);
		ck_assert_uint_eq(d.errors, 1);
		assert_diag(&d, DIAG_ERROR, interval_cases[_i].place);
	} else {
		ck_assert_msg(pol != NULL, "%s: %s", json, diags_text(&d));
		ck_assert_uint_eq(pol->update_interval_ms,
		    interval_cases[_i].interval);
	}
	policy_free(pol);
	diags_clear(&d);
	free(v);
	free(json);
}
END_TEST

/* ---- signatures ---- */

struct keys {
	char *dir, *keyfile;
	uint8_t pub[SIGN_PUBKEY_LEN];
};

static void
keys_make(struct keys *k)
{
	const char *why = NULL;

	k->dir = make_tmpdir();
	k->keyfile = path_in(k->dir, "fnguard-policy.key");
	ck_assert_msg(sign_genkey(k->dir, k->pub, &why) == 0, "genkey: %s",
	    why ? why : "?");
}

static void
keys_free(struct keys *k)
{
	char *pub = path_in(k->dir, "fnguard-policy.pub");

	unlink(k->keyfile);
	unlink(pub);
	rmdir(k->dir);
	free(pub);
	free(k->keyfile);
	free(k->dir);
}

/* {"payload": b64(payload), "sig": b64(sign(payload))}; flip, when >= 0,
 * changes that payload byte after signing. */
static char *
signed_doc(const struct keys *k, const char *payload, long flip)
{
	uint8_t sig[SIGN_SIG_LEN];
	const char *why = NULL;
	char *p, *s, *doc, *copy = strdup(payload);

	ck_assert_ptr_nonnull(copy);
	ck_assert_msg(sign_message(k->keyfile, (const uint8_t *)payload,
	    strlen(payload), sig, &why) == 0, "sign: %s", why ? why : "?");
	if (flip >= 0)
		copy[flip] ^= 0x01;
	p = b64(copy, strlen(copy));
	s = b64(sig, sizeof(sig));
	ck_assert_int_ge(asprintf(&doc, "{\"payload\": \"%s\", \"sig\": "
	    "\"%s\"}", p, s), 0);
	free(p);
	free(s);
	free(copy);
	return doc;
}

START_TEST(test_signed_good)
{
	struct keys k;
	char *doc, *v;
	struct diags d;
	bool hijacked = true;
	struct policy *pol;

	keys_make(&k);
	doc = signed_doc(&k, wrapper, -1);
	diags_init(&d);
	pol = policy_parse(doc, strlen(doc), k.pub, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	assert_clean(&d);
	ck_assert(!hijacked);
	ck_assert(pol->signed_ok);
	ck_assert_str_eq(pol->rules[0].name, "wrapped");
	ck_assert_str_eq(pol->console_addr, "https://c");
	ck_assert_uint_eq(pol->update_interval_ms, 60000);
	policy_free(pol);
	diags_clear(&d);

	/* The same, as a TW_POLICY value. */
	v = b64(doc, strlen(doc));
	pol = tw(v, k.pub, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert(!hijacked);
	ck_assert(pol->signed_ok);
	policy_free(pol);
	diags_clear(&d);
	free(v);
	free(doc);

	/* A signed bare policy. */
	doc = signed_doc(&k, small_policy, -1);
	pol = policy_parse(doc, strlen(doc), k.pub, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert(pol->signed_ok);
	ck_assert_str_eq(pol->rules[0].name, "gz");
	policy_free(pol);
	diags_clear(&d);
	free(doc);
	keys_free(&k);
}
END_TEST

START_TEST(test_signed_tampered)
{
	struct keys k;
	char *doc;
	struct diags d;
	bool hijacked = false;
	struct policy *pol;
	/* change a letter of "wrapped": still valid JSON */
	long at = (long)(strstr(wrapper, "wrapped") - wrapper);

	keys_make(&k);
	doc = signed_doc(&k, wrapper, at);
	diags_init(&d);
	pol = policy_parse(doc, strlen(doc), k.pub, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(hijacked);
	ck_assert_uint_ge(d.errors, 1);
	diags_clear(&d);
	free(doc);

	/* A byte of the sealed numbers, too. */
	doc = signed_doc(&k, wrapper, (long)(strstr(wrapper, "60000") -
	    wrapper));
	hijacked = false;
	pol = policy_parse(doc, strlen(doc), k.pub, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(hijacked);
	diags_clear(&d);
	free(doc);
	keys_free(&k);
}
END_TEST

START_TEST(test_signed_other_key)
{
	struct keys k, other;
	char *doc, *v;
	struct diags d;
	bool hijacked = false;
	struct policy *pol;

	keys_make(&k);
	keys_make(&other);
	doc = signed_doc(&k, wrapper, -1);
	diags_init(&d);
	pol = policy_parse(doc, strlen(doc), other.pub, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(hijacked);
	ck_assert_uint_ge(d.errors, 1);
	diags_clear(&d);

	v = b64(doc, strlen(doc));
	pol = tw(v, other.pub, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(hijacked);
	diags_clear(&d);
	free(v);
	free(doc);
	keys_free(&k);
	keys_free(&other);
}
END_TEST

START_TEST(test_unsigned_with_pubkey)
{
	struct keys k;
	struct diags d;
	bool hijacked = false;
	struct policy *pol;
	char *v;

	keys_make(&k);
	diags_init(&d);
	pol = policy_parse(small_policy, strlen(small_policy), k.pub, &d,
	    &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(hijacked);
	ck_assert_uint_ge(d.errors, 1);
	diags_clear(&d);

	/* A wrapper is no signature either. */
	v = b64(wrapper, strlen(wrapper));
	hijacked = false;
	pol = tw(v, k.pub, &d, &hijacked);
	ck_assert_ptr_null(pol);
	ck_assert(hijacked);
	diags_clear(&d);
	free(v);

	/* Nor is a signature that is not one. */
	v = b64(small_policy, strlen(small_policy));
	{
		char *doc;

		ck_assert_int_ge(asprintf(&doc, "{\"payload\": \"%s\", "
		    "\"sig\": \"AAAA\"}", v), 0);
		hijacked = false;
		diags_init(&d);
		pol = policy_parse(doc, strlen(doc), k.pub, &d, &hijacked);
		ck_assert_ptr_null(pol);
		ck_assert(hijacked);
		diags_clear(&d);
		free(doc);
	}
	free(v);
	keys_free(&k);
}
END_TEST

START_TEST(test_signed_without_pubkey)
{
	struct keys k;
	char *doc;
	struct diags d;
	bool hijacked = true;
	struct policy *pol;

	keys_make(&k);
	doc = signed_doc(&k, wrapper, -1);
	diags_init(&d);
	pol = policy_parse(doc, strlen(doc), NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	ck_assert(!hijacked);
	ck_assert_uint_eq(d.errors, 0);
	ck_assert_uint_eq(count_level(&d, DIAG_WARNING), 1);
	/* Not verified, so not marked as signed. */
	ck_assert(!pol->signed_ok);
	ck_assert_str_eq(pol->rules[0].name, "wrapped");
	policy_free(pol);
	diags_clear(&d);
	free(doc);
	keys_free(&k);
}
END_TEST

/* ---- dump ---- */

static char *
dump_of(const char *json, size_t len)
{
	struct diags d;
	bool hijacked;
	struct policy *pol;
	char *text;

	diags_init(&d);
	pol = policy_parse(json, len, NULL, &d, &hijacked);
	ck_assert_msg(pol != NULL, "%s", diags_text(&d));
	text = policy_dump(pol);
	ck_assert_ptr_nonnull(text);
	policy_free(pol);
	diags_clear(&d);
	return text;
}

START_TEST(test_dump_fixed_point)
{
	char *json = dq(full_policy);
	char *one = dump_of(json, strlen(json));
	char *two = dump_of(one, strlen(one));
	char *three = dump_of(two, strlen(two));

	ck_assert_str_eq(one, two);
	ck_assert_str_eq(two, three);
	free(one);
	free(two);
	free(three);
	free(json);
}
END_TEST

START_TEST(test_dump_content)
{
	char *json = dq(full_policy);
	char *text = dump_of(json, strlen(json));
	json_error_t err;
	json_t *doc = json_loads(text, 0, &err), *r0, *v;

	ck_assert_msg(doc != NULL, "dump is not JSON: %s", err.text);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "rules")), 3);
	r0 = json_array_get(json_object_get(doc, "rules"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(r0, "name")),
	    "full");
	/* "block" comes out as "prevent". */
	v = json_object_get(json_object_get(r0, "dns"), "effect");
	ck_assert_str_eq(json_string_value(v), "prevent");
	ck_assert_ptr_null(strstr(text, "\"block\""));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r0,
	    "dns"), "deniedResponse")), "refused");
	ck_assert(json_is_true(json_object_get(json_object_get(r0, "network"),
	    "requireResolved")));
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(r0,
	    "network"), "whitelistOutboundPorts")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(r0,
	    "filesystem"), "blacklist")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(r0,
	    "processes"), "whitelist")), 2);
	ck_assert(json_is_true(json_object_get(json_array_get(
	    json_object_get(doc, "rules"), 1), "disabled")));
	ck_assert(json_is_false(json_object_get(r0, "disabled")));
	json_decref(doc);
	free(text);
	free(json);
}
END_TEST

START_TEST(test_dump_conf_fixed_point)
{
	static const char *const names[] = { "commercial-export.json",
	    "amazon-dns.json", "lambda-hardened.json" };
	struct diags d;
	struct policy *pol = load_conf(names[_i], &d);
	char *one, *two;

	ck_assert_msg(pol != NULL, "%s: %s", names[_i], diags_text(&d));
	one = policy_dump(pol);
	ck_assert_ptr_nonnull(one);
	two = dump_of(one, strlen(one));
	ck_assert_str_eq(one, two);
	free(one);
	free(two);
	policy_free(pol);
	diags_clear(&d);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("fields");
	tcase_add_test(tc, test_full_collections);
	tcase_add_test(tc, test_full_processes);
	tcase_add_test(tc, test_full_network);
	tcase_add_test(tc, test_full_dns_filesystem);
	tcase_add_loop_test(tc, test_effects, 0, 16);
	tcase_add_loop_test(tc, test_effect_missing_or_unknown, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("diagnostics");
	tcase_add_loop_test(tc, test_error_places, 0,
	    sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_test(tc, test_first_error_line);
	tcase_add_test(tc, test_errors_reported_together);
	tcase_add_loop_test(tc, test_warning_cases, 0,
	    sizeof(warning_cases) / sizeof(warning_cases[0]));
	tcase_add_loop_test(tc, test_quiet_cases, 0,
	    sizeof(quiet_cases) / sizeof(quiet_cases[0]));
	tcase_add_test(tc, test_unparseable_whitelist_ip_still_denies);
	tcase_add_test(tc, test_commercial_fields_quiet);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf");
	tcase_add_test(tc, test_conf_commercial_export);
	tcase_add_test(tc, test_conf_amazon_dns);
	tcase_add_test(tc, test_conf_lambda_hardened);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad input");
	tcase_add_test(tc, test_malformed_json_position);
	tcase_add_loop_test(tc, test_bad_input, 0,
	    sizeof(bad_inputs) / sizeof(bad_inputs[0]));
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_document_limit);
	tcase_add_test(tc, test_document_limit_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_load_file_plain_and_gzip);
	tcase_add_test(tc, test_load_file_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("twpolicy");
	tcase_add_test(tc, test_twpolicy_bare);
	tcase_add_test(tc, test_twpolicy_wrapper);
	tcase_add_test(tc, test_twpolicy_gzip_wrapper);
	tcase_add_test(tc, test_twpolicy_line_wrapped_base64);
	tcase_add_test(tc, test_twpolicy_invalid_base64);
	tcase_add_loop_test(tc, test_twpolicy_interval, 0,
	    sizeof(interval_cases) / sizeof(interval_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("signed");
	tcase_add_test(tc, test_signed_good);
	tcase_add_test(tc, test_signed_tampered);
	tcase_add_test(tc, test_signed_other_key);
	tcase_add_test(tc, test_unsigned_with_pubkey);
	tcase_add_test(tc, test_signed_without_pubkey);
	suite_add_tcase(s, tc);

	tc = tcase_create("dump");
	tcase_add_test(tc, test_dump_fixed_point);
	tcase_add_test(tc, test_dump_content);
	tcase_add_loop_test(tc, test_dump_conf_fixed_point, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
