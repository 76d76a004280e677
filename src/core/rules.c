/* rules — see include/fnguard/rules.h. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "fnguard/rules.h"

static const char *const attack_names[ATTACK_TYPE_COUNT] = {
	"", "explicitlyDeniedProcess", "cryptoMinerProcess",
	"explicitlyDeniedIP", "explicitlyDeniedOutboundPort",
	"explicitlyDeniedListeningPort", "explicitlyDeniedDNS",
	"regFileAccess", "policyHijacked",
};

const char *
attack_type_name(enum attack_type a)
{
	return (unsigned)a < ATTACK_TYPE_COUNT ? attack_names[a] : "";
}

int
attack_type_parse(const char *name, enum attack_type *out)
{
	size_t i;

	for (i = 1; i < ATTACK_TYPE_COUNT; i++)
		if (strcmp(name, attack_names[i]) == 0) {
			*out = (enum attack_type)i;
			return 0;
		}
	return -1;
}

const char *
verdict_name(enum verdict_kind v)
{
	switch (v) {
	case VERDICT_ALERT:
		return "alert";
	case VERDICT_PREVENT:
		return "prevent";
	default:
		return "allow";
	}
}

/* ---- scope ---- */

/* A scope list: exemptions first; a list of exemptions only means
 * "everything but these". NULL matches anything. */
static bool
scope_match(const struct patternset *set, const char *s)
{
	size_t len;

	if (set == NULL)
		return true;
	len = strlen(s);
	if (patternset_match_exempt(set, s, len))
		return false;
	return !patternset_has_include(set) ||
	    patternset_match_include(set, s, len);
}

static bool
label_matches(const struct label_pattern *lp, const struct identity *id)
{
	size_t i, klen = strlen(lp->key), vlen = strlen(lp->value);

	if (strcasecmp(lp->key, "region") == 0)
		return pattern_match(lp->value, vlen, id->region,
		    strlen(id->region), true);
	for (i = 0; i < id->nlabels; i++) {
		const char *l = id->labels[i];

		if (strncasecmp(l, lp->key, klen) == 0 && l[klen] == ':' &&
		    pattern_match(lp->value, vlen, l + klen + 1,
		    strlen(l + klen + 1), true))
			return true;
	}
	return false;
}

static bool
labels_match(const struct collection *c, const struct identity *id)
{
	bool includes = false, hit = false;
	size_t i;

	for (i = 0; i < c->nlabels; i++) {
		const struct label_pattern *lp = &c->labels[i];

		if (lp->exempt) {
			if (label_matches(lp, id))
				return false;
			continue;
		}
		includes = true;
		hit = hit || label_matches(lp, id);
	}
	return !includes || hit;
}

static bool
collection_match(const struct collection *c, const struct identity *id)
{
	if (c->all)
		return true;
	return scope_match(c->functions, id->function) &&
	    scope_match(c->accounts, id->account) && labels_match(c, id);
}

const struct rule *
rules_select(const struct policy *pol, const struct identity *id)
{
	size_t i, j;

	if (pol == NULL)
		return NULL;
	for (i = 0; i < pol->nrules; i++) {
		const struct rule *r = &pol->rules[i];

		if (r->disabled)
			continue;
		if (r->ncollections == 0)
			return r;
		for (j = 0; j < r->ncollections; j++)
			if (collection_match(&r->collections[j], id))
				return r;
	}
	return NULL;
}

/* ---- verdicts ---- */

static enum verdict_kind
effect_verdict(enum effect e)
{
	return e == EFFECT_PREVENT ? VERDICT_PREVENT :
	    e == EFFECT_ALERT ? VERDICT_ALERT : VERDICT_ALLOW;
}

static void
deny(struct verdict *v, enum effect e, enum attack_type attack,
    enum deny_reason reason, const char *object)
{
	v->verdict = effect_verdict(e);
	v->attack = attack;
	v->reason = reason;
	v->object = object;
}

/* A string list: whitelist (if non-empty) must match, blacklist must not.
 * Returns the reason it is denied, or REASON_NONE. */
static enum deny_reason
list_check(const struct patternset *wl, const struct patternset *bl,
    const char *s, size_t len)
{
	if (bl != NULL && patternset_match(bl, s, len))
		return REASON_BLACKLISTED;
	if (wl != NULL && !patternset_match(wl, s, len))
		return REASON_NOT_WHITELISTED;
	return REASON_NONE;
}

/* Query names compare without their trailing root dot. */
static size_t
domain_len(const char *d)
{
	size_t len = strlen(d);

	if (len > 1 && d[len - 1] == '.' && d[len - 2] != '\\')
		len--;
	return len;
}

static void
eval_dns(const struct rule *r, const struct event *ev, struct verdict *v)
{
	const char *d = ev->domain != NULL ? ev->domain : "";
	enum deny_reason why;

	if (r->dns.effect == EFFECT_DISABLE)
		return;
	why = list_check(r->dns.whitelist, r->dns.blacklist, d, domain_len(d));
	if (why != REASON_NONE)
		deny(v, r->dns.effect, ATTACK_DENIED_DNS, why, d);
}

static enum deny_reason
proc_check(const struct proc_section *p, const char *path)
{
	if (proclist_match(&p->blacklist, path))
		return REASON_BLACKLISTED;
	if (p->whitelist.count > 0 && !proclist_match(&p->whitelist, path))
		return REASON_NOT_WHITELISTED;
	return REASON_NONE;
}

static void
eval_exec(const struct rule *r, const struct event *ev, struct verdict *v)
{
	const struct proc_section *p = &r->processes;
	const char *path = ev->process_path != NULL ? ev->process_path : "";
	enum deny_reason why;

	if (p->effect == EFFECT_DISABLE)
		return;
	/* SPEC: miners are denied even when the whitelist allows them. */
	if (p->check_crypto_miners) {
		why = rules_miner_check(path, ev->command);
		if (why == REASON_NONE && ev->interpreter != NULL)
			why = rules_miner_check(ev->interpreter, NULL);
		if (why != REASON_NONE) {
			deny(v, p->effect, ATTACK_CRYPTO_MINER, why, path);
			return;
		}
	}
	if ((why = proc_check(p, path)) != REASON_NONE) {
		deny(v, p->effect, ATTACK_DENIED_PROCESS, why, path);
		return;
	}
	/* A script runs only if its interpreter may run too. */
	if (ev->interpreter != NULL &&
	    (why = proc_check(p, ev->interpreter)) != REASON_NONE) {
		deny(v, p->effect, ATTACK_DENIED_PROCESS, why, ev->interpreter);
		return;
	}
	if (p->block_all_binaries && !ev->main_process)
		deny(v, p->effect, ATTACK_DENIED_PROCESS,
		    REASON_BLOCK_ALL_BINARIES, path);
}

static void
eval_wire_domain(const struct rule *r, const struct event *ev,
    struct verdict *v)
{
	const struct net_section *n = &r->network;
	size_t len = domain_len(ev->domain);
	enum deny_reason why;

	if (n->effect != EFFECT_DISABLE) {
		why = list_check(n->whitelist_domains, n->blacklist_domains,
		    ev->domain, len);
		if (why != REASON_NONE) {
			deny(v, n->effect, ATTACK_DENIED_DNS, REASON_DOMAIN,
			    ev->domain);
			return;
		}
	}
	/* The name on the wire is checked as its own name, so an allowed
	 * address cannot front a name the dns rules deny. */
	if (r->dns.effect != EFFECT_DISABLE &&
	    list_check(r->dns.whitelist, r->dns.blacklist, ev->domain, len) !=
	    REASON_NONE)
		deny(v, r->dns.effect, ATTACK_DENIED_DNS, REASON_DOMAIN_DNS,
		    ev->domain);
}

static void
eval_outbound(const struct rule *r, const struct event *ev, struct verdict *v)
{
	const struct net_section *n = &r->network;
	bool has_ip = ev->ip.family != 0;

	/* Miner traffic (stratum on the wire) is a miner whatever the
	 * network lists say (SPEC section 2, checkCryptoMiners). */
	if (ev->miner_protocol && r->processes.check_crypto_miners &&
	    r->processes.effect != EFFECT_DISABLE) {
		deny(v, r->processes.effect, ATTACK_CRYPTO_MINER,
		    REASON_MINER_TRAFFIC, ev->process_path);
		return;
	}

	if (n->effect != EFFECT_DISABLE) {
		if (has_ip && cidrset_match(n->blacklist_ips, &ev->ip)) {
			deny(v, n->effect, ATTACK_DENIED_IP, REASON_BLACKLISTED,
			    NULL);
			return;
		}
		if (n->require_resolved && !ev->resolved && (!has_ip ||
		    !cidrset_match(n->whitelist_ips, &ev->ip))) {
			deny(v, n->effect, ATTACK_DENIED_IP, REASON_NOT_RESOLVED,
			    NULL);
			return;
		}
		if (!n->require_resolved && n->whitelist_ips != NULL &&
		    (!has_ip || !cidrset_match(n->whitelist_ips, &ev->ip))) {
			deny(v, n->effect, ATTACK_DENIED_IP,
			    REASON_NOT_WHITELISTED, NULL);
			return;
		}
		if (n->blacklist_out != NULL && ev->port >= 0 &&
		    portset_match(n->blacklist_out, (unsigned)ev->port)) {
			deny(v, n->effect, ATTACK_DENIED_OUTBOUND_PORT,
			    REASON_BLACKLISTED, NULL);
			return;
		}
		if (n->whitelist_out != NULL && (ev->port < 0 ||
		    !portset_match(n->whitelist_out, (unsigned)ev->port))) {
			deny(v, n->effect, ATTACK_DENIED_OUTBOUND_PORT,
			    REASON_NOT_WHITELISTED, NULL);
			return;
		}
	}
	if (ev->domain != NULL && ev->domain[0] != '\0')
		eval_wire_domain(r, ev, v);
}

static void
eval_listen(const struct rule *r, const struct event *ev, struct verdict *v)
{
	const struct net_section *n = &r->network;

	if (n->effect == EFFECT_DISABLE)
		return;
	if (n->blacklist_listen != NULL && ev->port >= 0 &&
	    portset_match(n->blacklist_listen, (unsigned)ev->port))
		deny(v, n->effect, ATTACK_DENIED_LISTENING_PORT,
		    REASON_BLACKLISTED, NULL);
	else if (n->whitelist_listen != NULL && (ev->port < 0 ||
	    !portset_match(n->whitelist_listen, (unsigned)ev->port)))
		deny(v, n->effect, ATTACK_DENIED_LISTENING_PORT,
		    REASON_NOT_WHITELISTED, NULL);
}

static void
eval_accept(const struct rule *r, const struct event *ev, struct verdict *v)
{
	const struct net_section *n = &r->network;
	bool has_ip = ev->ip.family != 0;

	if (n->effect == EFFECT_DISABLE)
		return;
	if (has_ip && cidrset_match(n->blacklist_ips, &ev->ip))
		deny(v, n->effect, ATTACK_DENIED_IP, REASON_BLACKLISTED, NULL);
	else if (n->whitelist_inbound != NULL && (!has_ip ||
	    !cidrset_match(n->whitelist_inbound, &ev->ip)))
		deny(v, n->effect, ATTACK_DENIED_IP, REASON_INBOUND_SOURCE,
		    NULL);
}

static bool
fs_check_path(const struct rule *r, const char *path, struct verdict *v)
{
	const struct fs_section *f = &r->filesystem;
	enum deny_reason why;

	if (path == NULL)
		return false;
	why = list_check(f->whitelist, f->blacklist, path, strlen(path));
	if (why == REASON_NONE)
		return false;
	deny(v, f->effect, ATTACK_REG_FILE_ACCESS, why, path);
	return true;
}

static void
eval_filesystem(const struct rule *r, const struct event *ev,
    struct verdict *v)
{
	if (r->filesystem.effect == EFFECT_DISABLE)
		return;
	if (ev->kind == EVENT_EXEC) {
		fs_check_path(r, ev->process_path, v);
		return;
	}
	/* Both ends of a rename or link are touched. */
	if (!fs_check_path(r, ev->filepath, v))
		fs_check_path(r, ev->newpath, v);
}

void
rules_eval_rule(const struct rule *r, const struct event *ev,
    struct verdict *v)
{
	struct verdict fs;

	memset(v, 0, sizeof(*v));
	v->rule = r;
	if (r == NULL)
		return;
	switch (ev->kind) {
	case EVENT_DNS:
		eval_dns(r, ev, v);
		break;
	case EVENT_EXEC:
		eval_exec(r, ev, v);
		/* The executable is a file too (SPEC: filesystem ... exec). */
		if (v->verdict != VERDICT_PREVENT) {
			memset(&fs, 0, sizeof(fs));
			fs.rule = r;
			eval_filesystem(r, ev, &fs);
			if (fs.verdict > v->verdict)
				*v = fs;
		}
		break;
	case EVENT_CONNECT:
	case EVENT_SENDTO:
		eval_outbound(r, ev, v);
		break;
	case EVENT_LISTEN:
		eval_listen(r, ev, v);
		break;
	case EVENT_ACCEPT:
		eval_accept(r, ev, v);
		break;
	default:
		eval_filesystem(r, ev, v);
		break;
	}
	if (v->verdict == VERDICT_ALLOW) {
		v->attack = ATTACK_NONE;
		v->reason = REASON_NONE;
		v->object = NULL;
	}
}

void
rules_eval(const struct policy *pol, const struct identity *id,
    const struct event *ev, struct verdict *v)
{
	rules_eval_rule(rules_select(pol, id), ev, v);
}

bool
rules_needs_payload(const struct rule *r)
{
	if (r == NULL)
		return false;
	if (r->processes.check_crypto_miners &&
	    r->processes.effect != EFFECT_DISABLE)
		return true;
	if (r->network.effect != EFFECT_DISABLE &&
	    (r->network.whitelist_domains != NULL ||
	    r->network.blacklist_domains != NULL))
		return true;
	return r->dns.effect != EFFECT_DISABLE &&
	    (r->dns.whitelist != NULL || r->dns.blacklist != NULL);
}

/* ---- crypto miners ---- */

/* Executable names of common miners (lower case); a base name that starts
 * with one of these is a miner ("xmrig-6.21", "cpuminer-avx2"). */
static const char *const miner_names[] = {
	"xmrig", "xmr-stak", "minerd", "cpuminer", "cgminer", "bfgminer",
	"sgminer", "ethminer", "ccminer", "nbminer", "phoenixminer",
	"lolminer", "teamredminer", "nanominer", "srbminer", "nheqminer",
	"wildrig", "bminer", "kdevtmpfsi", "kinsing", "minergate",
	"nicehashminer", "xmrminer", "cryptonight", "claymore", "gminer",
	"t-rex", "excavator", "ethdcrminer", "randomx", NULL,
};

/* Arguments only miners take; matched anywhere in the command line. */
static const char *const miner_args[] = {
	"stratum+tcp://", "stratum+ssl://", "stratum+tls://",
	"stratum1+tcp://", "stratum2+tcp://", "stratum2+ssl://",
	"--donate-level", "--cpu-max-threads-hint", "--randomx-1gb-pages",
	"--randomx-mode", "--nicehash", "--coin=monero", "--coin monero",
	"--algo=cryptonight", "--algo=rx/0", "-a rx/0", "-a cryptonight",
	"--cuda-bfactor", "--rig-id", NULL,
};

static bool
contains_fold(const char *hay, size_t hlen, const char *needle)
{
	size_t nlen = strlen(needle), i;

	for (i = 0; i + nlen <= hlen; i++)
		if (strncasecmp(hay + i, needle, nlen) == 0)
			return true;
	return false;
}

enum deny_reason
rules_miner_check(const char *path, const char *command)
{
	const char *base;
	size_t i;

	if (path != NULL) {
		base = strrchr(path, '/');
		base = base != NULL ? base + 1 : path;
		for (i = 0; miner_names[i] != NULL; i++)
			if (strncasecmp(base, miner_names[i],
			    strlen(miner_names[i])) == 0)
				return REASON_MINER_NAME;
	}
	if (command != NULL) {
		size_t clen = strlen(command);

		for (i = 0; miner_args[i] != NULL; i++)
			if (contains_fold(command, clen, miner_args[i]))
				return REASON_MINER_ARGUMENTS;
	}
	return REASON_NONE;
}
