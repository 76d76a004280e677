/*
 * int80 — foreign system call ABIs from a 64-bit process: i386 calls
 * through "int $0x80" (other numbers: open is 5, execve 11, socketcall
 * 102, connect 362) and x32 calls (the x86-64 number with bit 30 set).
 * A filter that only looked at x86-64 numbers would let them through.
 *
 * usage: int80 FILE PROGRAM IP PORT
 *   "int80 getpid: R", "int80 open: R" (of FILE; "int80 read: TEXT" on
 *   success), "int80 execve: R" (PROGRAM with the argument "int80 exec:
 *   OK", in a child), "int80 socketcall socket: R", "int80 socketcall
 *   connect: R", "int80 connect: R" (TCP to IP:PORT), "x32 openat: R",
 *   "x32 connect: R". "int80: unsupported" when the kernel has no i386
 *   emulation (int $0x80 faults).
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "bypass.h"

#define I386_GETPID	20
#define I386_OPEN	5
#define I386_EXECVE	11
#define I386_SOCKETCALL	102
#define I386_CONNECT	362
#define SYS_SOCKET_	1
#define SYS_CONNECT_	3
#define X32_BIT		0x40000000L
#define X32_OPENAT	257
#define X32_CONNECT	42

static sigjmp_buf fault;

static void
on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault, 1);
}

static long
int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile ("int $0x80"
	    : "=a"(ret)
	    : "a"(nr), "b"(a), "c"(b), "d"(c)
	    : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

/* "WHAT: OK" or the errno name of a raw (-errno) return. */
static void
raw(const char *what, long ret)
{
	result(what, ret, ret < 0 ? (int)-ret : 0);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in *sin;
	struct sigaction sa;
	char *low, *path, *prog, *arg1, buf[128];
	uint32_t *vec, *args;
	long ret, fd;
	ssize_t n;
	pid_t pid;
	int s, status;

	if (argc != 5) {
		fprintf(stderr, "usage: int80 FILE PROGRAM IP PORT\n");
		return 2;
	}
	/* i386 pointers are 32 bits: everything the calls read lives low. */
	low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED) {
		say("mmap: %s", errname(errno));
		return 1;
	}
	path = low;
	snprintf(path, 1024, "%s", argv[1]);
	prog = low + 1024;
	snprintf(prog, 1024, "%s", argv[2]);
	arg1 = low + 2048;
	snprintf(arg1, 64, "int80 exec: OK");
	vec = (uint32_t *)(void *)(low + 2112);		/* argv, envp */
	vec[0] = (uint32_t)(uintptr_t)prog;
	vec[1] = (uint32_t)(uintptr_t)arg1;
	vec[2] = 0;
	vec[3] = 0;
	sin = (struct sockaddr_in *)(void *)(low + 2176);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(argv[4]));
	inet_pton(AF_INET, argv[3], &sin->sin_addr);
	args = (uint32_t *)(void *)(low + 2240);	/* socketcall args */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(fault, 1) != 0) {
		say("int80: unsupported");
		goto x32;
	}
	raw("int80 getpid", int80(I386_GETPID, 0, 0, 0));

	ret = int80(I386_OPEN, (long)(uintptr_t)path, O_RDONLY, 0);
	raw("int80 open", ret);
	if (ret >= 0) {
		n = read((int)ret, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		say("int80 read: %s", buf);
		close((int)ret);
	}

	if ((pid = fork()) == 0) {
		ret = int80(I386_EXECVE, (long)(uintptr_t)prog,
		    (long)(uintptr_t)vec, (long)(uintptr_t)&vec[2]);
		raw("int80 execve", ret);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);

	args[0] = AF_INET;
	args[1] = SOCK_STREAM;
	args[2] = 0;
	fd = int80(I386_SOCKETCALL, SYS_SOCKET_, (long)(uintptr_t)args, 0);
	raw("int80 socketcall socket", fd);
	if (fd < 0)
		fd = socket(AF_INET, SOCK_STREAM, 0);
	args[0] = (uint32_t)fd;
	args[1] = (uint32_t)(uintptr_t)sin;
	args[2] = sizeof(*sin);
	raw("int80 socketcall connect", int80(I386_SOCKETCALL, SYS_CONNECT_,
	    (long)(uintptr_t)args, 0));
	close((int)fd);

	s = socket(AF_INET, SOCK_STREAM, 0);
	raw("int80 connect", int80(I386_CONNECT, s, (long)(uintptr_t)sin,
	    sizeof(*sin)));
	close(s);

x32:
	ret = syscall(X32_OPENAT | X32_BIT, AT_FDCWD, path, O_RDONLY);
	result("x32 openat", ret, errno);
	if (ret >= 0) {
		n = read((int)ret, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		say("x32 read: %s", buf);
		close((int)ret);
	}
	s = socket(AF_INET, SOCK_STREAM, 0);
	ret = syscall(X32_CONNECT | X32_BIT, s, sin, sizeof(*sin));
	result("x32 connect", ret, errno);
	close(s);
	return 0;
}
