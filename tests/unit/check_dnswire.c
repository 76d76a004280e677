/*
 * check_dnswire — DNS messages (RFC 1035) as the resolver reads and writes
 * them: query parsing and every malformed case, names in RFC 1035 / RFC
 * 4343 presentation form, compression pointers, answers with no records,
 * upstream queries, inspecting upstream answers (TTLs, CNAME chains, RFC
 * 2308 negative TTLs, OPT) and preparing cached answers for a client (ID,
 * question case, TTL countdown, OPT stripping, UDP truncation). Messages are
 * built by hand, byte by byte.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/dnswire.h"

/* ---- a tiny message builder ---- */

struct msg {
	uint8_t b[8192];
	size_t n;
};

static void
set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
m_bytes(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
m_u8(struct msg *m, uint8_t v)
{
	m_bytes(m, &v, 1);
}

static void
m_u16(struct msg *m, uint16_t v)
{
	uint8_t b[2];

	set16(b, v);
	m_bytes(m, b, 2);
}

static void
m_u32(struct msg *m, uint32_t v)
{
	uint8_t b[4];

	set32(b, v);
	m_bytes(m, b, 4);
}

static void
m_header(struct msg *m, uint16_t id, uint16_t flags, uint16_t qd,
    uint16_t an, uint16_t ns, uint16_t ar)
{
	m->n = 0;
	m_u16(m, id);
	m_u16(m, flags);
	m_u16(m, qd);
	m_u16(m, an);
	m_u16(m, ns);
	m_u16(m, ar);
}

/* A dotted name ("www.example.com"; "" is the root), uncompressed. */
static void
m_name(struct msg *m, const char *dotted)
{
	const char *p = dotted, *dot;
	size_t len;

	while (*p != '\0') {
		dot = strchr(p, '.');
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		m_u8(m, (uint8_t)len);
		m_bytes(m, p, len);
		p += len;
		if (*p == '.')
			p++;
	}
	m_u8(m, 0);
}

static void
m_ptr(struct msg *m, size_t target)
{
	m_u16(m, (uint16_t)(0xc000 | target));
}

static void
m_question(struct msg *m, const char *name, uint16_t type, uint16_t class)
{
	m_name(m, name);
	m_u16(m, type);
	m_u16(m, class);
}

/* Type, class, TTL and RDLENGTH of a record whose owner is written. */
static void
m_rr_fixed(struct msg *m, uint16_t type, uint16_t class, uint32_t ttl,
    uint16_t rdlen)
{
	m_u16(m, type);
	m_u16(m, class);
	m_u32(m, ttl);
	m_u16(m, rdlen);
}

static void
m_a(struct msg *m, const char *owner, uint32_t ttl, uint8_t a, uint8_t b,
    uint8_t c, uint8_t d)
{
	uint8_t ip[4] = { a, b, c, d };

	m_name(m, owner);
	m_rr_fixed(m, DNS_TYPE_A, DNS_CLASS_IN, ttl, 4);
	m_bytes(m, ip, 4);
}

static void
m_cname(struct msg *m, const char *owner, uint32_t ttl, const char *target)
{
	size_t rdlen_at;

	m_name(m, owner);
	m_rr_fixed(m, DNS_TYPE_CNAME, DNS_CLASS_IN, ttl, 0);
	rdlen_at = m->n - 2;
	m_name(m, target);
	set16(m->b + rdlen_at, (uint16_t)(m->n - rdlen_at - 2));
}

/* An SOA with the given TTL and MINIMUM (RFC 1035 3.3.13). */
static void
m_soa(struct msg *m, const char *owner, uint32_t ttl, uint32_t minimum)
{
	size_t rdlen_at;

	m_name(m, owner);
	m_rr_fixed(m, DNS_TYPE_SOA, DNS_CLASS_IN, ttl, 0);
	rdlen_at = m->n - 2;
	m_name(m, "ns.amazon.com");
	m_name(m, "admin.amazon.com");
	m_u32(m, 2024010101);	/* serial */
	m_u32(m, 3600);		/* refresh */
	m_u32(m, 600);		/* retry */
	m_u32(m, 86400);	/* expire */
	m_u32(m, minimum);
	set16(m->b + rdlen_at, (uint16_t)(m->n - rdlen_at - 2));
}

/* An OPT record (RFC 6891 6.1.2): the TTL field is ext-rcode, version,
 * flags (DO is its top bit). */
static void
m_opt(struct msg *m, uint16_t udp_size, uint32_t ttl_field)
{
	m_u8(m, 0);
	m_rr_fixed(m, DNS_TYPE_OPT, udp_size, ttl_field, 0);
}

#define EDNS_DO 0x00008000u

#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080
#define F_CD 0x0010

/* A client query: one question, an OPT when udp_size is not 0. */
static void
client_query(struct msg *m, uint16_t id, uint16_t flags, const char *name,
    uint16_t type, uint16_t udp_size, bool dnssec_ok)
{
	m_header(m, id, flags, 1, 0, 0, udp_size != 0 ? 1 : 0);
	m_question(m, name, type, DNS_CLASS_IN);
	if (udp_size != 0)
		m_opt(m, udp_size, dnssec_ok ? EDNS_DO : 0);
}

static void
parse_ok(const struct msg *m, struct dns_query *q)
{
	enum dnswire_status st = dnswire_parse_query(m->b, m->n, q);

	ck_assert_msg(st == DNSWIRE_OK, "status %d (%s)", (int)st,
	    q->why != NULL ? q->why : "");
}

/* ---- queries ---- */

START_TEST(parse_plain_query)
{
	static const uint8_t wire[] = "\x03" "www" "\x07" "Example" "\x03"
	    "COM";
	struct msg m;
	struct dns_query q;

	client_query(&m, 0xbeef, F_RD, "www.Example.COM", DNS_TYPE_A, 0,
	    false);
	parse_ok(&m, &q);
	ck_assert_uint_eq(q.id, 0xbeef);
	ck_assert_uint_eq(q.flags, F_RD);
	ck_assert_uint_eq(q.qtype, DNS_TYPE_A);
	ck_assert_uint_eq(q.qclass, DNS_CLASS_IN);
	ck_assert_str_eq(q.name, "www.example.com");
	/* the wire name as sent, case and root label included */
	ck_assert_uint_eq(q.qname_len, 17);
	ck_assert_mem_eq(q.qname, wire, 17);
	ck_assert_uint_eq(q.question_end, 12 + 17 + 4);
	ck_assert(!q.edns);
	ck_assert_uint_eq(q.udp_size, 512);
	ck_assert(!q.dnssec_ok);
}
END_TEST

START_TEST(parse_other_type_and_class)
{
	struct msg m;
	struct dns_query q;

	m_header(&m, 7, 0, 1, 0, 0, 0);
	m_question(&m, "version.bind", DNS_TYPE_TXT, 3);
	parse_ok(&m, &q);
	ck_assert_uint_eq(q.id, 7);
	ck_assert_uint_eq(q.flags, 0);
	ck_assert_uint_eq(q.qtype, DNS_TYPE_TXT);
	ck_assert_uint_eq(q.qclass, 3);
	ck_assert_str_eq(q.name, "version.bind");
}
END_TEST

START_TEST(parse_edns)
{
	struct msg m;
	struct dns_query q;

	client_query(&m, 1, F_RD, "s3.amazon.com", DNS_TYPE_AAAA, 1232, true);
	parse_ok(&m, &q);
	ck_assert(q.edns);
	ck_assert_uint_eq(q.udp_size, 1232);
	ck_assert(q.dnssec_ok);
	/* the OPT is not part of the question */
	ck_assert_uint_eq(q.question_end, 12 + 15 + 4);
	ck_assert_str_eq(q.name, "s3.amazon.com");

	client_query(&m, 1, F_RD, "s3.amazon.com", DNS_TYPE_A, 4096, false);
	parse_ok(&m, &q);
	ck_assert(q.edns);
	ck_assert_uint_eq(q.udp_size, 4096);
	ck_assert(!q.dnssec_ok);
}
END_TEST

/* RFC 6891 6.2.3: values below 512 are treated as 512. */
START_TEST(parse_edns_small_size_raised)
{
	static const uint16_t sizes[] = { 0, 1, 100, 511 };
	struct msg m;
	struct dns_query q;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		m_header(&m, 1, 0, 1, 0, 0, 1);
		m_question(&m, "a.com", DNS_TYPE_A, DNS_CLASS_IN);
		m_opt(&m, sizes[i], 0);
		parse_ok(&m, &q);
		ck_assert(q.edns);
		ck_assert_msg(q.udp_size == 512, "size %u gave %u",
		    sizes[i], q.udp_size);
	}
	client_query(&m, 1, 0, "a.com", DNS_TYPE_A, 512, false);
	parse_ok(&m, &q);
	ck_assert_uint_eq(q.udp_size, 512);
}
END_TEST

/* An additional record other than OPT (a client's TSIG, say) is fine. */
START_TEST(parse_other_additional_record)
{
	struct msg m;
	struct dns_query q;

	m_header(&m, 9, F_RD, 1, 0, 0, 2);
	m_question(&m, "a.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_a(&m, "x.com", 60, 192, 0, 2, 1);
	m_opt(&m, 1400, EDNS_DO);
	parse_ok(&m, &q);
	ck_assert(q.edns);
	ck_assert_uint_eq(q.udp_size, 1400);
	ck_assert(q.dnssec_ok);
}
END_TEST

/* ---- names: RFC 1035 5.1 presentation form, RFC 4343 escapes ---- */

struct name_case {
	const char *wire;
	size_t len;
	const char *text;
};

#define NC(w, t) { w, sizeof(w) - 1, t }

static const struct name_case name_cases[] = {
	NC("\x03" "WwW" "\x07" "ExAmPlE" "\x03" "CoM" "\x00",
	    "www.example.com"),
	/* one label "a.b" is not two labels "a", "b" */
	NC("\x03" "a.b" "\x03" "com" "\x00", "a\\.b.com"),
	NC("\x01" "a" "\x01" "b" "\x03" "com" "\x00", "a.b.com"),
	NC("\x03" "a\0b" "\x03" "com" "\x00", "a\\000b.com"),
	NC("\x04" "\0" "com" "\x00", "\\000com"),
	NC("\x03" "a b" "\x03" "com" "\x00", "a\\032b.com"),
	NC("\x03" "a\\b" "\x03" "com" "\x00", "a\\\\b.com"),
	NC("\x02" "\x7f\xff" "\x03" "com" "\x00", "\\127\\255.com"),
	NC("\x01" "\x80" "\x03" "com" "\x00", "\\128.com"),
	NC("\x02" "\t\n" "\x03" "com" "\x00", "\\009\\010.com"),
	/* not lowered: only ASCII letters change case (RFC 4343 3) */
	NC("\x03" "A\xc9Z" "\x03" "com" "\x00", "a\\201z.com"),
	NC("\x01" "." "\x00", "\\."),
	NC("\x03" "com" "\x00", "com"),
	NC("\x00", "."),
	NC("\x06" "amazon" "\x03" "com" "\x00" , "amazon.com"),
	NC("\x0a" "yahoo.com" "\0" "\x00", "yahoo\\.com\\000"),
};

START_TEST(name_normalised)
{
	const struct name_case *c = &name_cases[_i];
	struct msg m;
	struct dns_query q;

	m_header(&m, 0x55, F_RD, 1, 0, 0, 0);
	m_bytes(&m, c->wire, c->len);
	m_u16(&m, DNS_TYPE_A);
	m_u16(&m, DNS_CLASS_IN);
	parse_ok(&m, &q);
	ck_assert_str_eq(q.name, c->text);
	ck_assert_uint_eq(q.qname_len, c->len);
	ck_assert_mem_eq(q.qname, c->wire, c->len);
	ck_assert_uint_eq(q.question_end, 12 + c->len + 4);
}
END_TEST

START_TEST(name_text_keeps_case_unless_lowered)
{
	static const uint8_t wire[] = "\x03" "WwW" "\x02" "A." "\x00";
	char out[DNS_MAX_TEXT_NAME + 1];

	dnswire_name_text(wire, sizeof(wire) - 1, false, out, sizeof(out));
	ck_assert_str_eq(out, "WwW.A\\.");
	dnswire_name_text(wire, sizeof(wire) - 1, true, out, sizeof(out));
	ck_assert_str_eq(out, "www.a\\.");
	/* a short buffer still gets a terminated string */
	memset(out, 'x', sizeof(out));
	dnswire_name_text(wire, sizeof(wire) - 1, true, out, 5);
	ck_assert_uint_lt(strlen(out), 5);
}
END_TEST

/* The longest name, every byte escaped: 250 × "\255" and 3 dots. */
START_TEST(name_text_longest)
{
	static const size_t labels[] = { 63, 63, 63, 61 };
	uint8_t wire[DNS_MAX_WIRE_NAME];
	char expect[DNS_MAX_TEXT_NAME + 1], *e = expect;
	struct msg m;
	struct dns_query q;
	size_t i, j, n = 0;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*e++ = '.';
		wire[n++] = (uint8_t)labels[i];
		for (j = 0; j < labels[i]; j++) {
			wire[n++] = 0xff;
			memcpy(e, "\\255", 4);
			e += 4;
		}
	}
	wire[n++] = 0;
	*e = '\0';
	ck_assert_uint_eq(n, DNS_MAX_WIRE_NAME);
	m_header(&m, 1, 0, 1, 0, 0, 0);
	m_bytes(&m, wire, n);
	m_u16(&m, DNS_TYPE_A);
	m_u16(&m, DNS_CLASS_IN);
	parse_ok(&m, &q);
	ck_assert_uint_eq(q.qname_len, 255);
	ck_assert_uint_eq(strlen(q.name), 250 * 4 + 3);
	ck_assert_str_eq(q.name, expect);
	ck_assert_uint_le(strlen(q.name), DNS_MAX_TEXT_NAME);
}
END_TEST

/* ---- malformed queries ---- */

START_TEST(parse_short)
{
	static const size_t lens[] = { 0, 1, 2, 6, 11 };
	struct msg m;
	struct dns_query q;
	size_t i;

	client_query(&m, 1, F_RD, "a.com", DNS_TYPE_A, 0, false);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		ck_assert_msg(dnswire_parse_query(m.b, lens[i], &q) ==
		    DNSWIRE_SHORT, "length %zu", lens[i]);
	/* a bare header parses that far: QDCOUNT 1 with no question */
	ck_assert_int_eq(dnswire_parse_query(m.b, 12, &q), DNSWIRE_FORMERR);
}
END_TEST

START_TEST(parse_response_dropped)
{
	struct msg m;
	struct dns_query q;

	client_query(&m, 1, F_QR | F_RD | F_RA, "a.com", DNS_TYPE_A, 0, false);
	ck_assert_int_eq(dnswire_parse_query(m.b, m.n, &q), DNSWIRE_RESPONSE);
	/* even one that would be malformed as a query */
	m_header(&m, 1, F_QR, 0, 0, 0, 0);
	ck_assert_int_eq(dnswire_parse_query(m.b, m.n, &q), DNSWIRE_RESPONSE);
}
END_TEST

START_TEST(parse_opcode_notimp)
{
	static const uint16_t opcodes[] = { 1, 2, 4, 5, 15 };
	struct msg m;
	struct dns_query q;
	size_t i;

	for (i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		client_query(&m, 1, (uint16_t)(opcodes[i] << 11 | F_RD),
		    "a.com", DNS_TYPE_A, 0, false);
		ck_assert_msg(dnswire_parse_query(m.b, m.n, &q) ==
		    DNSWIRE_NOTIMP, "opcode %u", opcodes[i]);
	}
}
END_TEST

/* Each builder writes one malformed query. */
static void
bad_qdcount0(struct msg *m)
{
	m_header(m, 1, F_RD, 0, 0, 0, 0);
}

static void
bad_qdcount2(struct msg *m)
{
	m_header(m, 1, F_RD, 2, 0, 0, 0);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_question(m, "yahoo.com", DNS_TYPE_A, DNS_CLASS_IN);
}

static void
bad_qdcount2_same(struct msg *m)
{
	m_header(m, 1, F_RD, 2, 0, 0, 0);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
}

static void
bad_label_past_end(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_bytes(m, "\x03" "www" "\x10" "exa", 8);
}

static void
bad_no_root_label(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_bytes(m, "\x03" "www" "\x03" "com", 8);
}

static void
bad_pointer_in_question(struct msg *m)
{
	/* "www" then a pointer back to the header: refused in a question */
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_bytes(m, "\x03" "www", 4);
	m_ptr(m, 4);
	m_u16(m, DNS_TYPE_A);
	m_u16(m, DNS_CLASS_IN);
}

static void
bad_pointer_only_question(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_ptr(m, 0);
	m_u16(m, DNS_TYPE_A);
	m_u16(m, DNS_CLASS_IN);
}

static void
bad_label_64(struct msg *m)
{
	uint8_t label[64];

	memset(label, 'a', sizeof(label));
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_u8(m, 64);
	m_bytes(m, label, 64);
	m_name(m, "com");
	m_u16(m, DNS_TYPE_A);
	m_u16(m, DNS_CLASS_IN);
}

static void
bad_label_type_0x80(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_bytes(m, "\x83" "www" "\x03" "com" "\x00", 9);
	m_u16(m, DNS_TYPE_A);
	m_u16(m, DNS_CLASS_IN);
}

static void
bad_label_type_0x40(struct msg *m)
{
	/* RFC 6891 9: extended label type 0x41 (bit-string labels) */
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_bytes(m, "\x41" "\x08" "\xff" "\x03" "com" "\x00", 8);
	m_u16(m, DNS_TYPE_A);
	m_u16(m, DNS_CLASS_IN);
}

/* labels of 63, 63, 63, 62 and the root: 256 bytes */
static void
bad_name_256(struct msg *m)
{
	static const size_t labels[] = { 63, 63, 63, 62 };
	uint8_t label[63];
	size_t i;

	memset(label, 'x', sizeof(label));
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	for (i = 0; i < 4; i++) {
		m_u8(m, (uint8_t)labels[i]);
		m_bytes(m, label, labels[i]);
	}
	m_u8(m, 0);
	m_u16(m, DNS_TYPE_A);
	m_u16(m, DNS_CLASS_IN);
}

/* 130 labels of one byte: 261 bytes */
static void
bad_name_many_labels(struct msg *m)
{
	size_t i;

	m_header(m, 1, F_RD, 1, 0, 0, 0);
	for (i = 0; i < 130; i++)
		m_bytes(m, "\x01" "a", 2);
	m_u8(m, 0);
	m_u16(m, DNS_TYPE_A);
	m_u16(m, DNS_CLASS_IN);
}

static void
bad_no_type_class(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_name(m, "amazon.com");
}

static void
bad_half_type_class(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 0);
	m_name(m, "amazon.com");
	m_u16(m, DNS_TYPE_A);
	m_u8(m, 0);
}

static void
bad_two_opts(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 2);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_opt(m, 1232, 0);
	m_opt(m, 4096, EDNS_DO);
}

static void
bad_opt_in_answer(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 1, 0, 0);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_opt(m, 1232, 0);
}

static void
bad_opt_in_authority(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 1, 0);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_opt(m, 1232, 0);
}

static void
bad_opt_not_root(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 1);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_name(m, "com");
	m_rr_fixed(m, DNS_TYPE_OPT, 1232, 0, 0);
}

static void
bad_arcount_without_record(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 1);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
}

static void
bad_record_past_end(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 1);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_u8(m, 0);
	m_rr_fixed(m, DNS_TYPE_OPT, 1232, 0, 8);
	m_u32(m, 0);
}

static void
bad_record_cut_header(struct msg *m)
{
	m_header(m, 1, F_RD, 1, 0, 0, 1);
	m_question(m, "amazon.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_u8(m, 0);
	m_u16(m, DNS_TYPE_OPT);
	m_u16(m, 1232);
}

static const struct {
	const char *what;
	void (*build)(struct msg *);
} formerr_cases[] = {
	{ "QDCOUNT 0", bad_qdcount0 },
	{ "QDCOUNT 2", bad_qdcount2 },
	{ "QDCOUNT 2, same question twice", bad_qdcount2_same },
	{ "label length past the end", bad_label_past_end },
	{ "name without its root label", bad_no_root_label },
	{ "compression pointer in the question", bad_pointer_in_question },
	{ "question name that is only a pointer", bad_pointer_only_question },
	{ "label of 64 (0x40 type bits)", bad_label_64 },
	{ "label type 0x80", bad_label_type_0x80 },
	{ "extended label type 0x41", bad_label_type_0x40 },
	{ "name of 256 bytes", bad_name_256 },
	{ "name of 130 labels", bad_name_many_labels },
	{ "no QTYPE/QCLASS", bad_no_type_class },
	{ "half of QTYPE/QCLASS", bad_half_type_class },
	{ "two OPT records", bad_two_opts },
	{ "OPT in the answer section", bad_opt_in_answer },
	{ "OPT in the authority section", bad_opt_in_authority },
	{ "OPT owner not the root", bad_opt_not_root },
	{ "ARCOUNT 1 without a record", bad_arcount_without_record },
	{ "record data past the end", bad_record_past_end },
	{ "record header cut short", bad_record_cut_header },
};

START_TEST(parse_formerr)
{
	struct msg m;
	struct dns_query q;
	enum dnswire_status st;

	formerr_cases[_i].build(&m);
	st = dnswire_parse_query(m.b, m.n, &q);
	ck_assert_msg(st == DNSWIRE_FORMERR, "%s: status %d",
	    formerr_cases[_i].what, (int)st);
	ck_assert_msg(q.why != NULL && q.why[0] != '\0', "%s: no reason",
	    formerr_cases[_i].what);
}
END_TEST

/* The limits themselves are fine: a label of 63, a name of 255. */
START_TEST(parse_at_limits)
{
	static const size_t labels[] = { 63, 63, 63, 61 };
	uint8_t label[63];
	struct msg m;
	struct dns_query q;
	size_t i;

	memset(label, 'x', sizeof(label));
	m_header(&m, 1, F_RD, 1, 0, 0, 0);
	for (i = 0; i < 4; i++) {
		m_u8(&m, (uint8_t)labels[i]);
		m_bytes(&m, label, labels[i]);
	}
	m_u8(&m, 0);
	m_u16(&m, DNS_TYPE_A);
	m_u16(&m, DNS_CLASS_IN);
	parse_ok(&m, &q);
	ck_assert_uint_eq(q.qname_len, 255);
	ck_assert_uint_eq(strlen(q.name), 250 + 3);

	/* 127 one-byte labels: 255 bytes */
	m_header(&m, 1, F_RD, 1, 0, 0, 0);
	for (i = 0; i < 127; i++)
		m_bytes(&m, "\x01" "a", 2);
	m_u8(&m, 0);
	m_u16(&m, DNS_TYPE_A);
	m_u16(&m, DNS_CLASS_IN);
	parse_ok(&m, &q);
	ck_assert_uint_eq(q.qname_len, 255);
}
END_TEST

/* ---- dnswire_read_name: compression in answers ---- */

START_TEST(read_name_backward_pointer)
{
	static const uint8_t expect[] = "\x03" "www" "\x07" "example" "\x03"
	    "com";
	uint8_t wire[DNS_MAX_WIRE_NAME];
	size_t off, wlen;
	struct msg m;

	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_name(&m, "example.com");		/* at 12 */
	ck_assert_uint_eq(m.n, 25);
	m_bytes(&m, "\x03" "www", 4);		/* at 25 */
	m_ptr(&m, 12);
	m_u8(&m, 0xee);				/* what follows */
	off = 25;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), 0);
	ck_assert_uint_eq(wlen, 17);
	ck_assert_mem_eq(wire, expect, 17);
	ck_assert_uint_eq(off, 31);		/* just past the pointer */

	off = 12;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), 0);
	ck_assert_uint_eq(wlen, 13);
	ck_assert_mem_eq(wire, expect + 4, 13);
	ck_assert_uint_eq(off, 25);
}
END_TEST

START_TEST(read_name_bad_pointers)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	size_t off, wlen;
	struct msg m;

	/* forward: 12 points to 14 */
	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_ptr(&m, 14);
	m_name(&m, "com");
	off = 12;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);

	/* to itself */
	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_ptr(&m, 12);
	off = 12;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);

	/* a label, then back to that label: a loop through one pointer */
	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_bytes(&m, "\x01" "a", 2);
	m_ptr(&m, 12);
	off = 12;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);

	/* two pointers to each other, read from either one */
	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_ptr(&m, 14);
	m_ptr(&m, 12);
	off = 14;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);
	off = 12;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);

	/* "\x01a" -> 20 -> "\x01b" -> 12: a loop of labels and pointers */
	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_bytes(&m, "\x01" "a", 2);		/* 12 */
	m_ptr(&m, 20);				/* 14 */
	m_bytes(&m, "\x00\x00\x00\x00", 4);	/* 16 */
	m_bytes(&m, "\x01" "b", 2);		/* 20 */
	m_ptr(&m, 12);				/* 22 */
	off = 20;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);
	off = 12;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);

	/* a pointer cut in half at the end of the message */
	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_name(&m, "com");
	m_u8(&m, 0xc0);
	off = 17;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);

	/* starting at or past the end */
	off = m.n;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);
	off = m.n + 10;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);
}
END_TEST

/* 200 pointers, each to the one before: it ends, and gives "com". */
START_TEST(read_name_long_backward_chain)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	size_t off, wlen, i, prev = 12;
	struct msg m;

	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	m_name(&m, "com");
	for (i = 0; i < 200; i++) {
		size_t here = m.n;

		m_ptr(&m, prev);
		prev = here;
	}
	off = prev;
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), 0);
	ck_assert_uint_eq(wlen, 5);
	ck_assert_mem_eq(wire, "\x03" "com", 5);
	ck_assert_uint_eq(off, prev + 2);
}
END_TEST

/* Each hop adds a label "x": 127 hops make 255 bytes, 128 are too many. */
START_TEST(read_name_chain_of_labels)
{
	uint8_t wire[DNS_MAX_WIRE_NAME];
	size_t off, wlen, i, start[130];
	struct msg m;

	m_header(&m, 0, F_QR, 0, 0, 0, 0);
	start[0] = m.n;
	m_u8(&m, 0);
	for (i = 1; i < 130; i++) {
		start[i] = m.n;
		m_bytes(&m, "\x01" "x", 2);
		m_ptr(&m, start[i - 1]);
	}
	off = start[127];
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), 0);
	ck_assert_uint_eq(wlen, 255);
	ck_assert_uint_eq(wire[0], 1);
	ck_assert_uint_eq(wire[254], 0);
	ck_assert_uint_eq(off, start[127] + 4);
	off = start[128];
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);
	off = start[129];
	ck_assert_int_eq(dnswire_read_name(m.b, m.n, &off, wire, &wlen), -1);
}
END_TEST

/* ---- dnswire_build_empty ---- */

START_TEST(build_empty_echoes)
{
	struct msg m;
	struct dns_query q;
	struct dns_answer_info info;
	uint8_t out[512];
	size_t n;

	client_query(&m, 0x1234, F_RD, "WwW.Example.com", DNS_TYPE_A, 0,
	    false);
	parse_ok(&m, &q);
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end);
	ck_assert_uint_eq(dnswire_get16(out), 0x1234);
	ck_assert_uint_eq(dnswire_get16(out + 2), F_QR | F_RD | F_RA |
	    DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(dnswire_get16(out + 4), 1);
	ck_assert_uint_eq(dnswire_get16(out + 6), 0);
	ck_assert_uint_eq(dnswire_get16(out + 8), 0);
	ck_assert_uint_eq(dnswire_get16(out + 10), 0);
	/* the question byte for byte, case included */
	ck_assert_mem_eq(out + 12, m.b + 12, q.question_end - 12);

	/* it is a response, and an answer to q */
	{
		struct dns_query back;

		ck_assert_int_eq(dnswire_parse_query(out, n, &back),
		    DNSWIRE_RESPONSE);
	}
	ck_assert_int_eq(dnswire_inspect_answer(out, n, &q, &info), 0);
	ck_assert_int_eq(info.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert(!info.has_ttl);
	ck_assert_uint_eq(info.naddrs, 0);

	/* RD not asked: not set; other rcodes */
	client_query(&m, 0xffff, 0, "yahoo.com", DNS_TYPE_TXT, 0, false);
	parse_ok(&m, &q);
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_REFUSED, out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end);
	ck_assert_uint_eq(dnswire_get16(out), 0xffff);
	ck_assert_uint_eq(dnswire_get16(out + 2), F_QR | F_RA | DNS_RCODE_REFUSED);
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_NOERROR, out, sizeof(out));
	ck_assert_uint_eq(dnswire_get16(out + 2), F_QR | F_RA);
	ck_assert_uint_eq(dnswire_get16(out + 6), 0);
}
END_TEST

START_TEST(build_empty_opt_iff_client_sent_one)
{
	struct msg m;
	struct dns_query q;
	uint8_t out[512];
	size_t n;

	client_query(&m, 0x0102, F_RD, "yahoo.com", DNS_TYPE_A, 4096, true);
	parse_ok(&m, &q);
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end + 11);
	ck_assert_uint_eq(dnswire_get16(out + 10), 1);
	ck_assert_mem_eq(out + 12, m.b + 12, q.question_end - 12);
	ck_assert_uint_eq(out[q.question_end], 0);		/* root */
	ck_assert_uint_eq(dnswire_get16(out + q.question_end + 1), DNS_TYPE_OPT);
	ck_assert_uint_ge(dnswire_get16(out + q.question_end + 3), 512);
	/* DO echoed (RFC 3225 3), no options */
	ck_assert_uint_eq(dnswire_get32(out + q.question_end + 5), EDNS_DO);
	ck_assert_uint_eq(dnswire_get16(out + q.question_end + 9), 0);

	client_query(&m, 0x0102, F_RD, "yahoo.com", DNS_TYPE_A, 1232, false);
	parse_ok(&m, &q);
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end + 11);
	ck_assert_uint_eq(dnswire_get32(out + q.question_end + 5), 0);

	client_query(&m, 0x0102, F_RD, "yahoo.com", DNS_TYPE_A, 0, false);
	parse_ok(&m, &q);
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end);
	ck_assert_uint_eq(dnswire_get16(out + 10), 0);
}
END_TEST

/* As the resolver answers FORMERR: no question echoed. */
START_TEST(build_empty_header_only)
{
	struct msg m;
	struct dns_query q;
	uint8_t out[512];
	size_t n;

	bad_qdcount2(&m);
	set16(m.b, 0x7777);
	ck_assert_int_eq(dnswire_parse_query(m.b, m.n, &q), DNSWIRE_FORMERR);
	q.question_end = 0;
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_FORMERR, out, sizeof(out));
	ck_assert_uint_eq(n, 12);
	ck_assert_uint_eq(dnswire_get16(out), 0x7777);
	ck_assert_uint_eq(dnswire_get16(out + 2), F_QR | F_RD | F_RA |
	    DNS_RCODE_FORMERR);
	ck_assert_uint_eq(dnswire_get16(out + 4), 0);
	ck_assert_uint_eq(dnswire_get16(out + 6), 0);
	ck_assert_uint_eq(dnswire_get16(out + 8), 0);
	ck_assert_uint_eq(dnswire_get16(out + 10), 0);

	/* a FORMERR found after the OPT was read: header and OPT */
	bad_two_opts(&m);
	ck_assert_int_eq(dnswire_parse_query(m.b, m.n, &q), DNSWIRE_FORMERR);
	q.question_end = 0;
	n = dnswire_build_empty(&q, m.b, DNS_RCODE_FORMERR, out, sizeof(out));
	ck_assert_uint_eq(dnswire_get16(out + 4), 0);
	ck_assert_uint_eq(n, 12 + (size_t)dnswire_get16(out + 10) * 11);
}
END_TEST

START_TEST(build_empty_too_small)
{
	struct msg m;
	struct dns_query q;
	uint8_t out[512];

	client_query(&m, 1, F_RD, "yahoo.com", DNS_TYPE_A, 0, false);
	parse_ok(&m, &q);
	ck_assert_uint_eq(dnswire_build_empty(&q, m.b, DNS_RCODE_NXDOMAIN,
	    out, q.question_end - 1), 0);
	ck_assert_uint_eq(dnswire_build_empty(&q, m.b, DNS_RCODE_NXDOMAIN,
	    out, 0), 0);
}
END_TEST

/* ---- dnswire_build_query ---- */

START_TEST(build_query_round_trip)
{
	struct msg m;
	struct dns_query q, back;
	uint8_t out[512];
	size_t n;

	/* RD, AD and CD; an extra additional record; EDNS with DO */
	m_header(&m, 0x4242, F_RD | 0x0020 | F_CD, 1, 0, 0, 2);
	m_question(&m, "Mail.Example.ORG", 15, DNS_CLASS_IN);
	m_a(&m, "x.org", 60, 192, 0, 2, 1);
	m_opt(&m, 4096, EDNS_DO);
	parse_ok(&m, &q);
	ck_assert_uint_eq(q.qname_len, 18);

	n = dnswire_build_query(&q, 1232, out, sizeof(out));
	ck_assert_uint_eq(n, 12 + 18 + 4 + 11);
	ck_assert_int_eq(dnswire_parse_query(out, n, &back), DNSWIRE_OK);
	ck_assert_uint_eq(back.id, 0);
	ck_assert_uint_eq(back.flags, F_RD | F_CD);
	ck_assert_uint_eq(back.qname_len, q.qname_len);
	ck_assert_mem_eq(back.qname, q.qname, q.qname_len);
	ck_assert_str_eq(back.name, "mail.example.org");
	ck_assert_uint_eq(back.qtype, 15);
	ck_assert_uint_eq(back.qclass, DNS_CLASS_IN);
	ck_assert(back.edns);
	ck_assert_uint_eq(back.udp_size, 1232);
	ck_assert(back.dnssec_ok);
	ck_assert_uint_eq(dnswire_get16(out + 4), 1);
	ck_assert_uint_eq(dnswire_get16(out + 6), 0);
	ck_assert_uint_eq(dnswire_get16(out + 8), 0);
	ck_assert_uint_eq(dnswire_get16(out + 10), 1);
	ck_assert_uint_eq(back.question_end, 12 + 18 + 4);
}
END_TEST

START_TEST(build_query_plain_client)
{
	struct msg m;
	struct dns_query q, back;
	uint8_t out[512];
	size_t n;

	client_query(&m, 0x9999, 0, "s3.amazon.com", DNS_TYPE_AAAA, 0, false);
	parse_ok(&m, &q);
	n = dnswire_build_query(&q, 4096, out, sizeof(out));
	ck_assert_uint_eq(n, m.n + 11);
	ck_assert_int_eq(dnswire_parse_query(out, n, &back), DNSWIRE_OK);
	ck_assert_uint_eq(back.flags, 0);
	ck_assert_uint_eq(back.qtype, DNS_TYPE_AAAA);
	ck_assert_str_eq(back.name, "s3.amazon.com");
	ck_assert(back.edns);
	ck_assert_uint_eq(back.udp_size, 4096);
	ck_assert(!back.dnssec_ok);
	/* the question bytes are the client's */
	ck_assert_mem_eq(out + 12, m.b + 12, q.question_end - 12);

	ck_assert_uint_eq(dnswire_build_query(&q, 4096, out, n - 1), 0);
}
END_TEST

/* ---- dnswire_inspect_answer ---- */

static void
www_query(struct dns_query *q, uint16_t type, uint16_t udp_size)
{
	struct msg m;

	client_query(&m, 0x2222, F_RD, "www.amazon.com", type, udp_size,
	    false);
	parse_ok(&m, q);
}

/* An answer's header and question: "www.amazon.com" ends at 32. */
static void
answer_start(struct msg *m, uint16_t flags, uint16_t an, uint16_t ns,
    uint16_t ar, uint16_t type)
{
	m_header(m, 0, flags, 1, an, ns, ar);
	m_question(m, "www.amazon.com", type, DNS_CLASS_IN);
}

static int
inspect(const struct msg *m, const struct dns_query *q,
    struct dns_answer_info *info)
{
	return dnswire_inspect_answer(m->b, m->n, q, info);
}

static void
assert_addr4(const struct ipaddr *a, uint8_t b0, uint8_t b1, uint8_t b2,
    uint8_t b3)
{
	ck_assert_uint_eq(a->family, 4);
	ck_assert_uint_eq(a->bytes[0], b0);
	ck_assert_uint_eq(a->bytes[1], b1);
	ck_assert_uint_eq(a->bytes[2], b2);
	ck_assert_uint_eq(a->bytes[3], b3);
}

START_TEST(inspect_positive)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;

	www_query(&q, DNS_TYPE_A, 0);
	answer_start(&m, F_QR | F_RD | F_RA, 2, 0, 0, DNS_TYPE_A);
	ck_assert_uint_eq(m.n, 32);
	m_ptr(&m, 12);
	m_rr_fixed(&m, DNS_TYPE_A, DNS_CLASS_IN, 300, 4);
	m_bytes(&m, "\xc0\x00\x02\x0b", 4);
	m_ptr(&m, 12);
	m_rr_fixed(&m, DNS_TYPE_A, DNS_CLASS_IN, 60, 4);
	m_bytes(&m, "\xc0\x00\x02\x0c", 4);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_int_eq(info.rcode, DNS_RCODE_NOERROR);
	ck_assert(!info.truncated);
	ck_assert(info.has_ttl);
	ck_assert_uint_eq(info.min_ttl, 60);
	ck_assert(!info.too_many_ttls);
	ck_assert_uint_eq(info.nttl, 2);
	ck_assert_uint_eq(info.ttl_offsets[0], 32 + 6);
	ck_assert_uint_eq(info.ttl_offsets[1], 48 + 6);
	ck_assert_uint_eq(dnswire_get32(m.b + info.ttl_offsets[0]), 300);
	ck_assert_uint_eq(dnswire_get32(m.b + info.ttl_offsets[1]), 60);
	ck_assert_uint_eq(info.opt_len, 0);
	ck_assert_uint_eq(info.naddrs, 2);
	assert_addr4(&info.addrs[0], 192, 0, 2, 11);
	assert_addr4(&info.addrs[1], 192, 0, 2, 12);
	ck_assert_uint_eq(info.addr_ttl, 60);

	/* patch the TTLs where it said they are: it reads them there */
	set32(m.b + info.ttl_offsets[0], 1000);
	set32(m.b + info.ttl_offsets[1], 2000);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_uint_eq(info.min_ttl, 1000);
	ck_assert_uint_eq(info.addr_ttl, 1000);

	/* the question's case does not matter (0x20) */
	m.b[13] = 'W';
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_uint_eq(info.naddrs, 2);
}
END_TEST

START_TEST(inspect_flags_and_rcode)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;

	www_query(&q, DNS_TYPE_A, 0);
	answer_start(&m, F_QR | F_TC | F_RD | F_RA, 0, 0, 0, DNS_TYPE_A);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert(info.truncated);
	ck_assert_int_eq(info.rcode, DNS_RCODE_NOERROR);

	answer_start(&m, F_QR | F_RD | F_RA | DNS_RCODE_SERVFAIL, 0, 0, 0,
	    DNS_TYPE_A);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert(!info.truncated);
	ck_assert_int_eq(info.rcode, DNS_RCODE_SERVFAIL);
	ck_assert(!info.has_ttl);
	ck_assert_uint_eq(info.naddrs, 0);
}
END_TEST

/* qname CNAME a, a CNAME b, b A x: the addresses of qname are [x]. */
START_TEST(inspect_cname_chain)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;
	int order;

	www_query(&q, DNS_TYPE_A, 0);
	for (order = 0; order < 2; order++) {
		answer_start(&m, F_QR | F_RD | F_RA, 4, 0, 0, DNS_TYPE_A);
		if (order == 0) {
			m_cname(&m, "www.amazon.com", 300, "a.cdn.net");
			m_cname(&m, "A.cdn.net", 200, "b.cdn.net");
			m_a(&m, "b.cdn.NET", 100, 192, 0, 2, 7);
			m_a(&m, "other.cdn.net", 50, 192, 0, 2, 8);
		} else {
			m_a(&m, "other.cdn.net", 50, 192, 0, 2, 8);
			m_a(&m, "b.cdn.net", 100, 192, 0, 2, 7);
			m_cname(&m, "a.cdn.net", 200, "b.cdn.net");
			m_cname(&m, "www.amazon.com", 300, "a.cdn.net");
		}
		ck_assert_int_eq(inspect(&m, &q, &info), 0);
		ck_assert_uint_eq(info.naddrs, 1);
		assert_addr4(&info.addrs[0], 192, 0, 2, 7);
		ck_assert_uint_eq(info.addr_ttl, 100);
		ck_assert_uint_eq(info.min_ttl, 50);
		ck_assert_uint_eq(info.nttl, 4);
	}
}
END_TEST

/* The same chain written with compression, as servers send it. */
START_TEST(inspect_cname_chain_compressed)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;
	size_t a_at, b_at, rdlen_at;

	www_query(&q, DNS_TYPE_A, 0);
	answer_start(&m, F_QR | F_RD | F_RA, 3, 0, 0, DNS_TYPE_A);
	m_ptr(&m, 12);
	m_rr_fixed(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, 11);
	a_at = m.n;
	m_name(&m, "a.cdn.net");			/* 11 bytes */
	m_ptr(&m, a_at);
	m_rr_fixed(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, 4);
	rdlen_at = m.n;
	b_at = m.n;
	m_bytes(&m, "\x01" "b", 2);
	m_ptr(&m, a_at + 2);				/* "cdn.net" */
	ck_assert_uint_eq(m.n - rdlen_at, 4);
	m_ptr(&m, b_at);
	m_rr_fixed(&m, DNS_TYPE_A, DNS_CLASS_IN, 300, 4);
	m_bytes(&m, "\xcb\x00\x71\x05", 4);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_uint_eq(info.naddrs, 1);
	assert_addr4(&info.addrs[0], 203, 0, 113, 5);
}
END_TEST

/*
 * A CNAME whose target cannot be read stops the chain: the A record of
 * what the unreadable target starts with ("x.com") is not an address of
 * the query name.
 */
START_TEST(inspect_cname_unreadable_target)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;

	client_query(&m, 1, F_RD, "a.com", DNS_TYPE_A, 0, false);
	parse_ok(&m, &q);
	m_header(&m, 0, F_QR | F_RD | F_RA, 1, 2, 0, 0);
	m_question(&m, "a.com", DNS_TYPE_A, DNS_CLASS_IN);
	m_name(&m, "a.com");
	m_rr_fixed(&m, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, 7);
	m_bytes(&m, "\x01" "x" "\x03" "com" "\x40", 7);	/* bad label type */
	m_a(&m, "x.com", 300, 192, 0, 2, 66);
	if (inspect(&m, &q, &info) == 0)
		ck_assert_msg(info.naddrs == 0,
		    "x.com's address learned for a.com through a CNAME whose "
		    "target does not parse");
}
END_TEST

START_TEST(inspect_aaaa)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0x11 };
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;

	www_query(&q, DNS_TYPE_AAAA, 0);
	answer_start(&m, F_QR | F_RD | F_RA, 2, 0, 0, DNS_TYPE_AAAA);
	m_ptr(&m, 12);
	m_rr_fixed(&m, DNS_TYPE_AAAA, DNS_CLASS_IN, 120, 16);
	m_bytes(&m, v6, 16);
	/* an A record with a wrong length is no address */
	m_ptr(&m, 12);
	m_rr_fixed(&m, DNS_TYPE_A, DNS_CLASS_IN, 120, 5);
	m_bytes(&m, "\x01\x02\x03\x04\x05", 5);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_uint_eq(info.naddrs, 1);
	ck_assert_uint_eq(info.addrs[0].family, 6);
	ck_assert_mem_eq(info.addrs[0].bytes, v6, 16);
	ck_assert_uint_eq(info.addr_ttl, 120);
}
END_TEST

START_TEST(inspect_other_question_refused)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;

	www_query(&q, DNS_TYPE_A, 0);
	/* another name */
	m_header(&m, 0, F_QR | F_RD | F_RA, 1, 1, 0, 0);
	m_question(&m, "www.amazon.org", DNS_TYPE_A, DNS_CLASS_IN);
	m_a(&m, "www.amazon.org", 300, 192, 0, 2, 1);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
	/* a longer name that starts the same */
	m_header(&m, 0, F_QR | F_RD | F_RA, 1, 0, 0, 0);
	m_question(&m, "www.amazon.com.evil", DNS_TYPE_A, DNS_CLASS_IN);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
	/* another type */
	answer_start(&m, F_QR | F_RD | F_RA, 0, 0, 0, DNS_TYPE_AAAA);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
	/* another class */
	m_header(&m, 0, F_QR | F_RD | F_RA, 1, 0, 0, 0);
	m_question(&m, "www.amazon.com", DNS_TYPE_A, 3);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
	/* no question */
	m_header(&m, 0, F_QR | F_RD | F_RA, 0, 0, 0, 0);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
	/* a query, not an answer */
	answer_start(&m, F_RD, 0, 0, 0, DNS_TYPE_A);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
	/* the right one is fine */
	answer_start(&m, F_QR | F_RD | F_RA, 0, 0, 0, DNS_TYPE_A);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
}
END_TEST

START_TEST(inspect_malformed)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;

	www_query(&q, DNS_TYPE_A, 0);
	answer_start(&m, F_QR | F_RD | F_RA, 1, 0, 0, DNS_TYPE_A);
	m_a(&m, "www.amazon.com", 300, 192, 0, 2, 1);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	/* cut inside the record data */
	ck_assert_int_eq(dnswire_inspect_answer(m.b, m.n - 1, &q, &info), -1);
	/* ANCOUNT says two */
	set16(m.b + 6, 2);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
	/* cut inside the header or the question */
	ck_assert_int_eq(dnswire_inspect_answer(m.b, 11, &q, &info), -1);
	ck_assert_int_eq(dnswire_inspect_answer(m.b, 30, &q, &info), -1);
	/* a forward pointer in an owner name */
	answer_start(&m, F_QR | F_RD | F_RA, 1, 0, 0, DNS_TYPE_A);
	m_ptr(&m, 34);
	m_rr_fixed(&m, DNS_TYPE_A, DNS_CLASS_IN, 300, 4);
	m_u32(&m, 0);
	ck_assert_int_eq(inspect(&m, &q, &info), -1);
}
END_TEST

/* RFC 2308 5: a negative answer lives min(SOA TTL, SOA MINIMUM). */
START_TEST(inspect_negative)
{
	static const struct {
		int rcode;
		uint32_t ttl, minimum, expect;
	} cases[] = {
		{ DNS_RCODE_NXDOMAIN, 300, 60, 60 },
		{ DNS_RCODE_NXDOMAIN, 30, 60, 30 },
		{ DNS_RCODE_NOERROR, 300, 60, 60 },	/* NODATA */
		{ DNS_RCODE_NOERROR, 45, 900, 45 },
	};
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;
	size_t i;

	www_query(&q, DNS_TYPE_A, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		answer_start(&m, (uint16_t)(F_QR | F_AA | F_RD | F_RA |
		    cases[i].rcode), 0, 1, 0, DNS_TYPE_A);
		m_soa(&m, "amazon.com", cases[i].ttl, cases[i].minimum);
		ck_assert_int_eq(inspect(&m, &q, &info), 0);
		ck_assert_int_eq(info.rcode, cases[i].rcode);
		ck_assert(info.has_ttl);
		ck_assert_msg(info.min_ttl == cases[i].expect,
		    "SOA TTL %u MINIMUM %u: min_ttl %u", cases[i].ttl,
		    cases[i].minimum, info.min_ttl);
		ck_assert_uint_eq(info.nttl, 1);
		ck_assert_uint_eq(info.naddrs, 0);
	}

	/* without an SOA a negative answer has no TTL */
	answer_start(&m, F_QR | F_RD | F_RA | DNS_RCODE_NXDOMAIN, 0, 0, 0,
	    DNS_TYPE_A);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_int_eq(info.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert(!info.has_ttl);
	/* even with other records in the authority section */
	answer_start(&m, F_QR | F_RD | F_RA | DNS_RCODE_NXDOMAIN, 0, 1, 0,
	    DNS_TYPE_A);
	m_name(&m, "amazon.com");
	m_rr_fixed(&m, DNS_TYPE_NS, DNS_CLASS_IN, 3600, 5);
	m_bytes(&m, "\x02" "ns", 3);
	m_ptr(&m, 16);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert(!info.has_ttl);
}
END_TEST

START_TEST(inspect_opt)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;
	size_t opt_at;

	www_query(&q, DNS_TYPE_A, 1232);
	answer_start(&m, F_QR | F_RD | F_RA, 1, 0, 1, DNS_TYPE_A);
	m_a(&m, "www.amazon.com", 300, 192, 0, 2, 1);
	opt_at = m.n;
	/* ext-rcode, version and flags all 0: a "TTL" of 0 */
	m_opt(&m, 1232, 0);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_uint_eq(info.opt_off, opt_at);
	ck_assert_uint_eq(info.opt_len, 11);
	ck_assert_uint_eq(info.min_ttl, 300);
	ck_assert_uint_eq(info.nttl, 1);

	/* with an option (a 12-byte cookie, RFC 7873) */
	answer_start(&m, F_QR | F_RD | F_RA, 1, 0, 1, DNS_TYPE_A);
	m_a(&m, "www.amazon.com", 300, 192, 0, 2, 1);
	opt_at = m.n;
	m_u8(&m, 0);
	m_rr_fixed(&m, DNS_TYPE_OPT, 1232, 0, 16);
	m_u16(&m, 10);
	m_u16(&m, 12);
	m_bytes(&m, "0123456789ab", 12);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_uint_eq(info.opt_off, opt_at);
	ck_assert_uint_eq(info.opt_len, 27);
	ck_assert_uint_eq(info.nttl, 1);
	ck_assert_uint_eq(info.min_ttl, 300);
}
END_TEST

START_TEST(inspect_many_records)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;
	int i;

	www_query(&q, DNS_TYPE_A, 0);
	answer_start(&m, F_QR | F_RD | F_RA, 64, 0, 0, DNS_TYPE_A);
	for (i = 0; i < 64; i++) {
		m_ptr(&m, 12);
		m_rr_fixed(&m, DNS_TYPE_A, DNS_CLASS_IN, (uint32_t)(1000 - i),
		    4);
		m_bytes(&m, "\x0a\x00\x00", 3);
		m_u8(&m, (uint8_t)i);
	}
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert_uint_eq(info.nttl, 64);
	ck_assert(!info.too_many_ttls);
	ck_assert_uint_eq(info.min_ttl, 1000 - 63);
	ck_assert_uint_eq(info.naddrs, 32);
	assert_addr4(&info.addrs[31], 10, 0, 0, 31);

	/* one more than it can count down: not to be cached */
	set16(m.b + 6, 65);
	m_ptr(&m, 12);
	m_rr_fixed(&m, DNS_TYPE_A, DNS_CLASS_IN, 5, 4);
	m_bytes(&m, "\x0a\x00\x00\x40", 4);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert(info.too_many_ttls);
}
END_TEST

/* RFC 2181 8: a TTL with the top bit set counts as zero. */
START_TEST(inspect_ttl_top_bit)
{
	struct dns_query q;
	struct dns_answer_info info;
	struct msg m;

	www_query(&q, DNS_TYPE_A, 0);
	answer_start(&m, F_QR | F_RD | F_RA, 2, 0, 0, DNS_TYPE_A);
	m_a(&m, "www.amazon.com", 300, 192, 0, 2, 1);
	m_a(&m, "www.amazon.com", 0x80000001u, 192, 0, 2, 2);
	ck_assert_int_eq(inspect(&m, &q, &info), 0);
	ck_assert(info.has_ttl);
	ck_assert_uint_eq(info.min_ttl, 0);
}
END_TEST

/* ---- dnswire_prepare_answer ---- */

/* An upstream answer, ID 0, AA set, with an OPT at the end. */
static void
stored_www(struct msg *m, uint32_t ttl)
{
	answer_start(m, F_QR | F_AA | F_RD | F_RA, 1, 0, 1, DNS_TYPE_A);
	m_ptr(m, 12);
	m_rr_fixed(m, DNS_TYPE_A, DNS_CLASS_IN, ttl, 4);
	m_bytes(m, "\xc0\x00\x02\x0b", 4);
	m_opt(m, 1232, 0);
}

START_TEST(prepare_echo_and_countdown)
{
	struct msg stored, copy, cq;
	struct dns_query q;
	struct dns_answer_info info, again;
	uint8_t out[4096];
	size_t n;

	stored_www(&stored, 300);
	copy = stored;
	client_query(&cq, 0xabcd, F_RD, "WWW.Amazon.COM", DNS_TYPE_A, 0, false);
	parse_ok(&cq, &q);
	ck_assert_int_eq(dnswire_inspect_answer(stored.b, stored.n, &q, &info),
	    0);

	n = dnswire_prepare_answer(stored.b, stored.n, &info, 100, &q, cq.b,
	    512, out, sizeof(out));
	/* no EDNS from the client: the OPT goes */
	ck_assert_uint_eq(n, stored.n - 11);
	ck_assert_uint_eq(dnswire_get16(out), 0xabcd);
	ck_assert_uint_eq(dnswire_get16(out + 2), F_QR | F_RD | F_RA);
	ck_assert_uint_eq(dnswire_get16(out + 4), 1);
	ck_assert_uint_eq(dnswire_get16(out + 6), 1);
	ck_assert_uint_eq(dnswire_get16(out + 8), 0);
	ck_assert_uint_eq(dnswire_get16(out + 10), 0);
	ck_assert_mem_eq(out + 12, cq.b + 12, q.question_end - 12);
	ck_assert_uint_eq(dnswire_get32(out + 38), 200);
	ck_assert_mem_eq(out + 44, "\xc0\x00\x02\x0b", 4);
	/* what was stored is left as it was */
	ck_assert_mem_eq(stored.b, copy.b, stored.n);
	/* and what the client gets is a good answer to its question */
	ck_assert_int_eq(dnswire_inspect_answer(out, n, &q, &again), 0);
	ck_assert_uint_eq(again.min_ttl, 200);
	ck_assert_uint_eq(again.opt_len, 0);
	ck_assert_uint_eq(again.naddrs, 1);
}
END_TEST

START_TEST(prepare_ttl_floor)
{
	static const struct {
		uint32_t elapsed, ttl;
	} cases[] = {
		{ 0, 300 }, { 1, 299 }, { 299, 1 }, { 300, 0 }, { 301, 0 },
		{ 4000000000u, 0 },
	};
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info;
	uint8_t out[4096];
	size_t i, n;

	stored_www(&stored, 300);
	client_query(&cq, 1, F_RD, "www.amazon.com", DNS_TYPE_A, 1232, false);
	parse_ok(&cq, &q);
	ck_assert_int_eq(dnswire_inspect_answer(stored.b, stored.n, &q, &info),
	    0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = dnswire_prepare_answer(stored.b, stored.n, &info,
		    cases[i].elapsed, &q, cq.b, 1232, out, sizeof(out));
		/* EDNS client: the OPT stays */
		ck_assert_uint_eq(n, stored.n);
		ck_assert_uint_eq(dnswire_get16(out + 10), 1);
		ck_assert_msg(dnswire_get32(out + 38) == cases[i].ttl,
		    "elapsed %u: TTL %u", cases[i].elapsed, dnswire_get32(out + 38));
	}
}
END_TEST

/*
 * An OPT before another additional record, to a client without EDNS: no
 * OPT reaches it (RFC 6891 7), and what it gets reads, with the answer's
 * TTL counted down. The record after the OPT may stay (counted down too)
 * or go with it: the additional section is optional.
 */
START_TEST(prepare_strip_opt_in_middle)
{
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info, again;
	uint8_t out[4096];
	size_t n, opt_at;

	answer_start(&stored, F_QR | F_RD | F_RA, 1, 0, 2, DNS_TYPE_A);
	m_a(&stored, "www.amazon.com", 300, 192, 0, 2, 11);
	opt_at = stored.n;
	m_opt(&stored, 1232, 0);
	m_a(&stored, "ns.amazon.com", 500, 192, 0, 2, 53);
	client_query(&cq, 7, F_RD, "www.amazon.com", DNS_TYPE_A, 0, false);
	parse_ok(&cq, &q);
	ck_assert_int_eq(dnswire_inspect_answer(stored.b, stored.n, &q, &info),
	    0);
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 10, &q, cq.b, 512,
	    out, sizeof(out));
	ck_assert_msg(n == stored.n - 11 || n == opt_at,
	    "%zu bytes: neither the OPT taken out (%zu) nor cut at it (%zu)",
	    n, stored.n - 11, opt_at);
	ck_assert_int_eq(dnswire_inspect_answer(out, n, &q, &again), 0);
	ck_assert_uint_eq(again.opt_len, 0);
	ck_assert_uint_eq(again.naddrs, 1);
	ck_assert_uint_eq(dnswire_get32(out + again.ttl_offsets[0]), 290);
	if (n == opt_at) {
		ck_assert_uint_eq(dnswire_get16(out + 10), 0);
		ck_assert_uint_eq(again.nttl, 1);
	} else {
		ck_assert_uint_eq(dnswire_get16(out + 10), 1);
		ck_assert_uint_eq(again.nttl, 2);
		ck_assert_uint_eq(dnswire_get32(out + again.ttl_offsets[1]), 490);
	}
}
END_TEST

/*
 * The same, with a later record whose owner is a compression pointer to
 * a name after the OPT: taking the OPT out must not leave that pointer
 * aiming 11 bytes off.
 */
START_TEST(prepare_strip_opt_before_compressed_name)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0x53 };
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info, again;
	uint8_t out[4096];
	size_t n, ns_at;

	answer_start(&stored, F_QR | F_RD | F_RA, 1, 0, 3, DNS_TYPE_A);
	m_a(&stored, "www.amazon.com", 300, 192, 0, 2, 11);
	m_opt(&stored, 1232, 0);
	ns_at = stored.n;
	m_a(&stored, "ns.amazon.com", 500, 192, 0, 2, 53);
	m_ptr(&stored, ns_at);
	m_rr_fixed(&stored, DNS_TYPE_AAAA, DNS_CLASS_IN, 500, 16);
	m_bytes(&stored, v6, 16);
	client_query(&cq, 7, F_RD, "www.amazon.com", DNS_TYPE_A, 0, false);
	parse_ok(&cq, &q);
	ck_assert_int_eq(dnswire_inspect_answer(stored.b, stored.n, &q, &info),
	    0);
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b, 512,
	    out, sizeof(out));
	ck_assert_uint_ne(n, 0);
	ck_assert_msg(dnswire_inspect_answer(out, n, &q, &again) == 0,
	    "a pointer to a name after the stripped OPT no longer reads "
	    "(%zu bytes, ARCOUNT %u)", n, dnswire_get16(out + 10));
	ck_assert_uint_eq(again.opt_len, 0);
	/* the records after the OPT kept, or cut off with it */
	ck_assert_msg(again.nttl == 3 || again.nttl == 1, "%zu TTLs",
	    again.nttl);
	ck_assert_uint_eq(again.naddrs, 1);
}
END_TEST

/*
 * A compression pointer into the header (offset 0, where ID 0 reads as the
 * root): prepare_answer writes the client's ID there. Either inspect
 * refuses it, or the client must get an answer that still reads.
 */
START_TEST(prepare_pointer_into_header)
{
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info, again;
	uint8_t out[4096];
	size_t n;

	answer_start(&stored, F_QR | F_RD | F_RA, 2, 0, 0, DNS_TYPE_A);
	m_a(&stored, "www.amazon.com", 300, 192, 0, 2, 11);
	m_ptr(&stored, 0);
	m_rr_fixed(&stored, DNS_TYPE_TXT, DNS_CLASS_IN, 300, 2);
	m_bytes(&stored, "\x01" "x", 2);
	client_query(&cq, 0x1234, F_RD, "www.amazon.com", DNS_TYPE_A, 0, false);
	parse_ok(&cq, &q);
	if (dnswire_inspect_answer(stored.b, stored.n, &q, &info) == -1)
		return;
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b, 512,
	    out, sizeof(out));
	ck_assert_uint_eq(n, stored.n);
	ck_assert_msg(dnswire_inspect_answer(out, n, &q, &again) == 0,
	    "an accepted answer with a pointer into the header does not "
	    "read once the client's ID is in place");
}
END_TEST

/*
 * An upstream answer with two OPT records (RFC 6891 6.1.1: FORMERR):
 * either refused, or a client that sent no EDNS gets no OPT at all
 * (RFC 6891 7).
 */
START_TEST(prepare_two_opts)
{
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info, again;
	uint8_t out[4096];
	size_t n;

	answer_start(&stored, F_QR | F_RD | F_RA, 1, 0, 2, DNS_TYPE_A);
	m_a(&stored, "www.amazon.com", 300, 192, 0, 2, 11);
	m_opt(&stored, 1232, 0);
	m_opt(&stored, 4096, EDNS_DO);
	client_query(&cq, 7, F_RD, "www.amazon.com", DNS_TYPE_A, 0, false);
	parse_ok(&cq, &q);
	if (dnswire_inspect_answer(stored.b, stored.n, &q, &info) == -1)
		return;
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b, 512,
	    out, sizeof(out));
	ck_assert_uint_ne(n, 0);
	ck_assert_int_eq(dnswire_inspect_answer(out, n, &q, &again), 0);
	ck_assert_msg(again.opt_len == 0 && dnswire_get16(out + 10) == 0,
	    "a client without EDNS got an OPT record (ARCOUNT %u)",
	    dnswire_get16(out + 10));
}
END_TEST

/*
 * A pointer that goes backwards to a label that then runs forwards over
 * the pointer itself, the record's TTL and the OPT, whose last byte ends
 * the name: the pointer is "backwards", yet the name is made of bytes
 * that prepare_answer rewrites or removes. Either inspect refuses it, or
 * what a client without EDNS gets must still read.
 */
START_TEST(prepare_name_reaching_forward)
{
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info, again;
	uint8_t out[4096];
	size_t n;

	answer_start(&stored, F_QR | F_RD | F_RA, 2, 0, 1, DNS_TYPE_A);
	m_ptr(&stored, 12);				/* 32 */
	m_rr_fixed(&stored, DNS_TYPE_TXT, DNS_CLASS_IN, 300, 1);
	m_u8(&stored, 26);				/* 44: a label */
	m_ptr(&stored, 44);				/* 45 */
	m_rr_fixed(&stored, DNS_TYPE_A, DNS_CLASS_IN, 300, 4);
	m_bytes(&stored, "\xc0\x00\x02\x0b", 4);
	m_opt(&stored, 1232, 0);			/* 61..71 */
	ck_assert_uint_eq(stored.n, 72);
	client_query(&cq, 7, F_RD, "www.amazon.com", DNS_TYPE_A, 0, false);
	parse_ok(&cq, &q);
	if (dnswire_inspect_answer(stored.b, stored.n, &q, &info) == -1)
		return;
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 7, &q, cq.b, 512,
	    out, sizeof(out));
	ck_assert_uint_ne(n, 0);
	ck_assert_msg(dnswire_inspect_answer(out, n, &q, &again) == 0,
	    "an accepted answer whose name runs over its own TTL and OPT "
	    "does not read once prepared (%zu bytes)", n);
}
END_TEST

/* A 600-byte answer: a big TXT record. */
static void
stored_big(struct msg *m)
{
	uint8_t text[200];
	int i;

	memset(text, 'a', sizeof(text));
	answer_start(m, F_QR | F_AA | F_RD | F_RA, 1, 0, 1, DNS_TYPE_TXT);
	m_ptr(m, 12);
	m_rr_fixed(m, DNS_TYPE_TXT, DNS_CLASS_IN, 300, 3 * 191);
	for (i = 0; i < 3; i++) {
		m_u8(m, 190);
		m_bytes(m, text, 190);
	}
	m_opt(m, 1232, 0);
}

START_TEST(prepare_truncates_for_udp)
{
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info;
	uint8_t out[4096];
	size_t n;

	stored_big(&stored);
	ck_assert_uint_ge(stored.n, 600);
	client_query(&cq, 0x5150, F_RD, "www.AMAZON.com", DNS_TYPE_TXT, 0,
	    false);
	parse_ok(&cq, &q);
	ck_assert_int_eq(dnswire_inspect_answer(stored.b, stored.n, &q, &info),
	    0);

	/* no EDNS: 512 bytes at most; header and question, TC */
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b, 512,
	    out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end);
	ck_assert_uint_eq(dnswire_get16(out), 0x5150);
	ck_assert_uint_eq(dnswire_get16(out + 2) & F_TC, F_TC);
	ck_assert_uint_eq(dnswire_get16(out + 2) & F_QR, F_QR);
	ck_assert_uint_eq(dnswire_get16(out + 2) & 0xf, DNS_RCODE_NOERROR);
	ck_assert_uint_eq(dnswire_get16(out + 4), 1);
	ck_assert_uint_eq(dnswire_get16(out + 6), 0);
	ck_assert_uint_eq(dnswire_get16(out + 8), 0);
	ck_assert_uint_eq(dnswire_get16(out + 10), 0);
	ck_assert_mem_eq(out + 12, cq.b + 12, q.question_end - 12);

	/* EDNS 1232: it fits, whole, OPT kept */
	client_query(&cq, 0x5151, F_RD, "www.AMAZON.com", DNS_TYPE_TXT, 1232,
	    false);
	parse_ok(&cq, &q);
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b,
	    q.udp_size, out, sizeof(out));
	ck_assert_uint_eq(n, stored.n);
	ck_assert_uint_eq(dnswire_get16(out), 0x5151);
	ck_assert_uint_eq(dnswire_get16(out + 2) & F_TC, 0);
	ck_assert_uint_eq(dnswire_get16(out + 6), 1);
	ck_assert_uint_eq(dnswire_get16(out + 10), 1);
	ck_assert_mem_eq(out + q.question_end, stored.b + q.question_end,
	    stored.n - q.question_end);

	/* EDNS 512: header, question and an OPT, TC */
	client_query(&cq, 0x5152, F_RD, "www.AMAZON.com", DNS_TYPE_TXT, 512,
	    false);
	parse_ok(&cq, &q);
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b,
	    q.udp_size, out, sizeof(out));
	ck_assert_uint_eq(n, q.question_end + 11);
	ck_assert_uint_eq(dnswire_get16(out + 2) & F_TC, F_TC);
	ck_assert_uint_eq(dnswire_get16(out + 6), 0);
	ck_assert_uint_eq(dnswire_get16(out + 10), 1);
	ck_assert_uint_eq(dnswire_get16(out + q.question_end + 1), DNS_TYPE_OPT);

	/* TCP: no limit but the message's */
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b,
	    65535, out, sizeof(out));
	ck_assert_uint_eq(n, stored.n);
}
END_TEST

START_TEST(prepare_out_too_small)
{
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info;
	uint8_t out[4096];

	stored_www(&stored, 300);
	client_query(&cq, 1, F_RD, "www.amazon.com", DNS_TYPE_A, 1232, false);
	parse_ok(&cq, &q);
	ck_assert_int_eq(dnswire_inspect_answer(stored.b, stored.n, &q, &info),
	    0);
	ck_assert_uint_eq(dnswire_prepare_answer(stored.b, stored.n, &info, 0,
	    &q, cq.b, 1232, out, stored.n - 1), 0);
	ck_assert_uint_eq(dnswire_prepare_answer(stored.b, stored.n, &info, 0,
	    &q, cq.b, 1232, out, stored.n), stored.n);
}
END_TEST

/*
 * An upstream answer with an OPT in the answer section (RFC 6891 6.1.1:
 * OPT belongs in the additional data): either refused, or, when accepted,
 * what a client without EDNS gets must still be a readable answer (not an
 * ARCOUNT of 65535).
 */
START_TEST(prepare_opt_outside_additional)
{
	struct msg stored, cq;
	struct dns_query q;
	struct dns_answer_info info, again;
	uint8_t out[4096];
	size_t n;

	answer_start(&stored, F_QR | F_RD | F_RA, 2, 0, 0, DNS_TYPE_A);
	m_a(&stored, "www.amazon.com", 300, 192, 0, 2, 11);
	m_opt(&stored, 1232, 0);
	client_query(&cq, 7, F_RD, "www.amazon.com", DNS_TYPE_A, 0, false);
	parse_ok(&cq, &q);
	if (dnswire_inspect_answer(stored.b, stored.n, &q, &info) == -1)
		return;
	n = dnswire_prepare_answer(stored.b, stored.n, &info, 0, &q, cq.b, 512,
	    out, sizeof(out));
	ck_assert_uint_ne(n, 0);
	ck_assert_msg(dnswire_inspect_answer(out, n, &q, &again) == 0,
	    "accepted upstream answer prepared into an unreadable one "
	    "(ANCOUNT %u NSCOUNT %u ARCOUNT %u, %zu bytes)", dnswire_get16(out + 6),
	    dnswire_get16(out + 8), dnswire_get16(out + 10), n);
}
END_TEST

static Suite *
dnswire_suite(void)
{
	Suite *s = suite_create("dnswire");
	TCase *tc;

	tc = tcase_create("query");
	tcase_add_test(tc, parse_plain_query);
	tcase_add_test(tc, parse_other_type_and_class);
	tcase_add_test(tc, parse_edns);
	tcase_add_test(tc, parse_edns_small_size_raised);
	tcase_add_test(tc, parse_other_additional_record);
	tcase_add_test(tc, parse_at_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, name_normalised, 0,
	    (int)(sizeof(name_cases) / sizeof(name_cases[0])));
	tcase_add_test(tc, name_text_keeps_case_unless_lowered);
	tcase_add_test(tc, name_text_longest);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, parse_short);
	tcase_add_test(tc, parse_response_dropped);
	tcase_add_test(tc, parse_opcode_notimp);
	tcase_add_loop_test(tc, parse_formerr, 0,
	    (int)(sizeof(formerr_cases) / sizeof(formerr_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("read_name");
	tcase_add_test(tc, read_name_backward_pointer);
	tcase_add_test(tc, read_name_bad_pointers);
	tcase_add_test(tc, read_name_long_backward_chain);
	tcase_add_test(tc, read_name_chain_of_labels);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, build_empty_echoes);
	tcase_add_test(tc, build_empty_opt_iff_client_sent_one);
	tcase_add_test(tc, build_empty_header_only);
	tcase_add_test(tc, build_empty_too_small);
	tcase_add_test(tc, build_query_round_trip);
	tcase_add_test(tc, build_query_plain_client);
	suite_add_tcase(s, tc);

	tc = tcase_create("inspect");
	tcase_add_test(tc, inspect_positive);
	tcase_add_test(tc, inspect_flags_and_rcode);
	tcase_add_test(tc, inspect_cname_chain);
	tcase_add_test(tc, inspect_cname_chain_compressed);
	tcase_add_test(tc, inspect_cname_unreadable_target);
	tcase_add_test(tc, inspect_aaaa);
	tcase_add_test(tc, inspect_other_question_refused);
	tcase_add_test(tc, inspect_malformed);
	tcase_add_test(tc, inspect_negative);
	tcase_add_test(tc, inspect_opt);
	tcase_add_test(tc, inspect_many_records);
	tcase_add_test(tc, inspect_ttl_top_bit);
	suite_add_tcase(s, tc);

	tc = tcase_create("prepare");
	tcase_add_test(tc, prepare_echo_and_countdown);
	tcase_add_test(tc, prepare_ttl_floor);
	tcase_add_test(tc, prepare_strip_opt_in_middle);
	tcase_add_test(tc, prepare_strip_opt_before_compressed_name);
	tcase_add_test(tc, prepare_pointer_into_header);
	tcase_add_test(tc, prepare_two_opts);
	tcase_add_test(tc, prepare_name_reaching_forward);
	tcase_add_test(tc, prepare_truncates_for_udp);
	tcase_add_test(tc, prepare_out_too_small);
	tcase_add_test(tc, prepare_opt_outside_additional);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dnswire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
