/*
 * proxy — see include/fnguard/proxy.h.
 *
 * A session: accept -> original destination (registry, else
 * SO_ORIGINAL_DST) -> the process behind the client -> verdict on the
 * destination -> (when the rule reads names or miner protocols) peek at the
 * first bytes within a time and size bound -> verdict with the name ->
 * connect upstream -> relay. The relay is libevent's le-proxy pattern: two
 * bufferevents, a high watermark on each side's output that stops reading
 * the other side, and half-close passed on with shutdown(SHUT_WR) once
 * what is buffered has been written. A refused connection is reset and
 * never reaches upstream.
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
#include <time.h>
#include <unistd.h>

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "fnguard/log.h"
#include "fnguard/proxy.h"
#include "fnguard/sniff.h"

#define RELAY_HIGH (256 * 1024)		/* output that stops the reader */
#define REGISTRY_SLOTS 1024
#define REGISTRY_TTL_MS 30000

#define SPLICE_PIPE (1024 * 1024)	/* pipe buffer per direction */
#define SPLICE_CHUNK (1024 * 1024)

/* One direction of a spliced session: src -> pipe -> dst, in the kernel
 * (splice(2)): the bytes are never copied to user space. */
struct splice_dir {
	struct session *s;
	int src, dst;
	int pipe[2];
	size_t in_pipe;			/* bytes sitting in the pipe */
	bool eof, shut;
	struct event *rd, *wr;
};

struct session {
	struct proxy *p;
	struct bufferevent *client, *upstream;
	struct sockaddr_storage peer, dst;
	socklen_t peer_len, dst_len;
	bool inbound;
	size_t inbound_index;
	bool client_eof, upstream_eof;
	struct event *peek_timer;
	struct procinfo *proc;		/* looked up when needed, else NULL */
	bool found;
	struct splice_dir up, down;	/* S_SPLICE */
	int64_t last_active_ms;
	TAILQ_ENTRY(session) entry;
};

struct registration {
	struct sockaddr_storage client, dst;
	int64_t expires_ms;
	bool used;
};

struct listener {
	struct proxy *p;
	struct evconnlistener *l;
	bool inbound;
	size_t index;			/* into cfg.inbound when inbound */
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
	struct timeval idle;
	struct registration registry[REGISTRY_SLOTS];
	unsigned registered;		/* slots in use (maybe expired) */
	struct proxy_stats stats;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
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

/* ---- the registry (launcher) ---- */

int
proxy_register(struct proxy *p, const struct sockaddr_storage *client,
    const struct sockaddr_storage *dst)
{
	int64_t now = now_ms();
	size_t i;

	for (i = 0; i < REGISTRY_SLOTS; i++) {
		struct registration *r = &p->registry[i];

		if (r->used && r->expires_ms > now)
			continue;
		if (!r->used)
			p->registered++;
		r->client = *client;
		r->dst = *dst;
		r->expires_ms = now + REGISTRY_TTL_MS;
		r->used = true;
		return 0;
	}
	return -1;
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
	now = now_ms();
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
splice_dir_clear(struct splice_dir *d)
{
	if (d->rd != NULL)
		event_free(d->rd);
	if (d->wr != NULL)
		event_free(d->wr);
	if (d->s != NULL) {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	memset(d, 0, sizeof(*d));
}

static void
session_close(struct session *s, const char *reason, bool reset)
{
	struct proxy *p = s->p;

	log_debug("proxy: session closed: %s", reason);
	if (reset && s->client != NULL)
		reset_fd(bufferevent_getfd(s->client));
	if (s->client != NULL)
		bufferevent_free(s->client);
	if (s->upstream != NULL)
		bufferevent_free(s->upstream);
	if (s->peek_timer != NULL)
		event_free(s->peek_timer);
	splice_dir_clear(&s->up);
	splice_dir_clear(&s->down);
	free(s->proc);
	TAILQ_REMOVE(&p->sessions, s, entry);
	p->nsessions--;
	free(s);
	if (p->paused && p->nsessions < p->cfg.max_sessions)
		listeners_enable(p, true);
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
 * an allowed connection costs no /proc walk.
 */
static bool
session_judge(struct session *s, const char *domain, bool miner)
{
	struct guard *g = s->p->guard;
	struct event ev;
	struct verdict v;

	session_event(s, &ev, domain, miner);
	guard_peek(g, &ev, &v);
	if ((v.verdict != VERDICT_ALLOW || g->record != NULL) && !s->found &&
	    g->procs != NULL && (s->proc != NULL ||
	    (s->proc = malloc(sizeof(*s->proc))) != NULL)) {
		/* The client's socket is connected to where it meant to go
		 * (the original destination), or for inbound, to us. */
		s->found = procfinder_lookup(g->procs, IPPROTO_TCP,
		    (const struct sockaddr *)&s->peer, s->inbound ? NULL :
		    (const struct sockaddr *)&s->dst, s->proc) == 0;
		session_event(s, &ev, domain, miner);
	}
	guard_judge(g, &ev, now_ms(), &v);
	return v.verdict != VERDICT_PREVENT;
}

static void relay_read_cb(struct bufferevent *, void *);
static void relay_write_cb(struct bufferevent *, void *);
static void relay_event_cb(struct bufferevent *, short, void *);

static struct bufferevent *
partner_of(struct session *s, struct bufferevent *bev)
{
	return bev == s->client ? s->upstream : s->client;
}

/* Passes one side's EOF on once what it sent has been written. */
static void
maybe_shutdown(struct bufferevent *to, bool from_eof)
{
	if (from_eof && to != NULL &&
	    evbuffer_get_length(bufferevent_get_output(to)) == 0)
		shutdown(bufferevent_getfd(to), SHUT_WR);
}

static void
maybe_finish(struct session *s)
{
	if (s->client_eof && s->upstream_eof &&
	    evbuffer_get_length(bufferevent_get_output(s->client)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->upstream)) == 0)
		session_close(s, "both sides closed", false);
}

static void
relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct bufferevent *to = partner_of(s, bev);
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	if (bev == s->client)
		s->p->stats.bytes_up += n;
	else
		s->p->stats.bytes_down += n;
	evbuffer_add_buffer(bufferevent_get_output(to), in);
	/* Idle means no bytes either way: traffic in one direction keeps
	 * the other side's read timeout from firing. */
	bufferevent_set_timeouts(to, &s->p->idle, NULL);
	/* Backpressure: the partner's output is full, stop reading here
	 * until it drains (le-proxy.c). */
	if (evbuffer_get_length(bufferevent_get_output(to)) >= RELAY_HIGH) {
		bufferevent_setwatermark(to, EV_WRITE, RELAY_HIGH / 2,
		    RELAY_HIGH);
		bufferevent_disable(bev, EV_READ);
	}
}

static void
relay_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct bufferevent *from = partner_of(s, bev);
	bool from_eof = from == s->client ? s->client_eof : s->upstream_eof;

	if (!from_eof && from != NULL &&
	    !(bufferevent_get_enabled(from) & EV_READ)) {
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(from, EV_READ);
	}
	maybe_shutdown(bev, from_eof);
	maybe_finish(s);
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	struct bufferevent *to = partner_of(s, bev);

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		session_close(s, what & BEV_EVENT_TIMEOUT ? "idle timeout" :
		    "connection error", (what & BEV_EVENT_ERROR) != 0);
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	/* Half-close: what this side sent is passed on, then the other
	 * side's write half is shut; the reverse direction keeps flowing. */
	relay_read_cb(bev, s);
	if (bev == s->client)
		s->client_eof = true;
	else
		s->upstream_eof = true;
	bufferevent_disable(bev, EV_READ);
	maybe_shutdown(to, true);
	maybe_finish(s);
}

/* ---- zero-copy relay ---- */

static void
splice_maybe_finish(struct session *s)
{
	if (s->up.shut && s->down.shut)
		session_close(s, "both sides closed", false);
}

enum drain { DRAINED, DST_FULL, DST_GONE };

/* Moves what the pipe holds to dst. */
static enum drain
splice_drain(struct splice_dir *d)
{
	ssize_t n;

	while (d->in_pipe > 0) {
		n = splice(d->pipe[0], NULL, d->dst, NULL, d->in_pipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->in_pipe -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return DST_FULL;
		/* EPIPE, ECONNRESET: the other side is gone; waiting for it
		 * to become writable would spin on EPOLLHUP. */
		return DST_GONE;
	}
	return DRAINED;
}

static void splice_io(struct splice_dir *);

static void
splice_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct splice_dir *d = arg;
	struct session *s = d->s;

	(void)fd;
	if (what & EV_TIMEOUT) {
		if (now_ms() - s->last_active_ms >=
		    (int64_t)s->p->cfg.idle_timeout_ms)
			session_close(s, "idle timeout", false);
		return;
	}
	splice_io(d);
}

static void
splice_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	splice_io(arg);
}

/*
 * One round for a direction: fill the pipe from src, empty it into dst.
 * When dst is full, stop reading src and wait for dst to take more
 * (backpressure, with at most a pipe's worth in flight); on EOF from
 * src, once the pipe is empty, shut dst's write half (half-close).
 */
static void
splice_io(struct splice_dir *d)
{
	struct session *s = d->s;
	ssize_t n;

	s->last_active_ms = now_ms();
	switch (splice_drain(d)) {
	case DST_GONE:
		session_close(s, "peer closed while data was in flight", true);
		return;
	case DST_FULL:
		event_del(d->rd);
		event_add(d->wr, NULL);
		return;
	case DRAINED:
		break;
	}
	event_del(d->wr);
	while (!d->eof) {
		n = splice(d->src, NULL, d->pipe[1], NULL, SPLICE_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == 0) {
			d->eof = true;
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			session_close(s, "connection error", true);
			return;
		}
		if (d->src == s->up.src)
			s->p->stats.bytes_up += (size_t)n;
		else
			s->p->stats.bytes_down += (size_t)n;
		d->in_pipe += (size_t)n;
		switch (splice_drain(d)) {
		case DST_GONE:
			session_close(s, "peer closed while data was in flight",
			    true);
			return;
		case DST_FULL:
			event_del(d->rd);
			event_add(d->wr, NULL);
			return;
		case DRAINED:
			break;
		}
	}
	if (!d->eof) {
		/* Drained again after a full dst: read src once more. */
		if (!event_pending(d->rd, EV_READ, NULL))
			event_add(d->rd, &s->p->idle);
		return;
	}
	if (d->eof) {
		event_del(d->rd);
		if (!d->shut) {
			shutdown(d->dst, SHUT_WR);
			d->shut = true;
		}
		splice_maybe_finish(s);
	}
}

static int
splice_dir_init(struct session *s, struct splice_dir *d, int src, int dst)
{
	struct timeval idle = s->p->idle;

	d->s = s;
	d->src = src;
	d->dst = dst;
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		d->s = NULL;
		return -1;
	}
	/* A bigger pipe moves more per system call (fcntl(2)). */
	fcntl(d->pipe[1], F_SETPIPE_SZ, SPLICE_PIPE);
	d->rd = event_new(s->p->base, src, EV_READ | EV_PERSIST,
	    splice_read_cb, d);
	d->wr = event_new(s->p->base, dst, EV_WRITE | EV_PERSIST,
	    splice_write_cb, d);
	if (d->rd == NULL || d->wr == NULL)
		return -1;
	event_add(d->rd, &idle);
	return 0;
}

/*
 * Both ends are plain TCP and nothing is buffered any more: hand the
 * session to splice(2). The bufferevents stay, disabled, owning the fds.
 */
static void
start_splice(struct session *s)
{
	int cfd = bufferevent_getfd(s->client), ufd = bufferevent_getfd(s->upstream);

	bufferevent_disable(s->client, EV_READ | EV_WRITE);
	bufferevent_disable(s->upstream, EV_READ | EV_WRITE);
	s->last_active_ms = now_ms();
	if (splice_dir_init(s, &s->up, cfd, ufd) == -1 ||
	    splice_dir_init(s, &s->down, ufd, cfd) == -1) {
		session_close(s, "no pipe for splice", true);
		return;
	}
	if (s->client_eof) {
		s->up.eof = true;
		s->up.shut = true;
		event_del(s->up.rd);
		shutdown(ufd, SHUT_WR);
	}
	splice_io(&s->up);
}

/* After the peeked bytes are written upstream, splice the rest. */
static void
handoff_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	start_splice(s);
}

static void
start_relay(struct session *s)
{
	const struct timeval *idle = &s->p->idle;

	s->p->stats.relayed++;
	bufferevent_setcb(s->client, relay_read_cb, relay_write_cb,
	    relay_event_cb, s);
	bufferevent_setcb(s->upstream, relay_read_cb, relay_write_cb,
	    relay_event_cb, s);
	bufferevent_set_timeouts(s->client, idle, NULL);
	bufferevent_set_timeouts(s->upstream, idle, NULL);
	/* What the client sent while we peeked goes first. */
	evbuffer_add_buffer(bufferevent_get_output(s->upstream),
	    bufferevent_get_input(s->client));
	if (s->p->cfg.splice) {
		/* Write out what was peeked (bufferevent), then splice. */
		if (evbuffer_get_length(bufferevent_get_output(s->upstream)) ==
		    0) {
			start_splice(s);
			return;
		}
		bufferevent_setcb(s->upstream, NULL, handoff_write_cb,
		    relay_event_cb, s);
		bufferevent_disable(s->client, EV_READ);
		bufferevent_enable(s->upstream, EV_WRITE);
		return;
	}
	bufferevent_enable(s->client, EV_READ | EV_WRITE);
	bufferevent_enable(s->upstream, EV_READ | EV_WRITE);
	if (s->client_eof) {
		bufferevent_disable(s->client, EV_READ);
		maybe_shutdown(s->upstream, true);
	}
}

static void
upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		start_relay(s);
		return;
	}
	s->p->stats.upstream_failed++;
	session_close(s, "upstream connect failed", true);
}

static void
connect_upstream(struct session *s)
{
	struct timeval ct = { s->p->cfg.connect_timeout_ms / 1000,
	    (s->p->cfg.connect_timeout_ms % 1000) * 1000 };
	int fd;

	fd = socket(s->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		session_close(s, "no socket for upstream", true);
		return;
	}
	/* The mark lets the redirect rules pass our own traffic. */
	if (s->p->cfg.mark != 0)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &s->p->cfg.mark,
		    sizeof(s->p->cfg.mark));
	s->upstream = bufferevent_socket_new(s->p->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (s->upstream == NULL) {
		close(fd);
		session_close(s, "out of memory", true);
		return;
	}
	bufferevent_setcb(s->upstream, NULL, NULL, upstream_event_cb, s);
	bufferevent_set_timeouts(s->upstream, NULL, &ct);
	/* Keep what the client sends meanwhile, unread, in its buffer. */
	bufferevent_setcb(s->client, NULL, NULL, relay_event_cb, s);
	bufferevent_disable(s->client, EV_READ);
	if (bufferevent_socket_connect(s->upstream,
	    (struct sockaddr *)&s->dst, (int)s->dst_len) == -1) {
		s->p->stats.upstream_failed++;
		session_close(s, "upstream connect failed", true);
	}
}

static void
refuse(struct session *s, const char *why)
{
	s->p->stats.refused++;
	session_close(s, why, true);
}

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
	if (!session_judge(s, domain, miner)) {
		refuse(s, "refused by policy (name or protocol)");
		return;
	}
	event_del(s->peek_timer);
	connect_upstream(s);
}

static void
peek_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	struct sniff_result r;
	enum sniff_status st;

	if (len > SNIFF_MAX_INPUT)
		len = SNIFF_MAX_INPUT;
	st = sniff_any(evbuffer_pullup(in, (ssize_t)len), len, &r);
	if (st == SNIFF_NEED_MORE && len < SNIFF_MAX_INPUT)
		return;
	peek_decide(s, st == SNIFF_DONE ? &r : NULL);
}

static void
peek_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t len = evbuffer_get_length(in);
	struct sniff_result r;

	(void)fd;
	(void)what;
	/* Nothing sent: a protocol where the server speaks first. */
	if (len == 0) {
		peek_decide(s, NULL);
		return;
	}
	/* Half a hello, then silence: the rest could name anything, so it
	 * is refused rather than judged without its name. */
	if (len > SNIFF_MAX_INPUT)
		len = SNIFF_MAX_INPUT;
	if (sniff_any(evbuffer_pullup(in, (ssize_t)len), len, &r) ==
	    SNIFF_NEED_MORE) {
		refuse(s, "incomplete hello when the peek timed out");
		return;
	}
	peek_decide(s, &r);
}

static void
peek_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_EOF) {
		/* Sent its bytes and half-closed: decide on those. */
		s->client_eof = true;
		bufferevent_disable(bev, EV_READ);
		peek_read_cb(bev, s);
		return;
	}
	session_close(s, "client error while peeking", false);
}

static void
start_peek(struct session *s)
{
	struct timeval t = { s->p->cfg.peek_timeout_ms / 1000,
	    (s->p->cfg.peek_timeout_ms % 1000) * 1000 };

	s->peek_timer = evtimer_new(s->p->base, peek_timeout_cb, s);
	if (s->peek_timer == NULL) {
		session_close(s, "out of memory", true);
		return;
	}
	evtimer_add(s->peek_timer, &t);
	bufferevent_setcb(s->client, peek_read_cb, NULL, peek_event_cb, s);
	bufferevent_enable(s->client, EV_READ);
}

static struct session *
session_new(struct proxy *p, evutil_socket_t fd, struct sockaddr *sa,
    int salen, bool inbound)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		reset_fd(fd);
		close(fd);
		return NULL;
	}
	s->p = p;
	s->inbound = inbound;
	memcpy(&s->peer, sa, (size_t)salen < sizeof(s->peer) ? (size_t)salen :
	    sizeof(s->peer));
	s->peer_len = (socklen_t)salen;
	s->client = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->client == NULL) {
		close(fd);
		free(s);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&p->sessions, s, entry);
	if (++p->nsessions >= p->cfg.max_sessions)
		listeners_enable(p, false);
	return s;
}

static void
outbound_accept(struct proxy *p, evutil_socket_t fd, struct sockaddr *sa,
    int salen, const struct sockaddr_storage *local)
{
	struct session *s;
	struct event ev;
	struct verdict v;

	if ((s = session_new(p, fd, sa, salen, false)) == NULL)
		return;
	/* The destination is known before a byte is relayed, or the
	 * connection is refused: never relayed blindly. */
	if (!registry_take(p, &s->peer, &s->dst) &&
	    (original_destination(fd, s->peer.ss_family, &s->dst,
	    &s->dst_len) == -1 || same_addr_port(&s->dst, local))) {
		p->stats.no_destination++;
		refuse(s, "no original destination");
		return;
	}
	s->dst_len = s->dst.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	session_event(s, &ev, NULL, false);
	guard_peek(p->guard, &ev, &v);
	if (v.verdict == VERDICT_PREVENT || !rules_needs_payload(p->guard->rule)) {
		if (!session_judge(s, NULL, false)) {
			refuse(s, "refused by policy");
			return;
		}
		connect_upstream(s);
		return;
	}
	start_peek(s);
}

static void
inbound_accept(struct proxy *p, size_t index, evutil_socket_t fd,
    struct sockaddr *sa, int salen)
{
	struct session *s;

	if ((s = session_new(p, fd, sa, salen, true)) == NULL)
		return;
	p->stats.inbound_accepted++;
	s->inbound_index = index;
	s->dst = p->cfg.inbound[index].target;
	s->dst_len = p->cfg.inbound[index].target_len;
	if (!session_judge(s, NULL, false)) {
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
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	(void)l;
	p->stats.accepted++;
	if (li->inbound) {
		inbound_accept(p, li->index, fd, sa, salen);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &len) == -1)
		memset(&local, 0, sizeof(local));
	outbound_accept(p, fd, sa, salen, &local);
}

/* ---- listeners ---- */

static void
listeners_enable(struct proxy *p, bool on)
{
	size_t i;

	for (i = 0; i < p->nlisteners; i++) {
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

/* accept(2) failing for want of descriptors: pause rather than spin. */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct listener *li = arg;
	struct proxy *p = li->p;
	const struct timeval pause = { 0, 100000 };
	int err = EVUTIL_SOCKET_ERROR();

	(void)l;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	p->stats.accept_paused++;
	listeners_enable(p, false);
	evtimer_add(p->resume, &pause);
}

static int
add_listener(struct proxy *p, const struct sockaddr_storage *sa,
    socklen_t len, bool inbound, size_t index)
{
	struct listener *li = &p->listeners[p->nlisteners];

	li->p = p;
	li->inbound = inbound;
	li->index = index;
	li->l = evconnlistener_new_bind(p->base, accept_cb, li,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (const struct sockaddr *)sa, (int)len);
	if (li->l == NULL)
		return -1;
	evconnlistener_set_error_cb(li->l, accept_error_cb);
	p->nlisteners++;
	return 0;
}

/* The function's own listening port, which fnguard is asked to front,
 * is a listen act of its own (SPEC: whitelistListeningPorts). */
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

struct proxy *
proxy_new(struct event_base *base, const struct proxy_config *cfg,
    struct guard *guard)
{
	struct proxy *p = calloc(1, sizeof(*p));
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
	p->idle.tv_sec = p->cfg.idle_timeout_ms / 1000;
	p->idle.tv_usec = (p->cfg.idle_timeout_ms % 1000) * 1000;
	if ((p->resume = evtimer_new(base, resume_cb, p)) == NULL)
		goto fail;
	for (i = 0; i < cfg->nlisten; i++)
		if (add_listener(p, &cfg->listen[i], cfg->listen_len[i], false,
		    0) == -1) {
			log_warn("proxy: listen");
			goto fail;
		}
	for (i = 0; i < cfg->ninbound; i++) {
		if (!inbound_port_allowed(p, &cfg->inbound[i])) {
			log_warnx("proxy: inbound %zu: the function's port is "
			    "denied by the policy; not fronting it", i + 1);
			continue;
		}
		if (add_listener(p, &cfg->inbound[i].listen,
		    cfg->inbound[i].listen_len, true, i) == -1) {
			log_warn("proxy: inbound listen");
			goto fail;
		}
	}
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
