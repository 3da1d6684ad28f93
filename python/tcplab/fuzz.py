"""fuzz.py - the fuzz run: mutated and malformed frames (random IP and TCP header fields,
truncated headers, bad options, segments on a live connection, ICMP noise), reproducible from
a seed, sent at the SUT by the Wire; then the aftermath, judged from the root namespace: the
SUT alive, its connections closed, echo_rr through it passing, and for a stack that reports
them (every DPDK stack: stack/README.md, "Counters") its mbufs back and only the listener
open. Any backend may be the SUT; `tcplab packets --fuzz` runs it at each in turn.
"""
from __future__ import annotations

import errno
import ipaddress
import random
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import stacks
from .lab import PacketLab
from .topology import DPDK, LINUX
from .wire import M32, SILENCE_S, WIRE_PORTS, Conn, Wire, flag_str, scapy


@dataclass(frozen=True)
class FuzzTarget:
    """Where fuzz frames go (addresses in a subnet of @prefix_len bits), and a live
    connection whose numbers some of them reuse."""
    src_mac: str
    dst_mac: str
    peer_addr: str
    sut_addr: str
    prefix_len: int
    port: int
    conn_sport: int = WIRE_PORTS[0]
    conn_seq: int = 0
    conn_ack: int = 0


FUZZ_WEIGHTS = {"tcp_fields": 25, "ip_fields": 20, "truncated": 15, "tcp_options": 15,
                "conn": 15, "icmp": 5, "ipv4_garbage": 5}


def rbytes(rng: random.Random, n: int) -> bytes:
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def fuzz_port(rng: random.Random) -> int:
    """A source port outside the checks' range (their connections are scapy's own)."""
    return rng.choice((rng.randrange(1024, WIRE_PORTS[0]), rng.randrange(WIRE_PORTS[1] + 1,
                                                                          65536)))


def random_options(rng: random.Random) -> bytes:
    """Up to 40 bytes of options, kinds and lengths random (lengths often wrong)."""
    out = b""
    while len(out) < 40 and rng.random() < 0.8:
        kind = rng.choice((0, 1, 2, 3, 4, 5, 8, 28, 29, 30, 34, 253, 254, rng.randrange(256)))
        if kind in (0, 1):
            out += bytes([kind])
            continue
        length = rng.choice((0, 1, 2, 3, 4, 10, 18, 40, 255, rng.randrange(256)))
        out += bytes([kind, length]) + rbytes(rng, rng.randrange(0, 12))
    out = out[:40]
    return out + b"\x00" * (-len(out) % 4)


def fz_tcp_fields(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    tcp = sc.TCP(sport=fuzz_port(rng),
                 dport=t.port if rng.random() < 0.8 else rng.randrange(65536),
                 seq=rng.randrange(M32), ack=rng.randrange(M32), flags=rng.randrange(256),
                 window=rng.randrange(65536), urgptr=rng.randrange(65536))
    if rng.random() < 0.2:
        tcp.dataofs = rng.randrange(16)
    if rng.random() < 0.1:
        tcp.chksum = rng.randrange(65536)
    return sc.IP(src=t.peer_addr, dst=t.sut_addr) / tcp / sc.Raw(rbytes(rng, rng.randrange(0, 64)))


def ip_checksum(header: bytes) -> int:
    total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header) - 1, 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_tcp_checksum(src: bytes, dst: bytes, seg: bytes) -> bytes:
    """@seg (a TCP header and data, at least up to its checksum field) with its checksum
    right for a pseudo-header of @src, @dst, protocol 6 and the length of @seg (RFC 9293
    3.1): what a mutated or truncated frame needs for TCP input to parse it further."""
    if len(seg) < 18:
        return seg
    seg = seg[:16] + b"\0\0" + seg[18:]
    body = src + dst + bytes([0, 6]) + len(seg).to_bytes(2, "big") + seg
    return seg[:16] + ip_checksum(body + b"\0" * (len(body) % 2)).to_bytes(2, "big") + seg[18:]


def neighbour(rng: random.Random, t: FuzzTarget) -> bytes:
    """A source address in the peer's subnet that no side owns (hosts 4 and up)."""
    net = ipaddress.ip_network(f"{t.peer_addr}/{t.prefix_len}", strict=False)
    return (net.network_address + rng.randrange(4, min(net.num_addresses - 1, 255))).packed


def fz_ip_fields(rng: random.Random, sc: Any, t: FuzzTarget) -> bytes:
    """A TCP segment whose IP header has one to three fields random (sometimes random
    options too); the header checksum stays valid unless it is the field chosen, and so
    does the TCP checksum for the addresses the header ends with (unless a header field
    made it something else than TCP, whatever reaches TCP input is judged by its fields)."""
    seg = bytes(sc.TCP(sport=fuzz_port(rng), dport=t.port, seq=rng.randrange(M32),
                       flags=rng.choice(("S", "A", "PA", "R", "F"))) /
                sc.Raw(rbytes(rng, rng.randrange(0, 32))))
    opts = rbytes(rng, 4 * rng.randrange(1, 11)) if rng.random() < 0.2 else b""
    h = bytearray(bytes(sc.IP(src=t.peer_addr, dst=t.sut_addr, proto=6, len=20 + len(opts) +
                              len(seg), ihl=5 + len(opts) // 4))[:20] + opts)
    mutations: dict[str, Callable[[], None]] = {
        "version": lambda: h.__setitem__(0, rng.randrange(16) << 4 | (h[0] & 0x0F)),
        "ihl": lambda: h.__setitem__(0, (h[0] & 0xF0) | rng.randrange(16)),
        "tos": lambda: h.__setitem__(1, rng.randrange(256)),
        "len": lambda: h.__setitem__(slice(2, 4), rbytes(rng, 2)),
        "id": lambda: h.__setitem__(slice(4, 6), rbytes(rng, 2)),
        "flags_frag": lambda: h.__setitem__(slice(6, 8), rbytes(rng, 2)),
        "ttl": lambda: h.__setitem__(8, rng.randrange(256)),
        "proto": lambda: h.__setitem__(9, rng.choice((1, 6, 17, rng.randrange(256)))),
        "src": lambda: h.__setitem__(slice(12, 16), neighbour(rng, t)),
    }
    for name in rng.sample(sorted(mutations), rng.randrange(1, 4)):
        mutations[name]()
    h[10:12] = ip_checksum(bytes(h[:10]) + bytes(h[12:])).to_bytes(2, "big")
    if rng.random() < 0.15:
        h[10:12] = rbytes(rng, 2)
    seg = with_tcp_checksum(bytes(h[12:16]), bytes(h[16:20]), seg)
    return bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac, type=0x0800)) + bytes(h) + seg


def fz_truncated(rng: random.Random, sc: Any, t: FuzzTarget) -> bytes:
    """A frame cut short. Cut inside the Ethernet or IP header it is what it is; cut after
    the IP header, the IP total length and header checksum say the length it has, so IP
    hands it on, and (when the cut leaves the checksum field) the TCP checksum is right
    for what is left: TCP input itself meets the short header, options or data."""
    base = fz_tcp_options(rng, sc, t) if rng.random() < 0.5 else fz_tcp_fields(rng, sc, t)
    raw = bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac) / base)
    cut = bytearray(raw[:rng.randrange(14, len(raw))])
    ihl = 4 * (cut[14] & 0x0F) if len(cut) > 14 else 0
    if ihl >= 20 and len(cut) >= 14 + ihl:
        cut[16:18] = (len(cut) - 14).to_bytes(2, "big")
        cut[24:26] = b"\0\0"
        cut[24:26] = ip_checksum(bytes(cut[14:14 + ihl])).to_bytes(2, "big")
        cut[14 + ihl:] = with_tcp_checksum(bytes(cut[26:30]), bytes(cut[30:34]),
                                           bytes(cut[14 + ihl:]))
    return bytes(cut)


def fz_tcp_options(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    opts = random_options(rng)
    tcp = sc.TCP(sport=fuzz_port(rng), dport=t.port, seq=rng.randrange(M32),
                 ack=rng.randrange(M32), flags=rng.choice(("S", "S", "A", "PA", "SA")))
    tcp.dataofs = 5 + len(opts) // 4 if rng.random() < 0.7 else rng.randrange(16)
    return sc.IP(src=t.peer_addr, dst=t.sut_addr) / tcp / sc.Raw(opts + rbytes(rng,
                                                                          rng.randrange(0, 16)))


def fz_conn(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    """A segment on the live connection, numbers near its own: the established paths."""
    tcp = sc.TCP(sport=t.conn_sport, dport=t.port,
                 seq=(t.conn_seq + rng.randrange(-70000, 70000)) % M32,
                 ack=(t.conn_ack + rng.randrange(-70000, 70000)) % M32,
                 flags=rng.choice(("A", "PA", "PA", "FA", "RA", "R", "S", "SA", "UA", "FPA")),
                 window=rng.choice((0, rng.randrange(65536))), urgptr=rng.randrange(65536))
    if rng.random() < 0.3:
        opts = random_options(rng)
        tcp.dataofs = 5 + len(opts) // 4
        return sc.IP(src=t.peer_addr, dst=t.sut_addr) / tcp / sc.Raw(opts + rbytes(rng, 8))
    return sc.IP(src=t.peer_addr, dst=t.sut_addr) / tcp / sc.Raw(rbytes(rng, rng.randrange(0, 200)))


def fz_icmp(rng: random.Random, sc: Any, t: FuzzTarget) -> Any:
    """Any type and code, the rest of the header random, a body that is noise or quotes
    (part of) a TCP header of the live connection, as an ICMP error would."""
    kind = rng.choice((0, 3, 4, 5, 8, 11, 12, 13, 17, rng.randrange(256)))
    quoted = bytes(sc.IP(src=t.sut_addr, dst=t.peer_addr) /
                   sc.TCP(sport=t.port, dport=t.conn_sport, seq=rng.randrange(M32)))
    body = quoted[:rng.randrange(0, len(quoted) + 1)] if rng.random() < 0.5 else \
        rbytes(rng, rng.randrange(0, 64))
    head = bytes([kind, rng.randrange(16), 0, 0]) + rbytes(rng, 4)
    csum = sc.checksum(head + body) if rng.random() < 0.9 else rng.randrange(65536)
    icmp = head[:2] + csum.to_bytes(2, "big") + head[4:] + body
    return sc.IP(src=t.peer_addr, dst=t.sut_addr, proto=1) / sc.Raw(icmp)


def fz_ipv4_garbage(rng: random.Random, sc: Any, t: FuzzTarget) -> bytes:
    return bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac, type=0x0800)) + \
        rbytes(rng, rng.randrange(0, 80))


FUZZERS: dict[str, Callable[[random.Random, Any, FuzzTarget], Any]] = {
    "tcp_fields": fz_tcp_fields, "ip_fields": fz_ip_fields, "truncated": fz_truncated,
    "tcp_options": fz_tcp_options, "conn": fz_conn, "icmp": fz_icmp,
    "ipv4_garbage": fz_ipv4_garbage,
}


def tcp_segment(frame: bytes, sut_addr: str) -> bytes | None:
    """The TCP segment of @frame where it is an IPv4 datagram a host owning @sut_addr hands
    to TCP input: version 4, a header of 20 to 60 bytes that is all there with a right
    checksum, a total length the frame holds, no fragment, protocol 6, addressed to
    @sut_addr; else None. (IP options are not parsed here: a stack may still drop a
    datagram for its options.)"""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
        return None
    ihl = 4 * (frame[14] & 0x0F)
    total = int.from_bytes(frame[16:18], "big")
    if ihl < 20 or len(frame) < 14 + ihl or ip_checksum(frame[14:14 + ihl]) != 0:
        return None
    if not ihl <= total <= len(frame) - 14 or int.from_bytes(frame[20:22], "big") & 0x3FFF:
        return None
    if frame[23] != 6 or frame[30:34] != ipaddress.ip_address(sut_addr).packed:
        return None
    return frame[14 + ihl:14 + total]


def tcp_checksum_ok(frame: bytes, seg: bytes) -> bool:
    """Whether @seg (of IPv4 @frame) has a TCP checksum right for its pseudo-header."""
    body = frame[26:34] + bytes([0, 6]) + len(seg).to_bytes(2, "big") + seg
    return len(seg) >= 18 and ip_checksum(body + b"\0" * (len(body) % 2)) == 0


def reaches_tcp(frame: bytes, sut_addr: str) -> bool:
    """Whether @frame reaches the TCP input of a host owning @sut_addr and passes its
    checksum (tcp_segment, tcp_checksum_ok): what a stack's TCP-input count is held to."""
    seg = tcp_segment(frame, sut_addr)
    return seg is not None and tcp_checksum_ok(frame, seg)


def syn_of(frame: bytes, sut_addr: str) -> tuple[str, int, int, int] | None:
    """A fuzzed SYN (no ACK) that reaches the SUT's TCP input: (source, source port,
    destination port, sequence number); else None."""
    if not reaches_tcp(frame, sut_addr):
        return None
    seg = tcp_segment(frame, sut_addr)
    if seg is None or len(seg) < 20 or seg[13] & 0x12 != 0x02:
        return None
    return (str(ipaddress.ip_address(frame[26:30])), int.from_bytes(seg[0:2], "big"),
            int.from_bytes(seg[2:4], "big"), int.from_bytes(seg[4:8], "big"))


def reset_syns(w: Wire, syns: set[tuple[str, int, int, int]]) -> None:
    """A RST for each connection a fuzzed SYN may have opened, at the sequence number the
    SUT expects next (ISN + 1: RFC 5961 accepts a RST there in SYN-RCVD), from its source:
    a host that sent a SYN and gave up ends what it began, so no half-open connection
    outlives the run (one in gVisor waits out its SYN-ACK retries otherwise, ~2 min)."""
    sc = w.sc
    for src, sport, dport, seq in sorted(syns):
        w.send(w.eth() / sc.IP(src=src, dst=w.sut_addr) /
               sc.TCP(sport=sport, dport=dport, seq=(seq + 1) % M32, flags="R"))


def fuzz_frames(rng: random.Random, count: int, t: FuzzTarget) -> list[tuple[str, bytes]]:
    """@count (kind, frame bytes), reproducible from @rng's seed."""
    sc = scapy()
    kinds, weights = list(FUZZ_WEIGHTS), list(FUZZ_WEIGHTS.values())
    out = []
    for kind in rng.choices(kinds, weights, k=count):
        frame = FUZZERS[kind](rng, sc, t)
        if not isinstance(frame, bytes):
            frame = bytes(sc.Ether(src=t.src_mac, dst=t.dst_mac) / frame)
        out.append((kind, frame))
    return out


def send_counting(w: Wire, frame: bytes, stats: dict[str, int]) -> None:
    """Send one frame; a full veth backlog (ENOBUFS) is retried a bounded number of times."""
    for _ in range(100):
        try:
            w.sock.outs.send(frame)
            return
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                stats[f"send_{errno.errorcode.get(e.errno, e.errno)}"] = \
                    stats.get(f"send_{errno.errorcode.get(e.errno, e.errno)}", 0) + 1
                return
            stats["enobufs_retries"] = stats.get("enobufs_retries", 0) + 1
            time.sleep(0.001)	# back-off for the receiving softirq, not a synchronization
    stats["dropped_enobufs"] = stats.get("dropped_enobufs", 0) + 1


FINAL_S = 5.0


def is_neighbour(addr: str, t: FuzzTarget) -> bool:
    """Whether @addr is one neighbour() may have made up: hosts 4 and up of the subnet."""
    net = ipaddress.ip_network(f"{t.peer_addr}/{t.prefix_len}", strict=False)
    a = ipaddress.ip_address(addr)
    return a in net and 4 <= int(a) - int(net.network_address) < min(net.num_addresses - 1,
                                                                       255)


def fuzz(w: Wire, count: int, seed: int, batch: int = 500) -> dict[str, Any]:
    """Send @count mutated frames (seeded) at the SUT in batches, answering between batches
    what a real peer would (ARP; a RST to a SYN-ACK for a port it never opened); then end
    the live connection it used. Counts per kind, errors, time."""
    started = time.monotonic()
    rng = random.Random(seed)
    c = Conn(w)
    c.connect()
    target = FuzzTarget(w.mac, w.sut_mac, w.peer_addr, w.sut_addr, w.prefix_len, w.sut_port,
                        c.sport, c.snd_nxt, c.rcv_nxt)
    stats: dict[str, int] = {}
    kinds: dict[str, int] = {}
    replies = {"frames_seen": 0, "synack_reset": 0, "neighbour_arp": 0}
    sc = w.sc

    def on_frame(pkt: Any) -> bool:
        replies["frames_seen"] += 1
        if c.ours(pkt):
            c.absorb(pkt)
        elif sc.ARP in pkt and pkt[sc.ARP].op == 1 and is_neighbour(pkt[sc.ARP].pdst, target):
            # a fuzzed source in the subnet (neighbour()): answer as that host would, so the
            # SUT's reply reaches it and a SYN-ACK is reset below, as a real host resets a
            # SYN-ACK it never asked for; unanswered, the SUT would hold the half-open
            # connection until its handshake gives up (gVisor: 6 SYN-ACK retries from 1 s,
            # about 2 minutes; lwIP: 20 s)
            a = pkt[sc.ARP]
            w.send(sc.Ether(src=w.mac, dst=a.hwsrc) /
                   sc.ARP(op=2, hwsrc=w.mac, psrc=a.pdst, hwdst=a.hwsrc, pdst=a.psrc))
            replies["neighbour_arp"] += 1
        elif (sc.TCP in pkt and sc.IP in pkt and pkt[sc.IP].src == w.sut_addr and
              flag_str(int(pkt[sc.TCP].flags)) == "SA"):
            t = pkt[sc.TCP]	# the reset comes from whom the SYN-ACK went to
            w.send(w.eth() / sc.IP(src=pkt[sc.IP].dst, dst=w.sut_addr) /
                   sc.TCP(sport=t.dport, dport=t.sport, seq=t.ack, flags="R"))
            replies["synack_reset"] += 1
        return True

    sent = 0
    to_tcp = 0
    built_s = 0.0
    syns: set[tuple[str, int, int, int]] = set()
    while sent < count:
        t0 = time.monotonic()
        frames = fuzz_frames(rng, min(batch, count - sent), target)
        built_s += time.monotonic() - t0
        for kind, frame in frames:
            to_tcp += reaches_tcp(frame, w.sut_addr)
            syn = syn_of(frame, w.sut_addr)
            if syn is not None:
                syns.add(syn)
            send_counting(w, frame, stats)
            kinds[kind] = kinds.get(kind, 0) + 1
        sent += len(frames)
        w.drain(on_frame)
    # let the last replies come in (an ARP answered brings the SYN-ACK it held): until
    # SILENCE_S without a frame, at most FINAL_S
    end = time.monotonic() + FINAL_S
    while time.monotonic() < end and w.wait(on_frame, SILENCE_S) is not None:
        pass
    # the live connection first: a fuzzed SYN on its own ports, once a fuzzed RST ended
    # it, opens a new one there in SYN-RCVD, which answers close_fuzzed's probe with a RST
    # (an ACK it does not expect) and is only ended by a RST at that SYN's ISN + 1
    closed = close_fuzzed(c)
    reset_syns(w, syns)
    replies["syns_reset"] = len(syns)
    return {"frames": sent, "seed": seed, "by_kind": kinds, "send": stats, "to_tcp": to_tcp,
            "replies": replies, "arp_answered": w.arp_answered, "conn_closed": closed,
            "build_s": round(built_s, 2), "seconds": round(time.monotonic() - started, 2)}


def close_fuzzed(c: Conn, tries: int = 4) -> str:
    """End the connection the fuzz run mutated. Its numbers may have moved, so ask the SUT:
    a window probe is answered with its RCV.NXT (or a RST when the connection is gone, or
    when a fuzzed SYN opened another on its ports: reset_syns ends that one);
    then a RST exactly there. Per-socket rate limits (Linux: one out-of-window reply per
    500 ms) may swallow a probe, hence a few tries."""
    for _ in range(tries):
        c.w.send(c.seg("A", seq=c.snd_nxt - 1))
        r = c.wait(lambda p: True, 0.7)
        if r is None:
            continue
        t = r[c.sc.TCP]
        if t.flags & 0x04:
            return "gone"	# reset by the fuzz run itself
        c.w.send(c.seg("R", seq=t.ack))
        return "reset"
    return "unknown"


# a stack keeps fuzzed fragments in IP reassembly until it gives up on them: 15 s in lwIP
# (IP_REASS_MAXAGE), 30 s in gVisor's netstack (ipv4.ReassembleTimeout, Linux's value);
# lwIP keeps a connection a fuzzed SYN opened in SYN-RCVD (on tcp_active_pcbs) until 20 s
# after the last segment it had (tcp_priv.h TCP_SYN_RCVD_TIMEOUT, core/tcp.c tcp_slowtmr)
MBUF_SETTLE_S = 40.0


def settled_stats(lab: PacketLab) -> tuple[dict[str, Any] | None, float | None]:
    """The SUT's stats once a DPDK stack has every mbuf back (fuzzed fragments sit in IP
    reassembly until it gives up on them) and no connection active (half-open ones time
    out), bounded by MBUF_SETTLE_S; with the time it took."""
    t0 = time.monotonic()
    while lab.sut.alive():
        st = lab.stats()
        stack = st.get("stack", {})
        if "mbufs_in_use" not in stack:
            return st, None
        if stack["mbufs_in_use"] <= stack.get("mbufs_in_use_start", 0) and \
                stack.get("tcp_active", 0) == 0 or time.monotonic() - t0 > MBUF_SETTLE_S:
            return st, round(time.monotonic() - t0, 1)
        time.sleep(1.0)	# polling a counter, not synchronizing: each round asks again
    return None, None


def kernel_counters(ns: str) -> dict[str, int]:
    """A kernel SUT's frames received (all netdevs of namespace @ns but lo: /proc/net/dev)
    and segments that reached TCP input (Tcp InSegs: /proc/net/snmp), as the fuzz run's
    delivery counters."""
    done = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/dev",
                           "/proc/net/snmp"], capture_output=True, text=True, timeout=30,
                          check=True)
    rx = 0
    tcp: dict[str, str] = {}
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        name, _, rest = line.partition(":")
        if rest and name.strip() not in ("lo", "Tcp", "Ip", "Icmp", "IcmpMsg", "Udp",
                                         "UdpLite") and len(rest.split()) >= 16:
            rx += int(rest.split()[1])
        if line.startswith("Tcp:") and i + 1 < len(lines) and lines[i + 1].startswith("Tcp:"):
            tcp = dict(zip(line.split()[1:], lines[i + 1].split()[1:]))
    return {RX: rx, TCP_IN: int(tcp["InSegs"])}


RX, TCP_IN = "rx_frames", "tcp_input"


def delivery_counters(lab: PacketLab, st: dict[str, Any] | None) -> dict[str, int | None]:
    """Frames the SUT received and segments that reached its TCP input, from its stats
    line @st (a DPDK stack: its counters; None where it names none for TCP input) or, for
    the kernel, from its namespace."""
    if lab.attach != DPDK:
        return kernel_counters(lab.ns.ns["sut"])
    c = (st or {}).get("stack") or {}
    names = stacks.tcp_input(lab.table.backend(lab.backend).name)
    return {RX: c.get(stacks.RX_COUNTER),
            TCP_IN: sum(c[n] for n in names) if names and all(n in c for n in names) else None}


def delivery(before: dict[str, int | None], after: dict[str, int | None],
             res: dict[str, Any]) -> dict[str, Any]:
    """What the SUT counted of the fuzz run: frames received (at least those sent), and
    the segments that reached TCP input, as a share of the frames sent."""
    def delta(k: str) -> int | None:
        b, a = before.get(k), after.get(k)
        return None if a is None or b is None else a - b
    sent = res.get("frames", 0) - sum(v for k, v in res.get("send", {}).items()
                                      if k != "enobufs_retries")
    rx, tcp_in = delta(RX), delta(TCP_IN)
    return {"sent": sent, "rx_frames": rx, "tcp_input": tcp_in, "to_tcp": res.get("to_tcp", 0),
            "tcp_input_share": None if tcp_in is None or not sent else round(tcp_in / sent, 3),
            "well_formed_tcp_share": round(res.get("to_tcp", 0) / sent, 3) if sent else None}


def fuzz_run(backend: str, count: int, seed: int, out_dir: Path) -> dict[str, Any]:
    """The fuzz run and its aftermath: SUT alive, its stats, echo_rr through it; around
    the run, the SUT's receive counters (delivery)."""
    with PacketLab(backend, seed=seed) as lab:
        before = delivery_counters(lab, lab.stats())
        res = lab.fuzz(count, seed)
        res["sut_alive"] = lab.sut.alive()
        if res["sut_alive"]:
            res["delivery"] = delivery(before, delivery_counters(lab, lab.stats()), res)
        rc, result, err = lab.echo_rr("1", out_dir) if res["sut_alive"] else (None, None, "")
        res["echo_rr"] = {"rc": rc, "passed": bool(result and result.get("passed")),
                          "transactions": (result or {}).get("metrics", {}).get("transactions"),
                          "stderr": err[-500:]}
        res["sut_stats"], res["mbufs_settle_s"] = settled_stats(lab)
        res["sut_alive_after"] = lab.sut.alive()
        if not res["sut_alive_after"]:
            res["sut_exit"] = lab.sut.popen.returncode	# negative: the signal that ended it
            res["sut_stderr"] = lab.sut.stderr_tail(1500)
            res["sut_stdout"] = lab.sut.rest()
        res["sut_attach"] = lab.attach
        sockets = lab.sut_sockets()
        if sockets is not None:
            res["sut_sockets"] = sockets
    problems = fuzz_problems(res, count)
    res.update({"backend": backend, "outcome": "fail" if problems else "pass",
                "problems": problems})
    return res


def delivery_problems(d: dict[str, Any] | None) -> list[str]:
    """The fuzz run's frames must have reached the SUT: its receive counter grew by at least
    the frames sent (a run whose frames went nowhere tests nothing); a SUT that counts TCP
    input must have seen segments there."""
    if d is None:
        return ["no delivery counts (the SUT died during the run)"]
    out = []
    if d["rx_frames"] is None:
        out.append(f"the SUT reports no {stacks.RX_COUNTER} counter: delivery unknown")
    elif d["rx_frames"] < d["sent"]:
        out.append(f"the SUT received {d['rx_frames']} frames of the {d['sent']} sent")
    # half the well-formed ones at least: gVisor counts only segments that met an
    # endpoint (stacks.py), and some go to a port nobody listens on
    if d["tcp_input"] is not None and d["tcp_input"] < d.get("to_tcp", 0) // 2:
        out.append(f"{d['tcp_input']} segments reached the SUT's TCP input, of "
                   f"{d['to_tcp']} well-formed TCP frames sent")
    return out


def fuzz_problems(res: dict[str, Any], count: int) -> list[str]:
    out = []
    if res.get("error"):
        out.append(res["error"])
    if res.get("frames", 0) < count:
        out.append(f"sent {res.get('frames', 0)} of {count} frames")
    out += delivery_problems(res.get("delivery"))
    if not res.get("sut_alive") or not res.get("sut_alive_after"):
        out.append(f"the SUT process died (exit status {res.get('sut_exit')}): "
                   f"{(res.get('sut_stderr', '') + res.get('sut_stdout', ''))[-300:]}")
    if not res.get("echo_rr", {}).get("passed"):
        out.append(f"echo_rr after the fuzz run did not pass: {res.get('echo_rr')}")
    st = res.get("sut_stats") or {}
    if st.get("open", 1) != 0:
        out.append(f"the SUT still holds {st.get('open')} connection(s) open")
    out += stack_leaks(st.get("stack") or {}, res.get("sut_attach") == DPDK)
    if (res.get("sut_sockets") or {}).get("ESTAB", 0):
        out.append(f"established TCP sockets left in the SUT: {res['sut_sockets']}")
    return out


def stack_leaks(c: dict[str, Any], dpdk: bool = True) -> list[str]:
    """What the SUT stack's own counters say it kept (the names stack/README.md gives a
    meaning to): buffers not back, sockets beyond the listener, connections still active
    (lwIP: its tcp_active_pcbs). A DPDK stack must report every one of them
    (stacks.LEAK_COUNTERS): one missing, renamed say, is a failure, not a check skipped."""
    out = [f"the SUT stack reports no {n} counter (stack/README.md, Counters): its leak "
           "check cannot run" for n in stacks.LEAK_COUNTERS if dpdk and n not in c]
    if "mbufs_in_use" in c and "mbufs_in_use_start" in c and \
            c["mbufs_in_use"] > c["mbufs_in_use_start"]:
        out.append(f"the SUT stack holds {c['mbufs_in_use']} mbufs, "
                   f"{c['mbufs_in_use_start']} at its start")
    if "sockets_open" in c and c["sockets_open"] != 1:
        out.append(f"the SUT stack has {c['sockets_open']} sockets open (the listener: 1)")
    if c.get("tcp_active", 0) != 0:
        out.append(f"the SUT stack still has {c['tcp_active']} active TCP connection(s)")
    return out
