#!/bin/sh
# fnguard learn: the least-privilege policy of a recording (SPEC section 6)
# must pass check, allow the whole recording, and deny what it never saw.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/cli/lib.sh"
need_tool python3

REC=$CONF/examples/recording.jsonl
need_conf "$REC" || finish

# learn_and_verify NAME RECORDING...: learns $T/NAME.json from the
# recordings, checks it and replays the recordings under it.
learn_and_verify() {
	_name=$1
	shift
	run "$FNGUARD" learn "$@"
	assert_status "$_name: learn exits 0" 0
	printf '%s\n' "$OUT" >"$T/$_name.json"
	if json_valid "$T/$_name.json"; then
		ok "$_name: learn writes JSON to stdout"
	else
		not_ok "$_name: learn writes JSON to stdout"
		show "$OUT"
	fi
	run "$FNGUARD" check "$T/$_name.json"
	assert_status "$_name: check of the learned policy exits 0" 0
	assert_match "$_name: the learned policy has no error nor warning" \
	    "$ERR" ': valid: [0-9]+ rules?, 0 warnings$'
	run "$FNGUARD" replay --policy "$T/$_name.json" --fail-on alert "$@"
	assert_status "$_name: replay --fail-on alert of the recording exits 0" 0
	assert_match "$_name: every event of the recording is allowed" "$OUT" \
	    '^[0-9]+ events: [0-9]+ allow, 0 alert, 0 prevent, 0 broken lines$'
}

# verdicts POLICY RECORDING NEW-EVENTS: replays the recording followed by
# new events (so that what the recording's DNS answers taught still holds)
# and prints "verdict attackType" for each new event, one per line.
verdicts() {
	cat "$2" "$3" >"$T/with-new.jsonl"
	"$FNGUARD" replay --json --policy "$1" "$T/with-new.jsonl" \
	    2>/dev/null | tail -n "$(grep -c . "$3")" | py '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    print(o["verdict"], o["attackType"] or "-")'
}

# new_events RECORDING: events in the identity of the recording's first
# line, from lines "KIND JSON-FIELDS" on stdin.
new_events() {
	py '
import json, sys
first = json.loads(open(sys.argv[1]).readline())
base = {k: first[k] for k in ("function", "region", "provider", "accountID")
        if k in first}
last = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
for line in sys.stdin:
    kind, _, fields = line.strip().partition(" ")
    e = {"event": kind, "time": last["time"]}
    e.update(base)
    e.update(json.loads(fields))
    print(json.dumps(e))
' "$1"
}

field() {	# POLICY EXPR: a Python expression on rule r of the policy
	py '
import json, sys
r = json.load(open(sys.argv[1]))["rules"][0]
print(eval(sys.argv[2]))' "$1" "$2"
}

# ---- the bundled recording ----

learn_and_verify bundled "$REC"
new_events "$REC" >"$T/bundled-new.jsonl" <<'EOF'
dns {"domain": "evil.example.com", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true, "answers": ["192.0.2.66"], "ttl": 60}
exec {"processPath": "/usr/bin/curl", "pid": 77, "command": "curl http://evil.example.com", "mainProcess": false}
open {"filepath": "/etc/shadow", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true, "access": "read"}
connect {"ip": "192.0.2.200", "port": 443, "proto": "tcp", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true}
connect {"ip": "192.0.2.10", "port": 8443, "proto": "tcp", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true}
connect {"ip": "192.0.2.10", "port": 443, "proto": "tcp", "domain": "evil.example.com", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true}
listen {"port": 9090, "proto": "tcp", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true}
accept {"ip": "203.0.113.9", "port": 8080, "proto": "tcp", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true}
connect {"ip": "192.0.2.10", "port": 443, "proto": "tcp", "domain": "s3.amazon.com", "processPath": "/var/lang/bin/python3.12", "pid": 1, "mainProcess": true}
EOF
assert_eq "bundled: what the recording never did is denied" \
    "prevent explicitlyDeniedDNS
prevent explicitlyDeniedProcess
prevent regFileAccess
prevent explicitlyDeniedIP
prevent explicitlyDeniedOutboundPort
prevent explicitlyDeniedDNS
prevent explicitlyDeniedListeningPort
prevent explicitlyDeniedIP
allow -" \
    "$(verdicts "$T/bundled.json" "$REC" "$T/bundled-new.jsonl")"

# ---- a synthetic recording ----

py '
import json
ident = {"function": "synth-fn", "region": "eu-west-1", "provider": "aws",
         "accountID": "111122223333"}
main = {"processPath": "/var/lang/bin/node", "pid": 1,
        "command": "/var/lang/bin/node /var/runtime/index.mjs",
        "user": "sbx_user1051", "mainProcess": True}
t = [0]
def ev(kind, **kw):
    t[0] += 10
    e = {"event": kind, "time": "2026-11-29T07:00:%02d.%03dZ"
         % (t[0] // 1000, t[0] % 1000)}
    e.update(ident)
    e.update(main)
    e.update(kw)
    print(json.dumps(e))
# The bootstrap script execs the runtime: both in the main process.
ev("exec", processPath="/var/runtime/bootstrap",
   command="/var/runtime/bootstrap")
ev("exec")
for i in range(1, 11):
    ev("dns", domain="n%d.cdn.example.net" % i,
       answers=["203.0.113.%d" % i], ttl=300)
    ev("connect", ip="203.0.113.%d" % i, port=443, proto="tcp")
ev("dns", domain="API.Other.org.", answers=["198.51.100.20"], ttl=300)
ev("connect", ip="198.51.100.20", port=443, proto="tcp",
   domain="api.other.org")
for i in range(1, 11):
    ev("open", filepath="/srv/data/part-%02d.csv" % i, access="read")
ev("open", filepath="/etc/hosts", access="read")
ev("create", filepath="/tmp/out.json")
' >"$T/synth.jsonl"

learn_and_verify synth "$T/synth.jsonl"
P=$T/synth.json
assert_eq "synth: ten names under cdn.example.net fold into *.cdn.example.net" \
    "['*.cdn.example.net', 'api.other.org']" \
    "$(field "$P" 'sorted(r["dns"]["whitelist"])')"
assert_eq "synth: ten files in /srv/data fold into /srv/data/*" \
    "(True, False)" \
    "$(field "$P" '"/srv/data/*" in r["filesystem"]["whitelist"], any(p.startswith("/srv/data/part") for p in r["filesystem"]["whitelist"])')"
assert_eq "synth: a lone file stays exact" "True" \
    "$(field "$P" '"/etc/hosts" in r["filesystem"]["whitelist"]')"
assert_eq "synth: only main-process execs -> blockAllBinaries true" "True" \
    "$(field "$P" 'r["processes"]["blockAllBinaries"]')"
assert_eq "synth: the rule is scoped to the recorded function" \
    "['synth-fn']" \
    "$(field "$P" '[f for c in r.get("collections", []) for f in c["functions"]]')"
assert_eq "synth: the sections prevent by default" \
    "prevent prevent prevent prevent" \
    "$(field "$P" '" ".join(r[s]["effect"] for s in ("processes", "network", "dns", "filesystem"))')"

new_events "$T/synth.jsonl" >"$T/synth-new.jsonl" <<'EOF'
dns {"domain": "n99.cdn.example.net", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true, "answers": ["203.0.113.99"], "ttl": 300}
open {"filepath": "/srv/data/part-99.csv", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true, "access": "read"}
dns {"domain": "evil.example.com", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true, "answers": ["192.0.2.66"], "ttl": 300}
dns {"domain": "evilcdn.example.net", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true, "answers": ["192.0.2.67"], "ttl": 300}
exec {"processPath": "/bin/sh", "pid": 7, "command": "/bin/sh -c id", "mainProcess": false}
exec {"processPath": "/var/lang/bin/node", "pid": 8, "command": "/var/lang/bin/node worker.js", "mainProcess": false}
open {"filepath": "/etc/shadow", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true, "access": "read"}
open {"filepath": "/srv/data2/x.csv", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true, "access": "read"}
connect {"ip": "192.0.2.200", "port": 443, "proto": "tcp", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true}
connect {"ip": "203.0.113.1", "port": 22, "proto": "tcp", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true}
listen {"port": 8080, "proto": "tcp", "processPath": "/var/lang/bin/node", "pid": 1, "mainProcess": true}
EOF
assert_eq "synth: folded patterns allow their kin; new acts are denied" \
    "allow -
allow -
prevent explicitlyDeniedDNS
prevent explicitlyDeniedDNS
prevent explicitlyDeniedProcess
prevent explicitlyDeniedProcess
prevent regFileAccess
prevent regFileAccess
prevent explicitlyDeniedIP
prevent explicitlyDeniedOutboundPort
prevent explicitlyDeniedListeningPort" \
    "$(verdicts "$P" "$T/synth.jsonl" "$T/synth-new.jsonl")"

# ---- options, several recordings ----

run "$FNGUARD" learn --name my-fn --effect alert "$T/synth.jsonl"
assert_status "learn --name --effect alert exits 0" 0
printf '%s\n' "$OUT" >"$T/alert.json"
assert_eq "--name names the rule" "my-fn" "$(field "$T/alert.json" 'r["name"]')"
assert_eq "--effect alert sets every section to alert" \
    "alert alert alert alert" \
    "$(field "$T/alert.json" '" ".join(r[s]["effect"] for s in ("processes", "network", "dns", "filesystem"))')"
assert_eq "under --effect alert a new act is alerted, not prevented" \
    "alert explicitlyDeniedDNS" \
    "$(verdicts "$T/alert.json" "$T/synth.jsonl" "$T/synth-new.jsonl" |
    sed -n 3p)"
run "$FNGUARD" learn --effect block "$T/synth.jsonl"
assert_status "learn --effect block is a usage error (2)" 2
assert_one_line_error "learn --effect block: one line" "$ERR"

learn_and_verify both "$REC" "$T/synth.jsonl"

run "$FNGUARD" learn
assert_status "learn without EVENTS is a usage error (2)" 2
assert_one_line_error "learn without EVENTS: one line" "$ERR"
run "$FNGUARD" learn "$T/no-such.jsonl"
assert_status "learn of a missing file exits 1" 1
assert_match "learn of a missing file: its error line" "$ERR" \
    "^fnguard: learn: $T/no-such.jsonl: No such file or directory$"

{
	sed -n '1,3p' "$T/synth.jsonl"
	echo '{"event": "open", "filepath": '
	sed -n '4,$p' "$T/synth.jsonl"
} >"$T/broken.jsonl"
run "$FNGUARD" learn "$T/broken.jsonl"
assert_status "learn of a recording with a broken line exits 1" 1
assert_match "learn reports the broken line as FILE:LINE" "$ERR" \
    "^fnguard: learn: $T/broken.jsonl:4: "

finish
