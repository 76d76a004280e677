/*
 * event — one struct for everything an enforcement point observes (SPEC
 * section 6), and its JSON form, which is the recording and replay format.
 */
#ifndef FNGUARD_EVENT_H
#define FNGUARD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fnguard/pattern.h"

enum event_kind {
	EVENT_DNS, EVENT_EXEC, EVENT_CONNECT, EVENT_SENDTO, EVENT_LISTEN,
	EVENT_ACCEPT, EVENT_OPEN, EVENT_CREATE, EVENT_UNLINK, EVENT_RENAME,
	EVENT_LINK, EVENT_MKDIR, EVENT_RMDIR, EVENT_CHMOD, EVENT_CHOWN,
	EVENT_TRUNCATE,
	EVENT_KIND_COUNT
};

enum event_access { ACCESS_NONE, ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC };
enum event_proto { PROTO_NONE, PROTO_TCP, PROTO_UDP };

#define EVENT_MAX_ANSWERS 64
#define EVENT_MAX_LABELS 16

/*
 * Strings are borrowed: from the caller's buffers on the enforcement paths,
 * from the parsed JSON for replay (struct event_doc owns them). NULL means
 * absent.
 */
struct event {
	enum event_kind kind;
	int64_t time_ms;		/* Unix ms; 0 when unknown */

	/* identity as recorded (replay flags override) */
	const char *function, *region, *provider, *account;
	const char *labels[EVENT_MAX_LABELS];
	size_t nlabels;

	/* the acting process */
	const char *process_path;
	long pid;
	const char *command;
	const char *user;
	bool main_process;
	const char *interpreter;	/* exec of a script: its interpreter */

	/* objects */
	const char *domain;		/* dns name; connect SNI/Host */
	bool miner_protocol;		/* connect: stratum seen on the wire */
	struct ipaddr answers[EVENT_MAX_ANSWERS];
	size_t nanswers;
	uint32_t ttl;
	struct ipaddr ip;		/* family 0 = none */
	int port;			/* -1 = none */
	enum event_proto proto;
	const char *filepath, *newpath;
	enum event_access access;

	/* Set by the caller, not recorded: the destination was returned by
	 * an allowed DNS answer still valid (requireResolved). */
	bool resolved;
};

void event_init(struct event *, enum event_kind);

const char *event_kind_name(enum event_kind);
/* Returns -1 for an unknown name. */
int event_kind_parse(const char *name, enum event_kind *out);
/* The SPEC "type" of an event: processes, network or filesystem. */
const char *event_type_name(enum event_kind);
bool event_is_filesystem(enum event_kind);

/* An event parsed from a JSON line, with the storage its strings live in. */
struct event_doc {
	struct event ev;
	void *json;			/* owned */
	bool from_audit;		/* the line was an audit record */
};

/*
 * Parses one JSON line: a recorded event (SPEC section 6) or an audit record
 * (SPEC section 4, turned back into the event it reports). Returns 0, or -1
 * with a one-line reason in err.
 */
int event_parse(const char *line, size_t len, struct event_doc *out,
    char *err, size_t errlen);
void event_doc_clear(struct event_doc *);

/* The event as a JSON object (jansson json_t *, caller decrefs). */
void *event_to_json(const struct event *);

/* RFC 3339 UTC with milliseconds: "2026-11-29T06:00:00.000Z". */
void event_format_time(int64_t time_ms, char *buf, size_t len);
int event_parse_time(const char *text, int64_t *out_ms);

#endif
