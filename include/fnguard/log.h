/*
 * log — one logging vocabulary for the whole program.
 *
 * Log lines are plain text starting "fnguard: " on stderr, so they can share
 * stderr with JSON audit lines and still be told apart.
 */
#ifndef FNGUARD_LOG_H
#define FNGUARD_LOG_H

#include <stdarg.h>

/* Set the verbosity: -1 = warnings only (fnguard run shares the
 * command's stderr), 0 = warnings and info, 1 = also debug. */
void log_init(int verbose);

/* Warning with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failure or broken invariant: log and exit(1). */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
