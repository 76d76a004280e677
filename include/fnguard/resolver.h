/*
 * resolver — the enforcing DNS resolver (SPEC section 5): UDP and TCP
 * frontends on the event base, every question checked by the guard, denied
 * ones answered at once, allowed ones answered from the cache or forwarded
 * through c-ares driven from the same event base.
 */
#ifndef FNGUARD_RESOLVER_H
#define FNGUARD_RESOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "fnguard/guard.h"

#define RESOLVER_MAX_LISTEN 8
#define RESOLVER_MAX_UPSTREAMS 8

struct resolver_config {
	struct sockaddr_storage listen[RESOLVER_MAX_LISTEN];
	socklen_t listen_len[RESOLVER_MAX_LISTEN];
	size_t nlisten;
	struct sockaddr_storage upstream[RESOLVER_MAX_UPSTREAMS];
	size_t nupstreams;
	size_t cache_bytes;		/* default 16 MiB */
	unsigned tcp_max_clients;	/* default 512 */
	unsigned tcp_idle_ms;		/* default 10000 (RFC 7766 6.2.3) */
	unsigned upstream_timeout_ms;	/* per try; default 1500 */
	unsigned upstream_tries;	/* default 3 */
};

struct resolver_stats {
	uint64_t udp_queries, tcp_queries, denied, cache_hits, forwarded;
	uint64_t upstream_failures, formerr, dropped, truncated;
	uint64_t tcp_accepted, tcp_closed_idle, tcp_evicted;
	uint64_t segmented;	/* UDP answers sent inside UDP_SEGMENT groups */
};

struct resolver;

/*
 * Binds every listen address (UDP and TCP) and starts serving on base.
 * guard is borrowed and must outlive the resolver. Returns NULL after
 * logging why (a bind that fails, an upstream that is one of our own
 * listen addresses, c-ares refusing to start).
 */
struct resolver *resolver_new(struct event_base *base,
    const struct resolver_config *cfg, struct guard *guard);
void resolver_free(struct resolver *);

void resolver_stats(const struct resolver *, struct resolver_stats *);

/* Where listen address i is bound (with port 0 configured: the port the
 * kernel chose, the same for UDP and TCP). Returns 0 or -1. */
int resolver_listen_addr(const struct resolver *, size_t i,
    struct sockaddr_storage *out, socklen_t *len);

/*
 * Parses "IP" or "IP:PORT" or "[IPv6]:PORT" into sa with default_port.
 * Returns 0 or -1.
 */
int resolver_parse_addr(const char *text, uint16_t default_port,
    struct sockaddr_storage *sa, socklen_t *len);

/* Nameservers of a resolv.conf file, in order. Returns how many. */
size_t resolver_read_resolv_conf(const char *path,
    struct sockaddr_storage *out, size_t max);

#endif
