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
# runs fnguard itself behind nftables.nft. Needs root, nft, iptables
# (iptables-nft) and ip6tables, python3; exits 77 without them.

. "$(dirname "$0")/lib.sh"

need_root
for _t in ip nft iptables ip6tables; do
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
fi

finish
