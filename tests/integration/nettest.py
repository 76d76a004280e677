# tests/integration/nettest.py: what the Python helpers of dns.sh and
# proxy.sh share (they import it from $TOP_SRCDIR/tests/integration).
import select
import socket
import time


def await_connected(socks, secs):
    """Waits up to secs for the non-blocking connects of socks to end;
    returns how many connected."""
    pending = {s.fileno(): s for s in socks}
    p = select.poll()
    for fd in pending:
        p.register(fd, select.POLLOUT)
    connected = 0
    deadline = time.monotonic() + secs
    while pending and time.monotonic() < deadline:
        for fd, ev in p.poll(200):
            s = pending.pop(fd)
            p.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected += 1
    return connected
