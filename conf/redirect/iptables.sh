#!/bin/sh
# The same rules as nftables.nft, for hosts that use iptables:
# outbound TCP to fnguard's proxy on 127.0.0.1:15001, DNS to its resolver,
# fnguard's own traffic (marked with --mark 1) and loopback left alone,
# and other UDP refused (the daemon judges TCP and DNS only; see
# nftables.nft). Run it again to reset the rules.
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
	# After the redirect (the nat table's OUTPUT comes first): DNS is
	# bound for loopback by now. To let a destination through that the
	# policy allows, insert an ACCEPT before the REJECT, for example:
	#	iptables -I FNGUARD_UDP -d 10.0.0.5 -p udp --dport 8125 -j ACCEPT
	"$ipt" -N FNGUARD_UDP 2>/dev/null || "$ipt" -F FNGUARD_UDP
	"$ipt" -A FNGUARD_UDP -m mark --mark 0x1 -j RETURN
	"$ipt" -A FNGUARD_UDP -d "$lo" -j RETURN
	"$ipt" -A FNGUARD_UDP -p udp -j REJECT
	"$ipt" -C OUTPUT -p udp -j FNGUARD_UDP 2>/dev/null ||
	    "$ipt" -A OUTPUT -p udp -j FNGUARD_UDP
done
