/*
 * proxy — see include/fnguard/proxy.h.
 *
 * A session: accept -> original destination (registry, else
 * SO_ORIGINAL_DST) -> the process behind the client, only when an audit or
 * the recording names it -> verdict on the destination -> (when the rule
 * reads names or miner protocols) peek at the first bytes, left in the
 * socket (MSG_PEEK), within a time and size bound -> verdict with the name
 * -> connect upstream -> relay. A refused connection is reset and never
 * reaches upstream.
 *
 * The relay works like haproxy's splice-auto: each socket has one
 * edge-triggered event for reading and writing, and each side remembers
 * whether it may read or write without waiting. A direction reads into the
 * proxy's scratch buffer and writes at once; what the other side does not
 * take is kept (at most one read's worth) and nothing more is read until it
 * is written (backpressure). A read that fills BULK_READ bytes marks the
 * direction as bulk: from then on it moves bytes with splice(2) through a
 * pipe (made then, for that direction only), never copied to user space. At
 * most a pipe's worth is in flight per direction. EOF from one side is
 * passed on with shutdown(SHUT_WR) once what it sent has been written
 * (half-close); the session ends when both directions have ended. One
 * timer per session: the ACK hold, the peek, connect and idle timeouts.
 *
 * The held ACK (haproxy's tcp-smart-connect, done with TCP_DEFER_ACCEPT on
 * the connecting socket): the last ACK of the upstream handshake waits for
 * the client's first bytes and leaves with them, so the server learns of
 * the connection from one segment that already carries the request: a
 * segment fewer per connection, and the server is woken once, not twice
 * (accept, then read). A client that has not spoken within ack_hold_ms may
 * be waiting for a server that speaks first (SMTP, MySQL): the ACK is sent
 * then, and the destination is remembered as one that speaks first, so its
 * next connections are made without the hold. The same on the client's
 * side (haproxy's tcp-smart-accept): the client's socket is in delayed ACK
 * mode from the start (TCP_QUICKACK 0 on the listener, which the sockets
 * it accepts inherit: a request that came before the accept is held too),
 * so the ACK of the client's first bytes leaves with the reply; a reply
 * slower than ack_hold_ms gets it sent alone, so a client whose second
 * write waits for that ACK (Nagle) waits a few ms, not the kernel's 40.
 * Not when the proxy peeks (see start_peek).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "fnguard/log.h"
#include "fnguard/proxy.h"
#include "fnguard/sniff.h"

#define SCRATCH (64 * 1024)		/* one read in user space */
#define BULK_READ (16 * 1024)		/* a read this big: splice from now on */
#define RELAY_BUDGET (1024 * 1024)	/* bytes per direction per turn */
#define REGISTRY_SLOTS 1024
#define REGISTRY_TTL_MS 30000
#define SPEAKER_SLOTS 256		/* remembered servers that speak first */

#define SPLICE_PIPE (1024 * 1024)	/* pipe buffer per bulk direction */

/* One socket of a session. rd and wr: it may be read or written without
 * waiting (the event is edge-triggered, so these remember the edges until
 * a call would block, or a read returns less than asked for). hup: the
 * peer's FIN has arrived (EPOLLRDHUP), so the socket is read up to EOF. */
struct side {
	struct session *s;
	int fd;
	bool rd, wr, hup, added;
	struct event *ev;		/* in the session's allocation */
};

/* One direction: src -> dst. What was read and not yet written sits in buf
 * (user space) or in the pipe (spliced); nothing is read meanwhile. */
struct dir {
	struct side *src, *dst;
	char *buf;
	size_t off, len;
	int pipe[2];			/* -1: not (yet) spliced */
	size_t in_pipe;
	bool eof, shut;
	uint64_t *count;		/* bytes written to dst */
};

enum phase {
	PHASE_NEW,
	PHASE_PEEK,
	PHASE_WAIT_FD,			/* no descriptor for upstream yet */
	PHASE_RELAY,
};

struct session {
	struct proxy *p;
	struct side c, u;		/* client, upstream */
	struct dir up, down;
	enum phase phase;
	bool connecting;		/* upstream not known to be connected */
	bool ack_held;			/* the handshake's ACK waits for the
					 * client's first bytes, on a timer */
	bool request_ack_held;		/* the ACK of the client's first bytes
					 * waits for the reply, on a timer */
	bool delayed_acks;		/* the client's side is in delayed ACK
					 * mode (TCP_QUICKACK 0), the
					 * listener's */
	bool spoke;			/* the client has sent a byte or EOF */
	bool talked;			/* a byte has crossed, either way */
	bool timer_added;
	struct event *timer;		/* peek, connect, idle, retry */
	struct event *kick;		/* the relay's next turn (budget spent) */
	int64_t last_active_ms;		/* and when waiting: when it began */
	int64_t connect_ms;		/* when the upstream connect began */
	struct sockaddr_storage peer, dst;
	socklen_t peer_len, dst_len;
	bool inbound;
	size_t inbound_index;
	struct procinfo *proc;		/* looked up when needed, else NULL */
	bool found;
	TAILQ_ENTRY(session) entry;
};

/* A destination whose server spoke before the client did. */
struct speaker {
	struct ipaddr ip;
	int port;			/* 0: the slot is empty */
};

struct registration {
	struct sockaddr_storage client, dst;
	int64_t expires_ms;
	bool used;
};

struct listener {
	struct proxy *p;
	struct evconnlistener *l;	/* NULL: not listening (denied port) */
	bool inbound;
	size_t index;			/* into cfg.inbound when inbound */
	struct sockaddr_storage addr;	/* bound address */
	bool specific;			/* not a wildcard: getsockname not needed */
	bool delayed_acks;		/* in delayed ACK mode, and so are the
					 * sockets it accepts */
};

struct proxy {
	struct event_base *base;
	struct proxy_config cfg;
	struct guard *guard;
	struct listener listeners[PROXY_MAX_LISTEN + PROXY_MAX_INBOUND];
	size_t nlisteners;
	bool paused;
	struct event *resume;
	TAILQ_HEAD(sessions, session) sessions;
	unsigned nsessions;
	const struct timeval *t_peek, *t_connect, *t_hold; /* common timeouts */
	struct speaker speakers[SPEAKER_SLOTS];	/* by hash; the last one wins */
	struct registration registry[REGISTRY_SLOTS];
	unsigned registered;		/* slots in use (maybe expired) */
	struct proxy_stats stats;
	char scratch[SCRATCH];
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* For timeouts: cheap (vDSO, coarse) and steady. */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sockaddr_to_ipaddr(const struct sockaddr_storage *sa, struct ipaddr *ip,
    int *port)
{
	memset(ip, 0, sizeof(*ip));
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		ip->family = 4;
		memcpy(ip->bytes, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		ip->family = 6;
		memcpy(ip->bytes, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
		ipaddr_normalize(ip);
	}
}

static bool
same_addr_port(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	struct ipaddr x, y;
	int px = -1, py = -2;

	sockaddr_to_ipaddr(a, &x, &px);
	sockaddr_to_ipaddr(b, &y, &py);
	return px == py && ipaddr_equal(&x, &y);
}

/* ---- servers that speak first ---- */

static struct speaker *
speaker_slot(struct proxy *p, const struct sockaddr_storage *dst,
    struct speaker *key)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t i;

	key->port = 0;
	sockaddr_to_ipaddr(dst, &key->ip, &key->port);
	for (i = 0; i < sizeof(key->ip.bytes); i++)
		h = (h ^ key->ip.bytes[i]) * 16777619u;
	h = (h ^ (uint32_t)key->port) * 16777619u;
	return &p->speakers[h % SPEAKER_SLOTS];
}

static bool
speaker_known(struct proxy *p, const struct sockaddr_storage *dst)
{
	struct speaker key;
	const struct speaker *sp = speaker_slot(p, dst, &key);

	return sp->port == key.port && ipaddr_equal(&sp->ip, &key.ip);
}

static void
speaker_remember(struct proxy *p, const struct sockaddr_storage *dst)
{
	struct speaker key;
	struct speaker *sp = speaker_slot(p, dst, &key);

	if (sp->port != key.port || !ipaddr_equal(&sp->ip, &key.ip)) {
		*sp = key;
		p->stats.first_speakers++;
	}
}

/* ---- the registry (launcher) ---- */

/*
 * One registration per client address and port: a newer one replaces an
 * older. An older one is stale: its connection already came (a tracee
 * that calls connect(2) again on the same socket is registered again), or
 * never will. Were it kept, a later connection from the same port (a new
 * socket that drew it) could take it, and be sent where the old one went.
 * Expiry runs on the monotonic clock: a step of the wall clock neither
 * ends nor prolongs a registration.
 */
int
proxy_register(struct proxy *p, const struct sockaddr_storage *client,
    const struct sockaddr_storage *dst)
{
	int64_t now = mono_ms();
	struct registration *slot = NULL;
	size_t i;

	for (i = 0; i < REGISTRY_SLOTS; i++) {
		struct registration *r = &p->registry[i];

		if (r->used && r->expires_ms > now) {
			if (same_addr_port(&r->client, client)) {
				slot = r;
				break;
			}
			continue;
		}
		if (slot == NULL)
			slot = r;
	}
	if (slot == NULL)
		return -1;
	if (!slot->used)
		p->registered++;
	slot->client = *client;
	slot->dst = *dst;
	slot->expires_ms = now + REGISTRY_TTL_MS;
	slot->used = true;
	return 0;
}

static bool
registry_take(struct proxy *p, const struct sockaddr_storage *peer,
    struct sockaddr_storage *dst)
{
	int64_t now;
	size_t i;

	/* The daemon alone never registers: no walk per connection. */
	if (p->registered == 0)
		return false;
	now = mono_ms();
	for (i = 0; i < REGISTRY_SLOTS; i++) {
		struct registration *r = &p->registry[i];

		if (!r->used)
			continue;
		if (r->expires_ms <= now) {
			r->used = false;
			p->registered--;
			continue;
		}
		if (!same_addr_port(&r->client, peer))
			continue;
		*dst = r->dst;
		r->used = false;
		p->registered--;
		return true;
	}
	return false;
}

/* Where a redirected connection was going (netfilter's conntrack keeps
 * it: SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST). */
static int
original_destination(int fd, int family, struct sockaddr_storage *dst,
    socklen_t *len)
{
	*len = family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (family == AF_INET6)
		return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst, len);
	return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, len);
}

/* ---- sessions ---- */

static void listeners_enable(struct proxy *, bool);

static void
reset_fd(int fd)
{
	struct linger lin = { 1, 0 };

	/* RFC 793 reset rather than an orderly close: the client must not
	 * take a refusal for a server that said nothing. */
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
}

static void
side_close(struct side *sd)
{
	if (sd->added)
		event_del(sd->ev);
	if (sd->fd >= 0)
		close(sd->fd);
	sd->fd = -1;
	sd->added = false;
}

static void
pipe_close(int pipe[2])
{
	if (pipe[0] < 0)
		return;
	close(pipe[0]);
	close(pipe[1]);
	pipe[0] = pipe[1] = -1;
}

/* A pipe for a bulk direction. Made when a direction turns out to carry
 * bulk, never for the short exchanges that most connections are. */
static bool
pipe_get(int pipe[2])
{
	if (pipe2(pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		pipe[0] = pipe[1] = -1;
		return false;
	}
	/* A bigger pipe moves more per system call (fcntl(2)). */
	fcntl(pipe[1], F_SETPIPE_SZ, SPLICE_PIPE);
	return true;
}

static void
session_close(struct session *s, const char *reason, bool reset)
{
	struct proxy *p = s->p;

	log_debug("proxy: session closed: %s", reason);
	if (reset)
		reset_fd(s->c.fd);
	side_close(&s->c);
	side_close(&s->u);
	if (s->timer_added)
		event_del(s->timer);
	event_del(s->kick);
	pipe_close(s->up.pipe);
	pipe_close(s->down.pipe);
	free(s->up.buf);
	free(s->down.buf);
	free(s->proc);
	TAILQ_REMOVE(&p->sessions, s, entry);
	p->nsessions--;
	free(s);
	if (p->paused && p->nsessions < p->cfg.max_sessions)
		listeners_enable(p, true);
}

static void request_ack_release(struct session *);

static void
timer_set(struct session *s, const struct timeval *tv)
{
	evtimer_add(s->timer, tv);
	s->timer_added = true;
}

static void
session_event(struct session *s, struct event *ev, const char *domain,
    bool miner)
{
	event_init(ev, s->inbound ? EVENT_ACCEPT : EVENT_CONNECT);
	sockaddr_to_ipaddr(s->inbound ? &s->peer : &s->dst, &ev->ip, &ev->port);
	if (s->inbound) {
		struct ipaddr target;

		/* accept: the source, and the function's port it reached */
		sockaddr_to_ipaddr(&s->p->cfg.inbound[s->inbound_index].target,
		    &target, &ev->port);
	}
	ev->proto = PROTO_TCP;
	ev->domain = domain != NULL && domain[0] != '\0' ? domain : NULL;
	ev->miner_protocol = miner;
	guard_attribute(ev, s->found ? s->proc : NULL);
}

/*
 * Judges the session (audit + record); true when it may go on. The
 * process is looked up only when an audit or the recording will name it:
 * an allowed connection costs no /proc walk. v, when not NULL, is what
 * guard_peek already said about this very event.
 */
static bool
session_judge(struct session *s, const char *domain, bool miner,
    const struct event *peeked, const struct verdict *pv)
{
	struct guard *g = s->p->guard;
	struct event ev;
	struct verdict v;

	if (peeked != NULL) {
		ev = *peeked;
		v = *pv;
	} else {
		session_event(s, &ev, domain, miner);
		guard_peek(g, &ev, &v);
	}
	if ((v.verdict != VERDICT_ALLOW || g->record != NULL) && !s->found &&
	    g->procs != NULL && (s->proc != NULL ||
	    (s->proc = malloc(sizeof(*s->proc))) != NULL)) {
		/* The client's socket is connected to where it meant to go
		 * (the original destination), or for inbound, to us. */
		s->found = procfinder_lookup(g->procs, IPPROTO_TCP,
		    (const struct sockaddr *)&s->peer, s->inbound ? NULL :
		    (const struct sockaddr *)&s->dst,
		    v.verdict != VERDICT_ALLOW, s->proc) == 0;
		session_event(s, &ev, domain, miner);
	}
	guard_judge(g, &ev, now_ms(), &v);
	return v.verdict != VERDICT_PREVENT;
}

static void
refuse(struct session *s, const char *why)
{
	s->p->stats.refused++;
	session_close(s, why, true);
}

/* ---- the relay ---- */

static bool
would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* An upstream that failed before it was known to be connected failed to
 * connect. */
static void
upstream_failed(struct session *s)
{
	s->p->stats.upstream_failed++;
	session_close(s, "upstream connect failed", true);
}

#define PEER_GONE "peer closed while data was in flight"

/* A read or write on side sd failed (EPIPE, ECONNRESET, ...): an
 * upstream still connecting never connected; else the peer is gone. */
static void
side_failed(struct session *s, const struct side *sd, const char *reason)
{
	if (sd == &s->u && s->connecting)
		upstream_failed(s);
	else
		session_close(s, reason, true);
}

/* Once src's FIN is in (hup), everything it will send is already in its
 * socket, and reading goes on to EOF without waiting: so what is written
 * meanwhile is marked MSG_MORE, and the last of it leaves with the FIN
 * that shutdown(SHUT_WR) (or close) sends, in one segment, not two; the
 * client's side is woken once. */
static int
send_flags(const struct dir *d)
{
	return MSG_NOSIGNAL | (d->src->hup ? MSG_MORE : 0);
}

/* Writes what d holds. Returns -1 when the session was closed, 0 when dst
 * would block, 1 when all was written. */
static int
dir_flush(struct session *s, struct dir *d)
{
	ssize_t n;

	while (d->len > 0 || d->in_pipe > 0) {
		if (!d->dst->wr)
			return 0;
		if (d->len > 0)
			n = send(d->dst->fd, d->buf + d->off, d->len,
			    send_flags(d));
		else
			n = splice(d->pipe[0], NULL, d->dst->fd, NULL,
			    d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			*d->count += (uint64_t)n;
			if (d->len > 0) {
				d->off += (size_t)n;
				d->len -= (size_t)n;
			} else
				d->in_pipe -= (size_t)n;
			if (d->dst == &s->u)
				s->connecting = false;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && would_block()) {
			d->dst->wr = false;
			return 0;
		}
		side_failed(s, d->dst, PEER_GONE);
		return -1;
	}
	d->off = 0;
	return 1;
}

/* Keeps what dst did not take of the scratch buffer. */
static bool
dir_keep(struct dir *d, const char *from, size_t n)
{
	if (d->buf == NULL && (d->buf = malloc(SCRATCH)) == NULL)
		return false;
	memcpy(d->buf, from, n);
	d->off = 0;
	d->len = n;
	return true;
}

/*
 * Moves bytes src -> dst until one of them would block, src ends (then
 * dst's write half is shut once all is written) or the turn's budget is
 * spent (then the direction is scheduled again). Returns false when the
 * session was closed.
 */
static bool
dir_pump(struct session *s, struct dir *d)
{
	struct proxy *p = s->p;
	size_t moved = 0;
	ssize_t n, sent;

	for (;;) {
		switch (dir_flush(s, d)) {
		case -1:
			return false;
		case 0:
			return true;
		default:
			break;
		}
		if (d->eof) {
			/* Half-close. When the other direction is over too,
			 * the session's close(2) sends the FIN (dst was read
			 * to its EOF, so it is a FIN, not a reset). */
			if (!d->shut && !(d == &s->up ? s->down.shut :
			    s->up.shut))
				shutdown(d->dst->fd, SHUT_WR);
			d->shut = true;
			return true;
		}
		if (!d->src->rd)
			return true;
		if (moved >= RELAY_BUDGET) {
			/* Others' turn: this side is read again after the
			 * next poll (event_active would run it again at once,
			 * before anything else). */
			static const struct timeval now = { 0, 0 };

			evtimer_add(s->kick, &now);
			return true;
		}
		if (d->pipe[0] >= 0)
			n = splice(d->src->fd, NULL, d->pipe[1], NULL,
			    SPLICE_PIPE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = recv(d->src->fd, p->scratch, SCRATCH, 0);
		if (n == 0) {
			d->eof = true;
			if (d == &s->up) {
				/* The FIN carries the held ACK. */
				s->spoke = true;
				s->ack_held = false;
			}
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (would_block()) {
				d->src->rd = false;
				return true;
			}
			side_failed(s, d->src, "connection error");
			return false;
		}
		if (d == &s->down)
			s->request_ack_held = false;	/* the reply has it */
		if (!s->talked) {
			/* The session's first bytes: the client's carry the
			 * held ACK and have theirs held for the reply; a
			 * server that spoke first is remembered. */
			s->talked = true;
			if (d == &s->up) {
				s->spoke = true;
				s->ack_held = false;
				if (s->delayed_acks) {
					s->request_ack_held = true;
					timer_set(s, p->t_hold);
				}
			} else if (!s->spoke) {
				speaker_remember(p, &s->dst);
				if (s->delayed_acks)
					request_ack_release(s);
			}
		}
		if (d->src == &s->u)
			s->connecting = false;
		s->last_active_ms = mono_ms();
		moved += (size_t)n;
		/* recv(2) gave less than asked for: the socket is drained,
		 * and an edge comes with more (unless the FIN is in: read to
		 * EOF). Not so for splice(2), which also stops when the
		 * pipe runs out of slots (one per page fragment). */
		if (d->pipe[0] < 0 && (size_t)n < SCRATCH && !d->src->hup)
			d->src->rd = false;
		if (d->pipe[0] >= 0) {
			d->in_pipe = (size_t)n;
			continue;
		}
		/* Written at once; what dst does not take is kept. */
		sent = 0;
		if (d->dst->wr) {
			sent = send(d->dst->fd, p->scratch, (size_t)n,
			    send_flags(d));
			if (sent == -1 && (would_block() || errno == EINTR)) {
				if (errno != EINTR)
					d->dst->wr = false;
				sent = 0;
			} else if (sent == -1) {
				side_failed(s, d->dst, PEER_GONE);
				return false;
			} else {
				*d->count += (uint64_t)sent;
				if (d->dst == &s->u)
					s->connecting = false;
			}
		}
		if (sent < n && !dir_keep(d, p->scratch + sent,
		    (size_t)(n - sent))) {
			session_close(s, "out of memory", true);
			return false;
		}
		/* Bulk: splice from now on (when a pipe can be had; else
		 * this direction stays in user space). */
		if (n >= BULK_READ && p->cfg.splice && pipe_get(d->pipe))
			p->stats.spliced++;
	}
}

static void
relay(struct session *s)
{
	if (!dir_pump(s, &s->up) || !dir_pump(s, &s->down))
		return;
	if (s->up.shut && s->down.shut)
		session_close(s, "both sides closed", false);
}

static void peek_try(struct session *, bool);
static void connect_upstream(struct session *);
static void pause_accept(struct proxy *);

static void
side_cb(evutil_socket_t fd, short what, void *arg)
{
	struct side *sd = arg;
	struct session *s = sd->s;

	(void)fd;
	if (what & EV_READ)
		sd->rd = true;
	if (what & EV_WRITE)
		sd->wr = true;
	if (what & EV_CLOSED)
		sd->rd = sd->hup = true;
	if (s->phase == PHASE_PEEK) {
		if (sd == &s->c && (what & EV_READ))
			peek_try(s, false);
		return;
	}
	if (s->phase != PHASE_RELAY)
		return;		/* remembered for when it starts */
	/* A failed connect shows as an error on the next read or write of
	 * the upstream socket (EPOLLERR makes it both readable and
	 * writable): no getsockopt(SO_ERROR) per connection. */
	relay(s);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->phase == PHASE_RELAY)
		relay(s);
}

static bool
side_add(struct session *s, struct side *sd)
{
	event_assign(sd->ev, s->p->base, sd->fd,
	    EV_READ | EV_WRITE | EV_CLOSED | EV_ET | EV_PERSIST, side_cb, sd);
	if (event_add(sd->ev, NULL) == -1)
		return false;
	sd->added = true;
	return true;
}

/* For the connect timeout: is the upstream connection made, though no
 * byte has crossed it yet? */
static bool
upstream_connected(struct session *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return getsockopt(s->u.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    ti.tcpi_state != TCP_SYN_SENT && ti.tcpi_state != TCP_CLOSE;
}

/*
 * The client has not spoken within the hold: the server may be one that
 * speaks first, and it learns of the connection only from the ACK. Sent
 * now (TCP_QUICKACK sends an ACK that is due), and a SYN-ACK still to come
 * is acknowledged at once.
 */
static void
ack_release(struct session *s)
{
	int zero = 0, one = 1;

	s->ack_held = false;
	s->p->stats.ack_released++;
	setsockopt(s->u.fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &zero, sizeof(zero));
	setsockopt(s->u.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/*
 * The client's side back to quick ACKs: the reply to its first bytes is
 * slow to come (their ACK is sent now: the relay has read them, and the
 * kernel sends a due ACK only when nothing is left to read), the server
 * spoke first (the client's bytes answer it; nothing of ours follows them
 * at once), or the proxy peeks.
 */
static void
request_ack_release(struct session *s)
{
	int one = 1;

	s->request_ack_held = false;
	s->delayed_acks = false;
	setsockopt(s->c.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int64_t idle, left;
	struct timeval tv;

	(void)fd;
	(void)what;
	s->timer_added = false;
	if (s->phase == PHASE_PEEK) {
		peek_try(s, true);
		return;
	}
	if (s->phase == PHASE_WAIT_FD) {
		if (mono_ms() - s->last_active_ms >=
		    (int64_t)s->p->cfg.connect_timeout_ms) {
			upstream_failed(s);
			return;
		}
		connect_upstream(s);
		return;
	}
	if (s->ack_held)
		ack_release(s);
	if (s->request_ack_held) {
		s->p->stats.request_ack_released++;
		request_ack_release(s);
	}
	if (s->connecting && upstream_connected(s))
		s->connecting = false;
	if (s->connecting) {
		left = (int64_t)s->p->cfg.connect_timeout_ms -
		    (mono_ms() - s->connect_ms);
		if (left <= 0) {
			s->p->stats.upstream_failed++;
			session_close(s, "upstream connect timed out", true);
			return;
		}
	} else {
		/* Idle means no bytes either way; checked lazily, here. */
		idle = mono_ms() - s->last_active_ms;
		left = (int64_t)s->p->cfg.idle_timeout_ms - idle;
		if (left <= 0) {
			session_close(s, "idle timeout", false);
			return;
		}
	}
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	timer_set(s, &tv);
}

/*
 * Starts the relay. Both sides are tried at once, without waiting for an
 * event: the client has usually sent its request, and the upstream
 * connection (on loopback, already made) takes it.
 */
static void
start_relay(struct session *s)
{
	s->p->stats.relayed++;
	s->phase = PHASE_RELAY;
	s->last_active_ms = mono_ms();
	s->c.rd = s->c.wr = true;
	s->u.wr = true;
	relay(s);
}

static void
connect_upstream(struct session *s)
{
	struct proxy *p = s->p;
	int fd, one = 1;
	bool hold;

	fd = socket(s->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE ||
	    errno == ENOBUFS || errno == ENOMEM)) {
		/* Out of descriptors: stop accepting, and try again soon
		 * (within the connect timeout) rather than reset a client
		 * that did nothing wrong. */
		const struct timeval retry = { 0, 100000 };

		if (s->phase != PHASE_WAIT_FD) {
			s->phase = PHASE_WAIT_FD;
			s->last_active_ms = mono_ms();
		}
		pause_accept(p);
		timer_set(s, &retry);
		return;
	}
	if (fd == -1) {
		session_close(s, "no socket for upstream", true);
		return;
	}
	s->phase = PHASE_NEW;
	s->u.fd = fd;
	/* No Nagle on either side (the accepted one has it from its
	 * listener): bytes leave as they came, when they came; a relay that
	 * held a small write back until the last one is acknowledged would
	 * add delays that the two ends did not ask for. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The mark lets the redirect rules pass our own traffic. */
	if (p->cfg.mark != 0)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &p->cfg.mark,
		    sizeof(p->cfg.mark));
	/* The handshake's last ACK leaves with the client's first bytes
	 * (see the top of this file): on a connecting socket,
	 * TCP_DEFER_ACCEPT makes the kernel hold it (tcp_input.c, "Save one
	 * ACK"), for 200 ms at most; ack_release() ends it sooner. */
	hold = !p->cfg.ack_hold_off && !speaker_known(p, &s->dst);
	if (hold) {
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one,
		    sizeof(one));
		p->stats.ack_held++;
	}
	s->connecting = true;
	if (connect(fd, (struct sockaddr *)&s->dst, s->dst_len) == -1 &&
	    errno != EINPROGRESS) {
		upstream_failed(s);
		return;
	}
	if ((!s->c.added && !side_add(s, &s->c)) || !side_add(s, &s->u)) {
		session_close(s, "out of memory", true);
		return;
	}
	/* The hold, when the client has not spoken yet; the connect timeout
	 * (or the idle one, when shorter); then the same timer checks
	 * idleness. */
	s->connect_ms = mono_ms();
	if (hold && !s->spoke) {
		s->ack_held = true;
		timer_set(s, p->t_hold);
	} else if (p->cfg.idle_timeout_ms < p->cfg.connect_timeout_ms) {
		struct timeval tv = { p->cfg.idle_timeout_ms / 1000,
		    (p->cfg.idle_timeout_ms % 1000) * 1000 };

		timer_set(s, &tv);
	} else
		timer_set(s, p->t_connect);
	start_relay(s);
}

/* ---- the peek ---- */

/* The peek is over: judge with what was seen, then go on or refuse. */
static void
peek_decide(struct session *s, const struct sniff_result *r)
{
	const char *domain = NULL;
	bool miner = false;

	if (r != NULL) {
		if (r->why != NULL) {
			/* A malformed hello could hide any name: fail closed. */
			refuse(s, r->why);
			return;
		}
		domain = r->name;
		miner = r->miner;
	}
	if (!session_judge(s, domain, miner, NULL, NULL)) {
		refuse(s, "refused by policy (name or protocol)");
		return;
	}
	s->phase = PHASE_NEW;
	connect_upstream(s);
}

/*
 * Looks at what the client has sent so far, leaving it in the socket
 * (MSG_PEEK) for the relay. timed_out: the peek's time is up, decide with
 * what there is.
 */
static void
peek_try(struct session *s, bool timed_out)
{
	struct sniff_result r;
	enum sniff_status st;
	ssize_t n;

	n = recv(s->c.fd, s->p->scratch, SNIFF_MAX_INPUT, MSG_PEEK);
	if (n == -1) {
		if (!would_block() && errno != EINTR) {
			session_close(s, "client error while peeking", false);
			return;
		}
		s->c.rd = false;
		if (!timed_out)
			return;
		/* Silent for the whole peek: the server speaks first. */
		speaker_remember(s->p, &s->dst);
		n = 0;
	} else if (n == 0) {
		/* EOF before a byte: nothing more will come. */
		timed_out = true;
	}
	/* Nothing sent: a protocol where the server speaks first. */
	if (n == 0) {
		peek_decide(s, NULL);
		return;
	}
	s->spoke = true;
	st = sniff_any((const uint8_t *)s->p->scratch, (size_t)n, &r);
	if (st == SNIFF_NEED_MORE && n < SNIFF_MAX_INPUT) {
		/* Half a hello, then silence: the rest could name anything,
		 * so it is refused rather than judged without its name. */
		if (timed_out)
			refuse(s, "incomplete hello when the peek timed out");
		return;
	}
	peek_decide(s, st == SNIFF_DONE ? &r : NULL);
}

static void
start_peek(struct session *s)
{
	/* The peek must see a hello's parts as they come: each is
	 * acknowledged at once (an ACK is not forced out while bytes wait
	 * unread, as the peek leaves them, and a client's next segment may
	 * wait for it). A peek that saw nothing in its time is a server
	 * that speaks first: nothing to hold after it either. */
	if (s->delayed_acks)
		request_ack_release(s);
	s->phase = PHASE_PEEK;
	if (!side_add(s, &s->c)) {
		session_close(s, "out of memory", true);
		return;
	}
	timer_set(s, s->p->t_peek);
	/* The hello may be there already. */
	peek_try(s, false);
}

/* ---- accept ---- */

static struct session *
session_new(struct proxy *p, const struct listener *li, evutil_socket_t fd,
    struct sockaddr *sa, int salen)
{
	/* The session and its four libevent events, in one allocation
	 * (fnguard's struct event hides libevent's from this file). */
	size_t evsize = (event_get_struct_event_size() + 15) & ~(size_t)15;
	size_t head = (sizeof(struct session) + 15) & ~(size_t)15;
	struct session *s = malloc(head + 4 * evsize);
	char *evs;

	if (s == NULL) {
		reset_fd(fd);
		close(fd);
		return NULL;
	}
	/* Only what is not set below: no memset of the whole session. */
	memset(s, 0, offsetof(struct session, peer));
	s->p = p;
	s->inbound = li->inbound;
	s->inbound_index = li->index;
	s->delayed_acks = li->delayed_acks;
	s->proc = NULL;
	s->found = false;
	memcpy(&s->peer, sa, (size_t)salen < sizeof(s->peer) ? (size_t)salen :
	    sizeof(s->peer));
	s->peer_len = (socklen_t)salen;
	s->c.s = s->u.s = s;
	s->c.fd = fd;
	s->u.fd = -1;
	s->up.src = s->down.dst = &s->c;
	s->up.dst = s->down.src = &s->u;
	s->up.pipe[0] = s->up.pipe[1] = -1;
	s->down.pipe[0] = s->down.pipe[1] = -1;
	s->up.count = &p->stats.bytes_up;
	s->down.count = &p->stats.bytes_down;
	evs = (char *)s + head;
	s->c.ev = (struct event *)(void *)evs;
	s->u.ev = (struct event *)(void *)(evs + evsize);
	s->timer = (struct event *)(void *)(evs + 2 * evsize);
	s->kick = (struct event *)(void *)(evs + 3 * evsize);
	evtimer_assign(s->timer, p->base, timer_cb, s);
	evtimer_assign(s->kick, p->base, kick_cb, s);
	TAILQ_INSERT_TAIL(&p->sessions, s, entry);
	if (++p->nsessions >= p->cfg.max_sessions)
		listeners_enable(p, false);
	return s;
}

static void
outbound_accept(struct proxy *p, struct listener *li, evutil_socket_t fd,
    struct sockaddr *sa, int salen)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	struct session *s;
	struct event ev;
	struct verdict v;

	if ((s = session_new(p, li, fd, sa, salen)) == NULL)
		return;
	/* The destination is known before a byte is relayed, or the
	 * connection is refused: never relayed blindly. A connection made
	 * to the proxy itself (not redirected) has itself as "original". */
	if (registry_take(p, &s->peer, &s->dst))
		goto known;
	if (original_destination(fd, s->peer.ss_family, &s->dst,
	    &s->dst_len) == -1)
		goto none;
	if (li->specific)
		local = li->addr;
	else if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		memset(&local, 0, sizeof(local));
	if (same_addr_port(&s->dst, &local))
		goto none;
known:
	s->dst_len = s->dst.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	session_event(s, &ev, NULL, false);
	guard_peek(p->guard, &ev, &v);
	if (v.verdict == VERDICT_PREVENT || !rules_needs_payload(p->guard->rule)) {
		if (!session_judge(s, NULL, false, &ev, &v)) {
			refuse(s, "refused by policy");
			return;
		}
		connect_upstream(s);
		return;
	}
	start_peek(s);
	return;
none:
	p->stats.no_destination++;
	refuse(s, "no original destination");
}

static void
inbound_accept(struct proxy *p, struct listener *li, evutil_socket_t fd,
    struct sockaddr *sa, int salen)
{
	struct session *s;

	if ((s = session_new(p, li, fd, sa, salen)) == NULL)
		return;
	p->stats.inbound_accepted++;
	s->dst = p->cfg.inbound[li->index].target;
	s->dst_len = p->cfg.inbound[li->index].target_len;
	if (!session_judge(s, NULL, false, NULL, NULL)) {
		p->stats.inbound_refused++;
		refuse(s, "inbound source refused by policy");
		return;
	}
	connect_upstream(s);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener *li = arg;
	struct proxy *p = li->p;

	(void)l;
	p->stats.accepted++;
	if (li->inbound)
		inbound_accept(p, li, fd, sa, salen);
	else
		outbound_accept(p, li, fd, sa, salen);
}

/* ---- listeners ---- */

static void
listeners_enable(struct proxy *p, bool on)
{
	size_t i;

	for (i = 0; i < p->nlisteners; i++) {
		if (p->listeners[i].l == NULL)
			continue;
		if (on)
			evconnlistener_enable(p->listeners[i].l);
		else
			evconnlistener_disable(p->listeners[i].l);
	}
	p->paused = !on;
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;

	(void)fd;
	(void)what;
	if (p->nsessions < p->cfg.max_sessions)
		listeners_enable(p, true);
}

/* Out of descriptors: no accept for 100 ms (then, if still out, again). */
static void
pause_accept(struct proxy *p)
{
	const struct timeval pause = { 0, 100000 };

	p->stats.accept_paused++;
	listeners_enable(p, false);
	evtimer_add(p->resume, &pause);
}

/* accept(2) failing for want of descriptors: pause rather than spin (the
 * connection stays in the listen queue, and the listener readable). */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct listener *li = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)l;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
		pause_accept(li->p);
}

static bool
is_wildcard(const struct sockaddr_storage *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr == htonl(INADDR_ANY);
	return memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->
	    sin6_addr, &any6, sizeof(any6)) == 0;
}

static int
listener_open(struct listener *li, const struct sockaddr_storage *sa,
    socklen_t len)
{
	struct proxy *p = li->p;
	int one = 1, zero = 0;

	li->l = evconnlistener_new_bind(p->base, accept_cb, li,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    (p->paused ? LEV_OPT_DISABLED : 0), 1024,
	    (const struct sockaddr *)sa, (int)len);
	if (li->l == NULL)
		return -1;
	/* The sockets it accepts inherit it (see connect_upstream). */
	setsockopt(evconnlistener_get_fd(li->l), IPPROTO_TCP, TCP_NODELAY,
	    &one, sizeof(one));
	/* And delayed ACK mode (the kernel copies it to the accepted
	 * socket): the ACK of a request sent before the accept waits for
	 * the reply too (see the top of this file). */
	li->delayed_acks = !p->cfg.ack_hold_off &&
	    setsockopt(evconnlistener_get_fd(li->l), IPPROTO_TCP, TCP_QUICKACK,
	    &zero, sizeof(zero)) == 0;
	li->addr = *sa;
	li->specific = !is_wildcard(sa) && (sa->ss_family == AF_INET ?
	    ((const struct sockaddr_in *)(const void *)sa)->sin_port :
	    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port) != 0;
	evconnlistener_set_error_cb(li->l, accept_error_cb);
	return 0;
}

static struct listener *
add_listener(struct proxy *p, bool inbound, size_t index)
{
	struct listener *li = &p->listeners[p->nlisteners++];

	li->p = p;
	li->inbound = inbound;
	li->index = index;
	li->l = NULL;
	li->delayed_acks = false;
	return li;
}

/* The function's own listening port, which fnguard is asked to front,
 * is a listen act of its own (SPEC: whitelistListeningPorts). Judged (and
 * audited when denied) at start and at every policy change. */
static bool
inbound_port_allowed(struct proxy *p, const struct proxy_inbound *in)
{
	struct event ev;
	struct verdict v;
	struct ipaddr ip;

	event_init(&ev, EVENT_LISTEN);
	sockaddr_to_ipaddr(&in->target, &ip, &ev.port);
	ev.proto = PROTO_TCP;
	ev.process_path = "unknown";
	guard_judge(p->guard, &ev, now_ms(), &v);
	return v.verdict != VERDICT_PREVENT;
}

/* Fronts inbound port li->index when the policy lets it listen, stops
 * fronting it (no more accepts; sessions already made go on) when not. */
static int
inbound_check(struct proxy *p, struct listener *li)
{
	const struct proxy_inbound *in = &p->cfg.inbound[li->index];

	if (!inbound_port_allowed(p, in)) {
		if (li->l != NULL) {
			evconnlistener_free(li->l);
			li->l = NULL;
			log_warnx("proxy: inbound %zu: the function's port is "
			    "now denied by the policy; no longer fronting it",
			    li->index + 1);
		} else
			log_warnx("proxy: inbound %zu: the function's port is "
			    "denied by the policy; not fronting it",
			    li->index + 1);
		return 0;
	}
	if (li->l != NULL)
		return 0;
	if (listener_open(li, &in->listen, in->listen_len) == -1) {
		log_warn("proxy: inbound %zu: listen", li->index + 1);
		return -1;
	}
	log_info("proxy: inbound %zu: fronting the function's port",
	    li->index + 1);
	return 0;
}

void
proxy_policy_changed(struct proxy *p)
{
	size_t i;

	for (i = 0; i < p->nlisteners; i++)
		if (p->listeners[i].inbound)
			inbound_check(p, &p->listeners[i]);
}

struct proxy *
proxy_new(struct event_base *base, const struct proxy_config *cfg,
    struct guard *guard)
{
	struct proxy *p = calloc(1, sizeof(*p));
	struct timeval tv;
	size_t i;

	if (p == NULL)
		return NULL;
	p->base = base;
	p->cfg = *cfg;
	p->guard = guard;
	TAILQ_INIT(&p->sessions);
	if (p->cfg.max_sessions == 0)
		p->cfg.max_sessions = 4096;
	if (p->cfg.connect_timeout_ms == 0)
		p->cfg.connect_timeout_ms = 10000;
	if (p->cfg.idle_timeout_ms == 0)
		p->cfg.idle_timeout_ms = 300000;
	if (p->cfg.peek_timeout_ms == 0)
		p->cfg.peek_timeout_ms = 1000;
	if (p->cfg.ack_hold_ms == 0)
		p->cfg.ack_hold_ms = 2;
	/* Every session's timer starts with one of two durations: libevent
	 * keeps each as a queue (O(1)) rather than in its heap. */
	tv.tv_sec = p->cfg.peek_timeout_ms / 1000;
	tv.tv_usec = (p->cfg.peek_timeout_ms % 1000) * 1000;
	p->t_peek = event_base_init_common_timeout(base, &tv);
	tv.tv_sec = p->cfg.connect_timeout_ms / 1000;
	tv.tv_usec = (p->cfg.connect_timeout_ms % 1000) * 1000;
	p->t_connect = event_base_init_common_timeout(base, &tv);
	tv.tv_sec = p->cfg.ack_hold_ms / 1000;
	tv.tv_usec = (p->cfg.ack_hold_ms % 1000) * 1000;
	p->t_hold = event_base_init_common_timeout(base, &tv);
	if (p->t_peek == NULL || p->t_connect == NULL || p->t_hold == NULL)
		goto fail;
	if ((p->resume = evtimer_new(base, resume_cb, p)) == NULL)
		goto fail;
	for (i = 0; i < cfg->nlisten; i++)
		if (listener_open(add_listener(p, false, 0), &cfg->listen[i],
		    cfg->listen_len[i]) == -1) {
			log_warn("proxy: listen");
			goto fail;
		}
	for (i = 0; i < cfg->ninbound; i++)
		if (inbound_check(p, add_listener(p, true, i)) == -1)
			goto fail;
	return p;
fail:
	proxy_free(p);
	return NULL;
}

void
proxy_free(struct proxy *p)
{
	size_t i;

	if (p == NULL)
		return;
	while (!TAILQ_EMPTY(&p->sessions))
		session_close(TAILQ_FIRST(&p->sessions), "shutdown", false);
	for (i = 0; i < p->nlisteners; i++)
		if (p->listeners[i].l != NULL)
			evconnlistener_free(p->listeners[i].l);
	if (p->resume != NULL)
		event_free(p->resume);
	free(p);
}

void
proxy_stats(const struct proxy *p, struct proxy_stats *out)
{
	*out = p->stats;
}

int
proxy_listen_addr(const struct proxy *p, size_t i, struct sockaddr_storage *out)
{
	socklen_t len = sizeof(*out);

	if (i >= p->nlisteners || p->listeners[i].inbound) {
		errno = ENOENT;
		return -1;
	}
	return getsockname(evconnlistener_get_fd(p->listeners[i].l),
	    (struct sockaddr *)out, &len);
}
