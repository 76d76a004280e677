/*
 * seccomp — the launcher's BPF filter: which system calls stop for the
 * tracer (SECCOMP_RET_TRACE), which fail outright, and the architecture
 * checks that keep i386 and x32 calls from doing what x86-64 calls may not.
 *
 * clone with CLONE_UNTRACED fails (EPERM), and clone3, whose flags the
 * filter cannot see, fails with ENOSYS (C libraries fall back to clone).
 * Beyond that, a call that returns SECCOMP_RET_TRACE with no tracer
 * attached fails with ENOSYS (seccomp(2)): a process that escaped the
 * tracer some other way cannot exec, open or connect.
 */
#ifndef FNGUARD_SECCOMP_H
#define FNGUARD_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

/* Which classes of calls stop for a decision. */
struct seccomp_plan {
	bool exec;		/* execve, execveat */
	bool files;		/* the path-taking calls of SPEC section 2
				 * besides opens (which always stop) */
	bool net;		/* connect, sendto/sendmsg/sendmmsg, bind,
				 * listen, raw and packet sockets */
	bool io_uring;		/* io_uring allowed (nothing to enforce) */
	bool notify;		/* open, openat and creat go to a listener
				 * (SECCOMP_RET_USER_NOTIF), not a ptrace
				 * stop, unless marked (below) */
};

/* In the high word of open's or creat's second argument or openat's
 * third, the mark that sends the call to a ptrace stop all the same. */
#define SECCOMP_RETRACE_MAGIC 0x464e4755u	/* "FNGU" */

/* Does the listener hear of nr because it changes a thread's
 * credentials (setuid, capset, unshare, ...)? */
bool seccomp_creds_call(int nr);

/* Is the filter usable on this kernel and architecture? */
bool seccomp_supported(void);

/* The filter for plan, as BPF instructions (struct sock_filter) in out
 * (at most max). Returns the count, or 0 when it does not fit. */
size_t seccomp_build(const struct seccomp_plan *plan, void *out, size_t max);

/*
 * Installs the filter in the calling process (the launcher's child, just
 * before exec): no_new_privs when the caller lacks CAP_SYS_ADMIN. With
 * plan->notify, *listener is the new listener's descriptor (close-on-exec),
 * or -1 when the kernel gives none (the filter is then built without
 * notify). Returns 0, or -1 with errno.
 */
int seccomp_install(const struct seccomp_plan *plan, int *listener);

#endif
