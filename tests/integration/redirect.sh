#!/bin/bash
# conf/redirect's rules, nftables.nft and then iptables.sh, loaded in turn
# in a network namespace of the test's own (192.0.2.10 and 2001:db8::10 on
# its loopback; nothing leaves it), each checked from both ends of the
# traffic by tests/integration/rules.py: the function's TCP (IPv4 and IPv6)
# reaches fnguard's proxy port with its original destination readable
# (SO_ORIGINAL_DST); DNS over UDP and TCP reaches fnguard's resolver port;
# fnguard's own marked traffic and loopback pass untouched; and other UDP,
# which the daemon cannot judge, is refused with an error the sender sees
# (EPERM, then ECONNREFUSED) and never arrives. tests/integration/proxy.sh
# runs fnguard itself behind nftables.nft in depth; here it runs behind
# iptables.sh for an allowed IPv4 and IPv6 connection and a denied one.
# Needs root, nft, iptables (iptables-nft) and ip6tables, python3, curl,
# jq; exits 77 without them.

. "$(dirname "$0")/lib.sh"

need_root
for _t in ip nft iptables ip6tables curl jq; do
	need_tool "$_t"
done
use_python

mktmp
ns_create fngr
ns_addr 192.0.2.10/32
ns_addr 2001:db8::10/128
# No nf_tables (or no NAT in it) here: skip; the shipped rules failing
# where a table with a redirect loads is a failure of the rules.
need_nft_nat

# case, then what rules.py must print for it
expect() {
	cat <<'EXP'
tcp4 proxy 192.0.2.10:8080
tcp6 proxy [2001:db8::10]:8080
tcp4-marked direct
tcp4-loopback direct
dns4-tcp proxy 192.0.2.10:53
udp4 EPERM ECONNREFUSED not-delivered
udp6 EPERM ECONNREFUSED not-delivered
udp4-marked sent sent delivered
udp4-loopback sent sent delivered
dns4 sent sent delivered
dns6 sent sent delivered
EXP
}

check_rules() {	# NAME: runs every case against the rules now loaded
	run_ns 60 "$PY" "$TOP_SRCDIR/tests/integration/rules.py" \
	    $(expect | cut -d' ' -f1)
	if [ "$RC" != 0 ]; then
		not_ok "$1: rules.py ran (status $RC)"
		show "$ERR"
		return
	fi
	while read -r _case _want; do
		_got=$(printf '%s\n' "$OUT" | sed -n "s/^$_case //p")
		if [ "$_got" = "$_want" ]; then
			ok "$1: $_case: $_got"
		else
			not_ok "$1: $_case: want \"$_want\", got \"$_got\""
		fi
	done < <(expect)
}

if nsx nft -f "$CONF/redirect/nftables.nft" 2>"$T/load.err"; then
	ok "nftables.nft loads"
	check_rules nftables.nft
else
	not_ok "nftables.nft loads"
	show "$(cat "$T/load.err")"
fi
nsx nft flush ruleset

# Twice: running it again resets the rules, not doubles them.
if nsx sh "$CONF/redirect/iptables.sh" 2>"$T/load.err" &&
    nsx sh "$CONF/redirect/iptables.sh" 2>>"$T/load.err"; then
	ok "iptables.sh runs, twice"
	n=$(nsx iptables -t nat -S OUTPUT | grep -c -- '-j FNGUARD$')
	u=$(nsx ip6tables -S OUTPUT | grep -c -- '-j FNGUARD_UDP$')
	if [ "$n" = 1 ] && [ "$u" = 1 ]; then
		ok "iptables.sh run twice: one jump to each chain ($n, $u)"
	else
		not_ok "iptables.sh run twice: one jump to each chain, not $n and $u"
	fi
	check_rules iptables.sh
else
	not_ok "iptables.sh runs, twice"
	show "$(cat "$T/load.err")"
	finish
fi

# ---- fnguard itself behind iptables.sh (proxy.sh does nftables.nft) ----

mkdir -p "$T/www"
echo "through fnguard" >"$T/www/f"
cat >"$T/policy.json" <<'JSON'
{ "rules": [ { "name": "redirect-test",
    "network": {"effect": "prevent", "blacklistIPs": ["192.0.2.66"]} } ] }
JSON
ns_addr 192.0.2.66/32
start_bg HTTP4_PID "$T/http4.log" "$PY" -m http.server --bind 192.0.2.10 \
    --directory "$T/www" 8080
start_bg HTTP6_PID "$T/http6.log" "$PY" -m http.server --bind 2001:db8::10 \
    --directory "$T/www" 8080
start_bg HTTP66_PID "$T/http66.log" "$PY" -m http.server --bind 192.0.2.66 \
    --directory "$T/www" 8080
start_bg DAEMON_PID "$T/daemon.log" "$FNGUARD" daemon --policy \
    "$T/policy.json" --proxy-listen 127.0.0.1:15001 --proxy-listen \
    '[::1]:15001' --dns-listen 127.0.0.1:53 --upstream 127.0.0.53:5300 \
    --mark 1 --audit "$T/audit.jsonl"
if wait_port 10 tcp 192.0.2.10 8080 && wait_port 10 tcp '[2001:db8::10]' \
    8080 && wait_port 10 tcp 192.0.2.66 8080 &&
    wait_for 10 grep -q 'daemon: ready' "$T/daemon.log"; then
	ok "fnguard daemon and the HTTP servers are up"
else
	not_ok "fnguard daemon and the HTTP servers are up"
	show "$(cat "$T/daemon.log" "$T/http4.log" "$T/http6.log")"
	finish
fi
CURL=$(readlink -f "$(command -v curl)")
for _url in http://192.0.2.10:8080/f 'http://[2001:db8::10]:8080/f'; do
	run_ns 10 curl -sS --max-time 5 "$_url"
	if [ "$RC" = 0 ] && [ "$OUT" = "through fnguard" ]; then
		ok "iptables.sh: curl $_url is relayed by fnguard"
	else
		not_ok "iptables.sh: curl $_url is relayed by fnguard (status $RC)"
		show "$OUT$ERR"
	fi
done
run_ns 10 curl -sS --max-time 5 http://192.0.2.66:8080/f
case $RC in
7 | 52 | 56) ok "iptables.sh: curl http://192.0.2.66:8080/f (blacklistIPs) \
is refused (curl status $RC)" ;;
*) not_ok "iptables.sh: curl http://192.0.2.66:8080/f (blacklistIPs) is \
refused (curl status $RC)"; show "$OUT$ERR" ;;
esac
_seen=$(grep -c '"GET ' "$T/http66.log")
if [ "$_seen" = 0 ]; then
	ok "iptables.sh: the server on 192.0.2.66 got no request"
else
	not_ok "iptables.sh: the server on 192.0.2.66 got $_seen requests"
fi
# The audit shipper writes within a moment, not at once.
wait_for 5 grep -q '"192.0.2.66"' "$T/audit.jsonl"
_rec=$(jq -r 'select(.ip == "192.0.2.66") |
    [.attackType, .effect, .processPath, .port] | join("|")' \
    "$T/audit.jsonl" 2>/dev/null)
if [ "$_rec" = "explicitlyDeniedIP|prevent|$CURL|8080" ]; then
	ok "iptables.sh: audited: $_rec"
else
	not_ok "iptables.sh: audit explicitlyDeniedIP|prevent|$CURL|8080, \
got \"$_rec\""
	show "$(cat "$T/audit.jsonl" 2>/dev/null)"
fi

# That the two allowed ones crossed fnguard and were not let through
# direct: its own count, logged when it stops.
stop_pid "$DAEMON_PID"
_counts=$(sed -n 's/.*proxy: \([0-9]*\) connections accepted, \([0-9]*\) relayed, \([0-9]*\) refused.*/\1 \2 \3/p' "$T/daemon.log")
if [ "$_counts" = "3 2 1" ]; then
	ok "iptables.sh: fnguard accepted 3 connections, relayed 2, refused 1"
else
	not_ok "iptables.sh: fnguard accepted 3 connections, relayed 2, \
refused 1; its log says \"$_counts\""
	show "$(tail -n 5 "$T/daemon.log")"
fi

finish
