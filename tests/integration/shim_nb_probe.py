#!/usr/bin/env python3
"""Non-blocking connects under the client shim, against shim_slow_gw.py
(which holds each CONNECT reply for DELAY seconds).  Run under socks64 with
the stand-in as the gateway:

    shim_nb_probe.py MODE PORT DELAY

Modes (each prints one result line; anything else is a failure reason):
  poll | select | epoll   connect() returns EINPROGRESS at once, the socket
                          is not writable before the reply, EALREADY during
                          and EISCONN after, SO_ERROR 0, getpeername is the
                          synthetic address, the fd flags never change, data
                          goes through after                      -> "ok"
  refuse-poll | refuse-select | refuse-epoll
                          REP 5 surfaces through SO_ERROR  -> "ECONNREFUSED"
  asyncio                 the same through asyncio (epoll), low level
                          (add_writer) and high level (open_connection),
                          a refusal as ConnectionRefusedError        -> "ok"
  epoll-before            epoll registrations (level and edge triggered)
                          made before connect(), EEXIST/MOD while pending
  close                   closing the socket mid-handshake: quick, no
                          descriptor left behind, the next connect works
  protect                 the shim's own descriptors survive close(),
                          dup2() and closerange() from the program
  fork                    a child forked after the helper started (and
                          with a handshake in flight) connects on its own;
                          the parent's handshake completes too
"""
import asyncio
import errno
import fcntl
import os
import selectors
import socket
import sys
import time

MODE, PORT, DELAY = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
LIMIT = 10.0  # every wait is bounded


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def synthetic(name, family=socket.AF_INET):
    return socket.getaddrinfo(name, PORT, family, socket.SOCK_STREAM)[0][4]


def start(name, family=socket.AF_INET, sock=None):
    """A non-blocking connect that must return EINPROGRESS within 100 ms."""
    addr = synthetic(name, family)
    s = sock or socket.socket(family, socket.SOCK_STREAM)
    s.setblocking(False)
    flags = fcntl.fcntl(s.fileno(), fcntl.F_GETFL)
    t0 = time.monotonic()
    err = s.connect_ex(addr)
    dt = time.monotonic() - t0
    check(err == errno.EINPROGRESS, f"connect() gave {errno.errorcode.get(err, err)}")
    check(dt < 0.1, f"connect() took {dt:.3f} s")
    check(fcntl.fcntl(s.fileno(), fcntl.F_GETFL) == flags, "connect() changed the fd flags")
    return s, addr, t0, flags


def wait_ready(sel, s, t0, events=selectors.EVENT_WRITE):
    """Seconds from t0 until sel reports s ready."""
    sel.register(s, events)
    try:
        while time.monotonic() - t0 < LIMIT:
            if sel.select(timeout=0.05):
                return time.monotonic() - t0
        raise Fail("never ready")
    finally:
        sel.unregister(s)


def echo(s, payload=b"ping"):
    s.setblocking(True)
    s.settimeout(LIMIT)
    s.sendall(payload)
    got = s.recv(100)
    check(got == b"echo:" + payload, f"echo gave {got!r}")


def selector(kind):
    return {"poll": selectors.PollSelector, "select": selectors.SelectSelector,
            "epoll": selectors.EpollSelector}[kind]()


def mode_selector(kind):
    sel = selector(kind)
    s, addr, t0, flags = start("slow.test")
    # While the handshake runs: no readiness, EALREADY, SO_ERROR 0, ENOTCONN.
    check(not sel_ready_now(sel, s), "writable right after connect()")
    check(s.connect_ex(addr) == errno.EALREADY, "second connect() not EALREADY")
    check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR while pending")
    try:
        s.getpeername()
        raise Fail("getpeername() worked while pending")
    except OSError as e:
        check(e.errno == errno.ENOTCONN, f"getpeername while pending: {e}")
    took = wait_ready(sel, s, t0)
    check(took >= DELAY * 0.8, f"writable after {took:.3f} s, before the reply")
    check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR after the reply")
    check(s.connect_ex(addr) == errno.EISCONN, "connect() after success not EISCONN")
    check(s.getpeername()[:2] == addr[:2], f"getpeername {s.getpeername()} != {addr}")
    check(fcntl.fcntl(s.fileno(), fcntl.F_GETFL) == flags, "the fd flags changed")
    echo(s)
    s.close()
    return "ok"


def sel_ready_now(sel, s):
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    try:
        return bool(sel.select(timeout=0.2))
    finally:
        sel.unregister(s)


def mode_refuse(kind):
    sel = selector(kind)
    s, _, t0, _ = start("refuse.test")
    took = wait_ready(sel, s, t0)
    check(took >= DELAY * 0.8, f"ready after {took:.3f} s, before the reply")
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    again = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    check(again == 0, f"SO_ERROR reported twice ({again})")
    s.close()
    return errno.errorcode.get(err, str(err))


def mode_asyncio():
    async def low():
        loop = asyncio.get_running_loop()
        s, _, t0, _ = start("slow.test")
        ready = loop.create_future()
        loop.add_writer(s.fileno(), lambda: ready.done() or ready.set_result(time.monotonic()))
        try:
            tw = await asyncio.wait_for(ready, LIMIT)
        finally:
            loop.remove_writer(s.fileno())
        check(tw - t0 >= DELAY * 0.8, f"writable after {tw - t0:.3f} s")
        check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR")
        await loop.sock_sendall(s, b"async")
        got = await asyncio.wait_for(loop.sock_recv(s, 100), LIMIT)
        check(got == b"echo:async", f"echo gave {got!r}")
        s.close()

    async def high(name, family):
        t0 = time.monotonic()
        r, w = await asyncio.wait_for(asyncio.open_connection(name, PORT, family=family), LIMIT)
        check(time.monotonic() - t0 >= DELAY * 0.8, "open_connection before the reply")
        w.write(b"stream")
        got = await asyncio.wait_for(r.read(100), LIMIT)
        check(got == b"echo:stream", f"stream echo gave {got!r}")
        w.close()

    async def refused():
        try:
            await asyncio.wait_for(
                asyncio.open_connection("refuse.test", PORT, family=socket.AF_INET), LIMIT)
        except ConnectionRefusedError:
            return
        raise Fail("refuse.test connected")

    async def main():
        await low()
        await asyncio.gather(high("slow.test", socket.AF_INET),
                             high("slow6.test", socket.AF_INET6), refused())

    asyncio.run(main())
    return "ok"


def mode_epoll_before():
    import select
    ep = select.epoll()
    lt = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    et = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ep.register(lt.fileno(), select.EPOLLOUT)
    ep.register(et.fileno(), select.EPOLLOUT | select.EPOLLET)
    # An unconnected TCP socket reports EPOLLHUP: drain that first.
    ep.poll(0)
    _, _, t0, _ = start("slow.test", sock=lt)
    start("slow.test", sock=et)
    try:
        ep.register(lt.fileno(), select.EPOLLOUT)
        raise Fail("second registration while pending not EEXIST")
    except FileExistsError:
        pass
    ep.modify(lt.fileno(), select.EPOLLOUT | select.EPOLLIN)
    # A set closed while it holds a pending socket: a new set that reuses
    # its number must not receive that registration.
    gone = select.epoll()
    gone.register(lt.fileno(), select.EPOLLOUT)
    number = gone.fileno()
    gone.close()
    reused = select.epoll()
    check(reused.fileno() == number, "the epoll number was not reused")
    seen = {}
    while len(seen) < 2 and time.monotonic() - t0 < LIMIT:
        for fd, ev in ep.poll(0.05):
            seen.setdefault(fd, (time.monotonic() - t0, ev))
    check(len(seen) == 2, f"events for {sorted(seen)} only")
    check(reused.poll(0.1) == [], "a closed epoll set's registration went to its successor")
    reused.close()
    for fd, (took, ev) in seen.items():
        check(took >= DELAY * 0.8, f"fd {fd} ready after {took:.3f} s")
        check(ev & select.EPOLLOUT and not ev & (select.EPOLLERR | select.EPOLLHUP),
              f"fd {fd} events {ev:#x}")
    for s in (lt, et):
        check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR")
        ep.unregister(s.fileno())
        echo(s)
        s.close()
    ep.close()
    return "ok"


def fds():
    return set(int(f) for f in os.listdir("/proc/self/fd"))


def complete(name="slow.test"):
    s, _, t0, _ = start(name)
    wait_ready(selectors.PollSelector(), s, t0)
    check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR")
    echo(s)
    s.close()


def mode_close():
    complete()  # the helper runs from here on
    before = fds()
    s, _, t0, _ = start("close.test")
    time.sleep(DELAY / 4)
    t1 = time.monotonic()
    s.close()
    check(time.monotonic() - t1 < 0.1, "close() was slow")
    time.sleep(0.2)
    check(fds() == before, f"descriptors left: {sorted(fds() - before)}")
    complete()
    check(fds() == before, f"descriptors left after another connect: {sorted(fds() - before)}")
    return "ok"


def mode_protect():
    complete()
    s, _, t0, _ = start("slow.test")
    own = sorted(fd for fd in fds() if fd >= 256)  # where the shim puts its own
    check(own, "the shim has no descriptors of its own?")
    for fd in own:
        for what, fn in (("close", lambda: os.close(fd)), ("dup2", lambda: os.dup2(0, fd))):
            try:
                fn()
                raise Fail(f"{what} of the shim's fd {fd} worked")
            except OSError as e:
                check(e.errno == errno.EBADF, f"{what}({fd}): {e}")
    # "Close every descriptor but mine", both ways programs do it.
    for fd in range(3, 1024):
        if fd != s.fileno():
            try:
                os.close(fd)
            except OSError:
                pass
    os.closerange(s.fileno() + 1, 65536)
    check(set(own) <= fds(), "the shim's descriptors were closed")
    took = wait_ready(selectors.PollSelector(), s, t0)
    check(took >= DELAY * 0.8, f"writable after {took:.3f} s")
    check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR")
    echo(s)
    s.close()
    return "ok"


def mode_fork():
    complete()  # the parent's helper thread runs
    pending, _, t0, _ = start("slow.test")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            complete()
            complete("slow6.test")
            code = 0
        except Exception as e:  # noqa: BLE001 -- reported through the status
            print("child:", e, file=sys.stderr)
        os._exit(code)
    deadline = time.monotonic() + LIMIT * 2
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        check(time.monotonic() < deadline, "child hangs")
        time.sleep(0.05)
    check(os.waitstatus_to_exitcode(status) == 0, "the child's connects failed")
    took = wait_ready(selectors.PollSelector(), pending, t0)
    check(took >= DELAY * 0.8, f"parent's socket writable after {took:.3f} s")
    check(pending.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "parent SO_ERROR")
    echo(pending)
    complete()
    return "ok"


def main():
    try:
        if MODE in ("poll", "select", "epoll"):
            print(mode_selector(MODE))
        elif MODE.startswith("refuse-"):
            print(mode_refuse(MODE.split("-", 1)[1]))
        else:
            print({"asyncio": mode_asyncio, "epoll-before": mode_epoll_before,
                   "close": mode_close, "protect": mode_protect,
                   "fork": mode_fork}[MODE]())
    except Fail as e:
        print("FAIL:", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
