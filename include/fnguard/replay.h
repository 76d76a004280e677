/*
 * replay — evaluating recorded events in order, as enforcement would have:
 * each event's function identity (with overrides), and the addresses that
 * allowed DNS answers taught, for requireResolved.
 */
#ifndef FNGUARD_REPLAY_H
#define FNGUARD_REPLAY_H

#include <stdio.h>

#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/ipmap.h"
#include "fnguard/policy.h"
#include "fnguard/rules.h"

struct replay_overrides {
	const char *function, *region, *provider, *account;
	const char *labels[IDENTITY_MAX_LABELS];
	size_t nlabels;
};

struct replayer;

/* pol may be NULL (everything allowed); both must outlive the replayer. */
struct replayer *replayer_new(const struct policy *pol,
    const struct replay_overrides *ov);
void replayer_free(struct replayer *);

/* The identity an event is judged under: the overrides, else its own. */
void replayer_identity(const struct replayer *, const struct event *,
    struct identity *out);

/* Evaluates ev (in recording order): connect/sendto destinations are
 * looked up among learned addresses; an allowed dns event teaches its
 * answers. */
void replayer_eval(struct replayer *, const struct event *ev,
    struct verdict *out);

/* Was ev's destination returned by a DNS answer that taught this replayer
 * and is still valid at ev's time? */
bool replayer_resolved(const struct replayer *, const struct event *ev);

/*
 * Reads a JSON-lines file ("-" = stdin), calling fn for each non-blank
 * line with its number; fn gets the parsed event, or NULL and the reason
 * for a broken line. Returns 0, or -1 when the file cannot be read.
 */
typedef void (*replay_line_fn)(const char *file, size_t lineno,
    const struct event_doc *doc, const char *error, void *arg);
int replay_read_file(const char *path, replay_line_fn fn, void *arg);

/* Largest line read; a longer one is reported broken. */
#define REPLAY_MAX_LINE (1024 * 1024)

#endif
