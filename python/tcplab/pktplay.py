"""pktplay.py - one .pkt script played at the wire: the wire process's (peer.py) answer to a
{"pkt": {...}} request. It keeps the script's clock: injects the `<` segments at their times,
matches what the stack sends against the `>` ones, and has the SUT make each system call at
its time through the control channel (the orchestrator, pktrun.py, relays to `tcplab case`).

Timing, as packetdrill's: an absolute time counts from the script's start, a relative one
from the actual time of the previous event (an outbound segment: when it was seen; an
inbound one or a call: when it was sent or released). An outbound segment must be seen
within [start - tolerance, end + tolerance] of its stated time (`*`: within ANY_WAIT_S);
the times are the kernel's receive timestamps of the frames, so a busy wire process does
not shift them. Segments of the connection are matched in the order the stack sent them:
one the script does not expect where it expects another is a mismatch. Calls are released
at their times; one written without `...` must return before the script goes on (a blocking
one, `a...b`, is timed by the case runner: `took`).

Numbers: the wire's ISN is random (the script's 0 on `<` seq and `>` ack), the stack's is
learned from its SYN or SYN-ACK (the script's 0 on `>` seq and `<` ack). Payload bytes are
the harness pattern at their stream offset (byte i of the stream is i % 251), so the SUT's
`recv` checks them (data_ok). A `<` segment's defaults: ack (with ACK set) = everything the
stack sent, win 65535, no options when none are written; TS ecr `...` echoes the stack's
latest TS val. A `>` TS val: the first one written as a number fixes the stack's offset,
later ones are checked against it within the tolerance (a 1 kHz clock, as Linux's).

The answer: {"verdict": "pass"|"fail", "line", "field", "expected", "seen", "message",
"events": the events done, "seconds"}; the first mismatch ends the script.
"""
from __future__ import annotations

import errno
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from . import pktscript as ps
from .pktcase import file_flags
from .wire import M32, Wire, rel, tcp_payload

ANY_WAIT_S = 10.0	# a `*` segment: seen within this
RETURN_GRACE_S = 2.0	# a call that must not block returns within its time + tolerance + this
PATTERN_PERIOD = 251	# harness/engine/pattern.h: stream byte i is i % 251
DEFAULT_WIN = 65535
FLAG_BITS = {"S": 0x02, "F": 0x01, "R": 0x04, "P": 0x08, "U": 0x20, "E": 0x40, "W": 0x80,
             "N": 0x100, ".": 0x10}
ECN_BITS = {"noecn": (0,), "ect1": (1,), "ect0": (2,), "ect01": (1, 2), "ce": (3,)}
TS_HZ = 1000


class Mismatch(Exception):
    """The script's first failure: at @line, @field was @expected, the stack gave @seen."""

    def __init__(self, line: int, field: str, expected: Any, seen: Any, what: str = "") -> None:
        self.line, self.field, self.expected, self.seen = line, field, expected, seen
        msg = f"line {line}: {what + ': ' if what else ''}{field}: expected {expected}, " \
              f"seen {seen}"
        super().__init__(msg)


@dataclass
class Request:
    tolerance_us: int
    sut_port: int	# the port the SUT binds (a passive open)
    wire_port: int	# ours: the source of our SYN, the port the SUT connects to


def flag_letters(bits: int) -> str:
    return "".join(c for c in ps.FLAG_ORDER if bits & FLAG_BITS[c])


def pattern(offset: int, length: int) -> bytes:
    return bytes((offset + k) % PATTERN_PERIOD for k in range(length))


class Player:
    """The clock, the connection's numbers, the stack's segments not yet matched."""

    def __init__(self, w: Wire, script: ps.Script, req: Request,
                 control: Callable[[str], dict[str, Any]]) -> None:
        self.w, self.sc, self.script, self.req, self.control = w, w.sc, script, req, control
        self.iss = w.rng.randrange(M32)
        self.irs: int | None = None
        self.sut_port: int | None = None	# the SUT's end: bound (passive) or learned
        self.snd_nxt = self.iss
        self.rcv_nxt: int | None = None	# past the stack's highest byte (and SYN, FIN)
        self.queue: deque[tuple[int, Any]] = deque()	# (usecs since t0, frame)
        self.ts_offset: int | None = None
        self.ts_latest = 0
        self.pending: tuple[int, ps.Syscall, int] | None = None	# a blocking call under
        # way: its index, the call, when it is to return (usecs since t0)
        self.t0 = time.time()
        self.last = 0
        self.done: list[str] = []

    # -- the clock and the frames ------------------------------------------------------
    def now(self) -> int:
        return int((time.time() - self.t0) * ps.USEC)

    def ours(self, p: Any) -> bool:
        sc = self.sc
        if sc.TCP not in p or sc.IP not in p or p[sc.IP].src != self.w.sut_addr or \
                p[sc.IP].dst != self.w.peer_addr or p[sc.TCP].dport != self.req.wire_port:
            return False
        if self.sut_port is None and p[sc.TCP].flags & 0x02:
            self.sut_port = p[sc.TCP].sport	# the SUT's active open
        return p[sc.TCP].sport == self.sut_port

    def read_until(self, t_us: int, stop_on_frame: bool = False) -> None:
        """Read frames (ARP answered) until script time @t_us; ours are queued."""
        while True:
            left = (t_us - self.now()) / ps.USEC
            if left <= 0:
                return
            p = self.w.frame(time.monotonic() + left)
            if p is None:
                return
            if self.ours(p):
                self.queue.append((int((float(p.time) - self.t0) * ps.USEC), p))
                if stop_on_frame:
                    return

    def window(self, t: ps.Timing) -> tuple[int, int]:
        base = self.last if t.mode == "rel" else 0
        return base + t.usecs, base + (t.usecs if t.until is None else t.until)

    # -- events ------------------------------------------------------------------------
    def play(self) -> None:
        self.prime_arp()
        for i, e in enumerate(self.script.events):
            if isinstance(e, ps.Segment) and e.direction == "<":
                self.inject(e)
            elif isinstance(e, ps.Segment):
                self.expect(e)
            elif isinstance(e, ps.Syscall):
                self.call(i, e)
            self.done.append(f"{e.line}@{self.last / ps.USEC:.6f}")
        if self.pending is not None:
            self.collect()

    def prime_arp(self) -> None:
        """who-has the SUT, from our address: a kernel SUT learns our MAC from it, so its
        first segment is not held up by its own ARP request."""
        sc = self.sc
        self.w.send(sc.Ether(src=self.w.mac, dst="ff:ff:ff:ff:ff:ff") /
                    sc.ARP(op=1, hwsrc=self.w.mac, psrc=self.w.peer_addr,
                           pdst=self.w.sut_addr))
        self.w.wait(lambda p: sc.ARP in p and p[sc.ARP].op == 2, 0.2)
        self.t0 = time.time()

    def inject(self, g: ps.Segment) -> None:
        lo, _ = self.window(g.time) if g.time.mode != "any" else (self.now(), 0)
        frame = self.build(g)
        self.read_until(lo)
        self.w.send(frame)
        self.last = max(self.now(), lo)

    def expect(self, g: ps.Segment) -> None:
        tol = self.req.tolerance_us
        if g.time.mode == "any":
            lo, hi = -(1 << 62), self.now() + int(ANY_WAIT_S * ps.USEC)
        else:
            lo, hi = self.window(g.time)
            lo, hi = lo - tol, hi + tol
        if not self.queue:
            self.read_until(hi, stop_on_frame=True)
        if not self.queue:
            raise Mismatch(g.line, "segment", ps.segment_text(g).split(" ", 1)[1],
                           f"nothing by {hi / ps.USEC:.6f} s")
        at, p = self.queue.popleft()
        self.check_segment(g, p)
        if at < lo or at > hi:
            raise Mismatch(g.line, "time", f"{lo / ps.USEC:.6f}..{hi / ps.USEC:.6f} s",
                           f"{at / ps.USEC:.6f} s", "the segment came at another time")
        self.last = at

    def call(self, i: int, c: ps.Syscall) -> None:
        tol = self.req.tolerance_us
        lo, _ = self.window(c.time) if c.time.mode != "any" else (self.now(), 0)
        self.read_until(lo)
        if self.pending is not None:
            self.collect()
        base = self.last if c.time.mode == "rel" else 0
        self.last = max(self.now(), lo)
        blocking = c.end is not None
        wait_s = tol / ps.USEC + RETURN_GRACE_S
        got = self.control(f"call {i} {'start' if blocking else 'wait'} {wait_s:.3f}")
        if "error" in got:
            raise Mismatch(c.line, "call", f"{c.name} made", got["error"])
        if blocking:
            assert c.end is not None
            self.pending = (i, c, base + c.end)
            return
        if got.get("timeout"):
            raise Mismatch(c.line, "return", f"{c.name} returns at once",
                           f"still blocked after {wait_s:.1f} s")
        check_call(c, got)

    def collect(self) -> None:
        """The blocking call's result: it returned by now, or it is a mismatch."""
        assert self.pending is not None
        i, c, end = self.pending
        self.pending = None
        secs = (max(end - self.now(), 0) + self.req.tolerance_us) / ps.USEC + RETURN_GRACE_S
        got = self.control(f"result {i} {secs:.3f}")
        if got.get("timeout") or "error" in got:
            raise Mismatch(c.line, "return", f"{c.name} returns by its end time",
                           got.get("error", "still blocked"))
        check_call(c, got)

    # -- building `<` segments -----------------------------------------------------------
    def build(self, g: ps.Segment) -> Any:
        sc = self.sc
        if isinstance(g.seq, ps.AnyValue):
            seq = self.snd_nxt
        else:
            seq = (self.iss + g.seq) % M32
        length = 0 if isinstance(g.length, ps.AnyValue) else g.length
        if self.sut_port is None:
            self.sut_port = self.req.sut_port
        tcp = sc.TCP(sport=self.req.wire_port, dport=self.sut_port, seq=seq,
                     ack=self.ack_of(g), flags=self.flag_bits(g.flags),
                     window=DEFAULT_WIN if g.win is None or isinstance(g.win, ps.AnyValue)
                     else g.win, urgptr=g.urg if isinstance(g.urg, int) else 0,
                     options=self.options_of(g))
        tos = ECN_BITS[g.ecn][0] if g.ecn else 0
        frame = self.w.ip(tos=tos) / tcp
        if length:
            frame = frame / sc.Raw(pattern(rel(seq, self.iss) - 1, length))
        end = seq + length + ("S" in g.flags) + ("F" in g.flags)
        if rel(end, self.snd_nxt) > 0:
            self.snd_nxt = end % M32
        return frame

    def flag_bits(self, flags: str) -> int:
        return sum(FLAG_BITS[c] for c in flags)

    def ack_of(self, g: ps.Segment) -> int:
        if g.ack is None or isinstance(g.ack, ps.AnyValue):
            return self.rcv_nxt or 0 if "." in g.flags else 0
        return g.ack if self.irs is None else (self.irs + g.ack) % M32

    def options_of(self, g: ps.Segment) -> list[tuple[str, Any]]:
        if isinstance(g.options, ps.AnyValue):
            return []
        out: list[tuple[str, Any]] = []
        for o in g.options:
            out.append(self.option_of(g, o))
        return out

    def option_of(self, g: ps.Segment, o: ps.TcpOption) -> tuple[str, Any]:
        def num(v: Any, what: str) -> int:
            if isinstance(v, ps.AnyValue):
                raise Mismatch(g.line, what, "a number to send", "...")
            return int(v)
        if isinstance(o, ps.Nop):
            return ("NOP", None)
        if isinstance(o, ps.Eol):
            return ("EOL", None)
        if isinstance(o, ps.SackOK):
            return ("SAckOK", b"")
        if isinstance(o, ps.Mss):
            return ("MSS", num(o.value, "mss"))
        if isinstance(o, ps.WScale):
            return ("WScale", num(o.shift, "wscale"))
        if isinstance(o, ps.Sack):
            base = self.irs or 0
            return ("SAck", tuple((base + num(v, "sack")) % M32 for b in o.blocks for v in b))
        assert isinstance(o, ps.Timestamp)
        if isinstance(o.ecr, ps.AnyValue) or self.ts_offset is None:
            ecr = self.ts_latest
        else:
            ecr = (o.ecr + self.ts_offset) % M32
        return ("Timestamp", (num(o.val, "TS val"), ecr))

    # -- checking `>` segments -----------------------------------------------------------
    def check_segment(self, g: ps.Segment, p: Any) -> None:
        sc = self.sc
        t = p[sc.TCP]
        data = tcp_payload(p, sc)
        what = ps.segment_text(g).split(" ", 1)[1]
        flags = flag_letters(int(t.flags))
        if flags != g.flags:
            raise Mismatch(g.line, "flags", g.flags, flags, what)
        if t.flags & 0x02:	# every SYN: a connection made again has a new ISN
            self.irs = (t.seq - (0 if isinstance(g.seq, ps.AnyValue) else g.seq)) % M32
        seq = rel(t.seq, self.irs) if self.irs is not None else t.seq
        self.note_sent(t, len(data))
        for field, want, got in (("seq", g.seq, seq), ("length", g.length, len(data))):
            if not isinstance(want, ps.AnyValue) and want != got % M32:
                raise Mismatch(g.line, field, want, got, what)
        self.check_fields(g, p, what)
        self.check_options(g, t, what)

    def note_sent(self, t: Any, length: int) -> None:
        end = t.seq + length + bool(t.flags & 0x02) + bool(t.flags & 0x01)
        if self.rcv_nxt is None or rel(end, self.rcv_nxt) > 0:
            self.rcv_nxt = end % M32

    def check_fields(self, g: ps.Segment, p: Any, what: str) -> None:
        t = p[self.sc.TCP]
        seen = {"ack": rel(t.ack, self.iss), "win": t.window, "urg": t.urgptr}
        for field in ("ack", "win", "urg"):
            want = getattr(g, field)
            if want is not None and not isinstance(want, ps.AnyValue) and \
                    want != seen[field] % M32:
                raise Mismatch(g.line, field, want, seen[field], what)
        if g.ecn is not None:
            ecn = p[self.sc.IP].tos & 3
            if ecn not in ECN_BITS[g.ecn]:
                raise Mismatch(g.line, "ecn", g.ecn, ecn, what)

    def check_options(self, g: ps.Segment, t: Any, what: str) -> None:
        if isinstance(g.options, ps.AnyValue):
            self.learn_ts(t.options)
            return
        seen = [(n, v) for n, v in t.options]
        want = list(g.options)
        if [option_kind(n) for n, _ in seen] != [option_kind(o) for o in want]:
            raise Mismatch(g.line, "options", options_text(want), self.seen_text(seen), what)
        for (name, val), o in zip(seen, want):
            self.check_option(g, o, name, val, what)

    def check_option(self, g: ps.Segment, o: ps.TcpOption, name: str, val: Any,
                     what: str) -> None:
        if isinstance(o, ps.Mss) and not isinstance(o.value, ps.AnyValue) and o.value != val:
            raise Mismatch(g.line, "mss", o.value, val, what)
        if isinstance(o, ps.WScale) and not isinstance(o.shift, ps.AnyValue) \
                and o.shift != val:
            raise Mismatch(g.line, "wscale", o.shift, val, what)
        if isinstance(o, ps.Sack):
            got = [rel(v, self.iss) for v in val]
            want = [v for b in o.blocks for v in b]
            if len(got) != len(want) or any(not isinstance(w, ps.AnyValue) and w != s
                                             for w, s in zip(want, got)):
                raise Mismatch(g.line, "sack", want, got, what)
        if isinstance(o, ps.Timestamp):
            self.check_ts(g, o, val, what)

    def check_ts(self, g: ps.Segment, o: ps.Timestamp, val: Any, what: str) -> None:
        tsval, tsecr = val
        if not isinstance(o.ecr, ps.AnyValue) and o.ecr != tsecr:
            raise Mismatch(g.line, "TS ecr", o.ecr, tsecr, what)
        if not isinstance(o.val, ps.AnyValue):
            if self.ts_offset is None:
                self.ts_offset = (tsval - o.val) % M32
            else:
                slack = self.req.tolerance_us * TS_HZ // ps.USEC + 1
                if abs(rel(tsval, (o.val + self.ts_offset) % M32)) > slack:
                    raise Mismatch(g.line, "TS val", o.val,
                                   rel(tsval, self.ts_offset) % M32, what)
        self.ts_latest = tsval

    def learn_ts(self, options: list[tuple[str, Any]]) -> None:
        """The stack's latest TS val, for a `<` segment's `TS ecr ...` to echo."""
        for n, v in options:
            if n == "Timestamp":
                self.ts_latest = v[0]

    def seen_text(self, seen: list[tuple[str, Any]]) -> str:
        parts = []
        for n, v in seen:
            if n == "SAck":
                v = " ".join(f"{rel(a, self.iss)}:{rel(b, self.iss)}"
                             for a, b in zip(v[::2], v[1::2]))
            elif n == "Timestamp":
                v = f"val {v[0]} ecr {v[1]}"
            parts.append(SEEN_NAMES.get(n, str(n)) + ("" if v in (None, b"") else f" {v}"))
        return "<" + ",".join(parts) + ">" if parts else "no options"


SEEN_NAMES = {"NOP": "nop", "EOL": "eol", "MSS": "mss", "WScale": "wscale",
              "SAckOK": "sackOK", "SAck": "sack", "Timestamp": "TS"}
KINDS = {ps.Nop: "NOP", ps.Eol: "EOL", ps.Mss: "MSS", ps.WScale: "WScale",
         ps.SackOK: "SAckOK", ps.Sack: "SAck", ps.Timestamp: "Timestamp"}


def option_kind(o: Any) -> str:
    """A script option's scapy name, or a parsed option's name (a kind number when scapy
    does not know it)."""
    return KINDS[type(o)] if type(o) in KINDS else str(o)


def options_text(opts: list[ps.TcpOption]) -> str:
    return "<" + ",".join(map(ps.option_text, opts)) + ">" if opts else "no options"


# -- system call results ---------------------------------------------------------------

def check_call(c: ps.Syscall, got: dict[str, Any]) -> None:
    """The call's trace line against `= RET [ERRNO]` and what its arguments say it gets
    back (a getsockopt value, poll's revents)."""
    what = f"{c.name}()"
    if got.get("took") not in (None, "ok"):	# "N ms, not MIN-MAX": tcplab case's
        seen, _, want = str(got["took"]).partition(", not ")
        raise Mismatch(c.line, "return time", f"{want} ms after the call", seen, what)
    if got.get("data_ok") is False:
        raise Mismatch(c.line, "data", "the bytes sent at that stream offset",
                       "other bytes", what)
    check_ret(c, got, what)
    if c.name == "getsockopt" and "value" in got:
        check_value(c, got["value"], what)
    if c.name == "poll" and "revents" in got:
        want = poll_revents(c)
        if want is not None and sorted(want) != sorted(got["revents"]):
            raise Mismatch(c.line, "revents", "|".join(want) or "0",
                           "|".join(got["revents"]) or "0", what)


def check_ret(c: ps.Syscall, got: dict[str, Any], what: str) -> None:
    ret, err = got.get("ret"), got.get("err")
    if isinstance(c.ret, (ps.Sym, ps.Or)) and c.name == "fcntl":	# = O_RDWR|O_NONBLOCK
        c = replace(c, ret=ps.Int(file_flags(c.ret)))
    if isinstance(c.ret, ps.Int):
        want = c.ret.value
        if ret == "handle":
            ok = want >= 0
        elif ret == "partial":
            ok = 0 < want < requested(c)
        else:
            ok = ret == want
        if not ok:
            raise Mismatch(c.line, "return value", want,
                           f"{ret} {err}" if err else ret, what)
    if c.errno is not None and err != c.errno:
        raise Mismatch(c.line, "errno", c.errno, err or "none", what)
    if c.errno is None and err is not None and isinstance(c.ret, ps.Int) and c.ret.value < 0:
        raise Mismatch(c.line, "errno", "none written", err, what)


def requested(c: ps.Syscall) -> int:
    size = c.args[2] if len(c.args) > 2 else None
    return size.value if isinstance(size, ps.Int) else 0


def check_value(c: ps.Syscall, value: Any, what: str) -> None:
    """getsockopt's value ([N], [ENAME] or a linger struct) against the trace's (an
    integer; SO_ERROR by errno name; SO_LINGER as on:N or off)."""
    v = c.args[3]
    if isinstance(v, ps.Array) and len(v.items) == 1:
        v = v.items[0]
    want: Any = None
    if isinstance(v, ps.Int):
        want = v.value
        if isinstance(value, str) and value.startswith("E"):
            value = getattr(errno, value, value)	# SO_ERROR, traced by name
    elif isinstance(v, ps.Sym):
        want = v.name
    elif isinstance(v, ps.Struct):
        f = dict(v.fields)
        on, secs = f.get("l_onoff"), f.get("l_linger")
        if isinstance(on, ps.Int) and isinstance(secs, ps.Int):
            want = f"on:{secs.value}" if on.value else "off"
    if want is not None and want != value:
        raise Mismatch(c.line, "option value", want, value, what)


def poll_revents(c: ps.Syscall) -> list[str] | None:
    a = c.args[0]
    if not isinstance(a, ps.Array) or not a.items or not isinstance(a.items[0], ps.Struct):
        return None
    r = dict(a.items[0].fields).get("revents")
    if r is None or isinstance(r, ps.AnyValue):
        return None
    if isinstance(r, ps.Int) and r.value == 0:
        return []
    terms = r.terms if isinstance(r, ps.Or) else (r,)
    return [t.name for t in terms if isinstance(t, ps.Sym)]


# -- the request -------------------------------------------------------------------------

def play(w: Wire, req: dict[str, Any], control: Callable[[str], dict[str, Any]]) \
        -> dict[str, Any]:
    """Play the script at req["path"]; the verdict and where it stopped."""
    script = ps.load(req["path"])
    p = Player(w, script, Request(int(req["tolerance_usecs"]), int(req["sut_port"]),
                                  int(req["wire_port"])), control)
    start = time.monotonic()
    out: dict[str, Any] = {"verdict": "pass", "line": None, "field": None, "expected": None,
                           "seen": None, "message": ""}
    try:
        p.play()
    except Mismatch as m:
        out.update(verdict="fail", line=m.line, field=m.field, expected=str(m.expected),
                   seen=str(m.seen), message=str(m))
    out["events"] = p.done
    out["seconds"] = round(time.monotonic() - start, 3)
    return out
