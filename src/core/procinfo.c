/* procinfo — see include/fnguard/procinfo.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "fnguard/procinfo.h"

#define INODE_CACHE 16384
#define SCAN_BUDGET_US 100000		/* /proc walking per second */
#define SCAN_ALWAYS 10			/* walks a second whatever they cost */

struct inode_pid {
	uint64_t inode;		/* 0 = empty */
	long pid;
};

struct procfinder {
	int nl;			/* NETLINK_SOCK_DIAG socket */
	unsigned max_scans, scans;
	time_t scan_second;
	uint64_t scan_us;
	ino_t netns;			/* ours; 0 when unknown */
	struct inode_pid cache[INODE_CACHE];
};

struct procfinder *
procfinder_new(unsigned max_scans_per_s)
{
	struct procfinder *f = calloc(1, sizeof(*f));
	struct stat st;

	if (f == NULL)
		return NULL;
	f->nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (stat("/proc/self/ns/net", &st) == 0)
		f->netns = st.st_ino;
	f->max_scans = max_scans_per_s;
	return f;
}

void
procfinder_free(struct procfinder *f)
{
	if (f == NULL)
		return;
	if (f->nl != -1)
		close(f->nl);
	free(f);
}

static uint16_t
port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static bool
addr_matches(const struct sockaddr *sa, const __be32 *diag_addr, int family)
{
	if (sa->sa_family == AF_INET && family == AF_INET)
		return diag_addr[0] == 0 || diag_addr[0] ==
		    ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	if (sa->sa_family == AF_INET6 && family == AF_INET6) {
		static const __be32 any[4];

		return memcmp(diag_addr, any, 16) == 0 || memcmp(diag_addr,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16) == 0;
	}
	return false;
}

static void
sockaddr_fill_id(const struct sockaddr *sa, __be16 *port, __be32 *addr)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		*port = s4->sin_port;
		memcpy(addr, &s4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		*port = s6->sin6_port;
		memcpy(addr, &s6->sin6_addr, 16);
	}
}

/* The one socket with this exact connection (sock_diag(7) without
 * NLM_F_DUMP): the client's address and port, and where it is connected.
 * Cheap however many sockets there are, and never another process's
 * socket that happens to share the port. */
static int
diag_exact(struct procfinder *f, int proto, const struct sockaddr *peer,
    const struct sockaddr *local, uint64_t *inode, uint32_t *uid)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	char buf[8192];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct inet_diag_msg *d;
	ssize_t n;

	if (f->nl == -1 || local == NULL || local->sa_family != peer->sa_family)
		return -1;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = (uint8_t)peer->sa_family;
	msg.req.sdiag_protocol = (uint8_t)proto;
	msg.req.idiag_states = ~0u;
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	sockaddr_fill_id(peer, &msg.req.id.idiag_sport, msg.req.id.idiag_src);
	sockaddr_fill_id(local, &msg.req.id.idiag_dport, msg.req.id.idiag_dst);
	if (send(f->nl, &msg, sizeof(msg), 0) == -1 ||
	    (n = recv(f->nl, buf, sizeof(buf), 0)) <= 0 ||
	    !NLMSG_OK(h, (size_t)n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)))
		return -1;
	d = NLMSG_DATA(h);
	if (d->idiag_inode == 0)	/* TIME_WAIT: nobody owns it */
		return -1;
	*inode = d->idiag_inode;
	*uid = d->idiag_uid;
	return 0;
}

/* Dumps the family's sockets of proto and picks one bound to the peer's
 * address and port that some process still owns (an inode). */
static int
diag_find(struct procfinder *f, int proto, const struct sockaddr *peer,
    uint64_t *inode, uint32_t *uid)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	char buf[16384];
	ssize_t n;
	int found = -1;
	bool done = false;

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (uint8_t)peer->sa_family;
	msg.req.sdiag_protocol = (uint8_t)proto;
	msg.req.idiag_states = ~0u;
	msg.req.id.idiag_sport = htons(port_of(peer));
	if (f->nl == -1 || send(f->nl, &msg, sizeof(msg), 0) == -1)
		return -1;
	while (!done && (n = recv(f->nl, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *d = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)) ||
			    found == 0 || d->idiag_inode == 0 ||
			    ntohs(d->id.idiag_sport) !=
			    port_of(peer) || !addr_matches(peer, d->id.idiag_src,
			    d->idiag_family))
				continue;
			*inode = d->idiag_inode;
			*uid = d->idiag_uid;
			found = 0;
		}
	}
	return found;
}

static void
cache_put(struct procfinder *f, uint64_t inode, long pid)
{
	struct inode_pid *e = &f->cache[inode % INODE_CACHE];

	e->inode = inode;
	e->pid = pid;
}

/* Walks /proc/PID/fd of the uid's processes, remembering every socket
 * inode seen; returns the pid holding inode, or -1. */
static long
scan_proc(struct procfinder *f, uint64_t inode, uint32_t uid)
{
	char path[300], link[64];
	struct dirent *p, *d;
	DIR *proc, *fds;
	struct stat st;
	long pid, found = -1;
	unsigned long long ino;
	ssize_t n;

	if ((proc = opendir("/proc")) == NULL)
		return -1;
	while ((p = readdir(proc)) != NULL) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		pid = strtol(p->d_name, NULL, 10);
		/* The socket lives in our network namespace (sock_diag found
		 * it there): processes of other namespaces are passed over
		 * with one stat instead of a walk through their descriptors. */
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		if (f->netns != 0 && (stat(path, &st) == -1 ||
		    st.st_ino != f->netns))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		if (stat(path, &st) == -1 || (uid != 0 && st.st_uid != uid) ||
		    (fds = opendir(path)) == NULL)
			continue;
		while ((d = readdir(fds)) != NULL) {
			if (d->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid,
			    d->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (sscanf(link, "socket:[%llu]", &ino) != 1)
				continue;
			cache_put(f, ino, pid);
			if (ino == inode && found == -1)
				found = pid;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

static bool
process_alive(long pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%ld", pid);
	return access(path, F_OK) == 0;
}

static uint64_t
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
procfinder_lookup(struct procfinder *f, int proto,
    const struct sockaddr *peer, const struct sockaddr *local, bool denial,
    struct procinfo *out)
{
	struct inode_pid *e;
	uint64_t inode;
	uint32_t uid;
	time_t now = time(NULL);
	long pid = -1;
	uint64_t t0;

	if (diag_exact(f, proto, peer, local, &inode, &uid) == -1 &&
	    (diag_find(f, proto, peer, &inode, &uid) == -1 || inode == 0))
		return -1;
	/* Socket inodes are not reused while a socket lives, so a mapping
	 * from the last walk holds as long as its process does. */
	e = &f->cache[inode % INODE_CACHE];
	if (e->inode == inode && process_alive(e->pid))
		pid = e->pid;
	if (pid == -1) {
		if (now != f->scan_second) {
			f->scan_second = now;
			f->scans = 0;
			f->scan_us = 0;
		}
		/* Walks cost time on the event loop: a few a second always,
		 * more while they stay within SCAN_BUDGET_US (for a denial,
		 * whose audit must name the process, whatever they cost),
		 * never more than max_scans. */
		if (f->scans >= f->max_scans || (!denial &&
		    f->scans >= SCAN_ALWAYS && f->scan_us >= SCAN_BUDGET_US))
			return -1;
		f->scans++;
		t0 = monotonic_us();
		pid = scan_proc(f, inode, uid);
		f->scan_us += monotonic_us() - t0;
	}
	if (pid == -1)
		return -1;
	return procinfo_describe(pid, out);
}

/* The name of uid, remembered for the last few (a passwd lookup reads
 * files; the same few users act over and over). */
static void
user_name(uid_t uid, char *out, size_t len)
{
	static struct { uid_t uid; bool set; char name[64]; } seen[4];
	static unsigned next;
	struct passwd pw, *res;
	char pwbuf[1024];
	unsigned i;

	for (i = 0; i < 4; i++)
		if (seen[i].set && seen[i].uid == uid) {
			snprintf(out, len, "%s", seen[i].name);
			return;
		}
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL)
		snprintf(out, len, "%s", pw.pw_name);
	else
		snprintf(out, len, "%u", (unsigned)uid);
	i = next++ % 4;
	seen[i].uid = uid;
	seen[i].set = true;
	snprintf(seen[i].name, sizeof(seen[i].name), "%s", out);
}

int
procinfo_describe(long pid, struct procinfo *out)
{
	char path[64], buf[sizeof(out->command)];
	struct stat st;
	ssize_t n;
	size_t i;
	int fd;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
	n = readlink(path, out->exe, sizeof(out->exe) - 1);
	if (n <= 0)
		return -1;
	out->exe[n] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (i = 0; n > 0 && i < (size_t)n; i++)
			out->command[i] = buf[i] == '\0' ? ' ' : buf[i];
		while (i > 0 && out->command[i - 1] == ' ')
			i--;
		out->command[i] = '\0';
	}
	snprintf(path, sizeof(path), "/proc/%ld", pid);
	if (stat(path, &st) == 0)
		user_name(st.st_uid, out->user, sizeof(out->user));
	return 0;
}
