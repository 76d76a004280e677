/*
 * pattern — the matching semantics of policy lists (SPEC section 2), and the
 * structures that keep lookups fast when lists are large.
 *
 *   "*x"   ends with x        "x*"  starts with x
 *   "*x*"  contains x         "x"   exact
 *   "*"    anything           "-p"  exemption: checked first, a match of an
 *                                   exemption means the list does not match
 *
 * Names and domains compare case-insensitively (ASCII), paths exactly.
 * Pure: no I/O, no logging.
 */
#ifndef FNGUARD_PATTERN_H
#define FNGUARD_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest pattern or subject that can be matched (bytes). */
#define PATTERN_MAX_LEN 4096

/* Reference semantics of one pattern (without the '-' prefix). */
bool pattern_match(const char *pattern, size_t plen, const char *subject,
    size_t slen, bool fold_case);

/* Why a pattern string is odd; NULL when it is fine. Used by check. */
const char *pattern_lint(const char *pattern, size_t plen);

/*
 * A set of patterns answered without scanning the list: exact patterns in a
 * hash table; prefix, suffix and substring patterns by rolling hashes of the
 * subject, probed only at lengths that some pattern has, behind a bitmap
 * filter. Lookup costs O(subject length), whatever the list size.
 */
struct patternset;

struct patternset *patternset_new(bool fold_case);
void patternset_free(struct patternset *);
/* Adds one pattern (a leading '-' makes it an exemption). Returns 0, or -1
 * when it is empty or longer than PATTERN_MAX_LEN or memory ran out. */
int patternset_add(struct patternset *, const char *pattern, size_t len);
/* Gives back the spare room of the arrays once the last pattern is in. */
void patternset_compact(struct patternset *);
/* Number of patterns added (exemptions included). */
size_t patternset_count(const struct patternset *);
/* The i-th pattern as added (with its '-' when an exemption); valid until
 * the set changes. */
const char *patternset_item(const struct patternset *, size_t i);
/* True when an exemption matches. */
bool patternset_match_exempt(const struct patternset *, const char *s,
    size_t len);
/* True when a (non-exemption) pattern matches. */
bool patternset_match_include(const struct patternset *, const char *s,
    size_t len);
/* True when the set holds any non-exemption pattern. */
bool patternset_has_include(const struct patternset *);
/* The list's verdict: no exemption matches and some pattern does. */
bool patternset_match(const struct patternset *, const char *s, size_t len);

/* An IP address; IPv4 is stored as family 4 even when written mapped. */
struct ipaddr {
	uint8_t family;		/* 4 or 6; 0 = none */
	uint8_t bytes[16];	/* v4 in bytes[0..3] */
};

/* Parses "1.2.3.4", "2001:db8::1", "::ffff:1.2.3.4" (becomes v4). */
int ipaddr_parse(const char *text, size_t len, struct ipaddr *out);
/* An IPv4-mapped IPv6 address (as an AF_INET6 socket reports it) becomes
 * the IPv4 address; others are left alone. */
void ipaddr_normalize(struct ipaddr *);
/* Formats into buf (at least 46 bytes). Returns buf. */
const char *ipaddr_format(const struct ipaddr *, char *buf, size_t buflen);
bool ipaddr_equal(const struct ipaddr *, const struct ipaddr *);

/* A set of addresses and CIDR blocks, v4 and v6, as sorted disjoint
 * intervals: binary search per lookup. */
struct cidrset;

struct cidrset *cidrset_new(void);
void cidrset_free(struct cidrset *);
/* Adds "addr" or "addr/len". Returns 0, or -1 when unparseable. */
int cidrset_add(struct cidrset *, const char *text, size_t len);
/* Keeps text as an item (for printing the list back) that matches
 * nothing: an unparseable entry still makes a whitelist non-empty. */
int cidrset_add_inert(struct cidrset *, const char *text, size_t len);
/* Sorts and merges; must be called after the last add, before matching. */
int cidrset_build(struct cidrset *);
size_t cidrset_count(const struct cidrset *);
const char *cidrset_item(const struct cidrset *, size_t i);
bool cidrset_match(const struct cidrset *, const struct ipaddr *);

/* A set of port ranges. */
struct portset;

struct portset *portset_new(void);
void portset_free(struct portset *);
/* Adds [start, end]; both in 0..65535. Returns -1 when start > end. */
int portset_add(struct portset *, unsigned start, unsigned end);
/* Keeps [start, end] as an item that matches nothing (start > end). */
int portset_add_inert(struct portset *, unsigned start, unsigned end);
int portset_build(struct portset *);
size_t portset_count(const struct portset *);
void portset_item(const struct portset *, size_t i, unsigned *start,
    unsigned *end);
bool portset_match(const struct portset *, unsigned port);

#endif
