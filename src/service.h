/*
 * service — what the long-running commands (daemon, run) share: their
 * common options, the guard they enforce with, the first policy load,
 * reloads (SIGHUP or a changed file) and the one-second tick that ships
 * audits, flushes the recording and watches the policy file.
 */
#ifndef FNGUARD_SERVICE_H
#define FNGUARD_SERVICE_H

#include <stdbool.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "fnguard/guard.h"

#define SERVICE_MAX_AUDIT 8

struct service_opts {
	const char *policy_path, *keyfile, *record_path;
	const char *audit[SERVICE_MAX_AUDIT];
	size_t naudit;
	const char *function, *region, *provider, *account, *runtime;
	const char *labels[IDENTITY_MAX_LABELS];
	size_t nlabels;
	int verbose;
};

/* The shared long options, for a getopt_long table; their values are the
 * characters service_option() takes. */
#define SERVICE_LONG_OPTIONS \
	{ "policy", required_argument, NULL, 'p' }, \
	{ "policy-pubkey", required_argument, NULL, 'k' }, \
	{ "audit", required_argument, NULL, 'a' }, \
	{ "record", required_argument, NULL, 'r' }, \
	{ "function", required_argument, NULL, 'F' }, \
	{ "region", required_argument, NULL, 'R' }, \
	{ "provider", required_argument, NULL, 'P' }, \
	{ "account", required_argument, NULL, 'A' }, \
	{ "runtime", required_argument, NULL, 'T' }, \
	{ "label", required_argument, NULL, 'L' }

/* Takes a shared option (ch from getopt_long). Returns false when ch is
 * not one; exits 2 on a bad value. */
bool service_option(const char *cmd, struct service_opts *, int ch,
    const char *arg);

struct service {
	const char *cmd;
	const struct service_opts *o;
	struct guard guard;
	struct event_base *base;	/* borrowed */
	struct event *tick;
	struct stat policy_stat;
	bool have_stat;
	/* Called after each policy swap (may be NULL). */
	void (*reloaded)(struct service *, void *arg);
	void *reloaded_arg;
};

/* Identity, audit sinks, learned addresses, process finder, recording:
 * everything but the policy. Returns 0, or -1 (logged). */
int service_setup(struct service *, const char *cmd,
    const struct service_opts *);

/* The first policy (--policy, else TW_POLICY, else none). Returns 0, or
 * -1 when it is refused. */
int service_load_policy(struct service *);

/* Reloads the policy file; an invalid one is refused (logged, audited)
 * and the running one stays. */
void service_reload(struct service *, const char *why);

/* Starts the one-second tick on base. Returns 0 or -1. */
int service_start(struct service *, struct event_base *base);

/* Ships what is queued and closes everything. */
void service_clear(struct service *);

#endif
