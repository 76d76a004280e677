#!/bin/sh
# fnguard replay: SPEC sections 1, 2, 4 and 6, on the bundled recording.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/cli/lib.sh"
need_tool python3

REC=$CONF/examples/recording.jsonl
DNSPOL=$CONF/policies/amazon-dns.json
EXPORT=$CONF/policies/commercial-export.json
need_conf "$REC" "$DNSPOL" "$EXPORT" || finish

YAHOO_MSG="DNS resolution of domain name yahoo.com triggered by /usr/bin/wget explicitly denied by a runtime rule."

echo '{"rules": []}' >"$T/none.json"
echo '{"rules": [{"name": "open"}]}' >"$T/open.json"

# Expected numbers for amazon-dns.json, worked out here from SPEC 2 rather
# than taken from fnguard: only its dns section is on (prevent, whitelist
# "*amazon.com", so a name must end with "amazon.com"); every other event
# is allowed. Names seen on connections are checked the same way.
expected=$(py '
import json, sys
n = deny = 0
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    e = json.loads(line)
    n += 1
    d = e.get("domain")
    if e["event"] in ("dns", "connect", "sendto") and d is not None:
        if not d.lower().rstrip(".").endswith("amazon.com"):
            deny += 1
print("%d events: %d allow, 0 alert, %d prevent, 0 broken lines"
      % (n, n - deny, deny))
' "$REC")
nevents=$(grep -c . "$REC")
yahoo_line=$(grep -n '"event": *"dns"' "$REC" | grep '"yahoo.com"' |
    cut -d: -f1)

# ---- the table ----

run "$FNGUARD" replay --policy "$DNSPOL" "$REC"
assert_status "replay of the recording under amazon-dns.json exits 0" 0
assert_contains "replay prints the SPEC message for yahoo.com" "$OUT" \
    "$YAHOO_MSG"
assert_match "the yahoo.com row: its line, dns, prevent, the rule" "$OUT" \
    "^$REC:$yahoo_line +dns +prevent +allow-aws-only +explicitlyDeniedDNS +DNS resolution of domain name yahoo\.com"
assert_eq "replay summary line (numbers derived from SPEC 2)" \
    "$expected" "$(printf '%s\n' "$OUT" | tail -n 1)"
assert_eq "replay prints one row per event and the summary" \
    "$((nevents + 1))" "$(nlines "$OUT")"
assert_eq "one row denies (prevent)" 1 \
    "$(printf '%s\n' "$OUT" | grep -c ' prevent ')"

# ---- --json ----

run "$FNGUARD" replay --json --policy "$DNSPOL" "$REC"
assert_status "replay --json exits 0" 0
cp "$T/out" "$T/json.out"
assert_eq "--json prints exactly one line per input event" "$nevents" \
    "$(nlines "$OUT")"
res=$(py '
import json, sys
added = ("verdict", "effect", "ruleName", "attackType", "msg")
inp = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = [json.loads(l) for l in open(sys.argv[2])]
if len(inp) != len(out):
    print("count %d != %d" % (len(inp), len(out)))
    sys.exit()
for i, (a, b) in enumerate(zip(inp, out)):
    miss = [k for k in added if k not in b]
    if miss:
        print("line %d lacks %s" % (i + 1, miss))
        sys.exit()
    rest = {k: v for k, v in b.items() if k not in added}
    if rest != a:
        print("line %d: original fields changed or out of order" % (i + 1))
        sys.exit()
print("ok")
' "$REC" "$T/json.out" 2>&1)
assert_eq "--json: input order, original fields kept, 5 fields added" \
    "ok" "$res"
yahoo_json=$(sed -n "${yahoo_line}p" "$T/json.out" | py '
import json, sys
o = json.loads(sys.stdin.read())
print(o["domain"], o["verdict"], o["effect"], o["ruleName"], o["attackType"])
print(o["msg"])')
assert_eq "--json: the yahoo.com event gets its verdict and message" \
    "yahoo.com prevent prevent allow-aws-only explicitlyDeniedDNS
$YAHOO_MSG" "$yahoo_json"
first_json=$(head -n 1 "$T/json.out" | py '
import json, sys
o = json.loads(sys.stdin.read())
print(o["verdict"], repr(o["effect"]), o["ruleName"], repr(o["attackType"]), repr(o["msg"]))')
assert_eq "--json: an allowed event says allow, with its rule" \
    "allow '' allow-aws-only '' ''" "$first_json"

# ---- --fail-on ----

run "$FNGUARD" replay --policy "$DNSPOL" --fail-on prevent "$REC"
assert_status "--fail-on prevent with a prevented event exits 1" 1
assert_eq "--fail-on still prints the summary" "$expected" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"
run "$FNGUARD" replay --policy "$DNSPOL" --fail-on alert "$REC"
assert_status "--fail-on alert with a prevented event exits 1" 1
run "$FNGUARD" replay --policy "$T/none.json" --fail-on prevent "$REC"
assert_status "--fail-on prevent, policy with no rules: exit 0" 0
run "$FNGUARD" replay --policy "$T/open.json" --fail-on alert "$REC"
assert_status "--fail-on alert, rule with every section off: exit 0" 0
assert_eq "a policy that allows all: every event allowed" \
    "$nevents events: $nevents allow, 0 alert, 0 prevent, 0 broken lines" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"
alert_pol=$T/alert.json
cat >"$alert_pol" <<'EOF'
{"rules": [{"name": "a", "dns": {"effect": "alert", "whitelist": ["*.amazon.com"]}}]}
EOF
run "$FNGUARD" replay --policy "$alert_pol" --fail-on prevent "$REC"
assert_status "--fail-on prevent ignores alerts (exit 0)" 0
run "$FNGUARD" replay --policy "$alert_pol" --fail-on alert "$REC"
assert_status "--fail-on alert fails on an alert (exit 1)" 1
run "$FNGUARD" replay --policy "$DNSPOL" --fail-on sometimes "$REC"
assert_status "--fail-on with a bad level is a usage error (2)" 2
assert_one_line_error "--fail-on bad level: one line" "$ERR"

# ---- --diff ----

run "$FNGUARD" replay --policy "$DNSPOL" --diff "$T/none.json" "$REC"
assert_status "--diff exits 0" 0
assert_eq "--diff shows only the one changed event and a summary" 2 \
    "$(nlines "$OUT")"
assert_match "--diff row: allow -> prevent for yahoo.com" "$OUT" \
    "^$REC:$yahoo_line +dns +allow -> prevent .*yahoo\.com"
assert_eq "--diff summary" \
    "$nevents events, 1 changed verdict, 0 broken lines" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"
run "$FNGUARD" replay --policy "$DNSPOL" --diff "$DNSPOL" "$REC"
assert_eq "--diff against the same policy shows no event" \
    "$nevents events, 0 changed verdict, 0 broken lines" "$OUT"
run "$FNGUARD" replay --json --policy "$DNSPOL" --diff "$T/none.json" "$REC"
assert_eq "--diff --json: one line, the changed event" "yahoo.com prevent" \
    "$(printf '%s\n' "$OUT" | py '
import json, sys
ls = sys.stdin.read().splitlines()
print(" ".join(json.loads(l)["domain"] + " " + json.loads(l)["verdict"] for l in ls))')"

# ---- the policy from TW_POLICY ----

tw=$("$FNGUARD" encode "$DNSPOL" 2>/dev/null)
assert_ne "encode made a TW_POLICY value" "" "$tw"
"$FNGUARD" replay --policy "$DNSPOL" "$REC" >"$T/by-file.out" 2>/dev/null
run env TW_POLICY="$tw" "$FNGUARD" replay "$REC"
assert_status "replay with the policy in TW_POLICY exits 0" 0
assert_eq "TW_POLICY gives the same verdicts as --policy" \
    "$(cat "$T/by-file.out")" "$OUT"
run env TW_POLICY="$tw" "$FNGUARD" replay --policy "$T/none.json" "$REC"
assert_eq "--policy wins over TW_POLICY" \
    "$nevents events: $nevents allow, 0 alert, 0 prevent, 0 broken lines" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"
run "$FNGUARD" replay "$REC"
assert_status "replay with no policy at all exits 0" 0
assert_contains "replay with no policy says everything is allowed" "$ERR" \
    "everything is allowed"

# ---- a broken line in the middle ----

broken_at=5
{
	sed -n "1,$((broken_at - 1))p" "$REC"
	echo '{"event": "dns", "domain": '
	sed -n "$broken_at,\$p" "$REC"
} >"$T/broken.jsonl"
run "$FNGUARD" replay --policy "$DNSPOL" "$T/broken.jsonl"
assert_status "a recording with a broken line exits 1" 1
assert_match "the broken line is reported as FILE:LINE" "$ERR" \
    "^fnguard: replay: $T/broken.jsonl:$broken_at: "
assert_eq "only the broken line is reported" 1 \
    "$(printf '%s\n' "$ERR" | grep -c "^fnguard: replay: $T/broken.jsonl:")"
assert_match "the lines after it are still evaluated (yahoo.com)" "$OUT" \
    "^$T/broken.jsonl:$((yahoo_line + 1)) +dns +prevent .*yahoo\.com"
assert_eq "summary counts the events and the broken line" \
    "$nevents events: $((nevents - 1)) allow, 0 alert, 1 prevent, 1 broken lines" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"

{
	sed -n '1,2p' "$REC"
	echo '{"event": "teleport", "processPath": "/bin/true"}'
	echo '[1, 2]'
	sed -n '3,$p' "$REC"
} >"$T/bad-events.jsonl"
run "$FNGUARD" replay --policy "$DNSPOL" "$T/bad-events.jsonl"
assert_status "unknown event kinds and non-objects: exit 1" 1
assert_match "an unknown event kind is reported at its line" "$ERR" \
    "^fnguard: replay: $T/bad-events.jsonl:3: "
assert_match "a JSON array line is reported at its line" "$ERR" \
    "^fnguard: replay: $T/bad-events.jsonl:4: "

run_in "$REC" "$FNGUARD" replay --policy "$DNSPOL" -
assert_status "replay - reads the events from stdin" 0
assert_eq "replay - : the same summary" "$expected" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"
assert_match "replay - : rows are named -:LINE" "$OUT" \
    "^-:$yahoo_line +dns +prevent"

run "$FNGUARD" replay --policy "$DNSPOL" "$T/no-such.jsonl"
assert_status "replay of a missing file exits 1" 1
assert_match "missing events file: one error line" "$ERR" \
    "^fnguard: replay: $T/no-such.jsonl: No such file or directory$"

run "$FNGUARD" replay --policy "$T/no-such-policy.json" "$REC"
assert_status "replay with a missing policy file exits 1" 1
assert_one_line_error "missing policy: one error line" "$ERR"
assert_eq "missing policy: nothing replayed" "" "$OUT"

run "$FNGUARD" replay --policy "$DNSPOL"
assert_status "replay without EVENTS is a usage error (2)" 2
assert_one_line_error "replay without EVENTS: one line" "$ERR"

# ---- identity overrides ----

rules_of() {	# JSON-LINES: the distinct rule names, in order
	py '
import json, sys
seen = []
for l in sys.stdin:
    r = json.loads(l)["ruleName"]
    if r not in seen:
        seen.append(r)
print("|".join(seen))'
}
verdict_of_line() {	# N: verdict of line N of the last --json output
	printf '%s\n' "$OUT" | sed -n "${1}p" | py '
import json, sys
print(json.loads(sys.stdin.read())["verdict"])'
}
DEFAULT_RULE="Default - alert on suspicious runtime behavior"

run "$FNGUARD" replay --json --policy "$EXPORT" "$REC"
assert_eq "commercial-export: payments-api in us-east-1 gets payments-prod" \
    "payments-prod" "$(printf '%s\n' "$OUT" | rules_of)"
assert_eq "payments-prod prevents the yahoo.com query" "prevent" \
    "$(verdict_of_line "$yahoo_line")"
run "$FNGUARD" replay --json --policy "$EXPORT" --function orders-api "$REC"
assert_eq "--function orders-api: the default rule applies instead" \
    "$DEFAULT_RULE" "$(printf '%s\n' "$OUT" | rules_of)"
assert_eq "the default rule allows the yahoo.com query" "allow" \
    "$(verdict_of_line "$yahoo_line")"
run "$FNGUARD" replay --json --policy "$EXPORT" --region eu-west-1 "$REC"
assert_eq "--region eu-west-1: payments-prod's label no longer matches" \
    "$DEFAULT_RULE" "$(printf '%s\n' "$OUT" | rules_of)"
run "$FNGUARD" replay --json --policy "$EXPORT" --function payments-batch \
    "$REC"
assert_eq "--function payments-batch: payments-* still matches" \
    "payments-prod" "$(printf '%s\n' "$OUT" | rules_of)"
run "$FNGUARD" replay --policy "$EXPORT" --label nokeyvalue "$REC"
assert_status "--label without KEY:VALUE is a usage error (2)" 2

# ---- --audit FILE ----

run "$FNGUARD" replay --policy "$EXPORT" --audit "$T/audit.jsonl" "$REC"
assert_status "replay --audit FILE exits 0" 0
denied=$(printf '%s\n' "$OUT" | grep -Ec ' (alert|prevent) ')
assert_eq "one audit line per alert or prevent verdict" "$denied" \
    "$(grep -c . "$T/audit.jsonl")"
res=$(py '
import json, re, sys
fields = {"time", "function", "region", "provider", "accountID", "runtime",
          "requestID", "type", "attackType", "effect", "ruleName", "msg",
          "count", "severity", "processPath", "pid", "command", "user",
          "domain", "ip", "port", "filepath"}
must = ["time", "function", "region", "provider", "accountID", "type",
        "attackType", "effect", "ruleName", "msg", "count", "severity"]
types = {"processes", "network", "filesystem"}
attacks = {"explicitlyDeniedProcess", "cryptoMinerProcess",
           "explicitlyDeniedIP", "explicitlyDeniedOutboundPort",
           "explicitlyDeniedListeningPort", "explicitlyDeniedDNS",
           "regFileAccess", "policyHijacked"}
for n, l in enumerate(open(sys.argv[1]), 1):
    o = json.loads(l)
    extra = set(o) - fields
    if extra:
        print("line %d: fields not in SPEC 4: %s" % (n, sorted(extra))); break
    miss = [k for k in must if k not in o]
    if miss:
        print("line %d: missing %s" % (n, miss)); break
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]):
        print("line %d: time %r is not RFC 3339 UTC with ms" % (n, o["time"])); break
    if o["type"] not in types or o["attackType"] not in attacks or \
       o["effect"] not in ("alert", "prevent") or \
       o["severity"] not in ("low", "medium", "high") or \
       not isinstance(o["count"], int) or o["count"] < 1:
        print("line %d: bad value in %r" % (n, o)); break
else:
    print("ok")
' "$T/audit.jsonl" 2>&1)
assert_eq "audit lines: SPEC 4 field names and values" "ok" "$res"
yahoo_audit=$(grep '"domain":"yahoo.com"' "$T/audit.jsonl" | py '
import json, sys
o = json.loads(sys.stdin.readline())
print(o["time"], o["function"], o["region"], o["provider"], o["accountID"],
      o["type"], o["attackType"], o["effect"], o["ruleName"], o["count"],
      o["processPath"], o["pid"], o["user"])
print(o["msg"])')
assert_eq "the yahoo.com audit record" \
    "2026-11-29T06:00:02.150Z payments-api us-east-1 aws 123456789012 network explicitlyDeniedDNS prevent payments-prod 1 /usr/bin/wget 43 sbx_user1051
$YAHOO_MSG" "$yahoo_audit"

# An audit file is itself something replay reads: each record replays to
# the verdict it reports.
run "$FNGUARD" replay --json --policy "$EXPORT" "$T/audit.jsonl"
assert_status "replay of an audit file exits 0" 0
cp "$T/out" "$T/audit-replay.out"
res=$(py '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
b = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
if len(a) != len(b):
    print("%d audit records, %d replayed" % (len(a), len(b))); sys.exit()
for n, (x, y) in enumerate(zip(a, b), 1):
    if (x["effect"], x["attackType"], x["msg"]) != \
       (y["verdict"], y["attackType"], y["msg"]):
        print("record %d: %s/%s/%s replayed as %s/%s/%s" % (n, x["effect"],
              x["attackType"], x["msg"], y["verdict"], y["attackType"],
              y["msg"]))
        sys.exit()
print("ok")
' "$T/audit.jsonl" "$T/audit-replay.out" 2>&1)
assert_eq "each audit record replays to the verdict it reports" "ok" "$res"
run "$FNGUARD" replay --policy "$DNSPOL" "$T/audit.jsonl"
assert_contains "an audit file replayed under another policy" "$OUT" \
    "$YAHOO_MSG"

# SPEC 4: identical records are aggregated into one with a count; the
# counts still add up to every denial.
for i in 1 2 3 4 5; do
	sed -n "${yahoo_line}p" "$REC"
done >"$T/same5.jsonl"
run "$FNGUARD" replay --policy "$DNSPOL" --audit "$T/same5.jsonl.audit" \
    "$T/same5.jsonl"
res=$(py '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(r["count"] for r in recs), len(recs) < 5,
      set(r["msg"] for r in recs) == {sys.argv[2]})
' "$T/same5.jsonl.audit" "$YAHOO_MSG" 2>&1)
assert_eq "5 identical denials: fewer records, counts adding up to 5" \
    "5 True True" "$res"

run "$FNGUARD" replay --policy "$EXPORT" --audit "$T/no-such-dir/a.jsonl" \
    "$REC"
assert_status "--audit to a path that cannot be opened exits 1" 1
assert_one_line_error "--audit unopenable: one line" "$ERR"

finish
