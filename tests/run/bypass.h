/*
 * bypass.h — shared by the programs of tests/integration/run_bypass.sh.
 * Each program tries one way around the launcher and prints one line per
 * attempt: "WHAT: OK" when the call succeeded, "WHAT: ENAME" when it
 * failed with errno ENAME. Lines go out unbuffered, so a process killed
 * half way still shows what it did.
 */
#ifndef BYPASS_H
#define BYPASS_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char * __attribute__((unused))
errname(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case ENOEXEC: return "ENOEXEC";
	case ENOTSUP: return "ENOTSUP";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENETUNREACH: return "ENETUNREACH";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EINPROGRESS: return "EINPROGRESS";
	case ESTALE: return "ESTALE";
	case ETIMEDOUT: return "ETIMEDOUT";
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* One result line, written with a single write(2). */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDOUT_FILENO, line, (size_t)n);
}

/* "WHAT: OK" for rc >= 0, else "WHAT: <errno name>". */
static void __attribute__((unused))
result(const char *what, long rc, int err)
{
	say("%s: %s", what, rc >= 0 ? "OK" : errname(err));
}

#endif
