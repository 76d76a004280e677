/*
 * fuzz_sniff — libFuzzer target for the proxy's first-bytes parsers:
 * sniff_tls_sni, sniff_http_host, sniff_stratum and sniff_any.
 *
 * Properties, each an abort() when broken:
 *   - a result is well formed: a NUL inside name; NEED_MORE and NOT_THIS
 *     leave proto SNIFF_UNKNOWN, name "", no why and no miner; DONE names
 *     the parser's protocol; a malformed result (why set) has no name and
 *     no miner; only a stratum result is a miner, and a stratum DONE
 *     without why always is;
 *   - a name is "" or lower case [a-z0-9._-] in non-empty labels, at most
 *     255 bytes, with no trailing dot; or, from HTTP only, an IPv6 address
 *     in the canonical form inet_ntop gives;
 *   - a decision is final: when a prefix (copied to a buffer of exactly its
 *     length, so that ASan sees a read past it) gives DONE or NOT_THIS, the
 *     whole input gives the same status and the same result;
 *   - SNIFF_MAX_INPUT bytes (the input repeated) always give a decision;
 *   - sniff_any gives the first DONE of TLS, HTTP and stratum, else
 *     NEED_MORE if one of them needs more, else NOT_THIS.
 * When the input starts with 0xfe, the rest is also taken as a handshake
 * message and sent in TLS records of (second byte + 1) bytes, to reach the
 * ClientHello parser through fragmented records.
 *
 * "NEED_MORE on a prefix never turns into NOT_THIS" does not hold by
 * design and is not checked: "" and "G" need more, "\x17" and "G\x01" are
 * not this; NEED_MORE only says nothing is decided yet.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/sniff.h"
#include "fuzz_holds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_sniff"

typedef enum sniff_status (*sniffer)(const uint8_t *, size_t,
    struct sniff_result *);

static const struct {
	const char *name;
	sniffer fn;
	enum sniff_proto proto;		/* SNIFF_UNKNOWN: any */
} parsers[] = {
	{ "tls", sniff_tls_sni, SNIFF_TLS },
	{ "http", sniff_http_host, SNIFF_HTTP },
	{ "stratum", sniff_stratum, SNIFF_STRATUM },
	{ "any", sniff_any, SNIFF_UNKNOWN },
};
#define NPARSERS (sizeof(parsers) / sizeof(parsers[0]))

/* A broken property aborts (fuzz_holds.c), unless FNGUARD_FUZZ_IGNORE
 * names it. */
#define holds(cond, what) fuzz_holds(TARGET, (cond), (what))

/* Calls fn on a heap copy of exactly n bytes. */
static enum sniff_status
call(sniffer fn, const uint8_t *p, size_t n, struct sniff_result *r)
{
	enum sniff_status st;
	uint8_t *copy = malloc(n > 0 ? n : 1);

	if (copy == NULL)
		abort();
	if (n > 0)
		memcpy(copy, p, n);
	memset(r, 0x5a, sizeof(*r));
	st = fn(copy, n, r);
	free(copy);
	return st;
}

static bool
is_ipv6_text(const char *s)
{
	char again[INET6_ADDRSTRLEN];
	struct in6_addr a;

	return strchr(s, ':') != NULL && inet_pton(AF_INET6, s, &a) == 1 &&
	    inet_ntop(AF_INET6, &a, again, sizeof(again)) != NULL &&
	    strcmp(again, s) == 0;
}

static bool
is_host_name(const char *s)
{
	size_t i, label = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_')
			label++;
		else
			return false;
	}
	return i == 0 || (label > 0 && i <= SNIFF_NAME_MAX);
}

static void
check_result(enum sniff_status st, const struct sniff_result *r,
    enum sniff_proto want)
{
	if (!holds(memchr(r->name, '\0', sizeof(r->name)) != NULL,
	    "name is not NUL-terminated"))
		return;
	holds(st == SNIFF_NEED_MORE || st == SNIFF_DONE ||
	    st == SNIFF_NOT_THIS, "status out of range");
	if (st != SNIFF_DONE) {
		holds(r->proto == SNIFF_UNKNOWN && r->name[0] == '\0' &&
		    r->why == NULL && !r->miner,
		    "NEED_MORE or NOT_THIS with a result");
		return;
	}
	holds(r->proto == SNIFF_TLS || r->proto == SNIFF_HTTP ||
	    r->proto == SNIFF_STRATUM, "DONE without a protocol");
	holds(want == SNIFF_UNKNOWN || r->proto == want,
	    "DONE with another parser's protocol");
	if (r->why != NULL)
		holds(r->why[0] != '\0' && r->name[0] == '\0' && !r->miner,
		    "a malformed result with a name or a miner");
	holds(!r->miner || r->proto == SNIFF_STRATUM,
	    "a miner outside stratum");
	holds(r->proto != SNIFF_STRATUM || r->why != NULL || r->miner,
	    "a stratum DONE that is neither malformed nor a miner");
	holds(r->proto != SNIFF_STRATUM || r->name[0] == '\0',
	    "a stratum result with a name");
	holds(is_host_name(r->name) || (r->proto == SNIFF_HTTP &&
	    is_ipv6_text(r->name)), "a name outside [a-z0-9._-] labels");
}

static bool
same_result(const struct sniff_result *a, const struct sniff_result *b)
{
	return a->proto == b->proto && a->miner == b->miner &&
	    a->why == b->why && strcmp(a->name, b->name) == 0;
}

/* A few prefix lengths, some of them chosen by the input itself. */
static size_t
prefix_lengths(const uint8_t *data, size_t size, size_t *k)
{
	size_t n = 0, i;

	for (i = 0; i <= 6 && i < size; i++)
		k[n++] = i;
	if (size > 7) {
		k[n++] = size / 3;
		k[n++] = size / 2;
		k[n++] = size - 2;
		k[n++] = size - 1;
		for (i = 0; i + 1 < size && i < 8; i += 2)
			k[n++] = ((size_t)data[i] << 8 | data[i + 1]) % size;
	}
	return n;
}

static void
check_parser(size_t p, const uint8_t *data, size_t size,
    struct sniff_result *whole_out, enum sniff_status *st_out)
{
	struct sniff_result whole, r;
	enum sniff_status st, pst;
	size_t k[24], n, i;

	st = call(parsers[p].fn, data, size, &whole);
	check_result(st, &whole, parsers[p].proto);
	n = prefix_lengths(data, size, k);
	for (i = 0; i < n; i++) {
		pst = call(parsers[p].fn, data, k[i], &r);
		check_result(pst, &r, parsers[p].proto);
		if (pst == SNIFF_NEED_MORE)
			continue;
		holds(pst == st, "a longer input changed a decision");
		holds(same_result(&r, &whole),
		    "a longer input changed a decided result");
	}
	*whole_out = whole;
	*st_out = st;
}

/* sniff_any: the first DONE of the three, else NEED_MORE if any. */
static void
check_any(const enum sniff_status *st, const struct sniff_result *r)
{
	size_t i;
	bool more = false;

	for (i = 0; i < NPARSERS - 1; i++) {
		if (st[i] == SNIFF_DONE) {
			holds(st[NPARSERS - 1] == SNIFF_DONE &&
			    same_result(&r[i], &r[NPARSERS - 1]),
			    "sniff_any is not the first DONE");
			return;
		}
		more = more || st[i] == SNIFF_NEED_MORE;
	}
	holds(st[NPARSERS - 1] == (more ? SNIFF_NEED_MORE : SNIFF_NOT_THIS),
	    "sniff_any disagrees with the parsers");
}

/* The input repeated to SNIFF_MAX_INPUT bytes: never NEED_MORE. */
static void
check_max_input(const uint8_t *data, size_t size)
{
	static uint8_t buf[SNIFF_MAX_INPUT];
	struct sniff_result r;
	size_t i;

	if (size == 0)
		return;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = data[i % size];
	for (i = 0; i < NPARSERS; i++)
		holds(parsers[i].fn(buf, sizeof(buf), &r) != SNIFF_NEED_MORE,
		    "SNIFF_MAX_INPUT bytes still need more");
}

/* Mode 0xfe: data[2..] as a handshake message in records of data[1] + 1
 * bytes. */
static void
check_records(const uint8_t *data, size_t size)
{
	static uint8_t buf[6 * SNIFF_MAX_INPUT];
	struct sniff_result whole;
	enum sniff_status st;
	size_t rec, off, n, o = 0;

	if (size < 3 || data[0] != 0xfe)
		return;
	rec = (size_t)data[1] + 1;
	for (off = 2; off < size && o + 5 + rec <= sizeof(buf); off += n) {
		n = size - off < rec ? size - off : rec;
		buf[o++] = 0x16;
		buf[o++] = 0x03;
		buf[o++] = 0x01;
		buf[o++] = (uint8_t)(n >> 8);
		buf[o++] = (uint8_t)n;
		memcpy(buf + o, data + off, n);
		o += n;
	}
	check_parser(0, buf, o, &whole, &st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sniff_result r[NPARSERS];
	enum sniff_status st[NPARSERS];
	size_t i;

	for (i = 0; i < NPARSERS; i++)
		check_parser(i, data, size, &r[i], &st[i]);
	check_any(st, r);
	check_max_input(data, size);
	check_records(data, size);
	return 0;
}
