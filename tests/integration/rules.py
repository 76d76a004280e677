"""What the shipped redirect rules do to a function's traffic, seen by
both ends: run inside a network namespace where conf/redirect's rules are
loaded and 192.0.2.10 and 2001:db8::10 are local addresses.

    rules.py CASE ...

Prints one line per case, "CASE RESULT":
  tcp4, tcp6        TCP to 192.0.2.10:8080 / [2001:db8::10]:8080 arrives
                    at the proxy's port (127.0.0.1 / ::1, 15001): RESULT is
                    "proxy ORIGINAL-DESTINATION" (SO_ORIGINAL_DST), or
                    "direct" when the server on the address itself got it
  tcp4-marked       the same with SO_MARK 1 (fnguard's own traffic)
  tcp4-loopback     TCP to 127.0.0.1:8081
  dns4-tcp          TCP to 192.0.2.10:53, and fnguard's port is 53
  udp4, udp6        UDP to port 9053 of the address: RESULT is what two
  udp4-marked       sends returned ("sent" or the errno name) and whether
  udp4-loopback     a server there got a datagram ("delivered" or
  dns4, dns6        "not-delivered"); dns4/dns6 send to port 53 and
                    listen on loopback's
"""
import errno
import select
import socket
import struct
import sys

A4, A6 = "192.0.2.10", "2001:db8::10"
SO_ORIGINAL_DST = 80		# IP6T_SO_ORIGINAL_DST is the same number


def listener(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    return s


def original(conn, fam):
    if fam == socket.AF_INET:
        raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, = struct.unpack("!H", raw[2:4])
        return "%s:%d" % (socket.inet_ntop(fam, raw[4:8]), port)
    raw = conn.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
    port, = struct.unpack("!H", raw[2:4])
    return "[%s]:%d" % (socket.inet_ntop(fam, raw[8:24]), port)


def tcp(fam, dst, port, proxy, mark=0, proxy_port=15001):
    """Connects to dst:port; which listener got it: fnguard's (on
    proxy:proxy_port) or the destination's own."""
    lp = listener(fam, proxy, proxy_port)
    ld = listener(fam, dst, port)
    c = socket.socket(fam, socket.SOCK_STREAM)
    try:
        if mark:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        c.settimeout(2)
        try:
            c.connect((dst, port))
        except OSError as e:
            return "connect-" + errno.errorcode.get(e.errno, str(e.errno))
        ready, _, _ = select.select([lp, ld], [], [], 2)
        if lp in ready:
            conn, _ = lp.accept()
            with conn:
                return "proxy " + original(conn, fam)
        if ld in ready:
            return "direct"
        return "nobody"
    finally:
        for s in (c, lp, ld):
            s.close()


def udp(fam, dst, port, server, mark=0):
    srv = socket.socket(fam, socket.SOCK_DGRAM)
    c = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        srv.bind((server, port))
        srv.settimeout(1)
        if mark:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        c.connect((dst, port))
        seen = []
        for _ in range(2):
            try:
                c.send(b"probe")
                seen.append("sent")
            except OSError as e:
                seen.append(errno.errorcode.get(e.errno, str(e.errno)))
        try:
            srv.recv(64)
            seen.append("delivered")
        except socket.timeout:
            seen.append("not-delivered")
        return " ".join(seen)
    finally:
        c.close()
        srv.close()


F4, F6 = socket.AF_INET, socket.AF_INET6
CASES = {
    "tcp4": lambda: tcp(F4, A4, 8080, "127.0.0.1"),
    "tcp6": lambda: tcp(F6, A6, 8080, "::1"),
    "tcp4-marked": lambda: tcp(F4, A4, 8080, "127.0.0.1", mark=1),
    "tcp4-loopback": lambda: tcp(F4, "127.0.0.1", 8081, "127.0.0.1"),
    "dns4-tcp": lambda: tcp(F4, A4, 53, "127.0.0.1", proxy_port=53),
    "udp4": lambda: udp(F4, A4, 9053, A4),
    "udp6": lambda: udp(F6, A6, 9053, A6),
    "udp4-marked": lambda: udp(F4, A4, 9053, A4, mark=1),
    "udp4-loopback": lambda: udp(F4, "127.0.0.1", 9053, "127.0.0.1"),
    "dns4": lambda: udp(F4, A4, 53, "127.0.0.1"),
    "dns6": lambda: udp(F6, A6, 53, "::1"),
}

for name in sys.argv[1:]:
    print(name, CASES[name]())
    sys.stdout.flush()
