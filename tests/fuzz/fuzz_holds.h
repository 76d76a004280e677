/*
 * fuzz_holds — the property check every fuzz target shares.
 */
#ifndef FNGUARD_FUZZ_HOLDS_H
#define FNGUARD_FUZZ_HOLDS_H

#include <stdbool.h>

/*
 * Checks one property: returns cond. A broken property aborts, so that
 * libFuzzer keeps the input; but when FNGUARD_FUZZ_IGNORE (a comma-separated
 * list) holds part of its message, it is reported once and fuzzing goes on,
 * to get past a known bug. target names the fuzz target in messages.
 */
bool fuzz_holds(const char *target, bool cond, const char *what);

#endif
