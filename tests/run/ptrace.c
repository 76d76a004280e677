/*
 * ptrace — a tracee reaching into its tracer (the parent: fnguard) or into
 * another tracee (a sibling it forks): ptrace attach and seize,
 * process_vm_readv/writev, /proc/PID/mem opened for writing (directly,
 * through the task directory, a /proc dirfd and a symlink), pidfd_getfd.
 *
 * usage: ptrace LINKDIR
 *   LINKDIR: a writable directory for the symlink to /proc/PID/mem.
 *   Prints "parent comm: NAME" and then "WHAT parent|sibling: R" lines.
 *   Every successful reach is undone (detached, identical bytes written
 *   back) so that the program can run outside fnguard too.
 */
#define _GNU_SOURCE
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "bypass.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* Written by the sibling's writer; the same address in the sibling (a
 * fork of this process). */
static volatile uint64_t victim = 0x5eed;

static void
attach(const char *who, pid_t pid)
{
	char what[64];
	int status;
	long rc;

	snprintf(what, sizeof(what), "attach %s", who);
	rc = ptrace(PTRACE_ATTACH, pid, 0, 0);
	result(what, rc, errno);
	if (rc == 0) {
		/* Take the SIGSTOP that attach sent, then let it go. */
		waitpid(pid, &status, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	snprintf(what, sizeof(what), "seize %s", who);
	rc = ptrace(PTRACE_SEIZE, pid, 0, 0);
	result(what, rc, errno);
	if (rc == 0 && ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0) {
		waitpid(pid, &status, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
}

/* The start of the first writable private mapping of pid. */
static uintptr_t
writable_addr(pid_t pid)
{
	char path[64], line[512];
	uintptr_t lo = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char perms[8];
		uintptr_t a, b;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &a, &b,
		    perms) == 3 && strncmp(perms, "rw-p", 4) == 0) {
			lo = a;
			break;
		}
	}
	fclose(f);
	return lo;
}

static void
vm(const char *who, pid_t pid, uintptr_t addr)
{
	struct iovec local, remote;
	char what[64];
	uint64_t v = 0;
	ssize_t n;

	local.iov_base = &v;
	local.iov_len = sizeof(v);
	remote.iov_base = (void *)addr;
	remote.iov_len = sizeof(v);
	snprintf(what, sizeof(what), "process_vm_readv %s", who);
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	result(what, n, errno);
	if (n != (ssize_t)sizeof(v))
		v = 0x5eed;	/* what the sibling holds anyway */
	/* Writes back what is there: harmless when it works. */
	snprintf(what, sizeof(what), "process_vm_writev %s", who);
	n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	result(what, n, errno);
}

static void
mem(const char *what, int dirfd, const char *path, int flags)
{
	int fd;

	fd = openat(dirfd, path, flags);
	result(what, fd, errno);
	if (fd >= 0)
		close(fd);
}

static void
mems(const char *who, pid_t pid, const char *linkdir)
{
	char path[128], link[4096], what[64];
	int proc;

	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	snprintf(what, sizeof(what), "open rdwr %s", who);
	mem(what, AT_FDCWD, path, O_RDWR);
	snprintf(what, sizeof(what), "open wronly %s", who);
	mem(what, AT_FDCWD, path, O_WRONLY);
	snprintf(what, sizeof(what), "open rdonly %s", who);
	mem(what, AT_FDCWD, path, O_RDONLY);

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/mem", (long)pid,
	    (long)pid);
	snprintf(what, sizeof(what), "open task %s", who);
	mem(what, AT_FDCWD, path, O_RDWR);

	snprintf(what, sizeof(what), "open dirfd %s", who);
	if ((proc = open("/proc", O_PATH | O_DIRECTORY)) == -1)
		say("%s: %s", what, errname(errno));
	else {
		snprintf(path, sizeof(path), "%ld/mem", (long)pid);
		mem(what, proc, path, O_RDWR);
		close(proc);
	}

	snprintf(link, sizeof(link), "%s/mem-%s", linkdir, who);
	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	unlink(link);
	snprintf(what, sizeof(what), "open symlink %s", who);
	if (symlink(path, link) == -1)
		say("%s: symlink %s", what, errname(errno));
	else {
		mem(what, AT_FDCWD, link, O_RDWR);
		unlink(link);
	}
}

static void
getfd(const char *who, pid_t pid)
{
	char what[64];
	long pfd, fd;

	snprintf(what, sizeof(what), "pidfd_getfd %s", who);
	if ((pfd = syscall(SYS_pidfd_open, pid, 0)) == -1) {
		say("%s: pidfd_open %s", what, errname(errno));
		return;
	}
	fd = syscall(SYS_pidfd_getfd, (int)pfd, 2, 0);
	result(what, fd, errno);
	if (fd >= 0)
		close((int)fd);
	close((int)pfd);
}

int
main(int argc, char *argv[])
{
	char path[64], comm[64];
	pid_t parent, sibling;
	ssize_t n;
	int fd, go[2];
	char c = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: ptrace LINKDIR\n");
		return 2;
	}
	parent = getppid();
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)parent);
	comm[0] = '\0';
	if ((fd = open(path, O_RDONLY)) >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(fd);
	}
	say("parent comm: %s", comm);

	if (pipe(go) == -1)
		return 1;
	if ((sibling = fork()) == -1)
		return 1;
	if (sibling == 0) {
		close(go[0]);
		(void)!write(go[1], &c, 1);	/* running */
		for (;;)
			pause();
	}
	close(go[1]);
	(void)!read(go[0], &c, 1);

	attach("parent", parent);
	attach("sibling", sibling);
	vm("parent", parent, writable_addr(parent));
	vm("sibling", sibling, (uintptr_t)&victim);
	mems("parent", parent, argv[1]);
	mems("sibling", sibling, argv[1]);
	getfd("parent", parent);
	getfd("sibling", sibling);

	kill(sibling, SIGKILL);
	waitpid(sibling, NULL, 0);
	return 0;
}
