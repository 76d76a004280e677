/*
 * check_pattern — the pattern semantics of SPEC section 2, through the
 * reference pattern_match() and through struct patternset (which must give
 * the same answers), plus IP addresses, CIDR sets and port sets.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/pattern.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: a fixed seed gives the same sequence everywhere. */
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

static bool
set_match(const struct patternset *set, const char *s)
{
	return patternset_match(set, s, strlen(s));
}

static struct patternset *
set_of(bool fold, const char *const *patterns, size_t n)
{
	struct patternset *set = patternset_new(fold);
	size_t i;

	ck_assert_ptr_nonnull(set);
	for (i = 0; i < n; i++)
		ck_assert_msg(patternset_add(set, patterns[i],
		    strlen(patterns[i])) == 0, "add \"%s\"", patterns[i]);
	return set;
}

/* ---- one pattern, one subject ---- */

static const struct match_case {
	const char *pattern;
	const char *subject;
	bool fold;
	bool want;
} match_cases[] = {
	/* "*x": ends with x, so also evilamazon.com (SPEC section 2). */
	{ "*amazon.com", "amazon.com", true, true },
	{ "*amazon.com", "s3.amazon.com", true, true },
	{ "*amazon.com", "evilamazon.com", true, true },
	{ "*amazon.com", "amazon.co", true, false },
	{ "*amazon.com", "amazon.com.evil.net", true, false },
	{ "*amazon.com", "", true, false },
	{ "*amazon.com", "S3.AMAZON.COM", true, true },
	{ "*amazon.com", "S3.AMAZON.COM", false, false },
	{ "*.amazon.com", "s3.amazon.com", true, true },
	{ "*.amazon.com", "a.b.amazon.com", true, true },
	{ "*.amazon.com", ".amazon.com", true, true },
	{ "*.amazon.com", "amazon.com", true, false },
	{ "*.amazon.com", "evilamazon.com", true, false },
	{ "*.amazon.com", "S3.Amazon.Com", true, true },
	/* "x*": starts with x. */
	{ "amazon*", "amazon", true, true },
	{ "amazon*", "amazon.com", true, true },
	{ "amazon*", "amazonaws.com", true, true },
	{ "amazon*", "Amazon.com", true, true },
	{ "amazon*", "Amazon.com", false, false },
	{ "amazon*", "amazo", true, false },
	{ "amazon*", "xamazon", true, false },
	/* "*x*": contains x. */
	{ "*amazon*", "amazon", true, true },
	{ "*amazon*", "www.amazon.com", true, true },
	{ "*amazon*", "xamazonx", true, true },
	{ "*amazon*", "WWW.AMAZON.COM", true, true },
	{ "*amazon*", "WWW.AMAZON.COM", false, false },
	{ "*amazon*", "amazo", true, false },
	{ "*amazon*", "amaz0n.com", true, false },
	/* No star: exact. */
	{ "api.example.com", "api.example.com", true, true },
	{ "api.example.com", "API.Example.COM", true, true },
	{ "api.example.com", "API.Example.COM", false, false },
	{ "api.example.com", "api.example.com.", true, false },
	{ "api.example.com", "api.example.co", true, false },
	{ "api.example.com", "xapi.example.com", true, false },
	{ "api.example.com", "", true, false },
	/* "*" alone: anything, even nothing. */
	{ "*", "", true, true },
	{ "*", "anything.example.com", true, true },
	{ "*", "/etc/passwd", false, true },
	{ "**", "", true, true },
	{ "**", "x", false, true },
	/* One-character bodies. */
	{ "*a", "a", true, true },
	{ "*a", "", true, false },
	{ "a*", "a", false, true },
	{ "*a*", "bab", false, true },
	{ "*a*", "bbb", false, false },
	/* Paths: case-sensitive when fold_case is false. */
	{ "/etc/*", "/etc/passwd", false, true },
	{ "/etc/*", "/etc/", false, true },
	{ "/etc/*", "/ETC/passwd", false, false },
	{ "/etc/*", "/etc", false, false },
	{ "/etc/*", "/etcx/passwd", false, false },
	{ "/etc/*", "/ETC/passwd", true, true },
	{ "*.so", "/lib/libc.so", false, true },
	{ "*.so", "/lib/LIBC.SO", false, false },
	{ "*/.ssh/*", "/root/.ssh/id_rsa", false, true },
	{ "*/.ssh/*", "/root/.SSH/id_rsa", false, false },
	{ "/usr/bin/curl", "/usr/bin/curl", false, true },
	{ "/usr/bin/curl", "/usr/bin/Curl", false, false },
	/* A star anywhere but the ends is an ordinary character. */
	{ "a*b", "a*b", true, true },
	{ "a*b", "A*B", true, true },
	{ "a*b", "axb", true, false },
	{ "a*b", "ab", true, false },
	{ "*a*b", "xxa*b", true, true },
	{ "*a*b", "xxaxb", true, false },
	{ "a*b*", "a*bcd", true, true },
	{ "a*b*", "axbcd", true, false },
	{ "*a*b*", "xa*bx", true, true },
	{ "*a*b*", "xaxbx", true, false },
	/* Case folding is ASCII only. */
	{ "caf\xc3\xa9", "CAF\xc3\xa9", true, true },
	{ "caf\xc3\xa9", "caf\xc3\x89", true, false },
};

START_TEST(test_match_reference)
{
	const struct match_case *c = &match_cases[_i];

	ck_assert_msg(pattern_match(c->pattern, strlen(c->pattern),
	    c->subject, strlen(c->subject), c->fold) == c->want,
	    "pattern_match(\"%s\", \"%s\", fold %d) should be %d", c->pattern,
	    c->subject, c->fold, c->want);
}
END_TEST

START_TEST(test_match_set)
{
	const struct match_case *c = &match_cases[_i];
	const char *one[1] = { c->pattern };
	struct patternset *set = set_of(c->fold, one, 1);
	size_t len = strlen(c->subject);

	ck_assert_msg(patternset_match(set, c->subject, len) == c->want,
	    "set {\"%s\"} fold %d, \"%s\": should be %d", c->pattern, c->fold,
	    c->subject, c->want);
	ck_assert(patternset_match_include(set, c->subject, len) == c->want);
	ck_assert(!patternset_match_exempt(set, c->subject, len));
	ck_assert(patternset_has_include(set));
	patternset_free(set);
}
END_TEST

/* The same pattern as an exemption under "*": the list matches what the
 * exemption does not. */
START_TEST(test_match_set_exempt)
{
	const struct match_case *c = &match_cases[_i];
	char exempt[64];
	const char *two[2] = { "*", exempt };
	struct patternset *set;
	size_t len = strlen(c->subject);

	snprintf(exempt, sizeof(exempt), "-%s", c->pattern);
	set = set_of(c->fold, two, 2);
	ck_assert_msg(patternset_match_exempt(set, c->subject, len) == c->want,
	    "exemption \"%s\" fold %d, \"%s\": should be %d", exempt, c->fold,
	    c->subject, c->want);
	ck_assert_msg(patternset_match(set, c->subject, len) == !c->want,
	    "set {\"*\", \"%s\"} fold %d, \"%s\": should be %d", exempt,
	    c->fold, c->subject, !c->want);
	ck_assert(patternset_match_include(set, c->subject, len));
	patternset_free(set);

	/* Only the exemption: the list matches nothing. */
	set = set_of(c->fold, &two[1], 1);
	ck_assert(!patternset_has_include(set));
	ck_assert(!patternset_match(set, c->subject, len));
	ck_assert(!patternset_match_include(set, c->subject, len));
	ck_assert(patternset_match_exempt(set, c->subject, len) == c->want);
	patternset_free(set);
}
END_TEST

/* ---- sets ---- */

START_TEST(test_exemption_in_list)
{
	static const char *const forward[] = { "*.amazon.com",
	    "-s3.amazon.com" };
	static const char *const backward[] = { "-s3.amazon.com",
	    "*.amazon.com" };
	const char *const *orders[2] = { forward, backward };
	size_t k;

	for (k = 0; k < 2; k++) {
		struct patternset *set = set_of(true, orders[k], 2);

		ck_assert(!set_match(set, "s3.amazon.com"));
		ck_assert(!set_match(set, "S3.Amazon.COM"));
		ck_assert(set_match(set, "www.amazon.com"));
		ck_assert(set_match(set, "s3.s3.amazon.com"));
		ck_assert(!set_match(set, "amazon.com"));
		ck_assert(!set_match(set, "example.org"));
		ck_assert(patternset_match_exempt(set, "s3.amazon.com", 13));
		ck_assert(patternset_match_include(set, "s3.amazon.com", 13));
		ck_assert(!patternset_match_exempt(set, "www.amazon.com", 14));
		ck_assert(patternset_has_include(set));
		patternset_free(set);
	}
}
END_TEST

START_TEST(test_only_exemptions)
{
	static const char *const pats[] = { "-s3.amazon.com", "-*.internal" };
	struct patternset *set = set_of(true, pats, 2);

	ck_assert(!patternset_has_include(set));
	ck_assert(!set_match(set, "s3.amazon.com"));
	ck_assert(!set_match(set, "www.amazon.com"));
	ck_assert(!set_match(set, "db.internal"));
	ck_assert(patternset_match_exempt(set, "s3.amazon.com", 13));
	ck_assert(patternset_match_exempt(set, "DB.Internal", 11));
	ck_assert(!patternset_match_exempt(set, "www.amazon.com", 14));
	patternset_free(set);
}
END_TEST

START_TEST(test_has_include)
{
	static const struct {
		const char *pats[2];
		size_t n;
		bool want;
	} cases[] = {
		{ { NULL }, 0, false },
		{ { "-x" }, 1, false },
		{ { "-*" }, 1, false },
		{ { "-*", "-a*" }, 2, false },
		{ { "x" }, 1, true },
		{ { "*" }, 1, true },
		{ { "-x", "*.x" }, 2, true },
	};
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		struct patternset *set = set_of(true, cases[i].pats,
		    cases[i].n);

		ck_assert_msg(patternset_has_include(set) == cases[i].want,
		    "case %zu", i);
		patternset_free(set);
	}
}
END_TEST

START_TEST(test_empty_set)
{
	struct patternset *set = patternset_new(true);

	ck_assert_uint_eq(patternset_count(set), 0);
	ck_assert(!set_match(set, ""));
	ck_assert(!set_match(set, "example.com"));
	ck_assert(!patternset_match_include(set, "example.com", 11));
	ck_assert(!patternset_match_exempt(set, "example.com", 11));
	ck_assert_ptr_null(patternset_item(set, 0));
	patternset_free(set);
	patternset_free(NULL);
}
END_TEST

START_TEST(test_exempt_everything)
{
	static const char *const pats[] = { "*.amazon.com", "-*" };
	struct patternset *set = set_of(true, pats, 2);

	ck_assert(!set_match(set, "s3.amazon.com"));
	ck_assert(patternset_match_exempt(set, "", 0));
	patternset_free(set);
}
END_TEST

START_TEST(test_items_kept)
{
	static const char *const pats[] = { "*.amazon.com", "-s3.amazon.com",
	    "a*b", "*", "/etc/*" };
	struct patternset *set = set_of(false, pats, NELEM(pats));
	size_t i;

	ck_assert_uint_eq(patternset_count(set), NELEM(pats));
	for (i = 0; i < NELEM(pats); i++)
		ck_assert_str_eq(patternset_item(set, i), pats[i]);
	ck_assert_ptr_null(patternset_item(set, NELEM(pats)));
	patternset_free(set);
}
END_TEST

START_TEST(test_mixed_set)
{
	static const char *const pats[] = { "api.example.com", "*.amazon.com",
	    "/tmp/*", "*secret*", "*.so", "-*.dev.amazon.com",
	    "-/tmp/keep*" };
	struct patternset *set = set_of(false, pats, NELEM(pats));
	static const struct {
		const char *s;
		bool want;
	} probes[] = {
		{ "api.example.com", true },
		{ "API.example.com", false },	/* fold_case false */
		{ "s3.amazon.com", true },
		{ "x.dev.amazon.com", false },	/* exempt */
		{ "dev.amazon.com", true },	/* exemption needs the dot */
		{ "/tmp/a", true },
		{ "/tmp/keepme", false },
		{ "/var/secret/key", true },
		{ "/var/SECRET/key", false },
		{ "/lib/x.so", true },
		{ "/lib/x.so.1", false },
		{ "example.com", false },
	};
	size_t i;

	for (i = 0; i < NELEM(probes); i++)
		ck_assert_msg(set_match(set, probes[i].s) == probes[i].want,
		    "\"%s\" should be %d", probes[i].s, probes[i].want);
	patternset_free(set);
}
END_TEST

/* ---- lint and limits ---- */

static const struct lint_case {
	const char *pattern;
	const char *want;	/* NULL: fine */
} lint_cases[] = {
	{ "", "empty pattern" },
	{ "-", "empty pattern" },
	{ "a*b", "'*' inside a pattern is taken literally; "
	  "only a leading or trailing '*' is a wildcard" },
	{ "*a*b*", "'*' inside a pattern is taken literally; "
	  "only a leading or trailing '*' is a wildcard" },
	{ "-x*y", "'*' inside a pattern is taken literally; "
	  "only a leading or trailing '*' is a wildcard" },
	{ "**", "\"**\" matches everything; write \"*\"" },
	{ "*", NULL },
	{ "*.amazon.com", NULL },
	{ "amazon.com", NULL },
	{ "amazon*", NULL },
	{ "*amazon*", NULL },
	{ "-s3.amazon.com", NULL },
	{ "/etc/*", NULL },
};

START_TEST(test_lint)
{
	const struct lint_case *c = &lint_cases[_i];
	const char *got = pattern_lint(c->pattern, strlen(c->pattern));

	if (c->want == NULL)
		ck_assert_msg(got == NULL, "lint \"%s\": \"%s\", want none",
		    c->pattern, got);
	else {
		ck_assert_msg(got != NULL, "lint \"%s\": none, want \"%s\"",
		    c->pattern, c->want);
		ck_assert_str_eq(got, c->want);
	}
}
END_TEST

START_TEST(test_lint_too_long)
{
	size_t n = PATTERN_MAX_LEN + 1;
	char *p = malloc(n);
	const char *why;

	ck_assert_ptr_nonnull(p);
	memset(p, 'a', n);
	why = pattern_lint(p, n);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "pattern too long");
	ck_assert_ptr_null(pattern_lint(p, PATTERN_MAX_LEN));
	free(p);
}
END_TEST

START_TEST(test_add_limits)
{
	struct patternset *set = patternset_new(true);
	size_t n = PATTERN_MAX_LEN + 2;
	char *p = malloc(n + 1);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(patternset_add(set, "", 0), -1);
	ck_assert_int_eq(patternset_add(set, "-", 1), -1);
	memset(p, 'a', n);
	p[n] = '\0';
	/* PATTERN_MAX_LEN + 1 bytes: refused, as an exemption body too. */
	ck_assert_int_eq(patternset_add(set, p, PATTERN_MAX_LEN + 1), -1);
	p[0] = '-';
	ck_assert_int_eq(patternset_add(set, p, PATTERN_MAX_LEN + 2), -1);
	ck_assert_uint_eq(patternset_count(set), 0);
	ck_assert(!patternset_has_include(set));

	/* Exactly PATTERN_MAX_LEN: accepted, and it matches. */
	p[0] = 'b';
	ck_assert_int_eq(patternset_add(set, p, PATTERN_MAX_LEN), 0);
	p[0] = '-';
	p[1] = 'c';
	ck_assert_int_eq(patternset_add(set, p, PATTERN_MAX_LEN + 1), 0);
	ck_assert_uint_eq(patternset_count(set), 2);
	ck_assert_uint_eq(strlen(patternset_item(set, 0)), PATTERN_MAX_LEN);
	ck_assert_uint_eq(strlen(patternset_item(set, 1)),
	    PATTERN_MAX_LEN + 1);
	p[0] = 'b';
	p[1] = 'a';
	ck_assert(patternset_match(set, p, PATTERN_MAX_LEN));
	p[0] = 'c';
	ck_assert(patternset_match_exempt(set, p, PATTERN_MAX_LEN));
	ck_assert(!patternset_match(set, p, PATTERN_MAX_LEN));
	p[0] = 'B';
	ck_assert(patternset_match(set, p, PATTERN_MAX_LEN));
	ck_assert(!patternset_match(set, p, PATTERN_MAX_LEN - 1));
	free(p);
	patternset_free(set);
}
END_TEST

/* Subjects longer than PATTERN_MAX_LEN, and prefix and suffix bodies
 * longer than a short-pattern table would hold. */
START_TEST(test_long_subjects_and_bodies)
{
	enum { SUBJ = PATTERN_MAX_LEN + 1000, BODY = 300 };
	struct patternset *set = patternset_new(true);
	char *s = malloc(SUBJ + 1), pre[BODY + 2], suf[BODY + 2];
	size_t i;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(patternset_add(set, "*.amazon.com", 12), 0);
	for (i = 0; i < BODY; i++) {
		pre[i] = (char)('a' + i % 26);
		suf[i + 1] = (char)('a' + (i * 7) % 26);
	}
	pre[BODY] = '*';
	suf[0] = '*';
	ck_assert_int_eq(patternset_add(set, pre, BODY + 1), 0);
	ck_assert_int_eq(patternset_add(set, suf, BODY + 1), 0);

	memset(s, 'X', SUBJ);
	memcpy(s + SUBJ - 11, ".AMAZON.COM", 11);
	ck_assert(patternset_match(set, s, SUBJ));
	ck_assert(pattern_match("*.amazon.com", 12, s, SUBJ, true));
	s[SUBJ - 11] = 'x';
	ck_assert(!patternset_match(set, s, SUBJ));
	ck_assert(!pattern_match("*.amazon.com", 12, s, SUBJ, true));

	/* The long prefix, upper-cased, at the start of a long subject. */
	memset(s, 'Q', SUBJ);
	for (i = 0; i < BODY; i++)
		s[i] = (char)(pre[i] - 'a' + 'A');
	ck_assert(patternset_match(set, s, SUBJ));
	ck_assert(patternset_match(set, s, BODY));
	ck_assert(!patternset_match(set, s, BODY - 1));
	s[BODY - 1] = 'q';
	ck_assert(!patternset_match(set, s, SUBJ));

	/* The long suffix at the end. */
	memset(s, 'Q', SUBJ);
	memcpy(s + SUBJ - BODY, suf + 1, BODY);
	ck_assert(patternset_match(set, s, SUBJ));
	ck_assert(patternset_match(set, s + SUBJ - BODY, BODY));
	ck_assert(!patternset_match(set, s + SUBJ - BODY + 1, BODY - 1));
	s[SUBJ - BODY] = 'Q';
	ck_assert(!patternset_match(set, s, SUBJ));
	free(s);
	patternset_free(set);
}
END_TEST

/* ---- randomized cross-check against the reference ---- */

/* A random pattern of one of the four kinds, sometimes an exemption. */
static size_t
random_pattern(char *buf, const char *alphabet, size_t minlen,
    size_t maxlen, bool allow_exempt)
{
	size_t n = 0, blen = minlen + rng_below(maxlen - minlen + 1), i;
	size_t kind = rng_below(4), na = strlen(alphabet);

	if (allow_exempt && rng_below(6) == 0)
		buf[n++] = '-';
	if (kind == 1 || kind == 3)
		buf[n++] = '*';
	for (i = 0; i < blen; i++)
		buf[n++] = alphabet[rng_below(na)];
	if (kind == 2 || kind == 3)
		buf[n++] = '*';
	buf[n] = '\0';
	return n;
}

START_TEST(test_random_cross_check)
{
	enum { ROUNDS = 24, SUBJECTS = 2500, MAXPATS = 400 };
	static const char *const alphabets[] = { "ab.", "aAb." };
	static char pats[MAXPATS][16];
	size_t round, yes = 0, no = 0, exempted = 0;

	rng_state = 20240611;
	for (round = 0; round < ROUNDS; round++) {
		bool fold = round % 2 == 0;
		const char *alpha = alphabets[(round / 2) % 2];
		/* Small sets with short bodies, large sets with longer ones,
		 * so that both answers stay common. */
		size_t npats = round % 3 == 0 ? 5 : round % 3 == 1 ? 40 : 350;
		size_t minlen = npats < 100 ? 1 : 4;
		size_t maxlen = npats < 100 ? 4 : 8;
		struct patternset *set = patternset_new(fold);
		size_t i, k;

		for (i = 0; i < npats; i++) {
			size_t n = random_pattern(pats[i], alpha, minlen,
			    maxlen, true);

			if (patternset_add(set, pats[i], n) != 0)
				ck_abort_msg("add \"%s\" refused", pats[i]);
		}
		ck_assert_uint_eq(patternset_count(set), npats);
		for (k = 0; k < SUBJECTS; k++) {
			char s[16];
			size_t slen = rng_below(12), j;
			bool inc = false, exm = false, gi, ge, gm;

			for (j = 0; j < slen; j++)
				s[j] = alpha[rng_below(strlen(alpha))];
			s[slen] = '\0';
			for (i = 0; i < npats; i++) {
				bool ex = pats[i][0] == '-';
				const char *p = pats[i] + (ex ? 1 : 0);

				if (pattern_match(p, strlen(p), s, slen,
				    fold)) {
					if (ex)
						exm = true;
					else
						inc = true;
				}
			}
			/* Plain tests: a passing ck_assert costs a write
			 * to Check's pipe, too slow for a million. */
			gi = patternset_match_include(set, s, slen);
			ge = patternset_match_exempt(set, s, slen);
			gm = patternset_match(set, s, slen);
			if (gi != inc || ge != exm || gm != (inc && !exm))
				ck_abort_msg("round %zu fold %d \"%s\": "
				    "include %d exempt %d match %d, want "
				    "%d %d %d", round, fold, s, gi, ge, gm,
				    inc, exm, inc && !exm);
			if (inc && !exm)
				yes++;
			else
				no++;
			if (inc && exm)
				exempted++;
		}
		patternset_free(set);
	}
	/* The check must have seen both answers, and exemptions at work. */
	ck_assert_msg(yes > ROUNDS * SUBJECTS / 10, "only %zu matches", yes);
	ck_assert_msg(no > ROUNDS * SUBJECTS / 10, "only %zu misses", no);
	ck_assert_msg(exempted > 500, "only %zu exempted", exempted);
}
END_TEST

/* ---- a large set ---- */

/* Checks one formatted subject; asserts only on a wrong answer. */
static void expect_fmt(const struct patternset *, bool, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
expect_fmt(const struct patternset *set, bool want, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (set_match(set, buf) != want)
		ck_abort_msg("\"%s\" should be %d", buf, want);
}

START_TEST(test_large_set)
{
	enum { N = 50000 };
	struct patternset *set = patternset_new(true);
	char buf[64];
	unsigned i;
	int n;

	for (i = 0; i < N; i++) {
		n = snprintf(buf, sizeof(buf), "h%u.example.com", i);
		if (patternset_add(set, buf, (size_t)n) != 0)
			ck_abort_msg("add %s", buf);
		n = snprintf(buf, sizeof(buf), "*.z%u.example.net", i);
		if (patternset_add(set, buf, (size_t)n) != 0)
			ck_abort_msg("add %s", buf);
	}
	ck_assert_uint_eq(patternset_count(set), 2 * N);
	for (i = 0; i < N + 10; i++) {
		bool in = i < N;

		expect_fmt(set, in, "h%u.example.com", i);
		expect_fmt(set, in, "H%u.EXAMPLE.com", i);
		expect_fmt(set, false, "xh%u.example.com", i);
		expect_fmt(set, false, "h%u.example.co", i);
		expect_fmt(set, in, "a.b.z%u.example.net", i);
		expect_fmt(set, false, "z%u.example.net", i);
		expect_fmt(set, false, "a.xz%u.example.net", i);
		expect_fmt(set, false, "a.z%u.example.net.", i);
	}
	patternset_free(set);
}
END_TEST

/* ---- IP addresses ---- */

static const struct ip_case {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	int family;		/* 0: refused */
	const char *formatted;
} ip_cases[] = {
	{ "1.2.3.4", 0, 4, "1.2.3.4" },
	{ "0.0.0.0", 0, 4, "0.0.0.0" },
	{ "255.255.255.255", 0, 4, "255.255.255.255" },
	{ "2001:db8::1", 0, 6, "2001:db8::1" },
	{ "2001:DB8:0:0:0:0:0:1", 0, 6, "2001:db8::1" },
	{ "::", 0, 6, "::" },
	{ "::1", 0, 6, "::1" },
	{ "fe80::1:2", 0, 6, "fe80::1:2" },
	{ "::ffff:1.2.3.4", 0, 4, "1.2.3.4" },
	{ "::FFFF:10.0.0.1", 0, 4, "10.0.0.1" },
	{ "::ffff:a00:1", 0, 4, "10.0.0.1" },
	{ "1.2.3.45", 7, 4, "1.2.3.4" },	/* the length rules */
	{ "1.2.3", 0, 0, NULL },
	{ "1.2.3.4.5", 0, 0, NULL },
	{ "1.2.3.256", 0, 0, NULL },
	{ " 1.2.3.4", 0, 0, NULL },
	{ "1.2.3.4 ", 0, 0, NULL },
	{ "1.2.3.4/32", 0, 0, NULL },
	{ "::g", 0, 0, NULL },
	{ "1:2:3:4:5:6:7:8:9", 0, 0, NULL },
	{ "::ffff:1.2.3", 0, 0, NULL },
	{ "", 0, 0, NULL },
	{ "1.2.3.4\0", 8, 0, NULL },		/* embedded NUL */
	{ "1.2\0.3.4", 8, 0, NULL },
	{ "::1\0", 4, 0, NULL },
	{ "example.com", 0, 0, NULL },
};

START_TEST(test_ipaddr_parse)
{
	const struct ip_case *c = &ip_cases[_i];
	size_t len = c->len ? c->len : strlen(c->text);
	struct ipaddr a, back;
	char buf[64];
	int rc = ipaddr_parse(c->text, len, &a);

	if (c->family == 0) {
		ck_assert_msg(rc == -1, "\"%s\" (%zu bytes) accepted",
		    c->text, len);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" refused", c->text);
	ck_assert_int_eq(a.family, c->family);
	ck_assert_str_eq(ipaddr_format(&a, buf, sizeof(buf)), c->formatted);
	/* Round trip through the formatted text. */
	ck_assert_int_eq(ipaddr_parse(buf, strlen(buf), &back), 0);
	ck_assert(ipaddr_equal(&a, &back));
}
END_TEST

START_TEST(test_ipaddr_mapped_equal)
{
	struct ipaddr m, v4, v6;

	ck_assert_int_eq(ipaddr_parse("::ffff:1.2.3.4", 14, &m), 0);
	ck_assert_int_eq(ipaddr_parse("1.2.3.4", 7, &v4), 0);
	ck_assert_int_eq(ipaddr_parse("::102:304", 9, &v6), 0);
	ck_assert_int_eq(m.family, 4);
	ck_assert(ipaddr_equal(&m, &v4));
	ck_assert(ipaddr_equal(&v4, &m));
	/* Same bytes, other family: not the same address. */
	ck_assert_int_eq(v6.family, 6);
	ck_assert(!ipaddr_equal(&v4, &v6));
	ck_assert(!ipaddr_equal(&v6, &v4));
}
END_TEST

START_TEST(test_ipaddr_format_round_trip)
{
	size_t k;

	rng_state = 77;
	for (k = 0; k < 2000; k++) {
		struct ipaddr a, back;
		char buf[64];
		size_t i;

		memset(&a, 0, sizeof(a));
		a.family = k % 2 ? 6 : 4;
		for (i = 0; i < (a.family == 4 ? 4u : 16u); i++)
			/* Runs of zeros now and then, for "::". */
			a.bytes[i] = rng_below(3) == 0 ? 0 :
			    (uint8_t)rng_next();
		if (a.family == 6 && memcmp(a.bytes,
		    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			a.bytes[0] = 1;
		ipaddr_format(&a, buf, sizeof(buf));
		if (ipaddr_parse(buf, strlen(buf), &back) != 0 ||
		    !ipaddr_equal(&a, &back))
			ck_abort_msg("%s does not parse back", buf);
	}
}
END_TEST

/* ---- CIDR sets ---- */

static struct ipaddr
ip(const char *text)
{
	struct ipaddr a;

	ck_assert_msg(ipaddr_parse(text, strlen(text), &a) == 0, "%s", text);
	return a;
}

static const struct cidr_case {
	const char *entries[4];
	const char *in[8];
	const char *out[8];
} cidr_cases[] = {
	{ { "10.0.0.0/8" },
	  { "10.0.0.0", "10.255.255.255", "10.1.2.3", "::ffff:10.9.9.9" },
	  { "11.0.0.0", "9.255.255.255", "0.0.0.0", "255.255.255.255",
	    "::a00:0", "::ffff:11.0.0.0" } },
	{ { "0.0.0.0/0" },
	  { "0.0.0.0", "255.255.255.255", "192.0.2.1" },
	  { "::", "::1", "2001:db8::1" } },
	{ { "192.0.2.7/32" },
	  { "192.0.2.7" },
	  { "192.0.2.6", "192.0.2.8", "::ffff:c000:206" } },
	{ { "192.0.2.7" },
	  { "192.0.2.7", "::ffff:192.0.2.7" },
	  { "192.0.2.6", "192.0.2.8", "::c000:207" } },
	{ { "169.254.169.254" },
	  { "169.254.169.254" },
	  { "169.254.169.253", "169.254.169.255" } },
	{ { "10.1.2.3/8" },		/* host bits ignored */
	  { "10.0.0.0", "10.255.255.255" },
	  { "11.0.0.0", "9.255.255.255" } },
	{ { "2001:db8::/32" },
	  { "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
	    "2001:db8:1::1" },
	  { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::",
	    "32.1.13.184", "::" } },
	{ { "::/0" },
	  { "::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "2001:db8::1" },
	  { "0.0.0.0", "1.2.3.4", "::ffff:1.2.3.4", "255.255.255.255" } },
	{ { "2001:db8::1/128" },
	  { "2001:db8::1" },
	  { "2001:db8::", "2001:db8::2", "0.0.0.1" } },
	{ { "2001:db8::1" },
	  { "2001:db8::1" },
	  { "2001:db8::2" } },
	{ { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/128" },
	  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::" },
	  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "::1",
	    "0.0.0.0" } },
	{ { "255.255.255.255/32", "0.0.0.0/32" },
	  { "255.255.255.255", "0.0.0.0" },
	  { "255.255.255.254", "0.0.0.1", "::" } },
	/* ::ffff:a.b.c.d/N is IPv4 a.b.c.d/(N-96). */
	{ { "::ffff:10.0.0.0/104" },
	  { "10.0.0.0", "10.255.255.255", "::ffff:10.2.3.4" },
	  { "11.0.0.0", "9.255.255.255", "::a00:0" } },
	{ { "::ffff:0.0.0.0/96" },
	  { "0.0.0.0", "255.255.255.255" },
	  { "::", "2001:db8::1" } },
	{ { "::ffff:192.0.2.7" },
	  { "192.0.2.7" },
	  { "192.0.2.8" } },
	/* Overlapping, nested and adjacent blocks. */
	{ { "10.0.0.0/8", "10.1.0.0/16", "10.128.0.0/9" },
	  { "10.0.0.0", "10.1.255.255", "10.200.0.0", "10.255.255.255" },
	  { "11.0.0.0", "9.255.255.255" } },
	{ { "10.0.0.0/9", "10.128.0.0/9", "12.0.0.0/8" },
	  { "10.127.255.255", "10.128.0.0", "10.255.255.255", "12.0.0.0",
	    "12.255.255.255" },
	  { "11.0.0.0", "11.255.255.255", "13.0.0.0", "9.255.255.255" } },
	{ { "192.0.2.0/25", "192.0.2.100/30", "192.0.2.128/26" },
	  { "192.0.2.0", "192.0.2.127", "192.0.2.128", "192.0.2.191" },
	  { "192.0.2.192", "192.0.1.255" } },
	{ { "2001:db8::/33", "2001:db8:8000::/33", "2001:db8:1::/48" },
	  { "2001:db8::", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff",
	    "2001:db8:8000::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" },
	  { "2001:db9::", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff" } },
	/* Both families in one set. */
	{ { "10.0.0.0/8", "2001:db8::/32" },
	  { "10.1.1.1", "2001:db8::1" },
	  { "::a01:101", "32.1.13.184", "2001:db9::1" } },
};

START_TEST(test_cidr_cases)
{
	const struct cidr_case *c = &cidr_cases[_i];
	struct cidrset *set = cidrset_new();
	struct ipaddr a;
	size_t i, n = 0;

	for (i = 0; i < NELEM(c->entries) && c->entries[i] != NULL; i++) {
		ck_assert_msg(cidrset_add(set, c->entries[i],
		    strlen(c->entries[i])) == 0, "add %s", c->entries[i]);
		n++;
	}
	ck_assert_int_eq(cidrset_build(set), 0);
	ck_assert_uint_eq(cidrset_count(set), n);
	for (i = 0; i < NELEM(c->in) && c->in[i] != NULL; i++) {
		a = ip(c->in[i]);
		ck_assert_msg(cidrset_match(set, &a), "%s should be in %s...",
		    c->in[i], c->entries[0]);
	}
	for (i = 0; i < NELEM(c->out) && c->out[i] != NULL; i++) {
		a = ip(c->out[i]);
		ck_assert_msg(!cidrset_match(set, &a), "%s should not be in "
		    "%s...", c->out[i], c->entries[0]);
	}
	cidrset_free(set);
}
END_TEST

START_TEST(test_cidr_invalid)
{
	static const char *const bad[] = { "10.0.0.0/33", "2001:db8::/129",
	    "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.0/8/8",
	    "10.0.0.0/ 8", "10.0.0/8", "/8", "", "example.com",
	    "::ffff:10.0.0.0/95", "10.0.0.0/1000", "2001:db8::g/32" };
	struct cidrset *set = cidrset_new();
	struct ipaddr a = ip("10.0.0.1");
	size_t i;

	for (i = 0; i < NELEM(bad); i++)
		ck_assert_msg(cidrset_add(set, bad[i], strlen(bad[i])) == -1,
		    "\"%s\" accepted", bad[i]);
	ck_assert_int_eq(cidrset_build(set), 0);
	ck_assert_uint_eq(cidrset_count(set), 0);
	ck_assert(!cidrset_match(set, &a));
	cidrset_free(set);
}
END_TEST

START_TEST(test_cidr_items_kept)
{
	static const char *const entries[] = { "10.1.2.3/8",
	    "2001:DB8::/32", "192.0.2.7", "::ffff:10.0.0.0/104" };
	struct cidrset *set = cidrset_new();
	struct ipaddr a;
	size_t i;

	for (i = 0; i < NELEM(entries); i++)
		ck_assert_int_eq(cidrset_add(set, entries[i],
		    strlen(entries[i])), 0);
	/* An entry that does not parse is kept as text and matches
	 * nothing. */
	ck_assert_int_eq(cidrset_add_inert(set, "not-an-ip", 9), 0);
	/* Explicit length: only the first 10 bytes are the entry. */
	ck_assert_int_eq(cidrset_add(set, "172.16.0.0/12junk", 13), 0);
	ck_assert_int_eq(cidrset_build(set), 0);
	ck_assert_uint_eq(cidrset_count(set), NELEM(entries) + 2);
	for (i = 0; i < NELEM(entries); i++)
		ck_assert_str_eq(cidrset_item(set, i), entries[i]);
	ck_assert_str_eq(cidrset_item(set, NELEM(entries)), "not-an-ip");
	ck_assert_str_eq(cidrset_item(set, NELEM(entries) + 1),
	    "172.16.0.0/12");
	ck_assert_ptr_null(cidrset_item(set, NELEM(entries) + 2));
	a = ip("172.31.255.255");
	ck_assert(cidrset_match(set, &a));
	a = ip("172.32.0.0");
	ck_assert(!cidrset_match(set, &a));
	cidrset_free(set);

	/* Only inert items: a non-empty list that matches nothing. */
	set = cidrset_new();
	ck_assert_int_eq(cidrset_add_inert(set, "10.0.0.0/99", 11), 0);
	ck_assert_int_eq(cidrset_build(set), 0);
	ck_assert_uint_eq(cidrset_count(set), 1);
	ck_assert_str_eq(cidrset_item(set, 0), "10.0.0.0/99");
	a = ip("10.0.0.0");
	ck_assert(!cidrset_match(set, &a));
	cidrset_free(set);
}
END_TEST

START_TEST(test_cidr_empty)
{
	struct cidrset *set = cidrset_new();
	struct ipaddr a = ip("10.0.0.1"), none;

	ck_assert_int_eq(cidrset_build(set), 0);
	ck_assert_uint_eq(cidrset_count(set), 0);
	ck_assert(!cidrset_match(set, &a));
	cidrset_free(set);

	/* An address of no family matches not even 0.0.0.0/0 and ::/0. */
	set = cidrset_new();
	ck_assert_int_eq(cidrset_add(set, "0.0.0.0/0", 9), 0);
	ck_assert_int_eq(cidrset_add(set, "::/0", 4), 0);
	ck_assert_int_eq(cidrset_build(set), 0);
	memset(&none, 0, sizeof(none));
	ck_assert(!cidrset_match(set, &none));
	cidrset_free(set);
	cidrset_free(NULL);
}
END_TEST

static bool
prefix_covers(const uint8_t *net, const uint8_t *addr, unsigned plen)
{
	unsigned i;

	for (i = 0; i < plen; i++)
		if (((net[i / 8] >> (7 - i % 8)) & 1) !=
		    ((addr[i / 8] >> (7 - i % 8)) & 1))
			return false;
	return true;
}

/* Many overlapping blocks in a small space, against a linear scan. */
START_TEST(test_cidr_random)
{
	enum { SETS = 30, BLOCKS = 60, PROBES = 3000 };
	size_t round, yes = 0, no = 0;

	rng_state = 4242;
	for (round = 0; round < SETS; round++) {
		bool v6 = round % 2 == 1;
		struct cidrset *set = cidrset_new();
		struct ipaddr nets[BLOCKS];
		unsigned plens[BLOCKS];
		size_t i, k, nblocks = 1 + rng_below(BLOCKS);
		char text[80];

		for (i = 0; i < nblocks; i++) {
			uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };
			int n;

			if (v6) {
				b[14] = (uint8_t)rng_below(4);
				b[15] = (uint8_t)rng_next();
				plens[i] = 119 + (unsigned)rng_below(10);
				n = snprintf(text, sizeof(text),
				    "2001:db8::%x:%x/%u", b[14], b[15],
				    plens[i]);
			} else {
				b[0] = 10;
				b[1] = 0;
				b[2] = (uint8_t)rng_below(4);
				b[3] = (uint8_t)rng_next();
				plens[i] = 23 + (unsigned)rng_below(10);
				n = snprintf(text, sizeof(text),
				    "10.0.%u.%u/%u", b[2], b[3], plens[i]);
			}
			ck_assert_msg(cidrset_add(set, text, (size_t)n) == 0,
			    "%s", text);
			*strchr(text, '/') = '\0';
			nets[i] = ip(text);
		}
		ck_assert_int_eq(cidrset_build(set), 0);
		for (k = 0; k < PROBES; k++) {
			struct ipaddr a;
			bool want = false;

			memset(&a, 0, sizeof(a));
			if (v6) {
				static const uint8_t pfx[] = { 0x20, 0x01,
				    0x0d, 0xb8 };

				a.family = 6;
				memcpy(a.bytes, pfx, 4);
				a.bytes[13] = rng_below(50) == 0 ? 1 : 0;
				a.bytes[14] = (uint8_t)rng_below(5);
				a.bytes[15] = (uint8_t)rng_next();
			} else {
				a.family = 4;
				a.bytes[0] = 10;
				a.bytes[1] = rng_below(50) == 0 ? 1 : 0;
				a.bytes[2] = (uint8_t)rng_below(5);
				a.bytes[3] = (uint8_t)rng_next();
			}
			for (i = 0; i < nblocks && !want; i++)
				want = prefix_covers(nets[i].bytes, a.bytes,
				    plens[i]);
			if (cidrset_match(set, &a) != want)
				ck_abort_msg("round %zu probe %zu: should be "
				    "%d", round, k, want);
			if (want)
				yes++;
			else
				no++;
		}
		cidrset_free(set);
	}
	ck_assert_msg(yes > SETS * PROBES / 10, "only %zu in", yes);
	ck_assert_msg(no > SETS * PROBES / 10, "only %zu out", no);
}
END_TEST

/* ---- port sets ---- */

START_TEST(test_portset_ranges)
{
	struct portset *set = portset_new();
	unsigned s, e;

	ck_assert_int_eq(portset_add(set, 443, 443), 0);
	ck_assert_int_eq(portset_add(set, 8000, 8080), 0);
	ck_assert_int_eq(portset_add(set, 0, 0), 0);
	ck_assert_int_eq(portset_add(set, 65535, 65535), 0);
	ck_assert_int_eq(portset_build(set), 0);
	ck_assert_uint_eq(portset_count(set), 4);
	portset_item(set, 1, &s, &e);
	ck_assert_uint_eq(s, 8000);
	ck_assert_uint_eq(e, 8080);
	ck_assert(portset_match(set, 443));
	ck_assert(!portset_match(set, 442));
	ck_assert(!portset_match(set, 444));
	ck_assert(portset_match(set, 8000));
	ck_assert(portset_match(set, 8080));
	ck_assert(portset_match(set, 8040));
	ck_assert(!portset_match(set, 7999));
	ck_assert(!portset_match(set, 8081));
	ck_assert(portset_match(set, 0));
	ck_assert(!portset_match(set, 1));
	ck_assert(portset_match(set, 65535));
	ck_assert(!portset_match(set, 65534));
	ck_assert(!portset_match(set, 80));
	portset_free(set);
	portset_free(NULL);
}
END_TEST

START_TEST(test_portset_full_range)
{
	struct portset *set = portset_new();

	ck_assert_int_eq(portset_add(set, 0, 65535), 0);
	ck_assert_int_eq(portset_build(set), 0);
	ck_assert(portset_match(set, 0));
	ck_assert(portset_match(set, 1024));
	ck_assert(portset_match(set, 65535));
	portset_free(set);
}
END_TEST

START_TEST(test_portset_merge)
{
	struct portset *set = portset_new();
	static const unsigned given[][2] = { { 100, 200 }, { 150, 300 },
	    { 301, 310 }, { 400, 400 }, { 90, 99 }, { 120, 130 } };
	size_t i;
	unsigned p, s, e;

	for (i = 0; i < NELEM(given); i++)
		ck_assert_int_eq(portset_add(set, given[i][0], given[i][1]),
		    0);
	ck_assert_int_eq(portset_build(set), 0);
	/* Items stay as given, in order. */
	ck_assert_uint_eq(portset_count(set), NELEM(given));
	for (i = 0; i < NELEM(given); i++) {
		portset_item(set, i, &s, &e);
		ck_assert_uint_eq(s, given[i][0]);
		ck_assert_uint_eq(e, given[i][1]);
	}
	for (p = 0; p < 1000; p++) {
		bool want = (p >= 90 && p <= 310) || p == 400;

		ck_assert_msg(portset_match(set, p) == want, "port %u", p);
	}
	portset_free(set);
}
END_TEST

START_TEST(test_portset_refused)
{
	struct portset *set = portset_new();
	unsigned s, e;

	ck_assert_int_eq(portset_add(set, 444, 443), -1);
	ck_assert_int_eq(portset_add(set, 1, 0), -1);
	ck_assert_int_eq(portset_add(set, 0, 65536), -1);
	ck_assert_int_eq(portset_add(set, 65536, 65536), -1);
	ck_assert_uint_eq(portset_count(set), 0);
	/* Kept as an item, matching nothing. */
	ck_assert_int_eq(portset_add_inert(set, 444, 443), 0);
	ck_assert_int_eq(portset_build(set), 0);
	ck_assert_uint_eq(portset_count(set), 1);
	portset_item(set, 0, &s, &e);
	ck_assert_uint_eq(s, 444);
	ck_assert_uint_eq(e, 443);
	ck_assert(!portset_match(set, 443));
	ck_assert(!portset_match(set, 444));
	ck_assert(!portset_match(set, 0));
	portset_free(set);
}
END_TEST

START_TEST(test_portset_random)
{
	static bool want[65536];
	size_t round;

	rng_state = 99;
	for (round = 0; round < 20; round++) {
		struct portset *set = portset_new();
		size_t i, n = 1 + rng_below(40);
		unsigned p;

		memset(want, 0, sizeof(want));
		for (i = 0; i < n; i++) {
			unsigned a = (unsigned)rng_below(round % 2 ? 65536 :
			    400);
			unsigned b = a + (unsigned)rng_below(30);

			if (b > 65535)
				b = 65535;
			ck_assert_int_eq(portset_add(set, a, b), 0);
			for (p = a; p <= b; p++)
				want[p] = true;
		}
		ck_assert_int_eq(portset_build(set), 0);
		for (p = 0; p < 65536; p++)
			if (portset_match(set, p) != want[p])
				ck_abort_msg("round %zu port %u should be %d",
				    round, p, want[p]);
		portset_free(set);
	}
}
END_TEST

static Suite *
pattern_suite(void)
{
	Suite *s = suite_create("pattern");
	TCase *tc;

	tc = tcase_create("semantics");
	tcase_add_loop_test(tc, test_match_reference, 0, NELEM(match_cases));
	tcase_add_loop_test(tc, test_match_set, 0, NELEM(match_cases));
	tcase_add_loop_test(tc, test_match_set_exempt, 0,
	    NELEM(match_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("sets");
	tcase_add_test(tc, test_exemption_in_list);
	tcase_add_test(tc, test_only_exemptions);
	tcase_add_test(tc, test_has_include);
	tcase_add_test(tc, test_empty_set);
	tcase_add_test(tc, test_exempt_everything);
	tcase_add_test(tc, test_items_kept);
	tcase_add_test(tc, test_mixed_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("lint and limits");
	tcase_add_loop_test(tc, test_lint, 0, NELEM(lint_cases));
	tcase_add_test(tc, test_lint_too_long);
	tcase_add_test(tc, test_add_limits);
	tcase_add_test(tc, test_long_subjects_and_bodies);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_add_test(tc, test_random_cross_check);
	tcase_add_test(tc, test_large_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipaddr");
	tcase_add_loop_test(tc, test_ipaddr_parse, 0, NELEM(ip_cases));
	tcase_add_test(tc, test_ipaddr_mapped_equal);
	tcase_add_test(tc, test_ipaddr_format_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("cidrset");
	tcase_add_loop_test(tc, test_cidr_cases, 0, NELEM(cidr_cases));
	tcase_add_test(tc, test_cidr_invalid);
	tcase_add_test(tc, test_cidr_items_kept);
	tcase_add_test(tc, test_cidr_empty);
	tcase_add_test(tc, test_cidr_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("portset");
	tcase_add_test(tc, test_portset_ranges);
	tcase_add_test(tc, test_portset_full_range);
	tcase_add_test(tc, test_portset_merge);
	tcase_add_test(tc, test_portset_refused);
	tcase_add_test(tc, test_portset_random);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pattern_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
