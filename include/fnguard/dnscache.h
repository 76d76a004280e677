/*
 * dnscache — upstream answers kept by TTL (RFC 1035 7.4; negative answers
 * by RFC 2308), bounded in bytes, least recently used evicted first.
 * Pure: the caller passes the time.
 */
#ifndef FNGUARD_DNSCACHE_H
#define FNGUARD_DNSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "fnguard/dnswire.h"

/* No answer is kept longer than this, whatever its TTL says. */
#define DNSCACHE_MAX_TTL 86400

struct dnscache_entry {
	uint8_t *msg;
	size_t len;
	struct dns_answer_info info;
	int64_t stored_ms, expires_ms;
};

struct dnscache;

/* max_bytes: the budget for entries and their messages together. */
struct dnscache *dnscache_new(size_t max_bytes);
void dnscache_free(struct dnscache *);

/* The live entry answering q (same name ignoring case, type, class, DO
 * bit), or NULL. Valid until the next put. */
const struct dnscache_entry *dnscache_get(struct dnscache *,
    const struct dns_query *q, int64_t now_ms);

/* Stores a copy of an answer for info->min_ttl seconds (nothing when the
 * TTL is 0 or unknown, or the answer is bigger than the budget). Returns
 * 0 when stored. */
int dnscache_put(struct dnscache *, const struct dns_query *q,
    const uint8_t *msg, size_t len, const struct dns_answer_info *info,
    int64_t now_ms);

size_t dnscache_count(const struct dnscache *);
size_t dnscache_bytes(const struct dnscache *);

#endif
