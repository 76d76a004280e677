#!/bin/bash
# bench/rules.sh — rule engine speed and the cost of loading a big policy,
# beside dnsmasq holding the same 100,000 names.
#
#   bench/rules.sh [BUILDDIR]     (default: ./build, made if missing)
#
# Prints: verdicts per second for dns events against a 100,000-entry domain
# blacklist plus 1,000 whitelist patterns, and for connect events against
# 10,000 CIDRs (one core, rules_eval); load time and RSS of that policy; and
# dnsmasq's start-up time (exec to first answer) and RSS with the same
# 100,000 names as address=/name/ lines, with the ratios.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
seconds=${BENCH_SECONDS:-3}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need dnsmasq || ! need dig || ! need python3; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y \
	    -qq dnsmasq-base dnsutils python3 >/dev/null
fi
if [ ! -x "$build/bench/rules_bench" ]; then
	mkdir -p "$build"
	(cd "$build" && { [ -f Makefile ] || "$top/configure" -q; } &&
	    make -s bench/rules_bench) >/dev/null
fi

# BENCH_KEEP=DIR keeps the generated policies and subjects there.
work=${BENCH_KEEP:-$(mktemp -d)}
mkdir -p "$work"
dnsmasq_pid=
cleanup() {
	if [ -n "$dnsmasq_pid" ]; then
		kill "$dnsmasq_pid" 2>/dev/null
		wait "$dnsmasq_pid" 2>/dev/null
	fi
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

python3 - "$work" <<'PY'
import json, random, sys
w = sys.argv[1]
rnd = random.Random(20261129)
def label(n):
    return ''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(n))
tlds = ['com', 'net', 'org', 'io', 'info', 'biz', 'ru', 'cn']
black = set()
while len(black) < 100000:
    black.add('%s.%s' % (label(rnd.randint(5, 14)), rnd.choice(tlds)))
black = sorted(black)
# 70% exact names, 30% the name and everything under it
bl_patterns = [n if i % 10 < 7 else '*.' + n for i, n in enumerate(black)]
allowed = ['svc%d.example%d.com' % (i, i % 37) for i in range(1000)]
wl = ['*amazon.com'] + ['*.' + a for a in allowed[:600]] + allowed[600:999]
rule = {"name": "big", "dns": {"effect": "prevent", "whitelist": wl,
                                "blacklist": bl_patterns}}
json.dump({"rules": [rule]}, open(w + '/dns-policy.json', 'w'))
with open(w + '/dnsmasq.conf', 'w') as f:
    for n in black:
        f.write('address=/%s/\n' % n)
names = []
for i in range(20000):
    r = i % 4
    if r == 0:
        names.append('api.' + rnd.choice(allowed[:600]))
    elif r == 1:
        names.append(rnd.choice(allowed[600:999]))
    elif r == 2:
        names.append('x.' + rnd.choice(black))
    else:
        names.append('%s.%s' % (label(10), rnd.choice(tlds)))
open(w + '/names.txt', 'w').write('\n'.join(names) + '\n')
cidrs = set()
while len(cidrs) < 9000:
    p = rnd.randint(12, 32)
    a = rnd.getrandbits(32) & ((0xffffffff << (32 - p)) & 0xffffffff)
    cidrs.add('%d.%d.%d.%d/%d' % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, p))
while len(cidrs) < 10000:
    p = rnd.randint(32, 128)
    a = rnd.getrandbits(128) & (((1 << 128) - 1) << (128 - p)) & ((1 << 128) - 1)
    h = '%032x' % a
    cidrs.add(':'.join(h[i:i + 4] for i in range(0, 32, 4)) + '/%d' % p)
rule = {"name": "cidrs", "network": {"effect": "prevent",
                                     "blacklistIPs": sorted(cidrs)}}
json.dump({"rules": [rule]}, open(w + '/net-policy.json', 'w'))
ips = []
for i in range(20000):
    if i % 5 == 4:
        ips.append('2001:db8::%x' % rnd.getrandbits(16))
    else:
        ips.append('%d.%d.%d.%d' % tuple(rnd.getrandbits(8) for _ in range(4)))
open(w + '/ips.txt', 'w').write('\n'.join(ips) + '\n')
PY

echo "== rules_eval, one core, ${seconds}s each"
"$build/bench/rules_bench" dns "$work/dns-policy.json" "$work/names.txt" "$seconds"
"$build/bench/rules_bench" connect "$work/net-policy.json" "$work/ips.txt" "$seconds"

echo "== loading the 100,000-name policy ($(du -h "$work/dns-policy.json" | cut -f1))"
best_ms=
for i in 1 2 3 4 5; do
	line=$("$build/bench/rules_bench" load "$work/dns-policy.json")
	ms=$(echo "$line" | sed 's/load: \([0-9.]*\) ms.*/\1/')
	held=$(echo "$line" | sed 's/.*, \([0-9.]*\) MB heap in use.*/\1/')
	after=$(echo "$line" | sed 's/.*, \([0-9.]*\) MB RSS after trim.*/\1/')
	if [ -z "$best_ms" ] || awk "BEGIN{exit !($ms < $best_ms)}"; then
		best_ms=$ms
	fi
done
# Peak whole-process RSS (the JSON tree is alive while the policy is built).
read -r wall_s max_kb < <( { /usr/bin/time -f '%e %M' \
    "$build/bench/rules_bench" load "$work/dns-policy.json" >/dev/null; } 2>&1 | tail -1)
echo "fnguard: load ${best_ms} ms (best of 5); the policy holds ${held} MB;" \
    "whole process RSS ${after} MB once the parser's memory is returned" \
    "(peak while parsing $((max_kb / 1024)) MB)"
after_kb=$(awk -v a="$after" 'BEGIN { printf "%d", a * 1024 }')

echo "== dnsmasq with the same 100,000 names as address=/name/"
port=$((20000 + RANDOM % 12000))	# below the ephemeral ports
t0=$(date +%s%N)
dnsmasq -k --conf-file="$work/dnsmasq.conf" --port="$port" \
    --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --cache-size=0 --pid-file= --user=root --log-facility=/dev/null &
dnsmasq_pid=$!
answered=
for i in $(seq 1 600); do
	if dig +short +tries=1 +time=1 -p "$port" @127.0.0.1 probe.invalid \
	    >/dev/null 2>&1; then
		answered=1
		break
	fi
	sleep 0.01
done
t1=$(date +%s%N)
[ -n "$answered" ] || { echo "dnsmasq did not answer"; exit 1; }
dm_ms=$(( (t1 - t0) / 1000000 ))
dm_kb=$(awk '/VmRSS/ {print $2}' "/proc/$dnsmasq_pid/status")
echo "dnsmasq: start-up to first answer ${dm_ms} ms, RSS $((dm_kb / 1024)) MB"

echo "== ratios"
awk -v f="$best_ms" -v d="$dm_ms" -v fr="$after_kb" -v pk="$max_kb" \
    -v dr="$dm_kb" 'BEGIN {
	printf "load time fnguard/dnsmasq: %.2f\n", f / d
	printf "RSS once loaded, fnguard/dnsmasq (whole processes): %.2f\n", fr / dr
	printf "peak RSS while parsing, fnguard/dnsmasq: %.2f\n", pk / dr
}'
