/*
 * iouring — opens and connects that need no path-taking system call:
 * io_uring (IORING_OP_OPENAT, IORING_OP_CONNECT: the kernel's workers do
 * them, no system call of the process names the file or the address) and
 * open_by_handle_at (a file handle instead of a path).
 *
 * usage: iouring FILE DIR IP PORT
 *   DIR: a directory on FILE's file system that the policy allows.
 *   "io_uring_setup: R", "io_uring openat: R" ("io_uring read: TEXT"),
 *   "io_uring connect: R", "name_to_handle_at: R", "open_by_handle_at: R"
 *   ("handle read: TEXT").
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdlib.h>

#include "bypass.h"

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#define SYS_io_uring_enter 426
#endif

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int
ring_init(struct ring *r)
{
	struct io_uring_params p;
	size_t sqlen, cqlen;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	result("io_uring_setup", r->fd, errno);
	if (r->fd < 0)
		return -1;
	sqlen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cqlen = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (cqlen > sqlen)
			sqlen = cqlen;
		cqlen = sqlen;
	}
	sq = mmap(NULL, sqlen, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		goto fail;
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		cq = sq;
	else if ((cq = mmap(NULL, cqlen, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_POPULATE, r->fd, IORING_OFF_CQ_RING)) == MAP_FAILED)
		goto fail;
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
	    IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		goto fail;
	r->sq_tail = (unsigned *)(void *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(void *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(void *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(void *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(void *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(void *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(void *)(cq + p.cq_off.cqes);
	return 0;
fail:
	say("io_uring mmap: %s", errname(errno));
	close(r->fd);
	return -1;
}

/* Submits sqe (filled by the caller in slot 0) and waits: its result. */
static int
ring_run(struct ring *r, const struct io_uring_sqe *sqe, int *res)
{
	unsigned tail = *r->sq_tail, head;

	r->sqes[0] = *sqe;
	r->sq_array[tail & *r->sq_mask] = 0;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
	    NULL, 0) == -1)
		return -1;
	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
		errno = EAGAIN;
		return -1;
	}
	*res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

static void
show(const char *what, int fd)
{
	char buf[128];
	ssize_t n;

	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	say("%s: %s", what, buf);
}

int
main(int argc, char *argv[])
{
	struct io_uring_sqe sqe;
	struct sockaddr_in sin;
	struct file_handle *fh;
	struct ring r;
	int res, s, mfd, fd, mount_id;

	if (argc != 5) {
		fprintf(stderr, "usage: iouring FILE DIR IP PORT\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[4]));
	inet_pton(AF_INET, argv[3], &sin.sin_addr);

	if (ring_init(&r) == 0) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_OPENAT;
		sqe.fd = AT_FDCWD;
		sqe.addr = (uint64_t)(uintptr_t)argv[1];
		sqe.open_flags = O_RDONLY;
		if (ring_run(&r, &sqe, &res) == -1)
			say("io_uring openat: enter %s", errname(errno));
		else {
			result("io_uring openat", res, -res);
			if (res >= 0) {
				show("io_uring read", res);
				close(res);
			}
		}
		s = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_CONNECT;
		sqe.fd = s;
		sqe.addr = (uint64_t)(uintptr_t)&sin;
		sqe.off = sizeof(sin);
		if (ring_run(&r, &sqe, &res) == -1)
			say("io_uring connect: enter %s", errname(errno));
		else
			result("io_uring connect", res, -res);
		close(s);
		close(r.fd);
	}

	fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	fh->handle_bytes = MAX_HANDLE_SZ;
	res = name_to_handle_at(AT_FDCWD, argv[1], fh, &mount_id, 0);
	result("name_to_handle_at", res, errno);
	if (res == 0) {
		if ((mfd = open(argv[2], O_RDONLY | O_DIRECTORY)) == -1)
			say("open_by_handle_at: open %s %s", argv[2],
			    errname(errno));
		else {
			fd = open_by_handle_at(mfd, fh, O_RDONLY);
			result("open_by_handle_at", fd, errno);
			if (fd >= 0) {
				show("handle read", fd);
				close(fd);
			}
			close(mfd);
		}
	}
	free(fh);
	return 0;
}
