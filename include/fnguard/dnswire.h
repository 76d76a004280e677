/*
 * dnswire — DNS messages (RFC 1035) parsed and built with explicit lengths.
 * Pure: no I/O, no allocation, no logging; every offset is checked against
 * the message length before it is read.
 */
#ifndef FNGUARD_DNSWIRE_H
#define FNGUARD_DNSWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fnguard/pattern.h"

#define DNS_HEADER_LEN 12
#define DNS_MAX_WIRE_NAME 255		/* RFC 1035 3.1 */
#define DNS_MAX_LABEL 63
/* Presentation form: every octet may become "\DDD", plus dots. */
#define DNS_MAX_TEXT_NAME (4 * DNS_MAX_WIRE_NAME + 1)
#define DNS_MAX_UDP 65535

#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT 41
#define DNS_CLASS_IN 1

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

/* Network-order fields (RFC 1035 2.3.2), for the parser and its tests. */
static inline uint16_t
dnswire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
dnswire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
dnswire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
dnswire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

enum dnswire_status {
	DNSWIRE_OK,
	DNSWIRE_SHORT,		/* not even a header: drop */
	DNSWIRE_RESPONSE,	/* QR set: never answered (loops), drop */
	DNSWIRE_FORMERR,	/* answer FORMERR */
	DNSWIRE_NOTIMP,		/* opcode other than QUERY */
};

struct dns_query {
	uint16_t id;
	uint16_t flags;
	uint16_t qtype, qclass;
	uint8_t qname[DNS_MAX_WIRE_NAME];	/* wire form, as sent */
	size_t qname_len;
	size_t question_end;	/* offset just past the question */
	bool edns;		/* an OPT record was present */
	uint16_t udp_size;	/* what the client can take over UDP */
	bool dnssec_ok;
	/* The name as matched against the policy: RFC 1035 5.1 presentation
	 * form with RFC 4343 escapes, ASCII lower case, no trailing dot
	 * ("." for the root). */
	char name[DNS_MAX_TEXT_NAME + 1];
	const char *why;	/* for FORMERR: what was wrong */
};

/*
 * Parses a query: header, exactly one question (QDCOUNT other than 1 is
 * FORMERR, RFC 9619), and an OPT record if present (RFC 6891). Names may
 * not use compression pointers that point forward or loop.
 */
enum dnswire_status dnswire_parse_query(const uint8_t *msg, size_t len,
    struct dns_query *q);

/*
 * Reads a possibly compressed name at *off into wire (uncompressed wire
 * form, at most DNS_MAX_WIRE_NAME bytes); *off moves past it. Every pointer
 * must point strictly backwards, so a loop cannot happen. Returns 0 or -1.
 */
int dnswire_read_name(const uint8_t *msg, size_t len, size_t *off,
    uint8_t *wire, size_t *wire_len);

/* Presentation form of a wire name (see struct dns_query.name). */
void dnswire_name_text(const uint8_t *wire, size_t wire_len, bool lower,
    char *out, size_t outlen);

/*
 * Builds an answer to q that carries no records: rcode (FORMERR, NXDOMAIN,
 * REFUSED, NOERROR for NODATA...) with the client's ID, RD, and question
 * echoed byte for byte (case included) when q->question_end is set, and
 * an OPT record when the client sent one. Returns the length, 0 when out is
 * too small.
 */
size_t dnswire_build_empty(const struct dns_query *q, const uint8_t *msg,
    int rcode, uint8_t *out, size_t outsize);

/*
 * Builds the query fnguard sends upstream for q: its own header (ID 0, to be
 * set by the sender; RD and CD as the client asked), the question exactly
 * as checked (the same wire name bytes, type and class) and an OPT record
 * (RFC 6891) offering udp_size, with DO as the client asked. Nothing else of
 * the client's message goes upstream. Returns the length or 0.
 */
size_t dnswire_build_query(const struct dns_query *q, uint16_t udp_size,
    uint8_t *out, size_t outsize);

/* What an upstream answer says, for the cache and for learned addresses. */
struct dns_answer_info {
	int rcode;
	bool truncated;
	uint32_t min_ttl;	/* over all records (RFC 2308 for negatives) */
	bool has_ttl;
	uint16_t ttl_offsets[64];	/* where TTLs sit, to count them down */
	size_t nttl;
	bool too_many_ttls;	/* more records than ttl_offsets: no cache */
	size_t opt_off, opt_len;	/* the OPT record, if any (len 0) */
	uint16_t opt_index;		/* its place in the additional section */
	struct ipaddr addrs[32];	/* A/AAAA of qname, CNAMEs followed */
	size_t naddrs;
	uint32_t addr_ttl;
};

/*
 * Walks an upstream answer to q: checks it answers the same question,
 * records TTL offsets and the smallest TTL (for NXDOMAIN/NODATA the SOA's
 * min(TTL, MINIMUM), RFC 2308 section 5), and collects the addresses the
 * query name resolves to through its CNAME chain. Returns 0 or -1 (malformed
 * or not an answer to q).
 */
int dnswire_inspect_answer(const uint8_t *msg, size_t len,
    const struct dns_query *q, struct dns_answer_info *info);

/*
 * Prepares a stored answer for a client: copies it into out, sets the
 * client's ID, copies the client's question bytes (0x20 case), subtracts
 * elapsed seconds from every TTL, and when the result exceeds max_size
 * (UDP) cuts it to header and question with TC set (RFC 1035 4.2.1,
 * RFC 6891 7). Returns the length or 0.
 */
size_t dnswire_prepare_answer(const uint8_t *stored, size_t len,
    const struct dns_answer_info *info, uint32_t elapsed,
    const struct dns_query *q, const uint8_t *qmsg, size_t max_size,
    uint8_t *out, size_t outsize);

#endif
