/*
 * toctou — races against the launcher's look at tracee memory: a thread
 * flips an argument (a path, an address) between an allowed and a denied
 * value while the main thread makes the call again and again; a third
 * thread uses what the call may have produced (reads fd 3, writes to
 * socket fd 3) during the window between the call's return and the
 * launcher's second look.
 *
 * usage:
 *   toctou open ALLOWED DENIED SECONDS    (files whose text starts with
 *                                          "ALLOWED" / "DENIED")
 *   toctou exec ALLOWED DENIED SECONDS    (programs; DENIED is a copy of
 *                                          this program, run as "marker")
 *   toctou connect ALLOWED DENIED PORT SECONDS   (IPv4 addresses)
 *   toctou chmod ALLOWED DENIED SECONDS   (chmod 0600; DENIED starts 0644)
 *   toctou marker                         (prints "DENIED PROGRAM RAN")
 * ALLOWED and DENIED have the same length. Prints "MODE: DENIED ..." at
 * once for every success against the denied object and, at the end,
 * "MODE: tries N allowed A denied D refused E other O killed K".
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "bypass.h"

#define MAX_TRIES 20000

static volatile int stop;
static char *flip_buf;			/* what the call reads */
static volatile unsigned long flips;	/* rounds the flipper has done */
static const char *flip_a, *flip_b;	/* its two values */
static size_t flip_len;

/* Flips every byte where the two values differ (one, in these tests). */
static void *
flipper(void *arg)
{
	volatile char *p = flip_buf;
	size_t i;

	(void)arg;
	while (!stop) {
		for (i = 0; i < flip_len; i++)
			if (flip_a[i] != flip_b[i])
				p[i] = flip_a[i];
		for (i = 0; i < flip_len; i++)
			if (flip_a[i] != flip_b[i])
				p[i] = flip_b[i];
		flips++;
	}
	return NULL;
}

/* Reads fd 3 while the main thread may hold the denied file there. */
static void *
reader(void *arg)
{
	char buf[16];

	(void)arg;
	while (!stop)
		if (pread(3, buf, 6, 0) == 6 && memcmp(buf, "DENIED", 6) == 0)
			say("open: DENIED FILE READ by a thread");
	return NULL;
}

/* Writes to fd 3 while the main thread may hold a socket connected to
 * the denied address there. */
static void *
writer(void *arg)
{
	(void)arg;
	while (!stop)
		(void)!send(3, "L", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	return NULL;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
start(pthread_t *t, void *(*fn)(void *))
{
	if (pthread_create(t, NULL, fn, NULL) != 0) {
		say("pthread_create failed");
		exit(1);
	}
}

static void
summary(const char *mode, unsigned long tries, unsigned long allowed,
    unsigned long denied, unsigned long refused, unsigned long other,
    unsigned long killed)
{
	say("%s: tries %lu allowed %lu denied %lu refused %lu other %lu "
	    "killed %lu", mode, tries, allowed, denied, refused, other, killed);
}

static int
race_open(double secs)
{
	pthread_t ft, rt;
	unsigned long tries = 0, allowed = 0, denied = 0, refused = 0,
	    other = 0;
	double end = now() + secs;
	char buf[16];
	int fd;

	start(&ft, flipper);
	start(&rt, reader);
	while (tries < MAX_TRIES && now() < end) {
		tries++;
		if ((fd = open(flip_buf, O_RDONLY)) == -1) {
			if (errno == EACCES)
				refused++;
			else
				other++;
			continue;
		}
		memset(buf, 0, sizeof(buf));
		if (read(fd, buf, 6) == 6 && memcmp(buf, "DENIED", 6) == 0) {
			denied++;
			say("open: DENIED FILE READ");
		} else
			allowed++;
		close(fd);
	}
	stop = 1;
	pthread_join(ft, NULL);
	pthread_join(rt, NULL);
	summary("open", tries, allowed, denied, refused, other, 0);
	return 0;
}

static int
race_chmod(const char *denied_path, double secs)
{
	pthread_t ft;
	struct stat st;
	unsigned long tries = 0, allowed = 0, denied = 0, refused = 0,
	    other = 0;
	double end = now() + secs;

	start(&ft, flipper);
	while (tries < MAX_TRIES && now() < end) {
		tries++;
		if (chmod(flip_buf, 0600) == -1) {
			if (errno == EACCES)
				refused++;
			else
				other++;
		} else
			allowed++;
		if (stat(denied_path, &st) == 0 && (st.st_mode & 0777) != 0644) {
			denied++;
			say("chmod: DENIED FILE CHANGED");
			break;
		}
	}
	stop = 1;
	pthread_join(ft, NULL);
	summary("chmod", tries, allowed - denied, denied, refused, other, 0);
	return 0;
}

static int
race_exec(double secs)
{
	char *argv[] = { "toctou", "marker", NULL };
	unsigned long tries = 0, allowed = 0, denied = 0, refused = 0,
	    other = 0, killed = 0;
	double end = now() + secs;
	pthread_t ft;
	pid_t pid;
	int status, i;

	while (tries < MAX_TRIES / 10 && now() < end) {
		tries++;
		if ((pid = fork()) == -1) {
			other++;
			continue;
		}
		if (pid == 0) {
			start(&ft, flipper);
			/* The flipper under way first: otherwise the first
			 * exec nearly always sees the starting value. */
			while (flips < 100)
				;
			for (i = 0; i < 1000; i++) {
				execv(flip_buf, argv);
				if (errno != EACCES)
					_exit(4);
			}
			_exit(3);
		}
		if (waitpid(pid, &status, 0) == -1) {
			other++;
			continue;
		}
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			allowed++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 42)
			denied++;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			refused++;
		else
			other++;
	}
	summary("exec", tries, allowed, denied, refused, other, killed);
	return 0;
}

static int
race_connect(int port, double secs)
{
	struct sockaddr_in *sin, peer;
	socklen_t len;
	pthread_t ft, wt;
	unsigned long tries = 0, allowed = 0, denied = 0, refused = 0,
	    other = 0;
	double end = now() + secs;
	char a[4], b[4], ip[INET_ADDRSTRLEN];
	struct in_addr ia, ib;
	int s;

	if (inet_pton(AF_INET, flip_a, &ia) != 1 ||
	    inet_pton(AF_INET, flip_b, &ib) != 1)
		return 2;
	/* Flip the address bytes of the sockaddr that connect reads. */
	sin = calloc(1, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr = ia;
	memcpy(a, &ia, 4);
	memcpy(b, &ib, 4);
	flip_buf = (char *)&sin->sin_addr;
	flip_a = a;
	flip_b = b;
	flip_len = 4;
	signal(SIGPIPE, SIG_IGN);
	start(&ft, flipper);
	start(&wt, writer);
	while (tries < MAX_TRIES && now() < end) {
		tries++;
		if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
			other++;
			continue;
		}
		if (connect(s, (struct sockaddr *)sin, sizeof(*sin)) == -1) {
			if (errno == EACCES)
				refused++;
			else
				other++;
			close(s);
			continue;
		}
		len = sizeof(peer);
		if (getpeername(s, (struct sockaddr *)&peer, &len) == 0 &&
		    memcmp(&peer.sin_addr, &ib, 4) == 0) {
			denied++;
			inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
			say("connect: DENIED CONNECT to %s", ip);
			(void)!send(s, "X", 1, MSG_NOSIGNAL);
		} else
			allowed++;
		close(s);
	}
	stop = 1;
	pthread_join(ft, NULL);
	pthread_join(wt, NULL);
	summary("connect", tries, allowed, denied, refused, other, 0);
	return 0;
}

static int
setup_paths(const char *a, const char *b)
{
	flip_len = strlen(a);
	if (strlen(b) != flip_len) {
		fprintf(stderr, "toctou: %s and %s differ in length\n", a, b);
		return -1;
	}
	flip_buf = calloc(1, flip_len + 1);
	memcpy(flip_buf, a, flip_len);
	flip_a = a;
	flip_b = b;
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "marker") == 0) {
		say("DENIED PROGRAM RAN");
		return 42;
	}
	if (argc == 5 && strcmp(argv[1], "open") == 0 &&
	    setup_paths(argv[2], argv[3]) == 0)
		return race_open(atof(argv[4]));
	if (argc == 5 && strcmp(argv[1], "exec") == 0 &&
	    setup_paths(argv[2], argv[3]) == 0)
		return race_exec(atof(argv[4]));
	if (argc == 5 && strcmp(argv[1], "chmod") == 0 &&
	    setup_paths(argv[2], argv[3]) == 0)
		return race_chmod(argv[3], atof(argv[4]));
	if (argc == 6 && strcmp(argv[1], "connect") == 0 &&
	    strlen(argv[2]) == strlen(argv[3])) {
		flip_a = argv[2];
		flip_b = argv[3];
		return race_connect(atoi(argv[4]), atof(argv[5]));
	}
	fprintf(stderr, "usage: toctou open|exec|chmod ALLOWED DENIED SECONDS\n"
	    "       toctou connect ALLOWED DENIED PORT SECONDS\n"
	    "       toctou marker\n");
	return 2;
}
