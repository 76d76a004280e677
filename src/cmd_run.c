/*
 * fnguard run [--policy FILE] [--audit DEST]... [--record FILE] [identity
 *             flags] [--upstream ADDR[:PORT]]... [--dns-listen ADDR] -- CMD ...
 *
 * The launcher: CMD runs as a traced process tree under the policy, with
 * the resolver and the proxy in the same event base as the tracer. The
 * resolver listens on port 53 of a loopback address of its own, and
 * tracees read a resolv.conf naming it in place of /etc/resolv.conf, so
 * glibc and musl accept its answers as coming from their nameserver; DNS
 * sent to any other nameserver is redirected to it too.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "commands.h"
#include "fnguard/cli.h"
#include "fnguard/log.h"
#include "fnguard/proxy.h"
#include "fnguard/resolver.h"
#include "fnguard/tracer.h"
#include "service.h"

static const char run_usage[] =
    "usage: fnguard run [--policy FILE] [--policy-pubkey KEY] [--audit "
    "DEST]...\n"
    "                   [--record FILE] [--function NAME] [--region R]\n"
    "                   [--provider P] [--account A] [--runtime R]\n"
    "                   [--label KEY:VALUE]... [--upstream ADDR[:PORT]]...\n"
    "                   [--dns-listen ADDR] [-v] -- CMD [ARG]...\n"
    "Runs CMD and every process it starts under the policy: execs,\n"
    "files, connections, listening ports and DNS are checked; what the\n"
    "policy denies fails with EACCES (or EPERM) and is audited.\n"
    "  --audit DEST        - (stderr, default) or a file; may repeat\n"
    "  --record FILE       append every observed act as an event\n"
    "  --upstream ADDR     nameserver for the embedded resolver (default:\n"
    "                      those of /etc/resolv.conf); may repeat\n"
    "  --dns-listen ADDR   loopback address for the embedded resolver\n"
    "                      (port 53 where allowed, else any; default\n"
    "                      127.53.X.Y chosen per run)\n"
    "CMD's exit status is fnguard's (128+N when a signal N ended it).\n";

struct run_opts {
	struct service_opts so;
	struct resolver_config rc;
	const char *dns_listen;
	char **argv;
};

static void
parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		SERVICE_LONG_OPTIONS,
		{ "upstream", required_argument, NULL, 'u' },
		{ "dns-listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	socklen_t len;
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:hv", opts, NULL)) != -1) {
		if (service_option("run", &o->so, ch, optarg))
			continue;
		switch (ch) {
		case 'v':
			o->so.verbose = 1;
			break;
		case 'l':
			o->dns_listen = optarg;
			break;
		case 'u':
			if (o->rc.nupstreams == RESOLVER_MAX_UPSTREAMS)
				cli_usage("run", "at most %d --upstream",
				    RESOLVER_MAX_UPSTREAMS);
			if (resolver_parse_addr(optarg, 53,
			    &o->rc.upstream[o->rc.nupstreams], &len) == -1)
				cli_usage("run", "--upstream %s: expected "
				    "ADDR[:PORT]", optarg);
			o->rc.nupstreams++;
			break;
		case 'h':
			fputs(run_usage, stdout);
			exit(EXIT_OK);
		default:
			cli_bad_option("run", ch, argv);
		}
	}
	if (optind == argc)
		cli_usage("run", "no command given (fnguard run [OPTIONS] -- "
		    "CMD [ARG]...)");
	o->argv = argv + optind;
}

struct run {
	struct run_opts *o;
	struct service svc;
	struct event_base *base;
	struct resolver *resolver;
	struct proxy *proxy;
	struct tracer *tracer;
	char dir[80], resolv_conf[112];
};

static bool
on(enum effect e)
{
	return e != EFFECT_DISABLE;
}

/*
 * The embedded resolver on port 53 of a loopback address of this run's
 * own (127.53.X.Y from the pid, the next ones when taken), or of
 * --dns-listen. Without the right to port 53, on a port the kernel picks:
 * DNS then reaches it only by redirection, with reply addresses fixed up.
 * Returns 0, or -1 when it cannot listen.
 */
static int
start_resolver(struct run *r, struct tracer_config *tc)
{
	struct resolver_config *rc = &r->o->rc;
	char text[64];
	unsigned i;
	pid_t pid = getpid();

	if (rc->nupstreams == 0)
		rc->nupstreams = resolver_read_resolv_conf("/etc/resolv.conf",
		    rc->upstream, RESOLVER_MAX_UPSTREAMS);
	for (i = 0; i < 9 && r->resolver == NULL; i++) {
		if (r->o->dns_listen != NULL)
			snprintf(text, sizeof(text), "%s", r->o->dns_listen);
		else
			snprintf(text, sizeof(text), "127.53.%u.%u",
			    ((unsigned)pid >> 8) & 0xff,
			    ((unsigned)pid + i) & 0xff);
		rc->nlisten = 1;
		if (resolver_parse_addr(text, i < 8 ? 53 : 0, &rc->listen[0],
		    &rc->listen_len[0]) == -1)
			cli_usage("run", "--dns-listen %s: expected an address",
			    text);
		r->resolver = resolver_new(r->base, rc, &r->svc.guard);
		if (r->resolver == NULL && errno == EACCES)
			i = 7;		/* no right to port 53: any port */
		else if (r->resolver == NULL && r->o->dns_listen != NULL)
			return -1;
	}
	if (r->resolver == NULL)
		return -1;
	return resolver_listen_addr(r->resolver, 0, &tc->dns, &tc->dns_len);
}

static int
dns_port(const struct sockaddr_storage *sa)
{
	return ntohs(sa->ss_family == AF_INET ?
	    ((const struct sockaddr_in *)sa)->sin_port :
	    ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* Directories of runs that died without cleaning up (kill -9): their
 * pid is in the name and no longer runs fnguard. */
static void
sweep_stale_dirs(void)
{
	char exe[PATH_MAX], link[64];
	struct dirent *de;
	struct stat st;
	DIR *d;
	ssize_t n;
	long pid;
	int fd;

	if ((d = opendir("/tmp")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "fnguard-run.", 12) != 0 ||
		    (pid = strtol(de->d_name + 12, NULL, 10)) <= 0)
			continue;
		snprintf(link, sizeof(link), "/proc/%ld/exe", pid);
		if ((n = readlink(link, exe, sizeof(exe) - 1)) > 0) {
			exe[n] = '\0';
			if (strstr(exe, "fnguard") != NULL)
				continue;	/* still running */
		}
		/* Only a real directory of ours: never through a symlink
		 * someone else put there. */
		if ((fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		if (fstat(fd, &st) == 0 && st.st_uid == geteuid()) {
			unlinkat(fd, "resolv.conf", 0);
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		}
		close(fd);
	}
	closedir(d);
}

/* A resolv.conf naming the resolver, with the system's other lines. */
static int
write_resolv_conf(struct run *r, const struct sockaddr_storage *dns)
{
	char addr[INET6_ADDRSTRLEN], line[512];
	FILE *in, *out;
	const void *a = dns->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)dns)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)dns)->sin6_addr;

	inet_ntop(dns->ss_family, a, addr, sizeof(addr));
	sweep_stale_dirs();
	snprintf(r->dir, sizeof(r->dir), "/tmp/fnguard-run.%ld.XXXXXX",
	    (long)getpid());
	if (mkdtemp(r->dir) == NULL) {
		r->dir[0] = '\0';
		return -1;
	}
	chmod(r->dir, 0755);	/* tracees may change user */
	snprintf(r->resolv_conf, sizeof(r->resolv_conf), "%s/resolv.conf",
	    r->dir);
	if ((out = fopen(r->resolv_conf, "w")) == NULL)
		return -1;
	fprintf(out, "# fnguard run: the embedded resolver\nnameserver %s\n",
	    addr);
	if ((in = fopen("/etc/resolv.conf", "r")) != NULL) {
		while (fgets(line, sizeof(line), in) != NULL)
			if (strncmp(line, "nameserver", 10) != 0)
				fputs(line, out);
		fclose(in);
	}
	if (fclose(out) != 0)
		return -1;
	chmod(r->resolv_conf, 0644);
	return 0;
}

/* The proxy, for TCP whose first bytes the rule looks at: on ephemeral
 * loopback ports, v4 and v6. */
static int
start_proxy(struct run *r, struct tracer_config *tc)
{
	struct proxy_config pc;
	size_t i;

	memset(&pc, 0, sizeof(pc));
	pc.splice = true;
	resolver_parse_addr("127.0.0.1", 0, &pc.listen[0], &pc.listen_len[0]);
	resolver_parse_addr("::1", 0, &pc.listen[1], &pc.listen_len[1]);
	pc.nlisten = 2;
	if ((r->proxy = proxy_new(r->base, &pc, &r->svc.guard)) == NULL) {
		/* No IPv6 loopback: IPv4 only. */
		pc.nlisten = 1;
		if ((r->proxy = proxy_new(r->base, &pc, &r->svc.guard)) == NULL)
			return -1;
	}
	tc->proxy = r->proxy;
	for (i = 0; i < pc.nlisten; i++)
		if (proxy_listen_addr(r->proxy, i, &tc->proxy_addr[i]) == -1)
			return -1;
	return 0;
}

/* Is the running kernel at least major.minor (uname)? */
static bool
kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) == -1 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * The launcher's event base waits in poll(2), not epoll: a seccomp
 * listener call wakes a poll(2) waiter on the caller's own CPU
 * (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP reaches it), where epoll's wake-up
 * of its waiter picks a CPU of its own, an idle one, and a VM pays tens
 * of microseconds to wake it (an open with work around it: 8 us against
 * 33 us, measured). A launcher watches a handful of descriptors; the
 * daemon keeps epoll.
 */
static struct event_base *
run_base(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_avoid_method(cfg, "epoll");
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base == NULL)		/* no poll(2) backend: any will do */
		base = event_base_new();
	return base;
}

int
cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct run r;
	struct tracer_config tc;
	struct tracer_stats ts;
	const struct rule *rule;
	bool dns_on;
	int rc = EXIT_FOUND;

	parse_run_opts(argc, argv, &o);
	log_init(o.so.verbose ? 1 : -1);	/* CMD's stderr is the user's */
	memset(&r, 0, sizeof(r));
	memset(&tc, 0, sizeof(tc));
	r.o = &o;
	signal(SIGPIPE, SIG_IGN);	/* the child restores it */
	if (!seccomp_supported()) {
		log_warnx("run: this kernel has no seccomp filters");
		return EXIT_FOUND;
	}
	if (service_setup(&r.svc, "run", &o.so) == -1)
		goto done;
	if ((r.base = run_base()) == NULL)
		goto done;
	if (service_load_policy(&r.svc) == -1)
		goto done;
	rule = r.svc.guard.rule;
	dns_on = rule != NULL && on(rule->dns.effect);
	tc.argv = o.argv;
	tc.plan.exec = true;
	tc.plan.files = (rule != NULL && on(rule->filesystem.effect)) ||
	    o.so.record_path != NULL;
	tc.plan.net = (rule != NULL && (on(rule->network.effect) || dns_on)) ||
	    o.so.record_path != NULL;
	tc.plan.io_uring = !tc.plan.files && !tc.plan.net;
	/* Opens go to a seccomp listener where the kernel has what makes
	 * it pay (Linux 6.6: same-CPU wake-ups; pidfd_getfd came in 5.6);
	 * FNGUARD_NO_LISTENER=1 keeps them on ptrace stops (for
	 * comparison, and the tests of kernels without one). */
	tc.plan.notify = kernel_at_least(6, 6) &&
	    (getenv("FNGUARD_NO_LISTENER") == NULL ||
	    strcmp(getenv("FNGUARD_NO_LISTENER"), "1") != 0);
	if (tc.plan.net) {
		if (start_resolver(&r, &tc) == -1) {
			if (dns_on || o.dns_listen != NULL) {
				log_warnx("run: the resolver cannot listen");
				goto done;
			}
			log_warnx("run: no embedded resolver: DNS is judged "
			    "as plain traffic");
		} else if (dns_port(&tc.dns) != 53) {
			log_info("run: the resolver is not on port 53: DNS "
			    "reaches it by redirection only");
		} else if (write_resolv_conf(&r, &tc.dns) == -1) {
			log_warn("run: resolv.conf");
			goto done;
		} else
			tc.resolv_conf = r.resolv_conf;
		if (rule != NULL && rules_needs_payload(rule) &&
		    start_proxy(&r, &tc) == -1) {
			log_warnx("run: the proxy cannot listen");
			goto done;
		}
	}
	if ((r.tracer = tracer_new(r.base, &tc, &r.svc.guard)) == NULL)
		goto done;
	if (service_start(&r.svc, r.base) == -1)
		goto done;
	if (tracer_spawn(r.tracer) == -1)
		goto done;
	event_base_dispatch(r.base);
	if (tracer_done(r.tracer))
		rc = tracer_exit_code(r.tracer);
	tracer_stats(r.tracer, &ts);
	log_debug("run: %llu processes, %llu stops (%llu seccomp), %llu "
	    "denied, %llu killed, %llu redirected, %llu fast opens, "
	    "%llu replies fixed, %llu listener calls, %llu opened for the "
	    "caller, %llu sent to a ptrace stop",
	    (unsigned long long)ts.processes, (unsigned long long)ts.stops,
	    (unsigned long long)ts.seccomp_stops, (unsigned long long)ts.denied,
	    (unsigned long long)ts.killed, (unsigned long long)ts.redirected,
	    (unsigned long long)ts.fast_opens,
	    (unsigned long long)ts.replies_fixed,
	    (unsigned long long)ts.notifications,
	    (unsigned long long)ts.handed, (unsigned long long)ts.retraced);
done:
	tracer_free(r.tracer);
	proxy_free(r.proxy);
	resolver_free(r.resolver);
	service_clear(&r.svc);
	if (r.base != NULL)
		event_base_free(r.base);
	if (r.resolv_conf[0] != '\0')
		unlink(r.resolv_conf);
	if (r.dir[0] != '\0')
		rmdir(r.dir);
	return rc;
}
