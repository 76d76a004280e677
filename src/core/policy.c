/*
 * policy — see include/fnguard/policy.h.
 *
 * The document is walked once with jansson; every value is checked for its
 * type where it is read, and every complaint carries the JSON path of the
 * value ("rules[2].dns.whitelist[0]"). Structures are built as the walk goes;
 * on any error the whole policy is freed and NULL returned.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fnguard/codec.h"
#include "fnguard/policy.h"
#include "fnguard/sign.h"

#define PLACE_MAX 256

struct walk {
	struct diags *diags;
	struct policy *policy;
};

/* place of member key of parent: "a.b", or "b" at the top */
static void
place_key(char *out, const char *parent, const char *key)
{
	int n;

	/* Places deeper than PLACE_MAX are cut; they stay recognisable. */
	if (parent[0] == '\0')
		n = snprintf(out, PLACE_MAX, "%s", key);
	else
		n = snprintf(out, PLACE_MAX, "%s.%s", parent, key);
	if (n < 0)
		out[0] = '\0';
}

static void
place_index(char *out, const char *parent, size_t index)
{
	if (snprintf(out, PLACE_MAX, "%s[%zu]", parent, index) < 0)
		out[0] = '\0';
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static void
type_error(struct walk *w, const char *place, const char *expected,
    const json_t *got)
{
	diags_add(w->diags, DIAG_ERROR, place, "expected %s, got %s", expected,
	    json_type_name(got));
}

/* Warns about members not in known[] nor in quiet[] (the commercial
 * product's fields that fnguard does not use). */
static void
check_members(struct walk *w, const char *place, const json_t *obj,
    const char *const *known, const char *const *quiet)
{
	const char *key;
	const json_t *v;
	char p[PLACE_MAX];
	size_t i;

	json_object_foreach((json_t *)obj, key, v) {
		bool found = false;

		for (i = 0; known[i] != NULL && !found; i++)
			found = strcmp(key, known[i]) == 0;
		for (i = 0; quiet != NULL && quiet[i] != NULL && !found; i++)
			found = strcmp(key, quiet[i]) == 0;
		if (!found) {
			place_key(p, place, key);
			diags_add(w->diags, DIAG_WARNING, p,
			    "unknown field, ignored");
		}
	}
}

static int
get_bool(struct walk *w, const char *place, const json_t *obj,
    const char *key, bool *out)
{
	const json_t *v = json_object_get(obj, key);
	char p[PLACE_MAX];

	*out = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		place_key(p, place, key);
		type_error(w, p, "a boolean", v);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* A string member as a C string; strings holding NUL are refused by
 * jansson already (no JSON_ALLOW_NUL). */
static int
get_string(struct walk *w, const char *place, const json_t *obj,
    const char *key, const char **out)
{
	const json_t *v = json_object_get(obj, key);
	char p[PLACE_MAX];

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		place_key(p, place, key);
		type_error(w, p, "a string", v);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
parse_effect(struct walk *w, const char *place, const json_t *sec,
    enum effect *out)
{
	const char *s;
	char p[PLACE_MAX];

	*out = EFFECT_DISABLE;
	if (get_string(w, place, sec, "effect", &s) == -1)
		return -1;
	place_key(p, place, "effect");
	if (s == NULL) {
		diags_add(w->diags, DIAG_ERROR, p,
		    "missing; expected \"disable\", \"alert\" or \"prevent\"");
		return -1;
	}
	if (strcmp(s, "disable") == 0)
		*out = EFFECT_DISABLE;
	else if (strcmp(s, "alert") == 0)
		*out = EFFECT_ALERT;
	else if (strcmp(s, "prevent") == 0 || strcmp(s, "block") == 0)
		*out = EFFECT_PREVENT;
	else {
		diags_add(w->diags, DIAG_ERROR, p, "unknown effect \"%s\"; "
		    "expected \"disable\", \"alert\" or \"prevent\"", s);
		return -1;
	}
	return 0;
}

/* Walks the array member key; calls fn for each element. Returns -1 when
 * the member is not an array; fn errors are counted in diags only. */
typedef void (*element_fn)(struct walk *, const char *place, const json_t *,
    void *arg);

static int
each_element(struct walk *w, const char *place, const json_t *obj,
    const char *key, element_fn fn, void *arg)
{
	const json_t *arr = json_object_get(obj, key);
	const json_t *v;
	char p[PLACE_MAX], e[PLACE_MAX];
	size_t i;

	if (arr == NULL || json_is_null(arr))
		return 0;
	place_key(p, place, key);
	if (!json_is_array(arr)) {
		type_error(w, p, "an array", arr);
		return -1;
	}
	json_array_foreach(arr, i, v) {
		place_index(e, p, i);
		fn(w, e, v, arg);
	}
	return 0;
}

enum list_kind { LIST_DOMAIN, LIST_NAME, LIST_PATH };

struct list_arg {
	struct patternset *set;
	enum list_kind kind;
	bool failed;
};

/* "*amazon.com" also matches "evilamazon.com" (SPEC section 2). */
static void
lint_lookalike(struct walk *w, const char *place, const char *s, size_t len)
{
	const char *body = s[0] == '-' ? s + 1 : s;
	size_t blen = len - (size_t)(body - s);

	if (blen < 3 || body[0] != '*' || body[1] == '.' || body[1] == '*' ||
	    body[blen - 1] == '*' || memchr(body, '.', blen) == NULL)
		return;
	diags_add(w->diags, DIAG_WARNING, place,
	    "\"%s\" also matches look-alike names such as \"evil%s\"; "
	    "use \"%s\" and \"*.%s\"", body, body + 1, body + 1, body + 1);
}

/* Lower case and no trailing dot: the form queries are matched in. */
static void
normalize_domain(char *s)
{
	size_t len = strlen(s), i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	while (len > 1 && s[len - 1] == '.' && s[len - 2] != '\\')
		s[--len] = '\0';
}

static bool
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static void
list_element(struct walk *w, const char *place, const json_t *v, void *argp)
{
	struct list_arg *arg = argp;
	const char *why;
	char buf[PATTERN_MAX_LEN + 2];
	size_t len;

	if (!json_is_string(v)) {
		type_error(w, place, "a string", v);
		arg->failed = true;
		return;
	}
	len = json_string_length(v);
	if (len == 0 || len > PATTERN_MAX_LEN + 1) {
		diags_add(w->diags, DIAG_ERROR, place, len == 0 ?
		    "empty pattern" : "pattern longer than %d bytes",
		    PATTERN_MAX_LEN);
		arg->failed = true;
		return;
	}
	if (has_control(json_string_value(v), len)) {
		diags_add(w->diags, DIAG_ERROR, place,
		    "pattern holds a control character");
		arg->failed = true;
		return;
	}
	memcpy(buf, json_string_value(v), len + 1);
	if (arg->kind == LIST_DOMAIN) {
		normalize_domain(buf);
		len = strlen(buf);
		lint_lookalike(w, place, buf, len);
	}
	if ((why = pattern_lint(buf, len)) != NULL)
		diags_add(w->diags, DIAG_WARNING, place, "%s", why);
	if (arg->kind == LIST_PATH) {
		const char *b = buf[0] == '-' ? buf + 1 : buf;

		if (b[0] != '/' && b[0] != '*')
			diags_add(w->diags, DIAG_WARNING, place,
			    "\"%s\" is not an absolute path and never matches "
			    "(paths are matched after resolution)", b);
	}
	if (patternset_add(arg->set, buf, len) == -1) {
		diags_add(w->diags, DIAG_ERROR, place,
		    "cannot add pattern (empty or out of memory)");
		arg->failed = true;
	}
}

/* Parses a pattern list; *out is NULL when absent or empty. */
static int
parse_patterns(struct walk *w, const char *place, const json_t *obj,
    const char *key, enum list_kind kind, struct patternset **out)
{
	struct list_arg arg = { NULL, kind, false };

	*out = NULL;
	if ((arg.set = patternset_new(kind != LIST_PATH)) == NULL) {
		diags_add(w->diags, DIAG_ERROR, place, "out of memory");
		return -1;
	}
	if (each_element(w, place, obj, key, list_element, &arg) == -1 ||
	    arg.failed) {
		patternset_free(arg.set);
		return -1;
	}
	if (patternset_count(arg.set) == 0) {
		patternset_free(arg.set);
		return 0;
	}
	patternset_compact(arg.set);
	*out = arg.set;
	return 0;
}

struct proc_arg {
	struct proclist *list;
	bool failed;
};

static void
proc_element(struct walk *w, const char *place, const json_t *v, void *argp)
{
	struct proc_arg *arg = argp;
	struct list_arg la;
	const char *s;

	if (!json_is_string(v)) {
		type_error(w, place, "a string", v);
		arg->failed = true;
		return;
	}
	s = json_string_value(v);
	la.kind = strchr(s, '/') != NULL ? LIST_PATH : LIST_NAME;
	la.set = la.kind == LIST_PATH ? arg->list->paths : arg->list->bases;
	la.failed = false;
	list_element(w, place, v, &la);
	arg->failed |= la.failed;
	if (!la.failed)
		arg->list->count++;
}

static int
parse_proclist(struct walk *w, const char *place, const json_t *obj,
    const char *key, struct proclist *out)
{
	struct proc_arg arg = { out, false };

	out->paths = patternset_new(false);
	out->bases = patternset_new(true);
	if (out->paths == NULL || out->bases == NULL) {
		diags_add(w->diags, DIAG_ERROR, place, "out of memory");
		return -1;
	}
	if (each_element(w, place, obj, key, proc_element, &arg) == -1 ||
	    arg.failed)
		return -1;
	patternset_compact(out->paths);
	patternset_compact(out->bases);
	return 0;
}

struct cidr_arg {
	struct cidrset *set;
	bool failed;
};

static void
cidr_element(struct walk *w, const char *place, const json_t *v, void *argp)
{
	struct cidr_arg *arg = argp;

	if (!json_is_string(v)) {
		type_error(w, place, "a string", v);
		arg->failed = true;
		return;
	}
	/* SPEC: an unparseable address is a warning; the entry matches
	 * nothing. */
	if (cidrset_add(arg->set, json_string_value(v),
	    json_string_length(v)) == -1) {
		diags_add(w->diags, DIAG_WARNING, place,
		    "\"%s\" is not an IP address or CIDR block; it matches "
		    "nothing", json_string_value(v));
		if (cidrset_add_inert(arg->set, json_string_value(v),
		    json_string_length(v)) == -1)
			arg->failed = true;
	}
}

static int
parse_cidrs(struct walk *w, const char *place, const json_t *obj,
    const char *key, struct cidrset **out)
{
	struct cidr_arg arg = { cidrset_new(), false };

	*out = NULL;
	if (arg.set == NULL) {
		diags_add(w->diags, DIAG_ERROR, place, "out of memory");
		return -1;
	}
	if (each_element(w, place, obj, key, cidr_element, &arg) == -1 ||
	    arg.failed) {
		cidrset_free(arg.set);
		return -1;
	}
	cidrset_build(arg.set);
	/* Unparseable entries stay as inert items: a whitelist of them is
	 * still non-empty and denies, here and when printed back. */
	if (cidrset_count(arg.set) == 0) {
		cidrset_free(arg.set);
		return 0;
	}
	*out = arg.set;
	return 0;
}

struct port_arg {
	struct portset *set;
	bool failed;
	bool any;
};

static int
port_number(struct walk *w, const char *place, const json_t *v,
    const char *key, unsigned *out)
{
	const json_t *n = json_object_get(v, key);
	char p[PLACE_MAX];
	json_int_t i;

	place_key(p, place, key);
	if (n == NULL) {
		diags_add(w->diags, DIAG_ERROR, p, "missing");
		return -1;
	}
	if (!json_is_integer(n)) {
		type_error(w, p, "an integer", n);
		return -1;
	}
	i = json_integer_value(n);
	if (i < 0 || i > 65535) {
		diags_add(w->diags, DIAG_ERROR, p, "port %lld out of range "
		    "0-65535", (long long)i);
		return -1;
	}
	*out = (unsigned)i;
	return 0;
}

static void
port_element(struct walk *w, const char *place, const json_t *v, void *argp)
{
	static const char *const known[] = { "start", "end", NULL };
	static const char *const quiet[] = { "deny", NULL };
	struct port_arg *arg = argp;
	unsigned start, end;

	arg->any = true;
	if (!json_is_object(v)) {
		type_error(w, place, "an object {\"start\": N, \"end\": M}", v);
		arg->failed = true;
		return;
	}
	check_members(w, place, v, known, quiet);
	if (port_number(w, place, v, "start", &start) == -1) {
		arg->failed = true;
		return;
	}
	end = start;
	if (json_object_get(v, "end") != NULL &&
	    port_number(w, place, v, "end", &end) == -1) {
		arg->failed = true;
		return;
	}
	if (start > end) {
		diags_add(w->diags, DIAG_WARNING, place, "start %u > end %u: "
		    "the range matches no port", start, end);
		if (portset_add_inert(arg->set, start, end) == -1)
			arg->failed = true;
		return;
	}
	if (portset_add(arg->set, start, end) == -1) {
		diags_add(w->diags, DIAG_ERROR, place, "out of memory");
		arg->failed = true;
	}
}

static int
parse_ports(struct walk *w, const char *place, const json_t *obj,
    const char *key, struct portset **out)
{
	struct port_arg arg = { portset_new(), false, false };

	*out = NULL;
	if (arg.set == NULL) {
		diags_add(w->diags, DIAG_ERROR, place, "out of memory");
		return -1;
	}
	if (each_element(w, place, obj, key, port_element, &arg) == -1 ||
	    arg.failed || portset_build(arg.set) == -1) {
		portset_free(arg.set);
		return -1;
	}
	if (!arg.any) {
		portset_free(arg.set);
		return 0;
	}
	*out = arg.set;
	return 0;
}

/* Looks up an optional section object; NULL when absent. */
static int
section(struct walk *w, const char *place, const json_t *rule,
    const char *key, const json_t **out, char *secplace)
{
	const json_t *v = json_object_get(rule, key);

	*out = NULL;
	place_key(secplace, place, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		type_error(w, secplace, "an object", v);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_processes(struct walk *w, const char *place, const json_t *rule,
    struct proc_section *out)
{
	static const char *const known[] = { "effect", "whitelist",
	    "blacklist", "blockAllBinaries", "checkCryptoMiners", NULL };
	static const char *const quiet[] = { "checkLateralMovement",
	    "checkParentChild", "checkSuidBinaries", "checkNewBinaries",
	    "skipModified", "skipReverseShell", "modified", "disabled", NULL };
	const json_t *sec;
	char p[PLACE_MAX];
	int rc = 0;

	if (section(w, place, rule, "processes", &sec, p) == -1)
		return -1;
	if (sec == NULL)
		return 0;
	check_members(w, p, sec, known, quiet);
	rc |= parse_effect(w, p, sec, &out->effect);
	rc |= parse_proclist(w, p, sec, "whitelist", &out->whitelist);
	rc |= parse_proclist(w, p, sec, "blacklist", &out->blacklist);
	rc |= get_bool(w, p, sec, "blockAllBinaries",
	    &out->block_all_binaries);
	rc |= get_bool(w, p, sec, "checkCryptoMiners",
	    &out->check_crypto_miners);
	if (rc == 0 && out->block_all_binaries && out->whitelist.count > 0)
		diags_add(w->diags, DIAG_WARNING, p, "whitelist together with "
		    "blockAllBinaries: no process but the main one can run, "
		    "so the whitelist only limits what the main process may "
		    "be");
	return rc;
}

static int
parse_network(struct walk *w, const char *place, const json_t *rule,
    struct net_section *out)
{
	static const char *const known[] = { "effect", "whitelistIPs",
	    "blacklistIPs", "whitelistOutboundPorts", "blacklistOutboundPorts",
	    "whitelistListeningPorts", "blacklistListeningPorts",
	    "requireResolved", "whitelistDomains", "blacklistDomains",
	    "whitelistInboundIPs", NULL };
	static const char *const quiet[] = { "detectPortScan",
	    "skipModifiedProc", "skipRawSockets", "modified", NULL };
	const json_t *sec;
	char p[PLACE_MAX];
	int rc = 0;

	if (section(w, place, rule, "network", &sec, p) == -1)
		return -1;
	if (sec == NULL)
		return 0;
	check_members(w, p, sec, known, quiet);
	rc |= parse_effect(w, p, sec, &out->effect);
	rc |= parse_cidrs(w, p, sec, "whitelistIPs", &out->whitelist_ips);
	rc |= parse_cidrs(w, p, sec, "blacklistIPs", &out->blacklist_ips);
	rc |= parse_ports(w, p, sec, "whitelistOutboundPorts",
	    &out->whitelist_out);
	rc |= parse_ports(w, p, sec, "blacklistOutboundPorts",
	    &out->blacklist_out);
	rc |= parse_ports(w, p, sec, "whitelistListeningPorts",
	    &out->whitelist_listen);
	rc |= parse_ports(w, p, sec, "blacklistListeningPorts",
	    &out->blacklist_listen);
	rc |= get_bool(w, p, sec, "requireResolved", &out->require_resolved);
	rc |= parse_patterns(w, p, sec, "whitelistDomains", LIST_DOMAIN,
	    &out->whitelist_domains);
	rc |= parse_patterns(w, p, sec, "blacklistDomains", LIST_DOMAIN,
	    &out->blacklist_domains);
	rc |= parse_cidrs(w, p, sec, "whitelistInboundIPs",
	    &out->whitelist_inbound);
	return rc;
}

static int
parse_dns(struct walk *w, const char *place, const json_t *rule,
    struct dns_section *out)
{
	static const char *const known[] = { "effect", "whitelist",
	    "blacklist", "deniedResponse", NULL };
	static const char *const quiet[] = { "modified", NULL };
	const json_t *sec;
	const char *resp;
	char p[PLACE_MAX], rp[PLACE_MAX];
	int rc = 0;

	if (section(w, place, rule, "dns", &sec, p) == -1)
		return -1;
	if (sec == NULL)
		return 0;
	check_members(w, p, sec, known, quiet);
	rc |= parse_effect(w, p, sec, &out->effect);
	rc |= parse_patterns(w, p, sec, "whitelist", LIST_DOMAIN,
	    &out->whitelist);
	rc |= parse_patterns(w, p, sec, "blacklist", LIST_DOMAIN,
	    &out->blacklist);
	if (get_string(w, p, sec, "deniedResponse", &resp) == -1)
		return -1;
	out->denied_response = DENIED_NXDOMAIN;
	if (resp == NULL || strcmp(resp, "nxdomain") == 0)
		return rc;
	if (strcmp(resp, "refused") == 0)
		out->denied_response = DENIED_REFUSED;
	else if (strcmp(resp, "nodata") == 0)
		out->denied_response = DENIED_NODATA;
	else {
		place_key(rp, p, "deniedResponse");
		diags_add(w->diags, DIAG_ERROR, rp, "unknown response \"%s\"; "
		    "expected \"nxdomain\", \"refused\" or \"nodata\"", resp);
		rc = -1;
	}
	return rc;
}

static int
parse_filesystem(struct walk *w, const char *place, const json_t *rule,
    struct fs_section *out)
{
	static const char *const known[] = { "effect", "whitelist",
	    "blacklist", NULL };
	static const char *const quiet[] = { "backdoorFiles", "checkNewFiles",
	    "skipEncryptedBinaries", "suspiciousELFHeaders", "monitorBinaries",
	    "modified", NULL };
	const json_t *sec;
	char p[PLACE_MAX];
	int rc = 0;

	if (section(w, place, rule, "filesystem", &sec, p) == -1)
		return -1;
	if (sec == NULL)
		return 0;
	check_members(w, p, sec, known, quiet);
	rc |= parse_effect(w, p, sec, &out->effect);
	rc |= parse_patterns(w, p, sec, "whitelist", LIST_PATH,
	    &out->whitelist);
	rc |= parse_patterns(w, p, sec, "blacklist", LIST_PATH,
	    &out->blacklist);
	return rc;
}

/* A scope field that is absent, empty or holds only "*" matches anything;
 * "*" beside exemptions ("-payments-test") means "all but those". */
static bool
scope_any(const json_t *arr)
{
	const json_t *v;
	size_t i;

	if (arr == NULL || !json_is_array(arr) || json_array_size(arr) == 0)
		return true;
	json_array_foreach(arr, i, v)
		if (!json_is_string(v) || strcmp(json_string_value(v), "*") != 0)
			return false;
	return true;
}

struct labels_arg {
	struct collection *c;
	bool failed;
};

static void
label_element(struct walk *w, const char *place, const json_t *v, void *argp)
{
	struct labels_arg *arg = argp;
	struct label_pattern *lp;
	const char *s, *colon;
	bool exempt;

	if (!json_is_string(v)) {
		type_error(w, place, "a string", v);
		arg->failed = true;
		return;
	}
	s = json_string_value(v);
	if (strcmp(s, "*") == 0)
		return;
	exempt = s[0] == '-';
	if (exempt)
		s++;
	if ((colon = strchr(s, ':')) == NULL || colon == s || colon[1] == '\0') {
		diags_add(w->diags, DIAG_ERROR, place,
		    "expected \"KEY:VALUE\" (for example \"region:us-east-1\")");
		arg->failed = true;
		return;
	}
	lp = &arg->c->labels[arg->c->nlabels];
	lp->key = strndup(s, (size_t)(colon - s));
	lp->value = strdup(colon + 1);
	lp->exempt = exempt;
	if (lp->key == NULL || lp->value == NULL) {
		free(lp->key);
		free(lp->value);
		diags_add(w->diags, DIAG_ERROR, place, "out of memory");
		arg->failed = true;
		return;
	}
	arg->c->nlabels++;
}

static int
parse_collection(struct walk *w, const char *place, const json_t *v,
    struct collection *c)
{
	static const char *const known[] = { "name", "functions", "labels",
	    "accountIDs", NULL };
	static const char *const quiet[] = { "hosts", "images", "containers",
	    "appIDs", "clusters", "namespaces", "codeRepos", "color", "owner",
	    "modified", "description", "system", "prisma", "_id",
	    "containerGroups", NULL };
	const json_t *labels;
	const char *name;
	struct labels_arg la = { c, false };
	int rc = 0;

	if (!json_is_object(v)) {
		type_error(w, place, "an object", v);
		return -1;
	}
	check_members(w, place, v, known, quiet);
	if (get_string(w, place, v, "name", &name) == -1)
		return -1;
	c->name = strdup(name != NULL ? name : "");
	c->all = name != NULL && strcmp(name, "All") == 0;
	rc |= parse_patterns(w, place, v, "functions", LIST_NAME,
	    &c->functions);
	rc |= parse_patterns(w, place, v, "accountIDs", LIST_NAME,
	    &c->accounts);
	/* Absent, empty or "*": any function (account). */
	if (scope_any(json_object_get(v, "functions"))) {
		patternset_free(c->functions);
		c->functions = NULL;
	}
	if (scope_any(json_object_get(v, "accountIDs"))) {
		patternset_free(c->accounts);
		c->accounts = NULL;
	}
	labels = json_object_get(v, "labels");
	if (labels != NULL && json_is_array(labels) &&
	    json_array_size(labels) > 0) {
		c->labels = calloc(json_array_size(labels), sizeof(*c->labels));
		if (c->labels == NULL)
			return -1;
	}
	rc |= each_element(w, place, v, "labels", label_element, &la);
	if (la.failed)
		rc = -1;
	if (scope_any(labels)) {
		while (c->nlabels > 0) {
			c->nlabels--;
			free(c->labels[c->nlabels].key);
			free(c->labels[c->nlabels].value);
		}
	}
	return rc;
}

static void
collection_clear(struct collection *c)
{
	size_t i;

	free(c->name);
	patternset_free(c->functions);
	patternset_free(c->accounts);
	for (i = 0; i < c->nlabels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
}

static bool
collection_universal(const struct collection *c)
{
	return c->all || (c->functions == NULL && c->accounts == NULL &&
	    c->nlabels == 0);
}

static int
parse_collections(struct walk *w, const char *place, const json_t *rule,
    struct rule *r)
{
	const json_t *arr = json_object_get(rule, "collections"), *v;
	char p[PLACE_MAX], e[PLACE_MAX];
	size_t i;
	int rc = 0;

	place_key(p, place, "collections");
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		type_error(w, p, "an array", arr);
		return -1;
	}
	if (json_array_size(arr) == 0)
		return 0;
	r->collections = calloc(json_array_size(arr), sizeof(*r->collections));
	if (r->collections == NULL)
		return -1;
	json_array_foreach(arr, i, v) {
		place_index(e, p, i);
		rc |= parse_collection(w, e, v, &r->collections[i]);
		r->ncollections = i + 1;
	}
	return rc;
}

static int
parse_rule(struct walk *w, const char *place, const json_t *v, struct rule *r)
{
	static const char *const known[] = { "name", "disabled",
	    "collections", "processes", "network", "dns", "filesystem", NULL };
	static const char *const quiet[] = { "owner", "modified",
	    "previousName", "notes", "advancedProtection", "customRules",
	    "cloudMetadataEnforcement", "wildFireAnalysis",
	    "kubernetesEnforcement", "skipExecSensor", "fileIntegrityRules",
	    "logInspectionRules", "forensic", "_id", NULL };
	const char *name;
	char p[PLACE_MAX];
	int rc = 0;

	if (!json_is_object(v)) {
		type_error(w, place, "an object", v);
		return -1;
	}
	check_members(w, place, v, known, quiet);
	if (get_string(w, place, v, "name", &name) == -1)
		return -1;
	if (name == NULL || name[0] == '\0') {
		place_key(p, place, "name");
		diags_add(w->diags, DIAG_ERROR, p, "a rule needs a name");
		return -1;
	}
	if ((r->name = strdup(name)) == NULL)
		return -1;
	r->dns.denied_response = DENIED_NXDOMAIN;
	rc |= get_bool(w, place, v, "disabled", &r->disabled);
	rc |= parse_collections(w, place, v, r);
	rc |= parse_processes(w, place, v, &r->processes);
	rc |= parse_network(w, place, v, &r->network);
	rc |= parse_dns(w, place, v, &r->dns);
	rc |= parse_filesystem(w, place, v, &r->filesystem);
	return rc;
}

static bool
rule_universal(const struct rule *r)
{
	size_t i;

	if (r->ncollections == 0)
		return true;
	for (i = 0; i < r->ncollections; i++)
		if (collection_universal(&r->collections[i]))
			return true;
	return false;
}

static bool
patterns_same(const struct patternset *a, const struct patternset *b)
{
	size_t i;

	if (patternset_count(a) != patternset_count(b))
		return false;
	for (i = 0; i < patternset_count(a); i++)
		if (strcmp(patternset_item(a, i), patternset_item(b, i)) != 0)
			return false;
	return true;
}

/* Does earlier collection e match every function that later l does? A
 * sufficient test: e is universal, or e holds the same scope, or e differs
 * only by function patterns that match each of l's exact names. */
static bool
collection_covers(const struct collection *e, const struct collection *l)
{
	size_t i;

	if (collection_universal(e))
		return true;
	if (e->nlabels != 0 || !patterns_same(e->accounts, l->accounts) ||
	    l->nlabels != 0)
		return false;
	if (e->functions == NULL)
		return true;
	if (l->functions == NULL)
		return false;
	if (patterns_same(e->functions, l->functions))
		return true;
	for (i = 0; i < patternset_count(l->functions); i++) {
		const char *f = patternset_item(l->functions, i);

		if (f[0] == '-' || strchr(f, '*') != NULL ||
		    !patternset_match(e->functions, f, strlen(f)))
			return false;
	}
	return true;
}

static bool
rule_covers(const struct rule *e, const struct rule *l)
{
	size_t i, j;

	if (rule_universal(e))
		return true;
	if (l->ncollections == 0)
		return false;
	for (i = 0; i < l->ncollections; i++) {
		bool covered = false;

		for (j = 0; j < e->ncollections && !covered; j++)
			covered = collection_covers(&e->collections[j],
			    &l->collections[i]);
		if (!covered)
			return false;
	}
	return true;
}

static void
lint_rules(struct walk *w, const struct policy *pol)
{
	char p[PLACE_MAX];
	size_t i, j;

	for (i = 0; i < pol->nrules; i++) {
		if (pol->rules[i].disabled)
			continue;
		for (j = 0; j < i; j++) {
			if (pol->rules[j].disabled)
				continue;
			if (strcmp(pol->rules[j].name, pol->rules[i].name) == 0) {
				place_index(p, "rules", i);
				diags_add(w->diags, DIAG_WARNING, p, "rule name "
				    "\"%s\" is used twice", pol->rules[i].name);
			}
			if (rule_covers(&pol->rules[j], &pol->rules[i])) {
				place_index(p, "rules", i);
				diags_add(w->diags, DIAG_WARNING, p, "rule \"%s\" "
				    "never applies: rules[%zu] (\"%s\") comes "
				    "first and its scope covers this one",
				    pol->rules[i].name, j, pol->rules[j].name);
				break;
			}
		}
	}
}

static int
parse_rules(struct walk *w, const json_t *doc)
{
	static const char *const known[] = { "rules", NULL };
	static const char *const quiet[] = { "_id", "learningDisabled",
	    "modified", "owner", NULL };
	const json_t *arr = json_object_get(doc, "rules"), *v;
	char p[PLACE_MAX];
	size_t i;
	int rc = 0;

	check_members(w, "", doc, known, quiet);
	if (arr == NULL) {
		diags_add(w->diags, DIAG_ERROR, "rules", "missing");
		return -1;
	}
	if (!json_is_array(arr)) {
		type_error(w, "rules", "an array", arr);
		return -1;
	}
	if (json_array_size(arr) > 0 && (w->policy->rules = calloc(
	    json_array_size(arr), sizeof(*w->policy->rules))) == NULL) {
		diags_add(w->diags, DIAG_ERROR, "rules", "out of memory");
		return -1;
	}
	json_array_foreach(arr, i, v) {
		place_index(p, "rules", i);
		rc |= parse_rule(w, p, v, &w->policy->rules[i]);
		w->policy->nrules = i + 1;
	}
	if (rc == 0)
		lint_rules(w, w->policy);
	return rc;
}

static void
rule_clear(struct rule *r)
{
	size_t i;

	free(r->name);
	for (i = 0; i < r->ncollections; i++)
		collection_clear(&r->collections[i]);
	free(r->collections);
	patternset_free(r->processes.whitelist.paths);
	patternset_free(r->processes.whitelist.bases);
	patternset_free(r->processes.blacklist.paths);
	patternset_free(r->processes.blacklist.bases);
	cidrset_free(r->network.whitelist_ips);
	cidrset_free(r->network.blacklist_ips);
	portset_free(r->network.whitelist_out);
	portset_free(r->network.blacklist_out);
	portset_free(r->network.whitelist_listen);
	portset_free(r->network.blacklist_listen);
	patternset_free(r->network.whitelist_domains);
	patternset_free(r->network.blacklist_domains);
	cidrset_free(r->network.whitelist_inbound);
	patternset_free(r->dns.whitelist);
	patternset_free(r->dns.blacklist);
	patternset_free(r->filesystem.whitelist);
	patternset_free(r->filesystem.blacklist);
}

void
policy_free(struct policy *pol)
{
	size_t i;

	if (pol == NULL)
		return;
	for (i = 0; i < pol->nrules; i++)
		rule_clear(&pol->rules[i]);
	free(pol->rules);
	free(pol->console_addr);
	free(pol);
}

/* ---- envelope: wrapper and signed forms ---- */

static json_t *
load_json(const char *buf, size_t len, struct diags *d, const char *what)
{
	json_error_t err;
	json_t *doc;

	if (len > POLICY_MAX_DOCUMENT) {
		diags_add(d, DIAG_ERROR, "", "%s is %zu bytes, over the %u-byte "
		    "limit", what, len, POLICY_MAX_DOCUMENT);
		return NULL;
	}
	/* No JSON_ALLOW_NUL: a name with "\u0000" in it is refused rather
	 * than cut short. */
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL) {
		diags_add(d, DIAG_ERROR, "", "%s: line %d column %d: %s", what,
		    err.line, err.column, err.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		diags_add(d, DIAG_ERROR, "", "%s: expected a JSON object, got "
		    "%s", what, json_type_name(doc));
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Base64 member key of obj, decoded. */
static int
b64_member(struct diags *d, const json_t *obj, const char *key,
    uint8_t **out, size_t *outlen)
{
	const json_t *v = json_object_get(obj, key);
	const char *why;
	size_t where;

	if (v == NULL || !json_is_string(v)) {
		diags_add(d, DIAG_ERROR, key, v == NULL ? "missing" :
		    "expected a base64 string");
		return -1;
	}
	if (codec_b64_decode(json_string_value(v), json_string_length(v),
	    out, outlen, &why, &where) == -1) {
		diags_add(d, DIAG_ERROR, key, "invalid base64 at offset %zu: %s",
		    where, why);
		return -1;
	}
	return 0;
}

/* Opens {"payload", "sig"}: returns the payload document. */
static json_t *
open_signed(const json_t *doc, const uint8_t *pubkey, struct diags *d,
    bool *hijacked, bool *signed_ok)
{
	uint8_t *payload = NULL, *sig = NULL, *plain = NULL;
	size_t plen, siglen, plainlen;
	const char *why;
	json_t *inner = NULL;

	if (b64_member(d, doc, "payload", &payload, &plen) == -1 ||
	    b64_member(d, doc, "sig", &sig, &siglen) == -1)
		goto done;
	if (pubkey != NULL) {
		if (!sign_verify(pubkey, payload, plen, sig, siglen)) {
			diags_add(d, DIAG_ERROR, "sig", "signature does not "
			    "verify with the configured public key");
			*hijacked = true;
			goto done;
		}
		*signed_ok = true;
	} else
		diags_add(d, DIAG_WARNING, "sig", "signed policy accepted "
		    "without verification: no public key is configured");
	if (codec_is_gzip(payload, plen)) {
		if (codec_gunzip(payload, plen, POLICY_MAX_DOCUMENT, &plain,
		    &plainlen, &why) == -1) {
			diags_add(d, DIAG_ERROR, "payload", "%s", why);
			goto done;
		}
		inner = load_json((char *)plain, plainlen, d, "payload");
	} else
		inner = load_json((char *)payload, plen, d, "payload");
done:
	free(payload);
	free(sig);
	free(plain);
	return inner;
}

static int
read_wrapper(struct walk *w, const json_t *doc, const json_t **policy)
{
	static const char *const known[] = { "policy", "consoleAddr",
	    "updateIntervalMs", NULL };
	const json_t *iv;
	const char *addr;
	int rc = 0;

	check_members(w, "", doc, known, NULL);
	*policy = json_object_get(doc, "policy");
	if (!json_is_object(*policy)) {
		type_error(w, "policy", "an object", *policy);
		return -1;
	}
	rc |= get_string(w, "", doc, "consoleAddr", &addr);
	if (addr != NULL && (w->policy->console_addr = strdup(addr)) == NULL)
		rc = -1;
	iv = json_object_get(doc, "updateIntervalMs");
	if (iv != NULL && (!json_is_integer(iv) ||
	    json_integer_value(iv) < 1000)) {
		diags_add(w->diags, DIAG_ERROR, "updateIntervalMs",
		    "expected an integer of at least 1000 (milliseconds)");
		rc = -1;
	} else if (iv != NULL)
		w->policy->update_interval_ms = (uint64_t)json_integer_value(iv);
	return rc;
}

static struct policy *
policy_from_json(const json_t *doc, const uint8_t *pubkey,
    struct diags *diags, bool *hijacked)
{
	struct walk w = { diags, NULL };
	json_t *inner = NULL;
	const json_t *body = doc;
	bool signed_ok = false;
	size_t errors = diags->errors;

	if (json_object_get(doc, "payload") != NULL &&
	    json_object_get(doc, "sig") != NULL) {
		if ((inner = open_signed(doc, pubkey, diags, hijacked,
		    &signed_ok)) == NULL)
			return NULL;
		body = inner;
	} else if (pubkey != NULL) {
		diags_add(diags, DIAG_ERROR, "", "policy is not signed, but a "
		    "public key is configured");
		*hijacked = true;
		return NULL;
	}
	if ((w.policy = calloc(1, sizeof(*w.policy))) == NULL)
		goto done;
	w.policy->update_interval_ms = POLICY_DEFAULT_INTERVAL_MS;
	w.policy->signed_ok = signed_ok;
	if (json_object_get(body, "policy") != NULL) {
		if (read_wrapper(&w, body, &body) == -1)
			goto done;
	}
	parse_rules(&w, body);
done:
	json_decref(inner);
	if (w.policy == NULL || diags->errors != errors) {
		policy_free(w.policy);
		return NULL;
	}
	return w.policy;
}

struct policy *
policy_parse(const char *buf, size_t len, const uint8_t *pubkey,
    struct diags *diags, bool *hijacked)
{
	struct policy *pol;
	json_t *doc;

	*hijacked = false;
	if ((doc = load_json(buf, len, diags, "policy")) == NULL)
		return NULL;
	pol = policy_from_json(doc, pubkey, diags, hijacked);
	json_decref(doc);
	return pol;
}

struct policy *
policy_load_file(const char *path, const uint8_t *pubkey,
    struct diags *diags, bool *hijacked)
{
	uint8_t *buf = NULL, *plain = NULL;
	size_t len = 0, cap = 0, plainlen, n;
	struct policy *pol = NULL;
	const char *why;
	FILE *f;

	*hijacked = false;
	if ((f = fopen(path, "rb")) == NULL) {
		diags_add(diags, DIAG_ERROR, "", "%s", strerror(errno));
		return NULL;
	}
	do {
		if (len == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > POLICY_MAX_DOCUMENT + 1)
				cap = POLICY_MAX_DOCUMENT + 1;
			if (len == cap || (nb = realloc(buf, cap)) == NULL) {
				diags_add(diags, DIAG_ERROR, "", "file is over "
				    "the %u-byte limit", POLICY_MAX_DOCUMENT);
				goto done;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		diags_add(diags, DIAG_ERROR, "", "read error");
		goto done;
	}
	if (codec_is_gzip(buf, len)) {
		if (codec_gunzip(buf, len, POLICY_MAX_DOCUMENT, &plain,
		    &plainlen, &why) == -1) {
			diags_add(diags, DIAG_ERROR, "", "%s", why);
			goto done;
		}
		pol = policy_parse((char *)plain, plainlen, pubkey, diags,
		    hijacked);
	} else
		pol = policy_parse((char *)buf, len, pubkey, diags, hijacked);
done:
	fclose(f);
	free(buf);
	free(plain);
	return pol;
}

struct policy *
policy_from_twpolicy(const char *value, size_t len, const uint8_t *pubkey,
    struct diags *diags, bool *hijacked)
{
	uint8_t *raw = NULL, *plain = NULL;
	size_t rawlen, plainlen, where;
	struct policy *pol = NULL;
	const char *why;

	*hijacked = false;
	if (codec_b64_decode(value, len, &raw, &rawlen, &why, &where) == -1) {
		diags_add(diags, DIAG_ERROR, "", "invalid base64 at offset %zu: "
		    "%s", where, why);
		return NULL;
	}
	if (codec_is_gzip(raw, rawlen)) {
		if (codec_gunzip(raw, rawlen, POLICY_MAX_DOCUMENT, &plain,
		    &plainlen, &why) == -1)
			diags_add(diags, DIAG_ERROR, "", "%s", why);
		else
			pol = policy_parse((char *)plain, plainlen, pubkey,
			    diags, hijacked);
	} else
		pol = policy_parse((char *)raw, rawlen, pubkey, diags, hijacked);
	free(raw);
	free(plain);
	return pol;
}

/* ---- output ---- */

const char *
effect_name(enum effect e)
{
	switch (e) {
	case EFFECT_ALERT:
		return "alert";
	case EFFECT_PREVENT:
		return "prevent";
	default:
		return "disable";
	}
}

static json_t *
dump_patterns(const struct patternset *set)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < patternset_count(set); i++)
		json_array_append_new(arr,
		    json_string(patternset_item(set, i)));
	return arr;
}

static json_t *
dump_proclist(const struct proclist *l)
{
	json_t *arr = dump_patterns(l->paths), *b = dump_patterns(l->bases);

	json_array_extend(arr, b);
	json_decref(b);
	return arr;
}

static json_t *
dump_cidrs(const struct cidrset *set)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < cidrset_count(set); i++)
		json_array_append_new(arr, json_string(cidrset_item(set, i)));
	return arr;
}

static json_t *
dump_ports(const struct portset *set)
{
	json_t *arr = json_array();
	unsigned s, e;
	size_t i;

	for (i = 0; i < portset_count(set); i++) {
		portset_item(set, i, &s, &e);
		json_array_append_new(arr, json_pack("{s:i,s:i}", "start",
		    (int)s, "end", (int)e));
	}
	return arr;
}

static json_t *
dump_collection(const struct collection *c)
{
	json_t *o = json_object(), *labels = json_array();
	size_t i;

	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "functions", c->functions ?
	    dump_patterns(c->functions) : json_pack("[s]", "*"));
	for (i = 0; i < c->nlabels; i++)
		json_array_append_new(labels, json_sprintf("%s%s:%s",
		    c->labels[i].exempt ? "-" : "", c->labels[i].key,
		    c->labels[i].value));
	if (c->nlabels == 0)
		json_array_append_new(labels, json_string("*"));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "accountIDs", c->accounts ?
	    dump_patterns(c->accounts) : json_pack("[s]", "*"));
	return o;
}

static json_t *
dump_rule(const struct rule *r)
{
	static const char *const responses[] = { "nxdomain", "refused",
	    "nodata" };
	const struct net_section *n = &r->network;
	json_t *o = json_object(), *cols = json_array();
	size_t i;

	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "disabled", json_boolean(r->disabled));
	for (i = 0; i < r->ncollections; i++)
		json_array_append_new(cols, dump_collection(&r->collections[i]));
	json_object_set_new(o, "collections", cols);
	json_object_set_new(o, "processes", json_pack(
	    "{s:s,s:o,s:o,s:b,s:b}", "effect",
	    effect_name(r->processes.effect),
	    "whitelist", dump_proclist(&r->processes.whitelist),
	    "blacklist", dump_proclist(&r->processes.blacklist),
	    "blockAllBinaries", r->processes.block_all_binaries,
	    "checkCryptoMiners", r->processes.check_crypto_miners));
	json_object_set_new(o, "network", json_pack(
	    "{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o}",
	    "effect", effect_name(n->effect),
	    "whitelistIPs", dump_cidrs(n->whitelist_ips),
	    "blacklistIPs", dump_cidrs(n->blacklist_ips),
	    "whitelistOutboundPorts", dump_ports(n->whitelist_out),
	    "blacklistOutboundPorts", dump_ports(n->blacklist_out),
	    "whitelistListeningPorts", dump_ports(n->whitelist_listen),
	    "blacklistListeningPorts", dump_ports(n->blacklist_listen),
	    "requireResolved", n->require_resolved,
	    "whitelistDomains", dump_patterns(n->whitelist_domains),
	    "blacklistDomains", dump_patterns(n->blacklist_domains),
	    "whitelistInboundIPs", dump_cidrs(n->whitelist_inbound)));
	json_object_set_new(o, "dns", json_pack("{s:s,s:o,s:o,s:s}",
	    "effect", effect_name(r->dns.effect),
	    "whitelist", dump_patterns(r->dns.whitelist),
	    "blacklist", dump_patterns(r->dns.blacklist),
	    "deniedResponse", responses[r->dns.denied_response]));
	json_object_set_new(o, "filesystem", json_pack("{s:s,s:o,s:o}",
	    "effect", effect_name(r->filesystem.effect),
	    "whitelist", dump_patterns(r->filesystem.whitelist),
	    "blacklist", dump_patterns(r->filesystem.blacklist)));
	return o;
}

char *
policy_dump(const struct policy *pol)
{
	json_t *doc = json_object(), *rules = json_array();
	char *text;
	size_t i;

	for (i = 0; i < pol->nrules; i++)
		json_array_append_new(rules, dump_rule(&pol->rules[i]));
	json_object_set_new(doc, "rules", rules);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}

bool
proclist_match(const struct proclist *l, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	size_t plen = strlen(path), blen = strlen(base);

	if (l->count == 0)
		return false;
	if (patternset_match_exempt(l->paths, path, plen) ||
	    patternset_match_exempt(l->bases, base, blen))
		return false;
	return patternset_match_include(l->paths, path, plen) ||
	    patternset_match_include(l->bases, base, blen);
}
