/*
 * check_seccomp — the launcher's BPF filter, run here by a small classic
 * BPF evaluator over the instructions seccomp_build() makes: the answer
 * for each architecture, system call number and argument that matters,
 * including what this machine's kernel could not show (x32 numbers on a
 * kernel without x32).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <check.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "fnguard/seccomp.h"

#define ERRNO(e) (SECCOMP_RET_ERRNO | (e))

/* The subset seccomp_build emits; anything else fails the test. */
static uint32_t
run(const struct sock_filter *p, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0;
	size_t pc = 0;

	while (pc < n) {
		const struct sock_filter *i = &p[pc++];

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			ck_assert_uint_le(i->k + 4, sizeof(*d));
			a = *(const uint32_t *)((const char *)d + i->k);
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= i->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= i->k ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			ck_abort_msg("unexpected instruction 0x%x", i->code);
		}
	}
	ck_abort_msg("ran off the end");
	return 0;
}

static uint32_t
verdict(const struct seccomp_plan *plan, uint32_t arch, int nr, int argi,
    uint64_t argv)
{
	struct sock_filter ins[1024];
	struct seccomp_data d = { 0 };
	size_t n = seccomp_build(plan, ins, 1024);

	ck_assert_uint_gt(n, 0);
	d.arch = arch;
	d.nr = nr;
	if (argi >= 0)
		d.args[argi] = argv;
	return run(ins, n, &d);
}

static const struct seccomp_plan all = { true, true, true, false, false };
static const struct seccomp_plan procs_only = { true, false, false, true,
	false };
static const struct seccomp_plan listened = { true, true, true, false, true };
static const struct seccomp_plan listened_nofiles = { true, false, true, false,
	true };

START_TEST(foreign_abis)
{
	/* i386 numbers mean other calls: every one fails. */
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_I386, 5, -1, 0),
	    ERRNO(ENOSYS));
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_I386, 20, -1, 0),
	    ERRNO(ENOSYS));
	/* x32: bit 30 set. */
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64,
	    0x40000000 | SYS_openat, -1, 0), ERRNO(ENOSYS));
	ck_assert_uint_eq(verdict(&procs_only, AUDIT_ARCH_X86_64,
	    0x40000000 | SYS_read, -1, 0), ERRNO(ENOSYS));
}
END_TEST

START_TEST(decided_calls)
{
	int plain[] = { SYS_read, SYS_write, SYS_getppid, SYS_mmap,
	    SYS_close, SYS_exit_group, SYS_futex, 0, 449, 500 };
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, plain[i],
		    -1, 0), SECCOMP_RET_ALLOW);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_execve, -1, 0),
	    SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_openat, -1, 0),
	    SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_unlinkat, -1,
	    0), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_connect, -1,
	    0), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_ptrace, -1, 0),
	    ERRNO(EPERM));
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_mount, -1, 0),
	    ERRNO(EPERM));
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_io_uring_setup,
	    -1, 0), ERRNO(ENOSYS));
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_clone3, -1, 0),
	    ERRNO(ENOSYS));
	/* Only opens (and execs) stop when files and network are not
	 * checked; io_uring passes, mounts never do. */
	ck_assert_uint_eq(verdict(&procs_only, AUDIT_ARCH_X86_64, SYS_openat,
	    -1, 0), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&procs_only, AUDIT_ARCH_X86_64, SYS_unlinkat,
	    -1, 0), SECCOMP_RET_ALLOW);
	ck_assert_uint_eq(verdict(&procs_only, AUDIT_ARCH_X86_64, SYS_connect,
	    -1, 0), SECCOMP_RET_ALLOW);
	ck_assert_uint_eq(verdict(&procs_only, AUDIT_ARCH_X86_64, SYS_mount,
	    -1, 0), ERRNO(EPERM));	/* a /proc of its own: never */
	ck_assert_uint_eq(verdict(&procs_only, AUDIT_ARCH_X86_64, SYS_fsopen,
	    -1, 0), ERRNO(EPERM));
	ck_assert_uint_eq(verdict(&procs_only, AUDIT_ARCH_X86_64,
	    SYS_io_uring_setup, -1, 0), SECCOMP_RET_ALLOW);
}
END_TEST

START_TEST(argument_checks)
{
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_clone, 0,
	    CLONE_UNTRACED | SIGCHLD), ERRNO(EPERM));
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_clone, 0,
	    CLONE_VM | CLONE_THREAD | CLONE_SIGHAND), SECCOMP_RET_ALLOW);
	/* sendto and recvfrom stop only with an address (either half). */
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_sendto, 4, 0),
	    SECCOMP_RET_ALLOW);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_sendto, 4,
	    0x7fff00000000ull), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_recvfrom, 4,
	    0x1000), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_recvfrom, 4, 0),
	    SECCOMP_RET_ALLOW);
	/* socket: packet and raw ones stop. */
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_socket, 0,
	    AF_PACKET), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_socket, 0,
	    AF_INET), SECCOMP_RET_ALLOW);
	/* seccomp: a listener of the tracee's own is refused. */
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_seccomp, 1,
	    SECCOMP_FILTER_FLAG_NEW_LISTENER), ERRNO(EPERM));
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_seccomp, 1, 0),
	    SECCOMP_RET_ALLOW);
}
END_TEST

/* With a listener: open, openat and creat go to it, unless the high word
 * of their flags (creat: mode) holds the mark that sends them to a ptrace
 * stop; openat2 (flags in memory) and open_by_handle_at always stop. */
START_TEST(listener_opens)
{
	const uint64_t mark = (uint64_t)SECCOMP_RETRACE_MAGIC << 32;

	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_openat, 2,
	    O_RDONLY), SECCOMP_RET_USER_NOTIF);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_openat, 2,
	    mark | O_RDONLY), SECCOMP_RET_TRACE);
	/* The mark in another argument, or another word, does nothing. */
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_openat, 1,
	    mark), SECCOMP_RET_USER_NOTIF);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_openat, 2,
	    SECCOMP_RETRACE_MAGIC), SECCOMP_RET_USER_NOTIF);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_open, 1,
	    O_WRONLY), SECCOMP_RET_USER_NOTIF);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_open, 1,
	    mark | O_WRONLY), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_creat, 1,
	    0644), SECCOMP_RET_USER_NOTIF);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_creat, 1,
	    mark | 0644), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_openat2, 2,
	    0), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64,
	    SYS_open_by_handle_at, -1, 0), SECCOMP_RET_TRACE);
	/* Execs and credential changes are heard of; the rest is as
	 * without. */
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_setuid, -1,
	    0), SECCOMP_RET_USER_NOTIF);
	ck_assert(seccomp_creds_call(SYS_setresuid));
	ck_assert(!seccomp_creds_call(SYS_getuid));
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_getuid, -1,
	    0), SECCOMP_RET_ALLOW);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_execve, -1,
	    0), SECCOMP_RET_USER_NOTIF);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_execveat,
	    -1, 0), SECCOMP_RET_USER_NOTIF);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_unlinkat, -1,
	    0), SECCOMP_RET_TRACE);
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_I386, 5, -1, 0),
	    ERRNO(ENOSYS));
	/* setns (another user namespace, another mount namespace) is
	 * refused, files checked or not. */
	ck_assert_uint_eq(verdict(&listened, AUDIT_ARCH_X86_64, SYS_setns, -1,
	    0), ERRNO(EPERM));
	ck_assert_uint_eq(verdict(&listened_nofiles, AUDIT_ARCH_X86_64,
	    SYS_setns, -1, 0), ERRNO(EPERM));
	/* Without a listener, the mark changes nothing. */
	ck_assert_uint_eq(verdict(&all, AUDIT_ARCH_X86_64, SYS_openat, 2,
	    mark), SECCOMP_RET_TRACE);
}
END_TEST

/* The raw-socket check reads the type from argument 1. */
START_TEST(raw_socket_type)
{
	struct sock_filter ins[1024];
	struct seccomp_data d = { 0 };
	size_t n = seccomp_build(&all, ins, 1024);

	d.arch = AUDIT_ARCH_X86_64;
	d.nr = SYS_socket;
	d.args[0] = AF_INET;
	d.args[1] = SOCK_RAW | SOCK_CLOEXEC;
	ck_assert_uint_eq(run(ins, n, &d), SECCOMP_RET_TRACE);
	d.args[1] = SOCK_STREAM | SOCK_NONBLOCK;
	ck_assert_uint_eq(run(ins, n, &d), SECCOMP_RET_ALLOW);
	/* Too small a buffer: no program rather than a cut one. */
	ck_assert_uint_eq(seccomp_build(&all, ins, 16), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("filter");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, foreign_abis);
	tcase_add_test(tc, decided_calls);
	tcase_add_test(tc, argument_checks);
	tcase_add_test(tc, raw_socket_type);
	tcase_add_test(tc, listener_opens);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
