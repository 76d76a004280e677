/*
 * resolver — see include/fnguard/resolver.h.
 *
 * One event base: UDP sockets and TCP listeners for clients, c-ares's own
 * sockets registered through its socket-state callback, and one timer for
 * c-ares's timeouts. A question goes: parse (dnswire) -> verdict (guard) ->
 * denied answer, or cache, or upstream. Upstream gets a query fnguard builds
 * from the checked question, never the client's bytes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "fnguard/dnscache.h"
#include "fnguard/dnswire.h"
#include "fnguard/log.h"
#include "fnguard/resolver.h"

#define UDP_BATCH 64			/* datagrams per recvmmsg/sendmmsg */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103			/* Linux 4.18 */
#endif
/* Answers of one size to one client go out as one UDP_SEGMENT datagram
 * (the kernel cuts it): at most this size, which any path's MTU
 * carries, so that no segment is too big for the route. */
#define GSO_MAX_SEG 1200
/* What one UDP_SEGMENT message may carry: one IP datagram's 64 KiB, less
 * its headers (the kernel refuses more with EMSGSIZE), in at most 64
 * segments (UDP_MAX_SEGMENTS of older kernels). */
#define GSO_MAX_BYTES 65000
#define GSO_MAX_SEGS 64
#define UDP_ROUNDS 4			/* batches per wake-up, then yield */
#define UDP_BUF 4096			/* a query is far smaller; a reply
					   is at most 4096 (EDNS0 cap) */
#define MAX_PENDING 8192		/* upstream queries in flight */
#define TCP_MAX_PENDING 64		/* per TCP client */
#define TCP_OUT_HIGH (256 * 1024)	/* stop reading a slow reader */
#define UPSTREAM_UDP_SIZE 1232		/* RFC 9715 / DNS flag day 2020 */
#define ARES_MAX_FDS 64

struct tcp_client;

struct pending {
	struct resolver *r;
	struct dns_query q;
	uint8_t head[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4];	/* client's */
	size_t max_size;
	int udp_fd;			/* -1 for TCP */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct tcp_client *client;	/* NULL when gone or UDP */
	struct procinfo *proc;		/* when recording */
	LIST_ENTRY(pending) entry;	/* in client's list */
};

struct tcp_client {
	struct resolver *r;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	LIST_HEAD(, pending) pendings;
	unsigned npending;
	bool closing, reading_paused;
	TAILQ_ENTRY(tcp_client) lru;	/* most recently active first */
};

/* Who sent from a given address and port, remembered briefly: a client
 * hammering a denied name costs one /proc lookup, not one per query. */
#define ATTR_SLOTS 256
#define ATTR_TTL_MS 1000

struct attribution {
	struct sockaddr_storage peer;
	bool tcp, found;
	int64_t expires_ms;
	struct procinfo info;
};

/* Datagrams in and replies out, a batch per system call: on loopback the
 * per-packet system calls, not the DNS work, are most of the cost. */
struct udp_batch {
	struct mmsghdr in[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	struct sockaddr_storage in_peer[UDP_BATCH];
	uint8_t in_buf[UDP_BATCH][UDP_BUF];
	int out_fd;			/* -1: not batching */
	size_t nout;
	struct mmsghdr out[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	struct sockaddr_storage out_peer[UDP_BATCH];
	uint8_t out_buf[UDP_BATCH][UDP_BUF];
	/* The same answers grouped for UDP_SEGMENT (batch_flush). */
	struct mmsghdr gso[UDP_BATCH];
	struct iovec gso_iov[UDP_BATCH];
	size_t gso_count[UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} gso_cmsg[UDP_BATCH];
	bool no_gso;			/* the kernel refused it once */
};

struct ares_fd {
	ares_socket_t fd;
	struct event *ev;
};

struct resolver {
	struct event_base *base;
	struct resolver_config cfg;
	struct guard *guard;
	struct event *udp_ev[RESOLVER_MAX_LISTEN];
	int udp_fd[RESOLVER_MAX_LISTEN];
	struct evconnlistener *tcp[RESOLVER_MAX_LISTEN];
	size_t nlisten;
	ares_channel channel;
	bool ares_ok;
	struct ares_fd afds[ARES_MAX_FDS];
	struct event *ares_timer;
	struct dnscache *cache;
	struct attribution *attr;	/* ATTR_SLOTS */
	struct udp_batch *batch;
	/* While a batch of datagrams is handled: the time it arrived (one
	 * clock read per batch, not per query); else 0. */
	int64_t batch_ms;
	TAILQ_HEAD(tcp_clients, tcp_client) clients;
	unsigned nclients, npending;
	struct resolver_stats stats;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- addresses ---- */

int
resolver_parse_addr(const char *text, uint16_t default_port,
    struct sockaddr_storage *sa, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	unsigned long p = default_port;
	size_t hlen;
	char *stop;

	memset(sa, 0, sizeof(*sa));
	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL)
			return -1;
		hlen = (size_t)(end - text - 1);
		text++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((end = strrchr(text, ':')) != NULL &&
	    strchr(text, ':') == end) {
		hlen = (size_t)(end - text);	/* v4 with a port */
		port = end + 1;
	} else
		hlen = strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (port != NULL) {
		errno = 0;
		p = strtoul(port, &stop, 10);
		if (errno != 0 || *stop != '\0' || p == 0 || p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

size_t
resolver_read_resolv_conf(const char *path, struct sockaddr_storage *out,
    size_t max)
{
	char line[512], addr[INET6_ADDRSTRLEN + 1];
	socklen_t len;
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " nameserver %46s", addr) != 1)
			continue;
		if (strchr(addr, '%') != NULL)	/* scoped: not for us */
			continue;
		if (resolver_parse_addr(addr, 53, &out[n], &len) == 0)
			n++;
	}
	fclose(f);
	return n;
}

static bool
same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    (x->sin_addr.s_addr == y->sin_addr.s_addr ||
		    x->sin_addr.s_addr == htonl(INADDR_ANY));
	}
	{
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    (memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 ||
		    IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr));
	}
}

static void
format_endpoint(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	}
}

/* ---- answers to clients ---- */

static void tcp_close(struct tcp_client *, const char *reason);
static void tcp_maybe_finish(struct tcp_client *);

static void
send_udp(struct resolver *r, int fd, const struct sockaddr_storage *peer,
    socklen_t peer_len, const uint8_t *msg, size_t len)
{
	if (sendto(fd, msg, len, 0, (const struct sockaddr *)peer,
	    peer_len) == -1)
		r->stats.dropped++;
}

static void
send_tcp(struct tcp_client *c, const uint8_t *msg, size_t len)
{
	uint8_t prefix[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct evbuffer *out = bufferevent_get_output(c->bev);

	/* RFC 1035 4.2.2: two-byte length, then the message. */
	if (evbuffer_add(out, prefix, 2) == -1 ||
	    evbuffer_add(out, msg, len) == -1) {
		tcp_close(c, "out of memory");
		return;
	}
	if (evbuffer_get_length(out) > TCP_OUT_HIGH && !c->reading_paused) {
		bufferevent_disable(c->bev, EV_READ);
		c->reading_paused = true;
	}
}

static bool same_peer(const struct sockaddr_storage *,
    const struct sockaddr_storage *);

/* The batch's answers by length, longest first, into by_len (an
 * insertion sort: at most UDP_BATCH, mostly few lengths). */
static void
longest_first(const struct udp_batch *b, size_t *by_len)
{
	size_t n, x;

	for (n = 0; n < b->nout; n++) {
		for (x = n; x > 0 && b->out_iov[by_len[x - 1]].iov_len <
		    b->out_iov[n].iov_len; x--)
			by_len[x] = by_len[x - 1];
		by_len[x] = n;
	}
}

/* Group g is cut by the kernel every seg bytes (UDP_SEGMENT, udp(7)). */
static void
set_segment(struct udp_batch *b, size_t g, uint16_t seg)
{
	struct cmsghdr *cm;

	b->gso[g].msg_hdr.msg_control = b->gso_cmsg[g].buf;
	b->gso[g].msg_hdr.msg_controllen = sizeof(b->gso_cmsg[g].buf);
	cm = CMSG_FIRSTHDR(&b->gso[g].msg_hdr);
	cm->cmsg_level = SOL_UDP;
	cm->cmsg_type = UDP_SEGMENT;
	cm->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
}

/*
 * The batch as UDP_SEGMENT groups: answers of one length to one peer (a
 * client asking the same names over and over gets many), and after them
 * one shorter answer to that peer (the kernel cuts a UDP_SEGMENT message
 * every "segment size" bytes; only the last datagram may be shorter),
 * become one message, so the stack is walked once per group, not once
 * per answer. The longest answers are grouped first, so that the shorter
 * ones can end groups. Order between answers is not kept (UDP keeps
 * none). Returns the number of messages in b->gso.
 */
static size_t
batch_group(struct udp_batch *b)
{
	bool used[UDP_BATCH] = { false };
	size_t by_len[UDP_BATCH];
	size_t i, j, n, x, ng = 0, niov = 0, len, bytes;

	longest_first(b, by_len);
	for (n = 0; n < b->nout; n++) {
		if (used[i = by_len[n]])
			continue;
		len = b->out_iov[i].iov_len;
		memset(&b->gso[ng], 0, sizeof(b->gso[ng]));
		b->gso[ng].msg_hdr = b->out[i].msg_hdr;
		b->gso[ng].msg_hdr.msg_iov = &b->gso_iov[niov];
		b->gso_iov[niov++] = b->out_iov[i];
		b->gso_count[ng] = 1;
		used[i] = true;
		bytes = len;
		/* Same length, then the first one shorter ends the group. */
		for (x = n + 1; len <= GSO_MAX_SEG && x < b->nout &&
		    b->gso_count[ng] < GSO_MAX_SEGS &&
		    bytes + len <= GSO_MAX_BYTES; x++) {
			j = by_len[x];
			if (used[j] || b->out[j].msg_hdr.msg_namelen !=
			    b->out[i].msg_hdr.msg_namelen ||
			    !same_peer(&b->out_peer[i], &b->out_peer[j]))
				continue;
			b->gso_iov[niov++] = b->out_iov[j];
			b->gso_count[ng]++;
			bytes += b->out_iov[j].iov_len;
			used[j] = true;
			if (b->out_iov[j].iov_len != len)
				break;
		}
		b->gso[ng].msg_hdr.msg_iovlen = b->gso_count[ng];
		if (b->gso_count[ng] > 1)
			set_segment(b, ng, (uint16_t)len);
		ng++;
	}
	return ng;
}

/* The batch's messages, as they are in b->out. */
static void
batch_send(struct resolver *r, struct udp_batch *b)
{
	size_t done = 0;
	int n;

	while (done < b->nout) {
		n = sendmmsg(b->out_fd, b->out + done, (unsigned)(b->nout - done),
		    MSG_DONTWAIT);
		if (n <= 0) {
			/* The rest is lost, as a full socket buffer loses
			 * datagrams; clients retry. */
			r->stats.dropped += b->nout - done;
			break;
		}
		done += (size_t)n;
	}
	b->nout = 0;
}

/* Groups from..ng-1 back in b->out, one message per answer. */
static void
batch_ungroup(struct udp_batch *b, size_t from, size_t ng)
{
	size_t g, k, m = 0;

	for (g = from; g < ng; g++)
		for (k = 0; k < b->gso_count[g]; k++, m++) {
			memset(&b->out[m], 0, sizeof(b->out[m]));
			b->out[m].msg_hdr.msg_name = b->gso[g].msg_hdr.msg_name;
			b->out[m].msg_hdr.msg_namelen =
			    b->gso[g].msg_hdr.msg_namelen;
			b->out[m].msg_hdr.msg_iov =
			    b->gso[g].msg_hdr.msg_iov + k;
			b->out[m].msg_hdr.msg_iovlen = 1;
		}
	b->nout = m;
}

static void
batch_flush(struct resolver *r)
{
	struct udp_batch *b = r->batch;
	size_t done = 0, ng, k;
	int n;

	if (b->no_gso || b->nout < 2 || (ng = batch_group(b)) == b->nout) {
		batch_send(r, b);
		return;
	}
	while (done < ng) {
		if ((n = sendmmsg(b->out_fd, b->gso + done,
		    (unsigned)(ng - done), MSG_DONTWAIT)) > 0) {
			for (k = done; k < done + (size_t)n; k++)
				if (b->gso_count[k] > 1)
					r->stats.segmented += b->gso_count[k];
			done += (size_t)n;
			continue;
		}
		if (b->gso[done].msg_hdr.msg_controllen != 0) {
			/* A group refused: what is left goes one answer a
			 * datagram; and so does all that follows where the
			 * kernel cannot segment UDP at all. */
			if (errno == EIO || errno == EINVAL ||
			    errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
				log_info("resolver: no UDP segmentation (%s): "
				    "one datagram per answer", strerror(errno));
				b->no_gso = true;
			}
			batch_ungroup(b, done, ng);
			batch_send(r, b);
			return;
		}
		for (k = done; k < ng; k++)
			r->stats.dropped += b->gso_count[k];
		break;
	}
	b->nout = 0;
}

static void
reply(struct resolver *r, int udp_fd, const struct sockaddr_storage *peer,
    socklen_t peer_len, struct tcp_client *c, const uint8_t *msg, size_t len)
{
	struct udp_batch *b = r->batch;

	if (len == 0)
		return;
	if (c != NULL) {
		send_tcp(c, msg, len);
		return;
	}
	if (udp_fd == -1)
		return;
	if (b->out_fd != udp_fd || len > UDP_BUF) {
		send_udp(r, udp_fd, peer, peer_len, msg, len);
		return;
	}
	memcpy(b->out_buf[b->nout], msg, len);
	memcpy(&b->out_peer[b->nout], peer, peer_len);
	b->out_iov[b->nout].iov_base = b->out_buf[b->nout];
	b->out_iov[b->nout].iov_len = len;
	b->out[b->nout].msg_hdr.msg_name = &b->out_peer[b->nout];
	b->out[b->nout].msg_hdr.msg_namelen = peer_len;
	b->out[b->nout].msg_hdr.msg_iov = &b->out_iov[b->nout];
	b->out[b->nout].msg_hdr.msg_iovlen = 1;
	if (++b->nout == UDP_BATCH)
		batch_flush(r);
}

/* ---- the guard ---- */

static bool
same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		/* The scope too: fe80::1 on two links is two peers. */
		return x->sin6_port == y->sin6_port &&
		    x->sin6_scope_id == y->sin6_scope_id &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
}

static size_t
peer_slot(const struct sockaddr_storage *sa)
{
	const uint8_t *b = (const uint8_t *)sa;
	size_t len = sa->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6), i;
	uint32_t h = 2166136261u;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h % ATTR_SLOTS;
}

static struct procinfo *
find_process(struct resolver *r, bool tcp, const struct sockaddr_storage *peer,
    int64_t now)
{
	struct attribution *a = &r->attr[peer_slot(peer)];

	/* The remembered entry itself, not a copy (it is several KiB): the
	 * caller is done with it before the next lookup. */
	if (a->expires_ms > now && a->tcp == tcp && same_peer(&a->peer, peer))
		return a->found ? &a->info : NULL;
	a->found = r->guard->procs != NULL &&
	    procfinder_lookup(r->guard->procs, tcp ? IPPROTO_TCP : IPPROTO_UDP,
	    (const struct sockaddr *)peer, NULL, false, &a->info) == 0;
	a->peer = *peer;
	a->tcp = tcp;
	a->expires_ms = now + ATTR_TTL_MS;
	return a->found ? &a->info : NULL;
}

static void
dns_event(struct event *ev, const struct dns_query *q, bool tcp,
    const struct procinfo *p, bool found)
{
	event_init(ev, EVENT_DNS);
	ev->domain = q->name;
	ev->proto = tcp ? PROTO_TCP : PROTO_UDP;
	guard_attribute(ev, found ? p : NULL);
}

static int
denied_rcode(const struct verdict *v)
{
	if (v->rule == NULL)
		return DNS_RCODE_NXDOMAIN;
	switch (v->rule->dns.denied_response) {
	case DENIED_REFUSED:
		return DNS_RCODE_REFUSED;
	case DENIED_NODATA:
		return DNS_RCODE_NOERROR;
	default:
		return DNS_RCODE_NXDOMAIN;
	}
}

/* ---- upstream ---- */

static void
pending_free(struct pending *p)
{
	if (p->client != NULL) {
		LIST_REMOVE(p, entry);
		p->client->npending--;
	}
	p->r->npending--;
	free(p->proc);
	free(p);
}

static void
learn_and_record(struct resolver *r, struct pending *p,
    const struct dns_answer_info *info, int64_t now)
{
	struct event ev;

	if (r->guard->learned != NULL && info->naddrs > 0)
		ipmap_learn(r->guard->learned, p->q.name, info->addrs,
		    info->naddrs, info->addr_ttl, now);
	if (r->guard->record == NULL)
		return;
	dns_event(&ev, &p->q, p->udp_fd == -1, p->proc,
	    p->proc != NULL && p->proc->pid > 0);
	ev.time_ms = now;
	ev.nanswers = info->naddrs < EVENT_MAX_ANSWERS ? info->naddrs :
	    EVENT_MAX_ANSWERS;
	memcpy(ev.answers, info->addrs, ev.nanswers * sizeof(ev.answers[0]));
	ev.ttl = info->addr_ttl;
	guard_record(r->guard, &ev);
}

static void
answer_pending(struct pending *p, const uint8_t *msg, size_t len,
    const struct dns_answer_info *info, uint32_t elapsed)
{
	uint8_t out[65536];
	size_t n;

	n = dnswire_prepare_answer(msg, len, info, elapsed, &p->q, p->head,
	    p->max_size, out, sizeof(out));
	if (n != 0 && n < len)
		p->r->stats.truncated++;
	reply(p->r, p->udp_fd, &p->peer, p->peer_len, p->client, out, n);
}

static void
fail_pending(struct pending *p)
{
	uint8_t out[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];

	p->r->stats.upstream_failures++;
	reply(p->r, p->udp_fd, &p->peer, p->peer_len, p->client, out,
	    dnswire_build_empty(&p->q, p->head, DNS_RCODE_SERVFAIL, out,
	    sizeof(out)));
}

static void
upstream_answer_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct pending *p = arg;
	struct resolver *r = p->r;
	struct tcp_client *c = p->client;
	struct dns_answer_info info;
	int64_t now = now_ms();

	(void)timeouts;
	if (status == ARES_EDESTRUCTION) {
		pending_free(p);
		return;
	}
	if (status != ARES_SUCCESS || abuf == NULL || alen <= 0 ||
	    dnswire_inspect_answer(abuf, (size_t)alen, &p->q, &info) == -1) {
		if (p->udp_fd != -1 || c != NULL)
			fail_pending(p);
		pending_free(p);
		tcp_maybe_finish(c);
		return;
	}
	if ((info.rcode == DNS_RCODE_NOERROR ||
	    info.rcode == DNS_RCODE_NXDOMAIN) && !info.truncated)
		dnscache_put(r->cache, &p->q, abuf, (size_t)alen, &info, now);
	learn_and_record(r, p, &info, now);
	if (p->udp_fd != -1 || c != NULL)
		answer_pending(p, abuf, (size_t)alen, &info, 0);
	pending_free(p);
	tcp_maybe_finish(c);
}

static void ares_reschedule(struct resolver *);

static void
forward(struct resolver *r, struct pending *p)
{
	uint8_t query[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];
	size_t len = dnswire_build_query(&p->q, UPSTREAM_UDP_SIZE, query,
	    sizeof(query));

	r->stats.forwarded++;
	/* c-ares sets its own ID, retries, fails over between servers and
	 * retries over TCP when the answer comes back truncated. */
	ares_send(r->channel, query, (int)len, upstream_answer_cb, p);
	ares_reschedule(r);
}

/* ---- one question ---- */

/* A cache hit: teaches and records like an upstream answer would, with
 * the TTL that is left. */
static void
answer_from_cache(struct resolver *r, const struct dnscache_entry *e,
    struct pending *tmpl, int64_t now)
{
	uint32_t elapsed = (uint32_t)((now - e->stored_ms) / 1000);
	struct dns_answer_info left = e->info;

	r->stats.cache_hits++;
	left.addr_ttl = left.addr_ttl > elapsed ? left.addr_ttl - elapsed : 0;
	learn_and_record(r, tmpl, &left, now);
	answer_pending(tmpl, e->msg, e->len, &e->info, elapsed);
}

static void
handle_query(struct resolver *r, const uint8_t *msg, size_t len,
    struct pending *tmpl)
{
	const struct dnscache_entry *e;
	struct procinfo *proc = NULL;
	struct event ev;
	struct verdict v;
	struct pending *p;
	uint8_t out[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];
	enum dnswire_status st;
	int64_t now = r->batch_ms != 0 ? r->batch_ms : now_ms();
	bool tcp = tmpl->client != NULL;

	st = dnswire_parse_query(msg, len, &tmpl->q);
	if (st == DNSWIRE_SHORT || st == DNSWIRE_RESPONSE) {
		r->stats.dropped++;
		return;
	}
	if (st != DNSWIRE_OK) {
		/* No question is echoed: it was not understood. */
		tmpl->q.question_end = 0;
		r->stats.formerr += st == DNSWIRE_FORMERR;
		reply(r, tmpl->udp_fd, &tmpl->peer, tmpl->peer_len,
		    tmpl->client, out, dnswire_build_empty(&tmpl->q, msg,
		    st == DNSWIRE_FORMERR ? DNS_RCODE_FORMERR :
		    DNS_RCODE_NOTIMP, out, sizeof(out)));
		return;
	}
	memcpy(tmpl->head, msg, tmpl->q.question_end);
	tmpl->max_size = tcp ? 65535 : tmpl->q.edns ?
	    (tmpl->q.udp_size < 4096 ? tmpl->q.udp_size : 4096) : 512;
	event_init(&ev, EVENT_DNS);
	ev.domain = tmpl->q.name;
	guard_peek(r->guard, &ev, &v);
	if (v.verdict != VERDICT_ALLOW || r->guard->record != NULL) {
		proc = find_process(r, tcp, &tmpl->peer, now);
		dns_event(&ev, &tmpl->q, tcp, proc, proc != NULL);
		ev.time_ms = now;
	}
	guard_audit(r->guard, &ev, &v, now);
	if (v.verdict == VERDICT_PREVENT) {
		r->stats.denied++;
		guard_record(r->guard, &ev);
		reply(r, tmpl->udp_fd, &tmpl->peer, tmpl->peer_len,
		    tmpl->client, out, dnswire_build_empty(&tmpl->q, msg,
		    denied_rcode(&v), out, sizeof(out)));
		return;
	}
	if ((e = dnscache_get(r->cache, &tmpl->q, now)) != NULL) {
		tmpl->proc = proc;
		answer_from_cache(r, e, tmpl, now);
		return;
	}
	if (r->npending >= MAX_PENDING || !r->ares_ok ||
	    (p = malloc(sizeof(*p))) == NULL) {
		r->stats.upstream_failures++;
		reply(r, tmpl->udp_fd, &tmpl->peer, tmpl->peer_len,
		    tmpl->client, out, dnswire_build_empty(&tmpl->q, msg,
		    DNS_RCODE_SERVFAIL, out, sizeof(out)));
		return;
	}
	*p = *tmpl;
	p->proc = NULL;
	if (proc != NULL && r->guard->record != NULL &&
	    (p->proc = malloc(sizeof(*p->proc))) != NULL)
		*p->proc = *proc;
	r->npending++;
	if (p->client != NULL) {
		LIST_INSERT_HEAD(&p->client->pendings, p, entry);
		p->client->npending++;
	}
	forward(r, p);
}

/* ---- UDP ---- */

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;
	struct udp_batch *b = r->batch;
	struct pending tmpl;
	int round, n, i;

	(void)what;
	b->out_fd = fd;
	for (round = 0; round < UDP_ROUNDS; round++) {
		for (i = 0; i < UDP_BATCH; i++) {
			memset(&b->in[i].msg_hdr, 0, sizeof(b->in[i].msg_hdr));
			b->in_iov[i].iov_base = b->in_buf[i];
			b->in_iov[i].iov_len = UDP_BUF;
			b->in[i].msg_hdr.msg_name = &b->in_peer[i];
			b->in[i].msg_hdr.msg_namelen = sizeof(b->in_peer[i]);
			b->in[i].msg_hdr.msg_iov = &b->in_iov[i];
			b->in[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		r->batch_ms = now_ms();
		for (i = 0; i < n; i++) {
			r->stats.udp_queries++;
			/* Larger than any query: not answered. */
			if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				r->stats.dropped++;
				continue;
			}
			memset(&tmpl, 0, sizeof(tmpl));
			tmpl.r = r;
			tmpl.udp_fd = fd;
			memcpy(&tmpl.peer, &b->in_peer[i],
			    b->in[i].msg_hdr.msg_namelen);
			tmpl.peer_len = b->in[i].msg_hdr.msg_namelen;
			handle_query(r, b->in_buf[i], b->in[i].msg_len, &tmpl);
		}
		batch_flush(r);
		if (r->guard->audit != NULL &&
		    audit_backlogged(r->guard->audit))
			audit_flush(r->guard->audit);
		if (n < UDP_BATCH)
			break;
	}
	batch_flush(r);
	b->out_fd = -1;
	r->batch_ms = 0;
}

static int
udp_open(const struct sockaddr_storage *sa, socklen_t len)
{
	int fd, on = 1, size = 1 << 20;

	fd = socket(sa->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (sa->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)sa, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- TCP (RFC 7766) ---- */

static void
tcp_close(struct tcp_client *c, const char *reason)
{
	struct resolver *r = c->r;
	struct pending *p;

	log_debug("dns tcp client closed: %s", reason);
	/* Answers still in flight have nowhere to go. */
	while ((p = LIST_FIRST(&c->pendings)) != NULL) {
		LIST_REMOVE(p, entry);
		p->client = NULL;
		p->udp_fd = -1;
	}
	TAILQ_REMOVE(&r->clients, c, lru);
	r->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void
tcp_maybe_finish(struct tcp_client *c)
{
	if (c == NULL)
		return;
	if (c->reading_paused && c->npending < TCP_MAX_PENDING &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) <=
	    TCP_OUT_HIGH) {
		c->reading_paused = false;
		bufferevent_enable(c->bev, EV_READ);
	}
	if (c->closing && c->npending == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		tcp_close(c, "client finished");
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_client *c = arg;
	struct resolver *r = c->r;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct pending tmpl;
	uint8_t prefix[2];
	size_t len;

	TAILQ_REMOVE(&r->clients, c, lru);
	TAILQ_INSERT_HEAD(&r->clients, c, lru);
	while (evbuffer_get_length(in) >= 2) {
		if (c->npending >= TCP_MAX_PENDING) {
			bufferevent_disable(bev, EV_READ);
			c->reading_paused = true;
			return;
		}
		evbuffer_copyout(in, prefix, 2);
		len = (size_t)prefix[0] << 8 | prefix[1];
		if (len < DNS_HEADER_LEN) {
			tcp_close(c, "message shorter than a header");
			return;
		}
		/* A length prefix may arrive before its message: wait. */
		if (evbuffer_get_length(in) < len + 2)
			return;
		evbuffer_drain(in, 2);
		memset(&tmpl, 0, sizeof(tmpl));
		tmpl.r = r;
		tmpl.udp_fd = -1;
		tmpl.client = c;
		tmpl.peer = c->peer;
		tmpl.peer_len = c->peer_len;
		r->stats.tcp_queries++;
		handle_query(r, evbuffer_pullup(in, (ssize_t)len), len, &tmpl);
		evbuffer_drain(in, len);
	}
}

static void
tcp_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tcp_maybe_finish(arg);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_client *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		c->r->stats.tcp_closed_idle++;
		tcp_close(c, "idle timeout");
	} else if (what & BEV_EVENT_ERROR)
		tcp_close(c, "connection error");
	else if (what & BEV_EVENT_EOF) {
		/* Half-closed after its last query: answer, then close. */
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		tcp_maybe_finish(c);
	}
}

static void
tcp_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct resolver *r = arg;
	struct tcp_client *c;
	struct timeval idle = { r->cfg.tcp_idle_ms / 1000,
	    (r->cfg.tcp_idle_ms % 1000) * 1000 };

	(void)l;
	r->stats.tcp_accepted++;
	/* At the cap the least recently active client makes room (RFC 7766
	 * 6.2.3 lets a server close idle connections), so idle clients
	 * cannot lock others out. */
	if (r->nclients >= r->cfg.tcp_max_clients) {
		r->stats.tcp_evicted++;
		tcp_close(TAILQ_LAST(&r->clients, tcp_clients), "evicted");
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->r = r;
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ? (size_t)salen :
	    sizeof(c->peer));
	c->peer_len = (socklen_t)salen;
	LIST_INIT(&c->pendings);
	c->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_HEAD(&r->clients, c, lru);
	r->nclients++;
}

/* ---- c-ares on the event base ---- */

static void
ares_reschedule(struct resolver *r)
{
	struct timeval tv, *t;

	t = ares_timeout(r->channel, NULL, &tv);
	if (t != NULL)
		evtimer_add(r->ares_timer, t);
	else
		evtimer_del(r->ares_timer);
}

static void
ares_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->channel, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	ares_reschedule(r);
}

static void
ares_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ares_reschedule(r);
}

/* c-ares tells which of its sockets to watch (ares_init_options(3),
 * ARES_OPT_SOCK_STATE_CB). */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct ares_fd *slot = NULL, *free_slot = NULL;
	size_t i;

	for (i = 0; i < ARES_MAX_FDS; i++) {
		if (r->afds[i].ev != NULL && r->afds[i].fd == fd)
			slot = &r->afds[i];
		else if (r->afds[i].ev == NULL && free_slot == NULL)
			free_slot = &r->afds[i];
	}
	if (slot != NULL) {
		event_free(slot->ev);
		slot->ev = NULL;
	}
	if (!readable && !writable)
		return;
	if (slot == NULL)
		slot = free_slot;
	if (slot == NULL) {
		log_warnx("dns: too many upstream sockets");
		return;
	}
	slot->fd = fd;
	slot->ev = event_new(r->base, fd, (short)(EV_PERSIST |
	    (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0)), ares_io_cb, r);
	if (slot->ev != NULL)
		event_add(slot->ev, NULL);
}

static int
upstreams_csv(const struct resolver *r, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < r->cfg.nupstreams; i++) {
		const struct sockaddr_storage *sa = &r->cfg.upstream[i];
		const void *addr;
		unsigned port;
		int n;

		for (size_t j = 0; j < r->nlisten; j++)
			if (same_endpoint(&r->cfg.listen[j], sa)) {
				log_warnx("dns: upstream %zu is one of our own "
				    "listen addresses; skipped", i + 1);
				goto next;
			}
		if (sa->ss_family == AF_INET) {
			addr = &((const struct sockaddr_in *)sa)->sin_addr;
			port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		} else {
			addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
			port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		}
		inet_ntop(sa->ss_family, addr, host, sizeof(host));
		n = snprintf(buf + o, len - o, sa->ss_family == AF_INET ?
		    "%s%s:%u" : "%s[%s]:%u", o ? "," : "", host, port);
		if (n < 0 || (size_t)n >= len - o)
			return -1;
		o += (size_t)n;
next:		;
	}
	return o > 0 ? 0 : -1;
}

static int
ares_start(struct resolver *r)
{
	struct ares_options opts;
	char csv[2048];
	int rc;

	if (upstreams_csv(r, csv, sizeof(csv)) == -1) {
		log_warnx("dns: no usable upstream server");
		return -1;
	}
	memset(&opts, 0, sizeof(opts));
	opts.flags = ARES_FLAG_STAYOPEN | ARES_FLAG_NOSEARCH;
	opts.timeout = (int)r->cfg.upstream_timeout_ms;
	opts.tries = (int)r->cfg.upstream_tries;
	opts.sock_state_cb = sock_state_cb;
	opts.sock_state_cb_data = r;
	/* Servers come from our own list: no resolv.conf (which may point
	 * at fnguard itself). */
	opts.lookups = (char *)"b";
	rc = ares_init_options(&r->channel, &opts, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_LOOKUPS);
	if (rc != ARES_SUCCESS) {
		log_warnx("dns: c-ares: %s", ares_strerror(rc));
		return -1;
	}
	if ((rc = ares_set_servers_ports_csv(r->channel, csv)) != ARES_SUCCESS) {
		log_warnx("dns: upstreams %s: %s", csv, ares_strerror(rc));
		ares_destroy(r->channel);
		return -1;
	}
	log_info("dns: upstream %s", csv);
	r->ares_ok = true;
	return 0;
}

/* ---- life cycle ---- */

static int
listen_one(struct resolver *r, size_t i)
{
	const struct sockaddr_storage *sa = &r->cfg.listen[i];
	socklen_t len = r->cfg.listen_len[i];
	char text[INET6_ADDRSTRLEN + 8];

	format_endpoint(sa, text, sizeof(text));
	if ((r->udp_fd[i] = udp_open(sa, len)) == -1) {
		log_warn("dns: udp %s", text);
		return -1;
	}
	/* Port 0: the one the kernel gave UDP, for TCP too. */
	if ((sa->ss_family == AF_INET &&
	    ((const struct sockaddr_in *)sa)->sin_port == 0) ||
	    (sa->ss_family == AF_INET6 &&
	    ((const struct sockaddr_in6 *)sa)->sin6_port == 0)) {
		if (getsockname(r->udp_fd[i], (struct sockaddr *)&r->cfg.listen[i],
		    &len) == -1)
			return -1;
		format_endpoint(sa, text, sizeof(text));
	}
	r->udp_ev[i] = event_new(r->base, r->udp_fd[i], EV_READ | EV_PERSIST,
	    udp_read_cb, r);
	r->tcp[i] = evconnlistener_new_bind(r->base, tcp_accept_cb, r,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    1024, (const struct sockaddr *)sa, (int)len);
	if (r->udp_ev[i] == NULL || r->tcp[i] == NULL) {
		log_warn("dns: tcp %s", text);
		return -1;
	}
	event_add(r->udp_ev[i], NULL);
	log_info("dns: listening on %s (udp, tcp)", text);
	return 0;
}

struct resolver *
resolver_new(struct event_base *base, const struct resolver_config *cfg,
    struct guard *guard)
{
	struct resolver *r = calloc(1, sizeof(*r));
	size_t i;

	if (r == NULL)
		return NULL;
	r->base = base;
	r->cfg = *cfg;
	r->guard = guard;
	TAILQ_INIT(&r->clients);
	if (r->cfg.cache_bytes == 0)
		r->cfg.cache_bytes = 16u << 20;
	if (r->cfg.tcp_max_clients == 0)
		r->cfg.tcp_max_clients = 512;
	if (r->cfg.tcp_idle_ms == 0)
		r->cfg.tcp_idle_ms = 10000;
	if (r->cfg.upstream_timeout_ms == 0)
		r->cfg.upstream_timeout_ms = 1500;
	if (r->cfg.upstream_tries == 0)
		r->cfg.upstream_tries = 3;
	for (i = 0; i < RESOLVER_MAX_LISTEN; i++)
		r->udp_fd[i] = -1;
	r->nlisten = cfg->nlisten;
	r->cache = dnscache_new(r->cfg.cache_bytes);
	r->attr = calloc(ATTR_SLOTS, sizeof(*r->attr));
	r->batch = calloc(1, sizeof(*r->batch));
	r->ares_timer = evtimer_new(base, ares_timer_cb, r);
	if (r->cache == NULL || r->attr == NULL || r->batch == NULL ||
	    r->ares_timer == NULL)
		goto fail;
	r->batch->out_fd = -1;
	for (i = 0; i < r->nlisten; i++)
		if (listen_one(r, i) == -1)
			goto fail;
	if (ares_start(r) == -1)
		goto fail;
	return r;
fail:
	resolver_free(r);
	return NULL;
}

void
resolver_free(struct resolver *r)
{
	size_t i;

	if (r == NULL)
		return;
	while (!TAILQ_EMPTY(&r->clients))
		tcp_close(TAILQ_FIRST(&r->clients), "shutdown");
	if (r->ares_ok)
		ares_destroy(r->channel);	/* frees pendings via callback */
	for (i = 0; i < ARES_MAX_FDS; i++)
		if (r->afds[i].ev != NULL)
			event_free(r->afds[i].ev);
	for (i = 0; i < RESOLVER_MAX_LISTEN; i++) {
		if (r->udp_ev[i] != NULL)
			event_free(r->udp_ev[i]);
		if (r->udp_fd[i] != -1)
			close(r->udp_fd[i]);
		if (r->tcp[i] != NULL)
			evconnlistener_free(r->tcp[i]);
	}
	if (r->ares_timer != NULL)
		event_free(r->ares_timer);
	dnscache_free(r->cache);
	free(r->attr);
	free(r->batch);
	free(r);
}

void
resolver_stats(const struct resolver *r, struct resolver_stats *out)
{
	*out = r->stats;
}

int
resolver_listen_addr(const struct resolver *r, size_t i,
    struct sockaddr_storage *out, socklen_t *len)
{
	if (i >= r->nlisten)
		return -1;
	*out = r->cfg.listen[i];
	*len = r->cfg.listen_len[i];
	return 0;
}
