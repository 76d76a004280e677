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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "commands.h"
#include "fnguard/cli.h"
#include "fnguard/log.h"
#include "fnguard/proxy.h"
#include "fnguard/resolver.h"
#include "service.h"

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
    "                      [--mark N] [--no-splice] [--no-ack-hold] [-v]\n"
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
    "  --no-ack-hold           ACK at once: the upstream handshake's last "
    "ACK not\n"
    "                          held for the client's first bytes, nor "
    "their ACK\n"
    "                          for the reply (each held for about 2 ms)\n"
    "SIGHUP or a change of the policy file reloads it; an invalid policy\n"
    "is refused and the running one stays.\n";

struct daemon_opts {
	struct service_opts so;
	struct resolver_config rc;
	struct proxy_config pc;
	bool proxy_off;
};

struct daemon {
	struct daemon_opts *o;
	struct service svc;
	struct event_base *base;
	struct resolver *resolver;
	struct proxy *proxy;
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
		SERVICE_LONG_OPTIONS,
		{ "dns-listen", required_argument, NULL, 'l' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "cache-size", required_argument, NULL, 'c' },
		{ "proxy-listen", required_argument, NULL, 'x' },
		{ "inbound", required_argument, NULL, 'i' },
		{ "mark", required_argument, NULL, 'm' },
		{ "no-splice", no_argument, NULL, 'S' },
		{ "no-ack-hold", no_argument, NULL, 'H' },
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
		if (service_option("daemon", &o->so, ch, optarg))
			continue;
		switch (ch) {
		case 'l': add_listen(o, optarg); break;
		case 'u': add_upstream(o, optarg); break;
		case 'v': o->so.verbose = 1; break;
		case 'x': add_proxy_listen(o, optarg); break;
		case 'S': o->pc.splice = false; break;
		case 'H': o->pc.ack_hold_off = true; break;
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

/* After a reload: fronted ports are checked against the new policy. */
static void
reloaded(struct service *svc, void *arg)
{
	struct daemon *d = arg;

	(void)svc;
	if (d->proxy != NULL)
		proxy_policy_changed(d->proxy);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		service_reload(&d->svc, "SIGHUP");
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(d->base);
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
	struct event *sigs[4];
	static const int signals[] = { SIGHUP, SIGINT, SIGTERM };
	size_t i;
	int rc = EXIT_FOUND;

	parse_daemon_opts(argc, argv, &o);
	log_init(o.so.verbose);
	memset(&d, 0, sizeof(d));
	d.o = &o;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&o);
	if (service_setup(&d.svc, "daemon", &o.so) == -1)
		goto done;
	if (o.rc.nupstreams == 0)
		o.rc.nupstreams = resolver_read_resolv_conf("/etc/resolv.conf",
		    o.rc.upstream, RESOLVER_MAX_UPSTREAMS);
	if ((d.base = event_base_new()) == NULL)
		goto done;
	if ((d.resolver = resolver_new(d.base, &o.rc, &d.svc.guard)) == NULL)
		goto done;
	if (service_load_policy(&d.svc) == -1)
		goto done;
	/* After the policy: fronting a port is checked against it. */
	if ((o.pc.nlisten > 0 || o.pc.ninbound > 0) &&
	    (d.proxy = proxy_new(d.base, &o.pc, &d.svc.guard)) == NULL)
		goto done;
	d.svc.reloaded = reloaded;
	d.svc.reloaded_arg = &d;
	if (service_start(&d.svc, d.base) == -1)
		goto done;
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(d.base, signals[i], signal_cb, &d);
		event_add(sigs[i], NULL);
	}
	log_info("daemon: ready");
	event_base_dispatch(d.base);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	if (d.resolver != NULL) {
		struct resolver_stats rs;

		resolver_stats(d.resolver, &rs);
		log_info("daemon: %llu UDP and %llu TCP queries, %llu denied, "
		    "%llu from the cache, %llu forwarded, %llu dropped, %llu "
		    "UDP answers sent in UDP_SEGMENT groups",
		    (unsigned long long)rs.udp_queries,
		    (unsigned long long)rs.tcp_queries,
		    (unsigned long long)rs.denied,
		    (unsigned long long)rs.cache_hits,
		    (unsigned long long)rs.forwarded,
		    (unsigned long long)rs.dropped,
		    (unsigned long long)rs.segmented);
	}
	if (d.proxy != NULL) {
		struct proxy_stats ps;

		proxy_stats(d.proxy, &ps);
		log_info("proxy: %llu connections accepted, %llu relayed, %llu "
		    "refused (%llu without a destination), %llu upstream "
		    "failures; %llu bytes up, %llu down, %llu directions "
		    "spliced; %llu connects with the last ACK held, %llu sent "
		    "alone (the client was silent), %llu servers remembered "
		    "as speaking first, %llu ACKs of a request sent alone (the "
		    "reply was slow)",
		    (unsigned long long)ps.accepted,
		    (unsigned long long)ps.relayed,
		    (unsigned long long)ps.refused,
		    (unsigned long long)ps.no_destination,
		    (unsigned long long)ps.upstream_failed,
		    (unsigned long long)ps.bytes_up,
		    (unsigned long long)ps.bytes_down,
		    (unsigned long long)ps.spliced,
		    (unsigned long long)ps.ack_held,
		    (unsigned long long)ps.ack_released,
		    (unsigned long long)ps.first_speakers,
		    (unsigned long long)ps.request_ack_released);
	}
	rc = EXIT_OK;
done:
	proxy_free(d.proxy);
	resolver_free(d.resolver);
	service_clear(&d.svc);
	if (d.base != NULL)
		event_base_free(d.base);
	return rc;
}
