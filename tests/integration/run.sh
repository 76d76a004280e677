#!/bin/bash
# fnguard run, the launcher (issue 5, SPEC 1, 2, 4, 5 "Launcher", 6), with
# real programs inside a network namespace of its own:
#
#   nsd            127.0.0.53:5300, authoritative for "com" (the test zone)
#   http.server    192.0.2.10:80 and :8081 (s3.amazon.com),
#                  192.0.2.11:80 (www.amazon.com), 192.0.2.99:80 (yahoo.com)
#   fnguard run    one per case, each under timeout, --upstream nsd, its
#                  audit in a file of its own
#
# Shown: transparency (exit codes, signals, stdio, environment, cwd);
# allowed programs behave as without fnguard (threads, subprocess,
# multiprocessing, scripts, exec chains, deep fork chains, vfork, a
# threaded C program); processes, files and network denied with
# EACCES/EPERM and the exact SPEC audit naming the right process; the seed
# scenario (conf/policies/amazon-dns.json) with wget, curl, getent, python
# and dig; --record replayed with the same verdicts as the live run.
# Nothing leaves the namespace. Needs root, nsd, dig, wget, curl, getent,
# python3, ip, ss, timeout; exits 77 without them (cc is optional).

. "$(dirname "$0")/lib.sh"

need_root
for _t in ip ss nsd dig wget curl getent timeout sha256sum musl-gcc gcc \
    setpriv; do
	need_tool "$_t"
done
use_python
WGET=$(readlink -f "$(command -v wget)")
CURL=$(readlink -f "$(command -v curl)")
SH=$(readlink -f /bin/sh)
LS=$(readlink -f /usr/bin/ls)
TRUE=$(readlink -f /bin/true)
CC=$(command -v cc || true)

SEED=$CONF/policies/amazon-dns.json
[ -f "$SEED" ] || { not_ok "seed policy $SEED exists"; finish; }
START_MS=$(now_ms)

mktmp
chmod 755 "$T"
ns_create fngr
ns_addr 192.0.2.10/32
ns_addr 192.0.2.11/32
ns_addr 192.0.2.99/32

# ---- the test zone, the upstream and the web servers ----

cat >"$T/zone" <<'EOF'
$ORIGIN .
$TTL 300
com. IN SOA ns.com. admin.com. 1 3600 600 86400 60
com. IN NS ns.com.
ns.com. IN A 127.0.0.53
s3.amazon.com. IN A 192.0.2.10
www.amazon.com. IN A 192.0.2.11
yahoo.com. IN A 192.0.2.99
www.yahoo.com. IN A 192.0.2.99
EOF
nsd_conf
mkdir "$T/www-s3" "$T/www-www" "$T/www-yahoo"
S3_INDEX="s3 index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
WWW_INDEX="www index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
YAHOO_INDEX="yahoo index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$S3_INDEX" >"$T/www-s3/index.html"
echo "$WWW_INDEX" >"$T/www-www/index.html"
echo "$YAHOO_INDEX" >"$T/www-yahoo/index.html"

start_bg NSD_PID "$T/nsd.out" nsd -d -c "$T/nsd.conf"
start_bg HTTP1_PID "$T/http1.log" "$PY" -m http.server --bind 192.0.2.10 \
    --directory "$T/www-s3" 80
start_bg HTTP2_PID "$T/http2.log" "$PY" -m http.server --bind 192.0.2.10 \
    --directory "$T/www-s3" 8081
start_bg HTTP3_PID "$T/http3.log" "$PY" -m http.server --bind 192.0.2.11 \
    --directory "$T/www-www" 80
start_bg HTTP4_PID "$T/http4.log" "$PY" -m http.server --bind 192.0.2.99 \
    --directory "$T/www-yahoo" 80
if ! wait_port 10 udp 127.0.0.53 5300 || ! wait_port 5 tcp 127.0.0.53 5300
then
	not_ok "nsd listens on 127.0.0.53:5300 in $NS"
	show "$(cat "$T/nsd.out" "$T/nsd.log" 2>/dev/null)"
	finish
fi
for _a in 192.0.2.10:80 192.0.2.10:8081 192.0.2.11:80 192.0.2.99:80; do
	if ! wait_port 10 tcp "${_a%:*}" "${_a#*:}"; then
		not_ok "an HTTP server listens on $_a"
		show "$(cat "$T"/http*.log)"
		finish
	fi
done
ok "nsd and the HTTP servers are up in $NS"

# ---- helpers ----

# policy NAME SECTIONS: $T/NAME.json, one rule named NAME with SECTIONS
# (JSON members: "processes": {...}, ...).
policy() {
	printf '{"rules":[{"name":"%s",%s}]}\n' "$1" "$2" >"$T/$1.json"
}

# fg SECONDS POLICY CMD...: CMD under fnguard run inside the namespace,
# killed after SECONDS; POLICY is a name given to policy (or a path, or ""
# for none). stdin from $FG_IN (default /dev/null), extra run options in
# FG_OPTS; the audit goes to a file of its own, $AUDF. Sets RC, OUT (not
# read when FG_NOREAD is set: the output is in $T/out), ERR and CERR (ERR
# without fnguard's own "fnguard: " log lines).
FGN=0
FG_OPTS=()
fg() {
	_secs=$1
	_pol=$2
	shift 2
	FGN=$((FGN + 1))
	AUDF=$T/audit.$FGN
	_po=()
	case $_pol in
	"") ;;
	*/*) _po=(--policy "$_pol") ;;
	*) _po=(--policy "$T/$_pol.json") ;;
	esac
	ip netns exec "$NS" timeout -k 2 "$_secs" "$FNGUARD" run "${_po[@]}" \
	    --upstream 127.0.0.53:5300 --audit "$AUDF" "${FG_OPTS[@]}" \
	    -- "$@" <"${FG_IN:-/dev/null}" >"$T/out" 2>"$T/err"
	RC=$?
	[ "$RC" != 124 ] || echo "# timed out: $*"
	OUT=
	[ -n "${FG_NOREAD:-}" ] || OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	CERR=$(grep -v '^fnguard: ' "$T/err")
}

# direct SECONDS CMD...: the same command without fnguard; sets RC, OUT,
# ERR.
direct() {
	_secs=$1
	shift
	ip netns exec "$NS" timeout -k 2 "$_secs" "$@" \
	    <"${FG_IN:-/dev/null}" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}


aq() {	# FILE MODE [ARG]
	"$PY" "$TOP_SRCDIR/tests/integration/aq.py" "$@"
}

# audit_has DESC JSON: a record of the last run's audit has every field of
# JSON with exactly that value.
audit_has() {
	_r=$(aq "$AUDF" has "$2")
	if [ "$_r" = match ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected a record with: $2"
		echo "#  records:"
		show "$_r"
	fi
}

audit_none() {	# DESC: the last run audited nothing
	assert_eq "$1" 0 "$(aq "$AUDF" count)"
}

# json_str S: S as a JSON string.
json_str() {
	"$PY" -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"
}

# A policy that has every section on and denies nothing the tests do.
policy wide '"processes":{"effect":"prevent","whitelist":[],
"blacklist":["/nonexistent/bin/x"],"blockAllBinaries":false,
"checkCryptoMiners":false},
"network":{"effect":"prevent","blacklistIPs":["203.0.113.7"],
"blacklistListeningPorts":[{"start":9,"end":9}]},
"dns":{"effect":"prevent","blacklist":["blocked.example"]},
"filesystem":{"effect":"prevent","blacklist":["/nonexistent/*"]}'

mkdir "$T/wd"
cd "$T/wd" || exit 1

# ==== 1. transparency ====

fg 10 wide true
assert_status "exit status 0 (true)" 0
fg 10 wide sh -c 'exit 3'
assert_status "exit status 3 (sh -c 'exit 3')" 3
fg 10 wide /nonexistent/command
assert_status "a missing command: exit status 127" 127
assert_contains "a missing command: the error names it" "$ERR" \
    "/nonexistent/command: No such file or directory"
fg 10 wide no-such-command-fnguard
assert_status "a command not found in PATH: exit status 127" 127
printf 'not a program\n' >"$T/noexec"
chmod 644 "$T/noexec"
fg 10 wide "$T/noexec"
assert_status "a file that is not executable: exit status 126" 126
fg 10 wide sh -c 'kill -TERM $$'
assert_status "death by SIGTERM reported as 143 (128+15)" 143
fg 10 wide sh -c 'kill -KILL $$'
assert_status "death by SIGKILL reported as 137 (128+9)" 137
fg 10 wide sh -c 'kill -SEGV $$'
assert_status "death by SIGSEGV reported as 139 (128+11)" 139
fg 10 wide sh -c 'echo to-stdout; echo to-stderr >&2'
assert_eq "stdout passed through" "to-stdout" "$OUT"
assert_eq "stderr passed through (fnguard's own log lines apart)" \
    "to-stderr" "$CERR"
audit_none "nothing audited for the plain runs"

printf 'hello\nworld\n' >"$T/small"
FG_IN=$T/small fg 10 wide tr a-z A-Z
assert_eq "stdin passed through (tr a-z A-Z)" "HELLO
WORLD" "$OUT"
head -c 10485760 /dev/urandom >"$T/big"
FG_IN=$T/big FG_NOREAD=1 fg 30 wide cat
assert_eq "10 MB through cat: same sha256" \
    "$(sha256sum <"$T/big" | cut -d' ' -f1)" \
    "$(sha256sum <"$T/out" | cut -d' ' -f1)"
assert_status "10 MB through cat: exit status 0" 0
_want=$(seq 200000 | sha256sum)
_got=$(ip netns exec "$NS" timeout -k 2 20 "$FNGUARD" run \
    --policy "$T/wide.json" --upstream 127.0.0.53:5300 \
    --audit "$T/audit.pipe" -- seq 200000 2>/dev/null | sha256sum)
assert_eq "stdout into a pipe (seq 200000 | sha256sum)" "$_want" "$_got"
_got=$(seq 200000 | ip netns exec "$NS" timeout -k 2 20 "$FNGUARD" run \
    --policy "$T/wide.json" --upstream 127.0.0.53:5300 \
    --audit "$T/audit.pipe" -- sha256sum 2>/dev/null)
assert_eq "stdin from a pipe (seq 200000 | fnguard run -- sha256sum)" \
    "$_want" "$_got"
ip netns exec "$NS" timeout -k 2 20 seq 100000000 2>"$T/pipe.err" |
    head -n 1 >/dev/null
_want="${PIPESTATUS[0]} $(cat "$T/pipe.err")"
_t0=$(now_ms)
ip netns exec "$NS" timeout -k 2 20 "$FNGUARD" run --policy "$T/wide.json" \
    --upstream 127.0.0.53:5300 --audit "$T/audit.pipe" -- \
    seq 100000000 2>"$T/pipe.err" | head -n 1 >/dev/null
_ps=${PIPESTATUS[0]}
_el=$(( $(now_ms) - _t0 ))
assert_eq "reader gone (| head -n 1): seq ends as without fnguard (status, \
stderr)" "$_want" "$_ps $(grep -v '^fnguard: ' "$T/pipe.err")"
assert_lt "reader gone: fnguard ends at once ($_el ms)" "$_el" 5000
direct 10 grep -E '^Sig(Ign|Blk):' /proc/self/status
_want=$OUT
fg 10 wide grep -E '^Sig(Ign|Blk):' /proc/self/status
assert_eq "ignored and blocked signals of the command unchanged" "$_want" \
    "$OUT"

export FNGUARD_RUN_TEST_VAR='a b=c; d'
export FNGUARD_RUN_TEST_NL='line 1
line 2'
direct 10 env
_want=$(printf '%s\n' "$OUT" | sort)
fg 10 wide env
assert_eq "environment unchanged (env | sort)" "$_want" \
    "$(printf '%s\n' "$OUT" | sort)"
unset FNGUARD_RUN_TEST_VAR FNGUARD_RUN_TEST_NL
mkdir "$T/wd/a dir"
cd "$T/wd/a dir" || exit 1
fg 10 wide pwd -P
assert_eq "cwd unchanged (pwd -P)" "$T/wd/a dir" "$OUT"
fg 10 wide sh -c 'echo "$PWD"'
assert_eq "PWD unchanged" "$T/wd/a dir" "$OUT"
cd "$T/wd" || exit 1
fg 10 wide sh -c 'umask; ulimit -n'
_fgo=$OUT
direct 10 sh -c 'umask; ulimit -n'
assert_eq "umask and open-file limit unchanged" "$OUT" "$_fgo"
# fnguard keeps its own thread on one CPU (see stay_on_cpu); the command
# and what it starts later keep the CPUs they would have had.
direct 10 sh -c 'grep Cpus_allowed_list /proc/self/status; sh -c "grep \
    Cpus_allowed_list /proc/self/status"'
_want=$OUT
fg 10 wide sh -c 'grep Cpus_allowed_list /proc/self/status; sh -c "grep \
    Cpus_allowed_list /proc/self/status"; grep Cpus_allowed_list \
    /proc/$PPID/status >&2'
assert_eq "CPU affinity of the command and its children unchanged" \
    "$_want" "$OUT"
if [ "$(nproc)" -ge 2 ]; then
	assert_match "fnguard's own thread stays on one CPU" "$CERR" \
	    '^Cpus_allowed_list:[[:space:]]*[0-9]+$'
fi

# sig_case SIGNAL: fnguard runs a shell whose trap prints and exits 7;
# SIGNAL sent to fnguard must reach it. The signal's disposition is reset
# first (bash ignores SIGINT in its background jobs).
sig_case() {
	_sig=$1
	FGN=$((FGN + 1))
	AUDF=$T/audit.$FGN
	ip netns exec "$NS" env --default-signal=INT,TERM,QUIT "$FNGUARD" run \
	    --policy "$T/wide.json" --upstream 127.0.0.53:5300 \
	    --audit "$AUDF" -- sh -c "trap 'echo got-$_sig; exit 7' $_sig; \
echo ready; while :; do sleep 0.1; done" </dev/null >"$T/sig.out" \
	    2>"$T/sig.err" &
	_fp=$!
	PIDS+=("$_fp")
	if ! wait_for 10 grep -q ready "$T/sig.out"; then
		not_ok "SIG$_sig: the command started"
		show "$(cat "$T/sig.err")"
		stop_pid "$_fp" 1 KILL
		return
	fi
	kill "-$_sig" "$_fp"
	wait_for 5 _gone "$_fp"
	stop_pid "$_fp" 1 KILL
	assert_eq "SIG$_sig to fnguard reaches the command (its trap runs, \
fnguard exits 7)" "ready got-$_sig 7" "$(tr '\n' ' ' <"$T/sig.out")$STOP_RC"
}
sig_case TERM
sig_case INT

# Job control: SIGTSTP sent to fnguard stops the command and fnguard (as a
# shell expects of its job); SIGCONT resumes both.
"$FNGUARD" run -- sleep 30 </dev/null >/dev/null 2>"$T/tstp.err" &
_fp=$!
PIDS+=("$_fp")
wait_for 5 test -n "$(pgrep -P "$_fp")"
_cp=$(pgrep -P "$_fp")
_state() { awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
kill -TSTP "$_fp"
wait_for 3 test "$(_state "$_fp")" = T
assert_eq "SIGTSTP to fnguard: it and the command stop" "T t" \
    "$(_state "$_fp") $(_state "$_cp")"
kill -CONT "$_fp"
wait_for 3 test "$(_state "$_cp")" = S
assert_eq "SIGCONT to fnguard: both go on" "S S" \
    "$(_state "$_fp") $(_state "$_cp")"
stop_pid "$_fp" 1 KILL

# ==== 2. what the policy allows behaves as without fnguard ====

cat >"$T/prog.py" <<'EOF'
import hashlib, multiprocessing, os, subprocess, sys, threading

def work(i):
    h = hashlib.sha256()
    for j in range(2000):
        h.update(b"%d:%d" % (i, j))
    return h.hexdigest()[:16]

def sq(x):
    return x * x

if __name__ == "__main__":
    res = [None] * 8
    def t(i):
        res[i] = work(i)
    ths = [threading.Thread(target=t, args=(i,)) for i in range(8)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    print("threads", " ".join(res))
    print("subprocess", subprocess.run(["echo", "from", "echo"],
          capture_output=True, text=True).stdout.strip())
    print("shell", subprocess.check_output(["sh", "-c", "echo $((6 * 7))"],
          text=True).strip())
    print("rc", subprocess.run(["sh", "-c", "exit 5"]).returncode)
    with multiprocessing.get_context("fork").Pool(4) as p:
        print("fork pool", p.map(sq, range(12)))
    with multiprocessing.get_context("spawn").Pool(2) as p:
        print("spawn pool", p.map(sq, range(6)))
    r, w = os.pipe()
    pid = os.posix_spawn("/bin/echo", ["echo", "posix_spawn", "(vfork)"],
                         os.environ, file_actions=[
                             (os.POSIX_SPAWN_DUP2, w, 1)])
    os.close(w)
    _, st = os.waitpid(pid, 0)
    print("spawned", os.read(r, 100).decode().strip(),
          os.waitstatus_to_exitcode(st))
    pid = os.fork()
    if pid == 0:
        os._exit(9)
    print("fork child", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
EOF
cat >"$T/hello.sh" <<'EOF'
#!/bin/sh
echo "script $0 args: $*"
exit 4
EOF
chmod 755 "$T/hello.sh"
cat >"$T/deep.sh" <<'EOF'
#!/bin/bash
if [ "$1" -lt 20 ]; then
	bash "$0" $(( $1 + 1 ))
	r=$?
	echo "level $1: child exited $r"
	exit $(( r + 1 ))
fi
echo "level 20: bottom"
exit 0
EOF
chmod 755 "$T/deep.sh"

# same DESC SECONDS CMD...: stdout and status with fnguard (wide policy)
# and without are the same, and nothing is audited.
same() {
	_d=$1
	_s=$2
	shift 2
	direct "$_s" "$@"
	_wo="$OUT
status $RC"
	fg "$_s" wide "$@"
	assert_eq "$_d: same output and status as without fnguard" "$_wo" \
	    "$OUT
status $RC"
	audit_none "$_d: nothing audited"
}

same "python3: threads, subprocess, multiprocessing (fork and spawn), \
posix_spawn, fork" 60 "$PY" "$T/prog.py"
assert_contains "python3 program printed all its parts" "$OUT" \
    "spawned posix_spawn (vfork) 0"
same "a shebang script" 10 "$T/hello.sh" one two
assert_eq "a shebang script: its output" \
    "script $T/hello.sh args: one two
status 4" "$OUT
status $RC"
same "exec chain sh -> env -> python3" 10 sh -c \
    "exec env $PY -c 'import sys; print(\"chain\", sys.argv[1:])' x y"
assert_eq "exec chain: python3 printed" "chain ['x', 'y']" "$OUT"
same "fork chain 20 bash processes deep" 30 bash "$T/deep.sh" 0
assert_eq "fork chain: 21 lines, status 20" "21 20" \
    "$(printf '%s\n' "$OUT" | wc -l) $RC"

if [ -n "$CC" ]; then
	cat >"$T/mt.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long sums[8];

static void *
work(void *arg)
{
	long i = (long)arg;
	unsigned long s = 0, j;
	char path[64];
	FILE *f;

	for (j = 0; j < 2000000; j++)
		s = s * 31 + j + (unsigned long)i;
	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", (long)getpid());
	if ((f = fopen(path, "r")) != NULL)	/* a file call per thread */
		fclose(f);
	sums[i] = s;
	return NULL;
}

int
main(void)
{
	pthread_t t[8];
	long i;
	pid_t pid;
	int st;

	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	/* vfork + exec while the threads run */
	if ((pid = vfork()) == 0) {
		execl("/bin/echo", "echo", "vforked", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 8; i++)
		printf("%ld %lu\n", i, sums[i]);
	printf("child %d\n", WEXITSTATUS(st));
	return 3;
}
EOF
	if "$CC" -O1 -pthread -o "$T/mt" "$T/mt.c" 2>"$T/cc.err"; then
		same "a multi-threaded C program (8 threads, vfork + exec)" 30 \
		    "$T/mt"
		assert_match "C program: the vforked echo ran" "$OUT" \
		    '^vforked$'
	else
		not_ok "cc builds the threaded test program"
		show "$(cat "$T/cc.err")"
	fi
else
	echo "ok - # SKIP the multi-threaded C program: no cc"
fi

# ==== 3. processes ====

policy noexec-ls '"processes":{"effect":"prevent","blacklist":["/usr/bin/ls"]}'
fg 10 noexec-ls sh -c 'sh -c "echo \$\$; exec /usr/bin/ls /"; echo "rc=$?"'
_pid=$(printf '%s\n' "$OUT" | head -n 1)
assert_eq "blacklist /usr/bin/ls: exec fails, sh says 126" "rc=126" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"
assert_contains "blacklist /usr/bin/ls: sh reports Permission denied" \
    "$ERR" "/usr/bin/ls: Permission denied"
assert_status "blacklist /usr/bin/ls: fnguard exits with sh's status 0" 0
audit_has "blacklist /usr/bin/ls: exact audit record naming the exec'ing \
process" "{\"type\":\"processes\",\"attackType\":\"explicitlyDeniedProcess\",
\"effect\":\"prevent\",\"ruleName\":\"noexec-ls\",\"msg\":\"$LS launched and \
is explicitly denied by runtime rule. Full command /usr/bin/ls /\",
\"processPath\":\"$LS\",\"pid\":${_pid:-0},\"command\":\"/usr/bin/ls /\",
\"count\":1,\"user\":\"root\"}"
assert_eq "blacklist /usr/bin/ls: one audit record" 1 "$(aq "$AUDF" count)"

fg 10 noexec-ls sh -c 'ls /; echo "rc=$?"'
assert_eq "blacklist: ls found through PATH is denied (126)" "rc=126" \
    "$OUT"
assert_eq "blacklist: every record of the PATH search names $LS with the \
SPEC message" "True" "$(aq "$AUDF" eval "len(recs) > 0 and all(r.get('msg') \
== '$LS launched and is explicitly denied by runtime rule. Full command ls /' \
for r in recs)")"
ln -s /usr/bin/ls "$T/myls"
fg 10 noexec-ls "$PY" -c "import subprocess
try:
    subprocess.run(['$T/myls'])
except PermissionError as e:
    print('errno', e.errno)"
assert_eq "blacklist: a symlink to ls elsewhere is denied (errno 13)" \
    "errno 13" "$OUT"
audit_has "blacklist: the symlink's exec audited as the resolved path" \
    "{\"processPath\":\"$LS\",\"attackType\":\"explicitlyDeniedProcess\"}"
fg 10 noexec-ls /bin/ls -d /
assert_status "blacklist: the main command itself (/bin/ls) is denied: 126" \
    126
assert_contains "blacklist: the main command denied: Permission denied" \
    "$ERR" "Permission denied"
audit_has "blacklist: the main command's denial audited" \
    "{\"processPath\":\"$LS\",\"msg\":\"$LS launched and is explicitly \
denied by runtime rule. Full command /bin/ls -d /\"}"

# A script runs only if its interpreter may run too.
policy nodash "\"processes\":{\"effect\":\"prevent\",\"blacklist\":[\"$SH\"]}"
fg 10 nodash "$PY" -c "import subprocess
try:
    subprocess.run(['$T/hello.sh'])
except PermissionError as e:
    print('errno', e.errno)"
assert_eq "a script whose interpreter ($SH) is blacklisted is denied" \
    "errno 13" "$OUT"
audit_has "the script's denial: the message names the interpreter" \
    "{\"attackType\":\"explicitlyDeniedProcess\",\"msg\":\"$SH launched and \
is explicitly denied by runtime rule. Full command $T/hello.sh\"}"
audit_has "the script's denial: processPath is the one the message names" \
    "{\"processPath\":\"$SH\",\"attackType\":\"explicitlyDeniedProcess\"}"

policy block-all '"processes":{"effect":"prevent","blockAllBinaries":true}'
fg 10 block-all "$PY" -c 'import subprocess; subprocess.run(["/bin/true"])'
assert_status "blockAllBinaries: python3 (the main process) runs, its \
subprocess fails: status 1" 1
assert_contains "blockAllBinaries: subprocess.run raises PermissionError \
errno 13" "$ERR" "PermissionError: [Errno 13] Permission denied: '/bin/true'"
audit_has "blockAllBinaries: audit of /bin/true" \
    "{\"attackType\":\"explicitlyDeniedProcess\",\"effect\":\"prevent\",
\"ruleName\":\"block-all\",\"processPath\":\"$TRUE\",\"command\":\"/bin/true\",
\"msg\":\"$TRUE launched and is explicitly denied by runtime rule. Full \
command /bin/true\"}"
cat >"$T/forkexec.py" <<'EOF'
import os, sys
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    try:
        os.execv("/bin/true", ["/bin/true", "from-child"])
    except OSError as e:
        os.write(w, b"%d" % e.errno)
    os._exit(3)
os.close(w)
err = os.read(r, 10).decode()
_, st = os.waitpid(pid, 0)
print(pid, err, os.waitstatus_to_exitcode(st))
EOF
fg 10 block-all "$PY" "$T/forkexec.py"
read -r _cpid _cerr _cst <<<"$OUT"
assert_eq "blockAllBinaries: a forked child's exec fails with errno 13" \
    "13 3" "$_cerr $_cst"
audit_has "blockAllBinaries: the audit names the child (its pid)" \
    "{\"processPath\":\"$TRUE\",\"pid\":${_cpid:-0},
\"command\":\"/bin/true from-child\"}"
fg 10 block-all sh -c "exec $PY -c 'print(\"bootstrap ok\")'"
assert_eq "blockAllBinaries: a bootstrap sh -c 'exec python3 ...' runs" \
    "bootstrap ok 0" "$OUT $RC"
audit_none "blockAllBinaries: the bootstrap exec is not audited"
fg 10 block-all env "$PY" -c 'print("env bootstrap ok")'
assert_eq "blockAllBinaries: env -> python3 (main process exec chain) runs" \
    "env bootstrap ok 0" "$OUT $RC"
fg 10 block-all "$PY" -c 'import os, subprocess
try:
    subprocess.run(["/bin/true"])
except PermissionError:
    pass
try:
    os.execv("/bin/true", ["/bin/true"])
except OSError as e:
    print("late exec errno", e.errno)'
assert_eq "blockAllBinaries: the main process's exec after it had a child \
is denied" "late exec errno 13" "$OUT"
fg 10 block-all "$PY" -c 'import os, threading
threading.Thread(target=lambda: None).start()
try:
    os.execv("/bin/true", ["/bin/true"])
except OSError as e:
    print("exec after a thread errno", e.errno)'
assert_eq "blockAllBinaries: the main process's exec after it started a \
thread is denied" "exec after a thread errno 13" "$OUT"

policy wl-procs "\"processes\":{\"effect\":\"prevent\",
\"whitelist\":[\"$SH\",\"python3*\"]}"
fg 10 wl-procs sh -c "$PY -c 'print(\"py ok\")'; /usr/bin/ls /; echo rc=\$?"
assert_eq "whitelist: python3 runs, ls (not listed) fails with 126" \
    "py ok
rc=126" "$OUT"
audit_has "whitelist: audit of ls (not whitelisted)" \
    "{\"processPath\":\"$LS\",\"effect\":\"prevent\",\"ruleName\":\"wl-procs\",
\"msg\":\"$LS launched and is explicitly denied by runtime rule. Full command \
/usr/bin/ls /\"}"
fg 10 wl-procs /bin/true
assert_status "whitelist: a main command not listed is denied (126)" 126

policy alert-ls '"processes":{"effect":"alert","blacklist":["/usr/bin/ls"]}'
fg 10 alert-ls sh -c 'echo $$; exec /usr/bin/ls -d /'
_pid=$(printf '%s\n' "$OUT" | head -n 1)
assert_eq "alert effect: ls runs (prints /, status 0)" "/ 0" \
    "$(printf '%s\n' "$OUT" | tail -n 1) $RC"
audit_has "alert effect: audited with effect alert" \
    "{\"effect\":\"alert\",\"attackType\":\"explicitlyDeniedProcess\",
\"processPath\":\"$LS\",\"pid\":${_pid:-0},\"msg\":\"$LS launched and is \
explicitly denied by runtime rule. Full command /usr/bin/ls -d /\"}"

# ==== 4. files ====

S=$T/secret
P=$T/pub
mkdir -p "$S/sub" "$S/rmme" "$P/rmme"
for _f in read write unlink renout chmod rel dots dots2 link2 dirlink proc \
    procroot dirfd trunc hard utime chown symlink cat; do
	echo "secret $_f" >"$S/f_$_f"
done
TRUNC_SIZE=$(stat -c %s "$S/f_trunc")
echo "public" >"$P/file"
echo "public" >"$P/renin"
ln -s "$S/f_link2" "$P/inlink"
ln -s "$S" "$P/sdir"
policy files "\"filesystem\":{\"effect\":\"prevent\",
\"blacklist\":[\"$S\",\"$S/*\"]}"

cat >"$T/files.py" <<'EOF'
import errno, os, sys
S, P = sys.argv[1], sys.argv[2]
print("pid", os.getpid(), flush=True)

def op(name, fn):
    try:
        fn()
        print(name, "ok", flush=True)
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno), flush=True)

def rd(path, **kw):
    fd = os.open(path, os.O_RDONLY, **kw)
    os.read(fd, 10)
    os.close(fd)

def wr(path, flags=os.O_WRONLY | os.O_APPEND):
    fd = os.open(path, flags, 0o644)
    os.write(fd, b"x")
    os.close(fd)

op("read", lambda: rd(S + "/f_read"))
op("write", lambda: wr(S + "/f_write"))
op("create", lambda: wr(S + "/f_new", os.O_WRONLY | os.O_CREAT))
op("create_excl", lambda: wr(S + "/f_new2", os.O_WRONLY | os.O_CREAT |
                             os.O_EXCL))
op("unlink", lambda: os.unlink(S + "/f_unlink"))
op("rename_out", lambda: os.rename(S + "/f_renout", P + "/stolen"))
op("rename_in", lambda: os.rename(P + "/renin", S + "/f_renin"))
op("mkdir", lambda: os.mkdir(S + "/newdir"))
op("rmdir", lambda: os.rmdir(S + "/rmme"))
op("chmod", lambda: os.chmod(S + "/f_chmod", 0o777))
op("symlink_into", lambda: os.symlink(S + "/f_symlink", P + "/newlink"))
op("symlink_rel", lambda: os.symlink("../secret/f_symlink", P + "/rellink"))
op("truncate", lambda: os.truncate(S + "/f_trunc", 0))
op("hardlink_out", lambda: os.link(S + "/f_hard", P + "/hard"))
op("utime", lambda: os.utime(S + "/f_utime"))
op("chown", lambda: os.chown(S + "/f_chown", 0, 0))
op("listdir", lambda: os.listdir(S))
op("dots", lambda: rd(P + "/../secret/f_dots"))
op("dots2", lambda: rd(S + "/sub/../f_dots2"))
op("dots3", lambda: rd(P + "/../pub/../secret/sub/../f_dots"))
op("symlink_file", lambda: rd(P + "/inlink"))
op("symlink_dir", lambda: rd(P + "/sdir/f_dirlink"))
d = os.open(P, os.O_RDONLY | os.O_DIRECTORY)
op("dirfd", lambda: rd("../secret/f_dirfd", dir_fd=d))
os.close(d)
os.chdir(S + "/sub")
op("rel", lambda: rd("../f_rel"))
os.chdir(S)
op("rel2", lambda: rd("f_rel"))
op("proc_cwd", lambda: rd("/proc/self/cwd/f_proc"))
op("proc_pid_cwd", lambda: rd("/proc/%d/cwd/f_proc" % os.getpid()))
os.chdir(P)
op("proc_root", lambda: rd("/proc/self/root" + S + "/f_procroot"))
op("proc_fd", lambda: rd("/proc/self/cwd/../secret/f_proc"))
# Another process's memory (fnguard's, another tracee's) is out of reach
# whatever the policy.
op("mem_fnguard", lambda: os.close(os.open("/proc/%d/mem" % os.getppid(),
                                           os.O_RDWR)))
import subprocess
child = subprocess.Popen(["sleep", "10"])
op("mem_tracee", lambda: os.close(os.open("/proc/%d/mem" % child.pid,
                                          os.O_RDWR)))
child.kill()
child.wait()
# Allowed: the same acts outside the directory.
op("pub_read", lambda: rd(P + "/file"))
op("pub_create", lambda: wr(P + "/new", os.O_WRONLY | os.O_CREAT))
op("pub_rename", lambda: os.rename(P + "/new", P + "/new2"))
op("pub_mkdir", lambda: os.mkdir(P + "/d"))
op("pub_rmdir", lambda: os.rmdir(P + "/d"))
op("pub_chmod", lambda: os.chmod(P + "/file", 0o600))
op("pub_symlink", lambda: os.symlink(P + "/file", P + "/l"))
op("pub_unlink", lambda: os.unlink(P + "/new2"))
op("pub_rel", lambda: rd("file"))
# A sibling whose name starts like the directory is not in it.
op("sibling", lambda: wr(S + "-not/x", os.O_WRONLY | os.O_CREAT))
EOF
mkdir "$S-not"
fg 20 files "$PY" "$T/files.py" "$S" "$P"
FILES_OUT=$OUT
FILES_AUD=$AUDF
_pid=$(printf '%s\n' "$OUT" | awk '$1 == "pid" { print $2 }')
[ -z "$CERR" ] || show "$CERR"

fres() {	# OP: what files.py printed for it
	printf '%s\n' "$FILES_OUT" | awk -v o="$1" '$1 == o { print $2 }'
}

# file_denied OP PATH: EACCES, and the audit names PATH (resolved).
file_denied() {
	assert_eq "files: $1 refused with EACCES" EACCES "$(fres "$1")"
	AUDF=$FILES_AUD audit_has "files: $1 audited with the resolved path $2" \
	    "{\"type\":\"filesystem\",\"attackType\":\"regFileAccess\",
\"effect\":\"prevent\",\"ruleName\":\"files\",\"processPath\":\"$PYEXE\",
\"pid\":${_pid:-0},\"filepath\":\"$2\",
\"msg\":\"$PYEXE access a suspicious path of $2\"}"
}

file_denied read "$S/f_read"
file_denied write "$S/f_write"
file_denied create "$S/f_new"
file_denied create_excl "$S/f_new2"
file_denied unlink "$S/f_unlink"
file_denied rename_out "$S/f_renout"
file_denied rename_in "$S/f_renin"
file_denied mkdir "$S/newdir"
file_denied rmdir "$S/rmme"
file_denied chmod "$S/f_chmod"
file_denied symlink_into "$S/f_symlink"
file_denied symlink_rel "$S/f_symlink"
file_denied truncate "$S/f_trunc"
file_denied hardlink_out "$S/f_hard"
file_denied utime "$S/f_utime"
file_denied chown "$S/f_chown"
file_denied listdir "$S"
file_denied dots "$S/f_dots"
file_denied dots2 "$S/f_dots2"
file_denied dots3 "$S/f_dots"
file_denied symlink_file "$S/f_link2"
file_denied symlink_dir "$S/f_dirlink"
file_denied dirfd "$S/f_dirfd"
file_denied rel "$S/f_rel"
file_denied rel2 "$S/f_rel"
file_denied proc_cwd "$S/f_proc"
file_denied proc_pid_cwd "$S/f_proc"
file_denied proc_root "$S/f_procroot"
file_denied proc_fd "$S/f_proc"
assert_eq "files: fnguard's /proc/PID/mem opened for writing refused with \
EACCES" EACCES "$(fres mem_fnguard)"
assert_eq "files: another tracee's /proc/PID/mem opened for writing refused \
with EACCES" EACCES "$(fres mem_tracee)"
for _o in pub_read pub_create pub_rename pub_mkdir pub_rmdir pub_chmod \
    pub_symlink pub_unlink pub_rel sibling; do
	assert_eq "files: $_o allowed" ok "$(fres "$_o")"
done
assert_eq "files: nothing in the directory changed" \
    "f_chmod 644, f_renout yes, f_unlink yes, f_trunc $TRUNC_SIZE, f_new no, \
newdir no, rmme yes, stolen no, hard no, newlink no, renin yes" \
    "f_chmod $(stat -c %a "$S/f_chmod"), \
f_renout $([ -e "$S/f_renout" ] && echo yes || echo no), \
f_unlink $([ -e "$S/f_unlink" ] && echo yes || echo no), \
f_trunc $(stat -c %s "$S/f_trunc"), \
f_new $([ -e "$S/f_new" ] && echo yes || echo no), \
newdir $([ -e "$S/newdir" ] && echo yes || echo no), \
rmme $([ -d "$S/rmme" ] && echo yes || echo no), \
stolen $([ -e "$P/stolen" ] && echo yes || echo no), \
hard $([ -e "$P/hard" ] && echo yes || echo no), \
newlink $([ -L "$P/newlink" ] && echo yes || echo no), \
renin $([ -e "$P/renin" ] && echo yes || echo no)"
assert_eq "files: no audit record for an allowed path" "[]" \
    "$(aq "$FILES_AUD" eval "[r.get('filepath') for r in recs if not \
r.get('filepath', '').startswith('$S/') and r.get('filepath') != '$S']")"

fg 10 files cat "$S/f_cat"
assert_status "files: cat of a denied file fails (status 1)" 1
assert_contains "files: cat says Permission denied" "$ERR" \
    "$S/f_cat: Permission denied"
audit_has "files: cat's audit" "{\"processPath\":\"$(readlink -f \
"$(command -v cat)")\",\"filepath\":\"$S/f_cat\"}"
fg 10 files sh -c "echo x >$S/f_write; echo rc=\$?"
assert_contains "files: a shell redirection into the directory fails" \
    "$ERR" "Permission denied"
fg 10 files sh -c "cat $P/file"
assert_eq "files: cat of an allowed file works" "public" "$OUT"

# The same with the tools people use (each its own system calls: fts
# walks with dirfds, renameat2, utimensat, symlinkat, ...).
mkdir -p "$S/csub" "$S/c_rmdir"
for _f in rm mv cp chmod touch ln rel tee dd; do
	echo "secret c_$_f" >"$S/c_$_f"
done
echo "secret inside" >"$S/csub/x"
cat >"$T/tools.sh" <<EOF
cd "$T/wd"
t() {	# NAME CMD...
	_n=\$1
	shift
	"\$@" >/dev/null 2>"$T/tools.err.\$_n"
	echo "\$_n \$?"
}
t rm rm -f "$S/c_rm"
t rm_r rm -rf "$S/csub"
t mv mv "$S/c_mv" "$P/"
t cp cp "$S/c_cp" "$P/"
t chmod chmod 777 "$S/c_chmod"
t touch touch "$S/c_touch"
t touch_new touch "$S/c_touch_new"
t mkdir mkdir "$S/c_dir"
t rmdir rmdir "$S/c_rmdir"
t ln_s ln -s "$S/c_ln" "$P/c_ln"
t ls ls "$S"
t tee tee -a "$S/c_tee"
t dd dd if=/dev/zero of="$S/c_dd" bs=1 count=1 conv=notrunc
cd "$S"
t rel cat c_rel
t stat stat "$S/c_rel"
EOF
fg 30 files sh "$T/tools.sh"
TOOLS_OUT=$OUT
tres() {	# NAME: the tool's exit status
	printf '%s\n' "$TOOLS_OUT" | awk -v o="$1" '$1 == o { print $2 }'
}
# tool_denied NAME TOOL PATH: failed, said Permission denied, audited.
tool_denied() {
	_st=$(tres "$1")
	if [ -n "$_st" ] && [ "$_st" != 0 ]; then
		ok "tools: $1 fails (status $_st)"
	else
		not_ok "tools: $1 fails (status ${_st:-none})"
	fi
	assert_contains "tools: $1 says Permission denied" \
	    "$(cat "$T/tools.err.$1" 2>/dev/null)" "Permission denied"
	audit_has "tools: $1 audited ($2, $3)" \
	    "{\"processPath\":\"$(readlink -f "$(command -v "$2")")\",
\"filepath\":\"$3\",\"attackType\":\"regFileAccess\",\"effect\":\"prevent\"}"
}
tool_denied rm rm "$S/c_rm"
tool_denied mv mv "$S/c_mv"
tool_denied cp cp "$S/c_cp"
tool_denied chmod chmod "$S/c_chmod"
tool_denied touch touch "$S/c_touch"
tool_denied touch_new touch "$S/c_touch_new"
tool_denied mkdir mkdir "$S/c_dir"
tool_denied rmdir rmdir "$S/c_rmdir"
tool_denied ln_s ln "$S/c_ln"
tool_denied ls ls "$S"
tool_denied tee tee "$S/c_tee"
tool_denied dd dd "$S/c_dd"
tool_denied rel cat "$S/c_rel"
_st=$(tres rm_r)
if [ -n "$_st" ] && [ "$_st" != 0 ]; then
	ok "tools: rm -rf of a directory inside fails (status $_st)"
else
	not_ok "tools: rm -rf of a directory inside fails (status ${_st:-none})"
fi
assert_eq "tools: stat (no file call the policy checks) works" 0 \
    "$(tres stat)"
assert_eq "tools: nothing in the directory changed" \
    "c_rm c_mv c_chmod:644 csub/x c_dd:$(stat -c %s "$S/c_dd") \
no-c_dir c_rmdir no-c_touch_new no-mv no-cp no-ln" \
    "$(cd "$S" && for _f in c_rm c_mv; do [ -e $_f ] && printf '%s ' $_f; done
printf 'c_chmod:%s ' "$(stat -c %a c_chmod)"
[ -e csub/x ] && printf 'csub/x '
printf 'c_dd:%s ' "$(stat -c %s c_dd)"
[ -e c_dir ] || printf 'no-c_dir '
[ -d c_rmdir ] && printf 'c_rmdir '
[ -e c_touch_new ] || printf 'no-c_touch_new '
[ -e "$P/c_mv" ] || printf 'no-mv '
[ -e "$P/c_cp" ] || printf 'no-cp '
[ -L "$P/c_ln" ] || printf 'no-ln')"

# The ways an open is answered (tests/run/opens.c): with a seccomp
# listener, the call runs as it is (the only thread of the tree), fnguard
# opens the file and hands over the descriptor (more threads or
# processes), or the call goes to a ptrace stop (creating a file, /proc, a
# FIFO, a thread whose credentials are not fnguard's); without one
# (FNGUARD_NO_LISTENER=1) every open stops for ptrace. The program sees
# the same in every case, and the denied file is refused and audited.
L=$T/lst
mkdir -p "$L/sub"
chmod 755 "$L" "$L/sub"
echo public >"$L/public"
echo secret >"$L/secret"
echo denied >"$L/denied"
chmod 644 "$L/public" "$L/denied"
chmod 600 "$L/secret"
mkfifo "$L/fifo"
gcc -O2 -pthread -o "$T/pub/opens" "$TOP_SRCDIR/tests/run/opens.c"
policy lst "\"filesystem\":{\"effect\":\"prevent\",
\"blacklist\":[\"$L/denied\"]}"
FG_OPTS=(-v)
opens_held() {	# DESC: opens' output ($OUT, $RC): all its checks ran, held
	assert_eq "$1: every check holds, status 0" "0" \
	    "$(grep -v '^ok ' <<<"$OUT")$RC"
	assert_eq "$1: 15 checks ran" 15 "$(grep -c '^ok ' <<<"$OUT")"
}
_stats='[0-9]* listener calls, [0-9]* opened for the caller, [0-9]* sent'
for _m in solo tree thread; do
	for _nl in "" 1; do
		_d="opens ($_m${_nl:+, no listener})"
		FNGUARD_NO_LISTENER=$_nl fg 20 lst "$T/pub/opens" "$_m" "$L" \
		    "$L/denied"
		opens_held "$_d"
		audit_has "$_d: the denied open audited" \
		    "{\"type\":\"filesystem\",\"filepath\":\"$L/denied\"}"
		_st=$(grep -o "$_stats" <<<"$ERR")
		case $_nl$_m in
		1*) assert_eq "$_d: no listener calls" "0 listener calls" \
		    "${_st%%,*}" ;;
		solo) assert_match "$_d: the listener answered, fnguard \
opened nothing" "$_st" '^[1-9][0-9]* listener calls, 0 opened' ;;
		*) assert_match "$_d: fnguard opened files for it, sent some \
to ptrace" "$_st" \
		    '^[1-9][0-9]* listener calls, [1-9][0-9]* opened for the caller, [1-9][0-9]* sent' ;;
		esac
	done
done
# A process whose memory another process shares (clone with CLONE_VM
# and SIGCHLD: a fork event, not a clone event) is not one whose memory
# only the opener can touch: at ptrace stops every open of it gets the
# second look, none the fast path. (Linked statically: no opens by ld.so
# before the clone, which may take the fast path.) The same program in
# the "tree" mode, a plain fork, shows that fast opens are counted.
gcc -O2 -static -pthread -o "$T/pub/opens-static" \
    "$TOP_SRCDIR/tests/run/opens.c"
for _nl in "" 1; do
	_d="opens (tree, static${_nl:+, no listener})"
	FNGUARD_NO_LISTENER=$_nl fg 20 lst "$T/pub/opens-static" tree "$L" \
	    "$L/denied"
	assert_match "$_d: fast opens counted" "$ERR" ' [1-9][0-9]* fast opens,'
	_d="opens (vmshare${_nl:+, no listener})"
	FNGUARD_NO_LISTENER=$_nl fg 20 lst "$T/pub/opens-static" vmshare "$L" \
	    "$L/denied"
	opens_held "$_d"
	assert_match "$_d: no open took the fast path" "$ERR" \
	    ' 0 fast opens,'
done
# A thread that gave up root's credentials opens with its own, not with
# fnguard's: root's 0600 file stays closed to it.
for _nl in "" 1; do
	FNGUARD_NO_LISTENER=$_nl fg 20 lst "$T/pub/opens" nobody "$L"
	assert_eq "opens as uid 65534${_nl:+ (no listener)}: EACCES for \
root's 0600 file, the 0644 one read" "ok uid 65534: root's 0600 file: EACCES
ok uid 65534: a 0644 file
0" "$OUT
$RC"
done
# A proc file system mounted outside /proc: its "self" is the caller, as
# in /proc; fnguard does not open its files for a caller (what they give
# depends on who opens them), and its PID/mem of another process is
# refused like /proc's.
mkdir -p "$T/proc2"
if mount -t proc proc "$T/proc2"; then
	fg 20 lst "$T/pub/opens" procdir "$T/proc2"
	assert_eq "opens of another /proc from a thread: its own status; \
fnguard's mem by that name refused" \
	    "ok another /proc's self/status is this process's
ok another /proc's PARENT/mem: EACCES
0" "$OUT
$RC"
	assert_match "opens of another /proc: sent to a ptrace stop" "$ERR" \
	    ' 0 opened for the caller, [1-9][0-9]* sent'
	umount "$T/proc2"
else
	not_ok "mount a proc file system on $T/proc2"
fi
# Threads opening files (some creating them: those go to a ptrace stop)
# in processes that are killed mid-open, and signals with handlers during
# the opens: everything ends, nothing hangs, nothing is killed by fnguard.
cat >"$T/stress.py" <<EOF
import os, signal, threading, time
def worker():
    while True:
        fd = os.open("$L/new.%d" % threading.get_ident(),
                     os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
        for f in ("$L/public", "$L/missing", "$L/denied", "/etc/passwd"):
            try:
                with open(f, "rb") as h:
                    h.read(10)
            except OSError:
                pass
for i in range(3):
    threading.Thread(target=worker, daemon=True).start()
for i in range(15):
    pid = os.fork()
    if pid == 0:
        for j in range(3):
            threading.Thread(target=worker, daemon=True).start()
        worker()
    time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
signal.signal(signal.SIGUSR1, lambda *a: None)
for i in range(100):
    os.kill(os.getpid(), signal.SIGUSR1)
    time.sleep(0.001)
print("done")
EOF
fg 60 lst "$PY" "$T/stress.py"
assert_eq "opens under kills and signals: the program ends, status 0" \
    "done 0" "$OUT $RC"
assert_match "opens under kills and signals: fnguard killed nothing" \
    "$ERR" ' 0 killed, '
assert_match "opens under kills and signals: some went to ptrace stops" \
    "$ERR" ' [1-9][0-9]* sent to a ptrace stop'
rm -f "$L"/new.*
FG_OPTS=()

# ==== 5. network ====

policy net '"network":{"effect":"prevent","blacklistIPs":["192.0.2.99"],
"blacklistOutboundPorts":[{"start":8081,"end":8081}],
"blacklistListeningPorts":[{"start":9090,"end":9090}]}'
cat >"$T/net.py" <<'EOF'
import errno, os, socket, sys
print("pid", os.getpid(), flush=True)

def op(name, fn):
    try:
        r = fn()
        print(name, "ok" if r is None else r, flush=True)
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno), flush=True)

def get(addr, fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(addr)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            c = s.recv(4096)
            if not c:
                break
            data += c
        return "ok" if data.startswith(b"HTTP/1.0 200") else "bad-reply"
    finally:
        s.close()

def udp_send(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", addr)
    finally:
        s.close()

def udp_connect(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(addr)
        s.send(b"x")
    finally:
        s.close()

def listen(port, fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("", port))
        s.listen(5)
    finally:
        s.close()

def udp_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("", port))
    finally:
        s.close()

def sock(*a):
    socket.socket(*a).close()

for arg in sys.argv[1:]:
    if arg == "tcp_ok":
        op(arg, lambda: get(("192.0.2.10", 80)))
    elif arg == "tcp_ip":
        op(arg, lambda: get(("192.0.2.99", 80)))
    elif arg == "tcp_ip_mapped":
        op(arg, lambda: get(("::ffff:192.0.2.99", 80, 0, 0),
                            socket.AF_INET6))
    elif arg == "tcp_port":
        op(arg, lambda: get(("192.0.2.10", 8081)))
    elif arg == "udp_ip":
        op(arg, lambda: udp_send(("192.0.2.99", 5000)))
    elif arg == "udp_connect_ip":
        op(arg, lambda: udp_connect(("192.0.2.99", 5001)))
    elif arg == "udp_ok":
        op(arg, lambda: udp_send(("192.0.2.10", 5000)))
    elif arg == "listen_bad":
        op(arg, lambda: listen(9090))
    elif arg == "listen_ok":
        op(arg, lambda: listen(9091))
    elif arg == "udp_bind_bad":
        op(arg, lambda: udp_bind(9090))
    elif arg == "raw":
        op(arg, lambda: sock(socket.AF_INET, socket.SOCK_RAW,
                             socket.IPPROTO_ICMP))
    elif arg == "raw6":
        op(arg, lambda: sock(socket.AF_INET6, socket.SOCK_RAW,
                             socket.IPPROTO_ICMPV6))
    elif arg == "packet":
        op(arg, lambda: sock(socket.AF_PACKET, socket.SOCK_RAW, 0x0300))
    elif arg == "netlink":
        op(arg, lambda: sock(socket.AF_NETLINK, socket.SOCK_RAW, 0))
EOF

NET_OPS="tcp_ok tcp_ip tcp_ip_mapped tcp_port udp_ip udp_connect_ip udp_ok \
listen_bad listen_ok udp_bind_bad raw raw6 packet netlink"
# shellcheck disable=SC2086
fg 20 net "$PY" "$T/net.py" $NET_OPS
NET_OUT=$OUT
_pid=$(printf '%s\n' "$OUT" | awk '$1 == "pid" { print $2 }')
[ -z "$CERR" ] || show "$CERR"

nres() {	# OP
	printf '%s\n' "$NET_OUT" | awk -v o="$1" '$1 == o { print $2 }'
}

assert_eq "network: connect 192.0.2.10:80 allowed, HTTP 200" ok \
    "$(nres tcp_ok)"
assert_eq "network: connect to a blacklisted IP refused with EACCES" EACCES \
    "$(nres tcp_ip)"
audit_has "network: blacklisted IP audit (exact SPEC message)" \
    "{\"type\":\"network\",\"attackType\":\"explicitlyDeniedIP\",
\"effect\":\"prevent\",\"ruleName\":\"net\",\"processPath\":\"$PYEXE\",
\"pid\":${_pid:-0},\"ip\":\"192.0.2.99\",\"port\":80,
\"msg\":\"Outbound connection $PYEXE to IP 192.0.2.99 is explicitly denied by \
a runtime rule\"}"
assert_eq "network: connect to ::ffff:192.0.2.99 (IPv4-mapped) refused" \
    EACCES "$(nres tcp_ip_mapped)"
assert_eq "network: connect to a blacklisted port refused with EACCES" \
    EACCES "$(nres tcp_port)"
audit_has "network: blacklisted port audit (exact SPEC message)" \
    "{\"type\":\"network\",\"attackType\":\"explicitlyDeniedOutboundPort\",
\"effect\":\"prevent\",\"processPath\":\"$PYEXE\",\"pid\":${_pid:-0},
\"ip\":\"192.0.2.10\",\"port\":8081,
\"msg\":\"Outbound connection $PYEXE to port 8081 (IP: 192.0.2.10) is \
explicitly denied by a runtime rule.\"}"
assert_eq "network: UDP sendto a blacklisted IP refused with EACCES" EACCES \
    "$(nres udp_ip)"
audit_has "network: UDP sendto audit" \
    "{\"attackType\":\"explicitlyDeniedIP\",\"ip\":\"192.0.2.99\",
\"port\":5000,\"processPath\":\"$PYEXE\"}"
assert_eq "network: UDP connect to a blacklisted IP refused with EACCES" \
    EACCES "$(nres udp_connect_ip)"
assert_eq "network: UDP sendto an allowed IP works" ok "$(nres udp_ok)"
assert_eq "network: listen on blacklisted TCP port 9090 refused with \
EACCES" EACCES "$(nres listen_bad)"
audit_has "network: listening port audit (exact SPEC message)" \
    "{\"type\":\"network\",\"attackType\":\"explicitlyDeniedListeningPort\",
\"effect\":\"prevent\",\"processPath\":\"$PYEXE\",\"pid\":${_pid:-0},
\"port\":9090,\"msg\":\"Process $PYEXE is listening on port 9090 explicitly \
denied by a runtime rule\"}"
assert_eq "network: listen on TCP port 9091 allowed" ok "$(nres listen_ok)"
assert_eq "network: bind of blacklisted UDP port 9090 refused with EACCES" \
    EACCES "$(nres udp_bind_bad)"
assert_eq "network: raw socket refused with EPERM" EPERM "$(nres raw)"
assert_eq "network: raw IPv6 socket refused with EPERM" EPERM "$(nres raw6)"
assert_eq "network: packet socket refused with EPERM" EPERM "$(nres packet)"
assert_eq "network: netlink socket allowed" ok "$(nres netlink)"

fg 15 net "$CURL" -sS --max-time 5 http://192.0.2.99/
assert_status "network: curl to a blacklisted IP fails (7, cannot connect)" 7
audit_has "network: curl's audit names $CURL" \
    "{\"attackType\":\"explicitlyDeniedIP\",\"processPath\":\"$CURL\",
\"ip\":\"192.0.2.99\",\"msg\":\"Outbound connection $CURL to IP 192.0.2.99 \
is explicitly denied by a runtime rule\"}"
fg 15 net "$CURL" -sS --max-time 5 http://192.0.2.10:8081/
assert_status "network: curl to a blacklisted port fails (7)" 7
fg 15 net "$CURL" -sS --max-time 5 http://192.0.2.11/
assert_eq "network: curl to an allowed address gets the page" \
    "$WWW_INDEX" "$OUT"

# The same lists when the rule also reads connection bytes (a dns section
# sends TCP through the embedded proxy): still refused at connect.
policy net-dns '"network":{"effect":"prevent","blacklistIPs":["192.0.2.99"],
"blacklistOutboundPorts":[{"start":8081,"end":8081}]},
"dns":{"effect":"prevent","whitelist":["*amazon.com"]}'
fg 20 net-dns "$PY" "$T/net.py" tcp_ok tcp_ip tcp_port
NET_OUT=$OUT
assert_eq "network with a dns section: allowed connect works" ok \
    "$(nres tcp_ok)"
assert_eq "network with a dns section: blacklisted IP refused with EACCES" \
    EACCES "$(nres tcp_ip)"
assert_eq "network with a dns section: blacklisted port refused with \
EACCES" EACCES "$(nres tcp_port)"
audit_has "network with a dns section: blacklisted IP audited" \
    "{\"attackType\":\"explicitlyDeniedIP\",\"ip\":\"192.0.2.99\",
\"processPath\":\"$PYEXE\"}"

# ==== 6. the seed scenario ====

SEED_MSG="DNS resolution of domain name yahoo.com triggered by $WGET \
explicitly denied by a runtime rule."
fg 20 "$SEED" sh -c 'echo $$; exec wget --tries=1 --timeout=5 http://yahoo.com'
_pid=$OUT
assert_status "seed: wget http://yahoo.com fails (status 4, network)" 4
assert_contains "seed: wget could not resolve yahoo.com" "$ERR" \
    "unable to resolve host address"
audit_has "seed: the exact audit message, processPath $WGET, its pid" \
    "{\"msg\":\"$SEED_MSG\",\"processPath\":\"$WGET\",\"pid\":${_pid:-0},
\"type\":\"network\",\"attackType\":\"explicitlyDeniedDNS\",
\"effect\":\"prevent\",\"ruleName\":\"allow-aws-only\",\"domain\":\"yahoo.com\",
\"command\":\"wget --tries=1 --timeout=5 http://yahoo.com\"}"
assert_eq "seed: the message is the one SPEC gives for the seed" \
    "DNS resolution of domain name yahoo.com triggered by /usr/bin/wget \
explicitly denied by a runtime rule." "$SEED_MSG"
assert_eq "seed: wget wrote no file" no \
    "$([ -e "$T/wd/index.html" ] && echo yes || echo no)"
fg 20 "$SEED" wget -q -O- --tries=1 --timeout=5 http://s3.amazon.com/
assert_eq "seed: wget http://s3.amazon.com/ gets the page" "$S3_INDEX" "$OUT"
assert_status "seed: wget http://s3.amazon.com/ exits 0" 0
audit_none "seed: nothing audited for s3.amazon.com"
fg 20 "$SEED" "$CURL" -sS --max-time 5 http://www.amazon.com/
assert_eq "seed: curl http://www.amazon.com/ gets the page" "$WWW_INDEX" \
    "$OUT"
fg 20 "$SEED" sh -c "echo \$\$; exec $CURL -sS --max-time 5 http://yahoo.com/"
_pid=$(printf '%s\n' "$OUT" | head -n 1)
assert_status "seed: curl http://yahoo.com/ fails (6, cannot resolve)" 6
audit_has "seed: curl's DNS denial names $CURL and its pid" \
    "{\"msg\":\"DNS resolution of domain name yahoo.com triggered by $CURL \
explicitly denied by a runtime rule.\",\"processPath\":\"$CURL\",
\"pid\":${_pid:-0}}"
fg 10 "$SEED" getent hosts s3.amazon.com
assert_eq "seed: getent hosts s3.amazon.com" "192.0.2.10 0" \
    "$(printf '%s\n' "$OUT" | awk 'NR == 1 { print $1 }') $RC"
fg 10 "$SEED" getent hosts yahoo.com
assert_eq "seed: getent hosts yahoo.com: not found (status 2)" " 2" \
    "$OUT $RC"
fg 10 "$SEED" "$PY" -c 'import socket
for n in ("s3.amazon.com", "yahoo.com"):
    try:
        print(n, sorted({a[4][0] for a in socket.getaddrinfo(n, 80,
              socket.AF_INET, socket.SOCK_STREAM)}))
    except socket.gaierror as e:
        print(n, "gaierror", e.errno)'
assert_eq "seed: python getaddrinfo" "s3.amazon.com ['192.0.2.10']
yahoo.com gaierror -2" "$OUT"

# musl's resolver (a static binary: no glibc NSS) checks that answers come
# from the nameserver it asked, as glibc's does.
chmod 711 "$T"
mkdir -p "$T/pub"
chmod 755 "$T/pub"
musl-gcc -static -O2 -o "$T/pub/gai-musl" "$TOP_SRCDIR/tests/run/gai.c"
gcc -O2 -o "$T/pub/gai-glibc" "$TOP_SRCDIR/tests/run/gai.c"
fg 10 "$SEED" "$T/pub/gai-musl" s3.amazon.com
assert_eq "seed: musl getaddrinfo s3.amazon.com" "192.0.2.10 0" "$OUT $RC"
fg 10 "$SEED" "$T/pub/gai-musl" yahoo.com
assert_eq "seed: musl getaddrinfo yahoo.com fails" "1" "$RC"
audit_has "seed: musl's DNS denial names the musl binary" \
    "{\"msg\":\"DNS resolution of domain name yahoo.com triggered by \
$T/pub/gai-musl explicitly denied by a runtime rule.\",\"processPath\":\
\"$T/pub/gai-musl\"}"
# Without root the resolver cannot have port 53: DNS reaches it by
# redirection, the replies shown as from the nameserver asked.
for _c in musl glibc; do
	ip netns exec "$NS" timeout -k 2 15 setpriv --reuid=nobody \
	    --regid=nogroup --clear-groups "$FNGUARD" run --policy "$SEED" \
	    --upstream 127.0.0.53:5300 -- sh -c "$T/pub/gai-$_c s3.amazon.com; \
	    $T/pub/gai-$_c yahoo.com" >"$T/out" 2>"$T/err"
	RC=$?
	# glibc says "Name or service not known", musl "Name does not
	# resolve".
	_o=$(sed 's/Name or service not known/Name does not resolve/' "$T/out")
	assert_eq "not root, $_c: s3.amazon.com resolves, yahoo.com does not" \
	    "192.0.2.10
error Name does not resolve 1" "$_o $RC"
	assert_contains "not root, $_c: the denial is audited" "$(cat "$T/err")" \
	    "DNS resolution of domain name yahoo.com triggered by $T/pub/gai-$_c"
done
fg 10 "$SEED" dig +time=2 +tries=1 yahoo.com
assert_match "seed: dig yahoo.com (resolv.conf) is NXDOMAIN" "$OUT" \
    'status: NXDOMAIN'
fg 10 "$SEED" dig +time=2 +tries=1 +short s3.amazon.com
assert_eq "seed: dig s3.amazon.com (resolv.conf)" 192.0.2.10 "$OUT"
fg 10 "$SEED" dig +time=2 +tries=1 +tcp @192.0.2.10 yahoo.com
assert_match "seed: dig +tcp @192.0.2.10 yahoo.com is redirected: \
NXDOMAIN" "$OUT" 'status: NXDOMAIN'
fg 10 "$SEED" dig +time=2 +tries=1 @192.0.2.10 yahoo.com
if printf '%s\n' "$OUT" | grep -q 'status: NXDOMAIN'; then
	ok "seed: dig @192.0.2.10 yahoo.com (UDP) is redirected: NXDOMAIN"
else
	not_ok "seed: dig @192.0.2.10 yahoo.com (UDP) is redirected: NXDOMAIN \
(known gap: the reply comes from the resolver's address, not 192.0.2.10)"
	show "$OUT"
fi
audit_has "seed: the redirected query was judged (audit for yahoo.com by \
dig)" "{\"domain\":\"yahoo.com\",\"attackType\":\"explicitlyDeniedDNS\",
\"processPath\":\"$(readlink -f "$(command -v dig)")\"}"
fg 10 "$SEED" dig +time=2 +tries=1 +short @192.0.2.10 s3.amazon.com
if [ "$OUT" = 192.0.2.10 ]; then
	ok "seed: dig @192.0.2.10 s3.amazon.com (UDP) answered"
else
	not_ok "seed: dig @192.0.2.10 s3.amazon.com (UDP) answered (known \
gap: reply address)"
	show "$OUT"
fi

# ==== 7. --record and replay ====

policy mix "\"processes\":{\"effect\":\"prevent\",
\"blacklist\":[\"/usr/bin/ls\"]},
\"network\":{\"effect\":\"prevent\",\"blacklistIPs\":[\"192.0.2.99\"]},
\"dns\":{\"effect\":\"prevent\",\"whitelist\":[\"*amazon.com\"]},
\"filesystem\":{\"effect\":\"prevent\",\"blacklist\":[\"$S\",\"$S/*\"]}"
cat >"$T/acts.py" <<'EOF'
import os, socket, subprocess, sys
S, P = sys.argv[1], sys.argv[2]

def tryit(name, fn):
    try:
        fn()
        print(name, "ok", flush=True)
    except OSError as e:
        print(name, e.errno, flush=True)

def rd(p):
    with open(p) as f:
        f.read()

def conn(ip):
    s = socket.create_connection((ip, 80), timeout=5)
    s.sendall(b"GET / HTTP/1.0\r\nHost: s3.amazon.com\r\n\r\n")
    s.recv(100)
    s.close()

def gai(n):
    socket.getaddrinfo(n, 80, socket.AF_INET, socket.SOCK_STREAM)

tryit("exec_ok", lambda: subprocess.run(["/bin/true"], check=True))
tryit("exec_denied", lambda: subprocess.run(["/usr/bin/ls", "/"]))
tryit("open_ok", lambda: rd(P + "/file"))
tryit("open_denied", lambda: rd(S + "/f_read"))
tryit("connect_ok", lambda: conn("192.0.2.10"))
tryit("connect_denied", lambda: conn("192.0.2.99"))
try:
    gai("s3.amazon.com")
    print("dns_ok ok", flush=True)
except socket.gaierror as e:
    print("dns_ok", e.errno, flush=True)
try:
    gai("yahoo.com")
    print("dns_denied ok", flush=True)
except socket.gaierror as e:
    print("dns_denied", e.errno, flush=True)
EOF
REC=$T/record.jsonl
FG_OPTS=(--record "$REC")
fg 30 mix "$PY" "$T/acts.py" "$S" "$P"
FG_OPTS=()
LIVE_AUD=$AUDF
assert_eq "record run: the acts' outcomes" "exec_ok ok
exec_denied 13
open_ok ok
open_denied 13
connect_ok ok
connect_denied 13
dns_ok ok
dns_denied -2" "$OUT"
[ -z "$CERR" ] || show "$CERR"

# rec_has DESC PYTHON-CONDITION-ON-r
rec_has() {
	assert_eq "$1" True "$(aq "$REC" eval "any($2 for r in recs)")"
}
rec_has "record: exec of /bin/true (allowed)" \
    "r.get('event') == 'exec' and r.get('processPath') == '$TRUE'"
rec_has "record: exec of /usr/bin/ls (denied)" \
    "r.get('event') == 'exec' and r.get('processPath') == '$LS'"
rec_has "record: open of $P/file (allowed)" \
    "r.get('event') == 'open' and r.get('filepath') == '$P/file'"
rec_has "record: open of $S/f_read (denied)" \
    "r.get('event') == 'open' and r.get('filepath') == '$S/f_read'"
rec_has "record: connect to 192.0.2.10:80 (allowed)" \
    "r.get('event') == 'connect' and r.get('ip') == '192.0.2.10' and \
r.get('port') == 80"
rec_has "record: connect to 192.0.2.99:80 (denied)" \
    "r.get('event') == 'connect' and r.get('ip') == '192.0.2.99'"
rec_has "record: dns s3.amazon.com (allowed) with its answer" \
    "r.get('event') == 'dns' and r.get('domain') == 's3.amazon.com' and \
'192.0.2.10' in (r.get('answers') or [])"
rec_has "record: dns yahoo.com (denied)" \
    "r.get('event') == 'dns' and r.get('domain') == 'yahoo.com'"
rec_has "record: the main process is marked mainProcess" \
    "r.get('mainProcess') is True and r.get('processPath') == '$PYEXE'"

ip netns exec "$NS" timeout -k 2 30 "$FNGUARD" replay --policy "$T/mix.json" \
    --json "$REC" >"$T/replay.jsonl" 2>"$T/replay.err"
RC=$?
OUT=$(head -c 2000 "$T/replay.jsonl")
ERR=$(cat "$T/replay.err")
assert_status "replay --json of the recording exits 0" 0
assert_eq "replay: one line per recorded event" \
    "$(grep -c . "$REC")" "$(grep -c . "$T/replay.jsonl")"
_rv="[r for r in recs if r.get('verdict') != 'allow']"
assert_eq "replay: the events denied live (the live audit) are exactly \
those replay denies (attackType, effect, msg)" \
    "$(aq "$LIVE_AUD" eval "sorted({(r.get('attackType'), r.get('effect'), \
r.get('msg')) for r in recs})")" \
    "$(aq "$T/replay.jsonl" eval "sorted({(r.get('attackType'), \
r.get('effect'), r.get('msg')) for r in $_rv})")"
assert_eq "replay: as many denied events as the live audit counted" \
    "$(aq "$LIVE_AUD" eval "sum(r.get('count', 0) for r in recs)")" \
    "$(aq "$T/replay.jsonl" eval "len($_rv)")"
# verdict_of DESC CONDITION EXPECTED
verdict_of() {
	assert_eq "replay: $1" "$3" "$(aq "$T/replay.jsonl" eval "sorted({r.get(\
'verdict') for r in recs if $2})")"
}
verdict_of "exec /bin/true allow" "r.get('event') == 'exec' and \
r.get('processPath') == '$TRUE'" "['allow']"
verdict_of "exec /usr/bin/ls prevent" "r.get('event') == 'exec' and \
r.get('processPath') == '$LS'" "['prevent']"
verdict_of "open $P/file allow" "r.get('filepath') == '$P/file'" "['allow']"
verdict_of "open $S/f_read prevent" "r.get('filepath') == '$S/f_read'" \
    "['prevent']"
verdict_of "connect 192.0.2.10 allow" "r.get('event') == 'connect' and \
r.get('ip') == '192.0.2.10'" "['allow']"
verdict_of "connect 192.0.2.99 prevent" "r.get('event') == 'connect' and \
r.get('ip') == '192.0.2.99'" "['prevent']"
verdict_of "dns s3.amazon.com allow" "r.get('event') == 'dns' and \
r.get('domain') == 's3.amazon.com'" "['allow']"
verdict_of "dns yahoo.com prevent" "r.get('event') == 'dns' and \
r.get('domain') == 'yahoo.com'" "['prevent']"

# ---- the embedded proxy: names and miners on the wire, requireResolved ----

# A rule that reads connection bytes sends the command's TCP through the
# proxy inside fnguard; what the address alone denies is refused before.
policy wire '"network": {"effect": "prevent", "blacklistDomains": ["yahoo.com"], "requireResolved": true, "whitelistIPs": ["192.0.2.10"]}, "processes": {"effect": "prevent", "checkCryptoMiners": true}, "dns": {"effect": "prevent", "whitelist": ["*amazon.com"]}'
fg 15 wire "$CURL" -s -m 5 -H 'Host: s3.amazon.com' http://192.0.2.10/
assert_eq "proxy: an allowed Host at an allowed address passes" \
    "$S3_INDEX 0" "$OUT $RC"
fg 15 wire "$CURL" -s -m 5 -H 'Host: yahoo.com' http://192.0.2.10/
assert_eq "proxy: a denied Host at an allowed address is cut off (curl 52 or 56)" \
    1 "$(case $RC in 52 | 56) echo 1 ;; *) echo "$RC" ;; esac)"
audit_has "proxy: the fronted name is audited with curl and the address" \
    "{\"processPath\":\"$CURL\",\"domain\":\"yahoo.com\",\"ip\":\"192.0.2.10\",\"effect\":\"prevent\"}"
fg 15 wire "$CURL" -s -m 5 http://www.amazon.com/
assert_eq "proxy: a name whose address an allowed answer returned passes" \
    "$WWW_INDEX 0" "$OUT $RC"
fg 15 wire "$PY" -c 'import socket, errno
s = socket.socket()
try:
    s.connect(("192.0.2.11", 80))
    print("connected")
except OSError as e:
    print(errno.errorcode[e.errno])'
assert_eq "requireResolved: an address no answer returned is refused (EACCES)" \
    EACCES "$OUT"
audit_has "requireResolved: audited as explicitlyDeniedIP naming python" \
    "{\"attackType\":\"explicitlyDeniedIP\",\"ip\":\"192.0.2.11\",\"port\":80}"
fg 15 wire "$PY" -c 'import socket
s = socket.create_connection(("192.0.2.10", 8081), timeout=5)
s.sendall(b"{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": [\"xmrig/6.0\"]}\n")
try:
    print("reply", len(s.recv(100)))
except OSError as e:
    print("cut", e.errno)'
assert_match "miner: stratum mining.subscribe is cut off" "$OUT" \
    '^(reply 0|cut [0-9]+)$'
audit_has "miner: audited as cryptoMinerProcess" \
    "{\"attackType\":\"cryptoMinerProcess\",\"ip\":\"192.0.2.10\",\"port\":8081}"

# An exec of something that is no regular file (a FIFO here) is refused
# by the kernel; fnguard must not open it to look for "#!" (a device could
# act on an open, a FIFO could block).
mkfifo "$T/fifo" && chmod 755 "$T/fifo"
fg 10 wide sh -c "'$T/fifo'; echo \$?"
assert_eq "exec of a FIFO: refused by the kernel (126), nothing hangs" \
    "126 0" "$OUT $RC"

# The resolver cannot listen where it is told (an address no interface
# has): with a dns section that is fatal, before anything runs.
FG_OPTS=(--dns-listen 192.0.2.250)
fg 10 "$SEED" sh -c 'echo ran'
FG_OPTS=()
assert_eq "run --dns-listen on an address nobody has: exit 1, CMD never runs" \
    " 1" "$OUT $RC"
assert_contains "and it says why" "$ERR" "run: the resolver cannot listen"

# ---- the Lambda exec wrapper ----

# conf/fnguard-wrapper as AWS_LAMBDA_EXEC_WRAPPER: the runtime's command
# line runs under fnguard run (fnguard found on PATH, the policy from
# FNGUARD_POLICY or TW_POLICY).
policy wrap '"processes": {"effect": "prevent", "blacklist": ["/usr/bin/id"]}'
ip netns exec "$NS" env PATH="$(dirname "$FNGUARD"):$PATH" \
    FNGUARD_POLICY="$T/wrap.json" timeout -k 2 20 \
    "$CONF/fnguard-wrapper" sh -c 'echo runtime up; id -u; exit 5' \
    >"$T/out" 2>"$T/err"
RC=$?
assert_eq "wrapper: the runtime's exit status passes through" 5 "$RC"
assert_contains "wrapper: the runtime runs" "$(cat "$T/out")" "runtime up"
assert_contains "wrapper: its denied exec is refused" "$(cat "$T/err")" \
    "Permission denied"
assert_contains "wrapper: and audited on stderr" "$(cat "$T/err")" \
    '"msg":"/usr/bin/id launched and is explicitly denied by runtime rule. Full command id -u"'
_tw=$("$FNGUARD" encode "$T/wrap.json" 2>/dev/null | tail -1)
ip netns exec "$NS" env PATH="$(dirname "$FNGUARD"):$PATH" TW_POLICY="$_tw" \
    timeout -k 2 20 "$CONF/fnguard-wrapper" sh -c 'id -u' \
    >"$T/out" 2>"$T/err"
RC=$?
assert_eq "wrapper with TW_POLICY: the denied exec fails (sh: 126)" 126 "$RC"

# ---- after all that ----

fg 10 "$SEED" cat /etc/resolv.conf
_ns=$(printf '%s\n' "$OUT" | awk '$1 == "nameserver" { print $2 }')
assert_match "tracees read a resolv.conf naming the embedded resolver only \
($_ns)" "$_ns" '^127\.53\.[0-9]+\.[0-9]+$'
assert_contains "the generated resolv.conf keeps the other lines" "$OUT" \
    "options timeout:2 attempts:2"
assert_eq "the generated resolv.conf is removed when the run ends" "" \
    "$(grep -l "^nameserver $_ns\$" /tmp/fnguard-run.*/resolv.conf \
    2>/dev/null)"
# ours PID: PID is one of the servers or a descendant of one (nsd forks).
ours() {
	_a=$1
	while [ -n "$_a" ] && [ "$_a" -gt 1 ]; do
		case " ${PIDS[*]} " in
		*" $_a "*) return 0 ;;
		esac
		_a=$(awk '$1 == "PPid:" { print $2 }' "/proc/$_a/status" \
		    2>/dev/null)
	done
	return 1
}
_left=$(ip netns pids "$NS" | while read -r _p; do
	ours "$_p" ||
	    echo "$_p $(tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null)"
done)
assert_eq "no traced process left running in the namespace" "" "$_left"
assert_lt "whole test under 3 minutes ($(( ($(now_ms) - START_MS) / 1000 )) \
s)" "$(( $(now_ms) - START_MS ))" 180000

finish
