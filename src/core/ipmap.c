/*
 * ipmap — see include/fnguard/ipmap.h.
 *
 * Entries live in a fixed array used as a ring (so the oldest is always the
 * next to be overwritten: O(1) eviction, bounded memory); an open-addressing
 * index with linear probing finds them by address.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fnguard/ipmap.h"

#define NAME_MAX_LEN 255

struct ipentry {
	struct ipaddr addr;
	int64_t expires_ms;
	bool used;
	char domain[NAME_MAX_LEN + 1];
};

struct ipmap {
	struct ipentry *entries;
	size_t max, next, count;
	uint32_t *index;	/* entry + 1; 0 = empty */
	size_t index_mask;
	size_t per_name;
	uint32_t grace_s;
};

static size_t
addr_hash(const struct ipaddr *a)
{
	uint64_t h = UINT64_C(1469598103934665603) ^ a->family;
	size_t i, n = a->family == 4 ? 4 : 16;

	for (i = 0; i < n; i++)
		h = (h ^ a->bytes[i]) * UINT64_C(1099511628211);
	return (size_t)(h ^ (h >> 29));
}

struct ipmap *
ipmap_new(size_t max_total, size_t max_per_name, uint32_t grace_s)
{
	struct ipmap *m = calloc(1, sizeof(*m));
	size_t cap = 16;

	if (m == NULL || max_total == 0)
		goto fail;
	while (cap < max_total * 2)
		cap *= 2;
	m->entries = calloc(max_total, sizeof(*m->entries));
	m->index = calloc(cap, sizeof(*m->index));
	if (m->entries == NULL || m->index == NULL)
		goto fail;
	m->max = max_total;
	m->index_mask = cap - 1;
	m->per_name = max_per_name;
	m->grace_s = grace_s;
	return m;
fail:
	ipmap_free(m);
	return NULL;
}

void
ipmap_free(struct ipmap *m)
{
	if (m == NULL)
		return;
	free(m->entries);
	free(m->index);
	free(m);
}

size_t
ipmap_count(const struct ipmap *m)
{
	return m->count;
}

/* Index slot holding addr, or the empty slot where it would go. */
static size_t
find_slot(const struct ipmap *m, const struct ipaddr *a)
{
	size_t j = addr_hash(a) & m->index_mask;

	while (m->index[j] != 0 &&
	    !ipaddr_equal(&m->entries[m->index[j] - 1].addr, a))
		j = (j + 1) & m->index_mask;
	return j;
}

/* Linear-probing deletion by backward shift (Knuth 6.4, Algorithm R). */
static void
index_remove(struct ipmap *m, size_t j)
{
	size_t i = j, k;

	m->index[j] = 0;
	for (;;) {
		i = (i + 1) & m->index_mask;
		if (m->index[i] == 0)
			return;
		k = addr_hash(&m->entries[m->index[i] - 1].addr) &
		    m->index_mask;
		/* Move entry i back to j unless its home k lies in (j, i]. */
		if ((j < i) ? (k <= j || k > i) : (k <= j && k > i)) {
			m->index[j] = m->index[i];
			m->index[i] = 0;
			j = i;
		}
	}
}

static void
learn_one(struct ipmap *m, const char *domain, const struct ipaddr *addr,
    int64_t expires)
{
	struct ipaddr norm = *addr;
	const struct ipaddr *a = &norm;
	struct ipentry *e;
	size_t j;

	ipaddr_normalize(&norm);
	j = find_slot(m, a);

	if (m->index[j] != 0) {
		e = &m->entries[m->index[j] - 1];
		/* An address several names share lives as long as the
		 * longest of their answers. */
		if (expires > e->expires_ms) {
			e->expires_ms = expires;
			strncpy(e->domain, domain, NAME_MAX_LEN);
		}
		return;
	}
	e = &m->entries[m->next];
	if (e->used) {
		index_remove(m, find_slot(m, &e->addr));
		m->count--;
		j = find_slot(m, a);
	}
	memset(e, 0, sizeof(*e));
	e->addr = *a;
	e->expires_ms = expires;
	e->used = true;
	strncpy(e->domain, domain, NAME_MAX_LEN);
	m->index[j] = (uint32_t)(m->next + 1);
	m->next = (m->next + 1) % m->max;
	m->count++;
}

void
ipmap_learn(struct ipmap *m, const char *domain, const struct ipaddr *addrs,
    size_t n, uint32_t ttl_s, int64_t now_ms)
{
	int64_t expires = now_ms + ((int64_t)ttl_s + m->grace_s) * 1000;
	size_t i;

	if (n > m->per_name)
		n = m->per_name;
	for (i = 0; i < n; i++)
		if (addrs[i].family != 0)
			learn_one(m, domain, &addrs[i], expires);
}

bool
ipmap_lookup(const struct ipmap *m, const struct ipaddr *addr, int64_t now_ms,
    const char **domain)
{
	struct ipaddr a = *addr;
	const struct ipentry *e;
	size_t j;

	if (m == NULL || a.family == 0)
		return false;
	ipaddr_normalize(&a);
	j = find_slot(m, &a);
	if (m->index[j] == 0)
		return false;
	e = &m->entries[m->index[j] - 1];
	if (e->expires_ms < now_ms)
		return false;
	if (domain != NULL)
		*domain = e->domain;
	return true;
}
