# Shared helpers for the integration tests: real clients against the real
# daemon, everything inside a network namespace the test creates and
# removes. A test script sources this file, calls ns_create, starts its
# processes with start_bg (so that cleanup can stop them by PID), prints
# one line per assertion ("ok - ..." or "not ok - ...") and ends with
# finish, which exits 1 when any assertion failed.
#
# make check exports FNGUARD, TOP_SRCDIR and TOP_BUILDDIR; by hand, run a
# script as root from the build directory (FNGUARD defaults to ./fnguard).
# Set KEEP=1 to keep the temporary directory for a look afterwards.

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${TOP_BUILDDIR:=$(pwd)}"
: "${FNGUARD:=$TOP_BUILDDIR/fnguard}"
export TOP_SRCDIR TOP_BUILDDIR FNGUARD

CONF=$TOP_SRCDIR/conf
FAILED=0
PASSED=0
NS=
PIDS=()
T=

# Nothing from the caller's environment may choose a policy, an identity
# or a proxy (a proxy would send wget and curl somewhere else).
unset TW_POLICY TW_POLICY_PUBKEY AWS_LAMBDA_FUNCTION_NAME AWS_REGION \
    AWS_LAMBDA_RUNTIME_API WEBSITE_SITE_NAME K_SERVICE FUNCTION_TARGET \
    http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ftp_proxy all_proxy \
    ALL_PROXY no_proxy NO_PROXY LOCALDOMAIN RES_OPTIONS HOSTALIASES
export LC_ALL=C

skip() {
	echo "skip: $*"
	exit 77
}

need_tool() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

# use_python: PY (Debian's python3 when there, as the tests' processPath
# expectations assume) and PYEXE (the executable it resolves to).
use_python() {
	if [ -x /usr/bin/python3 ]; then
		PY=/usr/bin/python3
	else
		need_tool python3
		PY=$(command -v python3)
	fi
	PYEXE=$(readlink -f "$PY")
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
}

if [ ! -x "$FNGUARD" ]; then
	echo "not ok - FNGUARD ($FNGUARD) is not an executable"
	exit 1
fi

# ---- assertions ----

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
	printf '%s\n' "$1" | head -n 30 | sed 's/^/#   /'
}

check() {	# DESC CMD... (ok when the command succeeds)
	_d=$1
	shift
	if "$@"; then
		ok "$_d"
	else
		not_ok "$_d"
	fi
}

. "$TOP_SRCDIR/tests/assert.sh"

assert_no_match() {	# DESC TEXT EXTENDED-REGEX (no line matches)
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		not_ok "$1"
		echo "#  expected no line matching: $3"
		echo "#  got:"
		show "$2"
	else
		ok "$1"
	fi
}

assert_le() {	# DESC A B (integers, A <= B)
	if [ -n "$2" ] && [ -n "$3" ] && [ "$2" -le "$3" ] 2>/dev/null; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected '$2' <= '$3'"
	fi
}

assert_lt() {	# DESC A B (integers, A < B)
	if [ -n "$2" ] && [ -n "$3" ] && [ "$2" -lt "$3" ] 2>/dev/null; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected '$2' < '$3'"
	fi
}

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

# Counts the "ok - " / "not ok - " lines of a helper program (python
# checks) and passes every line through.
tally() {	# reads stdin
	while IFS= read -r _line; do
		printf '%s\n' "$_line"
		case $_line in
		"ok - "*) PASSED=$((PASSED + 1)) ;;
		"not ok - "*) FAILED=$((FAILED + 1)) ;;
		esac
	done
}

finish() {
	echo "# $PASSED passed, $FAILED failed"
	if [ "$FAILED" -gt 0 ]; then
		exit 1
	fi
	exit 0
}

# ---- waiting ----

# Milliseconds since the epoch.
now_ms() {
	date +%s%3N
}

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds; returns
# 1 when SECONDS pass first.
wait_for() {
	_deadline=$(( $(now_ms) + ${1%.*} * 1000 ))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -ge "$_deadline" ] && return 1
		sleep 0.05
	done
}

# ---- the temporary directory, the namespace and its processes ----

# mktmp: $T, removed by cleanup unless KEEP=1.
mktmp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/fnguard-int.XXXXXX") || exit 1
}

# ns_create PREFIX: creates the namespace PREFIX-<random> in $NS with lo up,
# and /etc/netns/$NS (resolv.conf, hosts, nsswitch.conf: files then dns
# only, so that no NSS module can reach a resolver outside). Exits 77 when
# namespaces cannot be made.
ns_create() {
	_suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	NS=$1-$_suffix
	if ! ip netns add "$NS" 2>"$T/netns.err"; then
		_why=$(cat "$T/netns.err")
		NS=
		skip "ip netns add failed: $_why"
	fi
	ip -n "$NS" link set lo up || { not_ok "lo up in $NS"; finish; }
	mkdir -p "/etc/netns/$NS"
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' \
	    >"/etc/netns/$NS/resolv.conf"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"/etc/netns/$NS/hosts"
	if [ -f /etc/nsswitch.conf ]; then
		sed 's/^hosts:.*/hosts: files dns/' /etc/nsswitch.conf \
		    >"/etc/netns/$NS/nsswitch.conf"
	else
		printf 'hosts: files dns\n' >"/etc/netns/$NS/nsswitch.conf"
	fi
}

# ns_addr ADDR/PREFIX: an address on lo inside the namespace.
ns_addr() {
	ip -n "$NS" addr add "$1" dev lo
}

# need_nft_nat: skips (77) unless a table with a redirect loads in the
# namespace (nf_tables with NAT).
need_nft_nat() {
	if ! nsx nft -f - >"$T/nft.err" 2>&1 <<'NFT'
table inet fngprobe {
	chain output {
		type nat hook output priority -100; policy accept;
		meta l4proto tcp tcp dport 1 redirect to :2
	}
}
NFT
	then
		skip "nftables NAT unavailable in the namespace: $(cat "$T/nft.err")"
	fi
	nsx nft delete table inet fngprobe
}

# nsx CMD...: runs a command inside the namespace (ip netns exec replaces
# itself with the command, so a background nsx's $! is the command's PID).
nsx() {
	ip netns exec "$NS" "$@"
}

# start_bg VAR LOG CMD...: starts CMD in the background inside the
# namespace, stdout and stderr to LOG, and puts its PID in VAR and PIDS.
start_bg() {
	_var=$1
	_log=$2
	shift 2
	ip netns exec "$NS" "$@" >"$_log" 2>&1 </dev/null &
	_pid=$!
	PIDS+=("$_pid")
	printf -v "$_var" '%s' "$_pid"
}

alive() {	# PID
	kill -0 "$1" 2>/dev/null
}

# stop_pid PID [SECONDS [SIGNAL]]: sends SIGNAL (TERM) and waits for the
# process to end, then KILL. Sets STOP_RC to its exit status when it was
# our child (128+N for a signal), else "".
stop_pid() {
	_p=$1
	_secs=${2:-5}
	STOP_RC=
	[ -n "$_p" ] || return 0
	kill "-${3:-TERM}" "$_p" 2>/dev/null
	if ! wait_for "$_secs" _gone "$_p"; then
		kill -KILL "$_p" 2>/dev/null
		wait_for 2 _gone "$_p"
	fi
	wait "$_p" 2>/dev/null
	STOP_RC=$?
	return 0
}

_gone() {
	# A zombie child counts as gone.
	! alive "$1" || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# run_ns SECONDS CMD...: runs CMD inside the namespace with stdout in
# $T/out and stderr in $T/err, killed after SECONDS; sets RC, OUT, ERR and
# RUN_PID (the command's own PID).
run_ns() {
	_secs=$1
	shift
	run_here "$_secs" ip netns exec "$NS" "$@"
}

# run_here SECONDS CMD...: the same, in the caller's own namespace.
run_here() {
	_secs=$1
	shift
	"$@" >"$T/out" 2>"$T/err" </dev/null &
	RUN_PID=$!
	if ! wait_for "$_secs" _gone "$RUN_PID"; then
		kill -KILL "$RUN_PID" 2>/dev/null
		echo "# killed after ${_secs}s: $*"
	fi
	wait "$RUN_PID"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# wait_port SECONDS tcp|udp ADDR PORT: until something in the namespace
# listens there (ss shows IPv6 addresses in brackets: pass "[::1]").
wait_port() {
	wait_for "$1" _listening "$2" "$3" "$4"
}

_listening() {
	if [ "$1" = tcp ]; then
		_f=-Hltn
	else
		_f=-Hlun
	fi
	ip netns exec "$NS" ss "$_f" 2>/dev/null |
	    awk -v want="$2:$3" '$4 == want { found = 1 } END { exit !found }'
}

# cleanup: every process started here (by PID), then whatever still runs
# in the namespace (children of those), the namespace and its /etc/netns
# directory, the temporary directory.
cleanup() {
	_i=${#PIDS[@]}
	while [ "$_i" -gt 0 ]; do
		_i=$((_i - 1))
		if alive "${PIDS[$_i]}"; then
			kill -TERM "${PIDS[$_i]}" 2>/dev/null
		fi
	done
	_i=${#PIDS[@]}
	while [ "$_i" -gt 0 ]; do
		_i=$((_i - 1))
		stop_pid "${PIDS[$_i]}" 3 TERM
	done
	if [ -n "$NS" ]; then
		for _p in $(ip netns pids "$NS" 2>/dev/null); do
			kill -KILL "$_p" 2>/dev/null
		done
		ip netns del "$NS" 2>/dev/null
		rm -rf "/etc/netns/$NS"
	fi
	if [ -n "$T" ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$T"
	elif [ -n "$T" ]; then
		echo "# kept $T"
	fi
}

trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# ---- an upstream for the resolver ----

# nsd_conf: $T/nsd.conf for nsd serving the zone "com" from $T/zone on
# 127.0.0.53:5300 (inside the namespace).
nsd_conf() {
	cat >"$T/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.53@5300
  port: 5300
  username: ""
  zonesdir: "$T"
  database: ""
  pidfile: "$T/nsd.pid"
  xfrdfile: "$T/xfrd.state"
  zonelistfile: "$T/zone.list"
  logfile: "$T/nsd.log"
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "com"
  zonefile: "$T/zone"
EOF
}

# start_nsd: starts it (NSD_PID) and waits until it answers on UDP and TCP.
start_nsd() {
	start_bg NSD_PID "$T/nsd.out" nsd -d -c "$T/nsd.conf"
	wait_port 10 udp 127.0.0.53 5300 && wait_port 5 tcp 127.0.0.53 5300
}
