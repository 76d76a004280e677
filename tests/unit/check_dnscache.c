/*
 * check_dnscache — the answer cache: keyed by name (ignoring ASCII case),
 * type, class and DO bit; entries live for their TTL (capped), are not
 * stored without one, and the whole cache stays within its byte budget by
 * evicting the least recently used. Ends with 10,000 random operations
 * checked against a simple model.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/dnscache.h"
#include "fnguard/dnswire.h"

/* ---- helpers ---- */

/* A query as dnscache sees it: wire name, type, class, DO. */
static struct dns_query
mkq(const char *dotted, uint16_t type, uint16_t class, bool dnssec_ok)
{
	struct dns_query q;
	const char *p = dotted, *dot;
	size_t len;

	memset(&q, 0, sizeof(q));
	while (*p != '\0') {
		dot = strchr(p, '.');
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		ck_assert_uint_lt(q.qname_len + len + 2, sizeof(q.qname));
		q.qname[q.qname_len++] = (uint8_t)len;
		memcpy(q.qname + q.qname_len, p, len);
		q.qname_len += len;
		p += len;
		if (*p == '.')
			p++;
	}
	q.qname[q.qname_len++] = 0;
	q.qtype = type;
	q.qclass = class;
	q.dnssec_ok = dnssec_ok;
	snprintf(q.name, sizeof(q.name), "%s", dotted);
	return q;
}

static struct dns_answer_info
ttl_info(uint32_t ttl)
{
	struct dns_answer_info info;

	memset(&info, 0, sizeof(info));
	info.has_ttl = true;
	info.min_ttl = ttl;
	return info;
}

/* A message of len bytes whose content says which one it is. */
static void
fill(uint8_t *msg, size_t len, unsigned tag)
{
	size_t i;

	for (i = 0; i < len; i++)
		msg[i] = (uint8_t)(tag * 31 + i);
}

static void
assert_hit(struct dnscache *c, const struct dns_query *q, int64_t now,
    const uint8_t *msg, size_t len)
{
	const struct dnscache_entry *e = dnscache_get(c, q, now);

	ck_assert_msg(e != NULL, "miss for %s type %u at %lld", q->name,
	    q->qtype, (long long)now);
	ck_assert_uint_eq(e->len, len);
	ck_assert_mem_eq(e->msg, msg, len);
}

static void
assert_miss(struct dnscache *c, const struct dns_query *q, int64_t now)
{
	ck_assert_msg(dnscache_get(c, q, now) == NULL,
	    "hit for %s type %u at %lld", q->name, q->qtype, (long long)now);
}

/* What one entry of len bytes costs in the budget. */
static size_t
entry_cost(size_t len)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query q = mkq("probe.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_answer_info info = ttl_info(60);
	uint8_t msg[4096];
	size_t cost;

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_le(len, sizeof(msg));
	fill(msg, len, 1);
	ck_assert_int_eq(dnscache_put(c, &q, msg, len, &info, 0), 0);
	cost = dnscache_bytes(c);
	dnscache_free(c);
	ck_assert_uint_ge(cost, len);
	return cost;
}

/* ---- tests ---- */

START_TEST(put_get_ignores_case)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query put = mkq("www.Amazon.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_query lower = mkq("www.amazon.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_query upper = mkq("WWW.AMAZON.COM", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_answer_info info = ttl_info(60);
	const struct dnscache_entry *e;
	uint8_t msg[100];

	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(dnscache_count(c), 0);
	ck_assert_uint_eq(dnscache_bytes(c), 0);
	assert_miss(c, &lower, 1000);
	fill(msg, sizeof(msg), 7);
	info.min_ttl = 60;
	info.naddrs = 1;
	info.addrs[0].family = 4;
	info.addrs[0].bytes[0] = 192;
	ck_assert_int_eq(dnscache_put(c, &put, msg, sizeof(msg), &info, 1000),
	    0);
	ck_assert_uint_eq(dnscache_count(c), 1);
	ck_assert_uint_ge(dnscache_bytes(c), sizeof(msg));

	e = dnscache_get(c, &upper, 2000);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->len, sizeof(msg));
	ck_assert_mem_eq(e->msg, msg, sizeof(msg));
	ck_assert_ptr_ne(e->msg, msg);		/* a copy */
	ck_assert_int_eq(e->stored_ms, 1000);
	ck_assert_int_eq(e->expires_ms, 61000);
	ck_assert_uint_eq(e->info.min_ttl, 60);
	ck_assert_uint_eq(e->info.naddrs, 1);
	ck_assert_uint_eq(e->info.addrs[0].bytes[0], 192);
	assert_hit(c, &lower, 2000, msg, sizeof(msg));
	assert_hit(c, &put, 2000, msg, sizeof(msg));

	/* the copy does not change with the caller's buffer */
	memset(msg, 0, sizeof(msg));
	e = dnscache_get(c, &lower, 2000);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->msg[1], (uint8_t)(7 * 31 + 1));
	dnscache_free(c);
}
END_TEST

/* Only ASCII letters fold: a name with 0xc9 is not the one with 0xe9. */
START_TEST(case_folds_ascii_only)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query a = mkq("caf\xc9.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_query b = mkq("caf\xe9.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_query d = mkq("CAF\xc9.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_answer_info info = ttl_info(60);
	uint8_t msg[40];

	ck_assert_ptr_nonnull(c);
	fill(msg, sizeof(msg), 3);
	ck_assert_int_eq(dnscache_put(c, &a, msg, sizeof(msg), &info, 0), 0);
	assert_miss(c, &b, 1);
	assert_hit(c, &d, 1, msg, sizeof(msg));
	dnscache_free(c);
}
END_TEST

START_TEST(type_class_do_distinguish)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query qs[6];
	struct dns_answer_info info = ttl_info(300);
	uint8_t msgs[6][64];
	size_t i;

	ck_assert_ptr_nonnull(c);
	qs[0] = mkq("s3.amazon.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	qs[1] = mkq("s3.amazon.com", DNS_TYPE_AAAA, DNS_CLASS_IN, false);
	qs[2] = mkq("s3.amazon.com", DNS_TYPE_A, 3, false);	/* CH */
	qs[3] = mkq("s3.amazon.com", DNS_TYPE_A, DNS_CLASS_IN, true);
	qs[4] = mkq("s3.amazon.co", DNS_TYPE_A, DNS_CLASS_IN, false);
	qs[5] = mkq("s3.amazon.com.cn", DNS_TYPE_A, DNS_CLASS_IN, false);

	fill(msgs[0], sizeof(msgs[0]), 0);
	ck_assert_int_eq(dnscache_put(c, &qs[0], msgs[0], sizeof(msgs[0]),
	    &info, 0), 0);
	for (i = 1; i < 6; i++)
		assert_miss(c, &qs[i], 1);
	for (i = 1; i < 6; i++) {
		fill(msgs[i], sizeof(msgs[i]), (unsigned)i);
		ck_assert_int_eq(dnscache_put(c, &qs[i], msgs[i],
		    sizeof(msgs[i]), &info, 0), 0);
	}
	ck_assert_uint_eq(dnscache_count(c), 6);
	for (i = 0; i < 6; i++)
		assert_hit(c, &qs[i], 1, msgs[i], sizeof(msgs[i]));
	dnscache_free(c);
}
END_TEST

START_TEST(ttl_expiry)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query q = mkq("www.amazon.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_answer_info info = ttl_info(30);
	uint8_t msg[64];
	const int64_t stored = 1700000000000;

	ck_assert_ptr_nonnull(c);
	fill(msg, sizeof(msg), 9);
	ck_assert_int_eq(dnscache_put(c, &q, msg, sizeof(msg), &info, stored),
	    0);
	assert_hit(c, &q, stored, msg, sizeof(msg));
	assert_hit(c, &q, stored + 30 * 1000 - 1, msg, sizeof(msg));
	assert_miss(c, &q, stored + 30 * 1000);
	/* gone for good, and its bytes are given back */
	assert_miss(c, &q, stored);
	ck_assert_uint_eq(dnscache_count(c), 0);
	ck_assert_uint_eq(dnscache_bytes(c), 0);

	/* TTL 1 */
	info = ttl_info(1);
	ck_assert_int_eq(dnscache_put(c, &q, msg, sizeof(msg), &info, stored),
	    0);
	assert_hit(c, &q, stored + 999, msg, sizeof(msg));
	assert_miss(c, &q, stored + 1000);
	dnscache_free(c);
}
END_TEST

START_TEST(not_stored_without_ttl)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query q = mkq("yahoo.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_answer_info info;
	uint8_t msg[64];

	ck_assert_ptr_nonnull(c);
	fill(msg, sizeof(msg), 2);
	info = ttl_info(0);
	ck_assert_int_eq(dnscache_put(c, &q, msg, sizeof(msg), &info, 0), -1);
	info = ttl_info(300);
	info.has_ttl = false;		/* a negative answer without SOA */
	ck_assert_int_eq(dnscache_put(c, &q, msg, sizeof(msg), &info, 0), -1);
	info = ttl_info(300);
	info.too_many_ttls = true;	/* TTLs it could not count down */
	ck_assert_int_eq(dnscache_put(c, &q, msg, sizeof(msg), &info, 0), -1);
	ck_assert_uint_eq(dnscache_count(c), 0);
	ck_assert_uint_eq(dnscache_bytes(c), 0);
	assert_miss(c, &q, 1);
	dnscache_free(c);
}
END_TEST

START_TEST(ttl_capped)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query q = mkq("www.amazon.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_answer_info info = ttl_info(0x7fffffff);
	const struct dnscache_entry *e;
	const int64_t max_ms = (int64_t)DNSCACHE_MAX_TTL * 1000;
	uint8_t msg[64];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(DNSCACHE_MAX_TTL, 86400);
	fill(msg, sizeof(msg), 4);
	ck_assert_int_eq(dnscache_put(c, &q, msg, sizeof(msg), &info, 5000),
	    0);
	e = dnscache_get(c, &q, 5000);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->expires_ms, 5000 + max_ms);
	assert_hit(c, &q, 5000 + max_ms - 1, msg, sizeof(msg));
	assert_miss(c, &q, 5000 + max_ms);

	/* exactly the cap is kept that long too */
	info = ttl_info(DNSCACHE_MAX_TTL);
	ck_assert_int_eq(dnscache_put(c, &q, msg, sizeof(msg), &info, 0), 0);
	assert_hit(c, &q, max_ms - 1, msg, sizeof(msg));
	assert_miss(c, &q, max_ms);
	dnscache_free(c);
}
END_TEST

START_TEST(replace_entry)
{
	struct dnscache *c = dnscache_new(1 << 20);
	struct dns_query q = mkq("www.amazon.com", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_query q2 = mkq("WWW.amazon.COM", DNS_TYPE_A, DNS_CLASS_IN,
	    false);
	struct dns_answer_info info;
	const struct dnscache_entry *e;
	uint8_t one[100], two[40];
	size_t cost2 = entry_cost(sizeof(two));

	ck_assert_ptr_nonnull(c);
	fill(one, sizeof(one), 1);
	fill(two, sizeof(two), 2);
	info = ttl_info(60);
	ck_assert_int_eq(dnscache_put(c, &q, one, sizeof(one), &info, 0), 0);
	info = ttl_info(30);
	ck_assert_int_eq(dnscache_put(c, &q2, two, sizeof(two), &info, 10000),
	    0);
	ck_assert_uint_eq(dnscache_count(c), 1);
	ck_assert_uint_eq(dnscache_bytes(c), cost2);
	e = dnscache_get(c, &q, 10000);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->len, sizeof(two));
	ck_assert_mem_eq(e->msg, two, sizeof(two));
	ck_assert_int_eq(e->stored_ms, 10000);
	ck_assert_int_eq(e->expires_ms, 40000);
	/* the new TTL rules, not the old one */
	assert_miss(c, &q, 40000);
	ck_assert_uint_eq(dnscache_bytes(c), 0);
	dnscache_free(c);
}
END_TEST

/* Three entries fit: the fourth evicts the least recently used. */
START_TEST(evicts_least_recently_used)
{
	const size_t len = 200, cost = entry_cost(len);
	const size_t budget = 3 * cost + cost / 2;
	struct dnscache *c = dnscache_new(budget);
	struct dns_query a = mkq("a.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_query b = mkq("b.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_query d = mkq("d.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_query e = mkq("e.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_query f = mkq("f.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_answer_info info = ttl_info(600);
	uint8_t ma[200], mb[200], md[200], me[200], mf[200];

	ck_assert_ptr_nonnull(c);
	fill(ma, len, 'a');
	fill(mb, len, 'b');
	fill(md, len, 'd');
	fill(me, len, 'e');
	fill(mf, len, 'f');
	ck_assert_int_eq(dnscache_put(c, &a, ma, len, &info, 0), 0);
	ck_assert_int_eq(dnscache_put(c, &b, mb, len, &info, 1), 0);
	ck_assert_int_eq(dnscache_put(c, &d, md, len, &info, 2), 0);
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_uint_eq(dnscache_bytes(c), 3 * cost);

	/* a is used: b is now the least recently used */
	assert_hit(c, &a, 3, ma, len);
	ck_assert_int_eq(dnscache_put(c, &e, me, len, &info, 4), 0);
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_uint_le(dnscache_bytes(c), budget);
	assert_miss(c, &b, 5);
	/* order of use now: d (oldest), a, e; a get of e then d */
	assert_hit(c, &e, 6, me, len);
	assert_hit(c, &d, 7, md, len);
	ck_assert_int_eq(dnscache_put(c, &f, mf, len, &info, 8), 0);
	assert_miss(c, &a, 9);
	assert_hit(c, &e, 10, me, len);
	assert_hit(c, &d, 11, md, len);
	assert_hit(c, &f, 12, mf, len);
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_uint_le(dnscache_bytes(c), budget);
	dnscache_free(c);
}
END_TEST

/* One big answer evicts as many as it needs, oldest first. */
START_TEST(big_entry_evicts_several)
{
	const size_t len = 100, cost = entry_cost(len);
	const size_t overhead = cost - len;
	const size_t budget = 4 * cost;
	struct dnscache *c = dnscache_new(budget);
	struct dns_query qs[4], big = mkq("big.com", DNS_TYPE_TXT,
	    DNS_CLASS_IN, false);
	struct dns_answer_info info = ttl_info(600);
	uint8_t msg[100], *bigmsg;
	size_t i, biglen = 2 * cost - overhead;
	char name[16];

	ck_assert_ptr_nonnull(c);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "n%zu.com", i);
		qs[i] = mkq(name, DNS_TYPE_A, DNS_CLASS_IN, false);
		fill(msg, len, (unsigned)i);
		ck_assert_int_eq(dnscache_put(c, &qs[i], msg, len, &info,
		    (int64_t)i), 0);
	}
	ck_assert_uint_eq(dnscache_count(c), 4);
	ck_assert_uint_eq(dnscache_bytes(c), budget);
	ck_assert_ptr_nonnull(bigmsg = malloc(biglen));
	fill(bigmsg, biglen, 99);
	ck_assert_int_eq(dnscache_put(c, &big, bigmsg, biglen, &info, 10), 0);
	ck_assert_uint_eq(dnscache_count(c), 3);
	ck_assert_uint_eq(dnscache_bytes(c), budget);
	assert_miss(c, &qs[0], 11);
	assert_miss(c, &qs[1], 11);
	fill(msg, len, 2);
	assert_hit(c, &qs[2], 11, msg, len);
	fill(msg, len, 3);
	assert_hit(c, &qs[3], 11, msg, len);
	assert_hit(c, &big, 11, bigmsg, biglen);
	free(bigmsg);
	dnscache_free(c);
}
END_TEST

START_TEST(larger_than_budget_refused)
{
	const size_t len = 100, cost = entry_cost(len);
	const size_t overhead = cost - len;
	const size_t budget = 3 * cost;
	struct dnscache *c = dnscache_new(budget);
	struct dns_query a = mkq("a.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	struct dns_query big = mkq("big.com", DNS_TYPE_TXT, DNS_CLASS_IN,
	    false);
	struct dns_answer_info info = ttl_info(600);
	uint8_t msg[100], *bigmsg;
	size_t fits = budget - overhead;

	ck_assert_ptr_nonnull(c);
	fill(msg, len, 1);
	ck_assert_int_eq(dnscache_put(c, &a, msg, len, &info, 0), 0);
	ck_assert_ptr_nonnull(bigmsg = malloc(fits + 1));
	fill(bigmsg, fits + 1, 5);
	/* one byte over: refused, and what was there stays */
	ck_assert_int_eq(dnscache_put(c, &big, bigmsg, fits + 1, &info, 1), -1);
	assert_miss(c, &big, 2);
	assert_hit(c, &a, 2, msg, len);
	ck_assert_uint_eq(dnscache_count(c), 1);
	/* exactly the budget: stored, alone */
	ck_assert_int_eq(dnscache_put(c, &big, bigmsg, fits, &info, 3), 0);
	ck_assert_uint_eq(dnscache_count(c), 1);
	ck_assert_uint_eq(dnscache_bytes(c), budget);
	assert_hit(c, &big, 4, bigmsg, fits);
	assert_miss(c, &a, 4);
	free(bigmsg);
	dnscache_free(c);
}
END_TEST

/* ---- random operations against a model ---- */

#define MODEL_NAMES 24
#define MODEL_KEYS (MODEL_NAMES * 4)

struct model_entry {
	bool live;
	uint8_t msg[512];
	size_t len;
	int64_t expires_ms;
	uint64_t used;		/* use order: larger is more recent */
};

struct model {
	struct model_entry e[MODEL_KEYS];
	size_t count, bytes, max_bytes, overhead;
	uint64_t clock;
};

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint32_t
rng(void)
{
	/* xorshift64*: fixed seed, the same run every time */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

static void
model_drop(struct model *m, size_t k)
{
	m->e[k].live = false;
	m->count--;
	m->bytes -= m->overhead + m->e[k].len;
}

static const struct model_entry *
model_get(struct model *m, size_t k, int64_t now)
{
	if (!m->e[k].live)
		return NULL;
	if (m->e[k].expires_ms <= now) {
		model_drop(m, k);
		return NULL;
	}
	m->e[k].used = ++m->clock;
	return &m->e[k];
}

static int
model_put(struct model *m, size_t k, const uint8_t *msg, size_t len,
    const struct dns_answer_info *info, int64_t now)
{
	uint32_t ttl = info->min_ttl;
	size_t need = m->overhead + len, i, oldest;

	if (!info->has_ttl || ttl == 0 || need > m->max_bytes)
		return -1;
	if (ttl > DNSCACHE_MAX_TTL)
		ttl = DNSCACHE_MAX_TTL;
	if (m->e[k].live)
		model_drop(m, k);
	while (m->bytes + need > m->max_bytes && m->count > 0) {
		oldest = MODEL_KEYS;
		for (i = 0; i < MODEL_KEYS; i++)
			if (m->e[i].live && (oldest == MODEL_KEYS ||
			    m->e[i].used < m->e[oldest].used))
				oldest = i;
		model_drop(m, oldest);
	}
	m->e[k].live = true;
	memcpy(m->e[k].msg, msg, len);
	m->e[k].len = len;
	m->e[k].expires_ms = now + (int64_t)ttl * 1000;
	m->e[k].used = ++m->clock;
	m->count++;
	m->bytes += need;
	return 0;
}

/* Key k: a name, A or AAAA, DO or not; the name in a random case. */
static struct dns_query
model_query(size_t k)
{
	char name[32];
	size_t i;

	snprintf(name, sizeof(name), "host%zu.example.com", k / 4);
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] >= 'a' && name[i] <= 'z' && rng() % 2)
			name[i] = (char)(name[i] - 'a' + 'A');
	return mkq(name, k % 2 ? DNS_TYPE_AAAA : DNS_TYPE_A, DNS_CLASS_IN,
	    (k / 2) % 2 == 1);
}

START_TEST(random_against_model)
{
	static struct model m;
	struct dnscache *c;
	struct dns_query q;
	struct dns_answer_info info;
	const struct dnscache_entry *got;
	const struct model_entry *want;
	static uint8_t msg[65536];
	int64_t now = 1000;
	size_t op, k, len, i, hits = 0, stored = 0, evicting = 0;
	int rc, mrc;

	memset(&m, 0, sizeof(m));
	m.overhead = entry_cost(100) - 100;
	/* room for about a dozen entries out of 96 keys */
	m.max_bytes = 12 * (m.overhead + 256);
	c = dnscache_new(m.max_bytes);
	ck_assert_ptr_nonnull(c);
	for (op = 0; op < 10000; op++) {
		now += rng() % 300;
		k = rng() % MODEL_KEYS;
		q = model_query(k);
		if (rng() % 2 == 0) {
			len = 12 + rng() % 500;
			if (rng() % 50 == 0)	/* now and then, too big */
				len = m.max_bytes - m.overhead + 1 +
				    rng() % 100;
			ck_assert_uint_le(len, sizeof(msg));
			for (i = 0; i < len; i++)
				msg[i] = (uint8_t)rng();
			info = ttl_info(rng() % 10);
			if (rng() % 20 == 0)
				info.has_ttl = false;
			if (rng() % 40 == 0)
				info.min_ttl = 100000 + rng() % 1000;
			if (m.bytes + m.overhead + len > m.max_bytes)
				evicting++;
			rc = dnscache_put(c, &q, msg, len, &info, now);
			mrc = model_put(&m, k, msg, len, &info, now);
			ck_assert_msg(rc == mrc,
			    "op %zu: put gave %d, model %d", op, rc, mrc);
			stored += rc == 0;
		} else {
			got = dnscache_get(c, &q, now);
			want = model_get(&m, k, now);
			ck_assert_msg((got != NULL) == (want != NULL),
			    "op %zu: get of key %zu: %s, model %s", op, k,
			    got != NULL ? "hit" : "miss",
			    want != NULL ? "hit" : "miss");
			if (got != NULL) {
				hits++;
				ck_assert_uint_eq(got->len, want->len);
				ck_assert_mem_eq(got->msg, want->msg,
				    want->len);
				ck_assert_int_eq(got->expires_ms,
				    want->expires_ms);
			}
		}
		ck_assert_msg(dnscache_count(c) == m.count,
		    "op %zu: count %zu, model %zu", op, dnscache_count(c),
		    m.count);
		ck_assert_msg(dnscache_bytes(c) == m.bytes,
		    "op %zu: bytes %zu, model %zu", op, dnscache_bytes(c),
		    m.bytes);
		ck_assert_uint_le(dnscache_bytes(c), m.max_bytes);
	}
	/* the run exercised hits, stores and evictions */
	ck_assert_uint_gt(hits, 200);
	ck_assert_uint_gt(stored, 1000);
	ck_assert_uint_gt(evicting, 100);
	dnscache_free(c);
}
END_TEST

START_TEST(free_null)
{
	dnscache_free(NULL);
}
END_TEST

static Suite *
dnscache_suite(void)
{
	Suite *s = suite_create("dnscache");
	TCase *tc;

	tc = tcase_create("keys");
	tcase_add_test(tc, put_get_ignores_case);
	tcase_add_test(tc, case_folds_ascii_only);
	tcase_add_test(tc, type_class_do_distinguish);
	tcase_add_test(tc, replace_entry);
	tcase_add_test(tc, free_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("ttl");
	tcase_add_test(tc, ttl_expiry);
	tcase_add_test(tc, not_stored_without_ttl);
	tcase_add_test(tc, ttl_capped);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_test(tc, evicts_least_recently_used);
	tcase_add_test(tc, big_entry_evicts_several);
	tcase_add_test(tc, larger_than_budget_refused);
	tcase_add_test(tc, random_against_model);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dnscache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
