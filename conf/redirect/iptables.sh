#!/bin/sh
# The same redirect as nftables.nft, for hosts that use iptables:
# outbound TCP to fnguard's proxy on 127.0.0.1:15001, DNS to its resolver,
# fnguard's own traffic (marked with --mark 1) and loopback left alone.
set -e
for ipt in iptables ip6tables; do
	command -v "$ipt" >/dev/null 2>&1 || continue
	lo=127.0.0.0/8
	[ "$ipt" = ip6tables ] && lo=::1/128
	"$ipt" -t nat -N FNGUARD 2>/dev/null || "$ipt" -t nat -F FNGUARD
	"$ipt" -t nat -A FNGUARD -m mark --mark 0x1 -j RETURN
	"$ipt" -t nat -A FNGUARD -d "$lo" -j RETURN
	"$ipt" -t nat -A FNGUARD -p udp --dport 53 -j REDIRECT --to-ports 53
	"$ipt" -t nat -A FNGUARD -p tcp --dport 53 -j REDIRECT --to-ports 53
	"$ipt" -t nat -A FNGUARD -p tcp -j REDIRECT --to-ports 15001
	"$ipt" -t nat -C OUTPUT -j FNGUARD 2>/dev/null ||
	    "$ipt" -t nat -A OUTPUT -j FNGUARD
done
