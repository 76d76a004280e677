/* fuzz_holds — see fuzz_holds.h. */
#define _GNU_SOURCE 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_holds.h"

bool
fuzz_holds(const char *target, bool cond, const char *what)
{
	static const char *reported[32];
	const char *ignore = getenv("FNGUARD_FUZZ_IGNORE"), *p, *end;
	size_t i;

	if (cond)
		return true;
	for (p = ignore; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		if (end > p && memmem(what, strlen(what), p,
		    (size_t)(end - p)) != NULL)
			break;
	}
	if (p == NULL || *p == '\0') {
		fprintf(stderr, "%s: property broken: %s\n", target, what);
		abort();
	}
	for (i = 0; i < 32 && reported[i] != NULL && reported[i] != what; i++)
		;
	if (i < 32 && reported[i] == NULL) {
		reported[i] = what;
		fprintf(stderr, "%s: property broken (ignored): %s\n", target,
		    what);
	}
	return false;
}
