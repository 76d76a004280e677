/*
 * dnscache — see include/fnguard/dnscache.h. A chained hash table over the
 * key, and a doubly linked list in use order for eviction.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fnguard/dnscache.h"

struct node {
	struct dnscache_entry e;
	uint8_t key[DNS_MAX_WIRE_NAME + 5];
	size_t key_len;
	uint64_t hash;
	struct node *chain;		/* next in bucket */
	struct node *newer, *older;	/* use order */
};

struct dnscache {
	struct node **buckets;
	size_t nbuckets;		/* power of two */
	struct node *newest, *oldest;
	size_t count, bytes, max_bytes;
};

/* Lower-cased name, type, class, DO: answers differ on each. */
static size_t
make_key(const struct dns_query *q, uint8_t *key)
{
	size_t i;

	for (i = 0; i < q->qname_len; i++) {
		uint8_t c = q->qname[i];

		key[i] = c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
	}
	key[i++] = (uint8_t)(q->qtype >> 8);
	key[i++] = (uint8_t)q->qtype;
	key[i++] = (uint8_t)(q->qclass >> 8);
	key[i++] = (uint8_t)q->qclass;
	key[i++] = q->dnssec_ok;
	return i;
}

static uint64_t
key_hash(const uint8_t *key, size_t len)
{
	uint64_t h = UINT64_C(1469598103934665603);
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ key[i]) * UINT64_C(1099511628211);
	return h ^ (h >> 31);
}

struct dnscache *
dnscache_new(size_t max_bytes)
{
	struct dnscache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->nbuckets = 1024;
	while (c->nbuckets < max_bytes / 512 && c->nbuckets < (1u << 20))
		c->nbuckets *= 2;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	c->max_bytes = max_bytes;
	return c;
}

static void
unlink_node(struct dnscache *c, struct node *n)
{
	struct node **pp = &c->buckets[n->hash & (c->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->chain;
	*pp = n->chain;
	if (n->newer != NULL)
		n->newer->older = n->older;
	else
		c->newest = n->older;
	if (n->older != NULL)
		n->older->newer = n->newer;
	else
		c->oldest = n->newer;
	c->count--;
	c->bytes -= sizeof(*n) + n->e.len;
	free(n->e.msg);
	free(n);
}

void
dnscache_free(struct dnscache *c)
{
	if (c == NULL)
		return;
	while (c->oldest != NULL)
		unlink_node(c, c->oldest);
	free(c->buckets);
	free(c);
}

static void
make_newest(struct dnscache *c, struct node *n)
{
	if (c->newest == n)
		return;
	/* out of the list */
	if (n->newer != NULL)
		n->newer->older = n->older;
	if (n->older != NULL)
		n->older->newer = n->newer;
	else if (c->oldest == n)
		c->oldest = n->newer;
	/* in at the front */
	n->older = c->newest;
	n->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = n;
	c->newest = n;
	if (c->oldest == NULL)
		c->oldest = n;
}

static struct node *
find(const struct dnscache *c, const uint8_t *key, size_t len, uint64_t h)
{
	struct node *n;

	for (n = c->buckets[h & (c->nbuckets - 1)]; n != NULL; n = n->chain)
		if (n->hash == h && n->key_len == len &&
		    memcmp(n->key, key, len) == 0)
			return n;
	return NULL;
}

const struct dnscache_entry *
dnscache_get(struct dnscache *c, const struct dns_query *q, int64_t now_ms)
{
	uint8_t key[DNS_MAX_WIRE_NAME + 5];
	size_t len = make_key(q, key);
	uint64_t h = key_hash(key, len);
	struct node *n = find(c, key, len, h);

	if (n == NULL)
		return NULL;
	if (n->e.expires_ms <= now_ms) {
		unlink_node(c, n);
		return NULL;
	}
	make_newest(c, n);
	return &n->e;
}

int
dnscache_put(struct dnscache *c, const struct dns_query *q,
    const uint8_t *msg, size_t len, const struct dns_answer_info *info,
    int64_t now_ms)
{
	struct node *n, *old;
	uint32_t ttl = info->min_ttl;
	size_t need = sizeof(*n) + len;

	if (!info->has_ttl || ttl == 0 || info->too_many_ttls ||
	    need > c->max_bytes)
		return -1;
	if (ttl > DNSCACHE_MAX_TTL)
		ttl = DNSCACHE_MAX_TTL;
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->e.msg = malloc(len)) == NULL) {
		free(n);
		return -1;
	}
	memcpy(n->e.msg, msg, len);
	n->e.len = len;
	n->e.info = *info;
	n->e.stored_ms = now_ms;
	n->e.expires_ms = now_ms + (int64_t)ttl * 1000;
	n->key_len = make_key(q, n->key);
	n->hash = key_hash(n->key, n->key_len);
	if ((old = find(c, n->key, n->key_len, n->hash)) != NULL)
		unlink_node(c, old);
	while (c->bytes + need > c->max_bytes && c->oldest != NULL)
		unlink_node(c, c->oldest);
	n->chain = c->buckets[n->hash & (c->nbuckets - 1)];
	c->buckets[n->hash & (c->nbuckets - 1)] = n;
	n->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = n;
	c->newest = n;
	if (c->oldest == NULL)
		c->oldest = n;
	c->count++;
	c->bytes += need;
	return 0;
}

size_t
dnscache_count(const struct dnscache *c)
{
	return c->count;
}

size_t
dnscache_bytes(const struct dnscache *c)
{
	return c->bytes;
}
