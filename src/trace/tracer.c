/* tracer — see include/fnguard/tracer.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kcmp.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <netinet/in.h>

#include "fnguard/log.h"
#include "fnguard/tmem.h"
#include "fnguard/tracer.h"
#include "sysnr.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#endif

/* PROCMAP_QUERY (Linux 6.11): the mapping that holds an address, asked
 * of /proc/PID/maps by ioctl. Declared here for older headers. */
struct procmap_query_abi {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags;
	uint64_t vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY_IOCTL _IOWR('f', 17, struct procmap_query_abi)

/* Linux 6.6: the listener's waker and the waiting thread trade places on
 * one CPU (a wake-up on another costs tens of microseconds in a VM). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, uint64_t)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif
#define ERESTARTSYS_ 512	/* the kernel's restart codes, 512..514 */
#define ERESTARTNOINTR_ 513
#define ERESTARTNOHAND_ 514
#define PROCMAP_VMA_SHARED 0x08

/* The flags open(2) and openat2(2) both take. */
#define OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | \
	O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | O_LARGEFILE | \
	O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE | \
	FASYNC)

#define BUCKETS 1024
#define SCRATCH 16384		/* below the red zone of a stopped thread */
#define RED_ZONE 128
#define MMSG_MAX 16		/* sendmmsg entries rewritten at a time */
#define REDIRECTS 64		/* sockets whose DNS went to the resolver */

enum pend { PEND_NONE, PEND_EXEC, PEND_OPEN, PEND_CONNECT, PEND_RECV };

/* A socket whose DNS was sent to the resolver in place of orig: replies
 * reported as coming from the resolver are shown as coming from orig,
 * since glibc and musl drop answers from an address they did not ask. */
struct redirect {
	pid_t tgid;
	int fd;
	struct sockaddr_storage orig;
	socklen_t orig_len;
};

struct tracee {
	pid_t tid, tgid;
	struct tracee *next;
	enum pend pending;
	enum event_kind pend_kind;
	enum event_access pend_access;
	int pend_fd;
	struct sockaddr_storage pend_addr;
	bool have_actor;
	bool retrace;			/* interrupted to stop for ptrace */
	/* Its credentials are fnguard's own (looked up once, forgotten at
	 * exec and at every call that changes them): fnguard may open
	 * files in its place (ACT_ADDFD). */
	enum { CREDS_UNKNOWN, CREDS_SAME, CREDS_OTHER } creds;
	/* The leader of a thread group counts its threads; a process whose
	 * memory another process shares (CLONE_VM) is marked. Opens in a
	 * process whose memory only the stopped thread can touch skip the
	 * second look (see fast_open). */
	int threads;
	bool shared_vm;
	int maps_fd;			/* /proc/PID/maps, or -1 */
	struct procinfo actor;		/* who this process is, for events */
	char checked[PATH_MAX];		/* exec/open: the path judged */
	char interp[PATH_MAX];		/* exec of a script: its interpreter */
};

struct tracer {
	struct event_base *base;
	struct tracer_config cfg;
	struct guard *guard;
	struct event *sigev;
	int sigfd;
	sigset_t oldmask;
	struct tracee *buckets[BUCKETS];
	pid_t main_pid;
	bool main_starting;		/* single-threaded, no children yet */
	bool main_group_stopped;	/* in a group-stop (job control) */
	bool done;
	int exit_code;
	struct redirect redirects[REDIRECTS];
	size_t next_redirect;
	struct tracer_stats stats;
	size_t ntasks;			/* threads traced, all processes */
	/* The seccomp listener (opens), once the child has handed it over
	 * through hand_fd (its number) and been told to go on (ack_fd). */
	int listener, hand_fd, ack_fd;
	struct event *notifev, *handev;
	char self_creds[1024];		/* fnguard's, as creds_of shows them */
};

/* ACT_ADDFD and ACT_RETRACE answer listener calls only: the call gets a
 * descriptor fnguard opened, or is sent back to stop for ptrace. */
enum act { ACT_ALLOW, ACT_EXIT, ACT_DENY, ACT_KILL, ACT_ADDFD, ACT_RETRACE };

/* A listener call's open that fnguard makes itself (ACT_ADDFD). */
struct handover {
	const char *path;
	uint64_t flags;			/* as the caller asked */
};

static const int forwarded[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
	SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGALRM,
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the tracee table ---- */

static struct tracee *
find(struct tracer *tr, pid_t tid)
{
	struct tracee *t;

	for (t = tr->buckets[(unsigned)tid % BUCKETS]; t != NULL; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

/*
 * /proc/PID/task/TID/status (pid 0: fnguard's own thread) into buf, after
 * a '\n' so that every line, the first too, can be found as "\nKey:".
 * Returns 0, or -1.
 */
static int
read_status(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/thread-self/status");
	else
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/status",
		    (long)pid, (long)tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf + 1, len - 2);
	close(fd);
	if (n <= 0)
		return -1;
	buf[0] = '\n';
	buf[n + 1] = '\0';
	return 0;
}

/* The thread group of a thread, from its status; tid when unreadable. */
static pid_t
tgid_of(pid_t tid)
{
	char buf[1024], *p;

	if (read_status(tid, tid, buf, sizeof(buf)) == -1 ||
	    (p = strstr(buf, "\nTgid:")) == NULL)
		return tid;
	return (pid_t)strtol(p + 6, NULL, 10);
}

/* Does tid lead its thread group? tgkill(2) with signal 0 checks that
 * tid is in group tid and sends nothing. -1: cannot tell. */
static int
leads_group(pid_t tid)
{
	if (syscall(SYS_tgkill, tid, tid, 0) == 0)
		return 1;
	return errno == ESRCH ? 0 : -1;
}

/*
 * A new tracee. creator: the tracee whose fork, vfork or clone event
 * named tid, or NULL (the first child, or a child whose first stop came
 * before its creator's event). With a creator, a new process is told
 * apart from a new thread with tgkill (the event then compares their
 * memory); anything else reads /proc/TID/status, which costs the kernel
 * far more.
 */
static struct tracee *
add(struct tracer *tr, pid_t tid, const struct tracee *creator)
{
	struct tracee *t = calloc(1, sizeof(*t)), *leader;
	unsigned b = (unsigned)tid % BUCKETS;

	if (t == NULL)
		return NULL;
	t->tid = tid;
	t->maps_fd = -1;
	t->threads = 1;
	if (tid == tr->main_pid || (creator != NULL && leads_group(tid) == 1))
		t->tgid = tid;		/* its memory: new_process_vm */
	else
		t->tgid = tgid_of(tid);
	if (t->tgid != tid) {
		if ((leader = find(tr, t->tgid)) != NULL)
			leader->threads++;
		else
			t->shared_vm = true;	/* unknown group: no fast path */
	} else if (tid != tr->main_pid && creator == NULL) {
		/* A process whose first stop came before its creator's
		 * event: its memory counts as shared until that event tells
		 * (new_process_vm). */
		t->shared_vm = true;
	}
	t->next = tr->buckets[b];
	tr->buckets[b] = t;
	tr->stats.processes++;
	tr->ntasks++;
	return t;
}

static void
drop(struct tracer *tr, pid_t tid)
{
	struct tracee **pp, *t, *leader;

	for (pp = &tr->buckets[(unsigned)tid % BUCKETS]; (t = *pp) != NULL;
	    pp = &t->next)
		if (t->tid == tid) {
			*pp = t->next;
			tr->ntasks--;
			if (t->tgid != tid &&
			    (leader = find(tr, t->tgid)) != NULL)
				leader->threads--;
			if (t->maps_fd != -1)
				close(t->maps_fd);
			free(t);
			return;
		}
}

/* ---- registers ---- */

static uint64_t
arg(const struct user_regs_struct *r, int i)
{
	switch (i) {
	case 0: return r->rdi;
	case 1: return r->rsi;
	case 2: return r->rdx;
	case 3: return r->r10;
	case 4: return r->r8;
	default: return r->r9;
	}
}

static void
set_arg(struct user_regs_struct *r, int i, uint64_t v)
{
	switch (i) {
	case 0: r->rdi = v; break;
	case 1: r->rsi = v; break;
	case 2: r->rdx = v; break;
	case 3: r->r10 = v; break;
	case 4: r->r8 = v; break;
	default: r->r9 = v; break;
	}
}

/* Where the scratch area starts: below the red zone, 16-aligned. */
static uint64_t
scratch_base(const struct user_regs_struct *r)
{
	return (r->rsp - RED_ZONE - SCRATCH) & ~(uint64_t)15;
}

/* Copies buf below the stopped thread's stack pointer, at offset off of
 * the scratch area; the call then reads fnguard's copy, not memory that
 * another thread could change after the check. */
static int
scratch_put(pid_t tid, const struct user_regs_struct *r, size_t off,
    const void *buf, size_t len, uint64_t *addr)
{
	uint64_t base = scratch_base(r);

	if (off + len > SCRATCH) {
		errno = E2BIG;
		return -1;
	}
	*addr = base + off;
	return tmem_write(tid, *addr, buf, len);
}

/* ---- who acts ---- */

static const struct procinfo *
actor(struct tracee *t)
{
	if (!t->have_actor) {
		if (procinfo_describe(t->tgid, &t->actor) == -1) {
			memset(&t->actor, 0, sizeof(t->actor));
			t->actor.pid = t->tgid;
			snprintf(t->actor.exe, sizeof(t->actor.exe), "unknown");
		}
		t->have_actor = true;
	}
	return &t->actor;
}

static void
event_for(struct tracer *tr, struct tracee *t, struct event *ev,
    enum event_kind kind)
{
	event_init(ev, kind);
	ev->pid = t->tgid;
	ev->main_process = t->tgid == tr->main_pid && tr->main_starting;
}

/* The acting process's fields, read from /proc only when an audit or the
 * recording needs them (the rules do not look at them, but for an exec,
 * whose new image the caller has set). */
static void
attach(struct tracee *t, struct event *ev)
{
	const char *path = ev->process_path, *cmd = ev->command;

	guard_attribute(ev, actor(t));
	if (path != NULL)
		ev->process_path = path;
	if (cmd != NULL)
		ev->command = cmd;
}

static bool
judge(struct tracer *tr, struct tracee *t, struct event *ev)
{
	struct verdict v;
	int64_t now = now_ms();

	if (tr->guard->record == NULL) {
		if ((ev->kind == EVENT_CONNECT || ev->kind == EVENT_SENDTO) &&
		    tr->guard->learned != NULL)
			ev->resolved = ipmap_lookup(tr->guard->learned, &ev->ip,
			    now, NULL);
		guard_peek(tr->guard, ev, &v);
		if (v.verdict == VERDICT_ALLOW)
			return true;
	}
	attach(t, ev);
	guard_judge(tr->guard, ev, now, &v);
	return v.verdict != VERDICT_PREVENT;
}

/* The second look disagreed with the first and denies: kill, audit. */
static enum act
race(struct tracer *tr, struct tracee *t, struct event *ev, const char *what)
{
	struct verdict v;

	ev->time_ms = now_ms();
	guard_peek(tr->guard, ev, &v);
	if (v.verdict == VERDICT_ALLOW)
		return ACT_ALLOW;
	log_warnx("pid %ld: %s changed under the check; killed",
	    (long)t->tgid, what);
	attach(t, ev);
	if (v.verdict == VERDICT_ALERT)
		v.verdict = VERDICT_PREVENT;
	guard_audit(tr->guard, ev, &v, now_ms());
	guard_record(tr->guard, ev);
	return ACT_KILL;
}

static bool
section_on(const struct tracer *tr, enum effect e)
{
	(void)tr;
	return e != EFFECT_DISABLE;
}

static bool
files_on(const struct tracer *tr)
{
	return (tr->guard->rule != NULL &&
	    section_on(tr, tr->guard->rule->filesystem.effect)) ||
	    tr->guard->record != NULL;
}

/* ---- exec ---- */

/* "#!interpreter" at the start of path: its resolved path in out. */
static bool
script_interpreter(pid_t pid, pid_t tid, const char *path, char *out,
    size_t outlen)
{
	char head[256], interp[256];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return false;
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n <= 0 || !tmem_shebang(head, (size_t)n, interp, sizeof(interp)))
		return false;
	return pathres_resolve(pid, tid, AT_FDCWD, interp, PATHRES_FOLLOW,
	    false, out, outlen) >= 0;
}

static enum act
on_exec(struct tracer *tr, struct tracee *t, const struct user_regs_struct *r,
    bool at, int *err)
{
	char path[PATH_MAX], command[1024];
	struct event ev;
	struct stat st;
	int dirfd = at ? (int)arg(r, 0) : AT_FDCWD;
	int flags = at ? (int)arg(r, 4) : 0;
	uint64_t argv = arg(r, at ? 2 : 1);

	t->pending = PEND_NONE;
	if (tmem_read_str(t->tid, arg(r, at ? 1 : 0), path,
	    sizeof(path)) == -1) {
		*err = errno == ENAMETOOLONG ? ENAMETOOLONG : EFAULT;
		log_debug("pid %ld: exec: path unreadable: denied",
		    (long)t->tgid);
		return ACT_DENY;
	}
	/* Directories seen lately are taken from pathres's cache: this
	 * check only gives a denied exec its EACCES; the one that counts is
	 * at the exec event, against the image the kernel loaded. */
	if (pathres_resolve_cached(t->tgid, t->tid, dirfd, path,
	    (flags & AT_SYMLINK_NOFOLLOW) ? PATHRES_NOFOLLOW : PATHRES_FOLLOW,
	    (flags & AT_EMPTY_PATH) != 0, t->checked, sizeof(t->checked)) == -1) {
		*err = errno;
		return ACT_DENY;
	}
	/* Nothing there: the kernel fails it (execvp walks PATH this way);
	 * a file that appears meanwhile meets the check at the exec event. */
	memset(&st, 0, sizeof(st));
	if (stat(t->checked, &st) == -1 && strncmp(t->checked, "/memfd:", 7) != 0)
		return ACT_ALLOW;	/* pending stays none: judged at the event */
	if (tmem_read_argv(t->tid, argv, command, sizeof(command)) == -1) {
		*err = EFAULT;
		return ACT_DENY;
	}
	/* Only a regular file can be a script: opening whatever the tracee
	 * names (a device, a FIFO) could do something or block. */
	if (!S_ISREG(st.st_mode) || !script_interpreter(t->tgid, t->tid,
	    t->checked, t->interp, sizeof(t->interp)))
		t->interp[0] = '\0';
	event_for(tr, t, &ev, EVENT_EXEC);
	ev.process_path = t->checked;
	ev.command = command;
	ev.interpreter = t->interp[0] != '\0' ? t->interp : NULL;
	if (!judge(tr, t, &ev)) {
		*err = EACCES;
		return ACT_DENY;
	}
	t->pending = PEND_EXEC;
	return ACT_ALLOW;
}

/* PTRACE_EVENT_EXEC: the new image is in place and has not run. */
static enum act
exec_event(struct tracer *tr, struct tracee *t)
{
	char exe[PATH_MAX], link[64];
	struct event ev;
	ssize_t n;
	enum act a = ACT_ALLOW;

	t->have_actor = false;
	t->shared_vm = false;		/* a new address space of its own */
	t->creds = CREDS_UNKNOWN;	/* a set-user-ID image may change them */
	if (t->maps_fd != -1) {
		close(t->maps_fd);
		t->maps_fd = -1;
	}
	snprintf(link, sizeof(link), "/proc/%ld/exe", (long)t->tid);
	if ((n = readlink(link, exe, sizeof(exe) - 1)) <= 0) {
		log_warnx("pid %ld: exec: cannot read %s: killed",
		    (long)t->tgid, link);
		return ACT_KILL;
	}
	exe[n] = '\0';
	if (t->pending != PEND_EXEC || (strcmp(exe, t->checked) != 0 &&
	    strcmp(exe, t->interp) != 0)) {
		event_for(tr, t, &ev, EVENT_EXEC);
		ev.process_path = exe;
		ev.command = actor(t)->command;
		a = race(tr, t, &ev, "executable");
	}
	t->pending = PEND_NONE;
	return a;
}

/* ---- files ---- */

enum ftype { F_PLAIN, F_OPEN, F_OPENAT2, F_AT, F_SYMLINK, F_HANDLE };

struct filecall {
	int nr;
	enum event_kind kind;
	enum ftype type;
	signed char dirfd, path, dirfd2, path2, flags;
	bool follow;
};

static const struct filecall filecalls[] = {
	{ __NR_open, EVENT_OPEN, F_OPEN, -1, 0, -1, -1, 1, true },
	{ __NR_openat, EVENT_OPEN, F_OPEN, 0, 1, -1, -1, 2, true },
	{ __NR_openat2, EVENT_OPEN, F_OPENAT2, 0, 1, -1, -1, 2, true },
	{ __NR_creat, EVENT_OPEN, F_OPEN, -1, 0, -1, -1, -1, true },
	{ __NR_open_by_handle_at, EVENT_OPEN, F_HANDLE, -1, -1, -1, -1, -1,
	    false },
	{ __NR_truncate, EVENT_TRUNCATE, F_PLAIN, -1, 0, -1, -1, -1, true },
	{ __NR_unlink, EVENT_UNLINK, F_PLAIN, -1, 0, -1, -1, -1, false },
	{ __NR_unlinkat, EVENT_UNLINK, F_AT, 0, 1, -1, -1, 2, false },
	{ __NR_rename, EVENT_RENAME, F_PLAIN, -1, 0, -1, 1, -1, false },
	{ __NR_renameat, EVENT_RENAME, F_PLAIN, 0, 1, 2, 3, -1, false },
	{ __NR_renameat2, EVENT_RENAME, F_PLAIN, 0, 1, 2, 3, -1, false },
	{ __NR_link, EVENT_LINK, F_PLAIN, -1, 0, -1, 1, -1, false },
	{ __NR_linkat, EVENT_LINK, F_AT, 0, 1, 2, 3, 4, false },
	{ __NR_symlink, EVENT_LINK, F_SYMLINK, -1, 0, -1, 1, -1, false },
	{ __NR_symlinkat, EVENT_LINK, F_SYMLINK, -1, 0, 1, 2, -1, false },
	{ __NR_mkdir, EVENT_MKDIR, F_PLAIN, -1, 0, -1, -1, -1, false },
	{ __NR_mkdirat, EVENT_MKDIR, F_PLAIN, 0, 1, -1, -1, -1, false },
	{ __NR_rmdir, EVENT_RMDIR, F_PLAIN, -1, 0, -1, -1, -1, false },
	{ __NR_chmod, EVENT_CHMOD, F_PLAIN, -1, 0, -1, -1, -1, true },
	{ __NR_fchmodat, EVENT_CHMOD, F_PLAIN, 0, 1, -1, -1, -1, true },
	{ __NR_fchmodat2, EVENT_CHMOD, F_AT, 0, 1, -1, -1, 3, true },
	{ __NR_chown, EVENT_CHOWN, F_PLAIN, -1, 0, -1, -1, -1, true },
	{ __NR_lchown, EVENT_CHOWN, F_PLAIN, -1, 0, -1, -1, -1, false },
	{ __NR_fchownat, EVENT_CHOWN, F_AT, 0, 1, -1, -1, 4, true },
	{ __NR_mknod, EVENT_CREATE, F_PLAIN, -1, 0, -1, -1, -1, false },
	{ __NR_mknodat, EVENT_CREATE, F_PLAIN, 0, 1, -1, -1, -1, false },
	{ __NR_utimensat, EVENT_CHMOD, F_AT, 0, 1, -1, -1, 3, true },
	{ __NR_utime, EVENT_CHMOD, F_PLAIN, -1, 0, -1, -1, -1, true },
	{ __NR_utimes, EVENT_CHMOD, F_PLAIN, -1, 0, -1, -1, -1, true },
	{ __NR_futimesat, EVENT_CHMOD, F_PLAIN, 0, 1, -1, -1, -1, true },
};

static const struct filecall *
filecall_of(long nr)
{
	size_t i;

	for (i = 0; i < sizeof(filecalls) / sizeof(filecalls[0]); i++)
		if (filecalls[i].nr == nr)
			return &filecalls[i];
	return NULL;
}

/* Where the all-digit component that ends at path[end] starts (after
 * its "/"), or 0 when there is none. */
static size_t
number_before(const char *path, size_t end)
{
	size_t p = end;

	while (p > 0 && path[p - 1] >= '0' && path[p - 1] <= '9')
		p--;
	return p < end && p > 0 && path[p - 1] == '/' ? p : 0;
}

/* P/N/mem or P/N/task/M/mem, P a proc file system (/proc, or one mounted
 * elsewhere): N, else 0. */
static long
proc_mem(const char *path)
{
	char dir[PATH_MAX];
	size_t len = strlen(path), n;

	if (len < 6 || strcmp(path + len - 4, "/mem") != 0 ||
	    (n = number_before(path, len - 4)) == 0)
		return 0;
	if (n >= 6 && memcmp(path + n - 6, "/task/", 6) == 0 &&
	    (n = number_before(path, n - 6)) == 0)
		return 0;
	if (n - 1 >= sizeof(dir))
		return 0;
	memcpy(dir, path, n - 1);	/* P, without the "/" before N */
	dir[n - 1] = '\0';
	return pathres_on_proc(dir) ? strtol(path + n, NULL, 10) : 0;
}

/* Reads and resolves the path in argument pi (dirfd in di). */
static int
read_path(struct tracee *t, const struct user_regs_struct *r, int di, int pi,
    bool follow, bool empty_ok, bool cached, char *out, size_t outlen)
{
	char raw[PATH_MAX];
	uint64_t addr = arg(r, pi);
	int dirfd = di >= 0 ? (int)arg(r, di) : AT_FDCWD;

	if (addr == 0 && empty_ok) {	/* utimensat(fd, NULL, ...) */
		raw[0] = '\0';
	} else if (tmem_read_str(t->tid, addr, raw, sizeof(raw)) == -1) {
		if (errno != ENAMETOOLONG)
			errno = EFAULT;
		return -1;
	}
	return (cached ? pathres_resolve_cached : pathres_resolve)(t->tgid,
	    t->tid, dirfd, raw, follow ? PATHRES_FOLLOW : PATHRES_NOFOLLOW,
	    empty_ok, out, outlen);
}

/* Can only the stopped thread touch the memory that holds the stack
 * scratch? One thread in the group, no process sharing its memory, and
 * the stack pointer's mapping private (PROCMAP_QUERY). */
static bool
memory_private(struct tracer *tr, struct tracee *t,
    const struct user_regs_struct *r)
{
	struct tracee *leader = t->tgid == t->tid ? t : find(tr, t->tgid);
	struct procmap_query_abi q;
	char path[64];

	if (leader == NULL || leader->threads != 1 || leader->shared_vm ||
	    t->shared_vm)
		return false;
	if (leader->maps_fd == -1) {
		snprintf(path, sizeof(path), "/proc/%ld/maps", (long)t->tgid);
		if ((leader->maps_fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			return false;
	}
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_addr = scratch_base(r);
	if (ioctl(leader->maps_fd, PROCMAP_QUERY_IOCTL, &q) == -1)
		return false;
	return !(q.vma_flags & PROCMAP_VMA_SHARED) &&
	    q.vma_start <= q.query_addr && q.vma_end >= r->rsp;
}

/*
 * The open as judged: the call becomes openat2(2) of the checked absolute
 * path, copied below the stopped thread's stack, with RESOLVE_NO_SYMLINKS,
 * so the kernel opens what was judged or fails (a symlink swapped in
 * meanwhile gives ELOOP; mounts are refused while files are checked). Not
 * for paths through /proc links, whose targets may be gone by name, or
 * ending in "/". Returns false when the call is left as it was.
 */
static bool
pin_open(struct tracee *t, const struct filecall *fc,
    struct user_regs_struct *r, uint64_t flags, bool not_plain)
{
	struct { uint64_t flags, mode, resolve; } how;
	char blob[4096 + 8 + sizeof(how)];
	uint64_t path_at, how_at;
	size_t len = strlen(t->checked) + 1, how_off;

	if (fc->type != F_OPEN || not_plain ||
	    (flags & ~(uint64_t)OPEN_FLAGS) || len > 4096)
		return false;
	how.flags = flags;
	how.mode = 0;
	if (flags & (O_CREAT | O_TMPFILE))
		how.mode = (fc->nr == __NR_creat ? arg(r, 1) :
		    fc->nr == __NR_open ? arg(r, 2) : arg(r, 3)) & 07777;
	how.resolve = RESOLVE_NO_SYMLINKS;
	/* One write: the path, then the open_how 8-aligned after it. */
	how_off = (len + 7) & ~(size_t)7;
	memcpy(blob, t->checked, len);
	memcpy(blob + how_off, &how, sizeof(how));
	if (scratch_put(t->tid, r, 0, blob, how_off + sizeof(how),
	    &path_at) == -1)
		return false;
	how_at = path_at + how_off;
	r->orig_rax = __NR_openat2;
	set_arg(r, 0, (uint64_t)(int64_t)AT_FDCWD);
	set_arg(r, 1, path_at);
	set_arg(r, 2, how_at);
	set_arg(r, 3, sizeof(how));
	return true;
}

/*
 * Points argument pi at a copy of the resolved path (dirfd argument di
 * made AT_FDCWD), at offset off of the scratch area. Paths through /proc
 * links, and empty paths meaning a descriptor, stay as written (res & 1).
 * Returns 0, or -1 when the copy cannot be written.
 */
static int
pin_path(struct tracee *t, struct user_regs_struct *r, int di, int pi,
    const char *resolved, int res, size_t off, bool *changed)
{
	char buf[PATH_MAX + 2];
	uint64_t at;
	size_t len;

	if (res & 1)
		return 0;
	len = strlen(resolved);
	if (len + 2 > sizeof(buf))
		return -1;
	memcpy(buf, resolved, len + 1);
	if ((res & 2) && len > 1) {	/* "dir/": the kernel wants a dir */
		buf[len++] = '/';
		buf[len] = '\0';
	}
	if (scratch_put(t->tid, r, off, buf, len + 1, &at) == -1)
		return -1;
	set_arg(r, pi, at);
	if (di >= 0)
		set_arg(r, di, (uint64_t)(int64_t)AT_FDCWD);
	*changed = true;
	return 0;
}

/*
 * What decides what a thread may open, as text: the Uid, Gid, Groups and
 * CapEff lines of /proc/PID/task/TID/status (pid 0: fnguard) and the user
 * namespace. Returns 0, or -1.
 */
static int
creds_of(pid_t pid, pid_t tid, char *out, size_t outlen)
{
	static const char *const keys[] = { "\nUid:", "\nGid:", "\nGroups:",
		"\nCapEff:" };
	char path[64], buf[4096], *p, *e;
	size_t len = 0, i;
	ssize_t n;

	if (read_status(pid, tid, buf, sizeof(buf)) == -1)
		return -1;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((p = strstr(buf, keys[i])) == NULL ||
		    (e = strchr(p + 1, '\n')) == NULL ||
		    len + (size_t)(e - p) >= outlen)
			return -1;
		memcpy(out + len, p, (size_t)(e - p));
		len += (size_t)(e - p);
	}
	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/ns/user");
	else
		snprintf(path, sizeof(path), "/proc/%ld/ns/user", (long)tid);
	if ((n = readlink(path, out + len, outlen - len - 1)) <= 0)
		return -1;
	out[len + (size_t)n] = '\0';
	return 0;
}

/*
 * May fnguard open t->checked itself, and give the caller the descriptor
 * (ACT_ADDFD)? A plain path (no /proc link, no trailing "/") outside
 * /proc, /sys and /dev, opened without creating anything, by a thread
 * whose credentials are fnguard's.
 */
static bool
can_open_for(struct tracer *tr, struct tracee *t, uint64_t flags, int res)
{
	char creds[sizeof(tr->self_creds)];

	if (res != 0 || (flags & ~(uint64_t)OPEN_FLAGS) ||
	    (flags & (O_CREAT | O_TMPFILE)) ||
	    strncmp(t->checked, "/proc/", 6) == 0 ||
	    strncmp(t->checked, "/sys/", 5) == 0 ||
	    strncmp(t->checked, "/dev/", 5) == 0 || tr->self_creds[0] == '\0')
		return false;
	if (t->creds == CREDS_UNKNOWN)
		t->creds = creds_of(t->tgid, t->tid, creds, sizeof(creds)) == 0 &&
		    strcmp(creds, tr->self_creds) == 0 ? CREDS_SAME : CREDS_OTHER;
	return t->creds == CREDS_SAME;
}

/*
 * Judges a file call. At a ptrace stop (ho NULL) the call's registers may
 * be rewritten (*regs_changed). For a listener's open (ho set) nothing can
 * be rewritten: the answer is ACT_ALLOW (it runs as it is), ACT_ADDFD
 * (fnguard opens *ho and hands the descriptor over), ACT_RETRACE or
 * ACT_DENY.
 */
static enum act
on_file(struct tracer *tr, struct tracee *t, const struct filecall *fc,
    struct user_regs_struct *r, int *err, bool *regs_changed,
    struct handover *ho)
{
	char newpath[PATH_MAX], target[PATH_MAX], rawtarget[PATH_MAX];
	uint64_t flags = 0, scratch;
	struct event ev;
	struct stat st;
	bool follow = fc->follow, empty = false, open_like;
	enum event_kind kind = fc->kind;
	enum event_access access = ACCESS_NONE;
	long mem_pid;
	int res = 0, res2 = 0;

	t->pending = PEND_NONE;
	if (fc->type == F_HANDLE) {
		/* A handle reaches any file on the mount: only when the
		 * policy allows every file. */
		if (!files_on(tr))
			return ACT_ALLOW;
		log_warnx("pid %ld: open_by_handle_at refused (the policy "
		    "checks files)", (long)t->tgid);
		*err = EPERM;
		return ACT_DENY;
	}
	open_like = fc->type == F_OPEN || fc->type == F_OPENAT2;
	if (fc->nr == __NR_creat)
		flags = O_CREAT | O_WRONLY | O_TRUNC;
	else if (fc->type == F_OPENAT2) {
		if (tmem_read(t->tid, arg(r, 2), &flags, sizeof(flags)) == -1) {
			*err = EFAULT;
			return ACT_DENY;
		}
	} else if (fc->type == F_OPEN && fc->flags >= 0)
		flags = (uint32_t)arg(r, fc->flags);	/* an int: no mark */
	else if (fc->flags >= 0)
		flags = arg(r, fc->flags);
	if (open_like) {
		if ((flags & O_NOFOLLOW) ||
		    (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			follow = false;
		access = (flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC) ?
		    ACCESS_READ : ACCESS_WRITE;
	} else if (fc->type == F_AT) {
		if (flags & AT_SYMLINK_NOFOLLOW)
			follow = false;
		if (fc->nr == __NR_linkat)
			follow = (flags & AT_SYMLINK_FOLLOW) != 0;
		if (fc->nr == __NR_unlinkat && (flags & AT_REMOVEDIR))
			kind = EVENT_RMDIR;
		empty = (flags & AT_EMPTY_PATH) != 0 ||
		    fc->nr == __NR_utimensat;
	}
	if (fc->type == F_SYMLINK) {
		/* The link's text, as the kernel stores it; checked where
		 * it points from the link's directory. */
		if (tmem_read_str(t->tid, arg(r, 0), target,
		    sizeof(target)) == -1 ||
		    (res2 = read_path(t, r, fc->dirfd2, fc->path2, false, false,
		    false, newpath, sizeof(newpath))) == -1) {
			*err = errno == ENAMETOOLONG ? ENAMETOOLONG : EFAULT;
			return ACT_DENY;
		}
		memcpy(rawtarget, target, sizeof(rawtarget));
		if (target[0] != '/') {
			char dir[PATH_MAX], *slash;

			snprintf(dir, sizeof(dir), "%s", newpath);
			if ((slash = strrchr(dir, '/')) != NULL)
				slash[slash == dir] = '\0';
			if ((size_t)snprintf(t->checked, sizeof(t->checked),
			    "%s/%s", dir, target) >= sizeof(t->checked)) {
				*err = ENAMETOOLONG;
				return ACT_DENY;
			}
			snprintf(target, sizeof(target), "%s", t->checked);
		}
		if (pathres_resolve(t->tgid, t->tid, AT_FDCWD, target,
		    PATHRES_FOLLOW, false, t->checked, sizeof(t->checked)) == -1) {
			*err = errno;
			return ACT_DENY;
		}
	} else if ((res = read_path(t, r, fc->dirfd, fc->path, follow, empty,
	    open_like, t->checked, sizeof(t->checked))) == -1) {
		*err = errno;
		return ACT_DENY;
	} else if (fc->path2 >= 0 && (res2 = read_path(t, r, fc->dirfd2,
	    fc->path2, false, false, false, newpath, sizeof(newpath))) == -1) {
		*err = errno;
		return ACT_DENY;
	}

	/* Another process's memory (fnguard's, another tracee's) is out of
	 * reach whatever the policy. */
	if (open_like && (mem_pid = proc_mem(t->checked)) != 0 &&
	    mem_pid != t->tgid) {
		log_warnx("pid %ld: open of %s refused", (long)t->tgid,
		    t->checked);
		*err = EACCES;
		return ACT_DENY;
	}
	if (open_like && (flags & O_CREAT) && stat(t->checked, &st) == -1)
		kind = EVENT_CREATE;
	if (!files_on(tr))
		goto resolv_conf;
	event_for(tr, t, &ev, kind);
	ev.filepath = t->checked;
	ev.newpath = fc->path2 >= 0 || fc->type == F_SYMLINK ? newpath : NULL;
	ev.access = kind == EVENT_OPEN ? access : ACCESS_NONE;
	if (!judge(tr, t, &ev)) {
		*err = EACCES;
		return ACT_DENY;
	}
resolv_conf:
	if (open_like && tr->cfg.resolv_conf != NULL &&
	    access == ACCESS_READ && strcmp(t->checked, "/etc/resolv.conf") == 0) {
		if (ho != NULL) {
			ho->path = tr->cfg.resolv_conf;
			ho->flags = O_RDONLY | (flags & O_CLOEXEC);
			tr->stats.redirected++;
			return ACT_ADDFD;
		}
		if (scratch_put(t->tid, r, 0, tr->cfg.resolv_conf,
		    strlen(tr->cfg.resolv_conf) + 1, &scratch) == -1) {
			*err = EFAULT;
			return ACT_DENY;
		}
		set_arg(r, fc->path, scratch);
		*regs_changed = true;
		tr->stats.redirected++;
		return ACT_ALLOW;
	}
	if (open_like && ho != NULL) {
		/* Whether or not files are checked (/proc/N/mem is refused
		 * to all): a call let through as it is makes the kernel walk
		 * the caller's path again, read again from the caller's
		 * memory. Only when the caller is the one thread fnguard
		 * traces is there nobody to change either meanwhile: no
		 * thread to rewrite the buffer, no process to swap a
		 * directory for a symlink (directories cached by pathres are
		 * dropped on every call that renames, links or removes). */
		if (tr->ntasks == 1) {
			tr->stats.fast_opens++;
			return ACT_ALLOW;
		}
		/* Else fnguard opens what was judged, as the pinned
		 * openat2 would, and hands over the descriptor. */
		if (can_open_for(tr, t, flags, res)) {
			ho->path = t->checked;
			ho->flags = flags;
			return ACT_ADDFD;
		}
		return ACT_RETRACE;
	}
	if (open_like) {
		/* Where only the stopped thread can write the copy, the kernel
		 * opens what was judged: no second look. Elsewhere (threads,
		 * shared memory) the copy still keeps the caller's buffer out
		 * of it, and the opened file is looked at after the call. */
		if (pin_open(t, fc, r, flags, res != 0)) {
			*regs_changed = true;
			if (memory_private(tr, t, r)) {
				tr->stats.fast_opens++;
				return ACT_ALLOW;
			}
		}
		t->pending = PEND_OPEN;
		t->pend_kind = kind;
		t->pend_access = access;
		return ACT_EXIT;
	}
	if (open_like || !files_on(tr))
		return ACT_ALLOW;
	pathres_forget();	/* what a cached directory is may change */
	/* No look after these calls: they get fnguard's copies of what was
	 * judged, not memory a racing thread could change. */
	if (fc->type == F_SYMLINK) {
		if (scratch_put(t->tid, r, 0, rawtarget, strlen(rawtarget) + 1,
		    &scratch) == -1) {
			*err = EFAULT;
			return ACT_DENY;
		}
		set_arg(r, fc->path, scratch);
		*regs_changed = true;
	} else if (pin_path(t, r, fc->dirfd, fc->path, t->checked, res, 0,
	    regs_changed) == -1) {
		*err = EFAULT;
		return ACT_DENY;
	}
	if (fc->path2 >= 0 && pin_path(t, r, fc->dirfd2, fc->path2, newpath,
	    res2, 8192, regs_changed) == -1) {
		*err = EFAULT;
		return ACT_DENY;
	}
	return ACT_ALLOW;
}

/* After an open returned: the file the descriptor holds is the one that
 * was checked, or it is checked now. */
static enum act
open_exit(struct tracer *tr, struct tracee *t, long ret)
{
	char held[PATH_MAX], *del;
	struct event ev;

	t->pending = PEND_NONE;
	if (ret < 0)
		return ACT_ALLOW;
	if (pathres_fd(t->tgid, (int)ret, held, sizeof(held)) == -1 ||
	    held[0] != '/')
		return ACT_ALLOW;	/* pipe:[N], anon_inode: no path */
	if ((del = strstr(held, " (deleted)")) != NULL && del[10] == '\0')
		*del = '\0';
	if (strcmp(held, t->checked) == 0)
		return ACT_ALLOW;
	event_for(tr, t, &ev, t->pend_kind);
	ev.filepath = held;
	ev.access = t->pend_kind == EVENT_OPEN ? t->pend_access : ACCESS_NONE;
	return race(tr, t, &ev, "opened file");
}

/* ---- network ---- */

static int
sock_of(struct tracee *t, int fd)
{
	int pidfd, sfd;

	if ((pidfd = (int)syscall(__NR_pidfd_open, t->tgid, 0)) == -1)
		return -1;
	sfd = (int)syscall(__NR_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	return sfd;
}

static int
sock_type(int sfd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(sfd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return -1;
	return type;
}

/* ip and port of an inet address; false for other families. */
static bool
inet_of(const struct sockaddr_storage *ss, socklen_t len, struct ipaddr *ip,
    int *port)
{
	memset(ip, 0, sizeof(*ip));
	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)ss;

		ip->family = 4;
		memcpy(ip->bytes, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		ip->family = 6;
		memcpy(ip->bytes, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
	} else
		return false;
	ipaddr_normalize(ip);
	return true;
}

/* The resolver's address in the socket's family (IPv4 through a mapped
 * address for an IPv6 socket). */
static socklen_t
dns_addr_for(const struct tracer *tr, int family, struct sockaddr_storage *out)
{
	const struct sockaddr_storage *d = &tr->cfg.dns;

	memset(out, 0, sizeof(*out));
	if (d->ss_family == family) {
		*out = *d;
		return tr->cfg.dns_len;
	}
	if (family == AF_INET6 && d->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)d;
		struct sockaddr_in6 *s6 = (void *)out;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = sin->sin_port;
		s6->sin6_addr.s6_addr[10] = 0xff;
		s6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&s6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
		return sizeof(*s6);
	}
	return 0;
}

/*
 * The checks for one destination. On allow, *dst (len *dlen) is what the
 * call must use: the same address, or the resolver's or the proxy's.
 */
static struct redirect *
find_redirect(struct tracer *tr, pid_t tgid, int fd)
{
	size_t i;

	for (i = 0; i < REDIRECTS; i++)
		if (tr->redirects[i].tgid == tgid && tr->redirects[i].fd == fd)
			return &tr->redirects[i];
	return NULL;
}

static void
note_redirect(struct tracer *tr, pid_t tgid, int fd,
    const struct sockaddr_storage *orig, socklen_t len)
{
	struct redirect *rd = find_redirect(tr, tgid, fd);

	if (rd == NULL) {
		rd = &tr->redirects[tr->next_redirect];
		tr->next_redirect = (tr->next_redirect + 1) % REDIRECTS;
	}
	rd->tgid = tgid;
	rd->fd = fd;
	rd->orig = *orig;
	rd->orig_len = len;
}

static bool same_sockaddr(const struct sockaddr_storage *,
    const struct sockaddr_storage *);

static enum act
outbound(struct tracer *tr, struct tracee *t, int fd, int sfd, int type,
    enum event_kind kind, struct sockaddr_storage *dst, socklen_t *dlen,
    int *err)
{
	struct sockaddr_storage local, redirect;
	socklen_t llen = sizeof(local), rlen;
	struct event ev;
	struct ipaddr ip;
	int port, slot;

	if (!inet_of(dst, *dlen, &ip, &port))
		return ACT_ALLOW;	/* AF_UNIX, AF_UNSPEC, netlink */
	if (port == 53 && tr->cfg.dns.ss_family != 0 &&
	    (type == SOCK_DGRAM || type == SOCK_STREAM)) {
		if ((rlen = dns_addr_for(tr, dst->ss_family, &redirect)) > 0) {
			if (!same_sockaddr(dst, &redirect))
				note_redirect(tr, t->tgid, fd, dst, *dlen);
			*dst = redirect;
			*dlen = rlen;
			tr->stats.redirected++;
			return ACT_ALLOW;
		}
	}
	event_for(tr, t, &ev, kind);
	ev.ip = ip;
	ev.port = port;
	ev.proto = type == SOCK_STREAM ? PROTO_TCP : PROTO_UDP;
	slot = dst->ss_family == AF_INET ? 0 : 1;
	if (type == SOCK_STREAM && kind == EVENT_CONNECT &&
	    tr->cfg.proxy != NULL && tr->guard->rule != NULL &&
	    rules_needs_payload(tr->guard->rule) &&
	    tr->cfg.proxy_addr[slot].ss_family != 0) {
		/* What the address and port alone deny is refused here, with
		 * EACCES, not reset by the proxy after a connect. */
		struct verdict v;

		if (tr->guard->learned != NULL)
			ev.resolved = ipmap_lookup(tr->guard->learned, &ev.ip,
			    now_ms(), NULL);
		guard_peek(tr->guard, &ev, &v);
		if (v.verdict == VERDICT_PREVENT) {
			judge(tr, t, &ev);
			*err = EACCES;
			return ACT_DENY;
		}
	}
	if (type == SOCK_STREAM && kind == EVENT_CONNECT &&
	    tr->cfg.proxy != NULL && tr->guard->rule != NULL &&
	    rules_needs_payload(tr->guard->rule) &&
	    tr->cfg.proxy_addr[slot].ss_family != 0) {
		/* The proxy judges it with its first bytes: it learns the
		 * destination from the socket's local port, bound here. */
		if (getsockname(sfd, (struct sockaddr *)&local, &llen) == -1)
			goto refuse;
		if ((local.ss_family == AF_INET &&
		    ((struct sockaddr_in *)&local)->sin_port == 0) ||
		    (local.ss_family == AF_INET6 &&
		    ((struct sockaddr_in6 *)&local)->sin6_port == 0)) {
			struct sockaddr_storage any = tr->cfg.proxy_addr[slot];

			if (any.ss_family == AF_INET)
				((struct sockaddr_in *)&any)->sin_port = 0;
			else
				((struct sockaddr_in6 *)&any)->sin6_port = 0;
			if (bind(sfd, (struct sockaddr *)&any, any.ss_family ==
			    AF_INET ? sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6)) == -1)
				goto refuse;
			llen = sizeof(local);
			if (getsockname(sfd, (struct sockaddr *)&local,
			    &llen) == -1)
				goto refuse;
		}
		if (proxy_register(tr->cfg.proxy, &local, dst) == -1)
			goto refuse;
		*dst = tr->cfg.proxy_addr[slot];
		*dlen = slot == 0 ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
		tr->stats.redirected++;
		return ACT_ALLOW;
	}
	if (!judge(tr, t, &ev)) {
		*err = EACCES;
		return ACT_DENY;
	}
	return ACT_ALLOW;
refuse:
	log_warn("pid %ld: connect through the proxy", (long)t->tgid);
	*err = ECONNREFUSED;
	return ACT_DENY;
}

static int
read_sockaddr(pid_t tid, uint64_t addr, uint64_t len,
    struct sockaddr_storage *ss, socklen_t *slen)
{
	memset(ss, 0, sizeof(*ss));
	*slen = len > sizeof(*ss) ? sizeof(*ss) : (socklen_t)len;
	return tmem_read(tid, addr, ss, *slen);
}

static enum act
on_connect(struct tracer *tr, struct tracee *t, struct user_regs_struct *r,
    int *err, bool *regs_changed)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	uint64_t scratch;
	int fd = (int)arg(r, 0), sfd, type;
	enum act a;

	t->pending = PEND_NONE;
	if (arg(r, 1) == 0 || arg(r, 2) < sizeof(sa_family_t))
		return ACT_ALLOW;	/* the kernel refuses it */
	if (read_sockaddr(t->tid, arg(r, 1), arg(r, 2), &dst, &dlen) == -1) {
		*err = EFAULT;
		return ACT_DENY;
	}
	if (dst.ss_family != AF_INET && dst.ss_family != AF_INET6)
		return ACT_ALLOW;
	if ((sfd = sock_of(t, fd)) == -1) {
		*err = errno == EBADF ? EBADF : ENOTSOCK;
		return ACT_DENY;
	}
	if ((type = sock_type(sfd)) == -1) {
		close(sfd);
		*err = ENOTSOCK;
		return ACT_DENY;
	}
	a = outbound(tr, t, fd, sfd, type, EVENT_CONNECT, &dst, &dlen, err);
	close(sfd);
	if (a != ACT_ALLOW)
		return a;
	/* The call reads fnguard's copy of what was judged. */
	if (scratch_put(t->tid, r, 0, &dst, dlen, &scratch) == -1) {
		*err = EFAULT;
		return ACT_DENY;
	}
	set_arg(r, 1, scratch);
	set_arg(r, 2, dlen);
	*regs_changed = true;
	t->pending = PEND_CONNECT;
	t->pend_fd = fd;
	t->pend_addr = dst;
	return ACT_EXIT;
}

static bool
same_sockaddr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	struct ipaddr x, y;
	int px, py;

	if (!inet_of(a, sizeof(*a), &x, &px) || !inet_of(b, sizeof(*b), &y, &py))
		return false;
	return px == py && ipaddr_equal(&x, &y);
}

/* After connect: the socket's peer is what was judged (when the kernel
 * can tell already; a connect in progress has no peer yet). */
static enum act
connect_exit(struct tracer *tr, struct tracee *t, long ret)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct event ev;
	int sfd;

	t->pending = PEND_NONE;
	if (ret < 0 && ret != -EINPROGRESS)
		return ACT_ALLOW;
	if ((sfd = sock_of(t, t->pend_fd)) == -1)
		return ACT_ALLOW;
	memset(&peer, 0, sizeof(peer));
	if (getpeername(sfd, (struct sockaddr *)&peer, &plen) == -1 ||
	    same_sockaddr(&peer, &t->pend_addr)) {
		close(sfd);
		return ACT_ALLOW;
	}
	close(sfd);
	event_for(tr, t, &ev, EVENT_CONNECT);
	if (!inet_of(&peer, plen, &ev.ip, &ev.port))
		return ACT_ALLOW;
	ev.proto = PROTO_TCP;
	return race(tr, t, &ev, "connect destination");
}

/* sendto(fd, buf, len, flags, dst, dstlen) */
static enum act
on_sendto(struct tracer *tr, struct tracee *t, struct user_regs_struct *r,
    int *err, bool *regs_changed)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	uint64_t scratch;
	int sfd, type;
	enum act a;

	if (arg(r, 5) < sizeof(sa_family_t))
		return ACT_ALLOW;
	if (read_sockaddr(t->tid, arg(r, 4), arg(r, 5), &dst, &dlen) == -1) {
		*err = EFAULT;
		return ACT_DENY;
	}
	if (dst.ss_family != AF_INET && dst.ss_family != AF_INET6)
		return ACT_ALLOW;
	if ((sfd = sock_of(t, (int)arg(r, 0))) == -1) {
		*err = EBADF;
		return ACT_DENY;
	}
	type = sock_type(sfd);
	a = outbound(tr, t, (int)arg(r, 0), sfd, type, EVENT_SENDTO, &dst,
	    &dlen, err);
	close(sfd);
	if (a != ACT_ALLOW)
		return a;
	if (scratch_put(t->tid, r, 0, &dst, dlen, &scratch) == -1) {
		*err = EFAULT;
		return ACT_DENY;
	}
	set_arg(r, 4, scratch);
	set_arg(r, 5, dlen);
	*regs_changed = true;
	return ACT_ALLOW;
}

/* struct msghdr / mmsghdr as the x86-64 kernel reads them. */
struct k_msghdr {
	uint64_t name;
	uint32_t namelen, pad0;
	uint64_t iov, iovlen, control, controllen;
	uint32_t flags, pad1;
};

struct k_mmsghdr {
	struct k_msghdr hdr;
	uint32_t len, pad;
};

/* sendmsg(fd, msg, flags) and sendmmsg(fd, vec, vlen, flags): every
 * destination named is checked; the call then uses fnguard's copies. */
static enum act
on_sendmsg(struct tracer *tr, struct tracee *t, struct user_regs_struct *r,
    bool multi, int *err, bool *regs_changed)
{
	struct k_mmsghdr m[MMSG_MAX];
	struct sockaddr_storage dst[MMSG_MAX];
	socklen_t dlen;
	uint64_t scratch, vlen = multi ? arg(r, 2) : 1;
	size_t i, n, named = 0, stride = multi ? sizeof(m[0]) : sizeof(m[0].hdr);
	int sfd = -1, type = -1;
	enum act a = ACT_ALLOW;

	n = vlen > MMSG_MAX ? MMSG_MAX : (size_t)vlen;
	memset(m, 0, sizeof(m));
	for (i = 0; i < n; i++)
		if (tmem_read(t->tid, arg(r, 1) + i * stride, &m[i], stride) == -1) {
			*err = EFAULT;
			return ACT_DENY;
		}
	for (i = 0; i < n; i++) {
		if (m[i].hdr.name == 0 || m[i].hdr.namelen < sizeof(sa_family_t))
			continue;
		if (read_sockaddr(t->tid, m[i].hdr.name, m[i].hdr.namelen,
		    &dst[i], &dlen) == -1) {
			a = ACT_DENY;
			*err = EFAULT;
			break;
		}
		if (sfd == -1) {
			if ((sfd = sock_of(t, (int)arg(r, 0))) == -1) {
				*err = EBADF;
				return ACT_DENY;
			}
			type = sock_type(sfd);
		}
		if ((a = outbound(tr, t, (int)arg(r, 0), sfd, type,
		    EVENT_SENDTO, &dst[i], &dlen, err)) != ACT_ALLOW)
			break;
		named++;
		if (scratch_put(t->tid, r, 1024 + i * sizeof(dst[0]), &dst[i],
		    dlen, &m[i].hdr.name) == -1) {
			*err = EFAULT;
			a = ACT_DENY;
			break;
		}
		m[i].hdr.namelen = dlen;
	}
	if (sfd != -1)
		close(sfd);
	if (a != ACT_ALLOW)
		return a;
	if (named == 0) {
		/* Entries past the ones read are not sent unchecked. */
		if (multi && vlen > n) {
			set_arg(r, 2, n);
			*regs_changed = true;
		}
		return ACT_ALLOW;
	}
	/* The headers too, pointing at the copies; sendmmsg sends at most
	 * MMSG_MAX at a time (a short count, which callers handle). */
	for (i = 0; i < n; i++)
		if (scratch_put(t->tid, r, 4096 + i * stride, &m[i], stride,
		    &scratch) == -1) {
			*err = EFAULT;
			return ACT_DENY;
		}
	set_arg(r, 1, scratch - (n - 1) * stride);
	if (multi)
		set_arg(r, 2, n);
	*regs_changed = true;
	return ACT_ALLOW;
}

/* recvfrom(fd, buf, len, flags, src, srclen) on a socket whose DNS went to
 * the resolver: the reply's source is shown after the call returns. */
static enum act
on_recvfrom(struct tracer *tr, struct tracee *t, const struct user_regs_struct *r)
{
	if (find_redirect(tr, t->tgid, (int)arg(r, 0)) == NULL)
		return ACT_ALLOW;
	t->pending = PEND_RECV;
	t->pend_fd = (int)arg(r, 0);
	return ACT_EXIT;
}

static enum act
recvfrom_exit(struct tracer *tr, struct tracee *t,
    const struct user_regs_struct *r)
{
	struct sockaddr_storage from, dns;
	struct redirect *rd = find_redirect(tr, t->tgid, t->pend_fd);
	socklen_t len, dlen;
	uint32_t have;

	t->pending = PEND_NONE;
	if ((long)r->rax < 0 || rd == NULL || arg(r, 4) == 0 ||
	    tmem_read(t->tid, arg(r, 5), &have, sizeof(have)) == -1)
		return ACT_ALLOW;
	len = have > sizeof(from) ? sizeof(from) : have;
	memset(&from, 0, sizeof(from));
	if (tmem_read(t->tid, arg(r, 4), &from, len) == -1)
		return ACT_ALLOW;
	dlen = dns_addr_for(tr, from.ss_family, &dns);
	if (dlen == 0 || !same_sockaddr(&from, &dns))
		return ACT_ALLOW;
	/* Cut to the caller's buffer as the kernel would; the length
	 * says the whole size. */
	if (rd->orig.ss_family != from.ss_family)
		return ACT_ALLOW;
	have = rd->orig_len;
	if (tmem_write(t->tid, arg(r, 4), &rd->orig,
	    len < rd->orig_len ? len : rd->orig_len) == -1 ||
	    tmem_write(t->tid, arg(r, 5), &have, sizeof(have)) == -1)
		return ACT_ALLOW;
	tr->stats.replies_fixed++;
	return ACT_ALLOW;
}

/* bind(2) of a UDP port and listen(2): the listening-port lists. */
static enum act
on_listen(struct tracer *tr, struct tracee *t, struct user_regs_struct *r,
    bool is_bind, int *err)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	struct event ev;
	struct ipaddr ip;
	int sfd, type, port;

	if ((sfd = sock_of(t, (int)arg(r, 0))) == -1)
		return ACT_ALLOW;	/* the kernel answers EBADF */
	type = sock_type(sfd);
	if (is_bind) {
		close(sfd);
		if (type != SOCK_DGRAM || arg(r, 1) == 0 ||
		    read_sockaddr(t->tid, arg(r, 1), arg(r, 2), &local,
		    &llen) == -1)
			return ACT_ALLOW;
	} else {
		if (getsockname(sfd, (struct sockaddr *)&local, &llen) == -1)
			llen = 0;
		close(sfd);
		if (type != SOCK_STREAM)
			return ACT_ALLOW;
	}
	if (!inet_of(&local, llen, &ip, &port) || port == 0)
		return ACT_ALLOW;
	event_for(tr, t, &ev, EVENT_LISTEN);
	ev.port = port;
	ev.proto = type == SOCK_STREAM ? PROTO_TCP : PROTO_UDP;
	if (!judge(tr, t, &ev)) {
		*err = EACCES;
		return ACT_DENY;
	}
	return ACT_ALLOW;
}

static enum act
on_socket(struct tracer *tr, struct tracee *t, const struct user_regs_struct *r,
    int *err)
{
	const struct rule *rule = tr->guard->rule;

	if ((int)arg(r, 0) == AF_NETLINK || rule == NULL ||
	    rule->network.effect == EFFECT_DISABLE)
		return ACT_ALLOW;
	log_warnx("pid %ld (%s): raw or packet socket refused",
	    (long)t->tgid, actor(t)->exe);
	*err = EPERM;
	return ACT_DENY;
}

/* ---- stops ---- */

static void
resume(pid_t tid, enum __ptrace_request how, int sig)
{
	if (ptrace(how, tid, 0, (void *)(uintptr_t)sig) == -1 && errno != ESRCH)
		log_warn("ptrace resume %ld", (long)tid);
}

static void
kill_tracee(struct tracer *tr, struct tracee *t)
{
	tr->stats.killed++;
	kill(t->tgid, SIGKILL);
	kill(t->tid, SIGKILL);
}

/*
 * A ptrace request on t failed while deciding (errno set): t never goes
 * on undecided, it is killed. But for ESRCH: a thread leaves a ptrace
 * stop without the tracer only by SIGKILL, so it is dying already.
 */
static void
lost(struct tracer *tr, struct tracee *t, const char *what)
{
	if (errno == ESRCH)
		return;
	log_warn("pid %ld: %s", (long)t->tid, what);
	kill_tracee(tr, t);
}

static void
seccomp_stop(struct tracer *tr, struct tracee *t)
{
	struct user_regs_struct r;
	const struct filecall *fc;
	bool changed = false;
	enum act a = ACT_ALLOW;
	int err = EACCES;
	long nr;

	tr->stats.seccomp_stops++;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == -1) {
		lost(tr, t, "registers");	/* undecidable: never allowed */
		return;
	}
	nr = (long)r.orig_rax;
	switch (nr) {
	case __NR_execve:
	case __NR_execveat:
		a = on_exec(tr, t, &r, nr == __NR_execveat, &err);
		break;
	case __NR_connect:
		a = on_connect(tr, t, &r, &err, &changed);
		break;
	case __NR_sendto:
		a = on_sendto(tr, t, &r, &err, &changed);
		break;
	case __NR_sendmsg:
	case __NR_sendmmsg:
		a = on_sendmsg(tr, t, &r, nr == __NR_sendmmsg, &err, &changed);
		break;
	case __NR_bind:
	case __NR_listen:
		a = on_listen(tr, t, &r, nr == __NR_bind, &err);
		break;
	case __NR_recvfrom:
		a = on_recvfrom(tr, t, &r);
		break;
	case __NR_socket:
		a = on_socket(tr, t, &r, &err);
		break;
	default:
		if ((fc = filecall_of(nr)) != NULL)
			a = on_file(tr, t, fc, &r, &err, &changed, NULL);
		break;
	}
	switch (a) {
	case ACT_DENY:
		/* Skipped, with -err as its result (seccomp(2), tracer). */
		tr->stats.denied++;
		t->pending = PEND_NONE;
		r.orig_rax = (unsigned long long)-1;
		r.rax = (unsigned long long)-err;
		changed = true;
		break;
	case ACT_KILL:
		kill_tracee(tr, t);
		return;
	default:
		break;
	}
	if (changed && ptrace(PTRACE_SETREGS, t->tid, 0, &r) == -1) {
		lost(tr, t, "set registers");
		return;
	}
	resume(t->tid, a == ACT_EXIT ? PTRACE_SYSCALL : PTRACE_CONT, 0);
}

/*
 * A listener's call that fnguard chose to decide at a ptrace stop: it was
 * answered ERESTARTNOINTR with an interrupt pending (notif_reply), so the
 * thread stops here before the call runs again. It runs again with
 * SECCOMP_RETRACE_MAGIC in its argument, which the filter sends to a
 * ptrace stop (seccomp_stop, on_file) instead of the listener.
 */
static void
retrace_stop(struct tracer *tr, struct tracee *t)
{
	struct user_regs_struct r;
	long ret;
	int ai;

	t->retrace = false;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == -1) {
		lost(tr, t, "registers");
		return;
	}
	ret = -(long)r.rax;
	ai = r.orig_rax == __NR_openat ? 2 :
	    r.orig_rax == __NR_open || r.orig_rax == __NR_creat ? 1 : -1;
	if (ai != -1 && ret >= ERESTARTSYS_ && ret <= ERESTARTNOHAND_) {
		set_arg(&r, ai, (arg(&r, ai) & 0xffffffffu) |
		    (uint64_t)SECCOMP_RETRACE_MAGIC << 32);
		if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) == -1) {
			lost(tr, t, "set registers");
			return;
		}
	}
	/* Elsewhere (a signal ended the wait first), the call asks the
	 * listener again when it restarts. */
	resume(t->tid, PTRACE_CONT, 0);
}

/* ---- the listener ---- */

/*
 * Opens ho->path as the caller asked (ho->flags), never
 * through a symlink: what was judged or nothing. Only regular files and
 * directories (O_NONBLOCK meanwhile, so a FIFO swapped in cannot hold
 * fnguard up). Returns the descriptor; or -1 with *err the caller's answer
 * (ENOENT, EACCES, ...), or 0 when the call should be made at a ptrace stop
 * after all (ELOOP, ENXIO, another kind of file).
 */
static int
open_for(const struct handover *ho, int *err)
{
	struct { uint64_t flags, mode, resolve; } how;
	uint64_t f = ho->flags;
	struct statfs sfs;
	struct stat st;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = (f & ~(uint64_t)O_CLOEXEC) | O_CLOEXEC | O_NOCTTY;
	if (!(f & O_PATH))
		how.flags |= O_NONBLOCK;
	how.resolve = RESOLVE_NO_SYMLINKS;
	if ((fd = (int)syscall(__NR_openat2, AT_FDCWD, ho->path, &how,
	    sizeof(how))) == -1) {
		*err = errno == ENOENT || errno == EACCES || errno == ENOTDIR ||
		    errno == EISDIR || errno == EROFS || errno == ETXTBSY ||
		    errno == EPERM || errno == ENAMETOOLONG ? errno : 0;
		return -1;
	}
	*err = 0;
	/* Not a file of /proc, /sys and the like mounted elsewhere: what
	 * their files give depends on who opens them (fnguard's memory
	 * through a /proc of its own). */
	if (fstatfs(fd, &sfs) == -1 || sfs.f_type == PROC_SUPER_MAGIC ||
	    sfs.f_type == SYSFS_MAGIC || sfs.f_type == DEBUGFS_MAGIC ||
	    sfs.f_type == TRACEFS_MAGIC || sfs.f_type == SECURITYFS_MAGIC ||
	    sfs.f_type == BPF_FS_MAGIC || sfs.f_type == CGROUP_SUPER_MAGIC ||
	    sfs.f_type == CGROUP2_SUPER_MAGIC ||
	    sfs.f_type == DEVPTS_SUPER_MAGIC) {
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !(S_ISREG(st.st_mode) ||
	    S_ISDIR(st.st_mode)) || (!(f & (O_PATH | O_NONBLOCK)) &&
	    fcntl(fd, F_SETFL, (int)(f & ~(uint64_t)O_NONBLOCK)) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
notif_reply(struct tracer *tr, struct tracee *t, uint64_t id, enum act a,
    int err, const struct handover *ho)
{
	struct seccomp_notif_resp resp;
	struct seccomp_notif_addfd add;
	int fd, added;

	memset(&resp, 0, sizeof(resp));
	resp.id = id;
	switch (a) {
	case ACT_ALLOW:
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		break;
	case ACT_ADDFD:
		/* The call returns a descriptor of fnguard's own opening. */
		if ((fd = open_for(ho, &err)) == -1) {
			if (err == 0) {		/* not here: at a ptrace stop */
				notif_reply(tr, t, id, ACT_RETRACE, 0, NULL);
				return;
			}
			resp.error = -err;
			break;
		}
		memset(&add, 0, sizeof(add));
		add.id = id;
		add.flags = SECCOMP_ADDFD_FLAG_SEND;
		add.srcfd = (uint32_t)fd;
		add.newfd_flags = (uint32_t)(ho->flags & O_CLOEXEC);
		added = ioctl(tr->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
		err = errno;
		close(fd);
		if (added != -1) {
			tr->stats.handed++;
			return;
		}
		if (err == ENOENT)	/* the call is gone */
			return;
		/* Not installed, so not answered (EMFILE: the caller has
		 * no descriptor left): the call fails as the kernel's own
		 * open would have. */
		resp.error = -err;
		break;
	case ACT_RETRACE:
	case ACT_EXIT:
		/* The interrupt first, then the answer "restart": the thread
		 * leaves the call, stops for the interrupt (retrace_stop),
		 * and makes the call again. */
		t->retrace = true;
		tr->stats.retraced++;
		if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) == -1) {
			lost(tr, t, "interrupt");
			return;
		}
		resp.error = -ERESTARTNOINTR_;
		break;
	case ACT_KILL:
		kill_tracee(tr, t);
		return;
	case ACT_DENY:
		tr->stats.denied++;
		resp.error = -err;
		break;
	}
	/* ENOENT: the call is gone (a signal, a death): nothing to answer. */
	if (ioctl(tr->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == -1 &&
	    errno != ENOENT)
		log_warn("pid %ld: listener: answer", t ? (long)t->tid : 0L);
}

static void
notif_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct tracer *tr = ctx;
	struct seccomp_notif req;
	struct user_regs_struct r;
	const struct filecall *fc;
	struct tracee *t;
	struct handover ho = { NULL, 0 };
	struct pollfd pfd;
	bool changed = false;
	enum act a;
	int err = EACCES;

	(void)what;
	/* The listener is used from Linux 6.6, whose receive does not wait:
	 * a call gone meanwhile (a signal, a death) fails with ENOENT, and
	 * so does every receive once no process holds the filter, when the
	 * listener hangs up (a poll tells which, off the common path). */
	memset(&req, 0, sizeof(req));
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == -1) {
		if (errno != ENOENT && errno != EINTR) {
			log_warn("seccomp listener");
			event_del(tr->notifev);
			return;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 1 && !(pfd.revents & POLLIN) &&
		    (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
			event_del(tr->notifev);		/* hung up */
		return;
	}
	tr->stats.notifications++;
	memset(&r, 0, sizeof(r));
	r.orig_rax = (unsigned long long)req.data.nr;
	r.rdi = req.data.args[0];
	r.rsi = req.data.args[1];
	r.rdx = req.data.args[2];
	r.r10 = req.data.args[3];
	r.r8 = req.data.args[4];
	r.r9 = req.data.args[5];
	/* Every thread that can call is traced (its first stop came before
	 * its first instruction); the filter sends only the calls below. */
	if ((t = find(tr, (pid_t)req.pid)) != NULL &&
	    seccomp_creds_call(req.data.nr)) {
		t->creds = CREDS_UNKNOWN;	/* looked up again if needed */
		notif_reply(tr, t, req.id, ACT_ALLOW, 0, NULL);
		return;
	}
	if (t != NULL && (req.data.nr == __NR_execve ||
	    req.data.nr == __NR_execveat)) {
		a = on_exec(tr, t, &r, req.data.nr == __NR_execveat, &err);
		notif_reply(tr, t, req.id, a, err, NULL);
		return;
	}
	if (t == NULL ||
	    (fc = filecall_of(req.data.nr)) == NULL || fc->type != F_OPEN) {
		log_warnx("pid %ld: call %d from the listener refused",
		    (long)req.pid, req.data.nr);
		notif_reply(tr, t, req.id, ACT_DENY, EPERM, NULL);
		return;
	}
	a = on_file(tr, t, fc, &r, &err, &changed, &ho);
	notif_reply(tr, t, req.id, a, err, &ho);
}

/* The child's listener: its number arrives through the pipe while the
 * child waits; fnguard takes a copy (pidfd_getfd) and lets it go on. */
static void
hand_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracer *tr = arg;
	int num = -1, pidfd, l = -1;
	ssize_t n;

	(void)what;
	event_del(tr->handev);
	n = read(fd, &num, sizeof(num));
	if (n == (ssize_t)sizeof(num) && num >= 0) {
		if ((pidfd = (int)syscall(SYS_pidfd_open, tr->main_pid, 0)) != -1) {
			l = (int)syscall(SYS_pidfd_getfd, pidfd, num, 0);
			close(pidfd);
		}
		if (l == -1 || fcntl(l, F_SETFD, FD_CLOEXEC) == -1 ||
		    (tr->notifev = event_new(tr->base, l, EV_READ | EV_PERSIST,
		    notif_cb, tr)) == NULL || event_add(tr->notifev, NULL) == -1) {
			/* Its opens would wait for ever: it cannot run. */
			log_warn("%s: seccomp listener", tr->cfg.argv[0]);
			if (l != -1)
				close(l);
			kill(tr->main_pid, SIGKILL);
			return;
		}
		tr->listener = l;
		if (ioctl(l, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		    SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) == -1)
			log_debug("seccomp listener: no same-CPU wake-ups: %s",
			    strerror(errno));
	}
	if (write(tr->ack_fd, "g", 1) == -1)
		log_warn("%s: start", tr->cfg.argv[0]);
	close(tr->ack_fd);
	tr->ack_fd = -1;
}

static void
syscall_exit(struct tracer *tr, struct tracee *t)
{
	struct user_regs_struct r;
	enum act a = ACT_ALLOW;

	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) == -1) {
		lost(tr, t, "registers at the call's end");
		return;
	}
	if (t->pending == PEND_OPEN)
		a = open_exit(tr, t, (long)r.rax);
	else if (t->pending == PEND_CONNECT)
		a = connect_exit(tr, t, (long)r.rax);
	else if (t->pending == PEND_RECV)
		a = recvfrom_exit(tr, t, &r);
	t->pending = PEND_NONE;
	if (a == ACT_KILL) {
		kill_tracee(tr, t);
		return;
	}
	resume(t->tid, PTRACE_CONT, 0);
}

static void
ended(struct tracer *tr, pid_t pid, int status)
{
	drop(tr, pid);
	if (pid != tr->main_pid || tr->done)
		return;
	tr->done = true;
	tr->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	event_base_loopbreak(tr->base);
}

/*
 * c, a new process that t made: does it share t's memory (CLONE_VM)?
 * kcmp(2): 0 the same memory, 1 or 2 another; an error counts as the
 * same. If so, t's memory is shared too, as a thread's would be, whatever
 * the event (clone(CLONE_VM | SIGCHLD) is a fork event); but not after a
 * vfork, whose parent waits until the child has exec'd or exited.
 */
static void
new_process_vm(struct tracer *tr, struct tracee *t, struct tracee *c, int ev)
{
	struct tracee *leader;
	long k;

	if (c->tgid != c->tid)
		return;			/* a thread: its group counts it */
	k = syscall(SYS_kcmp, c->tid, t->tid, KCMP_VM, 0, 0);
	c->shared_vm = k != 1 && k != 2;
	if (!c->shared_vm)
		return;
	if (ev != PTRACE_EVENT_VFORK && (leader = find(tr, t->tgid)) != NULL)
		leader->shared_vm = true;	/* runs beside it */
}

static void
stopped(struct tracer *tr, pid_t pid, int status)
{
	struct tracee *t = find(tr, pid), *c;
	unsigned long msg = 0;
	int sig = WSTOPSIG(status), ev = status >> 16;

	tr->stats.stops++;
	if (t == NULL && (t = add(tr, pid, NULL)) == NULL) {
		kill(pid, SIGKILL);
		return;
	}
	switch (ev) {
	case PTRACE_EVENT_SECCOMP:
		seccomp_stop(tr, t);
		return;
	case PTRACE_EVENT_EXEC:
		ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg);
		if ((pid_t)msg != pid && (c = find(tr, (pid_t)msg)) != NULL) {
			/* A thread exec'd: it took the leader's pid. */
			t->pending = c->pending;
			memcpy(t->checked, c->checked, sizeof(t->checked));
			memcpy(t->interp, c->interp, sizeof(t->interp));
			drop(tr, (pid_t)msg);
		}
		if (exec_event(tr, t) == ACT_KILL) {
			kill_tracee(tr, t);
			return;
		}
		resume(pid, PTRACE_CONT, 0);
		return;
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		if (t->tgid == tr->main_pid)
			tr->main_starting = false;
		if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0 &&
		    ((c = find(tr, (pid_t)msg)) != NULL ||
		    (c = add(tr, (pid_t)msg, t)) != NULL))
			new_process_vm(tr, t, c, ev);
		resume(pid, PTRACE_CONT, 0);
		return;
	case PTRACE_EVENT_STOP:
		if (t->retrace && sig == SIGTRAP) {
			retrace_stop(tr, t);
			return;
		}
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
		    sig == SIGTTOU) {
			if (pid == tr->main_pid)
				tr->main_group_stopped = true;
			resume(pid, PTRACE_LISTEN, 0);	/* group-stop */
		} else
			resume(pid, PTRACE_CONT, 0);
		return;
	case 0:
		if (sig == (SIGTRAP | 0x80)) {
			syscall_exit(tr, t);
			return;
		}
		resume(pid, PTRACE_CONT, sig);	/* deliver it */
		return;
	default:
		resume(pid, PTRACE_CONT, 0);
		return;
	}
}

static void
reap(struct tracer *tr)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
		if (WIFEXITED(status) || WIFSIGNALED(status))
			ended(tr, pid, status);
		else if (WIFSTOPPED(status))
			stopped(tr, pid, status);
	}
}

static void
forward(struct tracer *tr, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;

	/* A signal from the terminal reached the whole process group,
	 * the command included: passing it on would double it. */
	bool stop = sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
	int i;

	if (tr->main_pid <= 0 || tr->done)
		return;
	if (si->ssi_code != SI_KERNEL)
		kill(tr->main_pid, sig);
	if (!stop)
		return;
	/* Stop beside the command, as a shell expects of its job; first let
	 * its stop signal reach it (a stop signal the tracer has not passed
	 * on yet would stop it again after the SIGCONT that resumes us). */
	tr->main_group_stopped = false;
	for (i = 0; i < 100 && !tr->main_group_stopped && !tr->done; i++) {
		reap(tr);
		if (!tr->main_group_stopped)
			usleep(1000);
	}
	kill(getpid(), SIGSTOP);
}

static void
signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracer *tr = arg;
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	(void)what;
	/* A short read has taken all there was (one read per stop, not a
	 * second one to hear EAGAIN). */
	do {
		if ((n = read(fd, si, sizeof(si))) <= 0)
			break;
		for (i = 0; i < (size_t)n / sizeof(si[0]); i++)
			if (si[i].ssi_signo != SIGCHLD)
				forward(tr, &si[i]);
	} while ((size_t)n == sizeof(si));
	reap(tr);
}

struct tracer *
tracer_new(struct event_base *base, const struct tracer_config *cfg,
    struct guard *guard)
{
	struct tracer *tr = calloc(1, sizeof(*tr));
	sigset_t set;
	size_t i;

	if (tr == NULL)
		return NULL;
	tr->base = base;
	tr->cfg = *cfg;
	tr->guard = guard;
	tr->sigfd = -1;
	tr->listener = tr->hand_fd = tr->ack_fd = -1;
	if (creds_of(0, 0, tr->self_creds, sizeof(tr->self_creds)) == -1)
		tr->self_creds[0] = '\0';	/* never opens for a tracee */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &set, &tr->oldmask) == -1 ||
	    (tr->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (tr->sigev = event_new(base, tr->sigfd, EV_READ | EV_PERSIST,
	    signal_cb, tr)) == NULL || event_add(tr->sigev, NULL) == -1) {
		log_warn("tracer: signals");
		tracer_free(tr);
		return NULL;
	}
	return tr;
}

void
tracer_free(struct tracer *tr)
{
	struct tracee *t, *next;
	size_t i;

	if (tr == NULL)
		return;
	for (i = 0; i < BUCKETS; i++)
		for (t = tr->buckets[i]; t != NULL; t = next) {
			next = t->next;
			kill(t->tid, SIGKILL);
			free(t);
		}
	if (tr->sigev != NULL)
		event_free(tr->sigev);
	if (tr->notifev != NULL)
		event_free(tr->notifev);
	if (tr->handev != NULL)
		event_free(tr->handev);
	if (tr->listener != -1)
		close(tr->listener);
	if (tr->hand_fd != -1)
		close(tr->hand_fd);
	if (tr->ack_fd != -1)
		close(tr->ack_fd);
	if (tr->sigfd != -1)
		close(tr->sigfd);
	free(tr);
}

/*
 * The tracer stays on the CPU it is on. A tracee that stops wakes the
 * tracer, and the tracer wakes it again: left free, the two land on
 * different CPUs, and every stop costs two cross-CPU wake-ups (on a
 * virtual machine, an idle vCPU woken by an interrupt). Held to one CPU,
 * the tracer draws the tracees that talk to it onto that CPU (the
 * scheduler places a wakee near its waker), where the hand-overs are
 * plain switches; tracees stay free to run anywhere, and are moved away
 * when they need the CPU for themselves. Only the tracer's own thread:
 * the command was forked before.
 */
static void
stay_on_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if ((cpu = sched_getcpu()) == -1)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) == -1)
		log_debug("tracer: cannot stay on CPU %d: %s", cpu,
		    strerror(errno));
}

int
tracer_spawn(struct tracer *tr)
{
	const long opts = PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP |
	    PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
	    PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD;
	int status, e, hand[2] = { -1, -1 }, ack[2] = { -1, -1 }, l;
	char c;
	pid_t pid;

	/* The child waits on ack until it is traced (a byte), installs the
	 * filter, hands its listener's number through hand and waits on ack
	 * again: the copy must be taken before exec closes it. No stop is
	 * needed to attach: PTRACE_SEIZE does not stop the child. */
	if (pipe2(ack, O_CLOEXEC) == -1 ||
	    (tr->cfg.plan.notify && pipe2(hand, O_CLOEXEC) == -1)) {
		log_warn("pipe");
		goto fail;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		goto fail;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &tr->oldmask, NULL);
		signal(SIGPIPE, SIG_DFL);	/* fnguard ignores it, CMD not */
		/* Dies with fnguard even before the tracer holds it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ack[1]);
		if (hand[0] != -1)
			close(hand[0]);
		/* Not traced (fnguard gone, or it could not attach): never
		 * runs CMD. */
		if (read(ack[0], &c, 1) != 1)
			_exit(126);
		if (seccomp_install(&tr->cfg.plan, &l) == -1) {
			fprintf(stderr, "fnguard: seccomp: %s\n",
			    strerror(errno));
			_exit(126);
		}
		if (tr->cfg.plan.notify && (write(hand[1], &l,
		    sizeof(l)) != (ssize_t)sizeof(l) || read(ack[0], &c, 1) != 1))
			_exit(126);
		execvp(tr->cfg.argv[0], tr->cfg.argv);
		e = errno;
		fprintf(stderr, "fnguard: %s: %s\n", tr->cfg.argv[0],
		    strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	close(ack[0]);
	ack[0] = -1;
	tr->main_pid = pid;
	tr->main_starting = true;
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)opts) == -1) {
		log_warn("ptrace");
		goto kill;
	}
	if (add(tr, pid, NULL) == NULL)
		goto kill;
	if (tr->cfg.plan.notify) {
		close(hand[1]);
		hand[1] = -1;
		tr->hand_fd = hand[0];	/* closed by tracer_free */
		hand[0] = -1;
		if ((tr->handev = event_new(tr->base, tr->hand_fd, EV_READ,
		    hand_cb, tr)) == NULL || event_add(tr->handev, NULL) == -1)
			goto kill;
	}
	if (write(ack[1], "g", 1) != 1) {
		log_warn("%s: start", tr->cfg.argv[0]);
		goto kill;
	}
	if (tr->cfg.plan.notify)
		tr->ack_fd = ack[1];
	else
		close(ack[1]);
	stay_on_cpu();
	return 0;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, &status, __WALL);
fail:
	for (l = 0; l < 2; l++) {
		if (hand[l] != -1)
			close(hand[l]);
		if (ack[l] != -1)
			close(ack[l]);
	}
	return -1;
}

bool
tracer_done(const struct tracer *tr)
{
	return tr->done;
}

int
tracer_exit_code(const struct tracer *tr)
{
	return tr->exit_code;
}

void
tracer_stats(const struct tracer *tr, struct tracer_stats *out)
{
	*out = tr->stats;
}
