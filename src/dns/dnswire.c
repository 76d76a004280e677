/*
 * dnswire — see include/fnguard/dnswire.h.
 *
 * Every read goes through a bounds check against the message length; names
 * are copied into fixed 255-byte buffers; compression pointers must point
 * strictly backwards (so they cannot loop) and are refused altogether in a
 * query's question, whose bytes must mean the same thing to us and to the
 * upstream that sees them after the ID is changed.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fnguard/dnswire.h"

#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define FLAG_CD 0x0010
#define EDNS_DO 0x8000

/* Do bytes [from, to) overlap a TTL that will be counted down? A name
 * made of such bytes would read differently once the answer is prepared. */
static bool
in_ttl(const struct dns_answer_info *ttls, size_t from, size_t to)
{
	size_t i;

	for (i = 0; ttls != NULL && i < ttls->nttl; i++)
		if (from < (size_t)ttls->ttl_offsets[i] + 4 &&
		    to > ttls->ttl_offsets[i])
			return true;
	return false;
}

/*
 * Reads a name; pointers allowed only when compressed is true. Every
 * pointer points strictly backwards from the previous one (no loops),
 * never into the header (whose ID is rewritten), and the labels it leads
 * to must end before the pointer itself: a name is made only of bytes
 * already behind the reader. With ttls, no byte of a name may lie in a
 * TTL that prepare will count down.
 */
static int
read_name_in(const uint8_t *msg, size_t len, size_t *off, uint8_t *wire,
    size_t *wire_len, bool compressed, const struct dns_answer_info *ttls)
{
	size_t pos = *off, out = 0, end = 0, limit = *off, bound = len;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -1;
		c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (!compressed || pos + 1 >= len)
				return -1;
			target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			if (target >= limit || target < DNS_HEADER_LEN)
				return -1;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			limit = target;
			bound = pos;
			pos = target;
			continue;
		}
		if ((c & 0xc0) != 0)	/* 0x40, 0x80: RFC 6891 9 */
			return -1;
		if (out + 1 + c > DNS_MAX_WIRE_NAME || pos + 1 + c > bound ||
		    in_ttl(ttls, pos, pos + 1 + (size_t)c))
			return -1;
		memcpy(wire + out, msg + pos, (size_t)c + 1);
		out += (size_t)c + 1;
		pos += (size_t)c + 1;
		if (c == 0)
			break;
	}
	*wire_len = out;
	*off = jumped ? end : pos;
	return 0;
}

static int
read_name(const uint8_t *msg, size_t len, size_t *off, uint8_t *wire,
    size_t *wire_len, bool compressed)
{
	return read_name_in(msg, len, off, wire, wire_len, compressed, NULL);
}

int
dnswire_read_name(const uint8_t *msg, size_t len, size_t *off, uint8_t *wire,
    size_t *wire_len)
{
	return read_name(msg, len, off, wire, wire_len, true);
}

/* RFC 4343 2.1: the printable characters that mean something in text,
 * written after a backslash. */
static const bool text_quoted[128] = {
	['.'] = true, ['\\'] = true, ['"'] = true, ['('] = true,
	[')'] = true, [';'] = true, ['$'] = true, ['@'] = true,
};

void
dnswire_name_text(const uint8_t *wire, size_t wire_len, bool lower,
    char *out, size_t outlen)
{
	size_t i = 0, o = 0, j;

	if (outlen == 0)
		return;
	while (i < wire_len && wire[i] != 0) {
		uint8_t n = wire[i++];

		if (o > 0 && o + 1 < outlen)
			out[o++] = '.';
		for (j = 0; j < n && i < wire_len; j++, i++) {
			unsigned char c = wire[i];

			if (lower && c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (c <= 0x20 || c >= 0x7f) {
				/* Not printable: \DDD. */
				if (o + 4 < outlen) {
					out[o++] = '\\';
					out[o++] = (char)('0' + c / 100);
					out[o++] = (char)('0' + c / 10 % 10);
					out[o++] = (char)('0' + c % 10);
				}
			} else if (text_quoted[c]) {
				if (o + 2 < outlen) {
					out[o++] = '\\';
					out[o++] = (char)c;
				}
			} else if (o + 1 < outlen)
				out[o++] = (char)c;
		}
	}
	if (o == 0 && outlen > 1)
		out[o++] = '.';
	out[o] = '\0';
}

/* Skips one resource record; fills type, the TTL's offset, rdata. */
static int
skip_rr(const uint8_t *msg, size_t len, size_t *off, uint8_t *owner,
    size_t *owner_len, uint16_t *type, size_t *ttl_off, size_t *rdata,
    uint16_t *rdlen, const struct dns_answer_info *ttls)
{
	if (read_name_in(msg, len, off, owner, owner_len, true, ttls) == -1 ||
	    *off + 10 > len)
		return -1;
	*type = dnswire_get16(msg + *off);
	*ttl_off = *off + 4;
	*rdlen = dnswire_get16(msg + *off + 8);
	*rdata = *off + 10;
	if (*rdata + *rdlen > len)
		return -1;
	*off = *rdata + *rdlen;
	return 0;
}

static enum dnswire_status
formerr(struct dns_query *q, const char *why)
{
	q->why = why;
	return DNSWIRE_FORMERR;
}

/* The OPT record of a query, if any (RFC 6891 6.1). */
static enum dnswire_status
parse_query_records(const uint8_t *msg, size_t len, struct dns_query *q,
    unsigned records, unsigned additional)
{
	uint8_t owner[DNS_MAX_WIRE_NAME];
	size_t off = q->question_end, owner_len, ttl_off, rdata;
	uint16_t type, rdlen;
	unsigned i;

	for (i = 0; i < records; i++) {
		if (skip_rr(msg, len, &off, owner, &owner_len, &type, &ttl_off,
		    &rdata, &rdlen, NULL) == -1)
			return formerr(q, "malformed record");
		if (type != DNS_TYPE_OPT)
			continue;
		if (i < records - additional || owner_len != 1 || q->edns)
			return formerr(q, "misplaced or repeated OPT record");
		q->edns = true;
		q->udp_size = dnswire_get16(msg + ttl_off - 2);
		if (q->udp_size < 512)
			q->udp_size = 512;
		q->dnssec_ok = (dnswire_get16(msg + ttl_off + 2) & EDNS_DO) != 0;
	}
	return DNSWIRE_OK;
}

enum dnswire_status
dnswire_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	unsigned qd, an, ns, ar;
	size_t off = DNS_HEADER_LEN;

	memset(q, 0, sizeof(*q));
	q->udp_size = 512;
	if (len < DNS_HEADER_LEN)
		return DNSWIRE_SHORT;
	q->id = dnswire_get16(msg);
	q->flags = dnswire_get16(msg + 2);
	if (q->flags & FLAG_QR)
		return DNSWIRE_RESPONSE;
	if (((q->flags >> 11) & 0xf) != 0)
		return DNSWIRE_NOTIMP;
	qd = dnswire_get16(msg + 4);
	an = dnswire_get16(msg + 6);
	ns = dnswire_get16(msg + 8);
	ar = dnswire_get16(msg + 10);
	/* RFC 9619: a query holds exactly one question. */
	if (qd != 1)
		return formerr(q, qd == 0 ? "no question" :
		    "more than one question");
	if (read_name(msg, len, &off, q->qname, &q->qname_len, false) == -1)
		return formerr(q, "malformed or compressed question name");
	if (off + 4 > len)
		return formerr(q, "truncated question");
	q->qtype = dnswire_get16(msg + off);
	q->qclass = dnswire_get16(msg + off + 2);
	q->question_end = off + 4;
	dnswire_name_text(q->qname, q->qname_len, true, q->name,
	    sizeof(q->name));
	return parse_query_records(msg, len, q, an + ns + ar, ar);
}

static size_t
put_opt(uint8_t *p, uint16_t udp_size, bool dnssec_ok)
{
	p[0] = 0;			/* root owner */
	dnswire_put16(p + 1, DNS_TYPE_OPT);
	dnswire_put16(p + 3, udp_size);
	dnswire_put32(p + 5, dnssec_ok ? EDNS_DO : 0);
	dnswire_put16(p + 9, 0);		/* no options */
	return 11;
}

size_t
dnswire_build_empty(const struct dns_query *q, const uint8_t *msg, int rcode,
    uint8_t *out, size_t outsize)
{
	size_t qlen = q->question_end > DNS_HEADER_LEN ?
	    q->question_end - DNS_HEADER_LEN : 0;
	size_t len = DNS_HEADER_LEN + qlen;
	uint16_t flags;

	if (len + 11 > outsize)
		return 0;
	flags = (uint16_t)(FLAG_QR | FLAG_RA | (q->flags & (FLAG_RD | FLAG_CD)) |
	    (rcode & 0xf));
	dnswire_put16(out, q->id);
	dnswire_put16(out + 2, flags);
	dnswire_put16(out + 4, qlen > 0 ? 1 : 0);
	dnswire_put16(out + 6, 0);
	dnswire_put16(out + 8, 0);
	dnswire_put16(out + 10, q->edns ? 1 : 0);
	memcpy(out + DNS_HEADER_LEN, msg + DNS_HEADER_LEN, qlen);
	if (q->edns)
		len += put_opt(out + len, 1232, q->dnssec_ok);
	return len;
}

size_t
dnswire_build_query(const struct dns_query *q, uint16_t udp_size,
    uint8_t *out, size_t outsize)
{
	size_t len = DNS_HEADER_LEN + q->qname_len + 4 + 11;

	if (len > outsize)
		return 0;
	dnswire_put16(out, 0);
	dnswire_put16(out + 2, q->flags & (FLAG_RD | FLAG_CD));
	dnswire_put16(out + 4, 1);
	dnswire_put16(out + 6, 0);
	dnswire_put16(out + 8, 0);
	dnswire_put16(out + 10, 1);
	memcpy(out + DNS_HEADER_LEN, q->qname, q->qname_len);
	dnswire_put16(out + DNS_HEADER_LEN + q->qname_len, q->qtype);
	dnswire_put16(out + DNS_HEADER_LEN + q->qname_len + 2, q->qclass);
	put_opt(out + DNS_HEADER_LEN + q->qname_len + 4, udp_size,
	    q->dnssec_ok);
	return len;
}

/* RFC 4343: names compare ASCII-case-insensitively. */
static bool
name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++) {
		uint8_t x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

struct rr_ref {
	uint8_t owner[DNS_MAX_WIRE_NAME];
	size_t owner_len;
	uint16_t type;
	size_t rdata;
	uint16_t rdlen;
	uint32_t ttl;
};

#define MAX_ANSWER_RRS 64

static void
note_ttl(struct dns_answer_info *info, size_t ttl_off, uint32_t ttl)
{
	if (info->nttl < sizeof(info->ttl_offsets) / sizeof(info->ttl_offsets[0]))
		info->ttl_offsets[info->nttl++] = (uint16_t)ttl_off;
	else
		info->too_many_ttls = true;
	/* RFC 2181 8: a TTL with the top bit set is taken as zero. */
	if (ttl > 0x7fffffff)
		ttl = 0;
	if (!info->has_ttl || ttl < info->min_ttl)
		info->min_ttl = ttl;
	info->has_ttl = true;
}

/* Follows CNAMEs from the query name and collects its addresses. */
static void
collect_addrs(const uint8_t *msg, size_t len, const struct dns_query *q,
    const struct rr_ref *rrs, size_t n, struct dns_answer_info *info)
{
	uint8_t target[DNS_MAX_WIRE_NAME], next[DNS_MAX_WIRE_NAME];
	size_t tlen = q->qname_len, nlen, i, hops, off;
	bool moved = true;

	memcpy(target, q->qname, tlen);
	for (hops = 0; moved && hops < 16; hops++) {
		moved = false;
		for (i = 0; i < n; i++) {
			if (rrs[i].type != DNS_TYPE_CNAME ||
			    !name_equal(rrs[i].owner, rrs[i].owner_len, target,
			    tlen))
				continue;
			off = rrs[i].rdata;
			/* A target that does not read breaks the chain:
			 * nothing is learned from this answer. */
			if (read_name_in(msg, len, &off, next, &nlen, true,
			    info) == -1)
				return;
			memcpy(target, next, nlen);
			tlen = nlen;
			moved = true;
			break;
		}
	}
	for (i = 0; i < n && info->naddrs < 32; i++) {
		struct ipaddr *a = &info->addrs[info->naddrs];

		if (!name_equal(rrs[i].owner, rrs[i].owner_len, target, tlen))
			continue;
		memset(a, 0, sizeof(*a));
		if (rrs[i].type == DNS_TYPE_A && rrs[i].rdlen == 4) {
			a->family = 4;
			memcpy(a->bytes, msg + rrs[i].rdata, 4);
		} else if (rrs[i].type == DNS_TYPE_AAAA && rrs[i].rdlen == 16) {
			a->family = 6;
			memcpy(a->bytes, msg + rrs[i].rdata, 16);
		} else
			continue;
		if (info->naddrs == 0 || rrs[i].ttl < info->addr_ttl)
			info->addr_ttl = rrs[i].ttl;
		info->naddrs++;
	}
}

/* RFC 2308 5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
static void
negative_ttl(const uint8_t *msg, size_t len, const struct rr_ref *rr,
    struct dns_answer_info *info)
{
	uint8_t name[DNS_MAX_WIRE_NAME];
	size_t off = rr->rdata, nlen;
	uint32_t minimum;

	if (read_name_in(msg, len, &off, name, &nlen, true, info) == -1 ||
	    read_name_in(msg, len, &off, name, &nlen, true, info) == -1 ||
	    off + 20 > rr->rdata + rr->rdlen)
		return;
	minimum = dnswire_get32(msg + off + 16);
	if (minimum < info->min_ttl)
		info->min_ttl = minimum;
}

static int
check_question(const uint8_t *msg, size_t len, const struct dns_query *q,
    size_t *off)
{
	uint8_t name[DNS_MAX_WIRE_NAME];
	size_t nlen;

	if (dnswire_get16(msg + 4) != 1)
		return -1;
	/* Uncompressed, as in our query: the client's question bytes will
	 * be put in its place. */
	if (read_name(msg, len, off, name, &nlen, false) == -1 ||
	    *off + 4 > len || !name_equal(name, nlen, q->qname, q->qname_len) ||
	    dnswire_get16(msg + *off) != q->qtype || dnswire_get16(msg + *off + 2) != q->qclass)
		return -1;
	*off += 4;
	return 0;
}

int
dnswire_inspect_answer(const uint8_t *msg, size_t len,
    const struct dns_query *q, struct dns_answer_info *info)
{
	struct rr_ref rrs[MAX_ANSWER_RRS], rr, soa;
	size_t off = DNS_HEADER_LEN, n = 0, ttl_off, i, start;
	unsigned an, total;
	uint16_t flags;
	bool have_soa = false;

	memset(info, 0, sizeof(*info));
	memset(&soa, 0, sizeof(soa));
	if (len < DNS_HEADER_LEN || len > 65535)
		return -1;
	flags = dnswire_get16(msg + 2);
	if (!(flags & FLAG_QR))
		return -1;
	info->rcode = flags & 0xf;
	info->truncated = (flags & FLAG_TC) != 0;
	if (check_question(msg, len, q, &off) == -1)
		return -1;
	an = dnswire_get16(msg + 6);
	total = an + dnswire_get16(msg + 8) + dnswire_get16(msg + 10);
	for (i = 0; i < total; i++) {
		start = off;
		if (skip_rr(msg, len, &off, rr.owner, &rr.owner_len, &rr.type,
		    &ttl_off, &rr.rdata, &rr.rdlen, info) == -1)
			return -1;
		if (rr.type == DNS_TYPE_OPT) {
			/* RFC 6891 6.1.1: one OPT, in the additional section
			 * only; anything else is malformed. */
			if (i < total - dnswire_get16(msg + 10) || info->opt_len != 0)
				return -1;
			info->opt_off = start;
			info->opt_len = off - start;
			info->opt_index = (uint16_t)(i - (total -
			    dnswire_get16(msg + 10)));
			continue;
		}
		rr.ttl = dnswire_get32(msg + ttl_off);
		note_ttl(info, ttl_off, rr.ttl);
		if (i < an && n < MAX_ANSWER_RRS)
			rrs[n++] = rr;
		else if (i >= an && rr.type == DNS_TYPE_SOA && !have_soa) {
			soa = rr;
			have_soa = true;
		}
	}
	if (info->rcode == DNS_RCODE_NXDOMAIN || an == 0) {
		/* Without an SOA a negative answer is not cached. */
		if (!have_soa)
			info->has_ttl = false;
		else
			negative_ttl(msg, len, &soa, info);
	}
	collect_addrs(msg, len, q, rrs, n, info);
	return 0;
}

size_t
dnswire_prepare_answer(const uint8_t *stored, size_t len,
    const struct dns_answer_info *info, uint32_t elapsed,
    const struct dns_query *q, const uint8_t *qmsg, size_t max_size,
    uint8_t *out, size_t outsize)
{
	size_t i, qlen = q->question_end - DNS_HEADER_LEN;

	if (len > outsize || len < DNS_HEADER_LEN + qlen)
		return 0;
	memcpy(out, stored, len);
	dnswire_put16(out, q->id);
	/* We recurse for the client; we are not the zone's authority. */
	dnswire_put16(out + 2, (uint16_t)((dnswire_get16(out + 2) | FLAG_RA) & ~FLAG_AA));
	/* The client's own question bytes, case included (RFC 5452 9,
	 * "0x20"); same length since the names are equal. */
	memcpy(out + DNS_HEADER_LEN, qmsg + DNS_HEADER_LEN, qlen);
	for (i = 0; i < info->nttl; i++) {
		size_t o = info->ttl_offsets[i];
		uint32_t ttl = dnswire_get32(out + o);

		dnswire_put32(out + o, ttl > elapsed ? ttl - elapsed : 0);
	}
	/* RFC 6891 7: no OPT to a client that sent none. The message is cut
	 * at the OPT: the additional records after it go too (they are
	 * optional), and since pointers only point backwards nothing before
	 * the cut can refer to what was cut. */
	if (!q->edns && info->opt_len > 0 && info->opt_off < len) {
		len = info->opt_off;
		dnswire_put16(out + 10, info->opt_index);
	}
	if (len <= max_size)
		return len;
	/* Too big for the client over UDP: header and question, TC set
	 * (RFC 1035 4.2.1); the client retries over TCP. */
	len = DNS_HEADER_LEN + qlen;
	dnswire_put16(out + 2, (uint16_t)(dnswire_get16(out + 2) | FLAG_TC));
	dnswire_put16(out + 6, 0);
	dnswire_put16(out + 8, 0);
	dnswire_put16(out + 10, 0);
	if (q->edns) {
		dnswire_put16(out + 10, 1);
		len += put_opt(out + len, 1232, q->dnssec_ok);
	}
	return len;
}
