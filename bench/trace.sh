#!/bin/bash
# bench/trace.sh — what `fnguard run` (ptrace + seccomp) costs a program,
# beside strace (all calls, and --seccomp-bpf with a few) and proot, on four
# workloads, in one run, loopback only.
#
#   bench/trace.sh [BUILDDIR]    (default: $BUILD, else build/ at the top of
#                                 the tree; fnguard is built there if missing)
#
# Environment: BENCH_RUNS (7, runs of each workload under each runner),
# BENCH_TRUE_RUNS (30, runs of each /bin/true variant), BENCH_WORKLOADS
# ("py exec dd gcc"), BENCH_RUNNERS ("plain fnguard strace strace-bpf
# proot floor ptfloor nfloor"), BENCH_DD_SLOW_RUNS (1: runs of dd under strace without
# --seccomp-bpf and under proot, which stop on every one of its 4 million
# calls: minutes a run; 0 skips them), BENCH_TIMEOUT (120, seconds per
# command; 1200 for those), BENCH_KEEP=DIR keeps the generated files, the
# runners' stderr and the raw timings.
#
# Workloads (each must exit 0 under every runner, or its cell says FAIL):
#   py    /usr/bin/python3 -c 'import json, re, subprocess, http.client,
#         email, decimal, xml.etree.ElementTree, sqlite3, argparse,
#         logging, asyncio, urllib.request': start-up, about 2,400 calls
#         of which 190 openat and 940 newfstatat (the distribution's
#         interpreter: python3 on PATH may be a pyenv shim, a bash script).
#   exec  /bin/bash -c 'for ((i = 0; i < 300; i++)); do /bin/true; done':
#         300 fork + execve.
#   dd    /bin/dd if=/dev/zero of=/dev/null bs=1 count=2000000 status=none:
#         4 million read/write calls that no rule looks at.
#   gcc   gcc -O0 -o prog prog.c, a generated 200-line C file including
#         three system headers, compiled and linked: gcc, cc1, as, collect2,
#         ld (4 vforks, 14 execve tries, 340 openat, about 3,700 calls).
# Runners (the command line in front of the workload):
#   plain       nothing.
#   fnguard     fnguard run --policy P --audit FILE --upstream 127.0.0.1:9 --
#               P has one rule with processes, filesystem and network all
#               on, effect prevent, lists that deny nothing the workloads
#               do: processes blacklist ["/usr/bin/nc.unused"],
#               filesystem blacklist ["/etc/shadow", "/root/.ssh/*"],
#               network blacklistIPs ["192.0.2.1"]; no dns section, no
#               checkCryptoMiners, so no proxy. With network on, fnguard
#               starts its resolver on 127.53.X.Y:53 (root) forwarding to
#               127.0.0.1:9, which nothing asks. The audit file must stay
#               empty; the script prints how many records it holds.
#   strace      strace -f -o /dev/null
#   strace-bpf  strace -f --seccomp-bpf -e trace=execve,openat,connect
#               -o /dev/null
#   proot       proot (rootfs /, no bindings: path translation only).
#               Debian's proot 5.1.0 installs no seccomp filter on recent
#               kernels (it stops on every call, like plain strace); the
#               script prints the Seccomp: line of a tracee's status.
#   floor       a helper that installs a seccomp filter of one instruction
#               (SECCOMP_RET_ALLOW) and execs the workload: what any seccomp
#               launcher costs before it decides anything (the dd workload
#               shows it: every call takes the kernel's seccomp entry path).
#   ptfloor     a helper that traces the tree with exactly the ptrace
#               options issue 5 asks for and decides nothing: the stops
#               that every fork, exec and signal cost any such launcher.
#   nfloor      ptfloor, plus a seccomp filter that sends execve,
#               execveat, open, openat and openat2 to a listener that lets
#               each through at once (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
#               without reading anything: the least any launcher pays that
#               must see those calls before they run, as issue 5 asks for
#               exec and for the files section. A second thread answers
#               the listener; the first handles ptrace stops.
# strace and proot are installed with apt-get when missing (apt-get update
# first); a runner that is missing after that, or that cannot run
# /bin/true, is left out with a note.
#
# Method: every workload runs once plain first (warm caches, Python's
# .pyc files). Then BENCH_RUNS rounds; each round runs every (workload,
# runner) once, the runners' order rotated by one each round (interleaved,
# so that the machine's load drifts over all runners alike). Wall time is
# bash's $EPOCHREALTIME before the fork and after wait(2), the command run
# as `timeout -k 5 LIMIT RUNNER... WORKLOAD` with stdout to /dev/null (the
# same timeout process for every runner). CPU time is the user+sys of
# every process of the tree, tracer included (bash's `times` for waited-for
# children, before and after). Reported: the median wall ms, the ratio
# median/plain median, and for fnguard its overhead beside strace-bpf's,
# (fnguard - plain) / (strace-bpf - plain), medians ("n/a" when
# strace-bpf's median is not above plain's); then the same for CPU ms,
# which other jobs on the machine disturb less (1 ms resolution). The
# details list min, median and max wall ms and the median CPU ms of each
# cell.
# Then /bin/true, `fnguard run -- /bin/true` (no policy: nothing but execs
# checked, no resolver) and `fnguard run --policy P ... -- /bin/true`,
# BENCH_TRUE_RUNS times each, interleaved: medians and the differences.
#
# Targets (issue 5), each printed as met or NOT met, once on the wall
# medians and once on the CPU medians:
#   fnguard's overhead <= half of strace --seccomp-bpf's on every workload
#   (an overhead below plain counts as 0; "cannot tell" when strace-bpf's
#   median is not above plain's: the noise is larger than the overhead);
#   dd under fnguard within 1.05x plain;
#   `fnguard run -- /bin/true` within 5 ms of /bin/true (also shown with
#   the policy, whose resolver start-up it adds).
# The machine may be shared: the load average is printed at the start,
# per round and at the end. Exit status: 0, or 1 when a setup step failed.
set -eu
export LC_ALL=C
unset TW_POLICY TW_POLICY_PUBKEY
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILD:-$top/build}}
runs=${BENCH_RUNS:-7}
true_runs=${BENCH_TRUE_RUNS:-30}
workloads=${BENCH_WORKLOADS:-py exec dd gcc}
runners=${BENCH_RUNNERS:-plain fnguard strace strace-bpf proot floor ptfloor nfloor}
dd_slow_runs=${BENCH_DD_SLOW_RUNS:-1}
limit=${BENCH_TIMEOUT:-120}
PATH=$PATH:/usr/sbin:/sbin

[ "$(id -u)" = 0 ] || {
	echo "bench/trace.sh needs root (fnguard's resolver listens on port 53)"
	exit 1
}
case " $runners " in *" plain "*) ;; *) runners="plain $runners" ;; esac

# ---- what it needs ------------------------------------------------------
need_pkgs=
for p in strace:strace gcc:gcc dd:coreutils /usr/bin/python3:python3; do
	command -v "${p%%:*}" >/dev/null 2>&1 || need_pkgs="$need_pkgs ${p#*:}"
done
case " $runners " in
*" proot "*) command -v proot >/dev/null 2>&1 || need_pkgs="$need_pkgs proot"
esac
if [ -n "$need_pkgs" ]; then
	echo "== installing:$need_pkgs"
	apt-get update -qq >/dev/null 2>&1 || echo "note: apt-get update failed"
	for p in $need_pkgs; do
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" \
		    >/dev/null 2>&1 || echo "note: apt-get install $p failed"
	done
fi
for p in strace gcc dd /usr/bin/python3; do
	command -v "$p" >/dev/null 2>&1 || { echo "missing: $p"; exit 1; }
done
if [ ! -x "$build/fnguard" ]; then
	echo "== building fnguard in $build"
	mkdir -p "$build"
	(cd "$build" && { [ -f Makefile ] || "$top/configure" -q; } &&
	    make -s fnguard) >/dev/null
fi

# ---- processes ----------------------------------------------------------
work=${BENCH_KEEP:-$(mktemp -d /tmp/tracebench.XXXXXX)}
mkdir -p "$work"
cp -p "$build/fnguard" "$work/fnguard"	# a rebuild meanwhile changes nothing
fnguard=$work/fnguard
cur=			# the PID of the command being timed

. "$top/bench/lib.sh"
cleanup() {
	set +e
	[ -z "$cur" ] || stop "$cur"
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# child_cpu: user+sys of every waited-for descendant so far, in $cpu
# (microseconds; `times` runs in this shell, no fork: in a $(...) subshell
# it would see no children).
child_cpu() {
	local l u s m f
	times >"$work/times"
	{ read -r l; read -r u s; } <"$work/times"
	cpu=0
	for l in "$u" "$s"; do		# "1m2.345s"
		m=${l%%m*} f=${l#*m} f=${f%s}
		cpu=$((cpu + (m * 60 + 10#${f%.*}) * 1000000 + 10#${f#*.} * 1000))
	done
}

# timed LIMIT LOG CMD...: runs CMD; wall time in $us and CPU time of the
# whole process tree in $cpu_us (microseconds), exit status in $rc.
timed() {
	local lim=$1 log=$2 t0 t1 c0
	shift 2
	child_cpu
	c0=$cpu
	t0=$EPOCHREALTIME
	timeout -k 5 "$lim" "$@" >/dev/null 2>>"$log" </dev/null &
	cur=$!
	if wait "$cur"; then rc=0; else rc=$?; fi
	t1=$EPOCHREALTIME
	cur=
	us=$(( ${t1/./} - ${t0/./} ))
	child_cpu
	cpu_us=$((cpu - c0))
}

# ---- inputs -------------------------------------------------------------
cat >"$work/policy.json" <<'EOF'
{"rules": [{"name": "bench-trace",
  "processes": {"effect": "prevent", "whitelist": [],
                "blacklist": ["/usr/bin/nc.unused"],
                "blockAllBinaries": false, "checkCryptoMiners": false},
  "filesystem": {"effect": "prevent", "whitelist": [],
                 "blacklist": ["/etc/shadow", "/root/.ssh/*"]},
  "network": {"effect": "prevent", "whitelistIPs": [],
              "blacklistIPs": ["192.0.2.1"],
              "whitelistOutboundPorts": [], "blacklistOutboundPorts": [],
              "whitelistListeningPorts": [], "blacklistListeningPorts": []}}]}
EOF
audit=$work/audit.jsonl
: >"$audit"

# prog.c: 200 lines, 26 functions called from main.
{
	printf '/*\n * Generated by bench/trace.sh: the gcc workload, compiled\n'
	printf ' * and linked (gcc -O0) as it is; 26 small functions, each\n'
	printf ' * called once from main. The headers make cpp open files.\n'
	printf ' */\n'
	printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n'
	for i in $(seq 1 26); do
		printf 'static long\nf%d(const char *s, long n)\n{\n' "$i"
		printf '\treturn (long)strlen(s) * n + %d;\n}\n\n' "$i"
	done
	printf 'int\nmain(int argc, char **argv)\n{\n\tlong t = 1;\n'
	printf '\tconst char *s = argc > 1 ? argv[1] : "fnguard";\n\n'
	for i in $(seq 1 26); do
		printf '\tt = f%d(s, t) %% 1000003;\n' "$i"
	done
	printf '\tprintf("%%ld\\n", t);\n\treturn EXIT_SUCCESS;\n}\n'
} >"$work/prog.c"
[ "$(wc -l <"$work/prog.c")" = 200 ] ||
    { echo "prog.c: $(wc -l <"$work/prog.c") lines, not 200"; exit 1; }

# allowall: the floor under any seccomp launcher, a filter of one
# instruction (SECCOMP_RET_ALLOW) and no tracer; every call of the
# workload then takes the kernel's seccomp entry path.
cat >"$work/allowall.c" <<'EOF'
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { 1, &allow };

	if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == -1) {
		perror("allowall");
		return 126;
	}
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
EOF
gcc -O2 -o "$work/allowall" "$work/allowall.c" ||
    { echo "cannot build the floor helper"; exit 1; }

# ptfloor: the floor under any launcher that traces the whole tree as
# issue 5 asks (PTRACE_SEIZE with EXITKILL and the fork, vfork, clone,
# exec and seccomp options), deciding nothing: every new process still
# stops twice (the fork event, its first stop), every exec once, every
# signal once. With -n (nfloor), also a seccomp filter that sends execve,
# execveat, open, openat and openat2 to a listener, which a thread of its
# own answers at once with "go on": the least a launcher pays that must
# see those calls before they run.
cat >"$work/ptfloor.c" <<'EOF'
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif
/* Call n, k tests before the return: to the listener. */
#define NR(n, k) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (n), (k), 0)

static void *
answer(void *arg)
{
	int l = *(int *)arg;
	struct seccomp_notif n;
	struct seccomp_notif_resp r;

	for (;;) {
		memset(&n, 0, sizeof(n));
		if (ioctl(l, SECCOMP_IOCTL_NOTIF_RECV, &n) == -1)
			continue;	/* ENOENT: the caller went away */
		memset(&r, 0, sizeof(r));
		r.id = n.id;
		r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(l, SECCOMP_IOCTL_NOTIF_SEND, &r);
	}
	return NULL;
}

/* The listener's number in the child, or -1. */
static int
filter(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		NR(SYS_execve, 5), NR(SYS_execveat, 4), NR(SYS_open, 3),
		NR(SYS_openat, 2), NR(SYS_openat2, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (geteuid() != 0)
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

int
main(int argc, char **argv)
{
	const long opts = PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK |
	    PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |
	    PTRACE_O_TRACESECCOMP;
	int status, sig, code = 126, hand[2], num = -1, pidfd, l;
	int listen = argc > 1 && strcmp(argv[1], "-n") == 0;
	pthread_t th;
	pid_t pid, w;

	argv += listen;
	argc -= listen;
	if (argc < 2 || pipe(hand) == -1 || (pid = fork()) == -1)
		return 126;
	if (pid == 0) {
		/* The number goes to the parent, which takes the listener
		 * while the child is stopped. */
		if (listen && ((num = filter()) == -1 || write(hand[1], &num,
		    sizeof(num)) != (ssize_t)sizeof(num)))
			_exit(126);
		raise(SIGSTOP);
		if (listen)
			close(num);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if ((listen && read(hand[0], &num, sizeof(num)) !=
	    (ssize_t)sizeof(num)) || waitpid(pid, &status, WSTOPPED) == -1 ||
	    ptrace(PTRACE_SEIZE, pid, 0, (void *)opts) == -1) {
		perror("ptfloor");
		kill(pid, SIGKILL);
		return 126;
	}
	if (listen) {
		if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1 ||
		    (l = (int)syscall(SYS_pidfd_getfd, pidfd, num, 0)) == -1 ||
		    pthread_create(&th, NULL, answer, &l) != 0) {
			perror("ptfloor: listener");
			kill(pid, SIGKILL);
			return 126;
		}
		ioctl(l, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		    SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0);
	}
	kill(pid, SIGCONT);
	while ((w = waitpid(-1, &status, __WALL)) > 0) {
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (w == pid) {
				code = WIFEXITED(status) ? WEXITSTATUS(status) :
				    128 + WTERMSIG(status);
				break;
			}
			continue;
		}
		sig = WSTOPSIG(status);
		if ((status >> 16) != 0 || sig == SIGSTOP)
			sig = 0;
		ptrace(PTRACE_CONT, w, 0, (void *)(long)sig);
	}
	return code;
}
EOF
gcc -O2 -pthread -o "$work/ptfloor" "$work/ptfloor.c" ||
    { echo "cannot build the ptrace floor helper"; exit 1; }

py_imports='import json, re, subprocess, http.client, email, decimal, '
py_imports+='xml.etree.ElementTree, sqlite3, argparse, logging, asyncio, '
py_imports+='urllib.request'
set_workload() {	# NAME: the command in wl
	case $1 in
	py)	wl=(/usr/bin/python3 -c "$py_imports") ;;
	exec)	wl=(/bin/bash -c \
		    'for ((i = 0; i < 300; i++)); do /bin/true; done') ;;
	dd)	wl=(/bin/dd if=/dev/zero of=/dev/null bs=1 count=2000000
		    status=none) ;;
	gcc)	wl=(gcc -O0 -o "$work/prog" "$work/prog.c") ;;
	*)	echo "unknown workload $1"; exit 1 ;;
	esac
}
set_runner() {		# NAME: the command line in front, in pre
	case $1 in
	plain)		pre=() ;;
	fnguard)	pre=("$fnguard" run --policy "$work/policy.json"
			    --audit "$audit" --upstream 127.0.0.1:9 --) ;;
	strace)		pre=(strace -f -o /dev/null) ;;
	strace-bpf)	pre=(strace -f --seccomp-bpf
			    -e "trace=execve,openat,connect" -o /dev/null) ;;
	proot)		pre=(proot) ;;
	floor)		pre=("$work/allowall") ;;
	ptfloor)	pre=("$work/ptfloor") ;;
	nfloor)		pre=("$work/ptfloor" -n) ;;
	*)		echo "unknown runner $1"; exit 1 ;;
	esac
}

echo "== machine: $(nproc) cores, load average $(loadavg)"
echo "== fnguard: $build/fnguard, built $(date -r "$fnguard" '+%F %T')," \
    "sha256 $(sha256sum "$fnguard" | cut -c1-12)"
echo "== $(strace -V | head -1); $(command -v proot >/dev/null &&
    proot --version 2>&1 | grep -o 'proot v[0-9.]*\|[0-9]\.[0-9.]*' |
    head -1 | sed 's/^/proot /' || echo 'no proot');" \
    "$(gcc --version | head -1); $(/usr/bin/python3 -V 2>&1)"

# Runners that cannot run /bin/true are left out.
ok_runners=
for r in $runners; do
	set_runner "$r"
	if [ "$r" = proot ] && ! command -v proot >/dev/null 2>&1; then
		echo "note: proot is not installed (apt-get install proot" \
		    "failed); no proot column"
		continue
	fi
	: >"$work/probe.err"
	timed 30 "$work/probe.err" "${pre[@]}" /bin/true
	if [ "$rc" != 0 ]; then
		echo "note: $r cannot run /bin/true (exit $rc); left out:"
		tail -5 "$work/probe.err" | sed 's/^/   /'
		continue
	fi
	ok_runners="$ok_runners $r"
	if [ "$r" = proot ]; then
		echo "== proot's tracee: $("${pre[@]}" /bin/sh -c \
		    'grep "^Seccomp:" /proc/self/status' 2>/dev/null |
		    tr -s '\t ' ' ') (0: no filter, every call stops)"
	fi
done
runners=${ok_runners# }
nr=$(echo "$runners" | wc -w)

# ---- workloads ----------------------------------------------------------
results=$work/results		# workload runner round us rc cpu_us
: >"$results"
echo "== warm-up: every workload once, plain"
for w in $workloads; do
	set_workload "$w"
	timed "$limit" "$work/plain.err" "${wl[@]}"
	[ "$rc" = 0 ] || { echo "$w fails plain (exit $rc):";
	    tail -5 "$work/plain.err"; exit 1; }
	printf '   %-5s %8.1f ms\n' "$w" "$(awk -v u="$us" 'BEGIN{print u/1000}')"
done
read -ra rr <<<"$runners"
for round in $(seq 1 "$runs"); do
	echo "== round $round/$runs (load average $(loadavg))"
	for w in $workloads; do
		set_workload "$w"
		line="   $w"
		for k in $(seq 0 $((nr - 1))); do
			r=${rr[$(( (k + round - 1) % nr ))]}
			lim=$limit
			if [ "$w" = dd ] && { [ "$r" = strace ] ||
			    [ "$r" = proot ]; }; then
				[ "$round" -le "$dd_slow_runs" ] || continue
				lim=$((limit * 10))
			fi
			set_runner "$r"
			timed "$lim" "$work/$r.err" "${pre[@]}" "${wl[@]}"
			echo "$w $r $round $us $rc $cpu_us" >>"$results"
			line="$line  $r $(awk -v u="$us" \
			    'BEGIN{printf "%.0f", u/1000}')"
			[ "$rc" = 0 ] || line="$line(exit $rc)"
		done
		echo "$line"
	done
done

# ---- /bin/true ----------------------------------------------------------
truth=$work/true		# variant run us rc cpu_us
: >"$truth"
echo "== /bin/true, $true_runs runs of each variant (load average $(loadavg))"
for i in $(seq 1 "$true_runs"); do
	for v in plain bare policy; do
		case $v in
		plain)	pre=() ;;
		bare)	pre=("$fnguard" run --) ;;
		policy)	set_runner fnguard ;;
		esac
		timed 30 "$work/true-$v.err" "${pre[@]}" /bin/true
		echo "$v $i $us $rc $cpu_us" >>"$truth"
	done
done

# ---- tables -------------------------------------------------------------
# stats FILE NKEYS FIELD: per key (the first NKEYS fields), n, fails, min,
# median, max of FIELD ("wall" or "cpu") in ms. Lines: KEY... run us rc cpu
stats() {
	awk -v nk="$2" -v what="$3" '
	{
		key = $1; for (i = 2; i <= nk; i++) key = key " " $i
		us = what == "cpu" ? $(nk + 4) : $(nk + 2); rc = $(nk + 3)
		if (rc != 0) { fail[key]++; seen[key] = 1; next }
		v[key, ++n[key]] = us / 1000; seen[key] = 1
	}
	END {
		for (k in seen) {
			m = n[k] + 0
			for (i = 1; i <= m; i++) a[i] = v[k, i]
			for (i = 2; i <= m; i++) {
				x = a[i]
				for (j = i - 1; j >= 1 && a[j] > x; j--)
					a[j + 1] = a[j]
				a[j + 1] = x
			}
			if (m == 0) med = -1
			else if (m % 2) med = a[(m + 1) / 2]
			else med = (a[m / 2] + a[m / 2 + 1]) / 2
			printf "%s %d %d %.3f %.3f %.3f\n", k, m, fail[k] + 0,
			    m ? a[1] : -1, med, m ? a[m] : -1
		}
	}' "$1"
}
# workload runner n fails min med max
stats "$results" 2 wall >"$work/stats"
stats "$results" 2 cpu >"$work/cstats"
stats "$truth" 1 wall >"$work/tstats"	# variant n fails min med max
stats "$truth" 1 cpu >"$work/tcstats"

echo
echo "== details: runs, failures; wall ms min / median / max; CPU ms median"
for w in $workloads; do
	for r in $runners; do
		awk -v w="$w" -v r="$r" '
		    FILENAME ~ /cstats$/ { if ($1 == w && $2 == r) c = $6; next }
		    $1 == w && $2 == r {
		    printf "   %-5s %-10s n=%-2d fail=%d  wall %9.1f %9.1f %9.1f  cpu %9.1f\n",
		    $1, $2, $3, $4, $5, $6, $7, c }' "$work/cstats" "$work/stats"
	done
done

table() {	# STATS: the medians and ratios, and fnguard beside strace-bpf
	{
		printf '   %-8s' workload
		for r in $runners; do printf ' %19s' "$r"; done
		printf '  %s\n' "fnguard/strace-bpf overhead"
	}
	awk -v wls="$workloads" -v rns="$runners" -v runs="$runs" '
	{ med[$1, $2] = $6; n[$1, $2] = $3; fail[$1, $2] = $4 }
	END {
		nw = split(wls, W, " "); nr = split(rns, R, " ")
		for (i = 1; i <= nw; i++) {
			w = W[i]; p = med[w, "plain"]
			printf "   %-8s", w
			for (j = 1; j <= nr; j++) {
				r = R[j]
				if (!((w, r) in med))
					cell = "skipped"
				else if (fail[w, r] > 0 || med[w, r] < 0)
					cell = sprintf("FAIL %d/%d", fail[w, r],
					    fail[w, r] + n[w, r])
				else if (r == "plain")
					cell = sprintf("%.1f", p)
				else
					cell = sprintf("%.1f (%.2fx)%s", med[w, r],
					    p > 0 ? med[w, r] / p : 0,
					    n[w, r] < runs + 0 ? "*" : "")
				printf " %19s", cell
			}
			f = med[w, "fnguard"]; b = med[w, "strace-bpf"]
			if (!((w, "fnguard") in med) || !((w, "strace-bpf") in med))
				printf "  -\n"
			else if (b - p <= 0)
				printf "  n/a (fnguard %+.1f ms, strace-bpf %+.1f ms)\n",
				    f - p, b - p
			else
				printf "  %.2f (%+.1f / %+.1f ms)\n",
				    (f - p) / (b - p), f - p, b - p
		}
	}' "$1"
}
echo
echo "== results ($(nproc) cores, load average now $(loadavg)):" \
    "median wall ms (ratio to plain)"
table "$work/stats"
awk -v runs="$runs" '$3 + $4 < runs + 0' "$work/stats" | grep -q . &&
    echo "   * fewer runs (BENCH_DD_SLOW_RUNS=$dd_slow_runs for dd under" \
    "strace and proot)"
echo "   median CPU ms, user+sys of the whole process tree, tracer included" \
    "(less sensitive to other jobs)"
table "$work/cstats"
echo "   /bin/true, medians of $true_runs: wall ms, CPU ms"
for v in plain bare policy; do
	case $v in
	plain)	what=/bin/true ;;
	bare)	what="fnguard run -- /bin/true" ;;
	policy)	what="fnguard run --policy P ... -- /bin/true" ;;
	esac
	awk -v v="$v" -v what="$what" '
	    FILENAME ~ /tcstats$/ { if ($1 == v) c = $5; next }
	    $1 == v {
	    printf "   %-40s wall %7.2f ms (min %.2f, max %.2f, n=%d, fail=%d)  cpu %6.2f ms\n",
	    what, $5, $4, $6, $2, $3, c }' "$work/tcstats" "$work/tstats"
done
n_audit=$(wc -l <"$audit")
echo "   fnguard audit file: $n_audit records (0 expected: P denies nothing" \
    "the workloads do)"
[ "$n_audit" = 0 ] || head -3 "$audit" | cut -c1-300 | sed 's/^/     /'

targets() {	# STATS TSTATS WHAT: the verdicts on those medians
	awk -v wls="$workloads" -v what="$3" '
	FILENAME == ARGV[1] { med[$1, $2] = $6; fail[$1, $2] = $4; next }
	{ t[$1] = $5; tf[$1] = $3 }
	function ok(c) { return c ? "met        " : "NOT met    " }
	END {
		nw = split(wls, W, " ")
		for (i = 1; i <= nw; i++) {
			w = W[i]; p = med[w, "plain"]
			printf "   %s %-5s %-38s ", what, w,
			    "fnguard overhead <= 0.5x strace-bpf'"'"'s:"
			if (!((w, "fnguard") in med) || !((w, "strace-bpf") in med)) {
				print "not measured"
				continue
			}
			if (fail[w, "fnguard"] || fail[w, "strace-bpf"]) {
				print "NOT met (failed runs)"
				continue
			}
			fo = med[w, "fnguard"] - p; bo = med[w, "strace-bpf"] - p
			if (bo <= 0) {
				printf "cannot tell (strace-bpf %+.1f ms, fnguard %+.1f ms: noise)\n",
				    bo, fo
				continue
			}
			printf "%s%+.1f ms vs %+.1f ms (%.2f)\n", ok(fo <= 0.5 * bo),
			    fo, bo, fo / bo
			if ((w, "ptfloor") in med && !fail[w, "ptfloor"])
				printf "   %s %-5s %-38s %+.1f ms (%.2f of strace-bpf'"'"'s)\n",
				    what, w, "  floor, ptrace as asked, no decision:",
				    med[w, "ptfloor"] - p, (med[w, "ptfloor"] - p) / bo
			if ((w, "nfloor") in med && !fail[w, "nfloor"])
				printf "   %s %-5s %-38s %+.1f ms (%.2f of strace-bpf'"'"'s)\n",
				    what, w, "  + listener for exec and opens:",
				    med[w, "nfloor"] - p, (med[w, "nfloor"] - p) / bo
		}
		if (("dd", "fnguard") in med) {
			r = med["dd", "fnguard"] / med["dd", "plain"]
			printf "   %s %-5s %-38s %s%.3fx\n", what, "dd",
			    "fnguard within 1.05x plain:",
			    ok(!fail["dd", "fnguard"] && r <= 1.05), r
			if (("dd", "floor") in med)
				printf "   %s %-5s %-38s %.3fx (fnguard %.3fx of it)\n",
				    what, "dd", "  floor, a 1-instruction filter:",
				    med["dd", "floor"] / med["dd", "plain"],
				    med["dd", "fnguard"] / med["dd", "floor"]
		}
		d = t["bare"] - t["plain"]
		printf "   %s %-5s %-38s %s%+.2f ms\n", what, "true",
		    "fnguard run -- /bin/true within 5 ms:",
		    ok(!tf["bare"] && d <= 5), d
		d = t["policy"] - t["plain"]
		printf "   %s %-5s %-38s %s%+.2f ms\n", what, "true",
		    "  the same with --policy P:", ok(!tf["policy"] && d <= 5), d
	}' "$1" "$2"
}
echo
echo "== issue 5's targets, on the wall medians and on the CPU medians (an" \
    "overhead below plain counts as 0; \"cannot tell\" where strace-bpf's" \
    "median is not above plain's)"
targets "$work/stats" "$work/tstats" wall
targets "$work/cstats" "$work/tcstats" "cpu "
exit 0
