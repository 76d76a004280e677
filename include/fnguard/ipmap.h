/*
 * ipmap — addresses that allowed DNS answers returned, with their expiry
 * (answer TTL plus a grace), for requireResolved. Bounded: a cap per answer
 * and in total; when full, the oldest entry makes room.
 */
#ifndef FNGUARD_IPMAP_H
#define FNGUARD_IPMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fnguard/pattern.h"

#define IPMAP_DEFAULT_MAX 16384
#define IPMAP_DEFAULT_PER_NAME 32
#define IPMAP_DEFAULT_GRACE_S 120

struct ipmap;

struct ipmap *ipmap_new(size_t max_total, size_t max_per_name,
    uint32_t grace_s);
void ipmap_free(struct ipmap *);

/* Remembers addrs as returned for domain, valid until now + ttl + grace.
 * At most max_per_name of them are kept per call. */
void ipmap_learn(struct ipmap *, const char *domain,
    const struct ipaddr *addrs, size_t n, uint32_t ttl_s, int64_t now_ms);

/* True when addr is known and not expired at now; *domain (if non-NULL)
 * gets the name it was learned for, valid until the next learn. */
bool ipmap_lookup(const struct ipmap *, const struct ipaddr *addr,
    int64_t now_ms, const char **domain);

size_t ipmap_count(const struct ipmap *);

#endif
