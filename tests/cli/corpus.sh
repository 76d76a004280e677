#!/bin/sh
# Replays each committed fuzz corpus (tests/fuzz/corpus/X) through its fuzz
# target, linked with tests/fuzz/corpus_main.c as tests/fuzz/corpus_X: every
# input must pass the target's checks (a broken one aborts) and each corpus
# must hold at least one input. Prints one "ok - " or "not ok - " line per
# corpus; exits 1 when any failed.
#
# make check exports TOP_SRCDIR and TOP_BUILDDIR; by hand, run this script
# from the build directory.

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"

FAILED=0
for x in policy twpolicy event dnswire dnsquery sniff tracee; do
	runner=$TOP_BUILDDIR/tests/fuzz/corpus_$x
	corpus=$TOP_SRCDIR/tests/fuzz/corpus/$x
	echo "# $runner $corpus"
	if [ ! -x "$runner" ]; then
		echo "not ok - corpus $x: $runner is not built"
		FAILED=1
		continue
	fi
	out=$("$runner" "$corpus" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/#   /'
	n=$(printf '%s\n' "$out" | sed -n 's/^\([0-9][0-9]*\) inputs$/\1/p' |
	    tail -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "not ok - corpus $x: exit status $rc"
		FAILED=1
	elif [ -z "$n" ] || [ "$n" -eq 0 ]; then
		echo "not ok - corpus $x: no inputs in $corpus"
		FAILED=1
	else
		echo "ok - corpus $x: $n inputs"
	fi
done
exit $FAILED
