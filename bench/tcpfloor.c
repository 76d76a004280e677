/*
 * bench/tcpfloor.c — about the least a TCP forwarder can do per byte and
 * per connection on this kernel: a reference for bench/proxy.sh, not a
 * proxy. One thread, epoll (edge-triggered), for each accepted
 * connection one to a fixed target; both directions always moved with
 * splice(2) through a pipe (pipes reused, never closed while empty);
 * TCP_NODELAY on both sides; EOF passed on with shutdown(SHUT_WR). No
 * policy, no original destination, no timeouts, no limits, no audit.
 *
 *   tcpfloor ADDR PORT=TARGET_PORT...   (listens on ADDR:PORT for each,
 *                                        connects to 127.0.0.1:TARGET_PORT;
 *                                        runs until killed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_SIZE (1024 * 1024)
#define MAX_LISTEN 16

/* Direction d moves fd[d] -> fd[1 - d] through pipe[d]. */
struct pair {
	int fd[2];
	int pipe[2][2];
	size_t in_pipe[2];
	bool eof[2], shut[2];
	bool dead;		/* closed; freed after this batch of events */
	struct pair *next_dead;
};

struct listener {
	int fd;
	struct sockaddr_in target;
};

static int ep;
static struct pair *graveyard;	/* closed in this batch of events */
static int free_pipes[4096][2];
static size_t nfree;

static bool
pipe_get(int p[2])
{
	if (nfree > 0) {
		nfree--;
		p[0] = free_pipes[nfree][0];
		p[1] = free_pipes[nfree][1];
		return true;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return false;
	fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);
	return true;
}

/* An empty pipe goes back to the pool; one holding bytes is closed. */
static void
pipe_put(int p[2], size_t in_pipe)
{
	if (in_pipe == 0 && nfree < sizeof(free_pipes) / sizeof(free_pipes[0])) {
		free_pipes[nfree][0] = p[0];
		free_pipes[nfree][1] = p[1];
		nfree++;
	} else {
		close(p[0]);
		close(p[1]);
	}
}

static void
pair_close(struct pair *p)
{
	int d;

	for (d = 0; d < 2; d++) {
		close(p->fd[d]);	/* leaves the epoll set too */
		pipe_put(p->pipe[d], p->in_pipe[d]);
	}
	/* Later events of this batch may still name it. */
	p->dead = true;
	p->next_dead = graveyard;
	graveyard = p;
}

/* Moves what it can in direction d; false when the pair failed. */
static bool
pump(struct pair *p, int d)
{
	int src = p->fd[d], dst = p->fd[1 - d];
	ssize_t n;

	for (;;) {
		while (p->in_pipe[d] > 0) {
			n = splice(p->pipe[d][0], NULL, dst, NULL, p->in_pipe[d],
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				p->in_pipe[d] -= (size_t)n;
				continue;
			}
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				return true;
			return false;
		}
		if (p->eof[d]) {
			if (!p->shut[d])
				shutdown(dst, SHUT_WR);
			p->shut[d] = true;
			return true;
		}
		n = splice(src, NULL, p->pipe[d][1], NULL, PIPE_SIZE,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			p->in_pipe[d] = (size_t)n;
		else if (n == 0)
			p->eof[d] = true;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN)
			return true;
		else
			return false;
	}
}

/* An event on either socket of p: both directions move what they can. */
static void
on_pair(struct pair *p)
{
	if (p->dead)
		return;
	if (!pump(p, 0) || !pump(p, 1) || (p->shut[0] && p->shut[1]))
		pair_close(p);
}

static void
on_accept(struct listener *l)
{
	struct epoll_event ev;
	struct pair *p;
	int c, u, one = 1, d;

	for (;;) {
		c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c == -1)
			return;
		u = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		p = calloc(1, sizeof(*p));
		if (u == -1 || p == NULL) {
			close(c);
			if (u != -1)
				close(u);
			free(p);
			continue;
		}
		if (!pipe_get(p->pipe[0]) || !pipe_get(p->pipe[1])) {
			perror("tcpfloor: pipe");
			exit(1);
		}
		setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(u, (struct sockaddr *)&l->target,
		    sizeof(l->target)) == -1 && errno != EINPROGRESS) {
			perror("tcpfloor: connect");
			exit(1);
		}
		p->fd[0] = c;
		p->fd[1] = u;
		for (d = 0; d < 2; d++) {
			ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
			ev.data.ptr = p;
			epoll_ctl(ep, EPOLL_CTL_ADD, p->fd[d], &ev);
		}
		on_pair(p);
	}
}

int
main(int argc, char **argv)
{
	static struct listener ls[MAX_LISTEN];
	struct epoll_event ev, evs[256];
	struct sockaddr_in a;
	int i, n, one = 1, nl = 0;

	if (argc < 3 || argc - 2 > MAX_LISTEN) {
		fprintf(stderr, "usage: tcpfloor ADDR PORT=TARGET_PORT...\n");
		return 2;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (i = 2; i < argc; i++) {
		struct listener *l = &ls[nl++];
		unsigned port, tport;

		if (sscanf(argv[i], "%u=%u", &port, &tport) != 2) {
			fprintf(stderr, "tcpfloor: bad %s\n", argv[i]);
			return 2;
		}
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
			fprintf(stderr, "tcpfloor: bad address %s\n", argv[1]);
			return 2;
		}
		l->target.sin_family = AF_INET;
		l->target.sin_port = htons((uint16_t)tport);
		l->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* inherited by the accepted sockets */
		setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (bind(l->fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
		    listen(l->fd, 4096) == -1) {
			perror("tcpfloor: bind/listen");
			return 1;
		}
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64_t)i - 2;	/* below any heap pointer */
		epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev);
	}
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.u64 < MAX_LISTEN)
				on_accept(&ls[evs[i].data.u64]);
			else
				on_pair(evs[i].data.ptr);
		}
		while (graveyard != NULL) {
			struct pair *p = graveyard;

			graveyard = p->next_dead;
			free(p);
		}
	}
}
