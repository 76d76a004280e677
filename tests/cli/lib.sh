# Shared helpers for the CLI tests: each test script sources this file,
# drives the real binary ($FNGUARD) and prints one line per assertion,
# "ok - ..." or "not ok - ...", then calls finish, which exits 1 when any
# assertion failed.
#
# make check exports FNGUARD, TOP_SRCDIR and TOP_BUILDDIR; by hand, run a
# script from the build directory (FNGUARD defaults to ./fnguard there).

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"
: "${FNGUARD:=$TOP_BUILDDIR/fnguard}"
export TOP_SRCDIR TOP_BUILDDIR FNGUARD

CONF=$TOP_SRCDIR/conf
FAILED=0
PASSED=0

# The variables that choose a policy or a key must not leak in from the
# caller's environment.
unset TW_POLICY TW_POLICY_PUBKEY AWS_LAMBDA_FUNCTION_NAME AWS_REGION \
    AWS_LAMBDA_RUNTIME_API WEBSITE_SITE_NAME K_SERVICE FUNCTION_TARGET

skip() {
	echo "skip: $*"
	exit 77
}

need_tool() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

if [ ! -x "$FNGUARD" ]; then
	echo "not ok - FNGUARD ($FNGUARD) is not an executable"
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/fnguard-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 1' HUP INT TERM

ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $*"
}

not_ok() {
	FAILED=$((FAILED + 1))
	echo "not ok - $*"
}

# Prints a value indented under a failure, so that the log shows it.
show() {
	printf '%s\n' "$1" | head -n 20 | sed 's/^/#   /'
}

# run CMD ARGS...: runs a command with stdout in $T/out, stderr in $T/err;
# sets RC, OUT and ERR.
run() {
	"$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# The same with stdin from a file: run_in FILE CMD ARGS...
run_in() {
	_in=$1
	shift
	"$@" >"$T/out" 2>"$T/err" <"$_in"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

. "$TOP_SRCDIR/tests/assert.sh"

assert_status() {	# DESC EXPECTED (against $RC of the last run)
	if [ "$RC" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected exit status $2, got $RC"
		echo "#  stdout:"
		show "$OUT"
		echo "#  stderr:"
		show "$ERR"
	fi
}

# The last run did not die of a signal and did not abort.
assert_no_crash() {	# DESC
	if [ "$RC" -lt 128 ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  exit status $RC (killed by signal $((RC - 128)))"
		show "$ERR"
	fi
}

# Number of lines of a text ("" has none).
nlines() {
	if [ -z "$1" ]; then
		echo 0
	else
		printf '%s\n' "$1" | wc -l | tr -d ' '
	fi
}

# SPEC 1: an error is one line "fnguard: <what>: <why>". Checks that the
# text is exactly one such line.
assert_one_line_error() {	# DESC TEXT
	if [ "$(nlines "$2")" = 1 ] &&
	    printf '%s\n' "$2" | grep -Eq '^fnguard: [^:]+: .+'; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected one line \"fnguard: <what>: <why>\", got:"
		show "$2"
	fi
}

# Every line starts "fnguard: " (log and error lines, SPEC 1).
assert_all_lines_fnguard() {	# DESC TEXT
	if [ -n "$2" ] && [ -z "$(printf '%s\n' "$2" | grep -v '^fnguard: ')" ]
	then
		ok "$1"
	else
		not_ok "$1"
		echo "#  every line should start \"fnguard: \", got:"
		show "$2"
	fi
}

finish() {
	echo "# $PASSED passed, $FAILED failed"
	if [ "$FAILED" -gt 0 ]; then
		exit 1
	fi
	exit 0
}

# ---- JSON, through python3 ----

# py 'CODE' ARGS...: runs python3 code with the arguments in sys.argv[1:].
py() {
	_code=$1
	shift
	python3 -c "$_code" "$@"
}

# Is the file (or stdin with -) one JSON document?
json_valid() {	# FILE
	python3 -m json.tool "$1" >/dev/null 2>&1
}

# The bundled files a test needs: a missing one is a failure, not a skip.
need_conf() {	# PATH...
	for _f in "$@"; do
		if [ ! -s "$_f" ]; then
			not_ok "bundled file $_f exists"
			return 1
		fi
	done
	return 0
}
