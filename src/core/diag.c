/* diag — see include/fnguard/diag.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/diag.h"

void
diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
diags_clear(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->count; i++) {
		free(d->items[i].place);
		free(d->items[i].message);
	}
	free(d->items);
	diags_init(d);
}

void
diags_add(struct diags *d, enum diag_level level, const char *place,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	struct diag *n;

	if (level == DIAG_ERROR)
		d->errors++;
	if (d->count >= DIAGS_MAX) {
		d->dropped++;
		return;
	}
	if (d->count == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 16;

		if ((n = realloc(d->items, nc * sizeof(*n))) == NULL) {
			d->dropped++;
			return;
		}
		d->items = n;
		d->cap = nc;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = &d->items[d->count];
	n->level = level;
	n->place = strdup(place != NULL ? place : "");
	n->message = strdup(msg);
	if (n->place == NULL || n->message == NULL) {
		free(n->place);
		free(n->message);
		d->dropped++;
		return;
	}
	d->count++;
}

const char *
diags_first_error(const struct diags *d, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < d->count; i++) {
		if (d->items[i].level != DIAG_ERROR)
			continue;
		if (d->items[i].place[0] != '\0')
			snprintf(buf, len, "%s: %s", d->items[i].place,
			    d->items[i].message);
		else
			snprintf(buf, len, "%s", d->items[i].message);
		break;
	}
	return buf;
}
