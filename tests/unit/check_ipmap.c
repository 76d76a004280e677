/*
 * check_ipmap — the addresses that allowed DNS answers returned, for
 * requireResolved (SPEC section 2, fnguard extensions): expiry at TTL plus
 * grace, the caps per answer and in total, FIFO eviction, and a randomized
 * comparison with a plain reference model.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/ipmap.h"
#include "fnguard/pattern.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define T0 INT64_C(1795932000000)

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static size_t
rng_below(size_t n)
{
	return (size_t)(rng_next() % n);
}

static struct ipaddr
ip(const char *text)
{
	struct ipaddr a;

	ck_assert_msg(ipaddr_parse(text, strlen(text), &a) == 0, "%s", text);
	return a;
}

/* 10.0.i/256.i%256, or 2001:db8::i when v6. */
static struct ipaddr
nth(unsigned i, bool v6)
{
	struct ipaddr a;

	memset(&a, 0, sizeof(a));
	if (v6) {
		a.family = 6;
		a.bytes[0] = 0x20;
		a.bytes[1] = 0x01;
		a.bytes[2] = 0x0d;
		a.bytes[3] = 0xb8;
		a.bytes[14] = (uint8_t)(i >> 8);
		a.bytes[15] = (uint8_t)i;
	} else {
		a.family = 4;
		a.bytes[0] = 10;
		a.bytes[2] = (uint8_t)(i >> 8);
		a.bytes[3] = (uint8_t)i;
	}
	return a;
}

static bool
known(const struct ipmap *m, const char *text, int64_t now)
{
	struct ipaddr a = ip(text);

	return ipmap_lookup(m, &a, now, NULL);
}

static void
learn1(struct ipmap *m, const char *domain, const char *text, uint32_t ttl,
    int64_t now)
{
	struct ipaddr a = ip(text);

	ipmap_learn(m, domain, &a, 1, ttl, now);
}

/* ---- basics ---- */

START_TEST(test_learn_lookup)
{
	struct ipmap *m = ipmap_new(16, 32, 120);
	struct ipaddr addrs[3] = { ip("192.0.2.10"), ip("2001:db8::11"),
	    ip("::ffff:192.0.2.12") };
	const char *domain = NULL;

	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(ipmap_count(m), 0);
	ck_assert(!known(m, "192.0.2.10", T0));
	ipmap_learn(m, "s3.amazonaws.com", addrs, 3, 60, T0);
	ck_assert_uint_eq(ipmap_count(m), 3);
	ck_assert(ipmap_lookup(m, &addrs[0], T0, &domain));
	ck_assert_ptr_nonnull(domain);
	ck_assert_str_eq(domain, "s3.amazonaws.com");
	domain = NULL;
	ck_assert(ipmap_lookup(m, &addrs[1], T0 + 1000, &domain));
	ck_assert_str_eq(domain, "s3.amazonaws.com");
	ck_assert(known(m, "192.0.2.12", T0));
	ck_assert(known(m, "::ffff:192.0.2.12", T0));
	ck_assert(!known(m, "192.0.2.11", T0));
	ck_assert(!known(m, "2001:db8::10", T0));
	/* A miss leaves *domain alone. */
	domain = "unchanged";
	ck_assert(!ipmap_lookup(m, &(struct ipaddr){ .family = 4,
	    .bytes = { 192, 0, 2, 99 } }, T0, &domain));
	ck_assert_str_eq(domain, "unchanged");
	ipmap_free(m);
	ipmap_free(NULL);
}
END_TEST

START_TEST(test_expiry)
{
	struct ipmap *m = ipmap_new(16, 32, 120);
	/* Valid until now + (ttl + grace) seconds. */
	int64_t expiry = T0 + (60 + 120) * 1000;

	learn1(m, "api.example.com", "192.0.2.1", 60, T0);
	ck_assert(known(m, "192.0.2.1", T0));
	ck_assert(known(m, "192.0.2.1", T0 + 60 * 1000 + 1));	/* in grace */
	ck_assert(known(m, "192.0.2.1", expiry - 1));
	ck_assert(!known(m, "192.0.2.1", expiry + 1));
	ck_assert(!known(m, "192.0.2.1", expiry + 86400000));
	ipmap_free(m);

	/* No grace: the TTL alone. */
	m = ipmap_new(16, 32, 0);
	learn1(m, "api.example.com", "2001:db8::1", 30, T0);
	ck_assert(known(m, "2001:db8::1", T0 + 30000 - 1));
	ck_assert(!known(m, "2001:db8::1", T0 + 30000 + 1));
	ipmap_free(m);

	/* TTL 0: the grace alone. */
	m = ipmap_new(16, 32, 120);
	learn1(m, "api.example.com", "192.0.2.1", 0, T0);
	ck_assert(known(m, "192.0.2.1", T0 + 120000 - 1));
	ck_assert(!known(m, "192.0.2.1", T0 + 120000 + 1));
	ipmap_free(m);

	/* The largest TTL (RFC 2181 8: 2^31 - 1 s) does not wrap. */
	m = ipmap_new(16, 32, 120);
	learn1(m, "api.example.com", "192.0.2.1", 2147483647u, T0);
	ck_assert(known(m, "192.0.2.1", T0 + INT64_C(2147483647) * 1000));
	ipmap_free(m);
}
END_TEST

START_TEST(test_relearn_extends)
{
	struct ipmap *m = ipmap_new(16, 32, 120);
	int64_t t1 = T0 + 100000;
	const char *domain = NULL;

	learn1(m, "api.example.com", "192.0.2.1", 60, T0);
	learn1(m, "api.example.com", "192.0.2.1", 60, t1);
	ck_assert_uint_eq(ipmap_count(m), 1);
	ck_assert(known(m, "192.0.2.1", T0 + 180000 + 1));
	ck_assert(known(m, "192.0.2.1", t1 + 180000 - 1));
	ck_assert(!known(m, "192.0.2.1", t1 + 180000 + 1));

	/* Learned again for another name: that name is returned. */
	learn1(m, "cdn.example.net", "192.0.2.1", 60, t1 + 1000);
	ck_assert_uint_eq(ipmap_count(m), 1);
	ck_assert(ipmap_lookup(m, &(struct ipaddr){ .family = 4,
	    .bytes = { 192, 0, 2, 1 } }, t1 + 1000, &domain));
	ck_assert_str_eq(domain, "cdn.example.net");
	ipmap_free(m);
}
END_TEST

/* A shorter answer for the same name does not cut the first one short. */
START_TEST(test_relearn_shorter_same_name)
{
	struct ipmap *m = ipmap_new(16, 32, 120);

	learn1(m, "api.example.com", "192.0.2.1", 300, T0);
	learn1(m, "api.example.com", "192.0.2.1", 10, T0 + 1000);
	ck_assert(known(m, "192.0.2.1", T0 + (300 + 120) * 1000 - 1));
	ipmap_free(m);
}
END_TEST

/*
 * One address in two names' answers (shared CDN and load-balancer
 * addresses): a later, shorter answer for the second name must not revoke
 * the address while the first name's answer is still valid (SPEC: learned
 * IPs expire with the answer's TTL plus a grace).
 */
START_TEST(test_relearn_shorter_other_name)
{
	struct ipmap *m = ipmap_new(16, 32, 120);
	int64_t a_expiry = T0 + (300 + 120) * 1000;
	int64_t b_expiry = T0 + 1000 + (10 + 120) * 1000;

	learn1(m, "a.example.com", "192.0.2.1", 300, T0);
	learn1(m, "b.example.com", "192.0.2.1", 10, T0 + 1000);
	ck_assert(known(m, "192.0.2.1", b_expiry - 1));
	ck_assert_msg(known(m, "192.0.2.1", b_expiry + 1),
	    "a.example.com's answer (valid until +%lld ms) was cut short by "
	    "b.example.com's (until +%lld ms)", (long long)(a_expiry - T0),
	    (long long)(b_expiry - T0));
	ck_assert(known(m, "192.0.2.1", a_expiry - 1));
	ck_assert(!known(m, "192.0.2.1", a_expiry + 1));
	ipmap_free(m);
}
END_TEST

START_TEST(test_families_distinct)
{
	struct ipmap *m = ipmap_new(16, 32, 120);

	learn1(m, "v4.example.com", "1.2.3.4", 60, T0);
	ck_assert(known(m, "1.2.3.4", T0));
	ck_assert(known(m, "::ffff:1.2.3.4", T0));	/* the same address */
	ck_assert(!known(m, "::102:304", T0));		/* same bytes, v6 */
	ck_assert(!known(m, "102:304::", T0));
	learn1(m, "v6.example.com", "2001:db8::1", 60, T0);
	ck_assert(known(m, "2001:db8::1", T0));
	ck_assert(!known(m, "32.1.13.184", T0));	/* 2001:0db8 as v4 */
	ck_assert_uint_eq(ipmap_count(m), 2);
	ipmap_free(m);
}
END_TEST

START_TEST(test_family_zero_ignored)
{
	struct ipmap *m = ipmap_new(16, 32, 120);
	struct ipaddr addrs[3] = { ip("192.0.2.1"), { 0 }, ip("192.0.2.2") };
	struct ipaddr none;

	ipmap_learn(m, "api.example.com", addrs, 3, 60, T0);
	ck_assert_uint_eq(ipmap_count(m), 2);
	ck_assert(known(m, "192.0.2.1", T0));
	ck_assert(known(m, "192.0.2.2", T0));
	memset(&none, 0, sizeof(none));
	ck_assert(!ipmap_lookup(m, &none, T0, NULL));
	/* The all-zero IPv4 address is an address, not "none". */
	ck_assert(!known(m, "0.0.0.0", T0));
	ipmap_free(m);
}
END_TEST

/* ---- caps ---- */

START_TEST(test_per_name_cap)
{
	struct ipmap *m = ipmap_new(1000, 32, 120);
	struct ipaddr addrs[100];
	unsigned i;

	for (i = 0; i < 100; i++)
		addrs[i] = nth(i, false);
	ipmap_learn(m, "many.example.com", addrs, 100, 60, T0);
	ck_assert_uint_eq(ipmap_count(m), 32);
	/* The first 32 of the answer are kept. */
	for (i = 0; i < 100; i++)
		ck_assert_msg(ipmap_lookup(m, &addrs[i], T0, NULL) == (i < 32),
		    "address %u", i);

	/* The cap is per answer: another name gets its own 32. */
	for (i = 0; i < 100; i++)
		addrs[i] = nth(i, true);
	ipmap_learn(m, "more.example.com", addrs, 100, 60, T0);
	ck_assert_uint_eq(ipmap_count(m), 64);
	ipmap_free(m);
}
END_TEST

START_TEST(test_total_cap_fifo)
{
	struct ipmap *m = ipmap_new(4, 32, 120);
	static const char *const a[] = { "192.0.2.1", "192.0.2.2",
	    "2001:db8::3", "192.0.2.4", "192.0.2.5", "2001:db8::6" };
	const char *domain = NULL;
	size_t i;

	for (i = 0; i < 4; i++)
		learn1(m, a[i], a[i], 60, T0 + (int64_t)i);
	ck_assert_uint_eq(ipmap_count(m), 4);
	for (i = 0; i < 4; i++)
		ck_assert(known(m, a[i], T0 + 10));

	/* A fifth evicts the first, and only it. */
	learn1(m, a[4], a[4], 60, T0 + 4);
	ck_assert_uint_eq(ipmap_count(m), 4);
	ck_assert(!known(m, a[0], T0 + 10));
	for (i = 1; i < 5; i++) {
		struct ipaddr x = ip(a[i]);

		ck_assert_msg(ipmap_lookup(m, &x, T0 + 10, &domain), "%s",
		    a[i]);
		ck_assert_str_eq(domain, a[i]);
	}
	/* A sixth evicts the second. */
	learn1(m, a[5], a[5], 60, T0 + 5);
	ck_assert_uint_eq(ipmap_count(m), 4);
	ck_assert(!known(m, a[1], T0 + 10));
	for (i = 2; i < 6; i++)
		ck_assert_msg(known(m, a[i], T0 + 10), "%s", a[i]);
	/* The first, learned again, comes back (evicting the third). */
	learn1(m, a[0], a[0], 60, T0 + 6);
	ck_assert(known(m, a[0], T0 + 10));
	ck_assert(!known(m, a[2], T0 + 10));
	ck_assert_uint_eq(ipmap_count(m), 4);
	ipmap_free(m);
}
END_TEST

START_TEST(test_cap_one)
{
	struct ipmap *m = ipmap_new(1, 32, 120);
	unsigned i;

	for (i = 0; i < 50; i++) {
		struct ipaddr a = nth(i, i % 2 == 1), prev;

		ipmap_learn(m, "x.example.com", &a, 1, 60, T0);
		ck_assert_uint_eq(ipmap_count(m), 1);
		ck_assert(ipmap_lookup(m, &a, T0, NULL));
		if (i > 0) {
			prev = nth(i - 1, i % 2 == 0);
			ck_assert(!ipmap_lookup(m, &prev, T0, NULL));
		}
	}
	ipmap_free(m);
}
END_TEST

/* ---- randomized comparison with a reference model ---- */

struct ref_entry {
	struct ipaddr addr;
	int64_t expires;
	char domain[16];
	bool either;		/* learned for two names in the same ms:
				   which name is returned is not pinned */
	uint64_t seq;		/* order of first learning */
};

struct ref_model {
	struct ref_entry *e;
	size_t n, max, per_name;
	uint32_t grace;
	uint64_t seq;
	size_t evictions;
};

static struct ref_entry *
ref_find(struct ref_model *r, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (ipaddr_equal(&r->e[i].addr, a))
			return &r->e[i];
	return NULL;
}

static void
ref_learn(struct ref_model *r, const char *domain, const struct ipaddr *a,
    size_t n, uint32_t ttl, int64_t now)
{
	int64_t expires = now + ((int64_t)ttl + r->grace) * 1000;
	size_t i, k, oldest;
	struct ref_entry *e;

	if (n > r->per_name)
		n = r->per_name;
	for (i = 0; i < n; i++) {
		if (a[i].family == 0)
			continue;
		if ((e = ref_find(r, &a[i])) != NULL) {
			if (expires > e->expires) {
				e->expires = expires;
				e->either = false;
			} else if (strcmp(e->domain, domain) != 0)
				e->either = true;
			snprintf(e->domain, sizeof(e->domain), "%s", domain);
			continue;
		}
		if (r->n == r->max) {
			for (k = 1, oldest = 0; k < r->n; k++)
				if (r->e[k].seq < r->e[oldest].seq)
					oldest = k;
			r->e[oldest] = r->e[--r->n];
			r->evictions++;
		}
		e = &r->e[r->n++];
		e->addr = a[i];
		e->expires = expires;
		e->seq = r->seq++;
		e->either = false;
		snprintf(e->domain, sizeof(e->domain), "%s", domain);
	}
}

static bool
in_pool(const struct ipaddr *pool, size_t n, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ipaddr_equal(&pool[i], a))
			return true;
	return false;
}

static void
random_run(size_t max, size_t per_name, size_t pool_size, size_t ops,
    size_t step, uint64_t seed)
{
	enum { TTL = 5, GRACE = 2 };
	struct ipmap *m = ipmap_new(max, per_name, GRACE);
	struct ref_model r = { NULL, 0, max, per_name, GRACE, 0, 0 };
	struct ipaddr *pool = calloc(pool_size, sizeof(*pool));
	struct ipaddr batch[40];
	int64_t now = T0;
	size_t op, i, hits = 0, misses = 0, expired = 0;

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(pool);
	ck_assert_ptr_nonnull(r.e = calloc(max, sizeof(*r.e)));
	rng_state = seed;
	for (i = 0; i < pool_size; i++) {
		unsigned v = (unsigned)rng_next();

		pool[i] = nth(v & 0xffff, i % 2 == 1);
		/* Keep the pool free of duplicates. */
		while (in_pool(pool, i, &pool[i]))
			pool[i] = nth((unsigned)rng_next() & 0xffff,
			    i % 2 == 1);
	}
	for (op = 0; op < ops; op++) {
		/* Mostly small steps, now and then a long pause. */
		now += rng_below(100) == 0 ? (int64_t)rng_below(10000) :
		    (int64_t)rng_below(step);
		if (rng_below(3) == 0) {
			char domain[16];
			size_t n = 1 + rng_below(per_name + 3);

			if (n > NELEM(batch))
				n = NELEM(batch);
			for (i = 0; i < n; i++)
				batch[i] = pool[rng_below(pool_size)];
			snprintf(domain, sizeof(domain), "d%zu.test",
			    rng_below(50));
			ipmap_learn(m, domain, batch, n, TTL, now);
			ref_learn(&r, domain, batch, n, TTL, now);
			/* Plain tests: a passing ck_assert writes to
			 * Check's pipe, too slow in a loop this long. */
			if (ipmap_count(m) != r.n)
				ck_abort_msg("op %zu: count %zu, model %zu", op,
				    ipmap_count(m), r.n);
		} else {
			const struct ipaddr *a = &pool[rng_below(pool_size)];
			const struct ref_entry *e = ref_find(&r, a);
			const char *domain = NULL;
			bool got = ipmap_lookup(m, a, now, &domain);
			bool want = e != NULL && e->expires > now;
			char buf[64];

			/* The very millisecond of expiry is not pinned. */
			if (e != NULL && e->expires == now)
				continue;
			if (got != want)
				ck_abort_msg("op %zu: lookup %s is %d, "
				    "model %d", op, ipaddr_format(a, buf,
				    sizeof(buf)), got, want);
			if (want && (domain == NULL || (!e->either &&
			    strcmp(domain, e->domain) != 0)))
				ck_abort_msg("op %zu: domain \"%s\", model "
				    "\"%s\"", op, domain ? domain : "(null)",
				    e->domain);
			if (want)
				hits++;
			else if (e != NULL)
				expired++;
			else
				misses++;
		}
	}
	/* The run saw hits, misses, expiries and (when the pool is larger
	 * than the map) evictions. */
	ck_assert_msg(hits > ops / 20, "%zu hits", hits);
	ck_assert_msg(misses + expired > ops / 20, "%zu misses", misses);
	ck_assert_msg(expired > 0, "no expiries");
	ck_assert_msg(pool_size <= max || r.evictions > ops / 20,
	    "%zu evictions", r.evictions);
	free(r.e);
	free(pool);
	ipmap_free(m);
}

START_TEST(test_random_small)
{
	/* 8 entries, an index of 16 slots, 60 addresses: collisions and
	 * backward-shift deletions on almost every learn. */
	random_run(8, 4, 60, 40000, 20, 1);
}
END_TEST

START_TEST(test_random_medium)
{
	random_run(100, 32, 400, 40000, 20, 2);
}
END_TEST

START_TEST(test_random_tiny_pool)
{
	/* Fewer addresses than room: no eviction, only re-learning. */
	random_run(64, 2, 20, 20000, 400, 3);
}
END_TEST

START_TEST(test_random_odd_sizes)
{
	random_run(3, 2, 9, 20000, 20, 4);
	random_run(17, 5, 50, 20000, 100, 5);
}
END_TEST

static Suite *
ipmap_suite(void)
{
	Suite *s = suite_create("ipmap");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_add_test(tc, test_learn_lookup);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_relearn_extends);
	tcase_add_test(tc, test_relearn_shorter_same_name);
	tcase_add_test(tc, test_relearn_shorter_other_name);
	tcase_add_test(tc, test_families_distinct);
	tcase_add_test(tc, test_family_zero_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("caps");
	tcase_add_test(tc, test_per_name_cap);
	tcase_add_test(tc, test_total_cap_fifo);
	tcase_add_test(tc, test_cap_one);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_add_test(tc, test_random_small);
	tcase_add_test(tc, test_random_medium);
	tcase_add_test(tc, test_random_tiny_pool);
	tcase_add_test(tc, test_random_odd_sizes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ipmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
