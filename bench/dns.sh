#!/bin/bash
# bench/dns.sh — fnguard daemon against dnsmasq and unbound, same policy,
# same upstream, same load generator, in one run, on loopback only.
#
#   bench/dns.sh [BUILDDIR]      (default: $BUILD, else build/ at the top of
#                                 the tree; fnguard is built there if missing)
#
# Environment: BENCH_SECONDS (10, per measurement), BENCH_CLIENTS (dnsperf -c,
# 4), BENCH_OUTSTANDING (dnsperf -q, 100), BENCH_SERVERS ("fnguard dnsmasq
# unbound floor"), BENCH_POLICIES ("allow deny"), BENCH_PIN (0),
# BENCH_ROUNDS (3: every server, policy and test measured that many times,
# the servers taking turns within each round, each round starting one
# server further along the list than the last), BENCH_KEEP=DIR keeps the
# generated files and dnsperf's output.
#
# Upstream: nsd, authoritative for "com" on 127.0.0.53:5300 (the next free
# 127.0.0.x if that is taken), serving amazon.com, www/s3.amazon.com,
# cached1..8.amazon.com, host0..host199999.amazon.com, and yahoo.com,
# evilamazon.com; every other name under com is NXDOMAIN from nsd.
#
# Policy "allow" (the seed allow list: names under amazon.com resolve,
# everything else is NXDOMAIN):
#   fnguard  conf/policies/amazon-dns.json: dns prevent, whitelist
#            ["*amazon.com"] (a suffix match on the string).
#   dnsmasq  server=/amazon.com/UPSTREAM#5300 and address=/#/ (no address:
#            NXDOMAIN for every name that no more specific line claims).
#   unbound  local-zone: "." always_nxdomain, local-zone: "amazon.com."
#            transparent, forward-zone "amazon.com." to the upstream.
#   Where they differ: "*amazon.com" also matches evilamazon.com (and
#   xamazon.com), which fnguard therefore forwards while dnsmasq and unbound
#   answer NXDOMAIN; both of those match amazon.com and names under it only,
#   by labels. (The allow list written as "amazon.com" + "*.amazon.com"
#   would match theirs.) The script prints what each answers for
#   evilamazon.com.
#
# Policy "deny" (100,000 random names denied, everything else forwarded):
#   fnguard  dns prevent, whitelist [], blacklist of the 100,000 names
#            (exact, no star).
#   dnsmasq  server=UPSTREAM#5300 and 100,000 address=/name/ lines.
#   unbound  100,000 local-zone: "name." always_nxdomain lines and
#            forward-zone "." to the upstream.
#   Where they differ: dnsmasq's address=/name/ and unbound's local-zone
#   also deny every name under the listed one (x.name); fnguard's exact
#   pattern denies the name itself only ("*.name" would add the rest).
#   The denied queries below use the listed names themselves.
#
# floor (bench/udpfloor.c, built by the script) is no server: it answers
# every query NXDOMAIN without reading it, no policy, no audit, with the
# same batched system calls as fnguard (epoll_wait, recvmmsg, sendmmsg with
# UDP_SEGMENT). It runs test b only, where that is the right answer, and
# shows what the kernel alone costs per query on this machine: the lowest
# CPU per query that any server reading datagrams from a socket can have.
#
# Each server runs with one thread / one process (unbound num-threads: 1),
# its default cache except dnsmasq (--cache-size=10000, from 150), and is
# restarted for each policy, so its cache starts empty.
#
# Tests, each measured with dnsperf for at most BENCH_SECONDS:
#   a  cached allowed names: 8 names under amazon.com (A and AAAA), asked
#      over and over after a warm-up pass;
#   b  denied names: the 100,000 listed names (none under amazon.com, so
#      denied by both policies), shuffled, looped;
#   c  cache misses: hostN.amazon.com, 200,000 distinct names, each once
#      (dnsperf -n 1; the run ends early when they are used up).
# dnsperf: one thread, BENCH_CLIENTS sockets, BENCH_OUTSTANDING queries in
# flight, -t 2 (a query unanswered after 2 s counts as lost), no -Q cap, so
# the server or dnsperf saturates. dnsperf shares the machine's cores with
# the server (and, in c, nsd); BENCH_PIN=1 pins the server to the last
# core and dnsperf and nsd to the first (taskset), which helps on an idle
# machine and hurts when other jobs compete for the cores. The table also
# shows the CPU used by the server (srv%) and by dnsperf (gen%) as percent
# of one core over the run: where gen% is near 100, or neither is (other
# jobs on the machine), the load generator or the machine is the ceiling,
# and the server's CPU per query is the figure to compare.
# fnguard writes its audit records to a file in the temporary directory;
# the script prints how many it wrote and how many it reported dropped.
#
# Columns: qps (dnsperf "Queries per second"); avg ms (dnsperf "Average
# Latency"); p99 ms, the 99th percentile of the per-query latencies that
# dnsperf -v prints for every answered query (the same run; lost queries
# are not in it, they are counted in "lost"); cpu/100k, the server's
# utime+stime from /proc/PID/stat (clock ticks / CLK_TCK) across the run,
# per 100,000 answered queries; rcodes, dnsperf's response-code counts.
# RSS is VmRSS from /proc/PID/status once the server answers (idle) and
# after the three tests.
set -eu
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILD:-$top/build}}
seconds=${BENCH_SECONDS:-10}
clients=${BENCH_CLIENTS:-4}
outstanding=${BENCH_OUTSTANDING:-100}
servers=${BENCH_SERVERS:-fnguard dnsmasq unbound floor}
policies=${BENCH_POLICIES:-allow deny}
rounds=${BENCH_ROUNDS:-3}
hz=$(getconf CLK_TCK)
# BENCH_PIN=1, with two or more cores: the server under test on the last
# core, dnsperf and nsd on the first.
srv_cpu='' gen_cpu=''
if [ "${BENCH_PIN:-0}" != 0 ] && [ "$(nproc)" -ge 2 ] &&
    command -v taskset >/dev/null 2>&1; then
	srv_cpu="taskset -c $(($(nproc) - 1))"
	gen_cpu="taskset -c 0"
fi

# ---- what it needs ------------------------------------------------------
PATH=$PATH:/usr/sbin:/sbin
need_pkgs=
for p in nsd:nsd dnsmasq:dnsmasq-base unbound:unbound dnsperf:dnsperf \
    dig:dnsutils python3:python3 ss:iproute2; do
	command -v "${p%%:*}" >/dev/null 2>&1 || need_pkgs="$need_pkgs ${p#*:}"
done
if [ -n "$need_pkgs" ]; then
	echo "== installing:$need_pkgs"
	# Packaged services (unbound, nsd) must not start: no systemd here,
	# and they would take ports. policy-rc.d refuses, only while we
	# install, only if there is none already.
	made_rcd=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_rcd=1
	fi
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_pkgs \
	    >/dev/null
	[ -z "$made_rcd" ] || rm -f /usr/sbin/policy-rc.d
fi
if [ ! -x "$build/fnguard" ]; then
	echo "== building fnguard in $build"
	mkdir -p "$build"
	(cd "$build" && { [ -f Makefile ] || "$top/configure" -q; } &&
	    make -s fnguard) >/dev/null
fi

# ---- processes ----------------------------------------------------------
work=${BENCH_KEEP:-$(mktemp -d /tmp/dnsbench.XXXXXX)}
mkdir -p "$work"
# A copy, so that a rebuild in BUILDDIR during the run changes nothing.
cp -p "$build/fnguard" "$work/fnguard"
fnguard=$work/fnguard
case " $servers " in
*" floor "*) ${CC:-cc} -O2 -o "$work/udpfloor" "$top/bench/udpfloor.c" ;;
esac
started=		# PIDs we started, killed (with their children) on exit

. "$top/bench/lib.sh"
cleanup() {
	# shellcheck disable=SC2086
	stop $started
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

busy() {	# ADDR PORT: something listens there (or on the wildcard)?
	ss -Hlntu 2>/dev/null | awk '{print $5}' | grep -qxF \
	    -e "$1:$2" -e "0.0.0.0:$2" -e "*:$2" -e "[::]:$2"
}
free_port() {
	local p
	while :; do
		# Below the ephemeral range (32768-60999), where a client
		# socket may hold the TCP port though nothing listens.
		p=$((20000 + RANDOM % 12000))
		busy 127.0.0.1 "$p" || { echo "$p"; return; }
	done
}
answers() {	# PORT NAME: prints the rcode, once the server answers at all
	local i out
	for i in $(seq 1 300); do
		out=$(dig +tries=1 +time=1 -p "$1" @127.0.0.1 "$2" A 2>/dev/null |
		    sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
		if [ -n "$out" ]; then
			echo "$out"
			return 0
		fi
		if [ -n "${3:-}" ] && [ ! -d "/proc/$3" ]; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}
cpu_ticks() {	# PID: utime+stime of the process (all its threads)
	sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
children_ticks() {	# CPU of waited-for children so far, in ticks
	# (times runs in this shell: in a $(...) subshell it would see none)
	times >"$work/times"
	tail -1 "$work/times" | awk -v hz="$hz" '{
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.0f\n", ((u[1] + s[1]) * 60 + u[2] + s[2]) * hz }'
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== fnguard: $build/fnguard, built $(date -r "$fnguard" \
    '+%F %T'), sha256 $(sha256sum "$fnguard" | cut -c1-12)"

# ---- data ---------------------------------------------------------------
up_addr=
for i in 53 54 55 56 57 58 59; do
	if ! busy "127.0.0.$i" 5300; then
		up_addr=127.0.0.$i
		break
	fi
	echo "note: 127.0.0.$i:5300 is taken by another process; not using it"
done
[ -n "$up_addr" ] || { echo "no free 127.0.0.x:5300 for the upstream"; exit 1; }
upstream=$up_addr:5300

python3 - "$work" "$top/conf/policies/amazon-dns.json" "$up_addr" <<'PY'
import json, random, sys
w, seed_policy, up = sys.argv[1], sys.argv[2], sys.argv[3]
rnd = random.Random(20261129)
def label(n):
    return ''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz0123456789')
                   for _ in range(n))
tlds = ['com', 'net', 'org', 'io', 'info', 'biz', 'ru', 'cn']
deny = set()
while len(deny) < 100000:
    n = '%s.%s' % (label(rnd.randint(5, 14)), rnd.choice(tlds))
    if not n.endswith('amazon.com'):
        deny.add(n)
deny = sorted(deny)

with open(w + '/zone', 'w') as f:
    f.write('$ORIGIN com.\n$TTL 300\n'
            '@ IN SOA ns admin 1 3600 600 86400 60\n@ IN NS ns\n'
            'ns IN A 127.0.0.1\namazon IN A 192.0.2.1\n'
            'www.amazon IN A 192.0.2.11\nwww.amazon IN AAAA 2001:db8::11\n'
            's3.amazon IN A 192.0.2.10\nyahoo IN A 192.0.2.99\n'
            'evilamazon IN A 192.0.2.66\n')
    for i in range(1, 9):
        f.write('cached%d.amazon IN A 192.0.2.%d\n' % (i, 20 + i))
    for i in range(200000):
        f.write('host%d.amazon IN A 10.%d.%d.%d\n'
                % (i, i >> 16, (i >> 8) & 255, i & 255))
with open(w + '/nsd.conf', 'w') as f:
    f.write('server:\n  ip-address: %s@5300\n  port: 5300\n'
            '  username: ""\n  zonesdir: "%s"\n  database: ""\n'
            '  pidfile: "%s/nsd.pid"\n  xfrdfile: "%s/xfrd.state"\n'
            '  zonelistfile: "%s/zone.list"\n  logfile: "%s/nsd.log"\n'
            '  verbosity: 1\n  server-count: 1\n'
            'remote-control:\n  control-enable: no\n'
            'zone:\n  name: "com"\n  zonefile: "%s/zone"\n'
            % (up, w, w, w, w, w, w))

# fnguard
json.dump(json.load(open(seed_policy)), open(w + '/fnguard-allow.json', 'w'))
json.dump({"rules": [{"name": "deny-100k",
                      "dns": {"effect": "prevent", "whitelist": [],
                              "blacklist": deny}}]},
          open(w + '/fnguard-deny.json', 'w'))
# dnsmasq
with open(w + '/dnsmasq-allow.conf', 'w') as f:
    f.write('server=/amazon.com/%s#5300\naddress=/#/\n' % up)
with open(w + '/dnsmasq-deny.conf', 'w') as f:
    f.write('server=%s#5300\n' % up)
    for n in deny:
        f.write('address=/%s/\n' % n)
# unbound: the server: part; the caller adds interface, port, directory
with open(w + '/unbound-allow.inc', 'w') as f:
    f.write('  local-zone: "." always_nxdomain\n'
            '  local-zone: "amazon.com." transparent\n'
            'forward-zone:\n  name: "amazon.com."\n'
            '  forward-addr: %s@5300\n' % up)
with open(w + '/unbound-deny.inc', 'w') as f:
    for n in deny:
        f.write('  local-zone: "%s." always_nxdomain\n' % n)
    f.write('forward-zone:\n  name: "."\n  forward-addr: %s@5300\n' % up)

# queries
cached = ['www.amazon.com A', 'www.amazon.com AAAA', 's3.amazon.com A',
          'amazon.com A'] + ['cached%d.amazon.com A' % i for i in range(1, 5)]
open(w + '/q-a.txt', 'w').write('\n'.join(cached) + '\n')
d = list(deny)
rnd.shuffle(d)
open(w + '/q-b.txt', 'w').write(''.join('%s A\n' % n for n in d))
h = ['host%d.amazon.com A' % i for i in range(200000)]
rnd.shuffle(h)
open(w + '/q-c.txt', 'w').write('\n'.join(h) + '\n')
open(w + '/deny-sample', 'w').write(d[0] + '\n')
PY

# ---- upstream -----------------------------------------------------------
echo "== upstream: nsd on $upstream ($(wc -l <"$work/zone") records)"
$gen_cpu nsd -d -c "$work/nsd.conf" >"$work/nsd.out" 2>&1 &
started="$started $!"
nsd_pid=$!
ok=
for i in $(seq 1 300); do
	if [ "$(dig +short +tries=1 +time=1 -p 5300 "@$up_addr" \
	    host199999.amazon.com A 2>/dev/null)" = 10.3.13.63 ]; then
		ok=1
		break
	fi
	[ -d "/proc/$nsd_pid" ] || break
	sleep 0.1
done
if [ -z "$ok" ]; then
	echo "nsd did not come up:"
	cat "$work/nsd.out" "$work/nsd.log" 2>/dev/null
	exit 1
fi

# ---- servers ------------------------------------------------------------
srv_pid=
start_server() {	# SERVER POLICY PORT
	local s=$1 pol=$2 port=$3
	case $s in
	fnguard)
		$srv_cpu "$fnguard" daemon --policy "$work/fnguard-$pol.json" \
		    --dns-listen "127.0.0.1:$port" --proxy-listen off \
		    --upstream "$upstream" \
		    --audit "$work/audit-$pol.jsonl" \
		    >"$work/$s-$pol.out" 2>&1 &
		;;
	dnsmasq)
		$srv_cpu dnsmasq -k --no-resolv --no-hosts --port="$port" \
		    --listen-address=127.0.0.1 --bind-interfaces \
		    --conf-file="$work/dnsmasq-$pol.conf" --cache-size=10000 \
		    --pid-file= --user=root --log-facility=/dev/null \
		    >"$work/$s-$pol.out" 2>&1 &
		;;
	floor)
		$srv_cpu "$work/udpfloor" "$port" >"$work/$s-$pol.out" 2>&1 &
		;;
	unbound)
		{
			printf 'server:\n  do-daemonize: no\n'
			printf '  interface: 127.0.0.1@%s\n  port: %s\n' \
			    "$port" "$port"
			printf '  num-threads: 1\n  do-ip6: no\n'
			printf '  username: ""\n  chroot: ""\n'
			printf '  directory: "%s"\n  pidfile: ""\n' "$work"
			printf '  use-syslog: no\n  logfile: ""\n'
			printf '  verbosity: 0\n  module-config: "iterator"\n'
			printf '  do-not-query-localhost: no\n'
			printf '  access-control: 127.0.0.0/8 allow\n'
			cat "$work/unbound-$pol.inc"
		} >"$work/unbound-$pol.conf"
		unbound-checkconf "$work/unbound-$pol.conf" >/dev/null
		$srv_cpu unbound -d -c "$work/unbound-$pol.conf" \
		    >"$work/$s-$pol.out" 2>&1 &
		;;
	esac
	srv_pid=$!
	started="$started $srv_pid"
}

results=$work/results		# policy test server qps avg p99 lost cpu srv% gen% rcodes round
rss=$work/rss			# policy server idle_kb end_kb round
: >"$results"
: >"$rss"

measure() {	# SERVER POLICY TEST PORT
	local s=$1 pol=$2 t=$3 port=$4
	local out=$work/dnsperf-$s-$pol-$t.txt
	local runs=() c0 c1 g0 g1 qps avg p99 lost done_q n idx rc srvp genp
	local w0 w1 cpu
	[ "$t" = c ] && runs=(-n 1)
	c0=$(cpu_ticks "$srv_pid")
	children_ticks >"$work/g0"
	w0=$(date +%s%N)
	$gen_cpu dnsperf -s 127.0.0.1 -p "$port" -d "$work/q-$t.txt" \
	    -l "$seconds" \
	    "${runs[@]}" -c "$clients" -q "$outstanding" -t 2 -v >"$out" 2>&1 ||
	    true
	w1=$(date +%s%N)
	children_ticks >"$work/g1"
	c1=$(cpu_ticks "$srv_pid")
	g0=$(cat "$work/g0") g1=$(cat "$work/g1")
	qps=$(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$out")
	avg=$(sed -n 's/^ *Average Latency (s): *\([0-9.]*\).*/\1/p' "$out")
	done_q=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$out")
	lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$out")
	rc=$(sed -n 's/^ *Response codes: *//p' "$out" |
	    sed 's/ ([0-9.]*%)//g; s/, /,/g; s/ /:/g')
	if [ -z "$qps" ] || [ -z "$done_q" ] || [ "$done_q" -eq 0 ]; then
		echo "dnsperf failed ($s $pol $t):"
		grep -v '^>' "$out" | tail -20
		qps=0 avg=0 done_q=0 lost=${lost:-?} rc=none
	fi
	n=$(grep -c '^> [A-Z]* .* [0-9.]*$' "$out" || true)
	if [ "$n" -gt 0 ]; then
		idx=$(( (n * 99 + 99) / 100 ))
		p99=$(awk '/^> [A-Z]+ / && $NF ~ /^[0-9.]+$/ {print $NF}' "$out" |
		    sort -g | sed -n "${idx}p")
	else
		p99=0
	fi
	cpu=$(awk -v d="$((c1 - c0))" -v hz="$hz" -v q="$done_q" 'BEGIN {
		if (q > 0) printf "%.3f", d / hz / q * 100000; else print "-" }')
	srvp=$(awk -v d="$((c1 - c0))" -v hz="$hz" -v w="$((w1 - w0))" \
	    'BEGIN { printf "%.0f", d / hz / (w / 1e9) * 100 }')
	genp=$(awk -v d="$((g1 - g0))" -v hz="$hz" -v w="$((w1 - w0))" \
	    'BEGIN { printf "%.0f", d / hz / (w / 1e9) * 100 }')
	echo "$pol $t $s $qps $avg $p99 $lost $cpu $srvp $genp $rc $round" >>"$results"
	[ -n "${BENCH_KEEP:-}" ] || rm -f "$out"
	printf '   %-8s %-2s %8.0f qps  avg %.3f ms  p99 %.3f ms  lost %s' \
	    "$s" "$t" "$qps" "$(awk -v a="$avg" 'BEGIN{print a*1000}')" \
	    "$(awk -v a="$p99" 'BEGIN{print a*1000}')" "$lost"
	printf '  cpu/100k %s s  srv %s%%  gen %s%%  %s\n' "$cpu" "$srvp" \
	    "$genp" "$rc"
}

deny_sample=$(cat "$work/deny-sample")
for round in $(seq "$rounds"); do
for pol in $policies; do
	echo "== round $round of $rounds, policy $pol (dnsperf -c $clients -q $outstanding," \
	    "up to ${seconds}s per test; load $(cut -d' ' -f1-3 /proc/loadavg))"
	# shellcheck disable=SC2086
	for s in $(rotate $((round - 1)) $servers); do
		port=$(free_port)
		t0=$(date +%s%N)
		start_server "$s" "$pol" "$port"
		if ! answers "$port" www.amazon.com "$srv_pid" >/dev/null; then
			echo "$s did not answer on 127.0.0.1:$port:"
			cat "$work/$s-$pol.out"
			exit 1
		fi
		t1=$(date +%s%N)
		idle=$(rss_kb "$srv_pid")
		# What the policy does, as each server sees it.
		sem=
		for n in www.amazon.com evilamazon.com yahoo.com "$deny_sample"
		do
			sem="$sem $n=$(answers "$port" "$n")"
		done
		echo "  $s (pid $srv_pid, port $port): up in" \
		    "$(( (t1 - t0) / 1000000 )) ms, RSS $((idle / 1024)) MB;$sem"
		# warm-up for a: every cached name answered once from upstream
		dnsperf -s 127.0.0.1 -p "$port" -d "$work/q-a.txt" -n 2 \
		    >/dev/null 2>&1 || true
		tests="a b c"
		[ "$s" != floor ] || tests=b
		for t in $tests; do
			measure "$s" "$pol" "$t" "$port"
			if [ ! -d "/proc/$srv_pid" ]; then
				echo "$s died during test $t:"
				tail -20 "$work/$s-$pol.out"
				exit 1
			fi
		done
		echo "$pol $s $idle $(rss_kb "$srv_pid") $round" >>"$rss"
		stop "$srv_pid"
		started=${started/ $srv_pid/}
		if [ "$s" = fnguard ]; then
			echo "  fnguard audit file: $(wc -l <"$work/audit-$pol.jsonl")" \
			    "records; daemon log: $(grep -c 'records dropped' \
			    "$work/$s-$pol.out" || true) 'records dropped' lines," \
			    "last: $(grep 'records dropped' "$work/$s-$pol.out" |
			    tail -1 | sed 's/.*dropped: //')"
		fi
		grep -i 'error\|fail\|lost\|timeout\|crash' \
		    "$work/$s-$pol.out" | head -5 | sed "s/^/  $s said: /"
	done
done
done

# ---- table --------------------------------------------------------------
echo
echo "== results ($(nproc) cores, load average now" \
    "$(cut -d' ' -f1-3 /proc/loadavg); p99 from dnsperf -v per-query" \
    "latencies; cpu = server utime+stime per 100,000 answered queries)"
echo "tests: a = cached allowed, b = denied, c = cache misses (distinct names)"
echo "(each the median of $rounds rounds; qps and cpu with their range)"
awk "$stats_awk"'{
	k = $1 " " $2 " " $3
	if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	add(qps, k, $4); add(avg, k, $5 * 1000); add(p99, k, $6 * 1000)
	add(lost, k, $7); if ($8 != "-") add(cpu, k, $8)
	add(srv, k, $9); add(gen, k, $10)
}
END {
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, f, " ")
		printf "%-6s %s %-8s %9.0f qps (%.0f-%.0f)  avg %7.3f ms  p99 %7.3f ms  lost %-5s  cpu %7s s/100k (%s-%s)  srv %3s%%  gen %3s%%\n",
		    f[1], f[2], f[3], med(qps[k]), lo(qps[k]), hi(qps[k]),
		    med(avg[k]), med(p99[k]), med(lost[k]),
		    (k in cpu) ? sprintf("%.3f", med(cpu[k])) : "-",
		    (k in cpu) ? lo(cpu[k]) : "-", (k in cpu) ? hi(cpu[k]) : "-",
		    med(srv[k]), med(gen[k])
	}
}' "$results"
echo
echo "== RSS (VmRSS; the median of $rounds rounds)"
awk "$stats_awk"'{
	k = $1 " " $2
	if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	add(idle, k, $3); add(end, k, $4)
}
END {
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, f, " ")
		printf "%-6s %-8s idle %6.1f MB   after tests %6.1f MB\n",
		    f[1], f[2], med(idle[k]) / 1024, med(end[k]) / 1024
	}
}' "$rss"
echo
echo "== fnguard / best of (dnsmasq, unbound), each the median of the" \
    "$rounds rounds' own ratios, with their range  (issue 3's target: a" \
    "and b qps >= 1.50x, or cpu/query <= 0.67x where the load generator" \
    "is the ceiling; c on par; RSS <= 1.00x dnsmasq's)"
awk "$stats_awk"'
	{ key = $1 " " $2; qps[key, $3, $12] = $4; cpu[key, $3, $12] = $8
	  rd[$12] = 1
	  if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
	END {
		split("dnsmasq unbound", o, " ")
		split("fnguard dnsmasq unbound", s3, " ")
		for (i = 1; i <= n; i++) {
			k = order[i]
			rq = rc = ""; delete bqn; delete bcn
			for (r in rd) {
				if (!((k, "fnguard", r) in qps)) continue
				bq = 0; bc = -1; bqs = bcs = ""
				for (j = 1; j <= 2; j++) {
					if (!((k, o[j], r) in qps)) continue
					if (qps[k, o[j], r] > bq) {
						bq = qps[k, o[j], r]; bqs = o[j] }
					if (cpu[k, o[j], r] != "-" && (bc < 0 ||
					    cpu[k, o[j], r] < bc)) {
						bc = cpu[k, o[j], r]; bcs = o[j] }
				}
				if (bq > 0) {
					rq = rq " " sprintf("%.3f", qps[k, "fnguard", r] / bq)
					bqn[bqs]++
				}
				if (bc > 0 && cpu[k, "fnguard", r] != "-") {
					rc = rc " " sprintf("%.3f", cpu[k, "fnguard", r] / bc)
					bcn[bcs]++
				}
			}
			if (rq == "" && rc == "") continue
			wq = wc = ""
			for (x in bqn) wq = wq (wq == "" ? "" : "/") x
			for (x in bcn) wc = wc (wc == "" ? "" : "/") x
			printf "%-6s %s  qps %s%s (vs %s)   cpu/query %s%s (vs %s)\n",
			    substr(k, 1, index(k, " ") - 1), substr(k, index(k, " ") + 1),
			    rq == "" ? "-" : sprintf("%.2fx", med(rq)), rng(rq), wq == "" ? "-" : wq,
			    rc == "" ? "-" : sprintf("%.2fx", med(rc)), rng(rc), wc == "" ? "-" : wc
		}
		# The floor: what the kernel alone costs per denied query.
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (substr(k, index(k, " ") + 1) != "b") continue
			fl = ""; delete rl
			for (r in rd) {
				if (!((k, "floor", r) in cpu) || cpu[k, "floor", r] <= 0)
					continue
				fl = fl " " cpu[k, "floor", r]
				for (j = 1; j <= 3; j++)
					if ((k, s3[j], r) in cpu && cpu[k, s3[j], r] != "-")
						rl[s3[j]] = rl[s3[j]] " " sprintf("%.3f",
						    cpu[k, s3[j], r] / cpu[k, "floor", r])
			}
			if (fl == "") continue
			line = ""
			for (j = 1; j <= 3; j++)
				if (s3[j] in rl)
					line = line sprintf("  %s %.2fx%s", s3[j],
					    med(rl[s3[j]]), rng(rl[s3[j]]))
			printf "%-6s b  cpu/query against the floor (%s s/100k%s):%s\n",
			    substr(k, 1, index(k, " ") - 1), med(fl),
			    (split(fl, dummy, " ") > 1 ? sprintf(", %s-%s", lo(fl), hi(fl)) : ""),
			    line
		}
	}' "$results"
awk "$stats_awk"'
	{ add(i, $1 " " $2, $3); add(e, $1 " " $2, $4) }
	END {
		if (("deny fnguard") in i && ("deny dnsmasq") in i)
			printf "RSS with the 100,000-name list, fnguard/dnsmasq: %.2fx idle, %.2fx after tests\n",
			    med(i["deny fnguard"]) / med(i["deny dnsmasq"]),
			    med(e["deny fnguard"]) / med(e["deny dnsmasq"])
	}' "$rss"
