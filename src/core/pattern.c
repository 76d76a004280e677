/*
 * pattern — see include/fnguard/pattern.h.
 *
 * A patternset keeps, for its patterns and separately for its exemptions, one
 * open-addressing table of polynomial hashes (mod 2^64, random odd base),
 * plus a bitmap filter in front of it. A lookup hashes the subject once
 * from the front and once from the back; at each length that some prefix
 * (suffix) pattern has, it tests the bitmap and only then the table.
 * Substring patterns use Rabin-Karp per distinct length. Every table hit is
 * confirmed by comparing the bytes, so a hash collision (however it was
 * found) costs one comparison and never changes an answer.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "fnguard/pattern.h"

enum pkind { PK_EXACT, PK_PREFIX, PK_SUFFIX, PK_CONTAINS, PK_COUNT };

/* Strings live in one arena per set; items hold offsets into it. */
struct pitem {
	uint32_t text;		/* as given, with '-' and stars */
	uint32_t body;		/* the part to compare: inside text, or its
				   case-folded copy after it */
	uint16_t body_len;
	uint8_t kind;
};

#define SLOT_EMPTY UINT32_MAX

struct pslot {
	uint32_t item;		/* SLOT_EMPTY = free */
	uint32_t tag;		/* high bits of the key: cheap mismatch */
};

#define LENWORDS ((PATTERN_MAX_LEN + 64) / 64)
#define EDGE_LENS 256

struct ppart {
	struct pslot *slots;
	size_t cap;		/* power of two */
	size_t used;
	uint64_t *filter;	/* cap * 8 bits */
	uint64_t lens[PK_COUNT][LENWORDS];
	size_t max_len[PK_COUNT];
	/* For prefix and suffix patterns shorter than EDGE_LENS: which
	 * bytes a pattern of each length has at its inner edge (the last
	 * byte of a prefix, the first of a suffix), so that most lengths
	 * are passed over without touching the table. */
	uint64_t (*edge[PK_COUNT])[4];
	uint16_t *contains_lens;	/* distinct substring lengths */
	size_t ncontains_lens;
	bool any;		/* holds "*" */
};

struct patternset {
	bool fold;
	uint64_t base;
	struct pitem *items;
	size_t nitems, capitems;
	char *arena;
	size_t arena_len, arena_cap;
	struct ppart include, exempt;
};

static inline const char *
item_body(const struct patternset *set, const struct pitem *it)
{
	return set->arena + it->body;
}

static inline unsigned char
fold_char(unsigned char c, bool fold)
{
	if (fold && c >= 'A' && c <= 'Z')
		return (unsigned char)(c + ('a' - 'A'));
	return c;
}

static inline uint64_t
hash_step(uint64_t h, uint64_t base, unsigned char c)
{
	return h * base + (uint64_t)c + 1;
}

/* Never 0, so that 0 marks an empty slot. */
static inline uint64_t
slot_key(uint64_t h, enum pkind kind)
{
	return (h ^ ((uint64_t)(kind + 1) * UINT64_C(0x9E3779B97F4A7C15))) | 1;
}

static inline size_t
slot_index(uint64_t key, size_t mask)
{
	return (size_t)((key * UINT64_C(0xff51afd7ed558ccd)) >> 17) & mask;
}

static inline bool
filter_test(const struct ppart *p, uint64_t key)
{
	size_t bits = p->cap * 8 - 1;
	size_t i = (size_t)(key >> 3) & bits;

	return p->filter != NULL && (p->filter[i >> 6] >> (i & 63)) & 1;
}

static inline void
filter_set(struct ppart *p, uint64_t key)
{
	size_t bits = p->cap * 8 - 1;
	size_t i = (size_t)(key >> 3) & bits;

	p->filter[i >> 6] |= UINT64_C(1) << (i & 63);
}

/*
 * In a name's presentation form a backslash escapes the next character
 * (RFC 4343 2.1): "x\.amazon.com" is the label "x.amazon" under "com", and
 * its ".amazon.com" is not a label boundary. A match may not start on an
 * escaped character, so "*.amazon.com" does not take it for a subdomain.
 */
static bool
escaped_at(const char *s, size_t pos)
{
	size_t k = 0;

	while (k < pos && s[pos - 1 - k] == '\\')
		k++;
	return k % 2 == 1;
}

static bool
span_equal(const char *a, const char *b, size_t len, bool fold)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (fold_char((unsigned char)a[i], fold) !=
		    fold_char((unsigned char)b[i], fold))
			return false;
	return true;
}

bool
pattern_match(const char *pattern, size_t plen, const char *subject,
    size_t slen, bool fold)
{
	bool lead = plen > 0 && pattern[0] == '*';
	bool trail = plen > 1 && pattern[plen - 1] == '*';
	const char *body = pattern + (lead ? 1 : 0);
	size_t blen = plen - (lead ? 1 : 0) - (trail ? 1 : 0);
	size_t off;

	if (blen > slen)
		return false;
	/* Case-folded sets hold names, where escapes count (escaped_at). */
	if (lead && trail) {
		for (off = 0; off + blen <= slen; off++)
			if (span_equal(body, subject + off, blen, fold) &&
			    !(fold && escaped_at(subject, off)))
				return true;
		return false;
	}
	if (lead)
		return span_equal(body, subject + slen - blen, blen, fold) &&
		    !(fold && escaped_at(subject, slen - blen));
	if (trail)
		return span_equal(body, subject, blen, fold);
	return blen == slen && span_equal(body, subject, blen, fold);
}

const char *
pattern_lint(const char *pattern, size_t plen)
{
	size_t i;

	if (plen > 0 && pattern[0] == '-') {
		pattern++;
		plen--;
	}
	if (plen == 0)
		return "empty pattern";
	if (plen > PATTERN_MAX_LEN)
		return "pattern too long";
	for (i = 1; i + 1 < plen; i++)
		if (pattern[i] == '*')
			return "'*' inside a pattern is taken literally; "
			    "only a leading or trailing '*' is a wildcard";
	if (plen == 2 && pattern[0] == '*' && pattern[1] == '*')
		return "\"**\" matches everything; write \"*\"";
	return NULL;
}

struct patternset *
patternset_new(bool fold_case)
{
	struct patternset *set;
	uint64_t seed;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	set->fold = fold_case;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) * UINT64_C(6364136223846793005);
	/* Odd, with high bits set: spreads short keys over the word. */
	set->base = seed | (UINT64_C(1) << 63) | 1;
	return set;
}

static void
ppart_clear(struct ppart *p)
{
	free(p->edge[PK_PREFIX]);
	free(p->edge[PK_SUFFIX]);
	free(p->slots);
	free(p->filter);
	free(p->contains_lens);
}

void
patternset_free(struct patternset *set)
{
	if (set == NULL)
		return;
	free(set->items);
	free(set->arena);
	ppart_clear(&set->include);
	ppart_clear(&set->exempt);
	free(set);
}

size_t
patternset_count(const struct patternset *set)
{
	return set == NULL ? 0 : set->nitems;
}

const char *
patternset_item(const struct patternset *set, size_t i)
{
	return i < set->nitems ? set->arena + set->items[i].text : NULL;
}

static uint64_t
body_hash(const struct patternset *set, const struct pitem *it)
{
	const char *body = item_body(set, it);
	uint64_t h = 0;
	size_t i;

	if (it->kind == PK_SUFFIX) {
		for (i = it->body_len; i > 0; i--)
			h = hash_step(h, set->base, (unsigned char)body[i - 1]);
	} else {
		for (i = 0; i < it->body_len; i++)
			h = hash_step(h, set->base, (unsigned char)body[i]);
	}
	return h;
}

static uint64_t
item_key(const struct patternset *set, const struct pitem *it)
{
	return slot_key(body_hash(set, it), (enum pkind)it->kind);
}

static void
slot_put(struct ppart *p, uint64_t key, uint32_t item)
{
	size_t j = slot_index(key, p->cap - 1);

	while (p->slots[j].item != SLOT_EMPTY)
		j = (j + 1) & (p->cap - 1);
	p->slots[j].item = item;
	p->slots[j].tag = (uint32_t)(key >> 32);
	filter_set(p, key);
}

/* Doubles the table; keys are recomputed from the items. */
static int
ppart_grow(struct ppart *p, const struct patternset *set)
{
	size_t ncap = p->cap ? p->cap * 2 : 64, i, ocap = p->cap;
	struct pslot *slots = malloc(ncap * sizeof(*slots)), *old = p->slots;
	uint64_t *filter = calloc(ncap * 8 / 64, sizeof(uint64_t));

	if (slots == NULL || filter == NULL) {
		free(slots);
		free(filter);
		return -1;
	}
	memset(slots, 0xff, ncap * sizeof(*slots));
	free(p->filter);
	p->slots = slots;
	p->filter = filter;
	p->cap = ncap;
	for (i = 0; i < ocap; i++)
		if (old[i].item != SLOT_EMPTY)
			slot_put(p, item_key(set, &set->items[old[i].item]),
			    old[i].item);
	free(old);
	return 0;
}

static int
ppart_note_contains_len(struct ppart *p, uint16_t len)
{
	uint16_t *n;
	size_t i;

	for (i = 0; i < p->ncontains_lens; i++)
		if (p->contains_lens[i] == len)
			return 0;
	n = realloc(p->contains_lens, (p->ncontains_lens + 1) * sizeof(*n));
	if (n == NULL)
		return -1;
	n[p->ncontains_lens++] = len;
	p->contains_lens = n;
	return 0;
}

static int
ppart_insert(struct ppart *p, struct patternset *set, uint32_t index)
{
	const struct pitem *it = &set->items[index];
	const char *body = item_body(set, it);

	if ((p->used + 1) * 2 > p->cap && ppart_grow(p, set) == -1)
		return -1;
	if (it->kind == PK_CONTAINS &&
	    ppart_note_contains_len(p, it->body_len) == -1)
		return -1;
	if ((it->kind == PK_PREFIX || it->kind == PK_SUFFIX) &&
	    it->body_len < EDGE_LENS) {
		unsigned char c = (unsigned char)(it->kind == PK_PREFIX ?
		    body[it->body_len - 1] : body[0]);

		if (p->edge[it->kind] == NULL &&
		    (p->edge[it->kind] = calloc(EDGE_LENS,
		    sizeof(*p->edge[it->kind]))) == NULL)
			return -1;
		p->edge[it->kind][it->body_len][c >> 6] |=
		    UINT64_C(1) << (c & 63);
	}
	slot_put(p, item_key(set, it), index);
	p->used++;
	p->lens[it->kind][it->body_len / 64] |=
	    UINT64_C(1) << (it->body_len % 64);
	if (it->body_len > p->max_len[it->kind])
		p->max_len[it->kind] = it->body_len;
	return 0;
}

/* Splits text (at offset it->text in the arena) into kind and body. */
static void
classify(const struct patternset *set, struct pitem *it, size_t len)
{
	const char *t = set->arena + it->text;
	bool lead, trail;
	uint32_t off = it->text;

	if (len > 0 && t[0] == '-') {
		t++;
		off++;
		len--;
	}
	lead = len > 0 && t[0] == '*';
	trail = len > 1 && t[len - 1] == '*';
	it->body = off + (lead ? 1 : 0);
	it->body_len = (uint16_t)(len - (lead ? 1 : 0) - (trail ? 1 : 0));
	if (lead && trail)
		it->kind = PK_CONTAINS;
	else if (lead)
		it->kind = PK_SUFFIX;
	else if (trail)
		it->kind = PK_PREFIX;
	else
		it->kind = PK_EXACT;
}

static int
arena_reserve(struct patternset *set, size_t more)
{
	size_t ncap = set->arena_cap ? set->arena_cap : 256;
	char *n;

	if (set->arena_len + more <= set->arena_cap)
		return 0;
	while (ncap < set->arena_len + more)
		ncap *= 2;
	if (ncap > UINT32_MAX || (n = realloc(set->arena, ncap)) == NULL)
		return -1;
	set->arena = n;
	set->arena_cap = ncap;
	return 0;
}

static int
items_reserve(struct patternset *set)
{
	size_t ncap = set->capitems ? set->capitems * 2 : 16;
	struct pitem *n;

	if (set->nitems < set->capitems)
		return 0;
	if ((n = realloc(set->items, ncap * sizeof(*n))) == NULL)
		return -1;
	set->items = n;
	set->capitems = ncap;
	return 0;
}

int
patternset_add(struct patternset *set, const char *pattern, size_t len)
{
	struct pitem *it;
	bool exempt = len > 0 && pattern[0] == '-';
	struct ppart *part = exempt ? &set->exempt : &set->include;
	size_t i, saved = set->arena_len;

	if (len == 0 || len - (exempt ? 1 : 0) == 0 ||
	    len - (exempt ? 1 : 0) > PATTERN_MAX_LEN)
		return -1;
	/* The text as given, then the body folded to lower case
	 * (case-insensitive sets compare folded subjects with it). */
	if (items_reserve(set) == -1 || arena_reserve(set, 2 * len + 2) == -1)
		return -1;
	it = &set->items[set->nitems];
	it->text = (uint32_t)set->arena_len;
	memcpy(set->arena + set->arena_len, pattern, len);
	set->arena[set->arena_len + len] = '\0';
	set->arena_len += len + 1;
	classify(set, it, len);
	if (set->fold) {
		char *folded = set->arena + set->arena_len;

		for (i = 0; i < it->body_len; i++)
			folded[i] = (char)fold_char((unsigned char)
			    set->arena[it->body + i], true);
		folded[it->body_len] = '\0';
		it->body = (uint32_t)set->arena_len;
		set->arena_len += it->body_len + 1;
	}
	set->nitems++;
	/* "*" (or "**"): everything. */
	if (it->body_len == 0) {
		part->any = true;
		return 0;
	}
	if (ppart_insert(part, set, (uint32_t)(set->nitems - 1)) == -1) {
		set->nitems--;
		set->arena_len = saved;
		return -1;
	}
	return 0;
}

void
patternset_compact(struct patternset *set)
{
	char *a;
	struct pitem *n;

	if (set->arena_len > 0 && set->arena_len < set->arena_cap &&
	    (a = realloc(set->arena, set->arena_len)) != NULL) {
		set->arena = a;
		set->arena_cap = set->arena_len;
	}
	if (set->nitems > 0 && set->nitems < set->capitems &&
	    (n = realloc(set->items, set->nitems * sizeof(*n))) != NULL) {
		set->items = n;
		set->capitems = set->nitems;
	}
}

/* s is folded already unless fold is set. */
static bool
body_equal(const char *body, size_t len, const char *s, bool fold)
{
	size_t i;

	if (!fold)
		return memcmp(body, s, len) == 0;
	for (i = 0; i < len; i++)
		if (body[i] != (char)fold_char((unsigned char)s[i], true))
			return false;
	return true;
}

/* Is there a pattern of this kind whose body equals s[0..len)? */
static bool
probe(const struct patternset *set, const struct ppart *p, enum pkind kind,
    uint64_t h, const char *s, size_t len, bool fold)
{
	uint64_t key = slot_key(h, kind);
	uint32_t tag = (uint32_t)(key >> 32);
	size_t mask = p->cap - 1, j;

	if (!filter_test(p, key))
		return false;
	for (j = slot_index(key, mask); p->slots[j].item != SLOT_EMPTY;
	    j = (j + 1) & mask) {
		const struct pitem *it = &set->items[p->slots[j].item];

		if (p->slots[j].tag == tag && it->kind == kind &&
		    it->body_len == len &&
		    body_equal(item_body(set, it), len, s, fold))
			return true;
	}
	return false;
}

static inline bool
len_present(const struct ppart *p, enum pkind kind, size_t len)
{
	return (p->lens[kind][len / 64] >> (len % 64)) & 1;
}

/* Could a prefix/suffix pattern of length len have edge byte c? */
static inline bool
edge_present(const struct ppart *p, enum pkind kind, size_t len,
    unsigned char c)
{
	if (len >= EDGE_LENS)
		return len_present(p, kind, len);
	/* No table: no pattern of this kind is shorter than EDGE_LENS. */
	return p->edge[kind] != NULL &&
	    ((p->edge[kind][len][c >> 6] >> (c & 63)) & 1);
}

/* Prefix, exact and suffix patterns. s is folded already unless fold. */
static bool
match_ends(const struct patternset *set, const struct ppart *p,
    const unsigned char *s, size_t len, bool fold)
{
	bool exact = len <= p->max_len[PK_EXACT] &&
	    len_present(p, PK_EXACT, len);
	uint64_t h = 0;
	size_t l, lim;
	unsigned char c;

	lim = p->max_len[PK_PREFIX] < len ? p->max_len[PK_PREFIX] : len;
	if (exact)
		lim = len;
	for (l = 1; l <= lim; l++) {
		c = fold_char(s[l - 1], fold);
		h = hash_step(h, set->base, c);
		if (l <= p->max_len[PK_PREFIX] &&
		    edge_present(p, PK_PREFIX, l, c) &&
		    probe(set, p, PK_PREFIX, h, (const char *)s, l, fold))
			return true;
	}
	if (exact && probe(set, p, PK_EXACT, h, (const char *)s, len, fold))
		return true;
	h = 0;
	lim = p->max_len[PK_SUFFIX] < len ? p->max_len[PK_SUFFIX] : len;
	for (l = 1; l <= lim; l++) {
		c = fold_char(s[len - l], fold);
		h = hash_step(h, set->base, c);
		if (edge_present(p, PK_SUFFIX, l, c) &&
		    probe(set, p, PK_SUFFIX, h, (const char *)s + len - l, l,
		    fold) && !(set->fold &&
		    escaped_at((const char *)s, len - l)))
			return true;
	}
	return false;
}

static bool
match_contains(const struct patternset *set, const struct ppart *p,
    const unsigned char *s, size_t len, bool fold)
{
	size_t k, i;

	for (k = 0; k < p->ncontains_lens; k++) {
		size_t w = p->contains_lens[k];
		uint64_t h = 0, top = 1;

		if (w > len)
			continue;
		for (i = 0; i + 1 < w; i++)
			top *= set->base;
		for (i = 0; i < w; i++)
			h = hash_step(h, set->base, fold_char(s[i], fold));
		for (i = 0;; i++) {
			if (probe(set, p, PK_CONTAINS, h, (const char *)s + i,
			    w, fold) && !(set->fold &&
			    escaped_at((const char *)s, i)))
				return true;
			if (i + w >= len)
				break;
			/* Drop s[i], append s[i + w]. */
			h -= top * ((uint64_t)fold_char(s[i], fold) + 1);
			h = hash_step(h, set->base, fold_char(s[i + w], fold));
		}
	}
	return false;
}

static bool
ppart_match_folded(const struct patternset *set, const struct ppart *p,
    const char *s, size_t len, bool fold)
{
	if (match_ends(set, p, (const unsigned char *)s, len, fold))
		return true;
	return p->ncontains_lens > 0 &&
	    match_contains(set, p, (const unsigned char *)s, len, fold);
}

static bool
ppart_match(const struct patternset *set, const struct ppart *p,
    const char *s, size_t len)
{
	char buf[PATTERN_MAX_LEN];
	size_t i;

	if (p->any)
		return true;
	if (p->used == 0)
		return false;
	/* Fold once, then compare bytes; longer subjects fold as they go. */
	if (!set->fold || len > sizeof(buf))
		return ppart_match_folded(set, p, s, len, set->fold);
	for (i = 0; i < len; i++)
		buf[i] = (char)fold_char((unsigned char)s[i], true);
	return ppart_match_folded(set, p, buf, len, false);
}

bool
patternset_match_exempt(const struct patternset *set, const char *s,
    size_t len)
{
	return set != NULL && ppart_match(set, &set->exempt, s, len);
}

bool
patternset_match_include(const struct patternset *set, const char *s,
    size_t len)
{
	return set != NULL && ppart_match(set, &set->include, s, len);
}

bool
patternset_has_include(const struct patternset *set)
{
	return set != NULL && (set->include.any || set->include.used > 0);
}

bool
patternset_match(const struct patternset *set, const char *s, size_t len)
{
	if (set == NULL || set->nitems == 0)
		return false;
	if (patternset_match_exempt(set, s, len))
		return false;
	return patternset_match_include(set, s, len);
}

/* ---- addresses ---- */

int
ipaddr_parse(const char *text, size_t len, struct ipaddr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out->bytes) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out->bytes) != 1)
		return -1;
	out->family = 6;
	ipaddr_normalize(out);
	return 0;
}

void
ipaddr_normalize(struct ipaddr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	/* RFC 4291 2.5.5.2: checked as the IPv4 address it carries. */
	if (a->family == 6 && memcmp(a->bytes, mapped, sizeof(mapped)) == 0) {
		memmove(a->bytes, a->bytes + 12, 4);
		memset(a->bytes + 4, 0, 12);
		a->family = 4;
	}
}

const char *
ipaddr_format(const struct ipaddr *a, char *buf, size_t buflen)
{
	if (a->family == 0 || inet_ntop(a->family == 4 ? AF_INET : AF_INET6,
	    a->bytes, buf, (socklen_t)buflen) == NULL)
		snprintf(buf, buflen, "unknown");
	return buf;
}

bool
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	size_t n = a->family == 4 ? 4 : 16;

	return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

typedef unsigned __int128 u128;

struct range4 { uint32_t lo, hi; };
struct range6 { u128 lo, hi; };

struct cidrset {
	char **items;
	size_t nitems;
	struct range4 *r4;
	size_t n4, cap4;
	struct range6 *r6;
	size_t n6, cap6;
};

static u128
bytes_to_u128(const uint8_t *b, size_t n)
{
	u128 v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

struct cidrset *
cidrset_new(void)
{
	return calloc(1, sizeof(struct cidrset));
}

void
cidrset_free(struct cidrset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nitems; i++)
		free(set->items[i]);
	free(set->items);
	free(set->r4);
	free(set->r6);
	free(set);
}

static int
parse_prefix_len(const char *t, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (t[i] < '0' || t[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(t[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
cidr_push(struct cidrset *set, const struct ipaddr *a, unsigned plen)
{
	if (a->family == 4) {
		uint32_t v = (uint32_t)bytes_to_u128(a->bytes, 4);
		uint32_t m = plen == 0 ? 0 : UINT32_MAX << (32 - plen);

		if (set->n4 == set->cap4) {
			size_t nc = set->cap4 ? set->cap4 * 2 : 8;
			struct range4 *n = realloc(set->r4, nc * sizeof(*n));

			if (n == NULL)
				return -1;
			set->r4 = n;
			set->cap4 = nc;
		}
		set->r4[set->n4].lo = v & m;
		set->r4[set->n4++].hi = (v & m) | ~m;
	} else {
		u128 v = bytes_to_u128(a->bytes, 16);
		u128 m = plen == 0 ? 0 : ~(u128)0 << (128 - plen);

		if (set->n6 == set->cap6) {
			size_t nc = set->cap6 ? set->cap6 * 2 : 8;
			struct range6 *n = realloc(set->r6, nc * sizeof(*n));

			if (n == NULL)
				return -1;
			set->r6 = n;
			set->cap6 = nc;
		}
		set->r6[set->n6].lo = v & m;
		set->r6[set->n6++].hi = (v & m) | ~m;
	}
	return 0;
}

int
cidrset_add(struct cidrset *set, const char *text, size_t len)
{
	const char *slash = memchr(text, '/', len);
	size_t alen = slash ? (size_t)(slash - text) : len;
	struct ipaddr a;
	unsigned plen, max;
	char **items, *copy;
	bool mapped;

	if (ipaddr_parse(text, alen, &a) == -1)
		return -1;
	mapped = a.family == 4 && memchr(text, ':', alen) != NULL;
	max = (a.family == 4 && !mapped) ? 32 : 128;
	plen = max;
	if (slash != NULL && parse_prefix_len(slash + 1, len - alen - 1, max,
	    &plen) == -1)
		return -1;
	if (mapped) {
		/* ::ffff:a.b.c.d/N covers IPv4 a.b.c.d/(N-96). */
		if (plen < 96)
			return -1;
		plen -= 96;
	}
	if ((items = realloc(set->items, (set->nitems + 1) *
	    sizeof(*items))) == NULL)
		return -1;
	set->items = items;
	if ((copy = strndup(text, len)) == NULL)
		return -1;
	if (cidr_push(set, &a, plen) == -1) {
		free(copy);
		return -1;
	}
	set->items[set->nitems++] = copy;
	return 0;
}

int
cidrset_add_inert(struct cidrset *set, const char *text, size_t len)
{
	char **items, *copy;

	if ((items = realloc(set->items, (set->nitems + 1) *
	    sizeof(*items))) == NULL)
		return -1;
	set->items = items;
	if ((copy = strndup(text, len)) == NULL)
		return -1;
	set->items[set->nitems++] = copy;
	return 0;
}

static int
cmp_range4(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int
cmp_range6(const void *a, const void *b)
{
	const struct range6 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int
cidrset_build(struct cidrset *set)
{
	size_t i, o;

	if (set->n4 > 1)
		qsort(set->r4, set->n4, sizeof(*set->r4), cmp_range4);
	for (i = 0, o = 0; i < set->n4; i++) {
		if (o > 0 && (uint64_t)set->r4[i].lo <=
		    (uint64_t)set->r4[o - 1].hi + 1) {
			if (set->r4[i].hi > set->r4[o - 1].hi)
				set->r4[o - 1].hi = set->r4[i].hi;
		} else
			set->r4[o++] = set->r4[i];
	}
	set->n4 = o;
	if (set->n6 > 1)
		qsort(set->r6, set->n6, sizeof(*set->r6), cmp_range6);
	for (i = 0, o = 0; i < set->n6; i++) {
		if (o > 0 && (set->r6[i].lo <= set->r6[o - 1].hi ||
		    set->r6[i].lo == set->r6[o - 1].hi + 1)) {
			if (set->r6[i].hi > set->r6[o - 1].hi)
				set->r6[o - 1].hi = set->r6[i].hi;
		} else
			set->r6[o++] = set->r6[i];
	}
	set->n6 = o;
	return 0;
}

size_t
cidrset_count(const struct cidrset *set)
{
	return set == NULL ? 0 : set->nitems;
}

const char *
cidrset_item(const struct cidrset *set, size_t i)
{
	return i < set->nitems ? set->items[i] : NULL;
}

bool
cidrset_match(const struct cidrset *set, const struct ipaddr *addr)
{
	struct ipaddr norm = *addr;
	const struct ipaddr *a = &norm;
	size_t lo = 0, hi;

	if (set == NULL)
		return false;
	ipaddr_normalize(&norm);
	if (a->family == 4) {
		uint32_t v = (uint32_t)bytes_to_u128(a->bytes, 4);

		hi = set->n4;
		while (lo < hi) {	/* first range with lo > v */
			size_t mid = lo + (hi - lo) / 2;

			if (set->r4[mid].lo <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo > 0 && v <= set->r4[lo - 1].hi;
	}
	if (a->family == 6) {
		u128 v = bytes_to_u128(a->bytes, 16);

		hi = set->n6;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (set->r6[mid].lo <= v)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo > 0 && v <= set->r6[lo - 1].hi;
	}
	return false;
}

/* ---- ports ---- */

struct prange { uint16_t lo, hi; };	/* lo > hi: inert */

struct portset {
	struct prange *given;	/* as added, for printing */
	size_t ngiven;
	struct prange *merged;
	size_t nmerged;
};

struct portset *
portset_new(void)
{
	return calloc(1, sizeof(struct portset));
}

void
portset_free(struct portset *set)
{
	if (set == NULL)
		return;
	free(set->given);
	free(set->merged);
	free(set);
}

int
portset_add(struct portset *set, unsigned start, unsigned end)
{
	struct prange *n;

	if (start > end || end > 65535)
		return -1;
	if ((n = realloc(set->given, (set->ngiven + 1) * sizeof(*n))) == NULL)
		return -1;
	set->given = n;
	n[set->ngiven].lo = (uint16_t)start;
	n[set->ngiven++].hi = (uint16_t)end;
	return 0;
}

int
portset_add_inert(struct portset *set, unsigned start, unsigned end)
{
	struct prange *n;

	if (start > 65535 || end > 65535)
		return -1;
	if ((n = realloc(set->given, (set->ngiven + 1) * sizeof(*n))) == NULL)
		return -1;
	set->given = n;
	n[set->ngiven].lo = (uint16_t)start;
	n[set->ngiven++].hi = (uint16_t)end;
	return 0;
}

static int
cmp_prange(const void *a, const void *b)
{
	const struct prange *x = a, *y = b;

	return (int)x->lo - (int)y->lo;
}

int
portset_build(struct portset *set)
{
	size_t i, o = 0, n;

	free(set->merged);
	set->merged = NULL;
	set->nmerged = 0;
	if (set->ngiven == 0)
		return 0;
	if ((set->merged = malloc(set->ngiven * sizeof(*set->merged))) == NULL)
		return -1;
	for (i = 0; i < set->ngiven; i++)
		if (set->given[i].lo <= set->given[i].hi)
			set->merged[o++] = set->given[i];
	n = o;
	o = 0;
	if (n > 1)
		qsort(set->merged, n, sizeof(*set->merged), cmp_prange);
	for (i = 0; i < n; i++) {
		if (o > 0 && set->merged[i].lo <= set->merged[o - 1].hi + 1) {
			if (set->merged[i].hi > set->merged[o - 1].hi)
				set->merged[o - 1].hi = set->merged[i].hi;
		} else
			set->merged[o++] = set->merged[i];
	}
	set->nmerged = o;
	return 0;
}

size_t
portset_count(const struct portset *set)
{
	return set == NULL ? 0 : set->ngiven;
}

void
portset_item(const struct portset *set, size_t i, unsigned *start,
    unsigned *end)
{
	*start = set->given[i].lo;
	*end = set->given[i].hi;
}

bool
portset_match(const struct portset *set, unsigned port)
{
	size_t lo = 0, hi;

	if (set == NULL)
		return false;
	hi = set->nmerged;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->merged[mid].lo <= port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && port <= set->merged[lo - 1].hi;
}
