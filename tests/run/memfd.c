/*
 * memfd — runs a program that is on no disk path: a copy of SOURCE in a
 * memfd (named after SOURCE's base name), exec'd with execveat(fd, "",
 * AT_EMPTY_PATH), with fexecve and through /proc/self/fd/N. Each attempt
 * runs in a child; SOURCE is expected to be echo, so that a successful
 * exec prints its argument "<how>: OK".
 *
 * usage: memfd SOURCE
 *   "execveat: R", "fexecve: R", "proc fd: R" for the failures.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdlib.h>

#include "bypass.h"

extern char **environ;

static void
attempt(const char *how, int fd, const char *name)
{
	char arg[64], path[64], *argv[3];
	int status;
	pid_t pid;

	snprintf(arg, sizeof(arg), "%s: OK", how);
	argv[0] = (char *)name;
	argv[1] = arg;
	argv[2] = NULL;
	if ((pid = fork()) == -1) {
		say("%s: fork %s", how, errname(errno));
		return;
	}
	if (pid == 0) {
		if (strcmp(how, "execveat") == 0)
			syscall(SYS_execveat, fd, "", argv, environ,
			    AT_EMPTY_PATH);
		else if (strcmp(how, "fexecve") == 0)
			fexecve(fd, argv, environ);
		else {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			execve(path, argv, environ);
		}
		say("%s: %s", how, errname(errno));
		_exit(0);
	}
	waitpid(pid, &status, 0);
}

int
main(int argc, char *argv[])
{
	const char *name;
	char buf[65536];
	ssize_t n;
	int in, fd;

	if (argc != 2) {
		fprintf(stderr, "usage: memfd SOURCE\n");
		return 2;
	}
	name = strrchr(argv[1], '/') != NULL ? strrchr(argv[1], '/') + 1 :
	    argv[1];
	if ((fd = memfd_create(name, 0)) == -1) {
		say("memfd_create: %s", errname(errno));
		return 1;
	}
	if ((in = open(argv[1], O_RDONLY)) == -1) {
		say("open %s: %s", argv[1], errname(errno));
		return 1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n) {
			say("write: %s", errname(errno));
			return 1;
		}
	close(in);
	attempt("execveat", fd, name);
	attempt("fexecve", fd, name);
	attempt("proc fd", fd, name);
	return 0;
}
