"""wire.py - scapy's end of the link, inside the engine's namespace: one L2 socket on the
link's engine-side netdev, playing a peer at an address no kernel or stack owns (the table's
spare address), answering ARP for it itself. The kernel beside it owns no such address, so it
drops (never resets) what the SUT sends there.

A Conn is one TCP connection played by scapy; a Trace the steps of one check, one per
stimulus: {line, op, the reply's fields}. Sequence numbers are relative (ack to our ISN, seq
to the SUT's), so two correct runs give equal traces. Every wait is for a sniffed frame, with
a deadline. scapy is imported here only when a Wire is made: the orchestrator and the tests'
collection stay fast.
"""
from __future__ import annotations

import random
import select
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

CLOSED_PORT = 9			# nothing listens there
WIRE_PORTS = (20000, 29999)	# scapy's source ports for the checks' connections
SO_RCVBUFFORCE = 33		# <asm-generic/socket.h>: SO_RCVBUF past rmem_max (we are root)
RCVBUF = 8 << 20
REPLY_S = 2.0			# an expected reply arrives within this
SILENCE_S = 0.5			# "no reply" means none within this
M32 = 1 << 32
OUR_WINDOW = 65535
DRAIN_MAX = 4096		# frames read per drain, at most


class CheckError(Exception):
    """A check could not go on (e.g. no SYN-ACK to a connect): its trace ends there."""


def scapy() -> Any:
    """The parts of scapy the wire uses, loaded on first use (lazily: PLC0415): these modules
    take half the time of scapy.all, which a packet lab (one per .pkt script) waits for."""
    import scapy.arch  # noqa: F401, PLC0415 (sets conf.L2socket)
    from scapy.config import conf  # noqa: PLC0415
    from scapy.layers.inet import ICMP, IP, TCP, IPOption  # noqa: PLC0415
    from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415
    from scapy.packet import Raw  # noqa: PLC0415
    from scapy.utils import checksum  # noqa: PLC0415
    return SimpleNamespace(ARP=ARP, Ether=Ether, ICMP=ICMP, IP=IP, IPOption=IPOption, Raw=Raw,
                           TCP=TCP, checksum=checksum, conf=conf)


def rel(value: int, base: int) -> int:
    """value - base in sequence space, as a signed offset."""
    d = (value - base) % M32
    return d - M32 if d >= 1 << 31 else d


def flag_str(bits: int) -> str:
    """TCP flags as letters in a fixed order, PSH left out (where it is set is a choice):
    a check where PSH is the RFC's asks for it as its own field, "psh"."""
    return "".join(ch for ch, bit in (("S", 0x02), ("F", 0x01), ("R", 0x04), ("A", 0x10),
                                      ("U", 0x20), ("E", 0x40), ("C", 0x80)) if bits & bit)


NO_REPLY = {"reply": "none"}


class Wire:
    """scapy's end of the link: one L2 socket, our MAC and address (@peer_addr), the SUT's
    (@sut_addr, its echo server on @sut_port), both in a subnet of @prefix_len bits; answers
    ARP for our address whenever it reads. @sut_mac "arp": learned from the SUT's answer."""

    def __init__(self, iface: str, sut_mac: str, seed: int, peer_addr: str, sut_addr: str,
                 prefix_len: int, sut_port: int,
                 sut_control: Callable[[str], dict[str, Any]] | None = None) -> None:
        sc = scapy()
        self.sut_control = sut_control
        sc.conf.verb = 0
        self.sc = sc
        self.iface = iface
        self.peer_addr = peer_addr
        self.sut_addr = sut_addr
        self.prefix_len = prefix_len
        self.sut_port = sut_port
        self.sock = sc.conf.L2socket(iface=iface)
        # a stack's burst (tens of full frames at once, gVisor's once a window opens) must not
        # overflow the socket while Python answers the frames before it: at the default
        # (rmem_default, ~200 KiB of skb truesize) frames were lost and the check saw a
        # stack's loss recovery instead of what it asked about
        self.sock.ins.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        self.mac = Path(f"/sys/class/net/{iface}/address").read_text().strip()
        self.rng = random.Random(seed)
        self.sut_mac = sut_mac if sut_mac != "arp" else self.learn_mac()
        self.next_port = WIRE_PORTS[0] + self.rng.randrange(0, 5000)
        self.arp_answered = 0

    def sut(self, command: str) -> dict[str, Any]:
        """Have the SUT run a control command (`tcplab serve`'s: `sockopt NAME VALUE`,
        `sockopt reset`, `connect ADDR:PORT`) and return its JSON reply; the lab relays it.
        A refusal (ret < 0) ends the check."""
        if self.sut_control is None:
            raise CheckError(f"no control channel to the SUT for '{command}'")
        reply = self.sut_control(command)
        if reply.get("ret") != 0:
            raise CheckError(f"the SUT did not take '{command}': {reply}")
        return reply

    def learn_mac(self, tries: int = 5) -> str:
        """The SUT's MAC from its answer to who-has its address."""
        sc = self.sc
        for _ in range(tries):
            self.send(sc.Ether(src=self.mac, dst="ff:ff:ff:ff:ff:ff") /
                      sc.ARP(op=1, hwsrc=self.mac, psrc=self.peer_addr, pdst=self.sut_addr))
            r = self.wait(lambda p: sc.ARP in p and p[sc.ARP].op == 2 and
                          p[sc.ARP].psrc == self.sut_addr, 1.0)
            if r is not None:
                return str(r[sc.ARP].hwsrc).lower()
        raise RuntimeError(f"no ARP answer for {self.sut_addr} in {tries} tries")

    def port(self) -> int:
        self.next_port += 1
        if self.next_port > WIRE_PORTS[1]:
            self.next_port = WIRE_PORTS[0]
        return self.next_port

    def send(self, frame: Any) -> None:
        self.sock.send(frame)

    def eth(self) -> Any:
        return self.sc.Ether(src=self.mac, dst=self.sut_mac)

    def ip(self, **kw: Any) -> Any:
        return self.eth() / self.sc.IP(src=self.peer_addr, dst=self.sut_addr, **kw)

    def frame(self, deadline: float) -> Any | None:
        """The next frame received before @deadline (ARP for us answered and skipped)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([self.sock], [], [], left)[0]:
                return None
            pkt = self.sock.recv()
            if pkt is None or self.answer_arp(pkt):
                continue	# our own outgoing frame, or an ARP request we answered
            return pkt

    def answer_arp(self, pkt: Any) -> bool:
        sc = self.sc
        if sc.ARP not in pkt or pkt[sc.ARP].op != 1 or pkt[sc.ARP].pdst != self.peer_addr:
            return False
        a = pkt[sc.ARP]
        self.send(sc.Ether(src=self.mac, dst=a.hwsrc) /
                  sc.ARP(op=2, hwsrc=self.mac, psrc=self.peer_addr, hwdst=a.hwsrc,
                         pdst=a.psrc))
        self.arp_answered += 1
        return True

    def wait(self, match: Callable[[Any], bool], timeout: float) -> Any | None:
        deadline = time.monotonic() + timeout
        while (pkt := self.frame(deadline)) is not None:
            if match(pkt):
                return pkt
        return None

    def drain(self, on_frame: Callable[[Any], None] | None = None) -> int:
        """Read what is queued now (bounded), without waiting."""
        n = 0
        while n < DRAIN_MAX and select.select([self.sock], [], [], 0)[0]:
            pkt = self.sock.recv()
            n += 1
            if pkt is not None and not self.answer_arp(pkt) and on_frame is not None:
                on_frame(pkt)
        return n


def tcp_payload(pkt: Any, sc: Any) -> bytes:
    """The TCP payload by the IP header's length (Ethernet padding left out)."""
    ip, tcp = pkt[sc.IP], pkt[sc.TCP]
    n = max(ip.len - ip.ihl * 4 - tcp.dataofs * 4, 0)
    return bytes(tcp)[tcp.dataofs * 4:tcp.dataofs * 4 + n]


class Conn:
    """One TCP connection played by scapy: what we sent (snd_nxt), what the SUT sent and we
    acknowledged (rcv_nxt), the bytes it echoed. Every segment of it that is read passes
    through absorb(), which acknowledges the SUT's data and FIN like a plain receiver."""

    def __init__(self, w: Wire, dport: int | None = None) -> None:
        self.w = w
        self.sc = w.sc
        self.dport = w.sut_port if dport is None else dport
        self.sport = w.port()
        self.iss = w.rng.randrange(M32)
        self.snd_nxt = self.iss
        self.snd_una_seen = self.iss	# the highest ACK the SUT sent
        self.irs: int | None = None
        self.rcv_nxt = 0
        self.echo = b""
        self.fin_seen = False
        self.reset_seen = False
        self.tsval = 0
        self.window = OUR_WINDOW	# the window field of what we send, as sent (unscaled)
        self.shift = 0			# the window scale we offered (applies after the SYN)
        self.auto_ack = True		# absorb() acknowledges the SUT's data and FIN
        self.over_window = 0		# most bytes the SUT sent past our window's right edge
        self.reading = True		# False: what we take fills our window (zero at the end)
        self.peer_window = 0		# the SUT's window, from its latest ACK
        self.seen: list[tuple[float, Any]] = []	# (when, segment): every one absorbed

    # -- building ---------------------------------------------------------------------
    def seg(self, flags: str, seq: int | None = None, ack: int | None = None,
            data: bytes = b"", options: list | None = None, raw_options: bytes = b"",
            window: int | None = None, urgptr: int = 0, ip: dict | None = None) -> Any:
        sc = self.sc
        window = self.window if window is None else window
        if ack is None:
            ack = self.rcv_nxt if "A" in flags else 0
        tcp = sc.TCP(sport=self.sport, dport=self.dport,
                     seq=(self.snd_nxt if seq is None else seq) % M32, ack=ack % M32,
                     flags=flags, window=window, urgptr=urgptr, options=options or [])
        if raw_options:
            assert len(raw_options) % 4 == 0 and not options
            tcp.dataofs = 5 + len(raw_options) // 4
        body = raw_options + data
        head = self.w.ip(**(ip or {}))
        return head / tcp / sc.Raw(body) if body else head / tcp

    def ours(self, pkt: Any) -> bool:
        sc = self.sc
        return (sc.TCP in pkt and sc.IP in pkt and pkt[sc.IP].src == self.w.sut_addr and
                pkt[sc.IP].dst == self.w.peer_addr and pkt[sc.TCP].sport == self.dport and
                pkt[sc.TCP].dport == self.sport)

    # -- receiving --------------------------------------------------------------------
    def absorb(self, pkt: Any) -> None:
        t = pkt[self.sc.TCP]
        self.seen.append((time.monotonic(), pkt))
        if t.flags & 0x04:
            self.reset_seen = True
            return
        if self.irs is None:
            return
        data = tcp_payload(pkt, self.sc)
        beyond = rel(t.seq + len(data), self.rcv_nxt) - (self.window << self.shift)
        self.over_window = max(self.over_window, beyond)
        # a receiver with a zero window takes no data but acknowledges, and so it does a
        # segment below RCV.NXT (a window probe): RFC 9293 3.10.7.4
        need_ack = bool(data) or rel(t.seq, self.rcv_nxt) < 0
        if data and t.seq == self.rcv_nxt and len(data) <= self.window << self.shift:
            self.echo += data
            self.rcv_nxt = (self.rcv_nxt + len(data)) % M32
            if not self.reading:	# the bytes stay in our buffer: the right edge stays
                self.window -= len(data) >> self.shift
        if t.flags & 0x01 and (t.seq + len(data)) % M32 == self.rcv_nxt:
            self.rcv_nxt = (self.rcv_nxt + 1) % M32
            self.fin_seen = need_ack = True
        if t.flags & 0x10 and rel(t.ack, self.snd_una_seen) >= 0:
            self.snd_una_seen = t.ack
            self.peer_window = t.window	# unscaled: the checks that read it offer no scale
        if need_ack and self.auto_ack:
            self.w.send(self.seg("A"))

    def wait(self, match: Callable[[Any], bool], timeout: float = REPLY_S) -> Any | None:
        """The first segment of this connection that @match accepts, each one absorbed."""
        def on(pkt: Any) -> bool:
            if not self.ours(pkt):
                return False
            self.absorb(pkt)
            return match(pkt)
        return self.w.wait(on, timeout)

    def silence(self, timeout: float = SILENCE_S) -> Any | None:
        """None when the SUT sends nothing on this connection for @timeout seconds."""
        return self.wait(lambda p: True, timeout)

    # -- the SUT's active open ---------------------------------------------------------
    def sut_syn(self, timeout: float = REPLY_S) -> Any | None:
        """The SUT's SYN to our port (self.sport) once the SUT was told to connect there:
        the SUT's port and ISN are learned from it."""
        sc = self.sc

        def match(p: Any) -> bool:
            return (sc.TCP in p and sc.IP in p and p[sc.IP].src == self.w.sut_addr and
                    p[sc.TCP].dport == self.sport and bool(p[sc.TCP].flags & 0x02))
        p = self.w.wait(match, timeout)
        if p is not None:
            self.dport = p[sc.TCP].sport
            self.irs = p[sc.TCP].seq
            self.rcv_nxt = (self.irs + 1) % M32
            self.seen.append((time.monotonic(), p))
        return p

    def sut_connects(self) -> Any:
        """Tell the SUT to connect to us; its SYN (a CheckError if none comes)."""
        self.w.sut(f"connect {self.w.peer_addr}:{self.sport}")
        syn = self.sut_syn()
        if syn is None:
            raise CheckError(f"no SYN from the SUT to {self.w.peer_addr}:{self.sport} within "
                             f"{REPLY_S} s")
        return syn

    def accept(self, options: list | None = None) -> Any | None:
        """Answer the SUT's SYN with our SYN-ACK; the SUT's ACK, or None."""
        self.w.send(self.seg("SA", seq=self.iss, ack=self.rcv_nxt,
                             options=[("MSS", 1460)] if options is None else options))
        self.snd_nxt = (self.iss + 1) % M32
        return self.wait(self.acked(self.snd_nxt))

    # -- doing ------------------------------------------------------------------------
    def syn(self, options: list | None = None, raw_options: bytes = b"",
            window: int | None = None, data: bytes = b"") -> Any | None:
        """Send our SYN; the SYN-ACK (or whatever answers first), or None."""
        self.w.send(self.seg("S", seq=self.iss, options=options, raw_options=raw_options,
                             window=window, data=data))
        self.snd_nxt = (self.iss + 1) % M32
        reply = self.wait(lambda p: True)
        if reply is not None and flag_str(int(reply[self.sc.TCP].flags)) == "SA":
            self.irs = reply[self.sc.TCP].seq
            self.rcv_nxt = (self.irs + 1) % M32
        return reply

    def connect(self, options: list | None = None, window: int | None = None) -> None:
        """Three-way handshake, by default with MSS and SACK permitted (no timestamps, no
        scaling); @window: the SYN's window field (our later segments carry self.window)."""
        reply = self.syn(options=[("MSS", 1460), ("SAckOK", b"")] if options is None
                         else options, window=window)
        if reply is None or self.irs is None:
            raise CheckError(f"no SYN-ACK from {self.w.sut_addr}:{self.dport} within {REPLY_S} s "
                             f"(got {reply and reply.summary()})")
        self.w.send(self.seg("A"))

    def send_data(self, data: bytes, **kw: Any) -> None:
        self.w.send(self.seg("PA", data=data, **kw))
        if "seq" not in kw:
            self.snd_nxt = (self.snd_nxt + len(data)) % M32

    def acked(self, upto: int) -> Callable[[Any], bool]:
        return lambda p: bool(p[self.sc.TCP].flags & 0x10) and rel(p[self.sc.TCP].ack, upto) >= 0

    def abort(self) -> None:
        """End it with a RST at exactly the SUT's expected sequence number."""
        self.w.send(self.seg("RA"))

    def exchange(self, data: bytes, timeout: float = REPLY_S,
                 raw_options: bytes = b"") -> tuple[bool, bytes]:
        """Send @data; wait for its ACK and its echo; (acked, the bytes echoed meanwhile)."""
        start = len(self.echo)
        self.send_data(data, raw_options=raw_options)
        end = self.snd_nxt
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rel(self.snd_una_seen, end) >= 0 and len(self.echo) - start >= len(data):
                break
            self.wait(lambda p: True, deadline - time.monotonic())
        return rel(self.snd_una_seen, end) >= 0, self.echo[start:]

    def send_bulk(self, data: bytes, size: int = 1000) -> None:
        """@data in segments of @size bytes, back to back (the SUT's window is larger)."""
        for i in range(0, len(data), size):
            self.send_data(data[i:i + size])

    def collect(self, until: Callable[[], bool], timeout: float) -> None:
        """Absorb this connection's segments until @until() holds or @timeout passes."""
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            self.wait(lambda p: True, deadline - time.monotonic())

    def data_segments(self) -> list[Any]:
        """The SUT's segments seen so far that carry data."""
        return [p for _, p in self.seen if tcp_payload(p, self.sc)]

    def works(self, data: bytes = b"still-works", raw_options: bytes = b"") -> dict[str, Any]:
        """The step that proves the connection carries data: its ACK and its echo."""
        acked, echoed = self.exchange(data, raw_options=raw_options)
        return {"reply": "tcp" if acked or echoed else "none", "ack": rel(self.snd_una_seen,
                self.iss), "echo": echoed.decode("latin-1")}


def tcp_fields(pkt: Any, c: Conn, *keys: str) -> dict[str, Any]:
    """The named fields of a TCP reply, relative numbers where the stacks' ISNs differ."""
    sc = c.sc
    t = pkt[sc.TCP]
    every = {
        "flags": lambda: flag_str(int(t.flags)),
        "seq": lambda: t.seq if c.irs is None else rel(t.seq, c.irs),
        "ack": lambda: rel(t.ack, c.iss),
        "win": lambda: "zero" if t.window == 0 else "open",	# its size is the stack's
        "len": lambda: len(tcp_payload(pkt, sc)),
        "psh": lambda: bool(t.flags & 0x08),
        "options": lambda: tcp_options(t, c),
    }
    return {"reply": "tcp", **{k: every[k]() for k in keys}}


def tcp_options(t: Any, c: Conn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, val in t.options:
        if name in ("NOP", "EOL"):
            continue
        if name == "MSS":
            out["mss"] = val
        elif name == "WScale":
            out["wscale"] = val
        elif name == "SAckOK":
            out["sack_permitted"] = True
        elif name == "Timestamp":
            tsval, tsecr = val	# tsval: a per-connection random offset on Linux
            out["timestamp"] = {"tsval": "set" if tsval else 0,
                                "tsecr": "echo" if tsecr == c.tsval else tsecr}
        elif name == "SAck":
            out["sack"] = [rel(v, c.iss) for v in val]
        else:
            out[str(name)] = val.hex() if isinstance(val, bytes) else str(val)
    return out


class Trace:
    """The steps of one check, kept even when the check stops half-way."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def add(self, op: str, fields: dict[str, Any]) -> None:
        self.steps.append({"line": len(self.steps), "op": op, **fields})

    def reply(self, op: str, pkt: Any | None, c: Conn, *keys: str) -> None:
        self.add(op, NO_REPLY if pkt is None else tcp_fields(pkt, c, *keys))

