/* seccomp — see include/fnguard/seccomp.h. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "fnguard/seccomp.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
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
 * directory onto an allowed one, a new root): refused while files are
 * checked, since paths are judged in fnguard's view of the tree. */
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

/* nr == call ? return action : go on. (The accumulator holds nr.) */
static void
each(struct prog *p, const int *calls, size_t n, uint32_t action)
{
	size_t i;

	for (i = 0; i < n; i++) {
		JEQ(p, calls[i], 0, 1);
		RET(p, action);
	}
}

size_t
seccomp_build(const struct seccomp_plan *plan, void *out, size_t max)
{
	struct prog p = { out, 0, max, false };

	/* Only x86-64 calls: i386 (int 0x80) numbers mean other calls, and
	 * x32 numbers carry bit 30; both fail. */
	LD(&p, offsetof(struct seccomp_data, arch));
	JEQ(&p, AUDIT_ARCH_X86_64, 1, 0);
	RET(&p, RET_ERRNO(ENOSYS));
	LD(&p, offsetof(struct seccomp_data, nr));
	emit(&p, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	RET(&p, RET_ERRNO(ENOSYS));

	each(&p, denied_calls, sizeof(denied_calls) / sizeof(denied_calls[0]),
	    RET_ERRNO(EPERM));
	if (!plan->io_uring)
		each(&p, io_uring_calls, sizeof(io_uring_calls) /
		    sizeof(io_uring_calls[0]), RET_ERRNO(ENOSYS));

	/* A filter of the tracee's own with a listener could answer
	 * SECCOMP_USER_NOTIF_FLAG_CONTINUE and run a call past ours. */
	JEQ(&p, __NR_seccomp, 0, 5);
	LD(&p, ARG_LO(1));
	emit(&p, BPF_ALU | BPF_AND | BPF_K, SECCOMP_FILTER_FLAG_NEW_LISTENER,
	    0, 0);
	JEQ(&p, 0, 1, 0);
	RET(&p, RET_ERRNO(EPERM));
	RET(&p, RET_ALLOW);

	if (plan->exec)
		each(&p, exec_calls, 2, RET_TRACE);
	each(&p, open_calls, sizeof(open_calls) / sizeof(open_calls[0]),
	    RET_TRACE);
	if (plan->files)
		each(&p, mount_calls, sizeof(mount_calls) /
		    sizeof(mount_calls[0]), RET_ERRNO(EPERM));
	if (plan->files)
		each(&p, file_calls, sizeof(file_calls) / sizeof(file_calls[0]),
		    RET_TRACE);
	if (plan->net) {
		each(&p, net_calls, sizeof(net_calls) / sizeof(net_calls[0]),
		    RET_TRACE);
		/* sendto stops only with a destination address. */
		JEQ(&p, __NR_sendto, 0, 6);
		LD(&p, ARG_LO(4));
		JEQ(&p, 0, 0, 2);
		LD(&p, ARG_HI(4));
		JEQ(&p, 0, 1, 0);
		RET(&p, RET_TRACE);
		RET(&p, RET_ALLOW);
		/* recvfrom stops only when it asks for the source. */
		JEQ(&p, __NR_recvfrom, 0, 6);
		LD(&p, ARG_LO(4));
		JEQ(&p, 0, 0, 2);
		LD(&p, ARG_HI(4));
		JEQ(&p, 0, 1, 0);
		RET(&p, RET_TRACE);
		RET(&p, RET_ALLOW);
		/* socket stops for packet and raw sockets only. */
		JEQ(&p, __NR_socket, 0, 7);
		LD(&p, ARG_LO(0));
		JEQ(&p, AF_PACKET, 3, 0);
		LD(&p, ARG_LO(1));
		emit(&p, BPF_ALU | BPF_AND | BPF_K, 0xf, 0, 0);
		JEQ(&p, SOCK_RAW, 0, 1);
		RET(&p, RET_TRACE);
		RET(&p, RET_ALLOW);
	}
	RET(&p, RET_ALLOW);
	return p.overflow ? 0 : p.n;
}

bool
seccomp_supported(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != -1 || errno != EINVAL;
}

int
seccomp_install(const struct seccomp_plan *plan)
{
	struct sock_filter ins[256];
	struct sock_fprog prog;
	size_t n;

	if ((n = seccomp_build(plan, ins, sizeof(ins) / sizeof(ins[0]))) == 0) {
		errno = E2BIG;
		return -1;
	}
	prog.len = (unsigned short)n;
	prog.filter = ins;
	/* Without CAP_SYS_ADMIN the kernel asks for no_new_privs. */
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	if (errno != EACCES)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
