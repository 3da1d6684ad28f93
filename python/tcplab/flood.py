"""flood.py - the floods of `tcplab packets --flood`: a SYN flood (N SYNs from made-up hosts
of the lab's subnet, never answered) and an idle flood (N connections completed by scapy and
then silent), each bounded in count and time, at one SUT in a packet lab (lab.py). While the
flood's state is held, a legitimate client (`tcplab run echo_rr --peer` from the engine
namespace's kernel) runs through the SUT; its latency is stated next to a baseline taken in
the same lab before the flood. The SUT process's memory (/proc/PID/status VmRSS, sampled)
and the stack's counters are taken before, at the peak and after; then every connection the
flood began is reset (a RST from its source at the sequence number the SUT expects, as
fuzz.reset_syns does) and the counters must come back to their start values in bounded time.

Flow: flood_run (root namespace) -> PacketLab -> baseline echo_rr -> [echo_rr thread, RSS
sampler thread] + the wire's {"flood": ...} request (peer.py -> flood_wire here, in the
engine namespace) -> the SUT's stats at the peak -> echo_rr ends -> {"flood_end": ...}
(resets) -> settle -> verdict (flood_problems) against the bound from the limits the stack
states (bound).

The wire side builds frames from bytes (no scapy per frame: a SYN costs microseconds, so the
veth, not Python, sets the pace) and reads replies raw, answering ARP for the made-up hosts
so the SUT's SYN-ACKs leave it as they would towards hosts that exist but stay silent.
"""
from __future__ import annotations

import ipaddress
import json
import random
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fuzz import ip_checksum, send_counting, with_tcp_checksum
from .lab import PacketLab
from .topology import DPDK, Limits
from .wire import M32, Wire

SCHEMA = "tcplab.flood/1"
KINDS = ("syn", "idle")
DEFAULT_COUNT = {"syn": 50000, "idle": 1000}
MAX_COUNT = {"syn": 1000000, "idle": 20000}
SOURCES = {"syn": 64, "idle": 8}	# made-up hosts: lwIP's ARP table holds 10 (opt.h)
FIRST_HOST = 4			# hosts 1-3 of the subnet are the lab's (fuzz.neighbour)
FLOOD_PORTS = (30000, 65535)	# source ports, outside the checks' range (wire.WIRE_PORTS)
MSS_OPTION = b"\x02\x04\x05\xb4"	# MSS 1460
SYN, RST, ACK, SYNACK = 0x02, 0x04, 0x10, 0x12
BATCH = 256			# frames sent between two reads of what came back
HANDSHAKE_ROUNDS = 4		# idle: SYNs sent again to those not yet answered
ROUND_S = 2.0			# idle: a round waits this long for its SYN-ACKs
# twice: a DPDK SUT's tap queue drops what it cannot take at the wire's pace, and a RST
# lost leaves lwIP's pcb to its 20 s SYN-RCVD timeout; a second RST to a connection the
# first one ended meets a listener or nothing, which ignore it (RFC 9293 3.10.7.1/2)
RESET_PASSES = 2
RESET_GAP_S = 0.5
SEND_S = 120.0			# a flood's sending ends within this, whatever the count
BASELINE_S = 3			# echo_rr before the flood, seconds
DURING_MIN_S = 10		# echo_rr during the flood, seconds
HOLD_S = 4.0			# the wire keeps answering ARP (and re-ACKing) this long after
LEAD_S = 0.5			# echo_rr's head start: its connection is up when the flood begins
SAMPLE_S = 0.05			# RSS sampling period
SETTLE_S = 45.0			# counters back at their start within this after the resets
MiB = 1 << 20


# -- the plan: which host and port each flood connection comes from ----------------------

@dataclass(frozen=True)
class Plan:
    """The flood's connections, reproducible from the seed: the i-th comes from host
    FIRST_HOST + i % sources of the subnet, port FLOOD_PORTS[0] + i // sources, with a
    seeded ISN; the end of the flood recomputes it to reset them."""
    kind: str
    count: int
    seed: int
    sources: int

    def hosts(self, subnet: str) -> list[bytes]:
        net = ipaddress.ip_network(subnet, strict=False)
        return [(net.network_address + FIRST_HOST + i).packed for i in range(self.sources)]

    def conns(self) -> list[tuple[int, int, int]]:
        """(host index, source port, ISN) of each connection."""
        rng = random.Random(self.seed)
        return [(i % self.sources, FLOOD_PORTS[0] + i // self.sources, rng.getrandbits(32))
                for i in range(self.count)]


def check_plan(kind: str, count: int, prefix_len: int = 24) -> None:
    """A flood the lab can carry (ValueError): a known kind, a count in bounds, and enough
    hosts in the subnet and ports per host for it."""
    if kind not in KINDS:
        raise ValueError(f"unknown flood '{kind}' (valid: {', '.join(KINDS)})")
    if not 1 <= count <= MAX_COUNT[kind]:
        raise ValueError(f"--count {count}: the {kind} flood takes 1 to {MAX_COUNT[kind]}")
    hosts = (1 << (32 - prefix_len)) - 1 - FIRST_HOST
    if hosts < SOURCES[kind]:
        raise ValueError(f"a /{prefix_len} subnet has no room for {SOURCES[kind]} made-up hosts")


# -- frames, as bytes ------------------------------------------------------------------

def tcp_frame(src_mac: bytes, dst_mac: bytes, src: bytes, dst: bytes, sport: int, dport: int,
              seq: int, ack: int, flags: int, options: bytes = b"") -> bytes:
    """An Ethernet/IPv4/TCP frame with right checksums, window 65535, DF set."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq % M32, ack % M32,
                      (5 + len(options) // 4) << 4, flags, 65535, 0, 0) + options
    tcp = with_tcp_checksum(src, dst, tcp)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), sport, 0x4000, 64, 6,
                               0, src, dst))
    ip[10:12] = ip_checksum(bytes(ip)).to_bytes(2, "big")
    return dst_mac + src_mac + b"\x08\x00" + bytes(ip) + tcp


def parse_tcp(frame: bytes) -> tuple[bytes, bytes, int, int, int, int, int] | None:
    """(src, dst, sport, dport, seq, ack, flags) of an IPv4/TCP frame, else None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    if ihl < 20 or len(frame) < 14 + ihl + 20:
        return None
    sport, dport, seq, ack, _, flags = struct.unpack_from("!HHIIBB", frame, 14 + ihl)
    return frame[26:30], frame[30:34], sport, dport, seq, ack, flags


def arp_reply(frame: bytes, mac: bytes, ours: set[bytes]) -> bytes | None:
    """Our answer to an ARP request for one of @ours, else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06" or frame[20:22] != b"\x00\x01" or \
            frame[38:42] not in ours:
        return None
    asker_mac, asker_ip, target = frame[22:28], frame[28:32], frame[38:42]
    return asker_mac + mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x02" + mac + \
        target + asker_mac + asker_ip


# -- the wire's side (in the engine namespace) -------------------------------------------

class FloodWire:
    """One flood on the Wire's socket: sends, and reads back raw (answering ARP for the
    made-up hosts, counting what the SUT sent)."""

    def __init__(self, w: Wire, plan: Plan) -> None:
        self.w = w
        self.plan = plan
        self.sock = w.sock.ins
        self.mac = bytes.fromhex(w.mac.replace(":", ""))
        self.sut_mac = bytes.fromhex(w.sut_mac.replace(":", ""))
        self.sut = socket.inet_aton(w.sut_addr)
        self.hosts = plan.hosts(f"{w.peer_addr}/{w.prefix_len}")
        self.ours = {*self.hosts, socket.inet_aton(w.peer_addr)}
        self.stats: dict[str, int] = {}
        self.seen = {"synack": 0, "rst": 0, "other_tcp": 0, "arp_answered": 0}
        self.established: dict[tuple[bytes, int], int] = {}	# (host, port) -> ISN

    def frame(self, host: int, sport: int, seq: int, ack: int, flags: int,
              options: bytes = b"") -> bytes:
        return tcp_frame(self.mac, self.sut_mac, self.hosts[host], self.sut, sport,
                         self.w.sut_port, seq, ack, flags, options)

    def send(self, frame: bytes) -> None:
        send_counting(self.w, frame, self.stats)

    def drain(self, isns: dict[tuple[bytes, int], int] | None = None, limit: int = 8192) -> int:
        """Read what is queued now, without waiting. @isns given (the idle flood), a SYN-ACK
        that acknowledges one of ours is answered with the ACK that completes it."""
        n = 0
        while n < limit:
            try:
                data, addr = self.sock.recvfrom(2048, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            n += 1
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            reply = arp_reply(data, self.mac, self.ours)
            if reply is not None:
                self.send(reply)
                self.seen["arp_answered"] += 1
                continue
            self.count(parse_tcp(data), isns)
        return n

    def count(self, t: tuple[bytes, bytes, int, int, int, int, int] | None,
              isns: dict[tuple[bytes, int], int] | None) -> None:
        if t is None or t[0] != self.sut or t[2] != self.w.sut_port:
            return
        src, dst, _, dport, seq, ack, flags = t
        if (flags & SYNACK) == SYNACK:
            self.seen["synack"] += 1
            iss = None if isns is None else isns.get((dst, dport))
            if iss is not None and ack == (iss + 1) % M32:
                self.send(tcp_frame(self.mac, self.sut_mac, dst, src, dport, self.w.sut_port,
                                    iss + 1, seq + 1, ACK))
                self.established[(dst, dport)] = iss
        elif flags & RST:
            self.seen["rst"] += 1
        else:
            self.seen["other_tcp"] += 1

    def hold(self, seconds: float, isns: dict[tuple[bytes, int], int] | None = None) -> None:
        """Go on reading for @seconds after the flood: ARP for the made-up hosts answered (a
        host that exists, silent), a retransmitted SYN-ACK of the idle flood ACKed again."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.drain(isns):
                time.sleep(0.005)	# nothing queued: poll again, not a synchronization

    def syn_flood(self) -> int:
        """Every SYN once, as fast as the socket takes them; SYN-ACKs only counted."""
        deadline = time.monotonic() + SEND_S
        sent = 0
        for host, sport, iss in self.plan.conns():
            self.send(self.frame(host, sport, iss, 0, SYN, MSS_OPTION))
            sent += 1
            if sent % BATCH == 0:
                self.drain()
                if time.monotonic() > deadline:
                    break
        self.drain()
        return sent

    def idle_flood(self) -> int:
        """Every connection completed by our ACK to its SYN-ACK, then left silent; SYNs sent
        again (same ISN) to those not answered within a round."""
        conns = self.plan.conns()
        isns = {(self.hosts[h], p): iss for h, p, iss in conns}
        sent = 0
        deadline = time.monotonic() + SEND_S
        for _ in range(HANDSHAKE_ROUNDS):
            todo = [c for c in conns if (self.hosts[c[0]], c[1]) not in self.established]
            if not todo or time.monotonic() > deadline:
                break
            for i, (host, sport, iss) in enumerate(todo, 1):
                self.send(self.frame(host, sport, iss, 0, SYN, MSS_OPTION))
                sent += 1
                if i % BATCH == 0:
                    self.drain(isns)
            end = time.monotonic() + ROUND_S
            while len(self.established) < len(conns) and time.monotonic() < end:
                if not self.drain(isns):
                    time.sleep(0.002)	# nothing queued: poll again, not a synchronization
        self.drain(isns)
        return sent

    def reset_all(self) -> int:
        """RESET_PASSES times, a RST from every connection's source at its ISN + 1: what the
        SUT expects next from a SYN-RCVD or an idle ESTABLISHED connection (RFC 9293
        3.10.7.3/4); one it never kept (a SYN cookie, a dropped SYN) ignores it."""
        self.drain()	# the SYN-ACK retransmissions queued while the flood was held
        n = 0
        for _ in range(RESET_PASSES):
            for host, sport, iss in self.plan.conns():
                self.send(self.frame(host, sport, iss + 1, 0, RST))
                n += 1
                if n % BATCH == 0:
                    self.drain()
            self.hold(RESET_GAP_S)
        return n


def flood_wire(w: Wire, req: dict[str, Any]) -> dict[str, Any]:
    """The wire's answer to {"flood": {kind, count, seed}} (sends the flood and returns;
    what it made stays at the SUT) or {"flood_end": {...the same}} (resets all of it)."""
    end = "flood_end" in req
    p = req["flood_end" if end else "flood"]
    plan = Plan(p["kind"], int(p["count"]), int(p["seed"]), SOURCES[p["kind"]])
    fw = FloodWire(w, plan)
    t0 = time.monotonic()
    if end:
        sent = fw.reset_all()
    else:
        sent = fw.syn_flood() if plan.kind == "syn" else fw.idle_flood()
    secs = time.monotonic() - t0
    if not end:
        fw.hold(float(p.get("hold_s", 0)), {(fw.hosts[h], port): iss for h, port, iss
                                            in plan.conns()} if plan.kind == "idle" else None)
    out = {"kind": plan.kind, "count": plan.count, "sources": plan.sources, "frames": sent,
           "seconds": round(secs, 3), "rate_fps": round(sent / secs) if secs > 0 else None,
           "send": fw.stats, "seen": fw.seen}
    if not end and plan.kind == "idle":
        out["established"] = len(fw.established)
    return {"flood_end" if end else "flood": out}


# -- the orchestrator's side (root namespace) --------------------------------------------

def mem_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of process @pid, in bytes (/proc/PID/status gives kB)."""
    return parse_status(Path(f"/proc/{pid}/status").read_text())


def parse_status(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM") and rest.split():
            out[key] = int(rest.split()[0]) * 1024
    return out


class RssSampler(threading.Thread):
    """VmRSS of @pid every SAMPLE_S until stop(): its highest value and the count taken."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            try:
                self.peak = max(self.peak, mem_status(self.pid).get("VmRSS", 0))
                self.samples += 1
            except OSError:
                return	# the SUT ended: the verdict says so

    def stop(self) -> None:
        self.done.set()
        self.join(5)


def echo_summary(rc: int | None, result: dict[str, Any] | None, err: str) -> dict[str, Any]:
    """An echo_rr run as the flood document states it: passed, transactions, latency."""
    m = (result or {}).get("metrics", {})
    lat = m.get("latency_ns", {})
    return {"rc": rc, "passed": bool(rc == 0 and result and result.get("passed")),
            "transactions": m.get("transactions"),
            "p50_us": round(lat["p50"] / 1000, 1) if "p50" in lat else None,
            "p99_us": round(lat["p99"] / 1000, 1) if "p99" in lat else None,
            "stderr": err[-500:]}


def kernel_limits(ns: str) -> dict[str, int]:
    """The sysctls that cap a kernel SUT's half-open connections, read in its namespace."""
    out = {}
    for name in ("net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog",
                 "net.core.somaxconn", "net.ipv4.tcp_synack_retries"):
        done = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", name],
                              capture_output=True, text=True, timeout=30)
        if done.returncode == 0 and done.stdout.strip().isdigit():
            out[name] = int(done.stdout.strip())
    return out


# What caps a stack's state under each flood, and the SUT process's memory growth it
# allows: held connections at most `held_max` (a function of the count), each costing at most
# `per_conn` bytes of the SUT process, plus `slack` (echo_rr's connection, allocator and
# runtime granularity). The stack states each figure and its cap, citing its source
# (struct tl_limits in <tcplab/stack.h>, `tcplab list --json` backends[].limits); the figures
# per connection are two to three times the measured cost (packets.md, "Floods", gives the
# measurements). A stack that states none is held to NO_LIMITS.
LISTEN_BACKLOG = 1024		# serve.c open_listener: tl_listen(..., 1024)
NO_LIMITS_PER_CONN = 65536
NO_LIMITS_SLACK = 64 * MiB


@dataclass(frozen=True)
class Bound:
    cap: str		# what caps the state, citing the source
    held_max: int	# connections the SUT may hold at once under this flood
    per_conn: int	# bytes of SUT process memory per held connection, at most
    slack: int		# bytes on top
    backlog: int | None = None	# syn: the listen backlog the cap counts from, if it does

    @property
    def bytes(self) -> int:
        return self.held_max * self.per_conn + self.slack


def listen_backlog(sysctls: dict[str, int]) -> int:
    """serve's backlog as a listener gets it: the kernel clamps it to net.core.somaxconn,
    read for a SUT on the host kernel's network (kernel_limits); else serve's own."""
    return min(LISTEN_BACKLOG, sysctls.get("net.core.somaxconn", LISTEN_BACKLOG))


def bound(stack: str, limits: Limits | None, kind: str, count: int,
          sysctls: dict[str, int] | None = None) -> Bound:
    """The bound on the SUT process's RSS growth for @count connections of @kind, from the
    limits @stack states (None: none stated, the generic bound)."""
    if limits is None:
        return Bound(f"no bound stated for stack '{stack}'", count, NO_LIMITS_PER_CONN,
                     NO_LIMITS_SLACK)
    if kind != "syn":
        return Bound(limits.idle_reason, count, limits.idle_bytes, limits.slack_bytes)
    if limits.syn_over_backlog is None:
        return Bound(limits.syn_rcvd_reason, count, limits.syn_rcvd_bytes, limits.slack_bytes)
    backlog = listen_backlog(sysctls or {})
    return Bound(f"{limits.syn_rcvd_reason} [backlog {backlog}: min(serve's "
                 f"{LISTEN_BACKLOG}, somaxconn where the kernel listens) + "
                 f"{limits.syn_over_backlog}]",
                 min(count, backlog + limits.syn_over_backlog), limits.syn_rcvd_bytes,
                 limits.slack_bytes, backlog)


def kernel_half_open(sockets: dict[str, int] | None) -> int:
    return (sockets or {}).get("SYN-RECV", 0)


def settle(lab: PacketLab, start: dict[str, Any], dpdk: bool) -> tuple[dict[str, Any], float]:
    """The SUT's stats once no connection is open (and for a DPDK stack, its counters are
    back at their start: mbufs, sockets, active pcbs), at most SETTLE_S; with the time."""
    t0 = time.monotonic()
    while True:
        st = lab.stats()
        c, c0 = st.get("stack") or {}, start.get("stack") or {}
        back = st.get("open") == 0 and not (lab.sut_sockets() or {}).get("SYN-RECV") and \
            (not dpdk or (c.get("mbufs_in_use", 1 << 30) <= c0.get("mbufs_in_use_start", 0)
                          and c.get("sockets_open") == c0.get("sockets_open")
                          and c.get("tcp_active", 1) == c0.get("tcp_active", 0)))
        if back or time.monotonic() - t0 > SETTLE_S or not lab.sut.alive():
            return st, round(time.monotonic() - t0, 1)
        time.sleep(1.0)	# polling counters, not a synchronization


def flood_run(backend: str, kind: str, count: int, seed: int, out_dir: Path) -> dict[str, Any]:
    """One flood at @backend's SUT and its aftermath (module docstring)."""
    res: dict[str, Any] = {"backend": backend, "kind": kind, "count": count, "seed": seed}
    with PacketLab(backend, seed=seed) as lab:
        dpdk = lab.attach == DPDK
        stack = lab.table.backend(backend)
        pid = lab.sut.popen.pid	# `ip netns exec` execs the SUT: the same process
        sysctls = kernel_limits(lab.ns.ns["sut"]) if not dpdk else {}
        start = lab.stats()
        res["before"] = {"mem": mem_status(pid), "stats": start}
        res["baseline"] = echo_summary(*lab.echo_rr(str(BASELINE_S), out_dir / "baseline"))
        res.update(flood_during(lab, kind, count, seed, pid, out_dir))
        res["end"] = lab.wire.request({"flood_end": {"kind": kind, "count": count,
                                                     "seed": seed}}, 120)["flood_end"]
        after, res["settle_s"] = settle(lab, start, dpdk)
        res["after"] = {"mem": mem_status(pid) if lab.sut.alive() else {}, "stats": after,
                        "sockets": lab.sut_sockets()}
        res["sut_alive"] = lab.sut.alive()
        if not res["sut_alive"]:
            res["sut_exit"] = lab.sut.popen.returncode
            res["sut_stderr"] = lab.sut.stderr_tail(1500)
        b = bound(stack.name, stack.limits, kind, count, sysctls)
        res["bound"] = {"stack": stack.name, "stated": stack.limits is not None,
                        "cap": b.cap, "held_max": b.held_max, "backlog": b.backlog,
                        "per_conn_bytes": b.per_conn, "slack_bytes": b.slack,
                        "rss_growth_max": b.bytes, "limits": sysctls}
    res["problems"] = flood_problems(res)
    res["outcome"] = "fail" if res["problems"] else "pass"
    return res


def flood_during(lab: PacketLab, kind: str, count: int, seed: int, pid: int,
                 out_dir: Path) -> dict[str, Any]:
    """The flood, with echo_rr running through the SUT and its RSS sampled meanwhile; the
    SUT's stats at the peak (the flood's state still held)."""
    sampler = RssSampler(pid)
    sampler.start()
    during: dict[str, Any] = {}
    span: dict[str, float] = {}

    def client() -> None:
        span["start"] = time.monotonic()
        during.update(echo_summary(*lab.echo_rr(str(DURING_MIN_S), out_dir / "during")))
        span["end"] = time.monotonic()
    t = threading.Thread(target=client, daemon=True)
    t.start()
    time.sleep(LEAD_S)	# the client's head start (its run is checked to span the flood)
    f0 = time.monotonic()
    flood = lab.wire.request({"flood": {"kind": kind, "count": count, "seed": seed,
                                        "hold_s": HOLD_S}}, SEND_S + HOLD_S + 30)
    f1 = f0 + (flood.get("flood") or {}).get("seconds", 0)	# its sending's end
    peak_stats = lab.stats()
    sockets = lab.sut_sockets()
    t.join(DURING_MIN_S + 70)
    sampler.stop()
    out = {"flood": flood.get("flood", flood), "during": during,
           "peak": {"rss": sampler.peak, "samples": sampler.samples,
                    "mem": mem_status(pid) if lab.sut.alive() else {},
                    "stats": peak_stats, "sockets": sockets,
                    "half_open": kernel_half_open(sockets)}}
    during["spans_flood"] = bool(span) and span.get("start", f0) <= f0 and \
        span.get("end", 0) >= f1
    during["flood_send_s"] = round(f1 - f0, 2)
    return out


def flood_problems(res: dict[str, Any]) -> list[str]:
    """What makes a flood run fail: the SUT died, the legitimate client did not pass while
    the flood was held, the SUT's memory grew past the stated bound, something was not
    released after, or the flood did not happen as asked."""
    out = []
    if not res.get("sut_alive", False):
        out.append(f"the SUT process died (exit status {res.get('sut_exit')}): "
                   f"{res.get('sut_stderr', '')[-300:]}")
    f = res.get("flood") or {}
    if f.get("error"):
        out.append(f"the flood failed: {f['error'][:300]}")
    if f.get("frames", 0) < res.get("count", 0):
        out.append(f"the flood sent {f.get('frames', 0)} of {res.get('count')} SYNs")
    if res.get("kind") == "idle" and f.get("established", 0) < res.get("count", 0):
        out.append(f"{f.get('established', 0)} of {res.get('count')} idle connections "
                   "were established")
    held = ((res.get("peak") or {}).get("stats") or {}).get("open", 0)
    if res.get("kind") == "idle" and held < res.get("count", 0):
        out.append(f"the SUT held {held} connections open at the peak, of the "
                   f"{res.get('count')} idle ones")
    if not (res.get("baseline") or {}).get("passed"):
        out.append(f"the baseline echo_rr did not pass: {res.get('baseline')}")
    d = res.get("during") or {}
    if not d.get("passed"):
        out.append(f"echo_rr during the flood did not pass: {d}")
    elif not d.get("spans_flood"):
        out.append("echo_rr did not run for the whole of the flood's sending")
    out += memory_problems(res)
    out += release_problems(res)
    return out


def memory_problems(res: dict[str, Any]) -> list[str]:
    b = res.get("bound") or {}
    before = (res.get("before") or {}).get("mem", {}).get("VmRSS")
    peak = (res.get("peak") or {}).get("rss")
    if before is None or not peak or "rss_growth_max" not in b:
        return ["no RSS samples: the memory bound cannot be checked"]
    out = []
    if peak - before > b["rss_growth_max"]:
        out.append(f"the SUT's RSS grew by {peak - before} bytes at the peak, past the bound "
                   f"of {b['rss_growth_max']} ({b.get('cap')})")
    half = (res.get("peak") or {}).get("half_open", 0)	# the kernel's SYN-RECV (ss)
    if res.get("kind") == "syn" and "held_max" in b and half > b["held_max"]:
        out.append(f"{half} SYN-RECV sockets at the peak, past the {b['held_max']} the stack "
                   f"holds at most (listen backlog {b.get('backlog')})")
    return out


def release_problems(res: dict[str, Any]) -> list[str]:
    """After the resets: no connection open, the DPDK stack's counters back at their start."""
    after = (res.get("after") or {}).get("stats") or {}
    start = (res.get("before") or {}).get("stats") or {}
    out = []
    if after.get("open", 1) != 0:
        out.append(f"the SUT still holds {after.get('open')} connection(s) open after the "
                   "flood")
    c, c0 = after.get("stack") or {}, start.get("stack") or {}
    for name in ("mbufs_in_use", "sockets_open", "tcp_active"):
        if name not in c0:
            continue
        base = c0.get("mbufs_in_use_start", c0[name]) if name == "mbufs_in_use" else c0[name]
        if name not in c:
            out.append(f"the SUT stack reports no {name} counter after the flood")
        elif c[name] > base:
            out.append(f"the SUT stack's {name} is {c[name]} after the flood, {base} at "
                       "its start")
    socks = (res.get("after") or {}).get("sockets") or {}
    left = {k: v for k, v in socks.items() if k not in ("LISTEN", "TIME-WAIT")}
    if left:
        out.append(f"kernel sockets left in the SUT after the flood: {left}")
    return out


def summary_line(res: dict[str, Any]) -> str:
    """One line per backend: the flood, echo_rr before and during, RSS, the verdict."""
    b, d = res.get("baseline") or {}, res.get("during") or {}
    mem0 = (res.get("before") or {}).get("mem", {}).get("VmRSS", 0)
    mem1 = (res.get("after") or {}).get("mem", {}).get("VmRSS", 0)
    peak = (res.get("peak") or {}).get("rss", 0)
    f = res.get("flood") or {}
    return (f"flood {res['kind']}: {f.get('frames', 0)} SYNs at {f.get('rate_fps')}/s at the "
            f"{res['backend']} SUT: {res.get('outcome')}; echo_rr p50/p99 baseline "
            f"{b.get('p50_us')}/{b.get('p99_us')} us, during {d.get('p50_us')}/"
            f"{d.get('p99_us')} us ({'passed' if d.get('passed') else 'FAILED'}); RSS "
            f"{mem0 / MiB:.1f} -> peak {peak / MiB:.1f} -> {mem1 / MiB:.1f} MiB (bound +"
            f"{(res.get('bound') or {}).get('rss_growth_max', 0) / MiB:.1f}); released in "
            f"{res.get('settle_s')} s")


def write_doc(path: Path, runs: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"schema": SCHEMA, "runs": runs}, indent=1) + "\n")

