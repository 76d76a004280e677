#!/bin/bash
# fnguard daemon, the transparent TCP proxy (issue 4, SPEC 2 and 5), with
# real clients and real servers, all inside a network namespace of its own
# whose outbound TCP conf/redirect/nftables.nft sends to the proxy:
#
#   nsd            127.0.0.53:5300, authoritative for "com" (the test zone)
#   http.server    192.0.2.10:8080 (s3.amazon.com), 192.0.2.99:8080
#                  (yahoo.com), 127.0.0.1:8081 (fronted by --inbound)
#   openssl        s_server -www on 192.0.2.10:8443 (self-signed)
#   px.py serve    192.0.2.10:7001 (hashes what it reads, replies after
#                  EOF), :7002 (sends N bytes, half-closes, keeps reading),
#                  :7003-7018 (hold connections), :7025 (speaks first,
#                  as SMTP does), and counting servers on
#                  192.0.2.66:8080, 192.0.2.10:9999 and 192.0.2.10:3333 that
#                  note every connection they accept
#   fnguard daemon 127.0.0.1:53 (upstream nsd) and the proxy on
#                  127.0.0.1:15001, --mark 1 so that its own upstream
#                  connections are not redirected back to it
#
# Five daemons run one after the other: the deny lists with
# requireResolved (user-space relay, --no-splice, --no-ack-hold), the deny
# lists alone (splice relay; the 2,000 idle connections come last, as their TIME_WAIT
# sockets linger), an inbound-only one fronting 127.0.0.1:8081, one with
# 40 descriptors (accept pauses, not spins, when they run out) and one
# whose policy reloads deny, then allow again, the port it fronts. The
# first three recordings are replayed at the end. Nothing leaves the namespace. Needs
# root, nft (nftables), nsd, openssl, curl, python3, ip, ss, getent; exits
# 77 without them.

. "$(dirname "$0")/lib.sh"

need_root
for _t in ip ss nft nsd openssl curl getent; do
	need_tool "$_t"
done
use_python
CURL=$(readlink -f "$(command -v curl)")
OPENSSL=$(readlink -f "$(command -v openssl)")
NFT_RULES=$CONF/redirect/nftables.nft
[ -f "$NFT_RULES" ] || { not_ok "redirect rules $NFT_RULES exist"; finish; }
START_MS=$(now_ms)

mktmp
ns_create fngp
ns_addr 192.0.2.10/32
ns_addr 192.0.2.66/32
ns_addr 192.0.2.99/32
# No nf_tables (or no NAT in it) here: skip. The shipped rules failing
# where a table with a redirect loads is a failure of the rules.
need_nft_nat
if ! nsx nft -f "$NFT_RULES" 2>"$T/nft.err"; then
	not_ok "nft -f $NFT_RULES loads in the namespace"
	show "$(cat "$T/nft.err")"
	finish
fi

# ---- the test zone, the files the servers serve, the certificate ----

cat >"$T/zone" <<'EOF'
$ORIGIN .
$TTL 300
com. IN SOA ns.com. admin.com. 1 3600 600 86400 60
com. IN NS ns.com.
ns.com. IN A 127.0.0.53
s3.amazon.com. IN A 192.0.2.10
yahoo.com. IN A 192.0.2.99
www.yahoo.com. IN A 192.0.2.99
evilamazon.com. IN A 192.0.2.66
EOF
nsd_conf

mkdir "$T/www1" "$T/www2" "$T/www3" "$T/srv"
S3_INDEX="s3 index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
YAHOO_INDEX="yahoo index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
FN_INDEX="function index $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$S3_INDEX" >"$T/www1/index.html"
echo "$YAHOO_INDEX" >"$T/www2/index.html"
echo "$FN_INDEX" >"$T/www3/index.html"

if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj /CN=s3.amazon.com >"$T/req.log" 2>&1; then
	not_ok "openssl req makes a self-signed certificate"
	show "$(cat "$T/req.log")"
	finish
fi

POLICY=$T/policy.json
POLICY2=$T/policy-resolved.json
POLICY3=$T/policy-inbound.json
NETWORK='"effect": "prevent",
      "blacklistIPs": ["192.0.2.66"],
      "blacklistOutboundPorts": [{"start": 9999, "end": 9999}],
      "blacklistDomains": ["*yahoo.com"]'
cat >"$POLICY" <<EOF
{ "rules": [ { "name": "proxy-test",
    "processes": {"effect": "prevent", "checkCryptoMiners": true},
    "network": { $NETWORK } } ] }
EOF
cat >"$POLICY2" <<EOF
{ "rules": [ { "name": "proxy-resolved",
    "processes": {"effect": "prevent", "checkCryptoMiners": true},
    "network": { $NETWORK, "requireResolved": true } } ] }
EOF
cat >"$POLICY3" <<EOF
{ "rules": [ { "name": "proxy-inbound",
    "network": {"effect": "prevent",
      "whitelistInboundIPs": ["192.0.2.10/32"]} } ] }
EOF

# ---- the Python side: servers and clients ----

cat >"$T/px.py" <<'EOF'
import asyncio, errno, hashlib, json, os, resource, select, socket
import subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["TOP_SRCDIR"], "tests",
                                "integration"))
from nettest import await_connected  # noqa: E402

SRV = "192.0.2.10"
STRATUM = b'{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5"]}\n'
HOLD_PORTS = range(7003, 7019)


def report(ok, desc, detail=""):
    print(("ok - " if ok else "not ok - ") + desc, flush=True)
    if not ok and detail:
        print("#   " + str(detail)[:600], flush=True)


def nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def atomic_write(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)


# ---- servers ----

async def serve(d):
    nofile(8192)
    held = [0]

    async def up(r, w):
        # Hashes everything up to EOF, then answers: the client has
        # half-closed and must still get this.
        h = hashlib.sha256()
        n = 0
        try:
            while True:
                b = await r.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
            w.write(("%s %d\n" % (h.hexdigest(), n)).encode())
            await w.drain()
        except OSError:
            pass
        w.close()

    async def down(r, w):
        # "N ID\n": N random bytes, then our half-close, then whatever the
        # client still sends, noted in down-ID.json.
        try:
            line = await r.readline()
            n, ident = line.decode().split()
            n = int(n)
            h = hashlib.sha256()
            left = n
            while left:
                b = os.urandom(min(left, 1 << 20))
                h.update(b)
                w.write(b)
                await w.drain()
                left -= len(b)
            w.write_eof()
            after = b""
            while True:
                b = await r.read(65536)
                if not b:
                    break
                after += b
            atomic_write(os.path.join(d, "down-%s.json" % ident),
                         json.dumps({"sha": h.hexdigest(), "n": n,
                                     "after": after.decode("latin-1")}))
        except (OSError, ValueError):
            pass
        w.close()

    async def banner(r, w):
        # Speaks first, as SMTP does, then reads to EOF.
        try:
            w.write(b"220 fnguard-test ready\r\n")
            await w.drain()
            while await r.read(65536):
                pass
        except OSError:
            pass
        w.close()

    async def hold(r, w):
        held[0] += 1
        atomic_write(os.path.join(d, "hold.count"), "%d\n" % held[0])
        try:
            while await r.read(65536):
                pass
        except OSError:
            pass
        w.close()

    def counter(tag, reply, one_line):
        async def h(r, w):
            with open(os.path.join(d, "accept-%s.log" % tag), "a") as f:
                f.write("%s\n" % (w.get_extra_info("peername"),))
            try:
                while True:
                    line = await asyncio.wait_for(r.readline(), 5)
                    if one_line or line in (b"", b"\r\n", b"\n"):
                        break
                w.write(reply)
                await w.drain()
            except (OSError, asyncio.TimeoutError):
                pass
            w.close()
        return h

    http = b"HTTP/1.0 200 OK\r\nContent-Length: 8\r\n" \
        b"Connection: close\r\n\r\ncounted\n"
    pool = b'{"id":1,"result":[[["mining.notify","1"]],"00",4],' \
        b'"error":null}\n'
    specs = [(SRV, 7001, up), (SRV, 7002, down), (SRV, 7025, banner)]
    specs += [(SRV, port, hold) for port in HOLD_PORTS]
    specs += [("192.0.2.66", 8080, counter("66-8080", http, False)),
              (SRV, 9999, counter("10-9999", http, False)),
              (SRV, 3333, counter("10-3333", pool, True))]
    servers = []
    for host, port, handler in specs:
        servers.append(await asyncio.start_server(handler, host, port,
                                                  backlog=4096))
    print("ready", flush=True)
    await asyncio.Event().wait()


# ---- clients ----

def outcome(s, limit=5.0):
    """Reads to the end: 'reset', 'eof <n> <first line>' or 'timeout'."""
    s.settimeout(limit)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except ConnectionResetError:
        return "reset" if not got else "reset-after %d" % len(got)
    except socket.timeout:
        return "timeout %d" % len(got)
    first = got.split(b"\n")[0].decode("latin-1").strip()
    return ("eof %d %s" % (len(got), first)).strip()


def probe(host, port, payload, src=None, mark=None):
    """Connects (from src, with SO_MARK mark), sends payload, prints how
    the connection ended."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if mark:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, int(mark))
    if src:
        s.bind((src, 0))
    s.settimeout(5)
    try:
        s.connect((host, int(port)))
    except ConnectionResetError:
        # Accepted by the kernel, reset before connect() returned.
        print("reset")
        return
    except OSError as e:
        print("connect-failed %s" % errno.errorcode.get(e.errno, e.errno))
        return
    try:
        s.sendall(payload)
    except (BrokenPipeError, ConnectionResetError):
        print("reset")
        return
    print(outcome(s))
    s.close()


def c_up(n, label):
    t0 = time.monotonic()
    s = socket.create_connection((SRV, 7001), timeout=30)
    h = hashlib.sha256()
    # A plain first line, so that the proxy's peek decides at once and no
    # random prefix can look like TLS, HTTP or stratum.
    head = b"UPLOAD %d\n" % n
    h.update(head)
    s.sendall(head)
    left = n
    while left:
        b = os.urandom(min(left, 1 << 20))
        h.update(b)
        s.sendall(b)
        left -= len(b)
    s.shutdown(socket.SHUT_WR)
    r = outcome(s, 30)
    dt = time.monotonic() - t0
    want = "eof %d %s %d" % (65 + len(str(len(head) + n)) + 1,
                             h.hexdigest(), len(head) + n)
    report(r == want, "%s: the server hashed the %d bytes sent (sha256 "
           "%s...) and its reply, sent after our shutdown(SHUT_WR), came "
           "back (%.2f s)" % (label, len(head) + n, h.hexdigest()[:12], dt),
           "got %r, want %r" % (r, want))
    s.close()


def c_down(n, ident, d, label):
    t0 = time.monotonic()
    s = socket.create_connection((SRV, 7002), timeout=30)
    s.sendall(b"%d %s\n" % (n, ident.encode()))
    h = hashlib.sha256()
    got = 0
    state = "eof"
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            h.update(b)
            got += len(b)
    except OSError as e:
        state = "error %s" % e
    after = "after half-close %s" % ident
    sent_after = True
    try:
        s.sendall(after.encode())
        s.shutdown(socket.SHUT_WR)
    except OSError:
        sent_after = False
    path = os.path.join(d, "down-%s.json" % ident)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    dt = time.monotonic() - t0
    s.close()
    try:
        res = json.load(open(path))
    except (OSError, ValueError):
        res = {}
    report(state == "eof" and got == n and res.get("sha") == h.hexdigest(),
           "%s: %d bytes from the server arrived unchanged (sha256 %s...) "
           "up to its half-close (%.2f s)" % (label, n,
                                              h.hexdigest()[:12], dt),
           "state %s, got %d bytes, sha %s, server %r" %
           (state, got, h.hexdigest(), res.get("sha")))
    report(sent_after and res.get("after") == after,
           "%s: after the server's half-close the client still sent %r "
           "and the server read it" % (label, after),
           "server read %r" % res.get("after"))


def c_idle(n, curl, want, countfile):
    got_limit = nofile(n + 256)
    if got_limit < n + 64:
        report(False, "RLIMIT_NOFILE raised for %d connections" % n,
               "limit %d" % got_limit)
        return
    t0 = time.monotonic()
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        e = s.connect_ex((SRV, 7003))
        if e not in (0, errno.EINPROGRESS):
            report(False, "idle connection %d" % len(socks), os.strerror(e))
            break
        socks.append(s)
    connected = await_connected(socks, 10)
    report(connected == n, "%d idle connections to %s:7003 opened "
           "(%.2f s)" % (n, SRV, time.monotonic() - t0),
           "%d connected" % connected)
    # A new, legitimate connection right away.
    t1 = time.monotonic()
    try:
        r = subprocess.run([curl, "-sS", "--max-time", "5",
                            "http://%s:8080/" % SRV], capture_output=True,
                           text=True, timeout=10)
        out, err = r.stdout.strip(), r.stderr.strip()
    except subprocess.TimeoutExpired:
        out, err = "", "timeout"
    dt = time.monotonic() - t1
    report(out == want and dt < 2.0, "with %d idle connections open, a "
           "new curl http://%s:8080/ gets the file within 2 s (%.3f s)"
           % (n, SRV, dt), "%r %r" % (out, err))
    # The idle ones reach the server once the proxy's peek (1 s) gives up
    # on them.
    held = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            held = int(open(countfile).read())
        except (OSError, ValueError):
            held = 0
        if held >= n:
            break
        time.sleep(0.1)
    dt = time.monotonic() - t0
    report(held >= n and dt < 5.0, "all %d idle connections relayed to "
           "the server within 5 s of being opened (%d after %.2f s)"
           % (n, held, dt))
    # The idle ones are still there: none was reset or closed.
    p = select.poll()
    for s in socks:
        p.register(s.fileno(), select.POLLIN | select.POLLRDHUP)
    bad = p.poll(0)
    report(not bad, "none of the %d idle connections was closed or reset"
           % n, "%d readable or closed" % len(bad))
    for s in socks:
        s.close()


def c_flood(n, secs, readyfile):
    """Opens n connections to SRV:7003 through the proxy (the kernel
    completes them from the listen queue whether or not the proxy accepts
    them), writes how many completed to readyfile, holds them secs
    seconds, then closes them."""
    nofile(n + 64)
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if s.connect_ex((SRV, 7003)) in (0, errno.EINPROGRESS):
            socks.append(s)
    connected = await_connected(socks, 5)
    atomic_write(readyfile, "%d\n" % connected)
    time.sleep(secs)
    for s in socks:
        s.close()


def reuse_socket(port, mark=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mark:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    s.bind((SRV, port))
    return s


def c_shared(port, host, dport):
    """Holds direct (mark 1, not redirected) connections from SRV:port to
    each hold port, and has a child process connect through the proxy from
    the same local address and port to host:dport. Prints the child's pid
    and outcome."""
    held = []
    for hp in HOLD_PORTS:
        s = reuse_socket(port, 1)
        s.connect((SRV, hp))
        held.append(s)
    r = subprocess.run([sys.executable, sys.argv[0], "sharedchild",
                        str(port), host, dport], capture_output=True,
                       text=True, timeout=10)
    print(r.stdout.strip())
    if r.stderr.strip():
        print("#   " + r.stderr.strip()[:300])
    for s in held:
        s.close()


def c_sharedchild(port, host, dport):
    c = reuse_socket(port)
    c.settimeout(5)
    try:
        c.connect((host, int(dport)))
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        res = outcome(c)
    except ConnectionResetError:
        res = "reset"
    print("%d %s" % (os.getpid(), res))


def c_banner():
    """Twice: connects to the server that speaks first, says nothing
    until its banner line has come, then quits. Prints the banners."""
    got = []
    for _ in range(2):
        s = socket.create_connection((SRV, 7025), timeout=5)
        f = s.makefile("rb")
        try:
            got.append(f.readline().decode("latin-1").strip())
        except socket.timeout:
            got.append("timeout")
        s.sendall(b"QUIT\r\n")
        f.close()
        s.close()
    print("|".join(got))


def c_splithello(name):
    """A TLS ClientHello naming name, sent to SRV:8443 in two writes
    0.2 s apart (so in two segments; Nagle on, as sockets start): prints
    'handshake' when a TLS handshake record comes back, else how the
    connection ended."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    s = socket.create_connection((SRV, 8443), timeout=5)
    try:
        s.sendall(hello[:40])
        time.sleep(0.2)
        s.sendall(hello[40:])
        first = s.recv(5)
    except ConnectionResetError:
        print("reset")
        return
    except socket.timeout:
        print("timeout")
        return
    if first[:1] == b"\x16":
        print("handshake")
    else:
        print(outcome(s) if first else "eof 0")
    s.close()


def c_timewait(port, host, dport):
    """Leaves TIME_WAIT sockets on SRV:port (direct connections to each
    hold port that we close first), then connects from the same address
    and port through the proxy to host:dport."""
    for hp in HOLD_PORTS:
        s = reuse_socket(port, 1)
        s.connect((SRV, hp))
        s.close()
    time.sleep(0.2)
    c = reuse_socket(port)
    c.settimeout(5)
    try:
        c.connect((host, int(dport)))
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        print(outcome(c))
    except ConnectionResetError:
        print("reset")


def c_nodelay(pid, port):
    """Holds a connection through the proxy to SRV:port and looks at the
    daemon's (pid) two sockets of it, taken with pidfd_getfd(2): prints
    TCP_NODELAY of the client's side, then of the upstream side."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    c = socket.create_connection((SRV, int(port)), timeout=5)
    time.sleep(0.3)
    me = c.getsockname()[:2]
    pidfd = libc.syscall(434, int(pid), 0)          # pidfd_open
    if pidfd < 0:
        print("pidfd_open: " + os.strerror(ctypes.get_errno()))
        return
    found = {}
    for name in os.listdir("/proc/%s/fd" % pid):
        try:
            if not os.readlink("/proc/%s/fd/%s" % (pid, name)).startswith(
                    "socket:"):
                continue
        except OSError:
            continue
        fd = libc.syscall(438, pidfd, int(name), 0)  # pidfd_getfd
        if fd < 0:
            continue
        s = socket.socket(fileno=fd)
        try:
            peer = s.getpeername()[:2]
        except OSError:
            peer = None
        if peer == me:
            found["client"] = s.getsockopt(socket.IPPROTO_TCP,
                                           socket.TCP_NODELAY)
        elif peer == (SRV, int(port)):
            found["upstream"] = s.getsockopt(socket.IPPROTO_TCP,
                                             socket.TCP_NODELAY)
        s.close()
    os.close(pidfd)
    print("%s %s" % (found.get("client", "none"),
                     found.get("upstream", "none")))
    c.close()


cmd = sys.argv[1]
if cmd == "serve":
    asyncio.run(serve(sys.argv[2]))
elif cmd == "probe":
    probe(sys.argv[2], sys.argv[3],
          sys.argv[4].encode().decode("unicode_escape").encode("latin-1"),
          *sys.argv[5:])
elif cmd == "stratum":
    probe(SRV, 3333, STRATUM)
elif cmd == "up":
    c_up(int(sys.argv[2]), sys.argv[3])
elif cmd == "down":
    c_down(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
elif cmd == "idle":
    c_idle(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
elif cmd == "shared":
    c_shared(int(sys.argv[2]), sys.argv[3], sys.argv[4])
elif cmd == "sharedchild":
    c_sharedchild(int(sys.argv[2]), sys.argv[3], sys.argv[4])
elif cmd == "flood":
    c_flood(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
elif cmd == "splithello":
    c_splithello(sys.argv[2])
elif cmd == "banner":
    c_banner()
elif cmd == "timewait":
    c_timewait(int(sys.argv[2]), sys.argv[3], sys.argv[4])
elif cmd == "nodelay":
    c_nodelay(sys.argv[2], sys.argv[3])
EOF

pyx() {	# SECONDS ARGS...: the Python helper inside the namespace
	_s=$1
	shift
	run_ns "$_s" "$PY" "$T/px.py" "$@"
}

# ---- helpers ----

# jl FILE EXPR: a Python expression over recs (the JSON lines of FILE
# that parse as objects), printed.
jl() {
	"$PY" "$TOP_SRCDIR/tests/integration/aq.py" "$1" eval "$2"
}

_jl_true() {
	[ "$(jl "$1" "$2")" = True ]
}

# wait_jl SECONDS FILE EXPR: until EXPR prints True.
wait_jl() {
	wait_for "$1" _jl_true "$2" "$3"
}

# afields FILE PID FIELD...: waits (3 s) for an audit record of PID in
# FILE and prints the fields of the first one, separated by "|".
afields() {
	_f=$1
	_p=$2
	shift 2
	_sel="[r for r in recs if r.get('pid') == $_p]"
	wait_jl 3 "$_f" "len($_sel) > 0"
	jl "$_f" "'|'.join(str($_sel[0].get(k)) for k in '$*'.split()) \
if $_sel else 'no audit record for pid $_p'"
}

# Live verdicts, by the client's PID: what the client saw (refused or
# not); replay must give the same for the connect events of that PID.
LIVE_D=
LIVE_R=
live_d() { LIVE_D="$LIVE_D '$1': '$2',"; }
live_r() { LIVE_R="$LIVE_R '$1': '$2',"; }

# refused DESC: the last curl was refused: the proxy accepted the
# connection, then reset or closed it. curl says 56 (receive failure:
# reset), 52 (empty reply), 55 (send failure), 35 (TLS), or 7 when the
# reset came before it saw its connect complete.
refused() {
	case $RC in
	7 | 35 | 52 | 55 | 56)
		ok "$1 (curl status $RC)"
		;;
	*)
		not_ok "$1"
		echo "#  curl status $RC"
		show "$OUT"
		show "$ERR"
		;;
	esac
}

ccurl() {	# ARGS...: curl inside the namespace, 5 s at most
	run_ns 10 curl -sS --max-time 5 "$@"
}

count_lines() {	# FILE: its lines, 0 when missing
	if [ -f "$1" ]; then
		grep -c . "$1"
	else
		echo 0
	fi
}

# An http.server log line per request.
http_requests() {	# LOG
	grep -c '"GET ' "$1"
}

start_daemon() {	# VAR LOG ARGS...: a daemon, until it says it is ready
	_dv=$1
	_dl=$2
	shift 2
	start_bg "$_dv" "$_dl" "$FNGUARD" daemon "$@"
	wait_for 10 grep -q 'daemon: ready' "$_dl"
}

# ---- start everything ----

start_bg NSD_PID "$T/nsd.out" nsd -d -c "$T/nsd.conf"
start_bg HTTP1_PID "$T/http1.log" "$PY" -m http.server --bind 192.0.2.10 \
    --directory "$T/www1" 8080
start_bg HTTP2_PID "$T/http2.log" "$PY" -m http.server --bind 192.0.2.99 \
    --directory "$T/www2" 8080
start_bg HTTP3_PID "$T/http3.log" "$PY" -m http.server --bind 127.0.0.1 \
    --directory "$T/www3" 8081
start_bg TLS_PID "$T/tls.log" openssl s_server -accept 192.0.2.10:8443 \
    -www -cert "$T/cert.pem" -key "$T/key.pem"
start_bg SRV_PID "$T/srv.log" "$PY" "$T/px.py" serve "$T/srv"
if wait_port 10 udp 127.0.0.53 5300 && wait_port 10 tcp 192.0.2.10 8080 &&
    wait_port 10 tcp 192.0.2.99 8080 && wait_port 10 tcp 127.0.0.1 8081 &&
    wait_port 10 tcp 192.0.2.10 8443 && wait_port 10 tcp 192.0.2.10 3333 &&
    wait_port 5 tcp 192.0.2.66 8080 && wait_port 5 tcp 192.0.2.10 7003; then
	ok "nsd, HTTP, TLS and Python servers listen in $NS"
else
	not_ok "nsd, HTTP, TLS and Python servers listen in $NS"
	show "$(cat "$T/nsd.out" "$T/nsd.log" "$T/http1.log" "$T/tls.log" \
	    "$T/srv.log" 2>/dev/null)"
	finish
fi

# ==== daemon 1: requireResolved, relayed through user space ====

AUDIT_R=$T/audit-resolved.jsonl
RECORD_R=$T/record-resolved.jsonl
LOG_R=$T/daemon-resolved.log
if start_daemon DAEMON_R_PID "$LOG_R" --policy "$POLICY2" \
    --dns-listen 127.0.0.1:53 --upstream 127.0.0.53:5300 \
    --proxy-listen 127.0.0.1:15001 --mark 1 --no-splice --no-ack-hold \
    --audit "$AUDIT_R" --record "$RECORD_R" &&
    wait_port 5 tcp 127.0.0.1 15001 && wait_port 5 udp 127.0.0.1 53; then
	ok "daemon (requireResolved, --no-splice): resolver on 127.0.0.1:53, \
proxy on 127.0.0.1:15001"
else
	not_ok "daemon (requireResolved, --no-splice): resolver on \
127.0.0.1:53, proxy on 127.0.0.1:15001"
	show "$(cat "$LOG_R")"
	finish
fi
echo "# daemon RLIMIT_NOFILE: $(awk '/^Max open files/ { print $4 }' \
    "/proc/$DAEMON_R_PID/limits")"

ccurl http://192.0.2.10:8080/
RR_PID=$RUN_PID
live_r "$RUN_PID" prevent
refused "requireResolved: curl http://192.0.2.10:8080/ before any DNS \
answer is refused"
assert_eq "requireResolved: audit attackType, effect, type, ruleName, \
processPath, pid, ip, port" \
    "explicitlyDeniedIP|prevent|network|proxy-resolved|$CURL|$RR_PID|192.0.2.10|8080" \
    "$(afields "$AUDIT_R" "$RR_PID" attackType effect type ruleName \
    processPath pid ip port)"
assert_eq "requireResolved: audit msg (SPEC 4, exact)" \
    "Outbound connection $CURL to IP 192.0.2.10 is explicitly denied by a runtime rule" \
    "$(afields "$AUDIT_R" "$RR_PID" msg)"
run_ns 10 getent hosts s3.amazon.com
assert_eq "getent hosts s3.amazon.com (through fnguard): 192.0.2.10" \
    192.0.2.10 "$(printf '%s\n' "$OUT" | awk 'NR == 1 { print $1 }')"
ccurl http://192.0.2.10:8080/
live_r "$RUN_PID" allow
assert_eq "requireResolved: after that answer, curl http://192.0.2.10:8080/ \
gets the file" "$S3_INDEX" "$OUT"
ccurl http://s3.amazon.com:8080/
live_r "$RUN_PID" allow
assert_eq "requireResolved: curl http://s3.amazon.com:8080/ gets the file" \
    "$S3_INDEX" "$OUT"
ccurl http://192.0.2.99:8080/
live_r "$RUN_PID" prevent
refused "requireResolved: 192.0.2.99, never resolved, is refused"

pyx 20 up 1000 "user space, half-close (client first)"
tally <<<"$OUT"
live_r "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
pyx 20 down 1000 u1 "$T/srv" "user space, half-close (server first)"
tally <<<"$OUT"
live_r "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
# No Nagle delay of the relay's own: TCP_NODELAY on both of its sockets
# (non-zero: set), read from the daemon's own descriptors.
pyx 10 nodelay "$DAEMON_R_PID" 7003
assert_match "relay: TCP_NODELAY on the client's and the upstream socket \
($OUT)" "$OUT" '^[1-9][0-9]* [1-9][0-9]*$'
pyx 60 up 104857600 "user space, 100 MB upload"
tally <<<"$OUT"
live_r "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
pyx 60 down 104857600 u2 "$T/srv" "user space, 100 MB download"
tally <<<"$OUT"
live_r "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
RSS_KB=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$DAEMON_R_PID/status" \
    2>/dev/null)
assert_lt "user-space relay: daemon RSS under 64 MB after 200 MB relayed \
(${RSS_KB:-?} kB; backpressure)" "${RSS_KB:-999999}" 65536
check "daemon (requireResolved) still running" alive "$DAEMON_R_PID"
stop_pid "$DAEMON_R_PID" 5
assert_eq "daemon (requireResolved) exits 0 on SIGTERM" 0 "$STOP_RC"
# --no-ack-hold: every connection above was relayed without a held ACK.
SUMMARY=$(grep 'fnguard: proxy: .* connections accepted' "$LOG_R")
assert_match "daemon (requireResolved, --no-ack-hold) relayed connections \
and held no ACK ($SUMMARY)" "$SUMMARY" \
    ' [1-9][0-9]* relayed, .* 0 connects with the last ACK held, 0 sent alone'

# ==== daemon 2: the deny lists, relayed with splice ====

AUDIT=$T/audit.jsonl
RECORD=$T/record.jsonl
DAEMON_LOG=$T/daemon.log
if start_daemon DAEMON_PID "$DAEMON_LOG" --policy "$POLICY" \
    --dns-listen 127.0.0.1:53 --upstream 127.0.0.53:5300 \
    --proxy-listen 127.0.0.1:15001 --mark 1 --audit "$AUDIT" \
    --record "$RECORD" &&
    wait_port 5 tcp 127.0.0.1 15001 && wait_port 5 udp 127.0.0.1 53; then
	ok "daemon (deny lists): resolver on 127.0.0.1:53, proxy on \
127.0.0.1:15001"
else
	not_ok "daemon (deny lists): resolver on 127.0.0.1:53, proxy on \
127.0.0.1:15001"
	show "$(cat "$DAEMON_LOG")"
	finish
fi

# ---- allowed destinations pass ----

ccurl http://192.0.2.10:8080/
live_d "$RUN_PID" allow
assert_eq "curl http://192.0.2.10:8080/ (allowed IP and port) gets the file" \
    "$S3_INDEX" "$OUT"
ccurl http://s3.amazon.com:8080/
live_d "$RUN_PID" allow
assert_eq "curl http://s3.amazon.com:8080/ (through fnguard's resolver) \
gets the file" "$S3_INDEX" "$OUT"

# A server that speaks first (SMTP-like), under a policy that peeks at
# the client's first bytes: this client sends none until the banner
# comes, so the proxy judges it when the peek's second is up (no name on
# the wire), then connects. (Daemon 4, which does not peek, runs it too.)
pyx 15 banner
assert_eq "a server that speaks first: its banner reaches a silent client \
through the peeking proxy, twice" \
    "220 fnguard-test ready|220 fnguard-test ready" "$OUT"

# ---- denied IP ----

ccurl http://192.0.2.66:8080/
CURL_IP_PID=$RUN_PID
live_d "$RUN_PID" prevent
refused "curl http://192.0.2.66:8080/ (blacklistIPs) is refused"
assert_eq "192.0.2.66: curl printed nothing" "" "$OUT"
assert_eq "192.0.2.66: the server there never saw a connection" 0 \
    "$(count_lines "$T/srv/accept-66-8080.log")"
assert_eq "192.0.2.66: audit attackType, effect, type, ruleName, \
processPath, pid, ip, port" \
    "explicitlyDeniedIP|prevent|network|proxy-test|$CURL|$CURL_IP_PID|192.0.2.66|8080" \
    "$(afields "$AUDIT" "$CURL_IP_PID" attackType effect type ruleName \
    processPath pid ip port)"
assert_eq "192.0.2.66: audit msg (SPEC 4, exact)" \
    "Outbound connection $CURL to IP 192.0.2.66 is explicitly denied by a runtime rule" \
    "$(afields "$AUDIT" "$CURL_IP_PID" msg)"
ccurl http://evilamazon.com:8080/
live_d "$RUN_PID" prevent
refused "curl http://evilamazon.com:8080/ (resolves to 192.0.2.66) is \
refused"

# ---- denied port ----

ccurl http://192.0.2.10:9999/
CURL_PORT_PID=$RUN_PID
live_d "$RUN_PID" prevent
refused "curl http://192.0.2.10:9999/ (blacklistOutboundPorts) is refused"
assert_eq "port 9999: the server there never saw a connection" 0 \
    "$(count_lines "$T/srv/accept-10-9999.log")"
assert_eq "port 9999: audit attackType, effect, processPath, pid, ip, port" \
    "explicitlyDeniedOutboundPort|prevent|$CURL|$CURL_PORT_PID|192.0.2.10|9999" \
    "$(afields "$AUDIT" "$CURL_PORT_PID" attackType effect processPath pid \
    ip port)"
assert_eq "port 9999: audit msg (SPEC 4, exact)" \
    "Outbound connection $CURL to port 9999 (IP: 192.0.2.10) is explicitly denied by a runtime rule." \
    "$(afields "$AUDIT" "$CURL_PORT_PID" msg)"

# ---- names on the wire: TLS SNI ----

run_ns 10 openssl s_client -brief -connect 192.0.2.10:8443 \
    -servername www.yahoo.com
SNI_PID=$RUN_PID
live_d "$RUN_PID" prevent
assert_ne "s_client -servername www.yahoo.com to 192.0.2.10:8443: fails" \
    0 "$RC"
assert_not_contains "s_client -servername www.yahoo.com: no handshake" \
    "$OUT$ERR" "CONNECTION ESTABLISHED"
assert_eq "SNI www.yahoo.com: audit attackType, effect, processPath, pid, \
domain, ip, port" \
    "explicitlyDeniedDNS|prevent|$OPENSSL|$SNI_PID|www.yahoo.com|192.0.2.10|8443" \
    "$(afields "$AUDIT" "$SNI_PID" attackType effect processPath pid domain \
    ip port)"
assert_eq "SNI www.yahoo.com: audit msg (fnguard's extension)" \
    "Outbound connection $OPENSSL to domain www.yahoo.com (IP: 192.0.2.10) is explicitly denied by a runtime rule." \
    "$(afields "$AUDIT" "$SNI_PID" msg)"

run_ns 10 openssl s_client -brief -connect 192.0.2.10:8443 \
    -servername s3.amazon.com
live_d "$RUN_PID" allow
assert_status "s_client -servername s3.amazon.com: exits 0" 0
assert_contains "s_client -servername s3.amazon.com: the handshake \
completes" "$OUT$ERR" "CONNECTION ESTABLISHED"
assert_contains "s_client -servername s3.amazon.com: the server's \
certificate (CN s3.amazon.com) came through" "$OUT$ERR" "CN = s3.amazon.com"
ccurl -k https://s3.amazon.com:8443/
live_d "$RUN_PID" allow
assert_contains "curl -k https://s3.amazon.com:8443/ gets s_server's page" \
    "$OUT" "s_server"

# A ClientHello in two segments (40 bytes, then the rest 0.2 s later): the
# peek waits for the whole hello and judges its name.
pyx 15 splithello www.yahoo.com
live_d "$RUN_PID" prevent
assert_match "a ClientHello for www.yahoo.com split across two segments \
is refused ($OUT)" "$OUT" '^(reset|eof 0)$'
pyx 15 splithello s3.amazon.com
live_d "$RUN_PID" allow
assert_eq "a ClientHello for s3.amazon.com split across two segments gets \
the server's handshake" "handshake" "$OUT"

# ---- names on the wire: HTTP Host ----

_before=$(http_requests "$T/http1.log")
ccurl -H 'Host: www.yahoo.com' http://192.0.2.10:8080/
HOST_PID=$RUN_PID
live_d "$RUN_PID" prevent
refused "curl -H 'Host: www.yahoo.com' http://192.0.2.10:8080/ is refused"
assert_eq "Host www.yahoo.com: no request reached the server" "$_before" \
    "$(http_requests "$T/http1.log")"
assert_eq "Host www.yahoo.com: audit attackType, effect, processPath, pid, \
domain, ip, port" \
    "explicitlyDeniedDNS|prevent|$CURL|$HOST_PID|www.yahoo.com|192.0.2.10|8080" \
    "$(afields "$AUDIT" "$HOST_PID" attackType effect processPath pid domain \
    ip port)"
assert_eq "Host www.yahoo.com: audit msg" \
    "Outbound connection $CURL to domain www.yahoo.com (IP: 192.0.2.10) is explicitly denied by a runtime rule." \
    "$(afields "$AUDIT" "$HOST_PID" msg)"
ccurl -H 'Host: s3.amazon.com' http://192.0.2.10:8080/
live_d "$RUN_PID" allow
assert_eq "curl -H 'Host: s3.amazon.com' http://192.0.2.10:8080/ gets the \
file" "$S3_INDEX" "$OUT"
_before=$(http_requests "$T/http2.log")
ccurl http://yahoo.com:8080/
YAHOO_PID=$RUN_PID
live_d "$RUN_PID" prevent
refused "curl http://yahoo.com:8080/ (resolved, Host yahoo.com) is refused"
assert_eq "Host yahoo.com: no request reached 192.0.2.99" "$_before" \
    "$(http_requests "$T/http2.log")"
assert_eq "Host yahoo.com: audit attackType, domain, ip" \
    "explicitlyDeniedDNS|yahoo.com|192.0.2.99" \
    "$(afields "$AUDIT" "$YAHOO_PID" attackType domain ip)"

# ---- stratum ----

pyx 10 stratum
MINER_PID=$RUN_PID
live_d "$RUN_PID" prevent
assert_match "stratum mining.subscribe to 192.0.2.10:3333 is refused \
(reset or closed, no pool answer): $OUT" "$OUT" '^(reset|eof 0)$'
assert_eq "stratum: the pool server never saw a connection" 0 \
    "$(count_lines "$T/srv/accept-10-3333.log")"
assert_eq "stratum: audit attackType, effect, processPath, pid, ip, port" \
    "cryptoMinerProcess|prevent|$PYEXE|$MINER_PID|192.0.2.10|3333" \
    "$(afields "$AUDIT" "$MINER_PID" attackType effect processPath pid ip \
    port)"
assert_match "stratum: audit msg is SPEC's crypto miner message" \
    "$(afields "$AUDIT" "$MINER_PID" msg)" \
    "^$PYEXE launched and is identified as a crypto miner\\. Full command: .*px\\.py stratum"
# Control: a JSON line that is not a miner's, to the same server, passes.
pyx 10 probe 192.0.2.10 3333 '{"id":1,"method":"ping","params":[]}\n'
live_d "$RUN_PID" allow
assert_match "control: a JSON line with method ping to :3333 is relayed \
(the pool answers)" "$OUT" '^eof [0-9]+ \{"id":1,"result"'

# ---- no original destination ----

pyx 10 probe 127.0.0.1 15001 'GET / HTTP/1.0\r\nHost: s3.amazon.com\r\n\r\n'
assert_match "a connection straight to 127.0.0.1:15001 (no original \
destination) is refused: $OUT" "$OUT" '^(reset|eof 0)$'
_no_proxy_conns() {
	[ -z "$(nsx ss -Htn state established '( dport = :15001 )')" ]
}
check "127.0.0.1:15001: not relayed (no connection to the proxy stays \
open)" wait_for 2 _no_proxy_conns
assert_eq "127.0.0.1:15001: nothing recorded for it" "[]" \
    "$(jl "$RECORD" "[r for r in recs if r.get('port') == 15001]")"
check "daemon still running after a connection without a destination" \
    alive "$DAEMON_PID"

# ---- the process behind a connection ----

# Other sockets of another process on the same local address and port
# (allowed with SO_REUSEADDR while none listens, and what the kernel's
# own port choice does for connections to different destinations): 16
# of them, each to another port, so that a lookup by local address and
# port alone picks the wrong one most of the time.
pyx 15 shared 61001 192.0.2.66 8080
SH_HOLDER=$RUN_PID
read -r SH_PID SH_OUT <<<"$(printf '%s\n' "$OUT" | head -n 1)"
live_d "$SH_PID" prevent
assert_match "shared local port: the child's connection to 192.0.2.66 is \
refused ($SH_OUT)" "$SH_OUT" '^(reset|eof 0)$'
wait_jl 3 "$AUDIT" "any(r.get('ip') == '192.0.2.66' and r.get('pid') != \
$CURL_IP_PID for r in recs)"
assert_eq "shared local port: the audit names the child that connected \
(pid $SH_PID), not the process holding the other socket (pid $SH_HOLDER)" \
    "$PYEXE|$SH_PID" \
    "$(jl "$AUDIT" "next(('%s|%s' % (r.get('processPath'), r.get('pid')) \
for r in recs if r.get('ip') == '192.0.2.66' and r.get('pid') in \
($SH_PID, $SH_HOLDER)), 'none')")"
# TIME_WAIT sockets (16) left on the local address and port by earlier
# connections to elsewhere.
pyx 15 timewait 61002 192.0.2.10 9999
TW_PID=$RUN_PID
live_d "$TW_PID" prevent
assert_match "TIME_WAIT on the local port: the connection to port 9999 is \
refused ($OUT)" "$OUT" '^(reset|eof 0)$'
if wait_jl 3 "$AUDIT" "len([r for r in recs if r.get('port') == 9999]) > 1"
then
	assert_eq "TIME_WAIT on the local port: the audit still names the \
process (pid $TW_PID)" "$PYEXE|$TW_PID" \
	    "$(jl "$AUDIT" "'%s|%s' % next((r.get('processPath'), \
r.get('pid')) for r in recs[::-1] if r.get('port') == 9999)")"
else
	not_ok "TIME_WAIT on the local port: audited"
fi

# ---- relay: bytes unchanged, half-close both ways (splice) ----

pyx 20 up 1000 "splice, half-close (client first)"
tally <<<"$OUT"
live_d "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
pyx 20 down 1000 s1 "$T/srv" "splice, half-close (server first)"
tally <<<"$OUT"
live_d "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
pyx 60 up 104857600 "splice, 100 MB upload"
tally <<<"$OUT"
live_d "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
pyx 60 down 104857600 s2 "$T/srv" "splice, 100 MB download"
tally <<<"$OUT"
live_d "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"

# ---- 2,000 idle connections (last: they leave TIME_WAIT sockets) ----

assert_eq "audit: no record names a client whose connections were allowed" \
    "[]" "$(jl "$AUDIT" "sorted(p for p, v in {$LIVE_D}.items() if v == \
'allow' and any(str(r.get('pid')) == p for r in recs))")"
pyx 90 idle 2000 "$CURL" "$S3_INDEX" "$T/srv/hold.count"
tally <<<"$OUT"
live_d "$RUN_PID" allow
[ -z "$ERR" ] || show "$ERR"
check "daemon still running after 2,000 idle connections" alive "$DAEMON_PID"
_curl_ok() {
	ccurl http://192.0.2.10:8080/
	[ "$OUT" = "$S3_INDEX" ]
}
if wait_for 30 _curl_ok; then
	ok "after the idle connections close, curl gets the file"
else
	not_ok "after the idle connections close, curl gets the file"
	show "$ERR"
fi

assert_eq "every stderr line of the daemon starts \"fnguard: \"" "" \
    "$(grep -v '^fnguard: ' "$DAEMON_LOG")"
stop_pid "$DAEMON_PID" 5
assert_eq "daemon (deny lists) exits 0 on SIGTERM" 0 "$STOP_RC"

# ==== daemon 3: inbound ====

AUDIT3=$T/audit-inbound.jsonl
RECORD3=$T/record-inbound.jsonl
DAEMON3_LOG=$T/daemon-inbound.log
if start_daemon DAEMON3_PID "$DAEMON3_LOG" --policy "$POLICY3" \
    --proxy-listen off --dns-listen 127.0.0.2:53 \
    --upstream 127.0.0.53:5300 --inbound 192.0.2.10:9080=127.0.0.1:8081 \
    --audit "$AUDIT3" --record "$RECORD3" &&
    wait_port 5 tcp 192.0.2.10 9080; then
	ok "inbound daemon fronts 127.0.0.1:8081 on 192.0.2.10:9080"
else
	not_ok "inbound daemon fronts 127.0.0.1:8081 on 192.0.2.10:9080"
	show "$(cat "$DAEMON3_LOG")"
	finish
fi
check "inbound daemon: no outbound proxy listening (--proxy-listen off)" \
    eval '! _listening tcp 127.0.0.1 15001'
# The clients carry mark 1, so that the outbound redirect (meant for the
# function's own connections) leaves them alone: they stand for traffic
# arriving from outside.
pyx 10 probe 192.0.2.10 9080 'GET / HTTP/1.0\r\n\r\n' 192.0.2.10 1
assert_match "inbound from 192.0.2.10 (whitelistInboundIPs): HTTP 200" \
    "$OUT" '^eof [0-9]+ HTTP/1\.[01] 200'
_before=$(http_requests "$T/http3.log")
pyx 10 probe 192.0.2.10 9080 'GET / HTTP/1.0\r\n\r\n' 192.0.2.99 1
assert_match "inbound from 192.0.2.99 is refused (reset or closed): $OUT" \
    "$OUT" '^(reset|eof 0)$'
assert_eq "inbound from 192.0.2.99: no request reached the function" \
    "$_before" "$(http_requests "$T/http3.log")"
if wait_jl 3 "$AUDIT3" "any(r.get('ip') == '192.0.2.99' for r in recs)"; then
	assert_eq "inbound from 192.0.2.99: audit attackType, effect, \
ruleName, type" "explicitlyDeniedIP|prevent|proxy-inbound|network" \
	    "$(jl "$AUDIT3" "'|'.join(str([r for r in recs if r.get('ip') == \
'192.0.2.99'][0].get(k)) for k in ('attackType', 'effect', 'ruleName', \
'type'))")"
	assert_match "inbound from 192.0.2.99: audit msg names the source" \
	    "$(jl "$AUDIT3" "[r.get('msg') for r in recs if r.get('ip') == \
'192.0.2.99'][0]")" '^Inbound connection to .* from IP 192\.0\.2\.99 is explicitly denied by a runtime rule'
else
	not_ok "inbound from 192.0.2.99: audited"
	show "$(cat "$AUDIT3" 2>/dev/null)"
fi
assert_eq "inbound: no audit record for the allowed source" "[]" \
    "$(jl "$AUDIT3" "[r.get('msg') for r in recs if r.get('ip') != \
'192.0.2.99']")"
stop_pid "$DAEMON3_PID" 5
assert_eq "inbound daemon exits 0 on SIGTERM" 0 "$STOP_RC"

# ==== daemon 4: out of descriptors ====
# 40 descriptors (prlimit sets the hard limit too, so the daemon cannot
# raise it): about a dozen at rest and two per session, so 40 held
# connections run it out of descriptors before its session cap (16). The
# connections it cannot take wait in the listen queue; a proxy whose
# accept(2) failed with EMFILE and that kept polling the listener would
# burn a core.

POLICY4=$T/policy-fds.json
cat >"$POLICY4" <<'EOF'
{ "rules": [ { "name": "proxy-fds",
    "network": {"effect": "prevent", "blacklistIPs": ["192.0.2.66"]} } ] }
EOF
DAEMON4_LOG=$T/daemon-fds.log
FLOOD_READY=$T/flood.ready
ticks() {	# PID: user + system CPU time, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
nfd() {	# PID: open descriptors
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l
}
fd_at_most() {	# PID N
	[ "$(nfd "$1")" -le "$2" ]
}
start_bg DAEMON4_PID "$DAEMON4_LOG" prlimit --nofile=40:40 "$FNGUARD" \
    daemon --policy "$POLICY4" --proxy-listen 127.0.0.1:15001 --mark 1 \
    --dns-listen 127.0.0.2:53 --upstream 127.0.0.53:5300 \
    --audit "$T/audit-fds.jsonl"
if wait_for 10 grep -q 'daemon: ready' "$DAEMON4_LOG" &&
    wait_port 5 tcp 127.0.0.1 15001; then
	ok "daemon with 40 descriptors is ready"
else
	not_ok "daemon with 40 descriptors is ready"
	show "$(cat "$DAEMON4_LOG")"
	finish
fi
FD4_REST=$(nfd "$DAEMON4_PID")
HOLD_BEFORE=$(cat "$T/srv/hold.count" 2>/dev/null || echo 0)
start_bg FLOOD_PID "$T/flood.log" "$PY" "$T/px.py" flood 40 8 "$FLOOD_READY"
if wait_for 10 test -s "$FLOOD_READY"; then
	assert_eq "40 client connections completed (the kernel's listen \
queue takes what the proxy does not accept)" 40 "$(cat "$FLOOD_READY")"
else
	not_ok "the 40 client connections completed"
	show "$(cat "$T/flood.log")"
fi
sleep 1
assert_le "the daemon ran out of descriptors: at least 38 of its 40 in use \
($FD4_REST at rest)" 38 "$(nfd "$DAEMON4_PID")"
HZ=$(getconf CLK_TCK)
_t0=$(ticks "$DAEMON4_PID")
sleep 2
_t1=$(ticks "$DAEMON4_PID")
# A spinning accept loop: about 2 * HZ ticks. Pausing: next to none.
assert_le "out of descriptors, with connections waiting to be accepted, \
the daemon used at most 5% of a core over 2 s ($((_t1 - _t0)) ticks of \
$HZ a second)" "$((_t1 - _t0))" "$((HZ / 10))"
check "the daemon is still running while out of descriptors" \
    alive "$DAEMON4_PID"
HOLD_HELD=$(cat "$T/srv/hold.count" 2>/dev/null || echo 0)
assert_le "some of the 40 connections were relayed to the server while \
descriptors lasted ($((HOLD_HELD - HOLD_BEFORE)))" 1 \
    "$((HOLD_HELD - HOLD_BEFORE))"
stop_pid "$FLOOD_PID" 5
if wait_for 10 fd_at_most "$DAEMON4_PID" "$FD4_REST"; then
	ok "after the clients closed, the daemon is back to $FD4_REST descriptors"
else
	not_ok "after the clients closed, the daemon is back to $FD4_REST \
descriptors (has $(nfd "$DAEMON4_PID"))"
fi
ccurl http://192.0.2.10:8080/
assert_eq "after that, a new connection is relayed: curl \
http://192.0.2.10:8080/ gets the file" "$S3_INDEX" "$OUT"
# A server that speaks first, with no peek: the proxy connects at once and
# holds the handshake's last ACK for the client's first bytes; this client
# sends none until the banner comes, so the ACK goes when the hold (2 ms)
# ends, and the server is remembered: the second connection is not held.
pyx 15 banner
assert_eq "a server that speaks first: its banner reaches a silent client \
through the proxy's held ACK, twice" \
    "220 fnguard-test ready|220 fnguard-test ready" "$OUT"
stop_pid "$DAEMON4_PID" 5
assert_eq "daemon with 40 descriptors exits 0 on SIGTERM" 0 "$STOP_RC"
# Its counts: the banner's server is the one that spoke first (the held
# connections' clients were silent too, but their servers never spoke).
SUMMARY=$(grep 'fnguard: proxy: .* connections accepted' "$DAEMON4_LOG")
show "$SUMMARY"
assert_eq "daemon 4 remembered one server as speaking first" "1" \
    "$(echo "$SUMMARY" |
    sed -n 's/.* \([0-9]*\) servers remembered as speaking first,.*/\1/p')"
assert_le "daemon 4 sent a held ACK alone at least once (the banner's \
first connection)" 1 \
    "$(echo "$SUMMARY" | sed -n 's/.* \([0-9]*\) sent alone .*/\1/p')"

# ==== daemon 5: a reload denies, then allows again, the fronted port ====
# The function's port (8081), fronted with --inbound, is a listening port
# of the function: a policy reload that puts it in blacklistListeningPorts
# stops the fronting (nothing listens on 192.0.2.10:9081 any more) and is
# audited; the next reload that allows it fronts it again.

POLICY5=$T/policy-listen.json
AUDIT5=$T/audit-listen.jsonl
DAEMON5_LOG=$T/daemon-listen.log
policy5() {	# BLACKLISTED-PORTS: writes POLICY5 (renamed into place)
	cat >"$POLICY5.new" <<EOF
{ "rules": [ { "name": "proxy-listen",
    "network": {"effect": "prevent", "blacklistListeningPorts": [$1]} } ] }
EOF
	mv "$POLICY5.new" "$POLICY5"
}
reloads5() {
	grep -c 'reloaded (SIGHUP)' "$DAEMON5_LOG"
}
more_reloads5() {	# N
	[ "$(reloads5)" -gt "$1" ]
}
reload5() {	# BLACKLISTED-PORTS: new policy, SIGHUP, its reload logged
	_n=$(reloads5)
	policy5 "$1"
	kill -HUP "$DAEMON5_PID"
	wait_for 5 more_reloads5 "$_n"
}
policy5 ""
if start_daemon DAEMON5_PID "$DAEMON5_LOG" --policy "$POLICY5" \
    --proxy-listen off --dns-listen 127.0.0.2:53 \
    --upstream 127.0.0.53:5300 --inbound 192.0.2.10:9081=127.0.0.1:8081 \
    --audit "$AUDIT5" && wait_port 5 tcp 192.0.2.10 9081; then
	ok "daemon 5 fronts 127.0.0.1:8081 on 192.0.2.10:9081"
else
	not_ok "daemon 5 fronts 127.0.0.1:8081 on 192.0.2.10:9081"
	show "$(cat "$DAEMON5_LOG")"
	finish
fi
pyx 10 probe 192.0.2.10 9081 'GET / HTTP/1.0\r\n\r\n' 192.0.2.10 1
assert_match "port 8081 allowed: a request through 192.0.2.10:9081 gets \
HTTP 200" "$OUT" '^eof [0-9]+ HTTP/1\.[01] 200'
check "SIGHUP with port 8081 in blacklistListeningPorts: reloaded" \
    reload5 '{"start": 8081, "end": 8081}'
check "port 8081 denied: nothing listens on 192.0.2.10:9081 any more" \
    eval '! _listening tcp 192.0.2.10 9081'
pyx 10 probe 192.0.2.10 9081 'GET / HTTP/1.0\r\n\r\n' 192.0.2.10 1
assert_eq "port 8081 denied: a connection to 192.0.2.10:9081 is refused" \
    "connect-failed ECONNREFUSED" "$OUT"
_sel="[r for r in recs if r.get('attackType') == \
'explicitlyDeniedListeningPort']"
if wait_jl 3 "$AUDIT5" "len($_sel) > 0"; then
	assert_eq "port 8081 denied: audit attackType, effect, ruleName, \
type, port" "explicitlyDeniedListeningPort|prevent|proxy-listen|network|8081" \
	    "$(jl "$AUDIT5" "'|'.join(str($_sel[0].get(k)) for k in \
('attackType', 'effect', 'ruleName', 'type', 'port'))")"
	assert_eq "port 8081 denied: audit msg (SPEC 4, exact)" \
	    "Process unknown is listening on port 8081 explicitly denied by a runtime rule" \
	    "$(jl "$AUDIT5" "$_sel[0].get('msg')")"
else
	not_ok "port 8081 denied: audited"
	show "$(cat "$AUDIT5" 2>/dev/null)"
fi
check "SIGHUP with port 8081 allowed again: reloaded" reload5 ""
if wait_port 5 tcp 192.0.2.10 9081; then
	ok "port 8081 allowed again: 192.0.2.10:9081 listens again"
else
	not_ok "port 8081 allowed again: 192.0.2.10:9081 listens again"
	show "$(cat "$DAEMON5_LOG")"
fi
pyx 10 probe 192.0.2.10 9081 'GET / HTTP/1.0\r\n\r\n' 192.0.2.10 1
assert_match "port 8081 allowed again: a request through 192.0.2.10:9081 \
gets HTTP 200" "$OUT" '^eof [0-9]+ HTTP/1\.[01] 200'
stop_pid "$DAEMON5_PID" 5
assert_eq "daemon 5 exits 0 on SIGTERM" 0 "$STOP_RC"

# ---- the recordings replay with the same verdicts ----

# replay_check TAG POLICY RECORD LIVE-DICT
replay_check() {
	run_ns 60 "$FNGUARD" replay --policy "$2" --json "$3"
	cp "$T/out" "$T/replay-$1.jsonl"
	assert_status "$1: replay --json exits 0" 0
	assert_eq "$1: replay gives one verdict per recorded event" \
	    "$(grep -c . "$3")" "$(grep -c . "$T/replay-$1.jsonl")"
	[ -n "$4" ] || return 0
	assert_eq "$1: every client's connection is recorded under its pid" \
	    "[]" "$(jl "$T/replay-$1.jsonl" "sorted(p for p in {$4} if not \
any(r.get('event') == 'connect' and str(r.get('pid')) == p for r in recs))")"
	assert_eq "$1: replay gives each client's connect events the live \
verdict (prevent for the refused, allow for the rest)" "[]" \
	    "$(jl "$T/replay-$1.jsonl" "sorted((p, v, sorted(s)) for p, v, s \
in ((p, v, {r.get('verdict') for r in recs if r.get('event') == 'connect' \
and str(r.get('pid')) == p}) for p, v in {$4}.items()) if s and s != {v})")"
}

replay_check resolved "$POLICY2" "$RECORD_R" "$LIVE_R"
replay_check denylist "$POLICY" "$RECORD" "$LIVE_D"
assert_eq "denylist: replay prevents exactly the connects to 192.0.2.66, \
port 9999, *yahoo.com names and the miner" "[]" \
    "$(jl "$T/replay-denylist.jsonl" "[(r.get('ip'), r.get('port'), \
r.get('domain'), r.get('verdict')) for r in recs if r.get('event') == \
'connect' and r.get('verdict') != ('prevent' if r.get('ip') == '192.0.2.66' \
or r.get('port') == 9999 or (r.get('domain') or '').endswith('yahoo.com') \
or r.get('minerProtocol') else 'allow')][:5]")"
assert_eq "denylist: the SNI and Host names are recorded" \
    "True True" "$(jl "$RECORD" "' '.join(str(any(r.get('event') == \
'connect' and r.get('domain') == d and r.get('pid') == p for r in recs)) \
for d, p in (('www.yahoo.com', $SNI_PID), ('www.yahoo.com', $HOST_PID)))")"
assert_eq "denylist: the stratum connect is recorded with minerProtocol" \
    "True" "$(jl "$RECORD" "any(r.get('event') == 'connect' and \
r.get('minerProtocol') is True and r.get('pid') == $MINER_PID for r in \
recs)")"
assert_eq "denylist: the 2,000 idle connects are recorded" "True" \
    "$(jl "$RECORD" "len([r for r in recs if r.get('event') == 'connect' \
and r.get('port') == 7003]) >= 2000")"
replay_check inbound "$POLICY3" "$RECORD3" ""
assert_eq "inbound: replay verdicts of the accept events, by source" \
    "[('192.0.2.10', 'allow'), ('192.0.2.99', 'prevent')]" \
    "$(jl "$T/replay-inbound.jsonl" "sorted({(r.get('ip'), \
r.get('verdict')) for r in recs if r.get('event') == 'accept'})")"

echo "# $(( ($(now_ms) - START_MS) / 1000 )) s"
finish
