/*
 * audit — verdicts into audit records (SPEC section 4), aggregated and
 * queued without blocking the enforcement point, then written to sinks.
 *
 * audit_verdict() and audit_submit() never block. Identical records (same
 * attack type, effect, rule, process path and object: domain, ip, port,
 * filepath) within the aggregation window are one: the first goes out at
 * once, the repeats are only counted (no record is built for them) and go
 * out as one record with their count when the window closes.
 *
 * Memory is bounded: records that went out are remembered compactly (what
 * records of one origin share is kept once; a record keeps its object and
 * counters, some 80 bytes for a DNS name) in an arena that grows by
 * doubling on demand up to a cap (aggregate_max records, 128 bytes a record
 * on average), is rebuilt once half of it has expired and is freed when
 * nothing is remembered, so an idle shipper holds none of it. Allocation
 * is therefore bounded and amortised. Past the cap records still go out,
 * one by one, and are counted (stats.unaggregated) and reported. Queued
 * records are kept as their JSON lines in a fixed buffer; when it is full
 * records are dropped and counted, and the drop count is reported.
 */
#ifndef FNGUARD_AUDIT_H
#define FNGUARD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/rules.h"

/* Field sizes: longer values are cut (commands end in "..."). */
#define AUDIT_NAME_LEN 256
#define AUDIT_PATH_LEN 1024
#define AUDIT_MSG_LEN 2048

struct audit_record {
	int64_t time_ms;
	char function[AUDIT_NAME_LEN], region[64], provider[16];
	char account[AUDIT_NAME_LEN], runtime[64], request_id[AUDIT_NAME_LEN];
	const char *type;		/* static: processes/network/filesystem */
	enum attack_type attack;
	enum verdict_kind effect;	/* alert or prevent */
	char rule_name[AUDIT_NAME_LEN];
	char msg[AUDIT_MSG_LEN];
	uint64_t count;
	const char *severity;		/* static: low/medium/high */
	char process_path[AUDIT_PATH_LEN];
	long pid;
	char command[AUDIT_PATH_LEN];
	char user[64];
	char domain[AUDIT_NAME_LEN * 4];	/* escaped names can be long */
	char ip[48];
	int port;			/* -1: none */
	char filepath[AUDIT_PATH_LEN];
};

/*
 * Fills rec from a non-allow verdict for event ev of function id (the
 * event's own identity fields are used where id's are empty).
 */
void audit_record_from_verdict(struct audit_record *rec,
    const struct identity *id, const struct event *ev,
    const struct verdict *v);

/* The policyHijacked record: "Possible tampering of Defender policy
 * detected." */
void audit_record_hijack(struct audit_record *rec, const struct identity *id,
    int64_t now_ms);

/* The exact SPEC message for a verdict on an event, into buf. */
void audit_message(const struct verdict *v, const struct event *ev,
    char *buf, size_t len);

/* One JSON line (with '\n') into buf; returns its length, or 0 when it
 * does not fit. */
size_t audit_record_json(const struct audit_record *rec, char *buf,
    size_t len);

/* ---- sinks ---- */

struct sink;

struct sink_ops {
	const char *name;
	/* Does this sink take dest? */
	bool (*accepts)(const char *dest);
	int (*open)(struct sink *, const char *dest);
	/* Writes whole JSON lines. Returns 0, or -1 (the records are lost
	 * for this sink and counted). */
	int (*write)(struct sink *, const char *line, size_t len);
	void (*close)(struct sink *);
};

struct sink {
	const struct sink_ops *ops;
	void *state;
	int fd;
	uint64_t failures;
};

extern const struct sink_ops sink_file_ops;

/* ---- the shipper ---- */

struct audit;

struct audit_config {
	size_t queue_size;		/* records between flushes; default 512 */
	size_t aggregate_max;		/* records remembered; default 262144 */
	int64_t window_ms;		/* default 10000 */
};

struct audit *audit_new(const struct audit_config *);
void audit_free(struct audit *);	/* flushes and closes sinks */

/* Adds a sink for dest ("-" = stderr, a path = append). Returns 0, or -1
 * when no sink takes dest or it cannot be opened. */
int audit_add_sink(struct audit *, const char *dest);

/*
 * Audits a non-allow verdict for event ev of function id (allow: nothing):
 * the record is built (audit_record_from_verdict) only when it goes out;
 * a repeat within its window is only counted. Never blocks.
 */
void audit_verdict(struct audit *, const struct identity *id,
    const struct event *ev, const struct verdict *v, int64_t now_ms);

/* Queues a built record (copied), aggregated like audit_verdict's; a
 * record with count n stands for n. Never blocks. */
void audit_submit(struct audit *, const struct audit_record *, int64_t now_ms);

/* Emits aggregated counts whose window has closed (all when force),
 * writing the queue to the sinks whenever it fills meanwhile. */
void audit_tick(struct audit *, int64_t now_ms, bool force);

/* Writes queued records to every sink. */
void audit_flush(struct audit *);

/* True when the queue is at least half full: a busy caller flushes then,
 * between its batches, rather than once a second. */
bool audit_backlogged(const struct audit *);

struct audit_stats {
	uint64_t submitted, aggregated, dropped, written, sink_failures;
	uint64_t unaggregated;		/* went out unremembered: table full */
	uint64_t remembered;		/* records in the table now */
};

void audit_stats(const struct audit *, struct audit_stats *);

#endif
