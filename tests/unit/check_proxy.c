/*
 * check_proxy — the proxy's launcher interface on loopback: a connection
 * registered ahead ("from local port P, bound for D") is relayed to D, both
 * ways, with and without splice; one nobody registered (and not
 * redirected) is reset and never reaches anyone; a registration is used
 * once.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "fnguard/proxy.h"

struct fixture {
	struct event_base *base;
	struct guard guard;
	struct proxy *proxy;
	struct sockaddr_storage proxy_addr, server_addr;
	int server;
	struct event *accept_ev;
	int accepted;			/* server side of the relayed socket */
};

static struct sockaddr_storage
loopback(uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s4->sin_port = htons(port);
	return ss;
}

static uint16_t
port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

/* A free loopback port, found by binding port 0. */
static uint16_t
free_port(void)
{
	struct sockaddr_storage ss = loopback(0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss,
	    sizeof(struct sockaddr_in)), 0);
	port = port_of(fd);
	close(fd);
	return port;
}

static void
server_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *f = arg;

	(void)what;
	f->accepted = accept(fd, NULL, NULL);
	event_base_loopbreak(f->base);
}

static void
setup(struct fixture *f, bool splice)
{
	struct proxy_config cfg;
	int on = 1;

	memset(f, 0, sizeof(*f));
	f->accepted = -1;
	f->base = event_base_new();
	ck_assert_ptr_nonnull(f->base);
	f->server = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(f->server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	f->server_addr = loopback(0);
	ck_assert_int_eq(bind(f->server, (struct sockaddr *)&f->server_addr,
	    sizeof(struct sockaddr_in)), 0);
	ck_assert_int_eq(listen(f->server, 8), 0);
	f->server_addr = loopback(port_of(f->server));
	f->accept_ev = event_new(f->base, f->server, EV_READ, server_accept_cb,
	    f);
	event_add(f->accept_ev, NULL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen[0] = loopback(free_port());
	cfg.listen_len[0] = sizeof(struct sockaddr_in);
	cfg.nlisten = 1;
	cfg.splice = splice;
	f->proxy_addr = cfg.listen[0];
	/* No policy: everything is allowed; the destination still must be
	 * known. */
	f->proxy = proxy_new(f->base, &cfg, &f->guard);
	ck_assert_ptr_nonnull(f->proxy);
}

static void
teardown(struct fixture *f)
{
	proxy_free(f->proxy);
	event_free(f->accept_ev);
	close(f->server);
	if (f->accepted != -1)
		close(f->accepted);
	event_base_free(f->base);
}

/* A client bound to a known port, connecting to the proxy. */
static int
client_connect(struct fixture *f, struct sockaddr_storage *self)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	*self = loopback(free_port());
	ck_assert_int_eq(bind(fd, (struct sockaddr *)self,
	    sizeof(struct sockaddr_in)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&f->proxy_addr,
	    sizeof(struct sockaddr_in)), 0);
	return fd;
}

/* Runs the loop until fd is readable or time runs out. */
static bool
loop_until_readable(struct fixture *f, int fd, int ms)
{
	struct timeval slice = { 0, 20000 };
	struct pollfd p = { fd, POLLIN, 0 };
	int waited;

	for (waited = 0; waited < ms; waited += 20) {
		event_base_loopexit(f->base, &slice);
		event_base_dispatch(f->base);
		if (poll(&p, 1, 0) == 1)
			return true;
	}
	return false;
}

static void
relays_registered(bool splice)
{
	struct fixture f;
	struct sockaddr_storage self;
	char buf[64];
	ssize_t n;
	int c;

	setup(&f, splice);
	c = client_connect(&f, &self);
	/* Registered after connect() but before the proxy accepts: the
	 * launcher does it while the tracee is stopped in connect. */
	ck_assert_int_eq(proxy_register(f.proxy, &self, &f.server_addr), 0);
	ck_assert_int_eq(write(c, "ping\n", 5), 5);
	ck_assert(loop_until_readable(&f, f.server, 2000) || f.accepted != -1);
	while (f.accepted == -1 && loop_until_readable(&f, f.server, 100))
		;
	ck_assert_int_ne(f.accepted, -1);
	/* Upstream gets the client's bytes... */
	n = read(f.accepted, buf, sizeof(buf));
	if (n == -1 && errno == EAGAIN) {
		struct pollfd p = { f.accepted, POLLIN, 0 };
		int i;

		for (i = 0; i < 100 && poll(&p, 1, 0) == 0; i++)
			loop_until_readable(&f, f.accepted, 20);
		n = read(f.accepted, buf, sizeof(buf));
	}
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "ping\n", 5), 0);
	/* ...and the client gets upstream's, then its half-close. */
	ck_assert_int_eq(write(f.accepted, "pong\n", 5), 5);
	shutdown(f.accepted, SHUT_WR);
	ck_assert(loop_until_readable(&f, c, 2000));
	n = read(c, buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "pong\n", 5), 0);
	ck_assert(loop_until_readable(&f, c, 2000));
	ck_assert_int_eq(read(c, buf, sizeof(buf)), 0);
	close(c);
	teardown(&f);
}

START_TEST(registered_connection_is_relayed)
{
	relays_registered(false);
}
END_TEST

START_TEST(registered_connection_is_spliced)
{
	relays_registered(true);
}
END_TEST

START_TEST(unknown_destination_is_reset)
{
	struct fixture f;
	struct sockaddr_storage self;
	struct proxy_stats st;
	char buf[16];
	ssize_t n;
	int c;

	setup(&f, true);
	/* Nobody registered it, and it was not redirected: the original
	 * destination is the proxy itself. */
	c = client_connect(&f, &self);
	ck_assert_int_eq(write(c, "ping\n", 5), 5);
	ck_assert(loop_until_readable(&f, c, 2000));
	n = read(c, buf, sizeof(buf));
	ck_assert_msg(n == -1 && errno == ECONNRESET,
	    "expected a reset, got %zd (%s)", n, n == -1 ? strerror(errno) :
	    "data or EOF");
	ck_assert_int_eq(f.accepted, -1);
	proxy_stats(f.proxy, &st);
	ck_assert_uint_eq(st.no_destination, 1);
	ck_assert_uint_eq(st.relayed, 0);
	close(c);
	teardown(&f);
}
END_TEST

START_TEST(registration_is_used_once)
{
	struct fixture f;
	struct sockaddr_storage self;
	struct proxy_stats st;
	char buf[16];
	int c1, c2;

	setup(&f, false);
	c1 = client_connect(&f, &self);
	ck_assert_int_eq(proxy_register(f.proxy, &self, &f.server_addr), 0);
	loop_until_readable(&f, f.server, 300);
	while (f.accepted == -1 && loop_until_readable(&f, f.server, 100))
		;
	ck_assert_int_ne(f.accepted, -1);
	/* Closed with a reset, so the port is free again at once (no
	 * TIME_WAIT on this side). */
	{
		struct linger lin = { 1, 0 };

		setsockopt(c1, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	}
	close(c1);
	loop_until_readable(&f, f.server, 100);
	proxy_stats(f.proxy, &st);
	ck_assert_uint_eq(st.relayed, 1);
	/* The same local port again, not registered again: refused. */
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(c2, (struct sockaddr *)&self,
	    sizeof(struct sockaddr_in)), 0);
	ck_assert_int_eq(connect(c2, (struct sockaddr *)&f.proxy_addr,
	    sizeof(struct sockaddr_in)), 0);
	ck_assert(loop_until_readable(&f, c2, 2000));
	ck_assert_int_eq(read(c2, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	proxy_stats(f.proxy, &st);
	ck_assert_uint_eq(st.no_destination, 1);
	close(c2);
	teardown(&f);
}
END_TEST

/*
 * The server goes away (a reset) while the client is still sending: the
 * session must end and reach the client, not wait on a socket that can
 * never be written again (which spun the event loop on EPOLLHUP).
 */
START_TEST(server_reset_ends_spliced_session)
{
	struct fixture f;
	struct sockaddr_storage self;
	struct linger lin = { 1, 0 };
	static char chunk[65536];
	char buf[16];
	ssize_t n = 0;
	int c, i, flags;
	bool ended = false;

	/* As the daemon does: a write to a dead peer is an error, not a
	 * signal. */
	signal(SIGPIPE, SIG_IGN);
	setup(&f, true);
	c = client_connect(&f, &self);
	ck_assert_int_eq(proxy_register(f.proxy, &self, &f.server_addr), 0);
	flags = fcntl(c, F_GETFL);
	fcntl(c, F_SETFL, flags | O_NONBLOCK);
	ck_assert_int_eq(write(c, chunk, 1024), 1024);
	while (f.accepted == -1 && loop_until_readable(&f, f.server, 100))
		;
	ck_assert_int_ne(f.accepted, -1);
	/* Fill the way with bytes the server will never read, then reset. */
	for (i = 0; i < 64; i++) {
		while (write(c, chunk, sizeof(chunk)) > 0)
			;
		loop_until_readable(&f, c, 20);
	}
	/* The server half-closes first (the proxy passes the EOF on and
	 * stops reading that side), then goes away with a reset. */
	shutdown(f.accepted, SHUT_WR);
	for (i = 0; i < 5; i++)
		loop_until_readable(&f, c, 20);
	setsockopt(f.accepted, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(f.accepted);
	f.accepted = -1;
	for (i = 0; i < 100 && !ended; i++) {
		loop_until_readable(&f, c, 20);
		n = read(c, buf, sizeof(buf));
		/* EOF alone is the server's half-close: the end is a reset
		 * or a write that fails. */
		ended = n == -1 && errno != EAGAIN;
		if (!ended && write(c, chunk, sizeof(chunk)) == -1 &&
		    errno != EAGAIN)
			ended = true;
	}
	ck_assert_msg(ended, "the client's connection outlived its server");
	close(c);
	teardown(&f);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("registry");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, registered_connection_is_relayed);
	tcase_add_test(tc, registered_connection_is_spliced);
	tcase_add_test(tc, unknown_destination_is_reset);
	tcase_add_test(tc, registration_is_used_once);
	tcase_add_test(tc, server_reset_ends_spliced_session);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proxy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
