#!/bin/sh
# fnguard encode: TW_POLICY values, their size, signing keys and signatures
# (SPEC sections 1 and 3), and what the other commands make of them.
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/cli/lib.sh"
need_tool python3

POL=$CONF/policies/lambda-hardened.json
REC=$CONF/examples/recording.jsonl
need_conf "$POL" "$REC" || finish

HIJACK_MSG="Possible tampering of Defender policy detected."

# decode VALUE-FILE: the JSON inside a TW_POLICY value (base64, then gunzip
# when the bytes start 1f 8b), on stdout.
decode() {
	py '
import base64, gzip, sys
raw = base64.b64decode(open(sys.argv[1]).read().strip(), validate=True)
if raw[:2] == b"\x1f\x8b":
    raw = gzip.decompress(raw)
sys.stdout.write(raw.decode())
' "$1"
}

# ---- the value ----

run "$FNGUARD" encode --console https://console.example:8443 \
    --interval 60000 "$POL"
assert_status "encode exits 0" 0
printf '%s\n' "$OUT" >"$T/value.txt"
assert_eq "encode prints one line (the value)" 1 "$(nlines "$OUT")"
if printf '%s' "$OUT" | grep -Eq '^[A-Za-z0-9+/]+=*$'; then
	ok "the value is base64"
else
	not_ok "the value is base64"
	show "$OUT"
fi
if decode "$T/value.txt" >"$T/value.json" 2>"$T/decode.err"; then
	ok "the value decodes (base64, then gunzip if gzip)"
else
	not_ok "the value decodes (base64, then gunzip if gzip)"
	show "$(cat "$T/decode.err")"
fi
res=$(py '
import json, sys
w = json.load(open(sys.argv[1]))
p = json.load(open(sys.argv[2]))
print(json.dumps(w.get("policy")) == json.dumps(p),
      w.get("consoleAddr"), w.get("updateIntervalMs"))
' "$T/value.json" "$POL" 2>&1)
assert_eq "decoded: the policy under \"policy\", --console, --interval" \
    "True https://console.example:8443 60000" "$res"
assert_match "the size report on stderr mentions Lambda's 4096 bytes" \
    "$ERR" '^fnguard: encode: .*4096'
assert_match "the size report gives the value's size" "$ERR" \
    "^fnguard: encode: TW_POLICY is $(printf '%s' "$OUT" | wc -c | tr -d ' ') bytes"

run "$FNGUARD" encode --no-gzip "$POL"
assert_status "encode --no-gzip exits 0" 0
printf '%s\n' "$OUT" >"$T/plain.txt"
assert_eq "--no-gzip: the base64 holds JSON text directly" "{" \
    "$(printf '%s' "$OUT" | base64 -d 2>/dev/null | head -c 1)"
res=$(decode "$T/plain.txt" | py '
import json, sys
print(sorted(json.load(sys.stdin)))' 2>&1)
assert_eq "--no-gzip without --console/--interval: only \"policy\"" \
    "['policy']" "$res"

# Every form is accepted back as TW_POLICY.
for v in value plain; do
	run env TW_POLICY="$(cat "$T/$v.txt")" "$FNGUARD" check
	assert_status "check accepts the value ($v.txt) from TW_POLICY" 0
done
run env TW_POLICY="$(cat "$T/value.txt")" "$FNGUARD" replay --json "$REC"
assert_contains "replay under TW_POLICY applies its rule" "$OUT" \
    '"ruleName":"lambda-hardened"'

# A file that already is a wrapper keeps its fields.
py '
import json, sys
json.dump({"policy": json.load(open(sys.argv[1])),
           "consoleAddr": "https://keep.example"}, open(sys.argv[2], "w"))
' "$POL" "$T/wrapper.json"
"$FNGUARD" encode "$T/wrapper.json" >"$T/w.txt" 2>/dev/null
assert_eq "encode of a wrapper keeps its consoleAddr" "https://keep.example" \
    "$(decode "$T/w.txt" | py 'import json, sys
print(json.load(sys.stdin).get("consoleAddr"))' 2>&1)"

# ---- bad input ----

run "$FNGUARD" encode --interval 10 "$POL"
assert_status "--interval below 1000 ms is a usage error (2)" 2
assert_one_line_error "--interval 10: one line" "$ERR"
run "$FNGUARD" encode --interval soon "$POL"
assert_status "--interval soon is a usage error (2)" 2
run "$FNGUARD" encode
assert_status "encode without FILE is a usage error (2)" 2
assert_one_line_error "encode without FILE: one line" "$ERR"
run "$FNGUARD" encode "$T/no-such.json"
assert_status "encode of a missing file exits 1" 1
assert_eq "encode of a missing file prints no value" "" "$OUT"
assert_all_lines_fnguard "encode of a missing file: \"fnguard: \" lines" "$ERR"
echo '{"rules": [{"name": 1}]}' >"$T/invalid.json"
run "$FNGUARD" encode "$T/invalid.json"
assert_status "encode of an invalid policy exits 1" 1
assert_eq "encode of an invalid policy prints no value" "" "$OUT"
assert_contains "encode of an invalid policy names the place" "$ERR" \
    "rules[0].name: expected a string, got a number"

# ---- too big for Lambda ----

py '
import json, random, string, sys
rnd = random.Random(4096)
names = ["".join(rnd.choice(string.ascii_lowercase) for _ in range(14)) +
         ".example" for _ in range(2000)]
json.dump({"rules": [{"name": "big", "dns": {"effect": "prevent",
           "blacklist": names}}]}, open(sys.argv[1], "w"))
' "$T/big.json"
run "$FNGUARD" check "$T/big.json"
assert_status "the big policy itself is valid" 0
run "$FNGUARD" encode "$T/big.json"
assert_status "a policy over Lambda's 4 KB exits 1" 1
assert_eq "over the limit: one error line after the size report" 1 \
    "$(printf '%s\n' "$ERR" | grep -v 'TW_POLICY is ' | grep -c .)"
assert_match "over the limit: the error says too large and 4096" "$ERR" \
    "^fnguard: encode: $T/big.json: .*too large.*4096"

# ---- keys ----

mkdir "$T/keys" "$T/other"
run "$FNGUARD" encode --genkey "$T/keys"
assert_status "--genkey DIR exits 0" 0
assert_match "--genkey prints TW_POLICY_PUBKEY=..." "$OUT" \
    '^TW_POLICY_PUBKEY=[A-Za-z0-9+/]{43}=$'
PUB=$(printf '%s\n' "$OUT" | sed -n 's/^TW_POLICY_PUBKEY=//p')
if [ -f "$T/keys/fnguard-policy.key" ] && [ -f "$T/keys/fnguard-policy.pub" ]
then
	ok "--genkey writes fnguard-policy.key and fnguard-policy.pub"
else
	not_ok "--genkey writes fnguard-policy.key and fnguard-policy.pub"
	ls -l "$T/keys" | sed 's/^/#   /'
fi
mode=$(ls -l "$T/keys/fnguard-policy.key" | cut -c1-10)
assert_eq "the private key is mode 600" "-rw-------" "$mode"
assert_contains "the .pub file is a PEM public key" \
    "$(cat "$T/keys/fnguard-policy.pub")" "BEGIN PUBLIC KEY"
key_before=$(cat "$T/keys/fnguard-policy.key")
run "$FNGUARD" encode --genkey "$T/keys"
assert_status "--genkey again refuses to overwrite (exit 1)" 1
assert_one_line_error "--genkey again: one line" "$ERR"
assert_eq "--genkey again leaves the key alone" "$key_before" \
    "$(cat "$T/keys/fnguard-policy.key")"
run "$FNGUARD" encode --genkey "$T/no-such-dir"
assert_status "--genkey into a missing directory exits 1" 1
assert_one_line_error "--genkey missing directory: one line" "$ERR"
run "$FNGUARD" encode --genkey "$T/keys" "$POL"
assert_status "--genkey with a FILE is a usage error (2)" 2
"$FNGUARD" encode --genkey "$T/other" >/dev/null 2>&1

# ---- signed values ----

run "$FNGUARD" encode --sign "$T/keys/fnguard-policy.key" "$POL"
assert_status "encode --sign exits 0" 0
printf '%s\n' "$OUT" >"$T/signed.txt"
assert_contains "the size report says signed" "$ERR" "signed"
res=$(decode "$T/signed.txt" | py 'import json, sys
print(sorted(json.load(sys.stdin)))' 2>&1)
assert_eq "a signed value holds {payload, sig}" "['payload', 'sig']" "$res"

run env TW_POLICY="$(cat "$T/signed.txt")" TW_POLICY_PUBKEY="$PUB" \
    "$FNGUARD" check
assert_status "check accepts the signed value with its public key" 0
assert_eq "signed value: valid, no warning" \
    "fnguard: check: TW_POLICY: valid: 1 rule, 0 warnings" "$ERR"
run env TW_POLICY="$(cat "$T/signed.txt")" "$FNGUARD" check \
    --policy-pubkey "$T/keys/fnguard-policy.pub"
assert_status "check --policy-pubkey PEM-FILE accepts it too" 0
run env TW_POLICY="$(cat "$T/signed.txt")" TW_POLICY_PUBKEY="$PUB" \
    "$FNGUARD" replay --fail-on prevent "$REC"
assert_status "replay runs under the verified signed policy" 1
assert_contains "replay under the signed policy applies it" "$OUT" \
    "lambda-hardened"

# libcrypto is opened when a key is parsed (dlopen): one that cannot be
# used refuses the key and stops fnguard; it never skips the check. A
# stand-in libcrypto.so.3 without OpenSSL's functions, found first through
# LD_LIBRARY_PATH, stands for a broken or missing one.
mkdir -p "$T/fakecrypto"
printf 'int fnguard_not_openssl;\n' >"$T/fakecrypto/fake.c"
if ${CC:-cc} -shared -fPIC -o "$T/fakecrypto/libcrypto.so.3" \
    "$T/fakecrypto/fake.c" 2>"$T/fakecrypto/cc.err"; then
	run env LD_LIBRARY_PATH="$T/fakecrypto" \
	    TW_POLICY="$(cat "$T/signed.txt")" TW_POLICY_PUBKEY="$PUB" \
	    "$FNGUARD" check
	assert_status "no usable libcrypto: check refuses the key (exit 1)" 1
	assert_match "no usable libcrypto: the error names it" "$ERR" \
	    '^fnguard: check: TW_POLICY_PUBKEY: libcrypto.so.3: no [A-Za-z_]*$'
	run env LD_LIBRARY_PATH="$T/fakecrypto" TW_POLICY="$(cat \
	    "$T/signed.txt")" "$FNGUARD" check
	assert_status "no usable libcrypto, no key: check still works" 0
else
	not_ok "cc builds the stand-in libcrypto"
	show "$(cat "$T/fakecrypto/cc.err")"
fi
# One that cannot be loaded at all: it needs a library that is gone.
mkdir -p "$T/unloadable"
if ${CC:-cc} -shared -fPIC -o "$T/unloadable/libfnguardgone.so" \
    "$T/fakecrypto/fake.c" 2>"$T/unloadable/cc.err" &&
    ${CC:-cc} -shared -fPIC -o "$T/unloadable/libcrypto.so.3" \
    "$T/fakecrypto/fake.c" -L"$T/unloadable" -Wl,--no-as-needed \
    -lfnguardgone 2>>"$T/unloadable/cc.err"; then
	rm "$T/unloadable/libfnguardgone.so"
	run env LD_LIBRARY_PATH="$T/unloadable" \
	    TW_POLICY="$(cat "$T/signed.txt")" TW_POLICY_PUBKEY="$PUB" \
	    "$FNGUARD" check
	assert_status "libcrypto that cannot load: check refuses the key \
(exit 1)" 1
	assert_match "libcrypto that cannot load: dlopen's reason given" \
	    "$ERR" "^fnguard: check: TW_POLICY_PUBKEY: cannot load \
libcrypto.so.3: .*libfnguardgone.so"
else
	not_ok "cc builds the unloadable libcrypto"
	show "$(cat "$T/unloadable/cc.err")"
fi

run "$FNGUARD" encode --no-gzip --sign "$T/keys/fnguard-policy.key" "$POL"
printf '%s\n' "$OUT" >"$T/signed-plain.txt"
run env TW_POLICY="$(cat "$T/signed-plain.txt")" TW_POLICY_PUBKEY="$PUB" \
    "$FNGUARD" check
assert_status "a --no-gzip signed value verifies too" 0

# Tampered: one character of the base64 payload changed.
py '
import base64, gzip, json, sys
raw = base64.b64decode(open(sys.argv[1]).read().strip())
if raw[:2] == b"\x1f\x8b":
    raw = gzip.decompress(raw)
doc = json.loads(raw)
p = doc["payload"]
i = len(p) // 2
doc["payload"] = p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:]
sys.stdout.write(base64.b64encode(json.dumps(doc).encode()).decode())
' "$T/signed.txt" >"$T/tampered.txt"
assert_ne "the tampered value differs" "$(cat "$T/signed.txt")" \
    "$(cat "$T/tampered.txt")"

"$FNGUARD" encode --sign "$T/other/fnguard-policy.key" "$POL" \
    >"$T/otherkey.txt" 2>/dev/null
"$FNGUARD" encode "$POL" >"$T/unsigned.txt" 2>/dev/null

for v in tampered otherkey unsigned; do
	val=$(cat "$T/$v.txt")
	run env TW_POLICY="$val" TW_POLICY_PUBKEY="$PUB" "$FNGUARD" check
	assert_status "check refuses the $v value (exit 1)" 1
	assert_match "check of the $v value: invalid" "$ERR" \
	    '^fnguard: check: TW_POLICY: invalid: '

	rm -f "$T/hijack.jsonl"
	run env TW_POLICY="$val" TW_POLICY_PUBKEY="$PUB" "$FNGUARD" replay \
	    --audit "$T/hijack.jsonl" "$REC"
	assert_status "replay refuses the $v value (exit 1)" 1
	assert_eq "replay evaluates nothing under the $v value" "" "$OUT"
	res=$(py '
import json, sys
try:
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
except Exception as e:
    print("no audit file: %s" % e); sys.exit()
print(len(recs), " ".join("%s|%s|%s" % (r.get("attackType"),
      r.get("effect"), r.get("msg")) for r in recs))
' "$T/hijack.jsonl" 2>&1)
	assert_eq "the $v value is audited as policyHijacked (--audit FILE)" \
	    "1 policyHijacked|prevent|$HIJACK_MSG" "$res"

	run env TW_POLICY="$val" TW_POLICY_PUBKEY="$PUB" "$FNGUARD" replay \
	    "$REC"
	assert_status "replay refuses the $v value without --audit (1)" 1
	assert_match "without --audit the policyHijacked record is on stderr" \
	    "$ERR" "^\{.*\"attackType\":\"policyHijacked\".*\"msg\":\"$HIJACK_MSG\""
	assert_eq "stderr: one error line and the audit line" 2 \
	    "$(nlines "$ERR")"
done

# "unsigned or badly signed policies, from any source, are refused":
# a --policy FILE too.
rm -f "$T/hijack.jsonl"
run env TW_POLICY_PUBKEY="$PUB" "$FNGUARD" replay --policy "$POL" \
    --audit "$T/hijack.jsonl" "$REC"
assert_status "an unsigned --policy FILE with a key configured: exit 1" 1
assert_contains "the unsigned --policy FILE is audited as policyHijacked" \
    "$(cat "$T/hijack.jsonl" 2>/dev/null)" '"attackType":"policyHijacked"'

run env TW_POLICY="$(cat "$T/signed.txt")" TW_POLICY_PUBKEY="not a key" \
    "$FNGUARD" check
assert_status "a TW_POLICY_PUBKEY that does not parse: exit 1" 1
assert_one_line_error "bad TW_POLICY_PUBKEY: one line" "$ERR"

# ---- broken values ----

run env TW_POLICY='not base64!!' "$FNGUARD" replay "$REC"
assert_status "invalid base64 in TW_POLICY: exit 1" 1
assert_one_line_error "invalid base64: one line" "$ERR"
assert_contains "invalid base64: says base64" "$ERR" "base64"
assert_eq "invalid base64: nothing replayed" "" "$OUT"
run env TW_POLICY='not base64!!' "$FNGUARD" check
assert_status "check of invalid base64 in TW_POLICY: exit 1" 1
assert_eq "check of invalid base64: the error and the summary" 2 \
    "$(nlines "$ERR")"

trunc=$(py '
import base64, sys
raw = base64.b64decode(open(sys.argv[1]).read().strip())
assert raw[:2] == b"\x1f\x8b"
sys.stdout.write(base64.b64encode(raw[:len(raw) // 2]).decode())
' "$T/value.txt")
run env TW_POLICY="$trunc" "$FNGUARD" replay "$REC"
assert_status "truncated gzip in TW_POLICY: exit 1" 1
assert_no_crash "truncated gzip: no crash"
assert_one_line_error "truncated gzip: one line" "$ERR"
assert_contains "truncated gzip: says gzip" "$ERR" "gzip"
run env TW_POLICY="$trunc" "$FNGUARD" check
assert_status "check of truncated gzip in TW_POLICY: exit 1" 1

bomb=$(head -c 40000000 /dev/zero | gzip -c | base64 | tr -d '\n')
run env TW_POLICY="$bomb" "$FNGUARD" replay "$REC"
assert_no_crash "gzip bomb in TW_POLICY: no crash"
assert_status "gzip bomb in TW_POLICY: exit 1" 1
assert_one_line_error "gzip bomb in TW_POLICY: one line" "$ERR"

notjson=$(printf 'hello, world' | base64)
run env TW_POLICY="$notjson" "$FNGUARD" replay "$REC"
assert_status "TW_POLICY of base64 non-JSON: exit 1" 1
assert_one_line_error "TW_POLICY of base64 non-JSON: one line" "$ERR"

finish
