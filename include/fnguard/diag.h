/*
 * diag — errors and warnings about an input document, each naming its place
 * ("rules[2].dns.whitelist[0]") so that a user can find it.
 */
#ifndef FNGUARD_DIAG_H
#define FNGUARD_DIAG_H

#include <stddef.h>

enum diag_level { DIAG_WARNING, DIAG_ERROR };

struct diag {
	enum diag_level level;
	char *place;		/* "" for the whole document */
	char *message;
};

struct diags {
	struct diag *items;
	size_t count, cap;
	size_t errors;
	size_t dropped;		/* beyond DIAGS_MAX */
};

#define DIAGS_MAX 1000

void diags_init(struct diags *);
void diags_clear(struct diags *);
void diags_add(struct diags *, enum diag_level, const char *place,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "place: message" of the first error, for one-line reports; "" if none. */
const char *diags_first_error(const struct diags *, char *buf, size_t len);

#endif
