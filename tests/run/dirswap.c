/*
 * dirswap — a directory that the launcher has just resolved (and may
 * remember) is swapped for a symlink, by the program itself, the only
 * task traced, and the same path is opened again: the open must reach
 * what the policy says of the path as it now is, never what it was.
 *
 * usage: dirswap DIR TARGET NAME
 *   Makes DIR/x (a directory), opens DIR/x/NAME (whatever the result),
 *   renames DIR/x to DIR/y, makes DIR/x a symlink to TARGET and opens
 *   DIR/x/NAME again for reading. NAME "PARENT/mem" stands for the
 *   parent's (fnguard's, under it) /proc/PID/mem.
 *   Prints "swapped open: OK TEXT" (TEXT: its first line, or "-" when
 *   unreadable) or "swapped open: ENAME".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bypass.h"

int
main(int argc, char **argv)
{
	char x[4096], y[4096], path[4096], name[64], buf[256];
	const char *n;
	ssize_t r;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: dirswap DIR TARGET NAME\n");
		return 2;
	}
	n = argv[3];
	if (strcmp(n, "PARENT/mem") == 0) {
		snprintf(name, sizeof(name), "%ld/mem", (long)getppid());
		n = name;
	}
	snprintf(x, sizeof(x), "%s/x", argv[1]);
	snprintf(y, sizeof(y), "%s/y", argv[1]);
	snprintf(path, sizeof(path), "%s/%s", x, n);
	if (mkdir(x, 0755) == -1) {
		perror("mkdir");
		return 2;
	}
	if ((fd = open(path, O_RDONLY)) >= 0)	/* DIR/x resolved, a dir */
		close(fd);
	if (rename(x, y) == -1 || symlink(argv[2], x) == -1) {
		perror("swap");
		return 2;
	}
	if ((fd = open(path, O_RDONLY)) == -1) {
		say("swapped open: %s", errname(errno));
		return 0;
	}
	r = read(fd, buf, sizeof(buf) - 1);
	buf[r > 0 ? r : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	say("swapped open: OK %s", r > 0 ? buf : "-");
	close(fd);
	return 0;
}
