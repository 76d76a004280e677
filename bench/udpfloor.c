/*
 * bench/udpfloor.c — the least a UDP DNS server can do per query on this
 * kernel: a reference for bench/dns.sh's test b (denied names), not a
 * server. It reads queries in batches (recvmmsg, 64 at a time, after
 * epoll_wait, as fnguard's resolver does), turns each into an NXDOMAIN
 * answer in place (QR, RA, RCODE 3; the question and any OPT record kept,
 * so the answer is the query's size), and sends the batch back with
 * sendmmsg, all answers of one length to one peer grouped into one
 * UDP_SEGMENT message (with GSO=1, the default) or one message per
 * answer (GSO=0).
 * No parsing, no policy, no audit, no cache: whatever a real server adds
 * comes on top of what this one costs.
 *
 *   udpfloor PORT          (listens on 127.0.0.1:PORT until killed)
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define BATCH 64
#define BUF 1500

static struct mmsghdr in[BATCH], out[BATCH];
static struct iovec in_iov[BATCH], out_iov[BATCH];
static struct sockaddr_in peer[BATCH];
static uint8_t buf[BATCH][BUF];
static union {
	char b[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
} ctl[BATCH];

/* Messages for answers 0..n-1: with gso, all answers of one length to
 * one peer become one message, cut every that many bytes. */
static unsigned
build(unsigned n, int gso)
{
	unsigned char used[BATCH] = { 0 };
	unsigned i, j, m = 0, niov = 0, first;
	struct cmsghdr *cm;
	uint16_t seg;

	for (i = 0; i < n; i++) {
		if (used[i])
			continue;
		first = niov;
		out_iov[niov].iov_base = buf[i];
		out_iov[niov++].iov_len = in[i].msg_len;
		for (j = i + 1; gso && j < n &&
		    (niov - first + 1) * in[i].msg_len <= 65000; j++) {
			if (used[j] || in[j].msg_len != in[i].msg_len ||
			    peer[j].sin_port != peer[i].sin_port ||
			    peer[j].sin_addr.s_addr != peer[i].sin_addr.s_addr)
				continue;
			used[j] = 1;
			out_iov[niov].iov_base = buf[j];
			out_iov[niov++].iov_len = in[j].msg_len;
		}
		memset(&out[m], 0, sizeof(out[m]));
		out[m].msg_hdr.msg_name = &peer[i];
		out[m].msg_hdr.msg_namelen = sizeof(peer[i]);
		out[m].msg_hdr.msg_iov = &out_iov[first];
		out[m].msg_hdr.msg_iovlen = niov - first;
		if (niov - first > 1) {
			seg = (uint16_t)in[i].msg_len;
			out[m].msg_hdr.msg_control = ctl[m].b;
			out[m].msg_hdr.msg_controllen = sizeof(ctl[m].b);
			cm = CMSG_FIRSTHDR(&out[m].msg_hdr);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
		}
		m++;
	}
	return m;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct epoll_event ev;
	const char *g = getenv("GSO");
	int gso = g == NULL || strcmp(g, "0") != 0;
	int fd, ep, n, i, size = 1 << 20;
	unsigned m, done;

	if (argc != 2) {
		fprintf(stderr, "usage: udpfloor PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    (ep = epoll_create1(0)) == -1) {
		perror("udpfloor");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		perror("udpfloor: epoll_ctl");
		return 1;
	}
	for (;;) {
		if (epoll_wait(ep, &ev, 1, -1) == -1 && errno != EINTR) {
			perror("udpfloor: epoll_wait");
			return 1;
		}
		do {
			for (i = 0; i < BATCH; i++) {
				in_iov[i].iov_base = buf[i];
				in_iov[i].iov_len = BUF;
				memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
				in[i].msg_hdr.msg_name = &peer[i];
				in[i].msg_hdr.msg_namelen = sizeof(peer[i]);
				in[i].msg_hdr.msg_iov = &in_iov[i];
				in[i].msg_hdr.msg_iovlen = 1;
			}
			if ((n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL)) <= 0)
				break;
			for (i = 0; i < n; i++) {
				/* QR=1, opcode kept, RD kept; RA=1, RCODE=3. */
				if (in[i].msg_len >= 12) {
					buf[i][2] |= 0x80;
					buf[i][3] = (uint8_t)(0x80 | 3);
				}
			}
			m = build((unsigned)n, gso);
			for (done = 0; done < m; ) {
				int k = sendmmsg(fd, out + done, m - done,
				    MSG_DONTWAIT);
				if (k <= 0)
					break;
				done += (unsigned)k;
			}
		} while (n == BATCH);
	}
}
