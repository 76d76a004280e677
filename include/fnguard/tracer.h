/*
 * tracer — the launcher's supervisor: runs a command as a traced process
 * tree (ptrace with PTRACE_O_EXITKILL, a seccomp filter so that only the
 * calls that need a decision stop), turns each stop into an event for the
 * guard, and lets the call through, fails it (EACCES) or kills the process.
 *
 * Stops arrive as SIGCHLD on the caller's event base (signalfd), so the
 * embedded resolver and proxy keep running while tracees wait.
 *
 * Every decision read from tracee memory has an authoritative second look
 * that a racing thread cannot fool: /proc/PID/exe at PTRACE_EVENT_EXEC,
 * /proc/PID/fd/N after an open returns, the socket's peer after a connect.
 * When they disagree the process is killed and the race audited. A failure
 * while deciding (unreadable memory, a vanished process) is a deny.
 */
#ifndef FNGUARD_TRACER_H
#define FNGUARD_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "fnguard/guard.h"
#include "fnguard/proxy.h"
#include "fnguard/seccomp.h"

struct tracer_config {
	char *const *argv;		/* the command; argv[0] looked up in PATH */
	struct seccomp_plan plan;
	/* The embedded resolver: DNS to port 53 of any address goes here
	 * (family 0: DNS is judged like other traffic). */
	struct sockaddr_storage dns;
	socklen_t dns_len;
	/* Presented to tracees in place of /etc/resolv.conf (or NULL). */
	const char *resolv_conf;
	/* The embedded proxy, for TCP whose bytes the rule looks at (or
	 * NULL), and where it listens: [0] IPv4, [1] IPv6 (family 0: none). */
	struct proxy *proxy;
	struct sockaddr_storage proxy_addr[2];
};

struct tracer_stats {
	uint64_t stops, seccomp_stops, denied, killed, processes, redirected;
	uint64_t fast_opens;		/* opens checked without a second stop */
	uint64_t replies_fixed;		/* DNS replies shown from the asked server */
	uint64_t notifications;		/* calls read from the seccomp listener */
	uint64_t handed;		/* opens done by fnguard for the caller */
	uint64_t retraced;		/* listener calls sent to a ptrace stop */
};

struct tracer;

/* The guard is borrowed and must outlive the tracer. */
struct tracer *tracer_new(struct event_base *, const struct tracer_config *,
    struct guard *);
void tracer_free(struct tracer *);	/* kills what still runs */

/*
 * Starts the command, traced. Returns 0, or -1 (logged) when it cannot be
 * started. When the main process ends, the tracer breaks the event loop.
 */
int tracer_spawn(struct tracer *);

/* Has the main process ended? Its status the way a shell reports it:
 * the exit code, or 128 + N for a death by signal N. */
bool tracer_done(const struct tracer *);
int tracer_exit_code(const struct tracer *);

void tracer_stats(const struct tracer *, struct tracer_stats *);

#endif
