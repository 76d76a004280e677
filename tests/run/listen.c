/*
 * listen — a TCP listener for the bypass tests: accepts on IP:PORT,
 * reads what each connection sends (up to 200 ms), closes it. Prints
 * "listening" once ready and, on SIGTERM, "accepted N bytes M".
 *
 * usage: listen IP PORT
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "bypass.h"

static volatile sig_atomic_t done;

static void
on_term(int sig)
{
	(void)sig;
	done = 1;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	struct sigaction sa;
	struct pollfd pfd;
	unsigned long accepted = 0, bytes = 0;
	char buf[512];
	ssize_t n;
	int s, c, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: listen IP PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: accept returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "listen: bad address %s\n", argv[1]);
		return 2;
	}
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(s, 1024) == -1) {
		fprintf(stderr, "listen: %s:%s: %s\n", argv[1], argv[2],
		    strerror(errno));
		return 1;
	}
	say("listening");
	while (!done) {
		if ((c = accept(s, NULL, NULL)) == -1)
			continue;
		accepted++;
		pfd.fd = c;
		pfd.events = POLLIN;
		while (poll(&pfd, 1, 200) > 0 &&
		    (n = read(c, buf, sizeof(buf))) > 0)
			bytes += (unsigned long)n;
		close(c);
	}
	say("accepted %lu bytes %lu", accepted, bytes);
	return 0;
}
