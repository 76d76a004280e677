/*
 * procinfo — which process is behind a socket, for audit records: the
 * socket is found with NETLINK_SOCK_DIAG (sock_diag(7)), its inode among
 * /proc/PID/fd links, and the process described from /proc/PID.
 */
#ifndef FNGUARD_PROCINFO_H
#define FNGUARD_PROCINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct procinfo {
	long pid;
	char exe[PATH_MAX];
	char command[1024];
	char user[64];
};

struct procfinder;

/* max_scans_per_s bounds the /proc walks (each costs a few ms); past it
 * lookups answer "not found" until the next second. */
struct procfinder *procfinder_new(unsigned max_scans_per_s);
void procfinder_free(struct procfinder *);

/*
 * The process owning the socket at the other end of a local connection or
 * datagram: proto is IPPROTO_UDP or IPPROTO_TCP, peer is the client's
 * address as we saw it, local (may be NULL) where the client's socket is
 * connected to: with it the socket is looked up by the exact connection,
 * without it by the client's address and port. Returns 0, or -1 when it
 * cannot be found (a remote client, a process gone, or the scan budget
 * spent). For a denial, whose audit must name the process, the budget's
 * time limit does not apply, only its count of walks a second.
 */
int procfinder_lookup(struct procfinder *, int proto,
    const struct sockaddr *peer, const struct sockaddr *local, bool denial,
    struct procinfo *out);

/* Describes a process by pid. Returns 0 or -1. */
int procinfo_describe(long pid, struct procinfo *out);

#endif
