/*
 * notify — a tracee's own seccomp filter. With a user-notification
 * listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) the tracee could answer its
 * own calls (SECCOMP_RET_USER_NOTIF outranks SECCOMP_RET_TRACE) and let
 * them run unchecked; a plain filter may only restrict the tracee more.
 *
 * usage: notify FILE
 *   "seccomp listener: R", "seccomp listener tsync: R" (the flag with
 *   others), "seccomp plain: R" (an allow-all filter, no flags), then
 *   "open after filter: R" (FILE, once the tracee's own filters are in).
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include "bypass.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

static long
install(unsigned long flags)
{
	struct sock_filter allow[] = {
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { 1, allow };

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

int
main(int argc, char *argv[])
{
	long rc;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: notify FILE\n");
		return 2;
	}
	/* Lets the filters in without CAP_SYS_ADMIN too. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	rc = install(SECCOMP_FILTER_FLAG_NEW_LISTENER);
	result("seccomp listener", rc, errno);
	if (rc >= 0)
		close((int)rc);
	rc = install(SECCOMP_FILTER_FLAG_NEW_LISTENER |
	    SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
	result("seccomp listener tsync", rc, errno);
	if (rc >= 0)
		close((int)rc);
	rc = install(0);
	result("seccomp plain", rc, errno);

	fd = open(argv[1], O_RDONLY);
	result("open after filter", fd, errno);
	return 0;
}
