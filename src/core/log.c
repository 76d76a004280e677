/* log — see include/fnguard/log.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/log.h"

static int log_verbose;

void
log_init(int verbose)
{
	log_verbose = verbose;
}

static void log_vwrite(const char *, va_list, const char *)
    __attribute__((format(printf, 1, 0)));

static void
log_vwrite(const char *fmt, va_list ap, const char *errtext)
{
	char line[2048];
	int off;

	off = snprintf(line, sizeof(line), "fnguard: ");
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	/* One write per line so concurrent writers do not interleave. */
	if (errtext != NULL)
		fprintf(stderr, "%s: %s\n", line, errtext);
	else
		fprintf(stderr, "%s\n", line);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 0)
		return;
	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
