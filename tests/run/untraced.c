/*
 * untraced — a child made with CLONE_UNTRACED (clone, then clone3) is out
 * of the tracer's sight but keeps the seccomp filter: every call that
 * stops for the tracer must fail (ENOSYS) instead of running unchecked.
 *
 * usage: untraced PROGRAM FILE IP PORT
 *   The parent prints "<how> tracer: N" (the child's TracerPid). The child
 *   prints "<how> open: R" (open of FILE; "<how> read: TEXT" on success),
 *   "<how> connect: R" (TCP to IP:PORT) and then execs PROGRAM with the
 *   argument "<how> exec: OK"; "<how> exec: R" when the exec fails.
 *
 * usage: untraced --survive PROGRAM FILE IP PORT
 *   The fail-closed case: the parent prints "main pid: N" and "survivor
 *   pid: M" and sleeps; the untraced child waits (up to 20 s) until the
 *   parent is gone (fnguard killed, the traced parent with it), then makes
 *   the same attempts as "survivor open: R", ... .
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "bypass.h"

static const char *program, *file, *ip;
static int port;

static void
attempts(const char *how)
{
	struct sockaddr_in sin;
	char what[64], buf[128], *argv[3];
	ssize_t n;
	int fd, s, rc;

	snprintf(what, sizeof(what), "%s open", how);
	fd = open(file, O_RDONLY);
	result(what, fd, errno);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		say("%s read: %s", how, buf);
		close(fd);
	}

	snprintf(what, sizeof(what), "%s connect", how);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		say("%s socket: %s", how, errname(errno));
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, ip, &sin.sin_addr);
		rc = connect(s, (struct sockaddr *)&sin, sizeof(sin));
		result(what, rc, errno);
		close(s);
	}

	snprintf(what, sizeof(what), "%s exec: OK", how);
	argv[0] = (char *)program;
	argv[1] = what;
	argv[2] = NULL;
	execv(program, argv);
	say("%s exec: %s", how, errname(errno));
}

/* The child's TracerPid, read by the (traced) parent. */
static void
tracer_of(const char *how, pid_t pid)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1) {
		say("%s tracer: %s", how, errname(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if ((p = strstr(buf, "TracerPid:")) == NULL) {
		say("%s tracer: unknown", how);
		return;
	}
	p += strlen("TracerPid:");
	say("%s tracer: %ld", how, strtol(p, NULL, 10));
}

static void
run(const char *how)
{
	struct clone_args ca;
	int go[2], status;
	long pid;
	char c = 0;

	if (pipe(go) == -1) {
		say("%s pipe: %s", how, errname(errno));
		return;
	}
	if (strcmp(how, "clone3") == 0) {
		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_UNTRACED;
		ca.exit_signal = SIGCHLD;
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
	} else
		pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
	if (pid == -1) {
		say("%s: %s", how, errname(errno));
		close(go[0]);
		close(go[1]);
		return;
	}
	if (pid == 0) {
		close(go[1]);
		(void)!read(go[0], &c, 1);
		attempts(how);
		_exit(0);
	}
	close(go[0]);
	tracer_of(how, (pid_t)pid);
	(void)!write(go[1], &c, 1);
	close(go[1]);
	if (waitpid((pid_t)pid, &status, 0) == -1)
		say("%s wait: %s", how, errname(errno));
}

/* The untraced child outlives the traced parent: still confined? */
static void
survive(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pid_t parent = getpid();
	long pid;
	int i;

	say("main pid: %ld", (long)parent);
	pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
	if (pid == -1) {
		say("clone: %s", errname(errno));
		return;
	}
	if (pid == 0) {
		for (i = 0; i < 2000 && getppid() == parent; i++)
			nanosleep(&ts, NULL);
		if (getppid() == parent) {
			say("survivor: parent still there");
			_exit(1);
		}
		attempts("survivor");
		_exit(0);
	}
	say("survivor pid: %ld", pid);
	for (i = 0; i < 3000; i++)
		nanosleep(&ts, NULL);
}

int
main(int argc, char *argv[])
{
	if (argc == 6 && strcmp(argv[1], "--survive") == 0) {
		program = argv[2];
		file = argv[3];
		ip = argv[4];
		port = atoi(argv[5]);
		survive();
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: untraced PROGRAM FILE IP PORT\n");
		return 2;
	}
	program = argv[1];
	file = argv[2];
	ip = argv[3];
	port = atoi(argv[4]);
	run("clone");
	run("clone3");
	return 0;
}
