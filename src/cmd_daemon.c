/*
 * fnguard daemon [--policy FILE] [--dns-listen ADDR:PORT]... [--upstream
 *                ADDR[:PORT]]... [--audit DEST]... [--record FILE] ...
 *
 * The standalone enforcing resolver for functions whose resolv.conf points
 * at it. One event base: the resolver, a one-second tick that ships audits
 * and watches the policy file, and signals (HUP reloads, INT/TERM stop).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "commands.h"
#include "fnguard/cli.h"
#include "fnguard/log.h"
#include "fnguard/proxy.h"
#include "fnguard/resolver.h"

extern char **environ;

#define MAX_AUDIT 8

static const char daemon_usage[] =
    "usage: fnguard daemon [--policy FILE] [--policy-pubkey KEY]\n"
    "                      [--dns-listen ADDR:PORT]... [--upstream "
    "ADDR[:PORT]]...\n"
    "                      [--cache-size BYTES] [--audit DEST]... "
    "[--record FILE]\n"
    "                      [--function NAME] [--region R] [--provider P]\n"
    "                      [--account A] [--runtime R] [--label KEY:VALUE]...\n"
    "                      [--proxy-listen ADDR:PORT|off]... "
    "[--inbound LISTEN=TARGET]...\n"
    "                      [--mark N] [-v]\n"
    "Serves DNS (UDP and TCP) enforcing the policy's dns rules: denied\n"
    "names get the denied response at once, allowed ones are forwarded\n"
    "(default upstreams: the nameservers of /etc/resolv.conf) and cached.\n"
    "  --dns-listen ADDR:PORT  default 127.0.0.1:53; may repeat (IPv6: "
    "[::1]:53)\n"
    "  --audit DEST            - (stderr, default) or a file; may repeat\n"
    "  --record FILE           append every query as a dns event\n"
    "  --proxy-listen ADDR:PORT  the transparent TCP proxy (default\n"
    "                          127.0.0.1:15001; off: none); may repeat\n"
    "  --inbound LISTEN=TARGET front the function's port TARGET on LISTEN\n"
    "  --mark N                SO_MARK on the proxy's upstream sockets\n"
    "  --no-splice             relay through user space only, never "
    "splice(2)\n"
    "SIGHUP or a change of the policy file reloads it; an invalid policy\n"
    "is refused and the running one stays.\n";

struct daemon_opts {
	const char *policy_path, *keyfile, *record_path;
	const char *audit[MAX_AUDIT];
	size_t naudit;
	const char *function, *region, *provider, *account, *runtime;
	const char *labels[IDENTITY_MAX_LABELS];
	size_t nlabels;
	struct resolver_config rc;
	struct proxy_config pc;
	bool proxy_off;
	int verbose;
};

struct daemon {
	struct daemon_opts *o;
	struct guard guard;
	struct event_base *base;
	struct resolver *resolver;
	struct proxy *proxy;
	struct stat policy_stat;
	bool have_stat;
};

static void
add_listen(struct daemon_opts *o, const char *text)
{
	size_t i = o->rc.nlisten;

	if (i == RESOLVER_MAX_LISTEN)
		cli_usage("daemon", "at most %d --dns-listen", RESOLVER_MAX_LISTEN);
	if (resolver_parse_addr(text, 53, &o->rc.listen[i],
	    &o->rc.listen_len[i]) == -1)
		cli_usage("daemon", "--dns-listen %s: expected ADDR:PORT", text);
	o->rc.nlisten++;
}

static void
add_upstream(struct daemon_opts *o, const char *text)
{
	socklen_t len;

	if (o->rc.nupstreams == RESOLVER_MAX_UPSTREAMS)
		cli_usage("daemon", "at most %d --upstream", RESOLVER_MAX_UPSTREAMS);
	if (resolver_parse_addr(text, 53, &o->rc.upstream[o->rc.nupstreams],
	    &len) == -1)
		cli_usage("daemon", "--upstream %s: expected ADDR[:PORT]", text);
	o->rc.nupstreams++;
}

static void
add_proxy_listen(struct daemon_opts *o, const char *text)
{
	size_t i = o->pc.nlisten;

	if (strcmp(text, "off") == 0) {
		o->proxy_off = true;
		return;
	}
	if (i == PROXY_MAX_LISTEN)
		cli_usage("daemon", "at most %d --proxy-listen", PROXY_MAX_LISTEN);
	if (resolver_parse_addr(text, 15001, &o->pc.listen[i],
	    &o->pc.listen_len[i]) == -1)
		cli_usage("daemon", "--proxy-listen %s: expected ADDR:PORT",
		    text);
	o->pc.nlisten++;
}

static void
add_inbound(struct daemon_opts *o, const char *text)
{
	struct proxy_inbound *in = &o->pc.inbound[o->pc.ninbound];
	char listen[128];
	const char *eq = strchr(text, '=');

	if (o->pc.ninbound == PROXY_MAX_INBOUND)
		cli_usage("daemon", "at most %d --inbound", PROXY_MAX_INBOUND);
	if (eq == NULL || (size_t)(eq - text) >= sizeof(listen))
		cli_usage("daemon", "--inbound takes LISTEN=TARGET");
	memcpy(listen, text, (size_t)(eq - text));
	listen[eq - text] = '\0';
	if (resolver_parse_addr(listen, 0, &in->listen, &in->listen_len) == -1 ||
	    resolver_parse_addr(eq + 1, 0, &in->target, &in->target_len) == -1)
		cli_usage("daemon", "--inbound %s: expected ADDR:PORT=ADDR:PORT",
		    text);
	o->pc.ninbound++;
}

static void
parse_daemon_opts(int argc, char **argv, struct daemon_opts *o)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "policy-pubkey", required_argument, NULL, 'k' },
		{ "dns-listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "cache-size", required_argument, NULL, 'c' },
		{ "audit", required_argument, NULL, 'a' },
		{ "record", required_argument, NULL, 'r' },
		{ "function", required_argument, NULL, 'F' },
		{ "region", required_argument, NULL, 'R' },
		{ "provider", required_argument, NULL, 'P' },
		{ "account", required_argument, NULL, 'A' },
		{ "runtime", required_argument, NULL, 'T' },
		{ "label", required_argument, NULL, 'L' },
		{ "proxy-listen", required_argument, NULL, 'x' },
		{ "inbound", required_argument, NULL, 'i' },
		{ "mark", required_argument, NULL, 'm' },
		{ "no-splice", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	o->pc.splice = true;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': o->policy_path = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'l': add_listen(o, optarg); break;
		case 'u': add_upstream(o, optarg); break;
		case 'r': o->record_path = optarg; break;
		case 'F': o->function = optarg; break;
		case 'R': o->region = optarg; break;
		case 'P': o->provider = optarg; break;
		case 'A': o->account = optarg; break;
		case 'T': o->runtime = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'x': add_proxy_listen(o, optarg); break;
		case 'S': o->pc.splice = false; break;
		case 'i': add_inbound(o, optarg); break;
		case 'm':
			errno = 0;
			o->pc.mark = (uint32_t)strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || o->pc.mark == 0)
				cli_usage("daemon", "--mark takes a non-zero "
				    "number");
			break;
		case 'c':
			errno = 0;
			o->rc.cache_bytes = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->rc.cache_bytes < 4096)
				cli_usage("daemon", "--cache-size takes bytes, at "
				    "least 4096");
			break;
		case 'a':
			if (o->naudit == MAX_AUDIT)
				cli_usage("daemon", "at most %d --audit", MAX_AUDIT);
			o->audit[o->naudit++] = optarg;
			break;
		case 'L':
			if (strchr(optarg, ':') == NULL ||
			    o->nlabels == IDENTITY_MAX_LABELS)
				cli_usage("daemon", "--label takes KEY:VALUE");
			o->labels[o->nlabels++] = optarg;
			break;
		case 'h':
			fputs(daemon_usage, stdout);
			exit(EXIT_OK);
		default:
			cli_bad_option("daemon", ch, argv);
		}
	}
	if (optind != argc)
		cli_usage("daemon", "unexpected argument '%s'", argv[optind]);
	if (o->rc.nlisten == 0)
		add_listen(o, "127.0.0.1:53");
	if (o->proxy_off)
		o->pc.nlisten = 0;
	else if (o->pc.nlisten == 0)
		add_proxy_listen(o, "127.0.0.1:15001");
}

static void
reload_policy(struct daemon *d, const char *why)
{
	struct policy_source src;
	struct policy *pol;
	bool failed;

	if (d->o->policy_path == NULL)
		return;
	pol = cli_load_policy("daemon", d->o->policy_path, d->o->keyfile,
	    d->guard.audit, NULL, 0, true, &d->guard.identity, &src, &failed);
	if (failed) {
		log_warnx("policy %s: reload (%s) refused; the running policy "
		    "stays", d->o->policy_path, why);
		return;
	}
	guard_set_policy(&d->guard, pol);
	malloc_trim(0);		/* the parser's JSON tree is gone */
	if (d->proxy != NULL)
		proxy_policy_changed(d->proxy);
	log_info("policy %s: reloaded (%s): %zu rules, rule %s applies",
	    d->o->policy_path, why, pol->nrules, d->guard.rule != NULL ?
	    d->guard.rule->name : "(none)");
}

static bool
policy_changed(struct daemon *d)
{
	struct stat st;

	if (d->o->policy_path == NULL || stat(d->o->policy_path, &st) == -1)
		return false;
	if (d->have_stat && st.st_mtim.tv_sec == d->policy_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == d->policy_stat.st_mtim.tv_nsec &&
	    st.st_size == d->policy_stat.st_size &&
	    st.st_ino == d->policy_stat.st_ino)
		return false;
	d->policy_stat = st;
	d->have_stat = true;
	return true;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	audit_tick(d->guard.audit, cli_now_ms(), false);
	audit_flush(d->guard.audit);
	if (d->guard.record != NULL)
		fflush(d->guard.record);
	if (policy_changed(d))
		reload_policy(d, "file changed");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		reload_policy(d, "SIGHUP");
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(d->base);
}

/* Everything but the policy: the big tables are made while the heap is
 * still small, so they come from fresh zero pages that cost memory only
 * as they fill, not from the space the policy parser leaves behind. */
static int
setup_guard(struct daemon *d)
{
	struct daemon_opts *o = d->o;
	size_t i;

	identity_from_env(&d->guard.identity, environ);
	identity_override(&d->guard.identity, o->function, o->region,
	    o->provider, o->account, o->runtime);
	for (i = 0; i < o->nlabels; i++)
		identity_add_label(&d->guard.identity, o->labels[i]);
	if ((d->guard.audit = audit_new(NULL)) == NULL)
		return -1;
	for (i = 0; i < o->naudit; i++)
		if (audit_add_sink(d->guard.audit, o->audit[i]) == -1) {
			log_warn("--audit %s", o->audit[i]);
			return -1;
		}
	if (o->naudit == 0)
		audit_add_sink(d->guard.audit, "-");
	d->guard.learned = ipmap_new(IPMAP_DEFAULT_MAX, IPMAP_DEFAULT_PER_NAME,
	    IPMAP_DEFAULT_GRACE_S);
	d->guard.procs = procfinder_new(50);
	if (o->record_path != NULL &&
	    (d->guard.record = fopen(o->record_path, "a")) == NULL) {
		log_warn("--record %s", o->record_path);
		return -1;
	}
	return d->guard.learned != NULL && d->guard.procs != NULL ? 0 : -1;
}

static int
load_first_policy(struct daemon *d)
{
	struct daemon_opts *o = d->o;
	struct policy_source src;
	struct policy *pol;
	bool failed;

	pol = cli_load_policy("daemon", o->policy_path, o->keyfile,
	    d->guard.audit, NULL, 0, true, &d->guard.identity, &src, &failed);
	if (failed)
		return -1;
	if (src.name == NULL)
		log_warnx("no policy (--policy or TW_POLICY): everything is "
		    "allowed");
	guard_set_policy(&d->guard, pol);
	malloc_trim(0);		/* the parser's JSON tree is gone */
	policy_changed(d);
	return 0;
}

/* Proxied sessions need two descriptors each, and two more for each
 * direction that carries bulk (a splice pipe; without one, that direction
 * is copied): take the hard limit, and keep the session cap within it
 * for the worst case. When descriptors run out all the same, the proxy
 * stops accepting for a while rather than failing sessions. */
static void
raise_nofile(struct daemon_opts *o)
{
	struct rlimit rl;
	unsigned fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	fit = rl.rlim_cur > 256 ? (unsigned)((rl.rlim_cur - 128) / 6) : 16;
	if (o->pc.max_sessions == 0 || o->pc.max_sessions > fit)
		o->pc.max_sessions = fit < 4096 ? fit : 4096;
	log_debug("daemon: %llu descriptors, at most %u proxied sessions",
	    (unsigned long long)rl.rlim_cur, o->pc.max_sessions);
}

int
cmd_daemon(int argc, char **argv)
{
	struct daemon_opts o;
	struct daemon d;
	struct event *tick, *sigs[4];
	const struct timeval second = { 1, 0 };
	static const int signals[] = { SIGHUP, SIGINT, SIGTERM };
	size_t i;
	int rc = EXIT_FOUND;

	parse_daemon_opts(argc, argv, &o);
	log_init(o.verbose);
	memset(&d, 0, sizeof(d));
	d.o = &o;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&o);
	if (setup_guard(&d) == -1)
		goto done;
	if (o.rc.nupstreams == 0)
		o.rc.nupstreams = resolver_read_resolv_conf("/etc/resolv.conf",
		    o.rc.upstream, RESOLVER_MAX_UPSTREAMS);
	if ((d.base = event_base_new()) == NULL)
		goto done;
	if ((d.resolver = resolver_new(d.base, &o.rc, &d.guard)) == NULL)
		goto done;
	if (load_first_policy(&d) == -1)
		goto done;
	/* After the policy: fronting a port is checked against it. */
	if ((o.pc.nlisten > 0 || o.pc.ninbound > 0) &&
	    (d.proxy = proxy_new(d.base, &o.pc, &d.guard)) == NULL)
		goto done;
	tick = event_new(d.base, -1, EV_PERSIST, tick_cb, &d);
	event_add(tick, &second);
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d.base, signals[i], signal_cb, &d);
		event_add(sigs[i], NULL);
	}
	log_info("daemon: ready");
	event_base_dispatch(d.base);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_free(tick);
	rc = EXIT_OK;
done:
	proxy_free(d.proxy);
	resolver_free(d.resolver);
	if (d.base != NULL)
		event_base_free(d.base);
	guard_clear(&d.guard);
	return rc;
}
