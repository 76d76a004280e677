#!/bin/sh
# fnguard (general usage) and fnguard check: SPEC sections 1, 2 and 3.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/cli/lib.sh"
need_tool python3

# ---- the fnguard command itself ----

run "$FNGUARD" --help
assert_status "fnguard --help exits 0" 0
assert_contains "fnguard --help prints usage" "$OUT" "usage: fnguard"
for c in check replay learn encode; do
	assert_match "fnguard --help lists $c" "$OUT" "^  $c "
done

run "$FNGUARD"
assert_status "fnguard alone exits 2" 2
assert_contains "fnguard alone prints usage on stderr" "$ERR" "usage: fnguard"
assert_eq "fnguard alone prints nothing on stdout" "" "$OUT"

run "$FNGUARD" frobnicate
assert_status "unknown command exits 2" 2
assert_one_line_error "unknown command: one line \"fnguard: ...\"" "$ERR"
assert_contains "unknown command names the command" "$ERR" "frobnicate"

run "$FNGUARD" --version
assert_status "--version exits 0" 0
assert_match "--version prints \"fnguard VERSION\"" "$OUT" \
    '^fnguard [0-9]+\.[0-9]+'

run "$FNGUARD" --bogus-global
assert_status "unknown global option exits 2" 2

for c in check replay learn encode; do
	run "$FNGUARD" "$c" --help
	assert_status "$c --help exits 0" 0
	assert_match "$c --help prints usage" "$OUT" "^usage: fnguard $c"
	run "$FNGUARD" "$c" --no-such-option x
	assert_status "$c --no-such-option exits 2" 2
	assert_one_line_error "$c --no-such-option: one line \"fnguard: ...\"" \
	    "$ERR"
done

# ---- check: valid policies ----

cat >"$T/ok.json" <<'EOF'
{"rules": [{"name": "dns-only", "dns": {"effect": "prevent",
  "whitelist": ["amazon.com", "*.amazon.com"]}}]}
EOF
run "$FNGUARD" check "$T/ok.json"
assert_status "check of a valid policy exits 0" 0
assert_eq "check of a valid policy: one \"valid\" line" \
    "fnguard: check: $T/ok.json: valid: 1 rule, 0 warnings" "$ERR"

for p in amazon-dns lambda-hardened commercial-export; do
	f=$CONF/policies/$p.json
	need_conf "$f" || continue
	run "$FNGUARD" check "$f"
	assert_status "bundled $p.json passes check" 0
	assert_match "bundled $p.json: \"valid\" line" "$ERR" \
	    "^fnguard: check: $f: valid: [0-9]+ rules?, [0-9]+ warnings?$"
	run "$FNGUARD" check --print "$f"
	cp "$T/out" "$T/print1.json"
	assert_status "check --print $p.json exits 0" 0
	if json_valid "$T/print1.json"; then
		ok "check --print $p.json is JSON"
	else
		not_ok "check --print $p.json is JSON"
	fi
	run "$FNGUARD" check --print "$T/print1.json"
	assert_status "check --print of the printed $p.json exits 0" 0
	assert_eq "check --print of $p.json is a fixed point" \
	    "$(cat "$T/print1.json")" "$OUT"
done

# ---- check: errors, every one with its place ----

cat >"$T/errors.json" <<'EOF'
{"rules": [
 {"name": "a", "processes": {"effect": "bogus"},
  "dns": {"effect": "prevent", "whitelist": ["example.com", 42]}},
 {"name": "b", "collections": [{"name": "c", "functions": ["f"]}],
  "network": {"effect": "alert",
   "whitelistOutboundPorts": [{"start": 70000, "end": 70001}]},
  "filesystem": {"whitelist": ["/tmp/*"]}}
]}
EOF
E="fnguard: check: $T/errors.json"
run "$FNGUARD" check "$T/errors.json"
assert_status "check of a policy with errors exits 1" 1
assert_contains "error: bad effect, with its place" "$ERR" \
    "$E: rules[0].processes.effect: unknown effect \"bogus\""
assert_contains "error: number in a domain list, with its place" "$ERR" \
    "$E: rules[0].dns.whitelist[1]: expected a string, got a number"
assert_contains "error: port out of range, with its place" "$ERR" \
    "$E: rules[1].network.whitelistOutboundPorts[0].start: port 70000 out of range"
assert_contains "error: missing effect, with its place" "$ERR" \
    "$E: rules[1].filesystem.effect: missing"
assert_eq "check reports all 4 errors, one line each, then a summary" \
    "5" "$(nlines "$ERR")"
assert_all_lines_fnguard "every error line starts \"fnguard: \"" "$ERR"
assert_match "check summary counts the errors" "$ERR" \
    "^$E: invalid: 4 errors, 0 warnings$"
assert_eq "check of a policy with errors prints nothing on stdout" "" "$OUT"

run "$FNGUARD" check --print "$T/errors.json"
assert_status "check --print of an invalid policy exits 1" 1
assert_eq "check --print of an invalid policy prints no policy" "" "$OUT"

# ---- check: warnings (exit 0) ----

cat >"$T/warn.json" <<'EOF'
{"rules": [
 {"name": "a", "colour": "red",
  "processes": {"effect": "prevent", "whitelist": ["/usr/bin/python3"],
   "blockAllBinaries": true},
  "network": {"effect": "prevent",
   "blacklistIPs": ["10.0.0.0/33", "169.254.169.254"],
   "whitelistOutboundPorts": [{"start": 443, "end": 443},
    {"start": 500, "end": 400}]},
  "dns": {"effect": "prevent", "whitelist": ["*amazon.com"]}},
 {"name": "b", "dns": {"effect": "alert", "blacklist": ["evil.com"]}}
]}
EOF
W="fnguard: check: $T/warn.json: warning:"
run "$FNGUARD" check "$T/warn.json"
assert_status "check of a policy with only warnings exits 0" 0
assert_match "warning: *amazon.com suggests amazon.com and *.amazon.com" \
    "$ERR" "^$W rules\[0\]\.dns\.whitelist\[0\]: .*\"amazon\.com\" and \"\*\.amazon\.com\""
assert_contains "warning: *amazon.com names a look-alike" "$ERR" \
    "evilamazon.com"
assert_match "warning: unknown field, with its place" "$ERR" \
    "^$W rules\[0\]\.colour: unknown field"
assert_match "warning: shadowed rule" "$ERR" \
    "^$W rules\[1\]: rule \"b\" never applies"
assert_match "warning: whitelist together with blockAllBinaries" "$ERR" \
    "^$W rules\[0\]\.processes: whitelist together with blockAllBinaries"
assert_match "warning: bad CIDR" "$ERR" \
    "^$W rules\[0\]\.network\.blacklistIPs\[0\]: \"10\.0\.0\.0/33\" is not an IP"
assert_match "warning: start > end ports" "$ERR" \
    "^$W rules\[0\]\.network\.whitelistOutboundPorts\[1\]: start 500 > end 400"
assert_match "check counts 6 warnings" "$ERR" \
    "^fnguard: check: $T/warn.json: valid: 2 rules, 6 warnings$"
assert_eq "check prints 6 warnings and a summary, one line each" \
    "7" "$(nlines "$ERR")"

run "$FNGUARD" check --print "$T/warn.json"
cp "$T/out" "$T/wprint1.json"
if json_valid "$T/wprint1.json"; then
	ok "check --print output parses as JSON"
else
	not_ok "check --print output parses as JSON"
	show "$OUT"
fi
run "$FNGUARD" check --print "$T/wprint1.json"
assert_status "check of the printed policy exits 0" 0
assert_eq "check --print is a fixed point" "$(cat "$T/wprint1.json")" "$OUT"
assert_eq "the printed policy keeps both rules" "a b" \
    "$(py 'import json,sys
print(" ".join(r["name"] for r in json.load(open(sys.argv[1]))["rules"]))' \
    "$T/wprint1.json")"

# The normalised policy must mean what the original meant: a whitelist
# whose entries are all unusable denies everything (SPEC 2: "A non-empty
# whitelist denies all that it does not match"), printed or not.
cat >"$T/onlybad.json" <<'EOF'
{"rules": [{"name": "r", "network": {"effect": "prevent",
  "whitelistIPs": ["not-an-ip"],
  "whitelistOutboundPorts": [{"start": 500, "end": 400}]}}]}
EOF
echo '{"event":"connect","processPath":"/usr/bin/curl","ip":"1.2.3.4","port":443,"proto":"tcp"}' \
    >"$T/connect.jsonl"
run "$FNGUARD" replay --json --policy "$T/onlybad.json" "$T/connect.jsonl"
v_orig=$(printf '%s\n' "$OUT" | py 'import json,sys
print(json.loads(sys.stdin.readline())["verdict"])')
"$FNGUARD" check --print "$T/onlybad.json" >"$T/onlybad.print.json" 2>/dev/null
run "$FNGUARD" replay --json --policy "$T/onlybad.print.json" "$T/connect.jsonl"
v_print=$(printf '%s\n' "$OUT" | py 'import json,sys
print(json.loads(sys.stdin.readline())["verdict"])')
assert_eq "whitelistIPs of only bad entries denies a connection" \
    "prevent" "$v_orig"
assert_eq "check --print keeps the meaning of such a whitelist" \
    "$v_orig" "$v_print"

# ---- check: inputs that are not a policy ----

run "$FNGUARD" check "$T/no-such-file.json"
assert_status "check of a missing file exits 1" 1
assert_match "missing file: one error line with the reason" "$ERR" \
    "^fnguard: check: $T/no-such-file.json: No such file or directory$"
assert_eq "missing file: the error and the summary only" 2 "$(nlines "$ERR")"
assert_all_lines_fnguard "missing file: lines start \"fnguard: \"" "$ERR"

printf '{"rules": [\n  {"name": "a",\n  }\n]}\n' >"$T/malformed.json"
run "$FNGUARD" check "$T/malformed.json"
assert_status "check of malformed JSON exits 1" 1
assert_match "malformed JSON: one line with line and column" "$ERR" \
    "^fnguard: check: $T/malformed.json: .*line 3 column 3"
assert_eq "malformed JSON: the error and the summary only" 2 \
    "$(nlines "$ERR")"

# Inputs that must not crash: each gets exit 1 and one error line.
{ printf 'x'; head -c 9999999 /dev/urandom; } >"$T/garbage.bin"
head -c 20000000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
printf '{"rules": [{"name": "\377\376"}]}' >"$T/badutf8.json"
py 'import sys; sys.stdout.write("[" * 100000)' >"$T/nested.json"
for f in garbage.bin huge.json badutf8.json nested.json; do
	run "$FNGUARD" check "$T/$f"
	assert_no_crash "check $f: no crash"
	assert_status "check $f exits 1" 1
	assert_eq "check $f: one error line and the summary" 2 \
	    "$(nlines "$ERR")"
	assert_all_lines_fnguard "check $f: lines start \"fnguard: \"" "$ERR"
	assert_match "check $f: summary says invalid" "$ERR" \
	    "^fnguard: check: $T/$f: invalid: 1 error"
done
run "$FNGUARD" check "$T/huge.json"
assert_contains "a 20 MB file is over the limit" "$ERR" "limit"

# A gzip-compressed policy file is read; a gzip bomb is refused.
gzip -c "$T/ok.json" >"$T/ok.json.gz"
run "$FNGUARD" check "$T/ok.json.gz"
assert_status "check of a gzip-compressed policy exits 0" 0
head -c 40000000 /dev/zero | gzip -c >"$T/bomb.gz"
run "$FNGUARD" check "$T/bomb.gz"
assert_no_crash "check of a gzip bomb (40 MB of zeros): no crash"
assert_status "check of a gzip bomb exits 1" 1
assert_eq "gzip bomb: one error line and the summary" 2 "$(nlines "$ERR")"

run "$FNGUARD" check "$T/ok.json" "$T/ok.json"
assert_status "check of two files is a usage error (exit 2)" 2

# ---- check: TW_POLICY when no FILE is given ----

tw=$("$FNGUARD" encode "$T/ok.json" 2>/dev/null)
run env TW_POLICY="$tw" "$FNGUARD" check
assert_status "check with no FILE checks TW_POLICY (exit 0)" 0
assert_eq "check with no FILE names TW_POLICY" \
    "fnguard: check: TW_POLICY: valid: 1 rule, 0 warnings" "$ERR"

tw_bad=$(printf '{"rules": [{"name": 7}]}' | base64 | tr -d '\n')
run env TW_POLICY="$tw_bad" "$FNGUARD" check
assert_status "check of an invalid TW_POLICY exits 1" 1
assert_contains "invalid TW_POLICY: the place of the error" "$ERR" \
    "fnguard: check: TW_POLICY: rules[0].name: expected a string, got a number"

run env TW_POLICY="$tw" "$FNGUARD" check "$T/errors.json"
assert_status "check FILE wins over TW_POLICY" 1

finish
