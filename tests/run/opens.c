/*
 * opens — what a program sees of its opens, for run.sh: under fnguard run
 * they go to a seccomp listener, which lets the call run (one thread in
 * the tree), opens the file itself and hands over the descriptor (more
 * threads or processes), or sends the call to a ptrace stop (creating
 * files, /proc, a thread whose credentials are not fnguard's). Each check
 * prints "ok NAME" or "FAIL NAME: why"; the exit status counts failures.
 *
 *   opens solo  DIR DENIED   the checks in the only process of the tree
 *   opens tree  DIR DENIED   the same in a child while the parent waits
 *   opens thread DIR DENIED  the same in a second thread
 *   opens vmshare DIR DENIED the same while a process made with
 *                            clone(CLONE_VM | SIGCHLD), so sharing this
 *                            one's memory, waits (the stack area where
 *                            the launcher copies a judged path is within
 *                            its reach)
 *   opens nobody DIR         (root) a child that became uid/gid 65534
 *                            opens DIR/secret (0600, root's): EACCES,
 *                            and DIR/public (0644): it reads it
 *   opens procdir PROC       a thread reads PROC/self/status, PROC being
 *                            a proc file system mounted elsewhere: it
 *                            must be its own process's, not the opener's
 *
 * DIR holds "public" (its text "public\n"), a FIFO "fifo", a directory
 * "sub"; DENIED is a file that the policy denies and that exists.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
static const char *dir, *denied;

static void
check(const char *name, int good, const char *why)
{
	if (good)
		printf("ok %s\n", name);
	else {
		printf("FAIL %s: %s\n", name, why);
		failures++;
	}
	fflush(stdout);
}

/* An open that must fail with want: prints the check, closes what it
 * opened after all. */
static void
check_refused(const char *name, const char *path, int flags, int want)
{
	int fd;

	errno = 0;
	fd = open(path, flags);
	check(name, fd == -1 && errno == want,
	    fd >= 0 ? "opened" : strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* With no descriptor left (RLIMIT_NOFILE reached), an open fails with
 * EMFILE, whoever opens the file: never waits. */
static void
check_no_descriptor_left(const char *path)
{
	struct rlimit old, low;
	int fds[64], n = 0;

	if (getrlimit(RLIMIT_NOFILE, &old) == -1) {
		check("no descriptor left: EMFILE", 0, strerror(errno));
		return;
	}
	low = old;
	low.rlim_cur = 64;
	if (setrlimit(RLIMIT_NOFILE, &low) == -1) {
		check("no descriptor left: EMFILE", 0, strerror(errno));
		return;
	}
	while (n < 64 && (fds[n] = dup(0)) != -1)
		n++;
	check_refused("no descriptor left: EMFILE", path, O_RDONLY, EMFILE);
	while (n > 0)
		close(fds[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
}

static void
checks(void)
{
	char path[4096], buf[64], why[128];
	struct stat st;
	ssize_t n;
	int fd, fl;

	snprintf(path, sizeof(path), "%s/public", dir);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	snprintf(why, sizeof(why), "fd %d, read \"%s\" (%s)", fd, buf,
	    strerror(errno));
	check("read a file", n == 7 && strcmp(buf, "public\n") == 0, why);
	fl = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	check("no O_CLOEXEC: FD_CLOEXEC unset", fl == 0, "FD_CLOEXEC set");
	fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	check("no O_NONBLOCK added", fl != -1 && !(fl & O_NONBLOCK),
	    "O_NONBLOCK set");
	if (fd >= 0)
		close(fd);

	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	fl = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	check("O_CLOEXEC: FD_CLOEXEC set", fl == FD_CLOEXEC,
	    "FD_CLOEXEC unset");
	if (fd >= 0)
		close(fd);

	fd = open(path, O_WRONLY | O_APPEND);
	fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	check("O_APPEND kept", fl != -1 && (fl & O_APPEND) &&
	    (fl & O_ACCMODE) == O_WRONLY, "flags differ");
	if (fd >= 0)
		close(fd);

	snprintf(path, sizeof(path), "%s/sub", dir);
	fd = open(path, O_RDONLY | O_DIRECTORY);
	check("a directory", fd >= 0 && fstat(fd, &st) == 0 &&
	    S_ISDIR(st.st_mode), strerror(errno));
	if (fd >= 0) {
		/* Relative to a dirfd. */
		int f2 = openat(fd, "../public", O_RDONLY);

		check("relative to a directory descriptor", f2 >= 0,
		    strerror(errno));
		if (f2 >= 0)
			close(f2);
		close(fd);
	}

	snprintf(path, sizeof(path), "%s/missing", dir);
	check_refused("a missing file: ENOENT", path, O_RDONLY, ENOENT);
	check_refused("a denied file: EACCES", denied, O_RDONLY, EACCES);
	snprintf(path, sizeof(path), "%s/public", dir);
	check_no_descriptor_left(path);

	/* Created with the caller's mode and umask. */
	snprintf(path, sizeof(path), "%s/new.%ld", dir, (long)gettid());
	unlink(path);
	umask(027);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
	snprintf(why, sizeof(why), "fd %d (%s), mode %o", fd, strerror(errno),
	    fd >= 0 && fstat(fd, &st) == 0 ? st.st_mode & 07777 : 0);
	check("O_CREAT: mode 0666 & ~027", fd >= 0 && fstat(fd, &st) == 0 &&
	    (st.st_mode & 07777) == 0640 && st.st_uid == geteuid(), why);
	umask(022);
	if (fd >= 0)
		close(fd);
	unlink(path);

	snprintf(path, sizeof(path), "%s/fifo", dir);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	check("a FIFO, O_NONBLOCK reader", fd >= 0 && fstat(fd, &st) == 0 &&
	    S_ISFIFO(st.st_mode), strerror(errno));
	if (fd >= 0)
		close(fd);
	check_refused("a FIFO, O_NONBLOCK writer and no reader: ENXIO", path,
	    O_WRONLY | O_NONBLOCK, ENXIO);

	/* Its own memory by its thread's name: the refusal of another
	 * process's /proc/N/mem reads N, not the thread's number. */
	snprintf(path, sizeof(path), "/proc/self/task/%ld/mem", (long)gettid());
	fd = open(path, O_RDONLY);
	check("its own /proc/self/task/TID/mem", fd >= 0, strerror(errno));
	if (fd >= 0)
		close(fd);

	fd = open("/proc/self/status", O_RDONLY);
	n = fd >= 0 ? read(fd, path, sizeof(path) - 1) : -1;
	path[n > 0 ? n : 0] = '\0';
	/* In a thread too: /proc/self is its process (Pid: the group's). */
	snprintf(buf, sizeof(buf), "\nPid:\t%ld\n", (long)getpid());
	check("/proc/self/status is this thread's process's",
	    n > 0 && strstr(path, buf) != NULL, "another process's");
	if (fd >= 0)
		close(fd);
}

static void *
thread_main(void *arg)
{
	(void)arg;
	checks();
	return NULL;
}

static void *
proc_thread(void *arg)
{
	char path[4096], buf[4096], want[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/self/status", (const char *)arg);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "\nPid:\t%ld\n", (long)getpid());
	check("another /proc's self/status is this process's",
	    n > 0 && strstr(buf, want) != NULL,
	    n > 0 ? "another process's" : strerror(errno));
	if (fd >= 0)
		close(fd);
	/* The parent (fnguard) by its other name. */
	snprintf(path, sizeof(path), "%s/%ld/mem", (const char *)arg,
	    (long)getppid());
	check_refused("another /proc's PARENT/mem: EACCES", path, O_RDWR,
	    EACCES);
	return NULL;
}

static int
in_child(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(failures);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}

static int vm_pipe[2];

/* The process sharing the memory: waits until the parent closes the
 * pipe. */
static int
vm_sibling(void *arg)
{
	char c;

	(void)arg;
	close(vm_pipe[1]);	/* its own descriptor table: its copy */
	while (read(vm_pipe[0], &c, 1) == -1 && errno == EINTR)
		;
	return 0;
}

/* The checks while a clone(CLONE_VM | SIGCHLD) process runs beside. */
static int
with_vm_sibling(void)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	int status;
	pid_t pid;

	if (pipe(vm_pipe) == -1 || (pid = clone(vm_sibling,
	    stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL)) == -1)
		return 1;
	close(vm_pipe[0]);
	checks();
	close(vm_pipe[1]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return 1;
	return 0;
}

static void
as_nobody(void)
{
	char path[4096], buf[16];
	int fd;

	if (setgroups(0, NULL) == -1 || setresgid(65534, 65534, 65534) == -1 ||
	    setresuid(65534, 65534, 65534) == -1) {
		check("became 65534", 0, strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/secret", dir);
	check_refused("uid 65534: root's 0600 file: EACCES", path, O_RDONLY,
	    EACCES);
	snprintf(path, sizeof(path), "%s/public", dir);
	fd = open(path, O_RDONLY);
	check("uid 65534: a 0644 file", fd >= 0 && read(fd, buf, 7) == 7,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
}

int
main(int argc, char **argv)
{
	pthread_t th;

	if (argc < 3) {
		fprintf(stderr, "usage: opens solo|tree|thread|vmshare|nobody|"
		    "procdir DIR [DENIED]\n");
		return 2;
	}
	dir = argv[2];
	denied = argc > 3 ? argv[3] : "/nonexistent";
	if (strcmp(argv[1], "solo") == 0)
		checks();
	else if (strcmp(argv[1], "tree") == 0)
		failures += in_child(checks);
	else if (strcmp(argv[1], "thread") == 0) {
		if (pthread_create(&th, NULL, thread_main, NULL) != 0 ||
		    pthread_join(th, NULL) != 0)
			failures++;
	} else if (strcmp(argv[1], "vmshare") == 0)
		failures += with_vm_sibling();
	else if (strcmp(argv[1], "nobody") == 0)
		failures += in_child(as_nobody);
	else if (strcmp(argv[1], "procdir") == 0) {
		/* A thread: fnguard would open the file for it. */
		if (pthread_create(&th, NULL, proc_thread, argv[2]) != 0 ||
		    pthread_join(th, NULL) != 0)
			failures++;
	}
	else
		return 2;
	return failures > 100 ? 100 : failures;
}
