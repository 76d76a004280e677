/* seccomp — see include/fnguard/seccomp.h. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "fnguard/seccomp.h"
#include "sysnr.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define X32_SYSCALL_BIT 0x40000000u
#define RET_TRACE SECCOMP_RET_TRACE
#define RET_ALLOW SECCOMP_RET_ALLOW
#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)

static const int exec_calls[] = { __NR_execve, __NR_execveat };

/* Opens always stop: /proc/PID/mem is refused to every tracee, and the
 * resolver's resolv.conf is presented in place of the system's. */
static const int open_calls[] = {
	__NR_open, __NR_openat, __NR_openat2, __NR_creat,
	__NR_open_by_handle_at,
};

/* With a listener (plan->notify), these go to it instead, but when the
 * high word of the argument named here holds SECCOMP_RETRACE_MAGIC: the
 * tracer's way of sending a call it chose not to answer there back
 * through a ptrace stop. open(2) and openat(2) take their flags, creat(2)
 * its mode, as an int: the kernel ignores that word. */
static const int notify_a1_calls[] = { __NR_open, __NR_creat };
static const int notify_a2_calls[] = { __NR_openat };
static const int notify_trace_calls[] = { __NR_openat2,
	__NR_open_by_handle_at };

/* Calls that change what a thread may open: the listener hears of them
 * (and lets them run) so that it opens files for a thread only with the
 * credentials the thread has. */
static const int creds_calls[] = {
	__NR_setuid, __NR_setgid, __NR_setreuid, __NR_setregid,
	__NR_setgroups, __NR_setresuid, __NR_setresgid, __NR_setfsuid,
	__NR_setfsgid, __NR_capset, __NR_unshare,
};

bool
seccomp_creds_call(int nr)
{
	size_t i;

	for (i = 0; i < sizeof(creds_calls) / sizeof(creds_calls[0]); i++)
		if (creds_calls[i] == nr)
			return true;
	return false;
}

static const int file_calls[] = {
	__NR_truncate,
	__NR_unlink, __NR_unlinkat, __NR_rename, __NR_renameat,
	__NR_renameat2, __NR_link, __NR_linkat, __NR_symlink,
	__NR_symlinkat, __NR_mkdir, __NR_mkdirat, __NR_rmdir, __NR_chmod,
	__NR_fchmodat, __NR_fchmodat2, __NR_chown, __NR_lchown,
	__NR_fchownat, __NR_mknod, __NR_mknodat, __NR_utimensat,
	__NR_utime, __NR_utimes, __NR_futimesat,
};

static const int net_calls[] = {
	__NR_connect, __NR_sendmsg, __NR_sendmmsg, __NR_bind, __NR_listen,
};

/* Calls that would let a tracee reach into fnguard or another tracee. */
static const int denied_calls[] = {
	__NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev,
	__NR_pidfd_getfd,
};

/* Calls that rearrange what a path names (a bind mount of a denied
 * directory onto an allowed one, a new root, a /proc of one's own whose
 * PID/mem fnguard's check of /proc/N/mem would not see): always refused,
 * since paths are judged in fnguard's view of the tree. */
static const int mount_calls[] = {
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot,
	__NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig,
	__NR_fsmount, __NR_fspick, __NR_mount_setattr, __NR_setns,
};

static const int io_uring_calls[] = {
	__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
};

struct prog {
	struct sock_filter *ins;
	size_t n, max;
	bool overflow;
};

static void
emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->n == p->max) {
		p->overflow = true;
		return;
	}
	p->ins[p->n].code = code;
	p->ins[p->n].jt = jt;
	p->ins[p->n].jf = jf;
	p->ins[p->n].k = k;
	p->n++;
}

#define LD(p, off) emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(off), 0, 0)
#define RET(p, v) emit(p, BPF_RET | BPF_K, (v), 0, 0)
#define JEQ(p, k, t, f) emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(k), t, f)

/* Calls whose decision looks at an argument: the code after nr matched. */
enum special { SP_NONE, SP_SECCOMP, SP_SENDTO, SP_RECVFROM, SP_SOCKET,
	SP_CLONE, SP_NOTIFY_A1, SP_NOTIFY_A2 };

struct entry {
	int nr;
	uint32_t action;	/* SP_NONE: returned as it is */
	enum special sp;
};

#define MAX_ENTRIES 128

struct entries {
	struct entry v[MAX_ENTRIES];
	size_t n;
};

static void
add(struct entries *e, const int *calls, size_t n, uint32_t action,
    enum special sp)
{
	size_t i;

	for (i = 0; i < n && e->n < MAX_ENTRIES; i++) {
		e->v[e->n].nr = calls[i];
		e->v[e->n].action = action;
		e->v[e->n].sp = sp;
		e->n++;
	}
}

static int
by_nr(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return (x->nr > y->nr) - (x->nr < y->nr);
}

static size_t
action_len(const struct entry *e)
{
	switch (e->sp) {
	case SP_SECCOMP:
	case SP_CLONE:
		return 5;
	case SP_SENDTO:
	case SP_RECVFROM:
		return 6;
	case SP_SOCKET:
		return 7;
	case SP_NOTIFY_A1:
	case SP_NOTIFY_A2:
		return 4;
	default:
		return 1;
	}
}

/* Each ends in a return: the accumulator (nr) is not needed after. */
static void
emit_action(struct prog *p, const struct entry *e)
{
	switch (e->sp) {
	case SP_SECCOMP:
		/* A filter of the tracee's own with a listener could answer
		 * SECCOMP_USER_NOTIF_FLAG_CONTINUE and run a call past ours. */
		LD(p, ARG_LO(1));
		emit(p, BPF_ALU | BPF_AND | BPF_K,
		    SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 0);
		JEQ(p, 0, 1, 0);
		RET(p, RET_ERRNO(EPERM));
		RET(p, RET_ALLOW);
		break;
	case SP_CLONE:
		/* No child out of the tracer's sight (it could outlive
		 * fnguard, holding what it inherited). */
		LD(p, ARG_LO(0));
		emit(p, BPF_ALU | BPF_AND | BPF_K, CLONE_UNTRACED, 0, 0);
		JEQ(p, 0, 1, 0);
		RET(p, RET_ERRNO(EPERM));
		RET(p, RET_ALLOW);
		break;
	case SP_SENDTO:		/* stops only with a destination address */
	case SP_RECVFROM:	/* stops only when it asks for the source */
		LD(p, ARG_LO(4));
		JEQ(p, 0, 0, 2);
		LD(p, ARG_HI(4));
		JEQ(p, 0, 1, 0);
		RET(p, RET_TRACE);
		RET(p, RET_ALLOW);
		break;
	case SP_SOCKET:		/* stops for packet and raw sockets only */
		LD(p, ARG_LO(0));
		JEQ(p, AF_PACKET, 3, 0);
		LD(p, ARG_LO(1));
		emit(p, BPF_ALU | BPF_AND | BPF_K, 0xf, 0, 0);
		JEQ(p, SOCK_RAW, 0, 1);
		RET(p, RET_TRACE);
		RET(p, RET_ALLOW);
		break;
	case SP_NOTIFY_A1:
	case SP_NOTIFY_A2:
		LD(p, ARG_HI(e->sp == SP_NOTIFY_A1 ? 1 : 2));
		JEQ(p, SECCOMP_RETRACE_MAGIC, 0, 1);
		RET(p, RET_TRACE);
		RET(p, SECCOMP_RET_USER_NOTIF);
		break;
	default:
		RET(p, e->action);
		break;
	}
}

static size_t
tree_len(const struct entry *v, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;

	if (lo >= hi)
		return 1;
	return 2 + action_len(&v[mid]) + tree_len(v, lo, mid) +
	    tree_len(v, mid + 1, hi);
}

/*
 * A binary search on nr (sorted entries): a call nobody decides about
 * passes after about log2(n) comparisons, not one per listed call. Every
 * path loads only nr and arch until it reaches its own entry, so the
 * kernel's action cache can allow such calls without running the filter.
 */
static void
emit_tree(struct prog *p, const struct entry *v, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2, left;

	if (lo >= hi) {
		RET(p, RET_ALLOW);
		return;
	}
	JEQ(p, v[mid].nr, 0, (uint8_t)action_len(&v[mid]));
	emit_action(p, &v[mid]);
	if ((left = tree_len(v, lo, mid)) > 255) {
		p->overflow = true;
		return;
	}
	emit(p, BPF_JMP | BPF_JGT | BPF_K, (uint32_t)v[mid].nr, (uint8_t)left,
	    0);
	emit_tree(p, v, lo, mid);
	emit_tree(p, v, mid + 1, hi);
}

#define ADD(e, calls, action, sp) \
	add(e, calls, sizeof(calls) / sizeof(calls[0]), action, sp)

size_t
seccomp_build(const struct seccomp_plan *plan, void *out, size_t max)
{
	static const int seccomp_call[] = { __NR_seccomp };
	static const int sendto_call[] = { __NR_sendto };
	static const int recvfrom_call[] = { __NR_recvfrom };
	static const int socket_call[] = { __NR_socket };
	static const int clone_call[] = { __NR_clone };
	/* clone3's flags are in memory, out of the filter's sight: it fails
	 * as if the kernel had none, and C libraries fall back to clone. */
	static const int clone3_call[] = { __NR_clone3 };
	struct prog p = { out, 0, max, false };
	struct entries e;

	e.n = 0;
	ADD(&e, denied_calls, RET_ERRNO(EPERM), SP_NONE);
	if (!plan->io_uring)
		ADD(&e, io_uring_calls, RET_ERRNO(ENOSYS), SP_NONE);
	ADD(&e, seccomp_call, 0, SP_SECCOMP);
	ADD(&e, clone_call, 0, SP_CLONE);
	ADD(&e, clone3_call, RET_ERRNO(ENOSYS), SP_NONE);
	/* An exec is judged at the listener or the seccomp stop, and again
	 * at PTRACE_EVENT_EXEC against the image the kernel loaded: the
	 * first look needs no ptrace stop. */
	if (plan->exec)
		ADD(&e, exec_calls, plan->notify ? SECCOMP_RET_USER_NOTIF :
		    RET_TRACE, SP_NONE);
	if (plan->notify) {
		ADD(&e, notify_a1_calls, 0, SP_NOTIFY_A1);
		ADD(&e, notify_a2_calls, 0, SP_NOTIFY_A2);
		ADD(&e, notify_trace_calls, RET_TRACE, SP_NONE);
		ADD(&e, creds_calls, SECCOMP_RET_USER_NOTIF, SP_NONE);
	} else
		ADD(&e, open_calls, RET_TRACE, SP_NONE);
	ADD(&e, mount_calls, RET_ERRNO(EPERM), SP_NONE);
	if (plan->files)
		ADD(&e, file_calls, RET_TRACE, SP_NONE);
	if (plan->net) {
		ADD(&e, net_calls, RET_TRACE, SP_NONE);
		ADD(&e, sendto_call, 0, SP_SENDTO);
		ADD(&e, recvfrom_call, 0, SP_RECVFROM);
		ADD(&e, socket_call, 0, SP_SOCKET);
	}
	qsort(e.v, e.n, sizeof(e.v[0]), by_nr);

	/* Only x86-64 calls: i386 (int 0x80) numbers mean other calls, and
	 * x32 numbers carry bit 30; both fail. */
	LD(&p, offsetof(struct seccomp_data, arch));
	JEQ(&p, AUDIT_ARCH_X86_64, 1, 0);
	RET(&p, RET_ERRNO(ENOSYS));
	LD(&p, offsetof(struct seccomp_data, nr));
	emit(&p, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	RET(&p, RET_ERRNO(ENOSYS));
	emit_tree(&p, e.v, 0, e.n);
	return p.overflow ? 0 : p.n;
}

bool
seccomp_supported(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != -1 || errno != EINVAL;
}

static int
install(struct sock_fprog *prog, unsigned long flags)
{
	int r;

	/* Without CAP_SYS_ADMIN the kernel asks for no_new_privs. */
	if ((r = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags,
	    prog)) != -1 || errno != EACCES)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
}

int
seccomp_install(const struct seccomp_plan *plan, int *listener)
{
	/* WAIT_KILLABLE_RECV (5.19): once fnguard has read a call, only a
	 * fatal signal ends its wait, so an open is not cut short by EINTR
	 * because a handler ran meanwhile. Kernels before 5.0 have no
	 * listeners, and a process may hold only one (EBUSY: fnguard runs
	 * under another supervisor): then opens stop for ptrace too. */
	static const unsigned long tries[] = {
		SECCOMP_FILTER_FLAG_NEW_LISTENER |
		    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		SECCOMP_FILTER_FLAG_NEW_LISTENER,
	};
	struct sock_filter ins[1024];
	struct seccomp_plan p = *plan;
	struct sock_fprog prog;
	size_t n, i;
	int r;

	*listener = -1;
	for (;;) {
		if ((n = seccomp_build(&p, ins, sizeof(ins) /
		    sizeof(ins[0]))) == 0) {
			errno = E2BIG;
			return -1;
		}
		prog.len = (unsigned short)n;
		prog.filter = ins;
		if (!p.notify)
			return install(&prog, 0) == -1 ? -1 : 0;
		for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
			if ((r = install(&prog, tries[i])) >= 0) {
				*listener = r;
				return 0;
			}
			if (errno != EINVAL && errno != EBUSY)
				return -1;
		}
		p.notify = false;
	}
}
