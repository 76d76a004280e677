/*
 * fuzz_dnswire — libFuzzer target for the DNS wire parser (dnswire): the
 * input is a DNS message, read as a client's query and as an upstream's
 * answer.
 *
 * Properties, each an abort() when broken:
 *   - dnswire_parse_query: the status fits the header (SHORT only under 12
 *     bytes, RESPONSE only with QR, NOTIMP only with another opcode), a
 *     FORMERR has a reason; a parsed query's question lies in the message,
 *     uncompressed, its wire name is well formed, and its name text has no
 *     unescaped control, space or high byte, is at most DNS_MAX_TEXT_NAME,
 *     and unescapes to the wire name in lower case;
 *   - dnswire_build_query of a parsed query parses back to the same wire
 *     name, type, class and DO, with the offered UDP size, ID 0 and only
 *     RD and CD of the client's flags;
 *   - dnswire_build_empty parses as a response with the client's ID and
 *     question, and reads back as an answer to it with that rcode; with no
 *     question (a FORMERR) it is a header with QDCOUNT 0;
 *   - dnswire_read_name at several offsets: a name read is well formed, the
 *     offset moves forward within the message, and its text (lower case or
 *     not) unescapes to it;
 *   - dnswire_inspect_answer, against a fixed query and against the query
 *     made of the input's own question: what it reports lies in the
 *     message; then dnswire_prepare_answer for UDP (512 or EDNS) and TCP:
 *     never longer than the limit, the client's ID and question echoed,
 *     and, when not cut for UDP, it reads back as an answer to the same
 *     question with the same rcode and addresses, and an OPT only for a
 *     client that sent one (RFC 6891 7). A name that reaches into the
 *     bytes prepare_answer rewrites (ID, flags, TTLs, the OPT cut off) is
 *     a property of its own, so that FNGUARD_FUZZ_IGNORE can name it.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/dnswire.h"
#include "fuzz_holds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_dnswire"

#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define FLAG_CD 0x0010

/* A broken property aborts (fuzz_holds.c), unless FNGUARD_FUZZ_IGNORE
 * names it. */
#define holds(cond, what) fuzz_holds(TARGET, (cond), (what))

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* A wire name: labels of 1..63 bytes, the root last, 255 bytes at most. */
static bool
wire_name_ok(const uint8_t *w, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > DNS_MAX_WIRE_NAME)
		return false;
	while (i < len && w[i] != 0) {
		if (w[i] > DNS_MAX_LABEL)
			return false;
		i += (size_t)w[i] + 1;
	}
	return i == len - 1;
}

static bool
is_special(char c)
{
	return c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' ||
	    c == ';' || c == '$' || c == '@';
}

/*
 * Reads presentation form back into wire form (RFC 1035 5.1): "\DDD" and
 * "\X" escapes, labels between unescaped dots, "." the root. Returns -1
 * when the text is not something dnswire_name_text may write: an
 * unescaped control, space, high or special byte, a bad escape, an empty
 * or long label.
 */
static int
text_to_wire(const char *t, uint8_t *w, size_t *wlen)
{
	size_t n = 1, label = 0;
	unsigned v;

	if (strcmp(t, ".") == 0) {
		w[0] = 0;
		*wlen = 1;
		return 0;
	}
	w[0] = 0;
	for (; *t != '\0'; t++) {
		unsigned char c = (unsigned char)*t;

		if (c == '.') {
			if (n - label - 1 == 0)
				return -1;
			w[label] = (uint8_t)(n - label - 1);
			label = n++;
			if (n > DNS_MAX_WIRE_NAME)
				return -1;
			continue;
		}
		if (c == '\\') {
			t++;
			if (t[0] >= '0' && t[0] <= '9') {
				if (t[1] < '0' || t[1] > '9' || t[2] < '0' ||
				    t[2] > '9')
					return -1;
				v = (unsigned)(t[0] - '0') * 100 +
				    (unsigned)(t[1] - '0') * 10 +
				    (unsigned)(t[2] - '0');
				if (v > 255)
					return -1;
				/* printable ones are written as such */
				if (v > 0x20 && v < 0x7f &&
				    !is_special((char)v))
					return -1;
				c = (unsigned char)v;
				t += 2;
			} else if (!is_special(t[0]))
				return -1;
			else
				c = (unsigned char)t[0];
		} else if (c <= 0x20 || c >= 0x7f || is_special((char)c))
			return -1;
		if (n - label > DNS_MAX_LABEL || n + 1 >= DNS_MAX_WIRE_NAME)
			return -1;
		w[n++] = c;
	}
	if (n - label - 1 == 0)
		return -1;
	w[label] = (uint8_t)(n - label - 1);
	w[n++] = 0;
	*wlen = n;
	return 0;
}

/* The text of a wire name, lowered and not, reads back as that name. */
static void
check_name_text(const uint8_t *wire, size_t wire_len)
{
	char text[DNS_MAX_TEXT_NAME + 1];
	uint8_t back[DNS_MAX_WIRE_NAME + 2], low[DNS_MAX_WIRE_NAME];
	size_t blen, i;

	for (i = 0; i < wire_len; i++)
		low[i] = lower(wire[i]);
	dnswire_name_text(wire, wire_len, true, text, sizeof(text));
	holds(strlen(text) <= DNS_MAX_TEXT_NAME, "name text too long");
	holds(text_to_wire(text, back, &blen) == 0 && blen == wire_len &&
	    memcmp(back, low, wire_len) == 0,
	    "lowered name text does not read back as the wire name");
	dnswire_name_text(wire, wire_len, false, text, sizeof(text));
	holds(text_to_wire(text, back, &blen) == 0 && blen == wire_len &&
	    memcmp(back, wire, wire_len) == 0,
	    "name text does not read back as the wire name");
}

static void
check_build_query(const struct dns_query *q)
{
	uint8_t out[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];
	struct dns_query back;
	size_t n;

	n = dnswire_build_query(q, 1232, out, sizeof(out));
	if (!holds(n == DNS_HEADER_LEN + q->qname_len + 4 + 11,
	    "build_query gave the wrong length"))
		return;
	if (!holds(dnswire_parse_query(out, n, &back) == DNSWIRE_OK,
	    "a built upstream query does not parse"))
		return;
	holds(back.qname_len == q->qname_len &&
	    memcmp(back.qname, q->qname, q->qname_len) == 0 &&
	    back.qtype == q->qtype && back.qclass == q->qclass &&
	    strcmp(back.name, q->name) == 0,
	    "a built upstream query asks another question");
	holds(back.edns && back.udp_size == 1232 &&
	    back.dnssec_ok == q->dnssec_ok,
	    "a built upstream query has the wrong OPT");
	holds(back.id == 0 && back.flags == (q->flags & (FLAG_RD | FLAG_CD)),
	    "a built upstream query has the wrong header");
	holds(dnswire_build_query(q, 1232, out, n - 1) == 0,
	    "build_query wrote past its buffer size");
}

static void
check_build_empty(const struct dns_query *q, const uint8_t *msg, int rcode)
{
	uint8_t out[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];
	struct dns_query back;
	struct dns_answer_info info;
	size_t n, qlen = q->question_end > DNS_HEADER_LEN ?
	    q->question_end - DNS_HEADER_LEN : 0;

	n = dnswire_build_empty(q, msg, rcode, out, sizeof(out));
	if (!holds(n == DNS_HEADER_LEN + qlen + (q->edns ? 11 : 0),
	    "build_empty gave the wrong length"))
		return;
	holds(dnswire_parse_query(out, n, &back) == DNSWIRE_RESPONSE,
	    "build_empty output is not a response");
	holds(dnswire_get16(out) == q->id, "build_empty output has another ID");
	holds((dnswire_get16(out + 2) & 0xf) == rcode && (dnswire_get16(out + 2) & FLAG_RD) ==
	    (q->flags & FLAG_RD), "build_empty output has the wrong flags");
	holds(dnswire_get16(out + 4) == (qlen > 0 ? 1 : 0) && dnswire_get16(out + 6) == 0 &&
	    dnswire_get16(out + 8) == 0 && dnswire_get16(out + 10) == (q->edns ? 1 : 0),
	    "build_empty output has the wrong counts");
	holds(memcmp(out + DNS_HEADER_LEN, msg + DNS_HEADER_LEN, qlen) == 0,
	    "build_empty output does not echo the question");
	if (qlen == 0)
		return;
	if (holds(dnswire_inspect_answer(out, n, q, &info) == 0,
	    "build_empty output is not an answer to the query"))
		holds(info.rcode == rcode && !info.has_ttl &&
		    info.naddrs == 0 && info.nttl == 0,
		    "build_empty output reads back wrong");
}

static void
check_query(const uint8_t *data, size_t size, const struct dns_query *q)
{
	holds(q->id == dnswire_get16(data) && q->flags == dnswire_get16(data + 2),
	    "query ID or flags differ from the header");
	holds(wire_name_ok(q->qname, q->qname_len),
	    "a parsed query name is not a wire name");
	holds(q->question_end == DNS_HEADER_LEN + q->qname_len + 4 &&
	    q->question_end <= size, "question_end is wrong");
	holds(memcmp(data + DNS_HEADER_LEN, q->qname, q->qname_len) == 0,
	    "the wire name is not the question's bytes");
	holds(dnswire_get16(data + q->question_end - 4) == q->qtype &&
	    dnswire_get16(data + q->question_end - 2) == q->qclass,
	    "qtype or qclass differ from the question");
	holds(q->udp_size >= 512 && (q->edns || (q->udp_size == 512 &&
	    !q->dnssec_ok)), "udp_size or DO without EDNS");
	holds(strlen(q->name) <= DNS_MAX_TEXT_NAME,
	    "a query name text is too long");
	check_name_text(q->qname, q->qname_len);
	{
		char text[DNS_MAX_TEXT_NAME + 1];

		dnswire_name_text(q->qname, q->qname_len, true, text,
		    sizeof(text));
		holds(strcmp(text, q->name) == 0,
		    "the query's name is not the text of its wire name");
	}
	check_build_query(q);
	check_build_empty(q, data, DNS_RCODE_NXDOMAIN);
	check_build_empty(q, data, DNS_RCODE_REFUSED);
	check_build_empty(q, data, DNS_RCODE_NOERROR);
}

static void
check_parse(const uint8_t *data, size_t size)
{
	struct dns_query q;
	enum dnswire_status st = dnswire_parse_query(data, size, &q);

	switch (st) {
	case DNSWIRE_OK:
		check_query(data, size, &q);
		break;
	case DNSWIRE_SHORT:
		holds(size < DNS_HEADER_LEN, "SHORT for a whole header");
		break;
	case DNSWIRE_RESPONSE:
		holds(size >= DNS_HEADER_LEN && (data[2] & 0x80),
		    "RESPONSE without QR");
		break;
	case DNSWIRE_NOTIMP:
		holds(size >= DNS_HEADER_LEN && !(data[2] & 0x80) &&
		    (data[2] & 0x78) != 0, "NOTIMP for opcode QUERY");
		break;
	case DNSWIRE_FORMERR:
		holds(size >= DNS_HEADER_LEN && !(data[2] & 0x80) &&
		    (data[2] & 0x78) == 0, "FORMERR for a drop or NOTIMP");
		holds(q.why != NULL && q.why[0] != '\0',
		    "FORMERR without a reason");
		/* as the resolver answers it: no question */
		q.question_end = 0;
		check_build_empty(&q, data, DNS_RCODE_FORMERR);
		break;
	default:
		holds(false, "parse_query status out of range");
	}
}

static void
check_read_name(const uint8_t *data, size_t size, size_t off)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	size_t start = off, wlen = 0;

	if (dnswire_read_name(data, size, &off, wire, &wlen) == -1)
		return;
	holds(off > start && off <= size,
	    "read_name moved the offset backwards or past the end");
	holds(wire_name_ok(wire, wlen), "read_name gave a bad wire name");
	check_name_text(wire, wlen);
}

static bool
same_addrs(const struct dns_answer_info *a, const struct dns_answer_info *b)
{
	size_t i;

	if (a->naddrs != b->naddrs)
		return false;
	for (i = 0; i < a->naddrs; i++)
		if (a->addrs[i].family != b->addrs[i].family ||
		    memcmp(a->addrs[i].bytes, b->addrs[i].bytes, 16) != 0)
			return false;
	return true;
}

/*
 * Makes on a copy of the answer the changes prepare_answer makes: the
 * client's ID and question, RA set and AA cleared, TTLs down by elapsed,
 * and, for a client without EDNS, the message cut at the OPT. True when
 * that reads back as the same answer; false when a name reaches into the
 * bytes that change.
 */
static bool
rewrite_keeps_meaning(const uint8_t *data, size_t size,
    const struct dns_answer_info *info, const struct dns_query *q,
    const uint8_t *qmsg, uint32_t elapsed, size_t full, size_t nttl)
{
	static uint8_t copy[65536];
	struct dns_answer_info again;
	uint32_t ttl;
	size_t i;

	memcpy(copy, data, size);
	dnswire_put16(copy, q->id);
	dnswire_put16(copy + 2, (uint16_t)((dnswire_get16(copy + 2) | FLAG_RA) & ~FLAG_AA));
	memcpy(copy + DNS_HEADER_LEN, qmsg + DNS_HEADER_LEN,
	    q->question_end - DNS_HEADER_LEN);
	for (i = 0; i < info->nttl; i++) {
		ttl = dnswire_get32(copy + info->ttl_offsets[i]);
		dnswire_put32(copy + info->ttl_offsets[i], ttl > elapsed ?
		    ttl - elapsed : 0);
	}
	if (full < size)
		dnswire_put16(copy + 10, info->opt_index);
	return dnswire_inspect_answer(copy, full, q, &again) == 0 &&
	    again.rcode == info->rcode && again.nttl == nttl &&
	    same_addrs(&again, info);
}

/*
 * Prepares the answer for the client whose query is q (message qmsg). For
 * a client without EDNS the message ends where the OPT began (the
 * additional records after it are optional and go with it).
 */
static void
check_prepare(const uint8_t *data, size_t size,
    const struct dns_answer_info *info, const struct dns_query *q,
    const uint8_t *qmsg, size_t max, uint32_t elapsed)
{
	static uint8_t out[65536];
	struct dns_answer_info again;
	size_t n, qlen = q->question_end - DNS_HEADER_LEN, full = size;
	size_t nttl = 0, i;

	if (!q->edns && info->opt_len > 0)
		full = info->opt_off;
	for (i = 0; i < info->nttl; i++)
		nttl += info->ttl_offsets[i] < full;
	n = dnswire_prepare_answer(data, size, info, elapsed, q, qmsg, max, out,
	    sizeof(out));
	if (!holds(n > 0, "prepare_answer failed on an inspected answer"))
		return;
	holds(n <= max, "a prepared answer is longer than the client takes");
	holds(dnswire_get16(out) == q->id, "a prepared answer has another ID");
	holds(dnswire_get16(out + 4) == 1 && memcmp(out + DNS_HEADER_LEN, qmsg +
	    DNS_HEADER_LEN, qlen) == 0,
	    "a prepared answer does not echo the client's question");
	if (n < full) {
		/* cut: at most 282 bytes, and only when over max >= 512 */
		holds(full > max &&
		    n == DNS_HEADER_LEN + qlen + (q->edns ? 11 : 0) &&
		    (dnswire_get16(out + 2) & FLAG_TC) && dnswire_get16(out + 6) == 0 &&
		    dnswire_get16(out + 8) == 0 && dnswire_get16(out + 10) == (q->edns ? 1 : 0),
		    "a cut answer is not header, question and TC");
		return;
	}
	if (!holds(n == full, "a prepared answer has the wrong length"))
		return;
	if (!rewrite_keeps_meaning(data, size, info, q, qmsg, elapsed, full,
	    nttl)) {
		holds(false, "a name reaches into bytes that prepare_answer "
		    "rewrites (header, TTL, OPT)");
		return;
	}
	if (!holds(dnswire_inspect_answer(out, n, q, &again) == 0,
	    "a prepared answer does not read back as an answer to q"))
		return;
	holds(again.rcode == info->rcode && same_addrs(&again, info) &&
	    again.nttl == nttl, "a prepared answer reads back different");
	if (q->edns)
		holds(again.opt_len == info->opt_len,
		    "an EDNS client does not get the upstream's OPT");
	else
		holds(again.opt_len == 0,
		    "a client without EDNS gets an OPT record");
}

static void
check_answer(const uint8_t *data, size_t size, const struct dns_query *q,
    const uint8_t *qmsg)
{
	struct dns_answer_info info;
	size_t i;

	if (dnswire_inspect_answer(data, size, q, &info) == -1)
		return;
	holds(size >= q->question_end && (data[2] & 0x80),
	    "an answer accepted without QR or its question");
	holds(info.nttl <= 64 && info.naddrs <= 32,
	    "inspect_answer counts out of range");
	for (i = 0; i < info.nttl; i++)
		holds(info.ttl_offsets[i] >= q->question_end &&
		    (size_t)info.ttl_offsets[i] + 4 <= size,
		    "a TTL offset outside the records");
	for (i = 0; i < info.naddrs; i++)
		holds(info.addrs[i].family == 4 || info.addrs[i].family == 6,
		    "an address of no family");
	holds(info.opt_len == 0 || (info.opt_off >= q->question_end &&
	    info.opt_off + info.opt_len <= size && info.opt_len >= 11),
	    "the OPT record outside the message");
	holds(!info.has_ttl || info.min_ttl <= 0x7fffffff,
	    "a TTL with its top bit set counted");
	check_prepare(data, size, &info, q, qmsg,
	    q->edns ? q->udp_size : 512, 0);
	check_prepare(data, size, &info, q, qmsg, 65535, 7);
}

/* A fixed client query, "www.amazon.com" A with EDNS, and one without. */
static const uint8_t fixed_edns[] = {
	0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
	3, 'w', 'w', 'w', 6, 'a', 'm', 'a', 'z', 'o', 'n', 3, 'c', 'o', 'm', 0,
	0, 1, 0, 1,
	0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
};
static const uint8_t fixed_plain[] = {
	0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
	3, 'W', 'W', 'W', 6, 'A', 'm', 'a', 'z', 'o', 'n', 3, 'C', 'O', 'M', 0,
	0, 1, 0, 1,
};

static void
check_answers(const uint8_t *data, size_t size)
{
	static uint8_t head[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4];
	struct dns_query q;
	size_t n;

	if (holds(dnswire_parse_query(fixed_edns, sizeof(fixed_edns), &q) ==
	    DNSWIRE_OK, "the fixed query does not parse"))
		check_answer(data, size, &q, fixed_edns);
	if (holds(dnswire_parse_query(fixed_plain, sizeof(fixed_plain), &q) ==
	    DNSWIRE_OK, "the fixed query does not parse"))
		check_answer(data, size, &q, fixed_plain);

	/* The input's own question, as a query: QR off, no records. */
	if (size < DNS_HEADER_LEN)
		return;
	n = size < sizeof(head) ? size : sizeof(head);
	memcpy(head, data, n);
	head[2] &= 0x7f;
	memset(head + 6, 0, 6);
	if (dnswire_parse_query(head, n, &q) != DNSWIRE_OK)
		return;
	check_answer(data, size, &q, head);
	/* and the same client with EDNS 1232 and DO */
	q.edns = true;
	q.udp_size = 1232;
	q.dnssec_ok = true;
	check_answer(data, size, &q, head);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off, i;

	check_parse(data, size);
	for (off = DNS_HEADER_LEN; off < size && off < DNS_HEADER_LEN + 24;
	    off++)
		check_read_name(data, size, off);
	/* and offsets the input names, as pointers would */
	for (i = 0; i + 1 < size && i < 8; i += 2)
		check_read_name(data, size, dnswire_get16(data + i) % (size + 1));
	check_answers(data, size);
	return 0;
}
