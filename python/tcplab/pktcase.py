"""pktcase.py - a .pkt script's system calls as a conformance case's `sut` side (the case
language, scenarios/conformance/README.md), so that `tcplab case` makes them through any
backend.

Place in the flow: `tcplab pkt` (pktrun.py) loads a script (pktscript.py), translates it
here, writes the case beside its logs and runs `tcplab case CASE --side sut` in the SUT's
namespace. Every call is preceded by `wait eN` (N: the event's index in the script), so the
wire process (pktplay.py), which keeps the script's clock, releases the calls one at a time
at their times; a final `wait end` keeps the stack alive until the last segment is checked.

What maps where: a file descriptor a call returns names a variable (`f3`); `...` addresses
become the topology's (`bind` -> sut:PORT, `connect` -> peer:PORT, where `peer` is the
wire's spare address); sizes and flags as the case language spells them; setsockopt and
getsockopt with the options both languages share; fcntl F_SETFL with or without
O_NONBLOCK -> nonblock on|off, F_GETFL -> getfl (compared as Linux's O_RDWR|O_NONBLOCK
value, 0x802); a one-descriptor poll. Anything else raises NotRunnable
with the reason: the script is "not supported" on that line, never quietly shortened.
"""
from __future__ import annotations

from dataclasses import dataclass

from .pktscript import ANY, Array, Expr, Int, Or, Script, Struct, Sym, Syscall

# Socket options the case language has (conform.c's table), by their .pkt names.
CASE_OPTIONS = frozenset({
    "SO_REUSEADDR", "SO_KEEPALIVE", "SO_RCVBUF", "SO_SNDBUF", "SO_LINGER", "SO_RCVTIMEO",
    "SO_SNDTIMEO", "SO_ERROR", "SO_TYPE", "SO_RCVLOWAT", "SO_ACCEPTCONN", "SO_OOBINLINE",
    "IP_TTL", "IP_TOS", "TCP_NODELAY", "TCP_CORK", "TCP_KEEPIDLE", "TCP_KEEPINTVL",
    "TCP_KEEPCNT", "TCP_QUICKACK", "TCP_MAXSEG", "TCP_USER_TIMEOUT", "SO_REUSEPORT",
    "SO_PRIORITY", "TCP_SYNCNT", "TCP_LINGER2", "TCP_WINDOW_CLAMP", "TCP_DEFER_ACCEPT",
    "TCP_NOTSENT_LOWAT"})
SEND_FLAGS = {"MSG_DONTWAIT": "dontwait", "MSG_OOB": "oob", "MSG_MORE": "more"}
RECV_FLAGS = {"MSG_PEEK": "peek", "MSG_DONTWAIT": "dontwait", "MSG_WAITALL": "waitall",
              "MSG_OOB": "oob"}
POLL_EVENTS = {"POLLIN": "in", "POLLOUT": "out", "POLLRDHUP": "rdhup", "POLLPRI": "pri"}
SHUT = {"SHUT_RD": "rd", "SHUT_WR": "wr", "SHUT_RDWR": "rdwr"}
WAIT_SLACK_MS = 30000	# a release may come this long after the script's last stated time


FILE_FLAGS = {"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": 0o4000}	# Linux's


def file_flags(e: Expr) -> int:
    """`O_RDWR|O_NONBLOCK` as fcntl(F_GETFL) returns it on Linux (0x802)."""
    unknown = [n for n in names(e) if n not in FILE_FLAGS]
    if unknown:
        raise NotRunnable(f"fcntl flag {unknown[0]} (the runner knows "
                          f"{', '.join(FILE_FLAGS)})")
    value = 0
    for n in names(e):
        value |= FILE_FLAGS[n]
    return value


class NotRunnable(Exception):
    """A call the case language cannot make as written (the reason is the message)."""


@dataclass(frozen=True)
class Ports:
    """The SUT's listening port (bind) and the wire's (connect)."""
    sut: int
    wire: int


def names(e: Expr) -> list[str]:
    if isinstance(e, Sym):
        return [e.name]
    if isinstance(e, Or):
        return [n for t in e.terms for n in names(t)]
    raise NotRunnable(f"expected constants, found {type(e).__name__}")


def integer(e: Expr, what: str) -> int:
    """An Int, or [Int] (a value passed by pointer)."""
    if isinstance(e, Array) and len(e.items) == 1:
        e = e.items[0]
    if isinstance(e, Int):
        return e.value
    raise NotRunnable(f"{what}: expected a number")


def fd_of(e: Expr) -> int:
    if not isinstance(e, Int):
        raise NotRunnable("a file descriptor that is not a number")
    return e.value


class Translator:
    """Calls to case lines; fds returned by socket/accept become variables f<fd>."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self.fds: set[int] = set()

    def var(self, e: Expr) -> str:
        fd = fd_of(e)
        if fd not in self.fds:
            raise NotRunnable(f"file descriptor {fd} was not returned by socket or accept")
        return f"f{fd}"

    def new_var(self, call: Syscall) -> str:
        """`fN = ` for a call that returns descriptor N; `fx = ` (a name no later call
        uses) for one that is to fail: the case language wants a variable either way."""
        if not isinstance(call.ret, Int) or call.ret.value < 0:
            return "fx = "
        self.fds.add(call.ret.value)
        return f"f{call.ret.value} = "

    def line(self, c: Syscall) -> str:
        a = c.args
        fn = getattr(self, f"do_{c.name}", None)
        if fn is None:
            raise NotRunnable(f"system call {c.name} has no case-language form")
        return fn(c, a)

    def do_socket(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        kinds = names(a[1])
        if "SOCK_STREAM" not in kinds or any(k not in ("SOCK_STREAM", "SOCK_NONBLOCK")
                                             for k in kinds):
            raise NotRunnable(f"socket type {'|'.join(kinds)}")
        if a[0] is not ANY and names(a[0]) != ["AF_INET"]:
            raise NotRunnable("a socket domain other than AF_INET")
        return self.new_var(c) + "socket" + (" nonblock" if "SOCK_NONBLOCK" in kinds else "")

    def address(self, e: Expr) -> None:
        if e is not ANY:
            raise NotRunnable("an address written out (only ..., the topology's, is run)")

    def do_bind(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        self.address(a[1])
        return f"bind {self.var(a[0])} sut:{self.ports.sut}"

    def do_connect(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        self.address(a[1])
        return f"connect {self.var(a[0])} peer:{self.ports.wire}"

    def do_listen(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return f"listen {self.var(a[0])} {integer(a[1], 'backlog')}"

    def do_accept(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        listener = self.var(a[0])
        return f"{self.new_var(c)}accept {listener}"

    def io(self, verb: str, c: Syscall, size: Expr, flags: Expr | None) -> str:
        words = [verb, self.var(c.args[0]), str(integer(size, "length"))]
        table = SEND_FLAGS if verb == "send" else RECV_FLAGS
        if flags is not None and not (isinstance(flags, Int) and flags.value == 0):
            for n in names(flags):
                if n not in table:
                    raise NotRunnable(f"{c.name} flag {n}")
                words.append(table[n])
        return " ".join(words)

    def do_read(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return self.io("recv", c, a[2], None)

    def do_write(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return self.io("send", c, a[2], None)

    def do_recv(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return self.io("recv", c, a[2], a[3])

    def do_send(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return self.io("send", c, a[2], a[3])

    def do_sendto(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        self.address(a[4])
        return self.io("send", c, a[2], a[3])

    def do_recvfrom(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return self.io("recv", c, a[2], a[3])

    def option(self, a: tuple[Expr, ...]) -> str:
        if not isinstance(a[2], Sym) or a[2].name not in CASE_OPTIONS:
            raise NotRunnable(f"socket option {getattr(a[2], 'name', a[2])} has no "
                              f"case-language form")
        return a[2].name

    def do_setsockopt(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        name = self.option(a)
        return f"setsockopt {self.var(a[0])} {name} {option_value(name, a[3])}"

    def do_getsockopt(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return f"getsockopt {self.var(a[0])} {self.option(a)}"

    def do_fcntl(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        if len(a) == 2 and names(a[1]) == ["F_GETFL"]:
            if isinstance(c.ret, (Sym, Or)):
                file_flags(c.ret)	# NotRunnable: a flag other than these
            return f"getfl {self.var(a[0])}"
        if len(a) != 3 or names(a[1]) != ["F_SETFL"]:
            raise NotRunnable("fcntl other than F_GETFL and F_SETFL")
        flags = names(a[2])
        if any(f not in ("O_RDWR", "O_NONBLOCK") for f in flags):
            raise NotRunnable(f"fcntl flags {'|'.join(flags)}")
        return f"nonblock {self.var(a[0])} {'on' if 'O_NONBLOCK' in flags else 'off'}"

    def do_poll(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        if not isinstance(a[0], Array) or len(a[0].items) != 1 or \
                not isinstance(a[0].items[0], Struct):
            raise NotRunnable("poll of other than one descriptor")
        fields = dict(a[0].items[0].fields)
        events = [POLL_EVENTS.get(n) for n in names(fields.get("events", Sym("?")))]
        if None in events:
            raise NotRunnable("poll events outside POLLIN, POLLOUT, POLLRDHUP, POLLPRI")
        return f"poll {self.var(fields['fd'])} {'+'.join(events)} {integer(a[2], 'timeout')}"

    def do_shutdown(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        how = names(a[1])
        if len(how) != 1 or how[0] not in SHUT:
            raise NotRunnable(f"shutdown how {'|'.join(how)}")
        return f"shutdown {self.var(a[0])} {SHUT[how[0]]}"

    def do_close(self, c: Syscall, a: tuple[Expr, ...]) -> str:
        return f"close {self.var(a[0])}"


def option_value(name: str, e: Expr) -> str:
    """A setsockopt value as the case language writes it: SO_LINGER seconds or off,
    timeouts in ms, else the integer."""
    if isinstance(e, Struct):
        f = dict(e.fields)
        if name == "SO_LINGER":
            return str(integer(f["l_linger"], "l_linger")) \
                if integer(f["l_onoff"], "l_onoff") else "off"
        if name in ("SO_RCVTIMEO", "SO_SNDTIMEO"):
            return str(integer(f["tv_sec"], "tv_sec") * 1000 +
                       integer(f["tv_usec"], "tv_usec") // 1000)
        raise NotRunnable(f"{name} with a struct value")
    return str(integer(e, name))


def took(c: Syscall, tolerance_us: int) -> str:
    """` took MIN MAX` (ms) for a blocking call `a...b`: it must return at b, within the
    tolerance."""
    if c.end is None:
        return ""
    span = c.end - c.time.usecs
    lo = max(0, (span - tolerance_us) // 1000)
    return f" took {lo} {min(60000, -(-(span + tolerance_us) // 1000))}"


def translate(script: Script, ports: Ports, tolerance_us: int) -> tuple[str, dict[int, int]]:
    """The case text and, per system call event index, its line in the case (NotRunnable
    names the script line it stopped at, as `LINE: reason`)."""
    t = Translator(ports)
    wait_ms = min(600000, expected_usecs(script) // 1000 + WAIT_SLACK_MS)
    out = [f"description {script.path}", "sut {"]
    lines: dict[int, int] = {}
    for i, e in enumerate(script.events):
        if not isinstance(e, Syscall):
            continue
        try:
            body = t.line(e) + took(e, tolerance_us)
        except NotRunnable as err:
            raise NotRunnable(f"{e.line}: {err}") from None
        out.append(f"    wait e{i} {wait_ms}")
        lines[i] = len(out) + 1
        out.append(f"    {body}")
    out += [f"    wait end {wait_ms}", "}"]
    return "\n".join(out) + "\n", lines


def expected_usecs(script: Script) -> int:
    """A bound on the script's stated length (sum of relative and largest absolute)."""
    total = 0
    for e in script.events:
        if e.time is not None and e.time.mode != "any":
            t = e.time.until if e.time.until is not None else e.time.usecs
            total = total + t if e.time.mode == "rel" else max(total, t)
    return total

