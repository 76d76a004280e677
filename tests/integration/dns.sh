#!/bin/bash
# fnguard daemon, the enforcing resolver (issue 3, SPEC 5), with real
# clients and a real upstream, all inside a network namespace of its own:
#
#   nsd            127.0.0.53:5300, authoritative for "com" (the test zone)
#   http.server    192.0.2.10:8080 (s3.amazon.com), 192.0.2.99:8080 (yahoo)
#   fnguard daemon 127.0.0.1:53 and [::1]:53, upstream nsd, seed policy
#                  conf/policies/amazon-dns.json (prevent, *amazon.com)
#
# /etc/netns/NS/resolv.conf names 127.0.0.1, so getent, python, wget and
# curl run with "ip netns exec" resolve through fnguard. Nothing leaves the
# namespace. Needs root, nsd, dig, wget, curl, python3, ip, ss; exits 77
# without them.

. "$(dirname "$0")/lib.sh"

need_root
for _t in ip ss nsd dig wget curl getent; do
	need_tool "$_t"
done
use_python

SEED=$CONF/policies/amazon-dns.json
[ -f "$SEED" ] || { not_ok "seed policy $SEED exists"; finish; }

mktmp
ns_create fng
ns_addr 192.0.2.10/32
ns_addr 192.0.2.99/32
HAVE_V6=0
if ip -n "$NS" -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	HAVE_V6=1
fi

# ---- the test zone ----

TXT1=$(printf 'a%.0s' $(seq 200))
TXT2=$(printf 'b%.0s' $(seq 200))
TXT3=$(printf 'c%.0s' $(seq 200))
{
	echo '$ORIGIN .'
	echo '$TTL 300'
	echo 'com. IN SOA ns.com. admin.com. 1 3600 600 86400 60'
	echo 'com. IN NS ns.com.'
	echo 'ns.com. IN A 127.0.0.53'
	echo 's3.amazon.com. IN A 192.0.2.10'
	echo 'www.amazon.com. IN A 192.0.2.11'
	echo 'www.amazon.com. IN AAAA 2001:db8::11'
	echo 'yahoo.com. IN A 192.0.2.99'
	echo 'evilamazon.com. IN A 192.0.2.66'
	echo 'alias.amazon.com. IN CNAME alias2.amazon.com.'
	echo 'alias2.amazon.com. IN CNAME www.amazon.com.'
	echo 'late.amazon.com. IN A 192.0.2.12'
	for _i in $(seq 40); do
		echo "many.amazon.com. 60 IN A 198.51.100.$_i"
	done
	echo "big.amazon.com. IN TXT \"$TXT1\" \"$TXT2\" \"$TXT3\""
	# An answer of about 1,060 bytes: 64 of them are more than one
	# UDP_SEGMENT message can carry (64 KiB).
	echo "wide.amazon.com. IN TXT \"$TXT1\" \"$TXT2\" \"$TXT3\"" \
	    "\"$TXT1\" \"$TXT2\""
	# Over the 1232 bytes fnguard offers upstream: nsd answers TC over
	# UDP, so the answer only arrives through c-ares's TCP fallback.
	printf 'huge.amazon.com. IN TXT'
	for _i in $(seq 12); do
		printf ' "%s"' "$TXT1"
	done
	echo
} >"$T/zone"
nsd_conf

mkdir "$T/www1" "$T/www2"
S3_INDEX="s3 index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
YAHOO_INDEX="yahoo index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$S3_INDEX" >"$T/www1/index.html"
echo "$YAHOO_INDEX" >"$T/www2/index.html"

# ---- helpers ----

DAEMON_LOG=$T/daemon.log
AUDIT=$T/audit.jsonl
RECORD=$T/record.jsonl
POLICY=$T/policy.json


# dq SERVER ARGS...: dig against SERVER inside the namespace; sets DIG (the
# whole output), DIG_STATUS, DIG_FLAGS, DIG_AN (answer count), DIG_SIZE,
# DIG_QUESTION, DIG_ANSWER and DIG_AUTH (the sections' records).
dq() {
	_srv=$1
	shift
	run_ns 10 dig +time=2 +tries=1 "@$_srv" "$@"
	DIG=$OUT
	DIG_STATUS=$(printf '%s\n' "$OUT" |
	    sed -n 's/.*opcode: [A-Z]*, status: \([A-Z]*\),.*/\1/p' | head -n 1)
	DIG_FLAGS=$(printf '%s\n' "$OUT" |
	    sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' | head -n 1)
	DIG_AN=$(printf '%s\n' "$OUT" |
	    sed -n 's/.*, ANSWER: \([0-9]*\),.*/\1/p' | head -n 1)
	DIG_SIZE=$(printf '%s\n' "$OUT" |
	    sed -n 's/^;; MSG SIZE  rcvd: \([0-9]*\).*/\1/p' | head -n 1)
	DIG_ANSWER=$(_section ANSWER)
	DIG_AUTH=$(_section AUTHORITY)
	DIG_QUESTION=$(_section QUESTION)
}

_section() {
	printf '%s\n' "$DIG" | awk -v s=";; $1 SECTION:" '
	    $0 == s { on = 1; next }
	    on && /^$/ { on = 0 }
	    on { print }'
}

has_flag() {	# FLAG (in $DIG_FLAGS)
	case " $DIG_FLAGS " in
	*" $1 "*) return 0 ;;
	*) return 1 ;;
	esac
}

# The TTL of the first answer record.
first_ttl() {
	printf '%s\n' "$DIG_ANSWER" | awk 'NR == 1 { print $2 }'
}

# jl FILE EXPR: a Python expression over recs (the JSON lines of FILE
# that parse as objects), printed.
jl() {
	nsx "$PY" "$TOP_SRCDIR/tests/integration/aq.py" "$1" eval "$2"
}

# wait_jl SECONDS FILE EXPR: until EXPR prints True.
wait_jl() {
	wait_for "$1" _jl_true "$2" "$3"
}

_jl_true() {
	[ "$(jl "$1" "$2")" = True ]
}

log_count() {	# EXTENDED-REGEX: lines of the daemon's stderr that match
	grep -Ec -- "$1" "$DAEMON_LOG"
}

_log_above() {	# REGEX N
	[ "$(log_count "$1")" -gt "$2" ]
}

# wait_log SECONDS REGEX BEFORE: until more than BEFORE lines match.
wait_log() {
	wait_for "$1" _log_above "$2" "$3"
}

# write_policy DENIED-RESPONSE WHITELIST-JSON: the seed policy with the dns
# section changed, renamed into place (one atomic change for the watcher).
write_policy() {
	"$PY" - "$SEED" "$POLICY.new" "$1" "$2" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
dns = p["rules"][0]["dns"]
if sys.argv[3]:
    dns["deniedResponse"] = sys.argv[3]
dns["whitelist"] = json.loads(sys.argv[4])
json.dump(p, open(sys.argv[2], "w"), indent=2)
EOF
	mv "$POLICY.new" "$POLICY"
}

write_raw_policy() {	# TEXT
	printf '%s\n' "$1" >"$POLICY.new"
	mv "$POLICY.new" "$POLICY"
}

# reload_hup: SIGHUP to the daemon, wait for its "reloaded (SIGHUP)" line;
# then for the watcher's "file changed" line (the file was renamed), so
# that the next test starts from a quiet daemon.
reload_hup() {
	_h=$(log_count 'reloaded \(SIGHUP\)')
	kill -HUP "$DAEMON_PID"
	wait_log 3 'reloaded \(SIGHUP\)' "$_h" || return 1
	wait_log 3 'reloaded \(file changed\)' "$FC_BEFORE"
}

daemon_answers() {
	dq 127.0.0.1 s3.amazon.com A
	[ "$DIG_STATUS" = NOERROR ] &&
	    printf '%s\n' "$DIG_ANSWER" | grep -q '192\.0\.2\.10$'
}

# ---- the Python side of the raw-socket tests ----

cat >"$T/dnst.py" <<'EOF'
import errno, os, random, resource, socket, struct, subprocess
import sys, time
sys.path.insert(0, os.path.join(os.environ["TOP_SRCDIR"], "tests",
                                "integration"))
from nettest import await_connected  # noqa: E402

V4 = (os.environ.get("DNST_V4", "127.0.0.1"), 53)
V6 = ("::1", 53)
results = []


def report(ok, desc, detail=""):
    print(("ok - " if ok else "not ok - ") + desc, flush=True)
    if not ok and detail:
        print("#   " + str(detail), flush=True)


def wire(name):
    out = b""
    for l in name.split("."):
        if l:
            out += bytes([len(l)]) + l.encode()
    return out + b"\0"


def wire_labels(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def msg(qname, qtype=1, qid=None, flags=0x0100, qd=1, tail=b""):
    if qid is None:
        qid = random.randrange(65536)
    hdr = struct.pack(">HHHHHH", qid, flags, qd, 0, 0, 0)
    return hdr + qname + struct.pack(">HH", qtype, 1) + tail, qid


def hdr(r):
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", r[:12])
    return {"id": qid, "qr": flags >> 15, "tc": (flags >> 9) & 1,
            "opcode": (flags >> 11) & 15, "rcode": flags & 15,
            "qd": qd, "an": an, "ns": ns, "ar": ar}


def udp(m, timeout=1.0, server=V4):
    fam = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(m, server)
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def tcp_read(s):
    p = recv_exact(s, 2)
    if p is None:
        return None
    return recv_exact(s, struct.unpack(">H", p)[0])


def tcp1(m, timeout=2.0, server=V4):
    fam = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(server)
        s.sendall(struct.pack(">H", len(m)) + m)
        return tcp_read(s)
    except (socket.timeout, OSError):
        return None
    finally:
        s.close()


def alive():
    m, qid = msg(wire("s3.amazon.com"))
    r = udp(m, 2.0)
    return r is not None and hdr(r)["id"] == qid and \
        hdr(r)["rcode"] == 0 and hdr(r)["an"] >= 1


def expect_rcode(desc, m, qid, rcode, timeout=1.0):
    r = udp(m, timeout)
    if r is None:
        report(False, desc, "no answer")
        return None
    h = hdr(r)
    report(h["id"] == qid and h["qr"] == 1 and h["rcode"] == rcode, desc, h)
    return h


def expect_silence(desc, m, timeout=0.5):
    r = udp(m, timeout)
    report(r is None, desc, None if r is None else hdr(r) if len(r) >= 12
           else r)


def bad():
    random.seed(3)
    # Truncated header: dropped.
    expect_silence("5-byte datagram: no answer", b"\x12\x34\x01\x00\x00")
    report(alive(), "daemon answers after a 5-byte datagram")
    expect_silence("empty datagram: no answer", b"")
    # QDCOUNT 0 and 2.
    m = struct.pack(">HHHHHH", 0xbeef, 0x0100, 0, 0, 0, 0)
    expect_rcode("QDCOUNT 0: FORMERR with the same id", m, 0xbeef, 1)
    q = wire("s3.amazon.com") + struct.pack(">HH", 1, 1)
    m = struct.pack(">HHHHHH", 0xbee2, 0x0100, 2, 0, 0, 0) + q + \
        wire("yahoo.com") + struct.pack(">HH", 1, 1)
    expect_rcode("QDCOUNT 2: FORMERR with the same id", m, 0xbee2, 1)
    m = struct.pack(">HHHHHH", 0xbee3, 0x0100, 2, 0, 0, 0) + q
    expect_rcode("QDCOUNT 2 with one question present: FORMERR", m,
                 0xbee3, 1)
    # A response is never answered.
    m, _ = msg(wire("s3.amazon.com"), flags=0x8180)
    expect_silence("a response (QR=1): no answer", m)
    # Opcode STATUS: NOTIMP.
    m, qid = msg(wire("s3.amazon.com"), flags=(2 << 11) | 0x0100)
    expect_rcode("opcode STATUS: NOTIMP with the same id", m, qid, 4)
    # Compression pointers in the question.
    m, qid = msg(b"\xc0\x0c")
    expect_rcode("question name pointing at itself: FORMERR", m, qid, 1)
    m, qid = msg(b"\x01a\xc0\x0c")
    expect_rcode("compression loop through a label: FORMERR", m, qid, 1)
    m, qid = msg(b"\x02s3\xc0\x16", tail=wire("amazon.com"))
    expect_rcode("forward pointer in the question: FORMERR", m, qid, 1)
    m, qid = msg(b"\xc0\x05")
    expect_rcode("pointer into the header: FORMERR", m, qid, 1)
    m, qid = msg(b"\x02s3\xcf\xff")
    expect_rcode("pointer past the end: FORMERR", m, qid, 1)
    # Labels and names at and over the limits.
    m, qid = msg(wire_labels([b"a" * 64, b"amazon", b"com"]))
    expect_rcode("label of 64 bytes: FORMERR", m, qid, 1)
    m, qid = msg(wire_labels([b"a" * 63, b"amazon", b"com"]))
    expect_rcode("label of 63 bytes: forwarded, upstream NXDOMAIN", m, qid,
                 3, 3.0)
    long = [b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 50, b"amazon", b"com"]
    m, qid = msg(wire_labels(long))
    expect_rcode("name of 255 bytes: forwarded, upstream NXDOMAIN", m, qid,
                 3, 3.0)
    long[3] = b"d" * 51
    m, qid = msg(wire_labels(long))
    expect_rcode("name of 256 bytes: FORMERR", m, qid, 1)
    # Lengths that point past the end: FORMERR or a drop, never a crash.
    for desc, body in (("label running past the end", b"\x0aab"),
                       ("question without type and class",
                        wire("s3.amazon.com")),
                       ("question with half a type", wire("s3.amazon.com")
                        + b"\x00")):
        m = struct.pack(">HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0) + body
        r = udp(m, 0.5)
        report(r is None or (hdr(r)["id"] == 0x5151 and
                             hdr(r)["rcode"] == 1),
               desc + ": FORMERR or no answer",
               None if r is None else hdr(r))
    report(alive(), "daemon answers after malformed questions")
    # Every type of a denied name is denied.
    for t, tn in ((1, "A"), (28, "AAAA"), (16, "TXT"), (255, "ANY"),
                  (10, "NULL"), (65, "HTTPS")):
        m, qid = msg(wire("yahoo.com"), qtype=t)
        expect_rcode("yahoo.com %s: NXDOMAIN" % tn, m, qid, 3)
    m, qid = msg(wire("YaHoO.CoM"))
    expect_rcode("YaHoO.CoM (mixed case): NXDOMAIN", m, qid, 3)
    # Names are taken from the labels: a dot or a NUL inside a label does
    # not make an allowed name. Forwarded, the first would be REFUSED by
    # nsd (not its zone), so NXDOMAIN here means fnguard denied it.
    m, qid = msg(wire_labels([b"s3.amazon.com"]))
    expect_rcode("one label \"s3.amazon.com\": denied (NXDOMAIN)", m, qid, 3)
    m, qid = msg(wire_labels([b"s3", b"amazon", b"com\0", b"yahoo", b"com"]))
    expect_rcode("labels s3.amazon.com\\000.yahoo.com: NXDOMAIN", m, qid, 3)
    # Oversized datagrams.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(bytes(random.randrange(256) for _ in range(65000)), V4)
    m, _ = msg(wire("s3.amazon.com"))
    s.sendto(m + bytes(random.randrange(256) for _ in range(65000 - len(m))),
             V4)
    s.close()
    time.sleep(0.2)
    report(alive(), "daemon answers after two 65,000-byte datagrams")


def tcp_tests():
    # Pipelined queries on one connection: both answered, ids kept.
    m1, id1 = msg(wire("s3.amazon.com"))
    m2, id2 = msg(wire("yahoo.com"))
    s = socket.create_connection(V4, timeout=2)
    s.sendall(struct.pack(">H", len(m1)) + m1 + struct.pack(">H", len(m2))
              + m2)
    got = {}
    try:
        for _ in range(2):
            r = tcp_read(s)
            if r is not None:
                got[hdr(r)["id"]] = hdr(r)["rcode"]
    except socket.timeout:
        pass
    s.close()
    report(got == {id1: 0, id2: 3},
           "TCP: two pipelined queries, both answered (NOERROR, NXDOMAIN)",
           got)
    # A length prefix split across reads.
    m, qid = msg(wire("s3.amazon.com"))
    s = socket.create_connection(V4, timeout=2)
    pre = struct.pack(">H", len(m))
    s.sendall(pre[:1])
    time.sleep(0.2)
    s.sendall(pre[1:] + m[:5])
    time.sleep(0.2)
    s.sendall(m[5:])
    try:
        r = tcp_read(s)
    except socket.timeout:
        r = None
    s.close()
    report(r is not None and hdr(r)["id"] == qid and hdr(r)["rcode"] == 0,
           "TCP: length prefix and message split across reads")
    # A message shorter than a header: the connection is closed.
    s = socket.create_connection(V4, timeout=2)
    s.sendall(b"\x00\x05hello")
    try:
        r = s.recv(10)
    except ConnectionResetError:
        r = b""
    except socket.timeout:
        r = b"timeout"
    s.close()
    report(r == b"", "TCP: a 5-byte message closes the connection", r)
    # A length that points past what is sent, then the client leaves.
    s = socket.create_connection(V4, timeout=2)
    s.sendall(b"\x01\x00" + m)
    s.close()
    report(alive(), "daemon answers after a TCP length past the data")
    # One byte, then a stall: other clients are served meanwhile.
    stall = socket.create_connection(V4, timeout=2)
    stall.sendall(b"\x00")
    t0 = time.monotonic()
    m, qid = msg(wire("s3.amazon.com"))
    r = tcp1(m, 2.0)
    dt = time.monotonic() - t0
    report(r is not None and hdr(r)["rcode"] == 0 and dt < 2.0,
           "TCP: a client stalled after one byte does not block another "
           "(%.3f s)" % dt)
    t0 = time.monotonic()
    p = subprocess.run(["dig", "+tcp", "+time=2", "+tries=1", "@127.0.0.1",
                        "www.amazon.com"], capture_output=True, text=True,
                       timeout=5)
    dt = time.monotonic() - t0
    report("status: NOERROR" in p.stdout and "192.0.2.11" in p.stdout
           and dt < 2.0, "dig +tcp answered next to the stalled client "
           "(%.3f s)" % dt, p.stdout[-300:])
    stall.close()


def idle(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (want, max(hard, want)))
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        e = s.connect_ex(V4)
        if e not in (0, errno.EINPROGRESS):
            report(False, "idle TCP connection %d" % len(socks),
                   os.strerror(e))
            break
        socks.append(s)
    connected = await_connected(socks, 10)
    report(connected == n, "%d idle TCP connections opened" % n,
           "%d connected" % connected)
    t0 = time.monotonic()
    r = subprocess.run(["dig", "+tcp", "+time=2", "+tries=1", "@127.0.0.1",
                        "s3.amazon.com"], capture_output=True, text=True,
                       timeout=5)
    dt = time.monotonic() - t0
    report("status: NOERROR" in r.stdout and "192.0.2.10" in r.stdout
           and dt < 2.0, "dig +tcp answered within 2 s with %d idle "
           "connections open (%.3f s)" % (n, dt), r.stdout[-300:])
    m, qid = msg(wire("www.amazon.com"))
    rr = udp(m, 2.0)
    report(rr is not None and hdr(rr)["rcode"] == 0,
           "UDP answered with %d idle connections open" % n)
    for s in socks:
        s.close()


def flood(name, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    answered = 0
    t0 = time.monotonic()
    for i in range(n):
        m, qid = msg(wire(name), qid=i & 0xffff)
        s.sendto(m, V4)
        try:
            r = s.recv(65535)
        except socket.timeout:
            continue
        h = hdr(r)
        if h["id"] == qid and h["rcode"] == 3 and h["an"] == 0:
            answered += 1
    dt = time.monotonic() - t0
    s.close()
    print("%d %.3f" % (answered, dt))


def burst_send(msgs, rcvbuf, good_if):
    # msgs sent back to back from one socket, then every answer read
    # (until none comes for 2 s). Returns the IDs of the answers that
    # good_if accepts, the number of datagrams and the first one's size.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(2.0)
    for m in msgs:
        s.sendto(m, V4)
    good, got, size = set(), 0, 0
    while True:
        try:
            r = s.recv(65535)
        except socket.timeout:
            break
        got += 1
        size = size or len(r)
        if good_if(r):
            good.add(hdr(r)["id"])
    s.close()
    return good, got, size


def burst_txt(name, n):
    # n TXT queries with EDNS0 (1232 bytes) for one name. Prints how many
    # distinct IDs came back whole (NOERROR, one answer, not truncated),
    # how many datagrams, and the size of the first.
    opt = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)
    msgs = [struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 1) + wire(name) +
            struct.pack(">HH", 16, 1) + opt for i in range(n)]

    def whole(r):
        h = hdr(r)
        return h["rcode"] == 0 and h["an"] == 1 and not h["tc"]
    good, got, size = burst_send(msgs, 1 << 22, whole)
    print("%d %d %d" % (len(good), got, size))


def burst(names, n):
    # n queries, names taken in turn: the server answers a batch of one
    # size to one client as one UDP_SEGMENT send, which must still arrive
    # as one datagram per answer. Prints how many distinct IDs came back
    # right (id, rcode NXDOMAIN, the question echoed) and how many
    # datagrams.
    want = {}
    msgs = []
    for i in range(n):
        q = wire(names[i % len(names)])
        m, qid = msg(q, qid=i)
        want[qid] = q
        msgs.append(m)

    def right(r):
        q = want.get(hdr(r)["id"])
        return q is not None and hdr(r)["rcode"] == 3 and \
            r[12:12 + len(q)] == q
    good, got, _ = burst_send(msgs, 1 << 20, right)
    print("%d %d" % (len(good), got))


def attr():
    # One query per transport and family; prints pid and executable so
    # that the shell can look for them in the audit file.
    exe = os.path.realpath("/proc/self/exe")
    for label, server, use_tcp in (("udp4", V4, False), ("tcp4", V4, True),
                                   ("udp6", V6, False), ("tcp6", V6, True)):
        if len(sys.argv) > 2 and label.endswith("6") and sys.argv[2] == "4":
            continue
        m, qid = msg(wire("attr-%s.example.net" % label))
        r = tcp1(m, 2.0, server) if use_tcp else udp(m, 2.0, server)
        rc = hdr(r)["rcode"] if r is not None else -1
        print("%s %d %s %d" % (label, os.getpid(), exe, rc))


def idleprobe(limit):
    s = socket.create_connection(V4, timeout=2)
    s.settimeout(limit)
    t0 = time.monotonic()
    try:
        r = s.recv(10)
        state = "closed" if r == b"" else "data"
    except socket.timeout:
        state = "open"
    except OSError:
        state = "reset"
    print("%s %.1f" % (state, time.monotonic() - t0), flush=True)


def gai(name):
    try:
        res = socket.getaddrinfo(name, 80, socket.AF_INET,
                                 socket.SOCK_STREAM)
        print(" ".join(sorted({r[4][0] for r in res})))
    except socket.gaierror as e:
        print("error %d" % e.errno)


cmd = sys.argv[1]
if cmd == "bad":
    bad()
elif cmd == "tcp":
    tcp_tests()
elif cmd == "idle":
    idle(int(sys.argv[2]))
elif cmd == "flood":
    flood(sys.argv[2], int(sys.argv[3]))
elif cmd == "burst_txt":
    burst_txt(sys.argv[3], int(sys.argv[2]))
elif cmd == "burst":
    burst(sys.argv[3:], int(sys.argv[2]))
elif cmd == "attr":
    attr()
elif cmd == "idleprobe":
    idleprobe(float(sys.argv[2]))
elif cmd == "gai":
    gai(sys.argv[2])
EOF

pyx() {	# SECONDS ARGS...: the Python helper inside the namespace
	_s=$1
	shift
	run_ns "$_s" "$PY" "$T/dnst.py" "$@"
}

# ---- start everything ----

cp "$SEED" "$POLICY"

if start_nsd; then
	ok "nsd listens on 127.0.0.53:5300 in $NS"
else
	not_ok "nsd listens on 127.0.0.53:5300 in $NS"
	show "$(cat "$T/nsd.out" "$T/nsd.log" 2>/dev/null)"
	finish
fi
run_ns 5 dig +time=2 +tries=1 -p 5300 @127.0.0.53 s3.amazon.com +short
assert_eq "nsd serves the test zone (s3.amazon.com directly)" \
    "192.0.2.10" "$OUT"

start_bg HTTP1_PID "$T/http1.log" "$PY" -m http.server --bind 192.0.2.10 \
    --directory "$T/www1" 8080
start_bg HTTP2_PID "$T/http2.log" "$PY" -m http.server --bind 192.0.2.99 \
    --directory "$T/www2" 8080

LISTEN6=()
if [ "$HAVE_V6" = 1 ]; then
	LISTEN6=(--dns-listen '[::1]:53')
fi
start_bg DAEMON_PID "$DAEMON_LOG" "$FNGUARD" daemon --policy "$POLICY" \
    --dns-listen 127.0.0.1:53 "${LISTEN6[@]}" --upstream 127.0.0.53:5300 \
    --audit "$AUDIT" --record "$RECORD"
if wait_port 10 udp 127.0.0.1 53 && wait_port 5 tcp 127.0.0.1 53 &&
    { [ "$HAVE_V6" = 0 ] || wait_port 5 tcp '[::1]' 53; } &&
    wait_for 5 grep -q 'daemon: ready' "$DAEMON_LOG"; then
	ok "fnguard daemon listens on 127.0.0.1:53 (udp, tcp)"
else
	not_ok "fnguard daemon listens on 127.0.0.1:53 (udp, tcp)"
	show "$(cat "$DAEMON_LOG")"
	finish
fi
if ! wait_port 10 tcp 192.0.2.10 8080 || ! wait_port 10 tcp 192.0.2.99 8080
then
	not_ok "HTTP servers listen on 192.0.2.10:8080 and 192.0.2.99:8080"
	show "$(cat "$T/http1.log" "$T/http2.log")"
	finish
fi
assert_contains "daemon warns that *amazon.com matches look-alike names" \
    "$(cat "$DAEMON_LOG")" \
    '"*amazon.com" also matches look-alike names such as "evilamazon.com"'
FC_BEFORE=$(log_count 'reloaded \(file changed\)')

# ---- the seed scenario ----

dq 127.0.0.1 s3.amazon.com A
FIRST_S3_MS=$(now_ms)
FIRST_S3_TTL=$(first_ttl)
assert_eq "dig s3.amazon.com: NOERROR" NOERROR "$DIG_STATUS"
assert_match "dig s3.amazon.com: A 192.0.2.10" "$DIG_ANSWER" \
    '^s3\.amazon\.com\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$'
assert_eq "dig s3.amazon.com: first answer has the zone's TTL" 300 \
    "$FIRST_S3_TTL"
dq 127.0.0.1 yahoo.com A
assert_eq "dig yahoo.com: NXDOMAIN" NXDOMAIN "$DIG_STATUS"
assert_eq "dig yahoo.com: no answer" 0 "$DIG_AN"
dq 127.0.0.1 +tcp s3.amazon.com A
assert_eq "dig +tcp s3.amazon.com: NOERROR" NOERROR "$DIG_STATUS"
assert_match "dig +tcp s3.amazon.com: A 192.0.2.10" "$DIG_ANSWER" \
    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$'
dq 127.0.0.1 +tcp yahoo.com A
assert_eq "dig +tcp yahoo.com: NXDOMAIN" NXDOMAIN "$DIG_STATUS"
assert_eq "dig +tcp yahoo.com: no answer" 0 "$DIG_AN"
dq 127.0.0.1 www.amazon.com AAAA
assert_match "dig www.amazon.com AAAA: 2001:db8::11" "$DIG_ANSWER" \
    'IN[[:space:]]+AAAA[[:space:]]+2001:db8::11$'

if [ "$HAVE_V6" = 1 ]; then
	dq ::1 www.amazon.com A
	assert_eq "dig @::1 www.amazon.com: NOERROR" NOERROR "$DIG_STATUS"
	assert_match "dig @::1 www.amazon.com: A 192.0.2.11" "$DIG_ANSWER" \
	    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.11$'
	dq ::1 +tcp www.amazon.com AAAA
	assert_match "dig @::1 +tcp www.amazon.com AAAA: 2001:db8::11" \
	    "$DIG_ANSWER" 'IN[[:space:]]+AAAA[[:space:]]+2001:db8::11$'
	dq ::1 yahoo.com A
	assert_eq "dig @::1 yahoo.com: NXDOMAIN" NXDOMAIN "$DIG_STATUS"
	dq ::1 +tcp yahoo.com A
	assert_eq "dig @::1 +tcp yahoo.com: NXDOMAIN" NXDOMAIN "$DIG_STATUS"
else
	echo "ok - # SKIP IPv6: no ::1 in the namespace"
fi

run_ns 10 getent hosts s3.amazon.com
assert_eq "getent hosts s3.amazon.com: 192.0.2.10" "192.0.2.10" \
    "$(printf '%s\n' "$OUT" | awk 'NR == 1 { print $1 }')"
run_ns 10 getent hosts yahoo.com
assert_status "getent hosts yahoo.com: not found (status 2)" 2
assert_eq "getent hosts yahoo.com: prints nothing" "" "$OUT"
run_ns 10 getent ahostsv4 alias.amazon.com
assert_match "getent ahostsv4 alias.amazon.com (CNAME chain): 192.0.2.11" \
    "$OUT" '^192\.0\.2\.11 '

pyx 10 gai s3.amazon.com
assert_eq "python getaddrinfo(s3.amazon.com): 192.0.2.10" 192.0.2.10 "$OUT"
pyx 10 gai yahoo.com
assert_eq "python getaddrinfo(yahoo.com): EAI_NONAME" "error -2" "$OUT"

run_ns 15 wget -q -O- --tries=1 --timeout=5 http://s3.amazon.com:8080/
assert_eq "wget http://s3.amazon.com:8080/ gets the file" "$S3_INDEX" "$OUT"
run_ns 15 wget -O "$T/yahoo.html" --tries=1 --timeout=5 \
    http://yahoo.com:8080/
WGET_PID=$RUN_PID
assert_status "wget http://yahoo.com:8080/ fails (status 4, network)" 4
assert_contains "wget http://yahoo.com:8080/: name resolution failed" \
    "$ERR" "unable to resolve host address"
run_ns 15 curl -sS --max-time 5 http://s3.amazon.com:8080/
assert_eq "curl http://s3.amazon.com:8080/ gets the file" "$S3_INDEX" "$OUT"
run_ns 15 curl -sS --max-time 5 http://yahoo.com:8080/
CURL_PID=$RUN_PID
assert_status "curl http://yahoo.com:8080/ fails (status 6, resolve)" 6

MSG='DNS resolution of domain name yahoo.com triggered by /usr/bin/wget explicitly denied by a runtime rule.'
if wait_jl 3 "$AUDIT" "any(r.get('msg') == '$MSG' for r in recs)"; then
	ok "audit: the exact seed message naming /usr/bin/wget"
else
	not_ok "audit: the exact seed message naming /usr/bin/wget"
	show "$(cat "$AUDIT" 2>/dev/null)"
fi
W="[r for r in recs if r.get('msg') == '$MSG'][:1]"
assert_eq "audit wget record: processPath, pid, type, attackType, effect, \
ruleName, domain, severity" \
    "['/usr/bin/wget', $WGET_PID, 'network', 'explicitlyDeniedDNS', \
'prevent', 'allow-aws-only', 'yahoo.com', 'medium']" \
    "$(jl "$AUDIT" "[(r.get('processPath'), r.get('pid'), r.get('type'), \
r.get('attackType'), r.get('effect'), r.get('ruleName'), r.get('domain'), \
r.get('severity')) for r in $W][0] if $W else None" | tr '()' '[]')"
assert_match "audit wget record: command is the wget command line" \
    "$(jl "$AUDIT" "[r.get('command') for r in $W]")" \
    "wget -O [^ ]*yahoo.html --tries=1 --timeout=5 http://yahoo.com:8080/"
check "audit: the curl query named /usr/bin/curl (its pid)" \
    wait_jl 3 "$AUDIT" "any(r.get('processPath') == '/usr/bin/curl' and \
r.get('pid') == $CURL_PID and r.get('domain') == 'yahoo.com' for r in recs)"

# ---- upstream: TCP fallback and failover ----

dq 127.0.0.1 +tcp huge.amazon.com TXT
assert_eq "huge TXT (2,400 bytes > the 1232 offered upstream): NOERROR, \
through c-ares's TCP fallback" NOERROR "$DIG_STATUS"
assert_eq "huge TXT: the whole record reaches the client over TCP" 12 \
    "$(printf '%s\n' "$DIG_ANSWER" | grep -o "\"$TXT1\"" | wc -l)"

# A second daemon whose first upstream does not answer (nothing listens
# on 127.0.0.9:5300): c-ares fails over to the second.
FAILOVER_LOG=$T/failover.log
start_bg FAILOVER_PID "$FAILOVER_LOG" "$FNGUARD" daemon --policy "$POLICY" \
    --dns-listen 127.0.0.2:53 --proxy-listen off --upstream 127.0.0.9:5300 \
    --upstream 127.0.0.53:5300 --audit "$T/failover-audit.jsonl"
if wait_port 10 udp 127.0.0.2 53; then
	dq 127.0.0.2 www.amazon.com A
	assert_eq "failover: the first upstream dead, the second answers" \
	    NOERROR "$DIG_STATUS"
	assert_match "failover: A 192.0.2.11" "$DIG_ANSWER" \
	    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.11$'
else
	not_ok "failover daemon listens on 127.0.0.2:53"
	show "$(cat "$FAILOVER_LOG")"
fi
stop_pid "$FAILOVER_PID" 5

# ---- names, answers, truncation ----

dq 127.0.0.1 evilamazon.com A
assert_eq "evilamazon.com resolves (documented *amazon.com caveat)" \
    NOERROR "$DIG_STATUS"
assert_match "evilamazon.com: A 192.0.2.66" "$DIG_ANSWER" \
    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.66$'

dq 127.0.0.1 WwW.AmAzOn.CoM A
assert_match "dig WwW.AmAzOn.CoM: question case echoed" "$DIG_QUESTION" \
    '^;WwW\.AmAzOn\.CoM\.[[:space:]]+IN[[:space:]]+A$'
assert_match "dig WwW.AmAzOn.CoM: answer owner in the question's case" \
    "$DIG_ANSWER" '^WwW\.AmAzOn\.CoM\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.11$'
dq 127.0.0.1 +tcp wWw.aMaZoN.cOm A
assert_match "dig +tcp wWw.aMaZoN.cOm (from the cache): case echoed" \
    "$DIG_ANSWER" '^wWw\.aMaZoN\.cOm\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.11$'

dq 127.0.0.1 alias.amazon.com A
assert_eq "CNAME chain alias.amazon.com: three records" 3 "$DIG_AN"
assert_match "CNAME chain: alias -> alias2" "$DIG_ANSWER" \
    '^alias\.amazon\.com\..*CNAME[[:space:]]+alias2\.amazon\.com\.$'
assert_match "CNAME chain: alias2 -> www" "$DIG_ANSWER" \
    '^alias2\.amazon\.com\..*CNAME[[:space:]]+www\.amazon\.com\.$'
assert_match "CNAME chain: www A 192.0.2.11" "$DIG_ANSWER" \
    '^www\.amazon\.com\..*IN[[:space:]]+A[[:space:]]+192\.0\.2\.11$'

dq 127.0.0.1 +noedns +ignore many.amazon.com A
assert_eq "40 A records over UDP without EDNS: NOERROR" NOERROR "$DIG_STATUS"
check "40 A records over UDP without EDNS: TC set (flags: $DIG_FLAGS)" \
    has_flag tc
assert_le "40 A records over UDP without EDNS: at most 512 bytes" \
    "$DIG_SIZE" 512
dq 127.0.0.1 +tcp many.amazon.com A
assert_eq "40 A records over TCP: ANSWER 40" 40 "$DIG_AN"
assert_eq "40 A records over TCP: 40 distinct addresses" 40 \
    "$(printf '%s\n' "$DIG_ANSWER" | awk '$4 == "A" { print $5 }' |
    sort -u | grep -c '^198\.51\.100\.')"
check "40 A records over TCP: no TC" eval '! has_flag tc'
dq 127.0.0.1 +bufsize=1232 +ignore many.amazon.com A
assert_eq "40 A records over UDP with EDNS 1232: all 40, no TC" "40 0" \
    "$DIG_AN $(has_flag tc && echo 1 || echo 0)"
dq 127.0.0.1 +noedns +ignore many.amazon.com A
assert_eq "40 A records from the cache over UDP without EDNS: TC set" \
    "tc" "$(has_flag tc && echo tc)"

dq 127.0.0.1 +noedns +ignore big.amazon.com TXT
check "large TXT over UDP without EDNS: TC set (flags: $DIG_FLAGS)" \
    has_flag tc
assert_le "large TXT over UDP without EDNS: at most 512 bytes" \
    "$DIG_SIZE" 512
dq 127.0.0.1 +tcp big.amazon.com TXT
assert_eq "large TXT over TCP: one answer" 1 "$DIG_AN"
assert_contains "large TXT over TCP: the whole record" "$DIG_ANSWER" \
    "\"$TXT1\" \"$TXT2\" \"$TXT3\""
dq 127.0.0.1 +bufsize=1232 +ignore big.amazon.com TXT
assert_contains "large TXT over UDP with EDNS 1232: the whole record" \
    "$DIG_ANSWER" "\"$TXT1\" \"$TXT2\" \"$TXT3\""

dq 127.0.0.1 nonexist.amazon.com A
assert_eq "nonexist.amazon.com: NXDOMAIN from upstream" NXDOMAIN \
    "$DIG_STATUS"
assert_match "nonexist.amazon.com: SOA in authority, TTL <= 60" \
    "$DIG_AUTH" '^com\.[[:space:]]+([0-9]|[1-5][0-9]|60)[[:space:]]+IN[[:space:]]+SOA[[:space:]]'
NEG_TTL=$(printf '%s\n' "$DIG_AUTH" | awk 'NR == 1 { print $2 }')
dq 127.0.0.1 s3.amazon.com AAAA
assert_eq "s3.amazon.com AAAA (NODATA): NOERROR, no answer" "NOERROR 0" \
    "$DIG_STATUS $DIG_AN"
assert_match "s3.amazon.com AAAA (NODATA): SOA in authority" "$DIG_AUTH" \
    'IN[[:space:]]+SOA[[:space:]]'
dq 127.0.0.1 amazon.com A
assert_eq "amazon.com (empty non-terminal): NOERROR, no answer" \
    "NOERROR 0" "$DIG_STATUS $DIG_AN"

# ---- process attribution over UDP and TCP, v4 and v6 ----

pyx 15 attr "$([ "$HAVE_V6" = 1 ] && echo 6 || echo 4)"
ATTR_OUT=$OUT
while read -r _label _pid _exe _rc; do
	[ -n "$_label" ] || continue
	assert_eq "attribution $_label: attr-$_label.example.net NXDOMAIN" \
	    3 "$_rc"
	if wait_jl 3 "$AUDIT" "any(r.get('domain') == \
'attr-$_label.example.net' for r in recs)"; then
		assert_eq "attribution $_label: audit names $_exe, pid $_pid" \
		    "('$_exe', $_pid)" "$(jl "$AUDIT" "[(r.get('processPath'), \
r.get('pid')) for r in recs if r.get('domain') == \
'attr-$_label.example.net'][0]")"
	else
		not_ok "attribution $_label: audit record for \
attr-$_label.example.net"
	fi
done <<EOF
$ATTR_OUT
EOF

# The recording is flushed once a second.
wait_jl 3 "$RECORD" "all(any(r.get('domain') == d for r in recs) for d in \
('attr-udp4.example.net', 'attr-tcp4.example.net', 'alias.amazon.com'))"
assert_eq "record: a query over UDP has proto udp, over TCP proto tcp" \
    "udp tcp" "$(jl "$RECORD" "' '.join(next((str(r.get('proto')) for r \
in recs if r.get('domain') == 'attr-%s.example.net' % p), 'none') for p in \
('udp4', 'tcp4'))")"
assert_eq "record: alias.amazon.com answers follow the CNAME chain" \
    "['192.0.2.11']" "$(jl "$RECORD" "next((r.get('answers') for r in recs \
if r.get('domain') == 'alias.amazon.com'), None)")"

# ---- a flood of one denied name ----

FLOOD_N=2000
FLOOD_NAME=flood.example.net
pyx 60 flood "$FLOOD_NAME" "$FLOOD_N"
FLOOD_END_MS=$(now_ms)
assert_eq "flood: all $FLOOD_N queries answered NXDOMAIN (in ${OUT#* } s)" \
    "$FLOOD_N" "${OUT%% *}"

# Bursts: answers of one size to one client leave as one UDP_SEGMENT send
# and arrive one datagram each, every one whole.
pyx 30 burst 64 burst.example.net
assert_eq "burst of 64 same-size answers: 64 right, 64 datagrams" "64 64" "$OUT"
pyx 30 burst 60 b1.example.net longer-burst-name.example.net c.example.org
assert_eq "burst of three sizes interleaved: 60 right, 60 datagrams" \
    "60 60" "$OUT"
# Answers too big for 64 of them to go as one UDP_SEGMENT message (its
# 64 KiB): the name cached first, then a burst of 64.
pyx 30 burst_txt 1 wide.amazon.com
assert_eq "wide TXT: one whole answer" "1 1" "${OUT% *}"
_wide=${OUT##* }
assert_le "wide TXT: an answer over 1,024 bytes (64 exceed 64 KiB)" 1025 \
    "$_wide"
pyx 30 burst_txt 64 wide.amazon.com
assert_eq "burst of 64 answers of $_wide bytes: 64 whole, 64 datagrams" \
    "64 64 $_wide" "$OUT"

# A kernel that refuses UDP_SEGMENT, as a shim makes sendmmsg(2) refuse
# (EIO) a message that carries it: a daemon on 127.0.0.3 says so once and
# sends every answer as a datagram of its own. A group refused for another
# reason (EMSGSIZE, the shim on 127.0.0.4) goes out answer by answer too,
# without giving UDP_SEGMENT up.
cat >"$T/nogso.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>

int
sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	static int (*real)(int, struct mmsghdr *, unsigned int, int);
	struct cmsghdr *c;
	unsigned int i;

	/* As the kernel does: the messages before the first it refuses
	 * are sent and counted; -1 only when the first is refused. */
	for (i = 0; i < n; i++)
		for (c = CMSG_FIRSTHDR(&v[i].msg_hdr); c != NULL;
		    c = CMSG_NXTHDR(&v[i].msg_hdr, c))
			if (c->cmsg_level == SOL_UDP &&
			    c->cmsg_type == UDP_SEGMENT)
				goto refused;
refused:
	if (i == 0 && n > 0) {
		errno = getenv("NOGSO_ERRNO") != NULL ?
		    atoi(getenv("NOGSO_ERRNO")) : EIO;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int, struct mmsghdr *, unsigned int, int))
		    dlsym(RTLD_NEXT, "sendmmsg");
	return real(fd, v, i, flags);
}
EOF
# nogso_daemon ADDR ERRNO: the daemon on ADDR:53 with the shim refusing
# with ERRNO, two bursts of 64 through it; NOGSO_LOG its log.
nogso_daemon() {
	local addr=$1 eno=$2
	NOGSO_LOG=$T/nogso-$addr.log
	NOGSO_ERRNO=$eno LD_PRELOAD=$T/nogso.so start_bg NOGSO_PID "$NOGSO_LOG" \
	    "$FNGUARD" daemon --policy "$POLICY" --dns-listen "$addr:53" \
	    --proxy-listen off --upstream 127.0.0.53:5300 \
	    --audit "$T/nogso-audit.jsonl"
	if wait_port 10 udp "$addr" 53; then
		DNST_V4=$addr pyx 30 burst 64 burst.example.net
		assert_eq "refused groups ($eno): a burst of 64, all right, 64 \
datagrams" "64 64" "$OUT"
		DNST_V4=$addr pyx 30 burst 64 burst.example.net
		assert_eq "refused groups ($eno): a second burst too" "64 64" \
		    "$OUT"
	else
		not_ok "the daemon with the sendmmsg shim listens on $addr:53"
		show "$(cat "$NOGSO_LOG")"
	fi
	stop_pid "$NOGSO_PID" 5
	assert_match "refused groups ($eno): no answer went out as a group" \
	    "$(cat "$NOGSO_LOG")" ' 0 UDP answers sent in UDP_SEGMENT groups'
}
if gcc -shared -fPIC -o "$T/nogso.so" "$T/nogso.c" -ldl 2>"$T/cc.err"; then
	nogso_daemon 127.0.0.3 5		# EIO
	assert_eq "no UDP_SEGMENT: said once in the log" 1 \
	    "$(grep -c 'no UDP segmentation (Input/output error)' \
	    "$NOGSO_LOG")"
	nogso_daemon 127.0.0.4 90		# EMSGSIZE
	assert_eq "a group refused with EMSGSIZE: UDP_SEGMENT not given up" \
	    0 "$(grep -c 'no UDP segmentation' "$NOGSO_LOG")"
else
	not_ok "cc builds the sendmmsg shim"
	show "$(cat "$T/cc.err")"
fi

# ---- bad input ----

pyx 60 bad
tally <<<"$OUT"
[ -z "$ERR" ] || show "$ERR"
check "daemon still running after bad input" alive "$DAEMON_PID"
if wait_jl 3 "$AUDIT" "any(r.get('domain') == 's3\\\\.amazon\\\\.com' \
for r in recs)"; then
	ok "audit: the label \"s3.amazon.com\" was matched as s3\\.amazon\\.com"
else
	not_ok "audit: the label \"s3.amazon.com\" was matched as s3\\.amazon\\.com"
	show "$(jl "$AUDIT" "sorted({r.get('domain') for r in recs})")"
fi
if wait_jl 3 "$AUDIT" "any(r.get('domain') == \
's3.amazon.com\\\\000.yahoo.com' for r in recs)"; then
	ok "audit: a NUL in a label was matched as \\000 (denied)"
else
	not_ok "audit: a NUL in a label was matched as \\000 (denied)"
	show "$(jl "$AUDIT" "sorted({r.get('domain') for r in recs})")"
fi

pyx 30 tcp
tally <<<"$OUT"
[ -z "$ERR" ] || show "$ERR"

pyx 60 idle 2000
tally <<<"$OUT"
[ -z "$ERR" ] || show "$ERR"
check "daemon still running after 2,000 idle TCP connections" \
    alive "$DAEMON_PID"
check "daemon still answers after 2,000 idle TCP connections" \
    daemon_answers

# An idle TCP client is closed by the server after a while (RFC 7766
# 6.2.3); looked at after the policy and cache tests.
start_bg PROBE_PID "$T/probe.out" "$PY" "$T/dnst.py" idleprobe 25

# ---- policy updates ----

write_policy refused '["*amazon.com"]'
check "deniedResponse refused: SIGHUP reloads" reload_hup
FC_BEFORE=$(log_count 'reloaded \(file changed\)')
dq 127.0.0.1 yahoo.com A
assert_eq "deniedResponse refused: yahoo.com REFUSED, no answer" \
    "REFUSED 0" "$DIG_STATUS $DIG_AN"
dq 127.0.0.1 +tcp yahoo.com TXT
assert_eq "deniedResponse refused: yahoo.com TXT over TCP REFUSED" \
    REFUSED "$DIG_STATUS"
check "deniedResponse refused: s3.amazon.com still answered" daemon_answers

write_policy nodata '["*amazon.com"]'
if wait_log 4 'reloaded \(file changed\)' "$FC_BEFORE"; then
	ok "a changed policy file is reloaded without a signal"
else
	not_ok "a changed policy file is reloaded without a signal"
	show "$(tail -n 5 "$DAEMON_LOG")"
fi
FC_BEFORE=$(log_count 'reloaded \(file changed\)')
dq 127.0.0.1 yahoo.com A
assert_eq "deniedResponse nodata: yahoo.com NOERROR, no answer" \
    "NOERROR 0" "$DIG_STATUS $DIG_AN"
dq 127.0.0.1 yahoo.com AAAA
assert_eq "deniedResponse nodata: yahoo.com AAAA NOERROR, no answer" \
    "NOERROR 0" "$DIG_STATUS $DIG_AN"

write_policy "" '["*amazon.com"]'
check "seed policy back: SIGHUP reloads" reload_hup
FC_BEFORE=$(log_count 'reloaded \(file changed\)')
dq 127.0.0.1 yahoo.com A
assert_eq "seed policy back: yahoo.com NXDOMAIN" NXDOMAIN "$DIG_STATUS"

_r=$(log_count 'refused; the running policy stays')
_a=$(jl "$AUDIT" "len([r for r in recs if r.get('attackType') != \
'explicitlyDeniedDNS'])")
write_raw_policy '{ "rules": [ { "name": "broken", '
if wait_log 4 'refused; the running policy stays' "$_r"; then
	ok "invalid policy (bad JSON): refused, logged on stderr"
else
	not_ok "invalid policy (bad JSON): refused, logged on stderr"
	show "$(tail -n 5 "$DAEMON_LOG")"
fi
dq 127.0.0.1 yahoo.com A
assert_eq "invalid policy: old rules stay (yahoo.com NXDOMAIN)" NXDOMAIN \
    "$DIG_STATUS"
check "invalid policy: old rules stay (s3.amazon.com answered)" \
    daemon_answers
check "invalid policy: refusal audited (SPEC 1, issue 3 item 7)" \
    wait_jl 3 "$AUDIT" "len([r for r in recs if r.get('attackType') != \
'explicitlyDeniedDNS']) > $_a"
_r=$(log_count 'refused; the running policy stays')
write_raw_policy '{"rules":[{"name":"x","dns":{"effect":"sometimes","whitelist":["*"]}}]}'
if wait_log 4 'refused; the running policy stays' "$_r"; then
	ok "invalid policy (bad effect): refused, logged on stderr"
else
	not_ok "invalid policy (bad effect): refused, logged on stderr"
	show "$(tail -n 5 "$DAEMON_LOG")"
fi
_r=$(log_count 'reload \(SIGHUP\) refused; the running policy stays')
kill -HUP "$DAEMON_PID"
if wait_log 3 'reload \(SIGHUP\) refused; the running policy stays' "$_r"
then
	ok "SIGHUP with an invalid policy: refused, logged"
else
	not_ok "SIGHUP with an invalid policy: refused, logged"
	show "$(tail -n 5 "$DAEMON_LOG")"
fi
dq 127.0.0.1 yahoo.com A
assert_eq "invalid policies: yahoo.com still NXDOMAIN" NXDOMAIN \
    "$DIG_STATUS"
check "daemon still running after invalid policies" alive "$DAEMON_PID"

FC_BEFORE=$(log_count 'reloaded \(file changed\)')
write_policy "" '["*amazon.com", "yahoo.com"]'
check "yahoo.com allowed: SIGHUP reloads" reload_hup
FC_BEFORE=$(log_count 'reloaded \(file changed\)')
dq 127.0.0.1 yahoo.com A
assert_eq "yahoo.com allowed after SIGHUP: NOERROR" NOERROR "$DIG_STATUS"
assert_match "yahoo.com allowed after SIGHUP: A 192.0.2.99" "$DIG_ANSWER" \
    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.99$'
run_ns 15 wget -q -O- --tries=1 --timeout=5 http://yahoo.com:8080/
assert_eq "yahoo.com allowed: wget http://yahoo.com:8080/ gets the file" \
    "$YAHOO_INDEX" "$OUT"
write_policy "" '["*amazon.com"]'
check "seed policy again: SIGHUP reloads" reload_hup
FC_BEFORE=$(log_count 'reloaded \(file changed\)')
dq 127.0.0.1 yahoo.com A
assert_eq "seed policy again: yahoo.com NXDOMAIN (not from the cache)" \
    NXDOMAIN "$DIG_STATUS"

# ---- the cache, with the upstream gone ----

stop_pid "$NSD_PID" 5
if wait_for 3 eval '! _listening udp 127.0.0.53 5300'; then
	ok "nsd stopped"
else
	not_ok "nsd stopped"
fi
_elapsed=$(( ($(now_ms) - FIRST_S3_MS) / 1000 ))
if [ "$_elapsed" -lt 2 ]; then
	sleep 2
	_elapsed=$(( ($(now_ms) - FIRST_S3_MS) / 1000 ))
fi
dq 127.0.0.1 s3.amazon.com A
_ttl=$(first_ttl)
assert_match "cache: s3.amazon.com answered with nsd stopped" "$DIG_ANSWER" \
    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$'
assert_lt "cache: TTL counted down ($_ttl after ${_elapsed}s)" \
    "${_ttl:-999}" "$FIRST_S3_TTL"
assert_le "cache: TTL went down no more than the time elapsed" \
    "$((FIRST_S3_TTL - _elapsed - 3))" "${_ttl:-0}"
dq 127.0.0.1 +tcp s3.amazon.com A
assert_match "cache: s3.amazon.com over TCP with nsd stopped" "$DIG_ANSWER" \
    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$'
dq 127.0.0.1 nonexist.amazon.com A
assert_eq "negative cache: nonexist.amazon.com NXDOMAIN with nsd stopped" \
    NXDOMAIN "$DIG_STATUS"
_t=$(printf '%s\n' "$DIG_AUTH" | awk 'NR == 1 { print $2 }')
assert_lt "negative cache: SOA TTL counted down ($_t, was $NEG_TTL)" \
    "${_t:-999}" "${NEG_TTL:-0}"
dq 127.0.0.1 s3.amazon.com AAAA
assert_eq "negative cache: s3.amazon.com AAAA NODATA with nsd stopped" \
    "NOERROR 0" "$DIG_STATUS $DIG_AN"
run_ns 15 dig +time=6 +tries=1 @127.0.0.1 late.amazon.com A
assert_no_match "control: late.amazon.com (never asked) has no answer \
with nsd stopped" "$OUT" 'IN[[:space:]]+A[[:space:]]+192\.0\.2\.12'
if start_nsd; then
	ok "nsd restarted"
else
	not_ok "nsd restarted"
fi
dq 127.0.0.1 late.amazon.com A
assert_match "late.amazon.com answered once nsd is back" "$DIG_ANSWER" \
    'IN[[:space:]]+A[[:space:]]+192\.0\.2\.12$'

# ---- the idle TCP client ----

wait_for 25 _gone "$PROBE_PID"
stop_pid "$PROBE_PID" 1
_probe=$(cat "$T/probe.out")
assert_match "an idle TCP client is closed by the daemon after 2-20 s \
($_probe)" "$_probe" '^closed ([2-9]|1[0-9])\.'

# ---- the flood's audit ----

FLOOD_EXPR="[r.get('count', 0) for r in recs if r.get('domain') == \
'$FLOOD_NAME']"
_left=$(( 15 - ($(now_ms) - FLOOD_END_MS) / 1000 ))
[ "$_left" -gt 1 ] || _left=1
wait_jl "$_left" "$AUDIT" "sum($FLOOD_EXPR) >= $FLOOD_N"
_counts=$(jl "$AUDIT" "$FLOOD_EXPR")
assert_eq "flood: audit counts add up to $FLOOD_N ($_counts)" "$FLOOD_N" \
    "$(jl "$AUDIT" "sum($FLOOD_EXPR)")"
assert_le "flood: at most 3 audit records for $FLOOD_N queries ($_counts)" \
    "$(jl "$AUDIT" "len($FLOOD_EXPR)")" 3

# ---- after all that ----

check "daemon still running at the end" alive "$DAEMON_PID"
check "daemon still answers at the end" daemon_answers
RSS_KB=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DAEMON_PID/status" \
    2>/dev/null)
assert_lt "daemon RSS under 100 MB (${RSS_KB:-?} kB)" "${RSS_KB:-999999}" \
    102400
assert_eq "every audit line is a JSON object" "True" \
    "$(jl "$AUDIT" "len(recs) == sum(1 for _ in open('$AUDIT')) > 0")"
assert_eq "every stderr line of the daemon starts \"fnguard: \"" "" \
    "$(grep -v '^fnguard: ' "$DAEMON_LOG")"

stop_pid "$DAEMON_PID" 5
assert_eq "daemon exits 0 on SIGTERM" 0 "$STOP_RC"
assert_match "the bursts left as UDP_SEGMENT groups (the daemon's count)" \
    "$(grep 'daemon: .* UDP_SEGMENT groups' "$DAEMON_LOG")" \
    ' ([6-9][0-9]|[1-9][0-9]{2,}) UDP answers sent in UDP_SEGMENT groups'

# ---- the recording replays with the same verdicts ----

run_ns 60 "$FNGUARD" replay --policy "$SEED" --json "$RECORD"
cp "$T/out" "$T/replay.jsonl"
assert_status "replay --json of the recording exits 0" 0
assert_eq "replay: one verdict per recorded query" \
    "$(grep -c . "$RECORD")" "$(grep -c . "$T/replay.jsonl")"
_want="('allow' if fnmatch.fnmatchcase(r.get('domain', ''), '*amazon.com') \
else 'prevent')"
assert_eq "replay: prevent for every name outside *amazon.com, allow for \
the rest" "[]" "$(jl "$T/replay.jsonl" "[(r.get('domain'), r.get('verdict')) for r \
in recs if r.get('verdict') != $_want][:5]")"
assert_eq "replay: yahoo.com queried by wget is prevented with the seed \
message" "True" "$(jl "$T/replay.jsonl" "any(r.get('domain') == \
'yahoo.com' and r.get('processPath') == '/usr/bin/wget' and \
r.get('verdict') == 'prevent' and r.get('msg') == '$MSG' for r in recs)")"
assert_eq "replay: s3.amazon.com and the flood name are both there" \
    "True True" "$(jl "$T/replay.jsonl" "' '.join(str(any(r.get('domain') \
== d for r in recs)) for d in ('s3.amazon.com', '$FLOOD_NAME'))")"
assert_eq "record: the flood name recorded once per query" "$FLOOD_N" \
    "$(jl "$RECORD" "len([r for r in recs if r.get('domain') == \
'$FLOOD_NAME'])")"

finish
