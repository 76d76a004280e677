/*
 * policy — the serverless runtime policy (SPEC section 2): JSON in, a
 * validated, immutable struct policy out. A policy is built whole off to the
 * side and only then handed over, so a reader never sees a half-built one.
 */
#ifndef FNGUARD_POLICY_H
#define FNGUARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fnguard/diag.h"
#include "fnguard/pattern.h"

/* Largest policy document accepted, in bytes. */
#define POLICY_MAX_DOCUMENT (16u * 1024 * 1024)
#define POLICY_DEFAULT_INTERVAL_MS 120000

enum effect { EFFECT_DISABLE, EFFECT_ALERT, EFFECT_PREVENT };

enum denied_response { DENIED_NXDOMAIN, DENIED_REFUSED, DENIED_NODATA };

/* A list of names matched by base name (no '/') or by full path. */
struct proclist {
	struct patternset *paths;	/* patterns holding a '/', exact case */
	struct patternset *bases;	/* the others, case-folded */
	size_t count;
};

struct label_pattern {
	char *key;		/* "region" or any KEY */
	char *value;		/* a pattern */
	bool exempt;
};

struct collection {
	char *name;
	bool all;		/* named "All": matches everything */
	struct patternset *functions;	/* NULL = any */
	struct label_pattern *labels;
	size_t nlabels;
	struct patternset *accounts;	/* NULL = any */
};

struct proc_section {
	enum effect effect;
	struct proclist whitelist, blacklist;
	bool block_all_binaries;
	bool check_crypto_miners;
};

struct net_section {
	enum effect effect;
	struct cidrset *whitelist_ips, *blacklist_ips;
	struct portset *whitelist_out, *blacklist_out;
	struct portset *whitelist_listen, *blacklist_listen;
	bool require_resolved;
	struct patternset *whitelist_domains, *blacklist_domains;
	struct cidrset *whitelist_inbound;
};

struct dns_section {
	enum effect effect;
	struct patternset *whitelist, *blacklist;
	enum denied_response denied_response;
};

struct fs_section {
	enum effect effect;
	struct patternset *whitelist, *blacklist;
};

struct rule {
	char *name;
	bool disabled;
	struct collection *collections;	/* none = every function */
	size_t ncollections;
	struct proc_section processes;
	struct net_section network;
	struct dns_section dns;
	struct fs_section filesystem;
};

struct policy {
	struct rule *rules;
	size_t nrules;
	char *console_addr;		/* from a TW_POLICY wrapper, or NULL */
	uint64_t update_interval_ms;
	bool signed_ok;			/* came with a valid signature */
};

/*
 * Parses and validates a policy document: a bare policy ({"rules": [...]}),
 * a TW_POLICY wrapper ({"policy": {...}, "consoleAddr", "updateIntervalMs"})
 * or the signed form ({"payload", "sig"}) of either. Errors and warnings go
 * to diags, each with its place. Returns a new policy, or NULL when there was
 * any error (no partial policy is ever returned).
 * pubkey: raw 32-byte Ed25519 public key, or NULL; when set, only a validly
 * signed document is accepted and an unsigned or badly signed one fails
 * with *hijacked set to true.
 */
struct policy *policy_parse(const char *buf, size_t len,
    const uint8_t *pubkey, struct diags *diags, bool *hijacked);

/* Same, reading a file (which may also be gzip-compressed). */
struct policy *policy_load_file(const char *path, const uint8_t *pubkey,
    struct diags *diags, bool *hijacked);

/* Same, from a TW_POLICY value: base64 of the JSON, gzip inside detected
 * (SPEC section 3). */
struct policy *policy_from_twpolicy(const char *value, size_t len,
    const uint8_t *pubkey, struct diags *diags, bool *hijacked);

void policy_free(struct policy *);

/* The normalised policy as JSON text (caller frees), as check --print. */
char *policy_dump(const struct policy *);

const char *effect_name(enum effect);

/* True when the list matches the executable path (or its base name). */
bool proclist_match(const struct proclist *, const char *path);

#endif
