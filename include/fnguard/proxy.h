/*
 * proxy — the transparent TCP proxy (SPEC section 5, "Proxy"): outbound
 * connections arrive redirected (nftables/iptables REDIRECT) or registered
 * by the launcher; each is checked by the guard on its destination and, when
 * the policy looks at names or miners, on its first bytes (TLS SNI, HTTP
 * Host, stratum), then relayed or refused. Inbound: fronts a function's
 * port and checks sources.
 */
#ifndef FNGUARD_PROXY_H
#define FNGUARD_PROXY_H

#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "fnguard/guard.h"

#define PROXY_MAX_LISTEN 8
#define PROXY_MAX_INBOUND 8

struct proxy_inbound {
	struct sockaddr_storage listen, target;
	socklen_t listen_len, target_len;
};

struct proxy_config {
	struct sockaddr_storage listen[PROXY_MAX_LISTEN];
	socklen_t listen_len[PROXY_MAX_LISTEN];
	size_t nlisten;
	struct proxy_inbound inbound[PROXY_MAX_INBOUND];
	size_t ninbound;
	unsigned max_sessions;		/* default 4096 */
	unsigned connect_timeout_ms;	/* default 10000 */
	unsigned idle_timeout_ms;	/* default 300000 */
	unsigned peek_timeout_ms;	/* default 1000 */
	unsigned ack_hold_ms;		/* default 2: how long the upstream
					 * handshake's last ACK waits for the
					 * client's first bytes, and their ACK
					 * for the reply */
	bool ack_hold_off;		/* never hold either */
	uint32_t mark;			/* SO_MARK on upstream sockets; 0 none */
	bool splice;			/* relay with splice(2) (zero copy) */
};

struct proxy_stats {
	uint64_t accepted, refused, relayed, no_destination, upstream_failed;
	uint64_t bytes_up, bytes_down, inbound_accepted, inbound_refused;
	uint64_t accept_paused;
	uint64_t spliced;		/* directions moved to splice (bulk) */
	uint64_t ack_held;		/* connects whose last ACK was held */
	uint64_t ack_released;		/* ...sent alone: the client was silent */
	uint64_t request_ack_released;	/* ACKs of a client's first bytes sent
					 * alone: the reply was slow */
	uint64_t first_speakers;	/* servers remembered as speaking first */
};

struct proxy;

/*
 * Listens on every address and starts serving on base; guard is borrowed.
 * Returns NULL after logging why.
 */
struct proxy *proxy_new(struct event_base *base, const struct proxy_config *,
    struct guard *guard);
void proxy_free(struct proxy *);

/*
 * Registers, ahead of the connection, that the connection coming from
 * local port client_port (of family client->ss_family) is bound for dst
 * (for the launcher, which rewrites connect() to the proxy). One use,
 * within 30 s; a newer registration for the same client address and port
 * replaces an older one. Returns 0 or -1 when the table is full.
 */
int proxy_register(struct proxy *, const struct sockaddr_storage *client,
    const struct sockaddr_storage *dst);

/* Where outbound listener i (in --proxy-listen order) is bound: with port
 * 0 in the configuration, the port the kernel chose. Returns 0 or -1. */
int proxy_listen_addr(const struct proxy *, size_t i,
    struct sockaddr_storage *out);

void proxy_stats(const struct proxy *, struct proxy_stats *);

/*
 * The guard's policy changed: each --inbound port is judged again as a
 * listen act (audited when denied). A port now denied is no longer fronted
 * (its listener is closed; sessions already made go on); one allowed again
 * is fronted again.
 */
void proxy_policy_changed(struct proxy *);

#endif
