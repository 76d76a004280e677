#!/bin/bash
# bench/proxy.sh — fnguard's transparent TCP proxy against haproxy and
# socat, in one run, inside a network namespace of its own (namespace-local
# addresses only: its loopback, and 192.0.2.10 added to that loopback;
# nothing leaves the namespace).
#
#   bench/proxy.sh [BUILDDIR]    (default: $BUILD, else build/ at the top of
#                                 the tree; fnguard is built there if missing)
#
# Environment: BENCH_SECONDS (10: iperf3 -t, wrk -d), BENCH_WRK_CONNS (wrk
# -c, 32), BENCH_WRK_THREADS (wrk -t, 1), BENCH_IDLE (idle connections, 2000),
# BENCH_CHECK_MB (MiB sent each way for the integrity check, 256),
# BENCH_HAPROXY_THREADS (haproxy nbthread, 1: fnguard is one thread too),
# BENCH_ROUNDS (3: bulk and http are measured that many times over, every
# path once per round, so that the paths take turns through whatever else
# the machine is doing; each round starts one path further along the list
# than the last, so that no path always runs first or last),
# BENCH_PAIRS (15) and BENCH_PAIR_SECONDS (2): the paired runs, below,
# BENCH_PARTS (which measurements, "check bulk http pairs idle"),
# BENCH_FNGUARD_ARGS (more daemon options, e.g. --no-splice), BENCH_KEEP=DIR
# keeps the generated files, logs and tool output.
#
# One address per path, each server listening on the wildcard address of
# the namespace (iperf3 on :5201, nginx on :8080, the Python helpers on
# :7001-7003):
#   direct   the client connects to 127.0.0.1:PORT. conf/redirect/
#            nftables.nft skips 127.0.0.0/8: no proxy.
#   fnguard  the client connects to 192.0.2.10:PORT; the shipped nftables
#            rules redirect it to fnguard (127.0.0.1:15001), which reads the
#            original destination, checks it against the policy and
#            connects to 192.0.2.10:PORT with mark 1, which the rules pass.
#   fnguard-fwd  fnguard doing the haproxy row's job: the client connects
#            to 127.0.0.4:1PORT, where fnguard fronts the port (--inbound
#            127.0.0.4:1PORT=127.0.0.1:PORT; sources checked against the
#            policy) and connects to 127.0.0.1:PORT: a forwarder to one
#            fixed server, no NAT on its path. Same daemon, same relay as
#            the fnguard row; what differs is the redirect's NAT.
#   haproxy  the client connects to 127.0.0.2:1PORT (haproxy, mode tcp,
#            option splice-auto), which connects to 127.0.0.1:PORT: a
#            forwarder to one fixed server, no NAT on its path.
#   haproxy-tp  haproxy doing fnguard's job, a transparent proxy: the
#            client connects to 192.0.2.11:PORT; an nftables table of the
#            script's (benchtp, before conf/redirect's) redirects it to
#            haproxy on 127.0.0.1:15002 (mode tcp, option splice-auto,
#            "server s 0.0.0.0": haproxy connects to the original
#            destination, which it reads with SO_ORIGINAL_DST, as fnguard
#            does); haproxy runs as uid 65534, and the table marks that
#            uid's connections 1, which both tables pass. So its path has
#            the NAT that fnguard's has.
#   socat    the client connects to 127.0.0.3:15201 (socat TCP-LISTEN,fork,
#            default buffer), which connects to 127.0.0.1:5201.
#   floor    the client connects to 127.0.0.5:1PORT, where bench/tcpfloor.c
#            (built by the script) forwards to 127.0.0.1:PORT: no proxy,
#            a forwarder with nothing else to do: one thread, epoll, every
#            byte through splice(2) and a reused pipe, TCP_NODELAY, no
#            checks, no timeouts (not a bound: haproxy has beaten it with
#            a new connection per request).
# The namespace sets net.ipv4.tcp_tw_reuse to 1. On the transparent paths
# the client and the proxy both connect from 192.0.2.1x to 192.0.2.1x:PORT,
# one address pair, so they draw their ports from one range of about
# 28,000; and the default (2) lets a connect reuse a port held by a
# TIME_WAIT socket only on 127.0.0.0/8. With a new connection per request
# that range ran out: in two trials of 4-second runs (haproxy-tp, fnguard,
# haproxy-tp), haproxy-tp's second run fell to 1,664 and 9,633 req/s (its
# first: 12,142 and 15,443); with 1, the same three gave 14,671, 13,101
# (fnguard) and 15,089. Real clients do not
# share their address pair with the proxy's upstream connections like this
# (the proxy's own port choice is the kernel's, the same for both).
# So each path crosses exactly one proxy; the table shows the CPU that each
# proxy used during every measurement, which proves it (a proxy not on the
# path uses none). The nftables rules (and so conntrack) are loaded for all
# paths alike.
#
# fnguard: `fnguard daemon --policy P --proxy-listen 127.0.0.1:15001
# --mark 1 --dns-listen 127.0.0.1:53 --upstream 127.0.0.53:5300 --audit F`
# with one rule, network effect prevent, blacklistIPs ["192.0.2.66"]: every
# connection is judged and passes; no name rules, so no peek; the relay
# copies short exchanges and moves a direction that carries bulk to
# splice(2), as haproxy's splice-auto does.
#
# fnguard is started afresh before every measurement (the others run
# throughout), so that what one run leaves behind cannot change the next;
# after each run through fnguard the script checks that it went quiet
# (CPU over an idle second) and closed every session (descriptors back to
# where they started, no client connection left on 127.0.0.1:15001), and
# reports it precisely when not (with 50 ms of strace when it spins).
#
# Measurements, in this order:
#   check    BENCH_CHECK_MB MiB each way through fnguard, sha256 compared
#            (client -> server then half-close; server -> client then
#            half-close), so lost or changed bytes show.
#   bulk     iperf3 -t BENCH_SECONDS, one stream, client -> server (up)
#            and server -> client (-R, down): direct, fnguard, fnguard-fwd,
#            haproxy, haproxy-tp, socat. Mbit/s as received. BENCH_ROUNDS
#            rounds, one run of every path and direction in each.
#   http     wrk -d BENCH_SECONDS --latency against nginx (nginx-light, one
#            worker, daemon off, 1 KiB file), with -H "Connection: close"
#            (a new connection per request) and with keep-alive: fnguard,
#            fnguard-fwd, haproxy, haproxy-tp, direct (the TIME_WAIT
#            sockets in the namespace before each run are shown).
#            BENCH_ROUNDS rounds, as for bulk.
#   (After bulk and http: the median of the rounds for each path, and
#   every ratio as the median of the rounds' own ratios, with its range.)
#   pairs    wrk as for http, BENCH_PAIR_SECONDS per run, against every
#            proxy path in turn, back to back, BENCH_PAIRS times per mode,
#            one fnguard daemon throughout: each ratio is the median of
#            ratios between runs seconds apart, not minutes, with how often
#            fnguard was ahead (the machine's drift cancels out).
#   idle     fnguard and haproxy: VmRSS and open descriptors before and
#            after BENCH_IDLE idle connections through the proxy to a
#            server that holds each until its client closes, opened 200 at
#            a time ("paced", each batch through before the next: the
#            memory figure); then, for fnguard, all at once ("burst"): every
#            one must still be open a second after the last reached the
#            server. While they are held, one HTTP request through fnguard
#            must succeed; after they close, fnguard must be back where it
#            started.
# CPU per proxy: utime+stime (+ reaped children's, for socat's forks) from
# /proc/PID/stat before and after each measurement, as % of one core over
# the measurement, and per GB (bulk) or per request (http), with the part
# of it spent in user space (utime): the rest is the kernel's work on the
# proxy's behalf (its system calls, and the TCP processing that loopback
# does in the sender's context), which any proxy on the path pays.
# The machine's load average is printed at the start, per section and at
# the end, with how busy the CPUs were over one second while nothing of
# the benchmark ran (other jobs on the machine).
# Exit status: 0, or 1 when fnguard misbehaved (listed at the end) or a
# setup step failed.
set -eu
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${BUILD:-$top/build}}
seconds=${BENCH_SECONDS:-10}
wrk_conns=${BENCH_WRK_CONNS:-32}
wrk_threads=${BENCH_WRK_THREADS:-1}
idle_n=${BENCH_IDLE:-2000}
check_mb=${BENCH_CHECK_MB:-256}
hap_threads=${BENCH_HAPROXY_THREADS:-1}
rounds=${BENCH_ROUNDS:-3}
pairs_n=${BENCH_PAIRS:-15}
pair_secs=${BENCH_PAIR_SECONDS:-2}
parts=" ${BENCH_PARTS:-check bulk http pairs idle} "
fng_args=${BENCH_FNGUARD_ARGS:-}
hz=$(getconf CLK_TCK)
PATH=$PATH:/usr/sbin:/sbin

[ "$(id -u)" = 0 ] || { echo "bench/proxy.sh needs root (ip netns, nft)"; exit 1; }

# ---- what it needs ------------------------------------------------------
need_pkgs=
for p in iperf3:iperf3 socat:socat haproxy:haproxy nginx:nginx-light \
    wrk:wrk jq:jq nft:nftables ip:iproute2 ss:iproute2 /usr/bin/python3:python3; do
	command -v "${p%%:*}" >/dev/null 2>&1 || need_pkgs="$need_pkgs ${p#*:}"
done
if [ -n "$need_pkgs" ]; then
	echo "== installing:$need_pkgs"
	# haproxy and nginx ship services: they must not start (they would
	# take ports 80 and others on the host). policy-rc.d refuses, only
	# while we install, only if there is none already. (The benchmark
	# itself runs in its own namespace, so host services cannot take
	# its ports in any case.)
	made_rcd=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_rcd=1
	fi
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2046,SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $(echo $need_pkgs | tr ' ' '\n' | sort -u) >/dev/null
	[ -z "$made_rcd" ] || rm -f /usr/sbin/policy-rc.d
fi
PY=/usr/bin/python3
if [ ! -x "$build/fnguard" ]; then
	echo "== building fnguard in $build"
	mkdir -p "$build"
	(cd "$build" && { [ -f Makefile ] || "$top/configure" -q; } &&
	    make -s fnguard) >/dev/null
fi

# ---- processes ----------------------------------------------------------
work=${BENCH_KEEP:-$(mktemp -d /tmp/proxybench.XXXXXX)}
mkdir -p "$work"
cp -p "$build/fnguard" "$work/fnguard"	# a rebuild meanwhile changes nothing
fnguard=$work/fnguard
ns=fngbench$$
started=		# PIDs we started, stopped (with their children) on exit
ns_made=

. "$top/bench/lib.sh"
cleanup() {
	local p left
	set +e
	# shellcheck disable=SC2086
	stop $started
	if [ -n "$ns_made" ]; then
		# Anything still in our namespace was started by us.
		left=$(ip netns pids "$ns" 2>/dev/null)
		for p in $left; do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	fi
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { ip netns exec "$ns" "$@"; }
bg() {	# NAME CMD...: start CMD in the namespace; its PID in $bg_pid
	local name=$1
	shift
	ip netns exec "$ns" "$@" >"$work/$name.out" 2>&1 </dev/null &
	bg_pid=$!
	started="$started $bg_pid"
}
listening() {	# ADDR:PORT, in the namespace (0.0.0.0: any wildcard form)
	local port=${1##*:}
	nsx ss -Hltn 2>/dev/null | awk '{print $4}' | if [ "${1%:*}" = 0.0.0.0 ]
	then
		grep -qxF -e "0.0.0.0:$port" -e "*:$port" -e "[::]:$port"
	else
		grep -qxF "$1"
	fi
}
wait_listen() {	# ADDR:PORT PID NAME
	local i
	for i in $(seq 100); do
		listening "$1" && return 0
		[ -d "/proc/$2" ] || break
		sleep 0.05
	done
	echo "$3 is not listening on $1:"
	tail -20 "$work/$3.out"
	exit 1
}
ticks() {	# PID: "utime+stime+cutime+cstime utime+cutime" (all threads,
		# reaped children): all its CPU, and the part in user space
	sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13 + $14 + $15, $12 + $14}'
}
rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
nfds() {
	ls "/proc/$1/fd" | wc -l
}
loadavg() {
	cut -d' ' -f1-3 /proc/loadavg
}
machine_busy() {	# % of all CPUs busy over one second (nothing of ours runs)
	local a b
	a=$(head -1 /proc/stat)
	sleep 1
	b=$(head -1 /proc/stat)
	echo "$a" "$b" | awk '{
		n = (NF - 2) / 2
		for (i = 2; i <= n + 1; i++) { t0 += $i; t1 += $(i + n + 1) }
		i0 = $5 + $6; i1 = $(5 + n + 1) + $(6 + n + 1)
		printf "%.0f", 100 * (1 - (i1 - i0) / (t1 - t0)) }'
}
alive() {	# NAME PID: dies with a report when a server or proxy is gone
	if [ ! -d "/proc/$2" ] || [ "$(sed 's/.*) //' "/proc/$2/stat" |
	    cut -d' ' -f1)" = Z ]; then
		wait "$2" 2>/dev/null && rc=0 || rc=$?
		echo "!! $1 (pid $2) died (exit status $rc); its output:"
		tail -30 "$work/$1.out"
		return 1
	fi
}

echo "== machine: $(nproc) cores, load average $(loadavg)," \
    "$(machine_busy)% of the CPUs busy before the run (other jobs)"
echo "   busiest processes: $(ps -eo pcpu=,comm= --sort=-pcpu | head -4 |
    awk '{printf "%s %s%%; ", $2, $1}')"
echo "== fnguard: $build/fnguard, built $(date -r "$fnguard" '+%F %T')," \
    "sha256 $(sha256sum "$fnguard" | cut -c1-12)"
echo "== $(haproxy -v | head -1 | cut -d' ' -f1-3); nginx $(nginx -v 2>&1 |
    sed 's/.*nginx\///'); $(iperf3 -v | head -1 | cut -d' ' -f1-2);" \
    "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(socat -V |
    sed -n 's/^socat version \([^ ]*\).*/socat \1/p')"

# ---- the namespace ------------------------------------------------------
ip netns add "$ns"
ns_made=1
nsx ip link set lo up
nsx ip addr add 192.0.2.10/32 dev lo
nsx sysctl -qw net.ipv4.tcp_tw_reuse=1	# see "tcp_tw_reuse" above
nsx ip addr add 192.0.2.11/32 dev lo
nsx nft -f "$top/conf/redirect/nftables.nft"
# haproxy-tp: 192.0.2.11 to haproxy's transparent listener, before
# conf/redirect's table (priority -100) sends everything to fnguard; the
# connections haproxy makes (uid 65534) get mark 1, which both pass.
nsx nft -f - <<'EOF'
table inet benchtp {
	chain output {
		type nat hook output priority -110; policy accept;
		meta mark 0x1 return
		meta skuid 65534 meta mark set 0x1 return
		ip daddr 192.0.2.11 meta l4proto tcp redirect to :15002
	}
}
EOF

# ---- files --------------------------------------------------------------
mkdir -p "$work/www" "$work/nginx-tmp"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
cat >"$work/nginx.conf" <<EOF
daemon off;
user root;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 10000; }
http {
	access_log off;
	default_type application/octet-stream;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	client_body_temp_path $work/nginx-tmp/body;
	proxy_temp_path $work/nginx-tmp/proxy;
	fastcgi_temp_path $work/nginx-tmp/fastcgi;
	uwsgi_temp_path $work/nginx-tmp/uwsgi;
	scgi_temp_path $work/nginx-tmp/scgi;
	server {
		listen 8080 backlog=4096;
		root $work/www;
	}
}
EOF
cat >"$work/haproxy.cfg" <<EOF
global
	nbthread $hap_threads
	maxconn 6000
	uid 65534
	gid 65534
defaults
	mode tcp
	option splice-auto
	timeout connect 5s
	timeout client 300s
	timeout server 300s
listen iperf
	bind 127.0.0.2:15201
	server s 127.0.0.1:5201
listen http
	bind 127.0.0.2:18080
	server s 127.0.0.1:8080
listen hold
	bind 127.0.0.2:17003
	server s 127.0.0.1:7003
listen transparent
	bind 127.0.0.1:15002
	server s 0.0.0.0
EOF
cat >"$work/policy.json" <<'EOF'
{ "rules": [ { "name": "proxy-bench",
    "network": { "effect": "prevent", "blacklistIPs": ["192.0.2.66"] } } ] }
EOF

# The Python helpers: servers (7001 hashes what it reads up to EOF and
# answers "sha256 bytes"; 7002 reads "N\n", sends N MiB and half-closes,
# its hash in down.sha; 7003 accepts and holds, counting) and clients.
cat >"$work/px.py" <<'EOF'
import hashlib, os, resource, selectors, socket, sys, threading, time

def nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4096)
    return s

def up_conn(c):
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.sendall(("%s %d\n" % (h.hexdigest(), n)).encode())
    c.close()

def down_conn(c, work):
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(64)
        if not b:
            return
        line += b
    mb = int(line)
    h = hashlib.sha256()
    for i in range(mb):
        blk = os.urandom(1 << 20)
        h.update(blk)
        c.sendall(blk)
    with open(work + "/down.sha.new", "w") as f:
        f.write("%s %d\n" % (h.hexdigest(), mb << 20))
    os.rename(work + "/down.sha.new", work + "/down.sha")
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    c.close()

def serve(work):
    nofile()
    def loop(port, fn):
        s = listen(port)
        while True:
            c, _ = s.accept()
            threading.Thread(target=fn, args=(c,), daemon=True).start()
    threading.Thread(target=loop, args=(7001, up_conn), daemon=True).start()
    threading.Thread(target=loop, args=(7002, lambda c: down_conn(c, work)),
                     daemon=True).start()
    # 7003: accepts and holds each connection until its client closes;
    # "held total" in the file "held".
    s = listen(7003)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    held = total = 0
    while True:
        changed = False
        for key, _ in sel.select():
            if key.fileobj is s:
                try:
                    c, _ = s.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                held += 1
                total += 1
            else:
                c = key.fileobj
                try:
                    b = c.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    b = b""
                if b:
                    continue
                sel.unregister(c)
                c.close()
                held -= 1
            changed = True
        if changed:
            with open(work + "/held.new", "w") as f:
                f.write("%d %d\n" % (held, total))
            os.rename(work + "/held.new", work + "/held")

def check_up(addr, mb):
    c = socket.create_connection((addr, 7001), timeout=60)
    h = hashlib.sha256()
    t0 = time.time()
    for i in range(mb):
        blk = os.urandom(1 << 20)
        h.update(blk)
        c.sendall(blk)
    c.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        b = c.recv(4096)
        if not b:
            break
        reply += b
    dt = time.time() - t0
    want = "%s %d" % (h.hexdigest(), mb << 20)
    got = reply.decode(errors="replace").strip()
    print("%s %.2f %s | %s" % ("ok" if got == want else "BAD", dt, want, got))

def check_down(addr, mb, work):
    try:
        os.unlink(work + "/down.sha")
    except FileNotFoundError:
        pass
    c = socket.create_connection((addr, 7002), timeout=60)
    t0 = time.time()
    c.sendall(b"%d\n" % mb)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    # Our half-close reaches the server after its own.
    c.shutdown(socket.SHUT_WR)
    c.close()
    dt = time.time() - t0
    for i in range(50):
        if os.path.exists(work + "/down.sha"):
            break
        time.sleep(0.1)
    want = open(work + "/down.sha").read().strip()
    got = "%s %d" % (h.hexdigest(), n)
    print("%s %.2f %s | %s" % ("ok" if got == want else "BAD", dt, want, got))

def get(addr, port):
    c = socket.create_connection((addr, port), timeout=5)
    c.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        r += b
    head, _, body = r.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode(errors="replace")
    print("%s %d" % (status, len(body)))

def held_total(work):
    try:
        return int(open(work + "/held").read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0

def idle(addr, port, n, batch, work):
    # Opens n connections (batch > 0: batch at a time, each batch seen by
    # the holding server before the next), prints how many; holds them
    # until stdin ends, then prints how many are still open, saw EOF, or
    # were reset.
    nofile()
    socks, err = [], ""
    total0 = held_total(work)
    for i in range(n):
        try:
            socks.append(socket.create_connection((addr, port), timeout=5))
        except OSError as e:
            err = str(e)
            break
        if batch > 0 and len(socks) % batch == 0:
            t = time.time() + 30
            while held_total(work) < total0 + len(socks) and time.time() < t:
                time.sleep(0.02)
    print("%d %s" % (len(socks), err), flush=True)
    sys.stdin.read()
    alive = eof = reset = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                eof += 1
            else:
                alive += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            reset += 1
    print("%d %d %d" % (alive, eof, reset), flush=True)

cmd = sys.argv[1]
if cmd == "serve":
    serve(sys.argv[2])
elif cmd == "up":
    check_up(sys.argv[2], int(sys.argv[3]))
elif cmd == "down":
    check_down(sys.argv[2], int(sys.argv[3]), sys.argv[4])
elif cmd == "get":
    get(sys.argv[2], int(sys.argv[3]))
elif cmd == "idle":
    idle(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
         sys.argv[6])
EOF

# ---- servers and proxies ------------------------------------------------
bg helpers "$PY" "$work/px.py" serve "$work"
helpers_pid=$bg_pid
wait_listen 0.0.0.0:7003 "$helpers_pid" helpers
nginx -t -q -p "$work" -e "$work/nginx.err" -c "$work/nginx.conf"
bg nginx nginx -p "$work" -e "$work/nginx.err" -c "$work/nginx.conf"
nginx_pid=$bg_pid
wait_listen 0.0.0.0:8080 "$nginx_pid" nginx
haproxy -c -q -f "$work/haproxy.cfg"
bg haproxy haproxy -db -f "$work/haproxy.cfg"
hap_pid=$bg_pid
wait_listen 127.0.0.2:15201 "$hap_pid" haproxy
bg socat socat TCP-LISTEN:15201,bind=127.0.0.3,reuseaddr,fork,backlog=1024 \
    TCP:127.0.0.1:5201
socat_pid=$bg_pid
wait_listen 127.0.0.3:15201 "$socat_pid" socat
${CC:-cc} -O2 -o "$work/tcpfloor" "$top/bench/tcpfloor.c"
bg tcpfloor "$work/tcpfloor" 127.0.0.5 15201=5201 18080=8080 17003=7003
floor_pid=$bg_pid
wait_listen 127.0.0.5:18080 "$floor_pid" tcpfloor

# fnguard is started afresh before every measurement, so that what one
# measurement leaves behind (a stuck session, descriptors) cannot change
# the next; after each measurement through it, fnguard_after reports what
# was left: its CPU over one idle second and its descriptors.
fng_pid='' fng_n=0 fng_log=''
start_fnguard() {
	if [ -n "$fng_pid" ]; then
		alive "$fng_log" "$fng_pid" || exit 1
		stop "$fng_pid"
		started=${started/ $fng_pid/}
	fi
	fng_n=$((fng_n + 1))
	fng_log=fnguard-$fng_n
	# shellcheck disable=SC2086
	bg "$fng_log" "$fnguard" daemon --policy "$work/policy.json" \
	    --proxy-listen 127.0.0.1:15001 --mark 1 --dns-listen 127.0.0.1:53 \
	    --upstream 127.0.0.53:5300 --audit "$work/audit.jsonl" \
	    --inbound 127.0.0.4:15201=127.0.0.1:5201 \
	    --inbound 127.0.0.4:18080=127.0.0.1:8080 $fng_args
	fng_pid=$bg_pid
	wait_listen 127.0.0.1:15001 "$fng_pid" "$fng_log"
	wait_listen 127.0.0.4:18080 "$fng_pid" "$fng_log"
	fng_fds0=$(nfds "$fng_pid")
	pids3="$fng_pid $hap_pid $socat_pid $floor_pid"
}
anomalies=$work/anomalies
: >"$anomalies"
fnguard_after() {	# WHAT: one idle second later, is fnguard quiet and clean?
	local t0 t1 cpu fds left line
	alive "$fng_log" "$fng_pid" || exit 1
	sleep 1
	t0=$(ticks "$fng_pid" | cut -d' ' -f1)
	sleep 1
	t1=$(ticks "$fng_pid" | cut -d' ' -f1)
	alive "$fng_log" "$fng_pid" || exit 1
	cpu=$(( (t1 - t0) * 100 / hz ))
	fds=$(nfds "$fng_pid")
	left=$(nsx ss -Htn 2>/dev/null | awk '$4 == "127.0.0.1:15001"' | wc -l)
	line="fnguard after $1: ${cpu}% CPU over an idle second, descriptors $fds (${fng_fds0} when started), $left client connections still open on 127.0.0.1:15001"
	if [ "$cpu" -ge 10 ] || [ "$fds" -gt "$fng_fds0" ] || [ "$left" -gt 0 ]
	then
		echo "   !! $line"
		echo "$line" >>"$anomalies"
		nsx ss -Htn 2>/dev/null | awk '$4 == "127.0.0.1:15001" ||
		    $5 == "127.0.0.1:15001" { print "      " $0 }' | head -4 |
		    tee -a "$anomalies"
		if [ "$cpu" -ge 10 ] && command -v strace >/dev/null 2>&1; then
			echo "      what it does (strace, 50 ms):"
			timeout 0.05 strace -p "$fng_pid" 2>&1 |
			    grep -v -e '^strace:' -e SIGPIPE | head -4 |
			    sed 's/^/      /' | tee -a "$anomalies"
		fi
	else
		echo "   fnguard after $1: quiet (${cpu}% CPU), descriptors back to $fds"
	fi
}
start_fnguard

wait_listen 127.0.0.1:15002 "$hap_pid" haproxy
for path in 127.0.0.1:8080 192.0.2.10:8080 127.0.0.2:18080 192.0.2.11:8080; do
	r=$(nsx "$PY" "$work/px.py" get "${path%:*}" "${path#*:}" 2>&1 || true)
	if [ "$r" != "HTTP/1.1 200 OK 1024" ]; then
		echo "!! GET /1k.bin via $path: $r"
		exit 1
	fi
done
echo "== namespace $ns: servers and proxies up (haproxy $hap_pid nbthread" \
    "$hap_threads, socat $socat_pid, nginx $nginx_pid); GET /1k.bin is 200" \
    "with 1024 bytes direct, via fnguard, via haproxy, via haproxy-tp"

# ---- integrity ----------------------------------------------------------
results=$work/results
: >"$results"
[ "${parts#* check }" = "$parts" ] ||
echo "== integrity: $check_mb MiB each way through fnguard, sha256 compared"
for dir in up down; do
	[ "${parts#* check }" != "$parts" ] || break
	if [ "$dir" = up ]; then
		r=$(nsx timeout 120 "$PY" "$work/px.py" up 192.0.2.10 "$check_mb" \
		    2>&1 || true)
	else
		r=$(nsx timeout 120 "$PY" "$work/px.py" down 192.0.2.10 \
		    "$check_mb" "$work" 2>&1 || true)
	fi
	case $r in
	ok*)
		echo "$r" | awk -v d="$dir" '{ printf "   %-4s same sha256, %s bytes, %.2f s\n", d, $4, $2 }'
		;;
	*)
		echo "   !! $dir: $r" | tee -a "$anomalies"
		;;
	esac
done
[ "${parts#* check }" = "$parts" ] || fnguard_after "the integrity check"

# ---- measurements -------------------------------------------------------
cpu_before() {
	local p t u
	c0=() u0=()
	for p in $pids3; do
		read -r t u <<<"$(ticks "$p")"
		c0+=("$t") u0+=("$u")
	done
	w0=$(date +%s%N)
}
cpu_after() {	# "fng% hap% soc% flo% fng_s hap_s soc_s flo_s fng_us hap_us
		# soc_us flo_us" over the measurement (_s: CPU seconds, _us:
		# the user-space part of them)
	local w1 i=0 p d t u out='' secs='' user=''
	w1=$(date +%s%N)
	for p in $pids3; do
		read -r t u <<<"$(ticks "$p")"
		d=$((t - ${c0[$i]}))
		user="$user $(awk -v d="$((u - ${u0[$i]}))" -v hz="$hz" \
		    'BEGIN { printf "%.2f", d / hz }')"
		out="$out $(awk -v d="$d" -v hz="$hz" -v w="$((w1 - w0))" \
		    'BEGIN { printf "%.0f", d / hz / (w / 1e9) * 100 }')"
		secs="$secs $(awk -v d="$d" -v hz="$hz" \
		    'BEGIN { printf "%.2f", d / hz }')"
		i=$((i + 1))
	done
	echo "$out $secs $user"
}
addr_of() {	# PATH PORT: the address and port its client connects to
	case $1 in
	direct) echo "127.0.0.1 $2" ;;
	fnguard) echo "192.0.2.10 $2" ;;
	fnguard-fwd) echo "127.0.0.4 1$2" ;;
	haproxy) echo "127.0.0.2 1$2" ;;
	haproxy-tp) echo "192.0.2.11 $2" ;;
	socat) echo "127.0.0.3 1$2" ;;
	floor) echo "127.0.0.5 1$2" ;;
	esac
}
tw() {	# TIME_WAIT sockets in the namespace
	nsx awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' \
	    /proc/net/sockstat
}

[ "${parts#* bulk }" = "$parts" ] ||
echo "== bulk: iperf3 -t $seconds, one stream; up = client -> server," \
    "down = -R; $rounds rounds, each line starts with its round (load" \
    "$(loadavg))"
for round in $(seq "$rounds"); do
for dir in up down; do
	[ "${parts#* bulk }" != "$parts" ] || break
	for path in $(rotate $((round - 1)) direct fnguard fnguard-fwd \
	    haproxy haproxy-tp socat floor); do
		start_fnguard
		read -r a port <<<"$(addr_of "$path" 5201)"
		rev=()
		[ "$dir" = down ] && rev=(-R)
		bg iperf3s iperf3 -s -1 -p 5201
		ipid=$bg_pid
		wait_listen 0.0.0.0:5201 "$ipid" iperf3s
		out=$work/iperf3-$dir-$path.json
		sleep 0.5	# what the previous run forked has exited
		cpu_before
		nsx timeout $((seconds + 20)) iperf3 -c "$a" -p "$port" \
		    -t "$seconds" "${rev[@]}" -J >"$out" 2>&1 || true
		# the one-off server ends by itself; socat reaps its forks
		for i in $(seq 50); do
			[ -d "/proc/$ipid" ] || break
			[ "$(sed 's/.*) //' "/proc/$ipid/stat" | cut -d' ' -f1)" \
			    = Z ] && break
			sleep 0.1
		done
		sleep 0.2
		read -r cf ch cs cl sf sh ss_ sl uf uh us_ ul <<<"$(cpu_after)"
		stop "$ipid"
		started=${started/ $ipid/}
		r=$(jq -r '[.end.sum_received.bits_per_second // 0,
		    .end.sum_received.bytes // 0, .end.sum_sent.bytes // 0,
		    .end.sum_sent.retransmits // 0, .error // "-"] | @tsv' \
		    "$out" 2>/dev/null | tr '\t ' ' _' || true)
		[ -n "$r" ] || r="0 0 0 0 no_JSON_from_iperf3"
		read -r bps rbytes sbytes retr err <<<"$r"
		mbps=$(awk -v b="$bps" 'BEGIN { printf "%.0f", b / 1e6 }')
		# kind dir path Mbit/s rbytes sbytes retr fng% hap% soc% flo% fng_s hap_s soc_s flo_s err round fng_us hap_us soc_us flo_us
		echo "bulk $dir $path $mbps $rbytes $sbytes $retr $cf $ch $cs $cl $sf $sh $ss_ $sl $err $round $uf $uh $us_ $ul" >>"$results"
		printf '   %s %-4s %-11s %6s Mbit/s  received %6.0f MB of %6.0f MB sent, retransmits %4s;  cpu%%: fnguard %3s haproxy %3s socat %3s floor %3s' \
		    "$round" "$dir" "$path" "$mbps" \
		    "$(awk -v b="$rbytes" 'BEGIN { print b / 1e6 }')" \
		    "$(awk -v b="$sbytes" 'BEGIN { print b / 1e6 }')" "$retr" \
		    "$cf" "$ch" "$cs" "$cl"
		if [ "$err" != - ]; then
			printf '  !! iperf3: %s' "${err//_/ }"
			echo "iperf3 $dir $path: ${err//_/ }" >>"$anomalies"
		fi
		echo
		[ "${path#fnguard}" = "$path" ] ||
		    fnguard_after "iperf3 $dir ($path)"
	done
done
done

to_ms() {	# wrk's 1.23ms / 456.78us / 1.02s
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) printf "%.3f", v / 1000
		else if (v ~ /ms$/) printf "%.3f", v + 0
		else if (v ~ /s$/) printf "%.3f", v * 1000
		else print "-" }'
}
[ "${parts#* http }" = "$parts" ] ||
echo "== http: wrk -t $wrk_threads -c $wrk_conns -d $seconds --latency," \
    "nginx, GET /1k.bin; $rounds rounds, each line starts with its round" \
    "(load $(loadavg); open files on the machine" \
    "$(cut -f1 /proc/sys/fs/file-nr))"
for round in $(seq "$rounds"); do
for mode in close keepalive; do
	[ "${parts#* http }" != "$parts" ] || break
	# tw: the TIME_WAIT sockets that earlier runs left behind.
	for path in $(rotate $((round - 1)) fnguard fnguard-fwd haproxy \
	    haproxy-tp floor direct); do
		start_fnguard
		read -r a port <<<"$(addr_of "$path" 8080)"
		hdr=()
		[ "$mode" = close ] && hdr=(-H "Connection: close")
		out=$work/wrk-$mode-$path.txt
		sleep 0.5
		tw0=$(tw)
		cpu_before
		nsx timeout $((seconds + 20)) wrk -t "$wrk_threads" \
		    -c "$wrk_conns" -d "${seconds}s" --latency "${hdr[@]}" \
		    "http://$a:$port/1k.bin" >"$out" 2>&1 || true
		read -r cf ch cs cl sf sh ss_ sl uf uh us_ ul <<<"$(cpu_after)"
		rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
		nreq=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
		avg=$(to_ms "$(awk '$1 == "Latency" {print $2; exit}' "$out")")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
		maxl=$(to_ms "$(awk '$1 == "Latency" {print $4; exit}' "$out")")
		errs=$(sed -n 's/^ *Socket errors: *//p' "$out" |
		    sed 's/, /,/g; s/ /=/g')
		non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$out")
		if [ -z "$rps" ]; then
			echo "   !! wrk failed ($mode $path):" | tee -a "$anomalies"
			tail -5 "$out" | tee -a "$anomalies"
			rps=0 nreq=0
		fi
		# kind mode path rps nreq avg p50 p99 max fng% hap% soc% flo% fng_s hap_s soc_s flo_s errors non2xx tw round fng_us hap_us soc_us flo_us
		echo "http $mode $path $rps $nreq $avg $p50 $p99 $maxl $cf $ch $cs $cl $sf $sh $ss_ $sl ${errs:-none} ${non2xx:-0} $tw0 $round $uf $uh $us_ $ul" >>"$results"
		printf '   %s %-9s %-11s %8.0f req/s  latency avg %7s p50 %7s p99 %7s max %8s ms;  cpu%%: fnguard %3s haproxy %3s floor %3s;  socket errors %s, non-2xx %s; TIME_WAIT before %s\n' \
		    "$round" "$mode" "$path" "$rps" "$avg" "$p50" "$p99" "$maxl" "$cf" \
		    "$ch" "$cl" "${errs:-none}" "${non2xx:-0}" "$tw0"
		[ -z "$errs" ] || [ "${path#fnguard}" = "$path" ] ||
		    echo "wrk $mode $path: socket errors $errs" >>"$anomalies"
		[ "${path#fnguard}" = "$path" ] ||
		    fnguard_after "wrk $mode ($path)"
	done
done
done

# ---- paired runs ----------------------------------------------------------
# The rounds above are minutes apart, and this machine's speed drifts by a
# tenth or more over minutes. Here every http path runs for
# BENCH_PAIR_SECONDS, back to back (in a rotating order, one fnguard daemon
# throughout), BENCH_PAIRS times: each ratio is taken between runs seconds
# apart. (Two identical fnguard builds, measured so in ad-hoc trials,
# came out 0.98x-0.99x of each other over eight such pairs.)
if [ "${parts#* pairs }" != "$parts" ]; then
	echo "== pairs: wrk -t $wrk_threads -c $wrk_conns -d $pair_secs, every" \
	    "http path back to back, $pairs_n times per mode (load $(loadavg))"
	start_fnguard
	for mode in close keepalive; do
		hdr=()
		[ "$mode" = close ] && hdr=(-H "Connection: close")
		for i in $(seq "$pairs_n"); do
			line="   $i $mode"
			for path in $(rotate $((i - 1)) fnguard fnguard-fwd \
			    haproxy haproxy-tp floor); do
				read -r a port <<<"$(addr_of "$path" 8080)"
				out=$work/pair-$mode-$path.txt
				nsx timeout $((pair_secs + 20)) wrk \
				    -t "$wrk_threads" -c "$wrk_conns" \
				    -d "${pair_secs}s" "${hdr[@]}" \
				    "http://$a:$port/1k.bin" >"$out" 2>&1 || true
				rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' \
				    "$out")
				errs=$(sed -n 's/^ *Socket errors: *//p' "$out")
				# Errors are fnguard's anomalies only on its
				# paths, as in the http part.
				if [ -z "$rps" ] || [ -n "$errs" ]; then
					echo "   !! wrk ($mode $path, pair $i):" \
					    "${errs:-no result}"
					[ "${path#fnguard}" = "$path" ] ||
					    echo "wrk $mode $path, pair $i:" \
					    "${errs:-no result}" >>"$anomalies"
					rps=${rps:-0}
				fi
				echo "pair $mode $path $rps $i" >>"$results"
				line="$line  $path $(printf '%.0f' "$rps")"
			done
			echo "$line"
		done
	done
	fnguard_after "the paired runs"
fi

# ---- idle connections ---------------------------------------------------
held_now() {	# "held total" at the holding server
	cat "$work/held" 2>/dev/null || echo "0 0"
}
# NAME PID ADDR PORT BATCH: opens BENCH_IDLE idle connections through the
# proxy (BATCH > 0: that many at a time, each batch reaching the server
# before the next is opened; 0: all at once) and sets i_rss0 i_rss1 i_rss2
# i_fds0 i_fds1 i_fds2 i_opened i_reached i_held i_secs i_get i_get_ms and
# i_fate ("open eof reset" as the clients found their connections when
# they let go).
idle_test() {
	local name=$1 pid=$2 addr=$3 port=$4 batch=$5 ipid i h t total0 ts0 ts1
	local g0 g1
	read -r _ total0 <<<"$(held_now)"
	i_rss0=$(rss_kb "$pid") i_fds0=$(nfds "$pid")
	rm -f "$work/idle.in" "$work/idle-$name.out"
	mkfifo "$work/idle.in"
	ts0=$(date +%s%N)
	nsx "$PY" "$work/px.py" idle "$addr" "$port" "$idle_n" "$batch" \
	    "$work" <"$work/idle.in" >"$work/idle-$name.out" 2>&1 &
	ipid=$!
	started="$started $ipid"
	exec 7>"$work/idle.in"
	for i in $(seq 2400); do
		[ -s "$work/idle-$name.out" ] && break
		sleep 0.05
	done
	i_opened=$(head -1 "$work/idle-$name.out" | cut -d' ' -f1)
	i_opened=${i_opened:-0}
	# each one reached the server: the proxy connected it upstream
	for i in $(seq 1200); do
		read -r h t <<<"$(held_now)"
		[ "$((t - total0))" -ge "$i_opened" ] && break
		sleep 0.05
	done
	ts1=$(date +%s%N)
	i_reached=$((t - total0))
	i_secs=$(awk -v d="$((ts1 - ts0))" 'BEGIN { printf "%.1f", d / 1e9 }')
	sleep 1
	i_rss1=$(rss_kb "$pid") i_fds1=$(nfds "$pid")
	read -r i_held _ <<<"$(held_now)"
	i_get=- i_get_ms=-
	if [ "$name" = fnguard ]; then
		g0=$(date +%s%N)
		i_get=$(nsx timeout 10 "$PY" "$work/px.py" get 192.0.2.10 8080 \
		    2>&1 | tr ' ' _)
		g1=$(date +%s%N)
		i_get_ms=$(( (g1 - g0) / 1000000 ))
	fi
	exec 7>&-
	wait "$ipid" 2>/dev/null || true
	started=${started/ $ipid/}
	rm -f "$work/idle.in"
	i_fate=$(sed -n 2p "$work/idle-$name.out")
	for i in $(seq 200); do
		read -r h t <<<"$(held_now)"
		[ "$h" -eq 0 ] && break
		sleep 0.05
	done
	sleep 1
	i_rss2=$(rss_kb "$pid") i_fds2=$(nfds "$pid")
}
idle_report() {	# NAME HOW
	local per=$(( (i_rss1 - i_rss0) * 1024 / (i_opened > 0 ? i_opened : 1) ))
	printf '   %-8s %-8s %s opened, %s reached the server in %s s, %s still open there 1 s later; VmRSS %d -> %d kB = %d B per connection; descriptors %d -> %d; after the clients let go: %d kB, %d descriptors; the clients found theirs (open eof reset): %s\n' \
	    "$1" "$2" "$i_opened" "$i_reached" "$i_secs" "$i_held" "$i_rss0" \
	    "$i_rss1" "$per" "$i_fds0" "$i_fds1" "$i_rss2" "$i_fds2" "$i_fate"
	echo "idle $1 $per $i_rss0 $i_rss1 $i_fds0 $i_fds1 $i_rss2 $i_fds2 $i_opened $i_reached $i_secs $2" >>"$results"
	if [ "$1" = fnguard ]; then
		echo "            GET through fnguard while they were held:" \
		    "${i_get//_/ } in $i_get_ms ms"
		[ "$i_get" = "HTTP/1.1_200_OK_1024" ] ||
		    echo "idle ($2): GET through fnguard with $i_opened held: ${i_get//_/ }" \
		    >>"$anomalies"
		if [ "$i_held" -lt "$i_opened" ] ||
		    [ "${i_fate%% *}" != "$i_opened" ]; then
			echo "idle ($2): $i_opened idle connections opened through fnguard, $i_reached reached the server in $i_secs s, but 1 s later only $i_held were still open at the server and fnguard had $i_fds1 descriptors ($i_fds0 when started); the clients found theirs (open eof reset): $i_fate" |
			    tee -a "$anomalies" | sed 's/^/   !! /'
		fi
	fi
}
if [ "${parts#* idle }" != "$parts" ]; then
	echo "== idle connections: $idle_n through each proxy to a server" \
	    "that holds each until its client closes; paced = 200 at a time," \
	    "burst = all at once (load $(loadavg); TIME_WAIT $(tw))"
	start_fnguard
	idle_test fnguard "$fng_pid" 192.0.2.10 7003 200
	idle_report fnguard paced
	fnguard_after "the paced idle connections closed"
	start_fnguard
	idle_test fnguard "$fng_pid" 192.0.2.10 7003 0
	idle_report fnguard burst
	fnguard_after "the burst of idle connections closed"
	idle_test haproxy "$hap_pid" 127.0.0.2 17003 200
	idle_report haproxy paced
fi

# ---- summary ------------------------------------------------------------
echo
echo "== results ($(nproc) cores; load average at the end $(loadavg);" \
    "$(machine_busy)% of the CPUs busy after the run, nothing of ours" \
    "running)"
echo "   bulk: iperf3, Mbit/s as received (median of $rounds rounds, and" \
    "their range); the proxy's CPU in % of one core over the run, and CPU" \
    "seconds per GB received (medians)"
awk "$stats_awk"'
$1 == "bulk" {
	k = ($3 ~ /^fnguard/) ? 0 : ($3 ~ /^haproxy/) ? 1 : ($3 == "socat") ? 2 : ($3 == "floor") ? 3 : -1
	key = $2 " " $3
	if (!(key in seen)) { seen[key] = 1; order[++n] = key }
	add(mbps, key, $4)
	if (k >= 0) {
		add(cpu, key, $(8 + k))
		if ($5 > 0) add(spg, key, $(12 + k) / ($5 / 1e9))
		if ($5 > 0) add(upg, key, $(18 + k) / ($5 / 1e9))
	}
}
END {
	for (i = 1; i <= n; i++) {
		key = order[i]; split(key, f, " ")
		printf "   %-4s %-11s %6.0f Mbit/s (%s-%s)   proxy cpu %4s%%  %6s s/GB, user space %6s\n",
		    f[1], f[2], med(mbps[key]), lo(mbps[key]), hi(mbps[key]),
		    (key in cpu) ? med(cpu[key]) : "-",
		    (key in spg) ? sprintf("%.2f", med(spg[key])) : "-",
		    (key in upg) ? sprintf("%.3f", med(upg[key])) : "-"
	}
}' "$results"
echo "   http: wrk req/s (median of $rounds rounds, and their range)," \
    "latency in ms; the proxy's CPU in % of one core and in CPU" \
    "microseconds per request (medians); errors over all rounds"
# (and after them, the pairs: req/s only)
awk "$stats_awk"'
$1 == "http" || $1 == "pair" {
	k = ($3 ~ /^fnguard/) ? 0 : ($3 ~ /^haproxy/) ? 1 : ($3 == "floor") ? 3 : -1
	key = ($1 == "pair" ? "pairs " : "") $2 " " $3
	if (!(key in seen)) { seen[key] = 1; order[++n] = key }
	add(rps, key, $4)
	if ($1 == "pair") next
	add(avg, key, $6); add(p50, key, $7); add(p99, key, $8)
	if (k >= 0) {
		add(cpu, key, $(10 + k))
		if ($5 > 0) add(us, key, $(14 + k) / $5 * 1e6)
		if ($5 > 0) add(uus, key, $(22 + k) / $5 * 1e6)
	}
	if ($18 != "none") err[key] = err[key] " " $18
}
END {
	for (i = 1; i <= n; i++) {
		key = order[i]
		if (split(key, f, " ") == 3) {
			if (!said++)
				print "   pairs: wrk req/s, runs of every path" \
				    " back to back (median of the pairs, and" \
				    " their range)"
			printf "   %-9s %-11s %8.0f req/s (%.0f-%.0f)\n", f[2],
			    f[3], med(rps[key]), lo(rps[key]), hi(rps[key])
			continue
		}
		printf "   %-9s %-11s %8.0f req/s (%.0f-%.0f)  avg %7.3f  p50 %7.3f  p99 %7.3f  proxy cpu %4s%%  %6s us/req, user space %5s  errors %s\n",
		    f[1], f[2], med(rps[key]), lo(rps[key]), hi(rps[key]),
		    med(avg[key]), med(p50[key]), med(p99[key]),
		    (key in cpu) ? med(cpu[key]) : "-",
		    (key in us) ? sprintf("%.1f", med(us[key])) : "-",
		    (key in uus) ? sprintf("%.1f", med(uus[key])) : "-",
		    (key in err) ? err[key] : "none"
	}
}' "$results"
awk '$1 == "idle" {
	printf "   idle %-6s %-8s %6d B per idle connection (VmRSS %d -> %d kB, %d connections; descriptors %d -> %d)\n",
	    $13, $2, $3, $4, $5, $10, $6, $7
}' "$results"

echo
echo "== ratios, each the median of the $rounds rounds' own ratios (the" \
    "paths of one round ran minutes apart, not hours), with their range;" \
    "issue 4's targets: bulk >= 1.2x haproxy and >= 0.6x direct; req/s >=" \
    "1.0x haproxy in both modes; haproxy-tp is haproxy on fnguard's path," \
    "NAT included; fnguard-fwd beside haproxy: both forwarders, no NAT;" \
    "floor: bench/tcpfloor.c, a forwarder that does nothing else)"
awk "$stats_awk"'
	$1 == "bulk" { v["bulk " $2, $3, $17] = $4; rd[$17] = 1 }
	$1 == "http" { v["req/s " $2, $3, $21] = $4; rd[$21] = 1 }
	$1 == "pair" { v["pairs " $2, $3, $5] = $4; rd[$5] = 1; m[$2] = 1 }
	# x/y: the median of the rounds (or pairs) own ratios, their range;
	# wins: and in how many x was ahead
	function ratio(what, x, y, wins,   r, l, w, k) {
		l = ""; w = k = 0
		for (r in rd)
			if ((what, y, r) in v && v[what, y, r] > 0 &&
			    (what, x, r) in v) {
				l = l " " sprintf("%.3f", v[what, x, r] / v[what, y, r])
				k++; if (v[what, x, r] > v[what, y, r]) w++
			}
		if (l == "") return "-"
		return sprintf("%.2fx", med(l)) rng(l) (wins ? " ahead in " w "/" k : "")
	}
	END {
		n = split("bulk up|bulk down|req/s close|req/s keepalive", w, "|")
		for (i = 1; i <= n; i++) {
			printf "   %-15s fnguard/haproxy %s   fnguard/haproxy-tp %s   fnguard/direct %s%s\n",
			    w[i], ratio(w[i], "fnguard", "haproxy"),
			    ratio(w[i], "fnguard", "haproxy-tp"),
			    ratio(w[i], "fnguard", "direct"),
			    w[i] ~ /^bulk/ ? "   fnguard/socat " ratio(w[i], "fnguard", "socat") : ""
		}
		for (i = 1; i <= n; i++)
			printf "   %-15s fnguard-fwd/haproxy %s\n", w[i],
			    ratio(w[i], "fnguard-fwd", "haproxy")
		# Beside a forwarder that does nothing else (tcpfloor): haproxy
		# beat it with a new connection per request in this VM.
		for (i = 1; i <= n; i++)
			printf "   %-15s floor/haproxy %s   fnguard-fwd/floor %s   fnguard/floor %s\n",
			    w[i], ratio(w[i], "floor", "haproxy"),
			    ratio(w[i], "fnguard-fwd", "floor"),
			    ratio(w[i], "fnguard", "floor")
		split("close keepalive", w, " ")
		for (i = 1; i <= 2; i++) {
			if (!(w[i] in m)) continue
			printf "   pairs %-9s fnguard/haproxy %s   fnguard/haproxy-tp %s\n",
			    w[i], ratio("pairs " w[i], "fnguard", "haproxy", 1),
			    ratio("pairs " w[i], "fnguard", "haproxy-tp", 1)
			printf "   pairs %-9s fnguard-fwd/haproxy %s   floor/haproxy %s\n",
			    w[i], ratio("pairs " w[i], "fnguard-fwd", "haproxy", 1),
			    ratio("pairs " w[i], "floor", "haproxy", 1)
		}
	}' "$results"

echo
alive "$fng_log" "$fng_pid" || exit 1
echo "== fnguard: started $fng_n times, never died; audit file" \
    "$(wc -l <"$work/audit.jsonl" 2>/dev/null || echo 0) records"
if [ -s "$anomalies" ]; then
	echo "== !! fnguard misbehaved:"
	sed 's/^/   /' "$anomalies"
	exit 1
fi
echo "== fnguard: no anomalies (every session closed, quiet after every run)"
exit 0
