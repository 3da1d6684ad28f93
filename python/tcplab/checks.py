"""checks.py - the packet-level checks: each sends its stimuli through the Wire and records the
SUT's replies in a Trace; its docstring (the RFC behaviour it checks) is its description.
The kernel's replies are the oracle (verdicts.py compares the traces).
"""
from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .wire import (M32, NO_REPLY, REPLY_S, SILENCE_S, CheckError, Conn, Trace, Wire, rel,
                   tcp_options, tcp_payload)


def corrupt(frame: Any, where: str) -> bytes:
    """The frame's bytes with its TCP or IP checksum inverted."""
    raw = bytearray(bytes(frame))
    ihl = (raw[14] & 0x0F) * 4
    off = 14 + 10 if where == "ip" else 14 + ihl + 16
    raw[off] ^= 0xFF
    raw[off + 1] ^= 0xFF
    return bytes(raw)


def dropped_then_works(w: Wire, tr: Trace, where: str) -> None:
    c = Conn(w)
    c.connect()
    w.send(corrupt(c.seg("PA", data=b"bad-checksum"), where))	# snd_nxt stays
    tr.reply(f"data_bad_{where}_checksum", c.silence(), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works())
    c.abort()


def pkt_bad_tcp_checksum(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.1: a segment whose checksum fails is discarded, no reply; the same bytes
    with a good checksum are then new data (acked, echoed once)."""
    dropped_then_works(w, tr, "tcp")


def pkt_bad_ip_checksum(w: Wire, tr: Trace) -> None:
    """RFC 1122 3.2.1.2: a datagram whose header checksum fails is silently discarded."""
    dropped_then_works(w, tr, "ip")


def pkt_syn_on_established(w: Wire, tr: Trace) -> None:
    """RFC 5961 4.2: a SYN on a synchronized connection, whatever its sequence number, gets
    a challenge ACK; the connection lives on."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("S", seq=c.snd_nxt + 100))
    tr.reply("syn_in_window", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works())
    c.abort()


def pkt_data_beyond_window(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.4: a segment beyond the receive window is not acceptable: an ACK
    <SEQ=SND.NXT><ACK=RCV.NXT> and the data dropped (never echoed)."""
    c = Conn(w)
    c.connect()
    c.send_data(b"beyond-the-window", seq=c.snd_nxt + (1 << 20))
    tr.reply("data_beyond_window", c.wait(lambda p: True), c, "flags", "seq", "ack", "len",
             "options")
    tr.add("data_after", c.works(b"in-window"))
    c.abort()


def pkt_zero_window_probe(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.8.6.1: a true zero window at the SUT: our own window closed (the echo
    cannot write back), we send what its window allows until it advertises zero with all
    acknowledged; a window probe as Linux sends it (SEQ=SND.UNA-1, no data) is answered
    with an ACK of everything and the window still zero (win: zero or open; the SUT's
    sequence number is left out: a stack may have probed our window with a byte); once we
    open ours, the echo drains and the SUT's window opens again."""
    c = zero_window(w)
    tr.add("our_window_closed", {"reply": "tcp", "echo": c.echo.decode("latin-1"),
                                 "our_window": c.window})
    tr.add("fill_sut_window", {"reply": "tcp",
                               "sut_window": "zero" if fill_window(c) else "never zero"})
    w.send(c.seg("A", seq=c.snd_nxt - 1))
    r = c.wait(lambda p: not tcp_payload(p, c.sc))
    tr.reply("window_probe", r, c, "flags", "len", "win")
    if r is not None:
        tr.steps[-1]["acks_all"] = rel(r[c.sc.TCP].ack, c.snd_nxt) == 0
    c.window, c.reading = 65535, True
    w.send(c.seg("A"))
    r = c.wait(lambda p: p[c.sc.TCP].window > 0, REPLY_S)
    tr.add("our_window_opens", {"reply": "tcp" if r is not None else "none",
                                "sut_window": "open" if r is not None else "zero"})
    c.abort()


FILL_BYTES = 8 << 20	# at most this is sent to close the SUT's window (its buffers)
FILL_S = 4.0


def fill_window(c: Conn) -> bool:
    """Send what the SUT's window allows, ours closed, until it advertises a zero window
    with everything acknowledged (True), or FILL_BYTES or FILL_S run out."""
    chunk = pattern(1460)
    sent, deadline = 0, time.monotonic() + FILL_S
    while sent < FILL_BYTES and time.monotonic() < deadline:
        room = rel(c.snd_una_seen + c.peer_window, c.snd_nxt)
        if room <= 0 and c.peer_window == 0 and rel(c.snd_una_seen, c.snd_nxt) >= 0:
            return True
        while room > 0:
            n = min(room, len(chunk))
            c.send_data(chunk[:n])
            sent, room = sent + n, room - n
        c.wait(lambda p: bool(p[c.sc.TCP].flags & 0x10), 0.2)
        c.w.drain(lambda p: c.absorb(p) if c.ours(p) else None)
    return False


def pkt_duplicate_data(w: Wire, tr: Trace) -> None:
    """A segment received twice is acknowledged again at once (RFC 9293 3.10.7.4), with a
    D-SACK block naming it (RFC 2883) when SACK was agreed; it is not delivered twice."""
    c = Conn(w)
    c.connect()
    data = b"duplicate"
    tr.add("data", c.works(data))
    w.send(c.seg("PA", seq=c.snd_nxt - len(data), data=data))
    tr.reply("same_segment_again", c.wait(lambda p: True), c, "flags", "seq", "ack", "len",
             "options")
    tr.reply("no_second_delivery", c.silence(), c, "flags", "seq", "ack", "len")
    c.abort()


def pkt_ack_unsent_data(w: Wire, tr: Trace) -> None:
    """RFC 5961 5.2 / RFC 9293 3.10.7.4: a segment acknowledging data never sent
    (SEG.ACK > SND.NXT) is discarded (its data too); the same data with a valid ACK is then
    new data."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("PA", data=b"acks-unsent", ack=c.rcv_nxt + 100000))
    tr.reply("ack_beyond_snd_nxt", c.silence(), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works(b"acks-unsent"))
    c.abort()


def pkt_icmp_echo(w: Wire, tr: Trace) -> None:
    """RFC 1122 3.2.2.6: an echo request is answered with the same identifier, sequence
    number and data."""
    sc = w.sc
    ident, seq = w.rng.randrange(1, 65536), w.rng.randrange(1, 65536)
    payload = bytes(w.rng.randrange(256) for _ in range(56))
    w.send(w.ip() / sc.ICMP(type=8, id=ident, seq=seq) / sc.Raw(payload))

    def match(p: Any) -> bool:
        return sc.ICMP in p and p[sc.IP].src == w.sut_addr and p[sc.IP].dst == w.peer_addr

    r = w.wait(match, REPLY_S)
    if r is None:
        tr.add("echo_request", NO_REPLY)
        return
    i = r[sc.ICMP]
    tr.add("echo_request", {"reply": "icmp", "type": i.type, "code": i.code,
                            "id": "same" if i.id == ident else i.id,
                            "seq": "same" if i.seq == seq else i.seq,
                            "data": "same" if bytes(i.payload)[:len(payload)] == payload
                            else "differs"})


def pkt_arp_request(w: Wire, tr: Trace) -> None:
    """RFC 826: a request for the SUT's address is answered, unicast to the asker, with the
    SUT's MAC (the MAC its frames carry)."""
    sc = w.sc
    w.send(sc.Ether(src=w.mac, dst="ff:ff:ff:ff:ff:ff") /
           sc.ARP(op=1, hwsrc=w.mac, psrc=w.peer_addr, pdst=w.sut_addr))

    def match(p: Any) -> bool:
        return sc.ARP in p and p[sc.ARP].op == 2 and p[sc.ARP].psrc == w.sut_addr

    r = w.wait(match, REPLY_S)
    if r is None:
        tr.add("who_has_sut", NO_REPLY)
        return
    a = r[sc.ARP]

    def mac(v: str) -> str:
        return {w.mac: "peer", w.sut_mac: "sut"}.get(v.lower(), v)

    tr.add("who_has_sut", {"reply": "arp", "arp_op": a.op, "hwsrc": mac(a.hwsrc), "psrc": a.psrc,
                           "hwdst": mac(a.hwdst), "pdst": a.pdst, "eth_dst": mac(r.dst),
                           "eth_src": mac(r.src)})


def pkt_bad_option_length(w: Wire, tr: Trace) -> None:
    """Options with a bad length (RFC 9293 3.1, 3.10.7.x: options must be parsed safely):
    an MSS option of length 0 before SACK-permitted; SACK-permitted then a timestamp option
    whose length runs past the header; and a data segment whose option has length 0. Linux
    stops parsing at the bad option and keeps what it parsed before it."""
    c = Conn(w)
    r = c.syn(raw_options=bytes([2, 0, 4, 2]))
    tr.reply("syn_option_length_0", r, c, "flags", "ack", "options")
    w.send(c.seg("R", seq=c.snd_nxt))
    c = Conn(w)
    r = c.syn(raw_options=bytes([4, 2, 8, 40]))
    tr.reply("syn_option_past_header", r, c, "flags", "ack", "options")
    w.send(c.seg("R", seq=c.snd_nxt))
    c = Conn(w)
    c.connect()
    tr.add("data_option_length_0", c.works(b"bad-option-data", raw_options=bytes([1, 1, 5, 0])))
    tr.add("data_after", c.works())
    c.abort()


# ---- on the wire: sizes, windows, timers, states, options, ICMP and IP (issue 14) ------

def pattern(n: int) -> bytes:
    """@n bytes that show a reordering or a loss when echoed (letters, repeating)."""
    return bytes(97 + i % 26 for i in range(n))


def echo_of(c: Conn, n: int, timeout: float = 3.0) -> bool:
    """@n bytes sent in 1000-byte segments and echoed back whole, in order, within @timeout."""
    data = pattern(n)
    start = len(c.echo)
    c.send_bulk(data)
    c.collect(lambda: len(c.echo) - start >= n, timeout)
    return c.echo[start:] == data


def sizes_step(c: Conn, ok: bool, limit: int) -> dict[str, Any]:
    lens = [len(tcp_payload(p, c.sc)) for p in c.data_segments()]
    big = max(lens, default=0)
    return {"reply": "tcp" if lens else "none", "echo_ok": ok,
            "max_len": f"<={limit}" if big <= limit else big}


def pkt_default_mss(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.7.1 (MUST-15): a SYN without an MSS option means a send MSS of 536: 3000
    bytes echoed come back in segments of at most 536 bytes."""
    c = Conn(w)
    c.connect(options=[])
    tr.add("echo_3000", sizes_step(c, echo_of(c, 3000), 536))
    c.abort()


def pkt_mss_only_on_syn(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.7.1 (MUST-65): the MSS option is sent only on SYN segments: none of the
    SUT's segments after its SYN-ACK carries one (3000 bytes echoed)."""
    c = Conn(w)
    c.connect()
    ok = echo_of(c, 3000)
    later = [p for _, p in c.seen if not p[c.sc.TCP].flags & 0x02]
    tr.add("echo_3000", {"reply": "tcp" if later else "none", "echo_ok": ok,
                         "mss_option": any(n == "MSS" for p in later
                                           for n, _ in p[c.sc.TCP].options)})
    c.abort()


def pkt_wscale_applied(w: Wire, tr: Trace) -> None:
    """RFC 7323 2.3: we offer window scale 7 and then advertise a window field of 32, 4096
    bytes once scaled (more than two segments, so no sender waits on silly-window
    avoidance); 8000 bytes echoed never run past our window's right edge, and all arrive in
    segments larger than 32 bytes (window_used "scaled"; a stack reading the field
    unscaled would send 32 bytes at a time)."""
    c = Conn(w)
    c.connect(options=[("MSS", 1460), ("WScale", 7)], window=4096)
    c.window, c.shift = 32, 7
    w.send(c.seg("A"))	# the window update: from 4096 unscaled to 32 << 7
    ok = echo_of(c, 8000)
    big = max((len(tcp_payload(p, c.sc)) for p in c.data_segments()), default=0)
    tr.add("echo_8000", {"reply": "tcp" if big else "none", "echo_ok": ok,
                         "beyond_window": c.over_window > 0,
                         "window_used": "scaled" if big > 32 else "unscaled"})
    c.abort()


def pkt_window_unsigned(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.1 (MUST-1): the window field is unsigned: 0xFFFF unscaled is 65535 bytes
    (read as a signed 16-bit number it would be -1, no room): 20000 bytes are echoed whole,
    never past our window."""
    c = Conn(w)
    c.connect(options=[("MSS", 1460)], window=0xFFFF)
    ok = echo_of(c, 20000)
    tr.add("echo_20000", {"reply": "tcp" if c.data_segments() else "none", "echo_ok": ok,
                          "beyond_window": c.over_window > 0})
    c.abort()


def zero_window(w: Wire) -> Conn:
    """A connection whose window we fill: our SYN offers 7 bytes, we read nothing, so the
    7-byte echo of "warm-up" closes it (the right edge never moves left: no shrinking)."""
    c = Conn(w)
    c.connect(window=7)
    c.window, c.reading = 7, False
    c.send_data(b"warm-up")
    c.collect(lambda: len(c.echo) >= 7 and rel(c.snd_una_seen, c.snd_nxt) >= 0, REPLY_S)
    return c


FAST_S = 0.15	# a fast retransmission comes within this of our ACKs; any RTO is 200 ms up


def pkt_fast_retransmit(w: Wire, tr: Trace) -> None:
    """RFC 5681 3.2: with MSS 536 the echo of 3000 bytes is several segments; we acknowledge
    the first, then send three duplicate ACKs for it: the second segment is retransmitted
    within 150 ms (a retransmission timeout, 200 ms or more after our new ACK, cannot)."""
    c = Conn(w)
    c.connect(options=[("MSS", 536)])
    c.auto_ack = False
    assert c.irs is not None
    c.send_bulk(pattern(3000))
    c.collect(lambda: len(c.data_segments()) >= 4, REPLY_S)
    first = (c.irs + 1) % M32
    if len(c.data_segments()) < 4:
        tr.add("first_segments", {"reply": "none", "segments": len(c.data_segments())})
        c.abort()
        return
    head = [p for p in c.data_segments() if p[c.sc.TCP].seq == first]
    second = (first + len(tcp_payload(head[0], c.sc))) % M32 if head else first
    sent = time.monotonic()
    for _ in range(4):	# a new ACK, then three duplicates of it
        w.send(c.seg("A", ack=second))
    r = c.wait(lambda p: p[c.sc.TCP].seq == second and bool(tcp_payload(p, c.sc)), 1.0)
    tr.add("three_dup_acks", {"reply": "none"} if r is None else {
        "reply": "tcp", "seq": rel(second, c.irs), "fast": time.monotonic() - sent < FAST_S})
    c.auto_ack = True
    c.abort()


def pkt_syn_with_data(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.2-3: data on a SYN (no Fast Open cookie) is not acknowledged by the
    SYN-ACK (ACK = ISN + 1) and not delivered; sent again after the handshake it is new data,
    acknowledged and echoed once."""
    c = Conn(w)
    r = c.syn(options=[("MSS", 1460)], data=b"syn-data")
    tr.reply("syn_with_data", r, c, "flags", "ack")
    if c.irs is None:
        return
    w.send(c.seg("A"))
    tr.reply("handshake_done", c.silence(), c, "flags", "seq", "ack", "len")
    tr.add("data_again", c.works(b"syn-data"))
    c.abort()


def pkt_bad_ack_in_syn_rcvd(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.4, SYN-RECEIVED: an ACK of something never sent gets <SEQ=SEG.ACK>
    <CTL=RST> and the half-open connection stays: the right ACK then completes it."""
    c = Conn(w)
    c.syn(options=[("MSS", 1460)])
    if c.irs is None:
        raise CheckError("no SYN-ACK")
    w.send(c.seg("A", ack=c.rcv_nxt + 1000))
    tr.reply("ack_not_sent", c.wait(lambda p: True), c, "flags", "seq", "len")
    w.send(c.seg("A"))
    tr.add("right_ack_then_data", c.works())
    c.abort()


def pkt_data_without_ack(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.4, fifth check: a segment without the ACK bit on a synchronized
    connection is dropped (no reply, not delivered); the same data with ACK is then new."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("P", data=b"no-ack-flag"))
    tr.reply("data_without_ack", c.silence(), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works(b"no-ack-flag"))
    c.abort()


def pkt_old_duplicate(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.4: a segment wholly below RCV.NXT (an old duplicate, cut
    differently from the original) is answered with an ACK <SEQ=SND.NXT><ACK=RCV.NXT>, the
    window open (win: zero or open), and not delivered again."""
    c = Conn(w)
    c.connect(options=[("MSS", 1460)])
    tr.add("data", c.works(b"first-data"))
    w.send(c.seg("PA", seq=c.snd_nxt - 7, data=b"st-d"))
    tr.reply("old_duplicate", c.wait(lambda p: True), c, "flags", "seq", "ack", "len", "win")
    tr.reply("not_delivered", c.silence(), c, "flags", "seq", "ack", "len")
    c.abort()


def pkt_old_ack_challenge(w: Wire, tr: Trace) -> None:
    """RFC 5961 5.2: a segment whose ACK is older than SND.UNA - MAX.SND.WND (here 2^20
    below it) gets a challenge ACK and is dropped, its data too; the data with a valid ACK
    is then new."""
    c = Conn(w)
    c.connect()
    tr.add("data", c.works(b"some-data"))
    w.send(c.seg("PA", data=b"old-ack", ack=c.rcv_nxt - (1 << 20)))
    tr.reply("ack_too_old", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works(b"old-ack"))
    c.abort()


def how_many(n: int, of: int) -> str:
    return "none" if n == 0 else "one" if n == 1 else "all" if n >= of else "several"


def pkt_challenge_ack_rate_limit(w: Wire, tr: Trace) -> None:
    """RFC 5961 7: challenge ACKs should be rate-limited; ten in-window SYNs back to back on
    one connection are answered with "one", "several" or "all" challenge ACKs (Linux: one
    per socket per 500 ms, tcp_invalid_ratelimit); the connection lives on."""
    c = Conn(w)
    c.connect()
    for i in range(10):
        w.send(c.seg("S", seq=c.snd_nxt + 100 + i))
    acks = 0
    while c.wait(lambda p: True, SILENCE_S) is not None:
        acks += 1
    tr.add("ten_syns", {"reply": "tcp" if acks else "none", "challenge_acks": how_many(acks, 10)})
    tr.add("data_after", c.works())
    c.abort()


def pkt_urgent_data(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.8.5 (MUST-30, MUST-62): 8 bytes with URG, the urgent pointer at the last
    one, are all acknowledged; what the echo reads shows the stack's urgent mode: Linux
    without SO_OOBINLINE holds the last urgent byte out of band ("normal-" comes back)."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("PAU", data=b"normal-U", urgptr=8))
    c.snd_nxt = (c.snd_nxt + 8) % M32
    c.collect(lambda: rel(c.snd_una_seen, c.snd_nxt) >= 0 and len(c.echo) >= 7, REPLY_S)
    c.silence(0.2)	# an eighth byte, if it is echoed
    tr.add("urgent", {"reply": "tcp", "ack": rel(c.snd_una_seen, c.iss),
                      "echo": c.echo.decode("latin-1")})
    tr.add("data_after", c.works(b"after"))
    c.abort()


def pkt_unknown_option(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.1 (MUST-5, MUST-6): an option of a kind the stack does not know (253, the
    RFC 6994 experimental kind, length 4) is skipped by its length: the SYN carrying it
    before MSS is answered (MSS seen), and data carrying it is delivered."""
    c = Conn(w)
    r = c.syn(raw_options=bytes([253, 4, 0x12, 0x34, 2, 4, 0x05, 0xB4]))
    tr.reply("syn_unknown_option", r, c, "flags", "ack", "options")
    if c.irs is None:
        return
    w.send(c.seg("A"))
    tr.add("data_unknown_option", c.works(b"unknown-opt", raw_options=bytes([253, 4, 0, 1])))
    c.abort()


def pkt_unaligned_options(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.1 (MUST-64): options need not be aligned: window scale (3 bytes) then MSS
    at offset 3, then EOL; both are parsed (the SYN-ACK offers a window scale, whose value
    is the stack's own, and data flows)."""
    c = Conn(w)
    r = c.syn(raw_options=bytes([3, 3, 7, 2, 4, 0x05, 0xB4, 0]))
    tr.reply("syn_unaligned", r, c, "flags", "ack")
    if r is not None and c.irs is not None:
        o = tcp_options(r[c.sc.TCP], c)
        tr.steps[-1]["wscale"] = "set" if "wscale" in o else "absent"
    else:
        return
    c.shift = 7
    w.send(c.seg("A"))
    tr.add("data_after", c.works())
    c.abort()


def tcp_from(w: Wire, sport: int) -> Callable[[Any], bool]:
    """Any TCP segment to our @sport, whatever its addresses."""
    sc = w.sc
    return lambda p: sc.TCP in p and p[sc.TCP].dport == sport


def lone_syn(w: Wire, src: str, dst: str) -> tuple[int, Any | None]:
    """A SYN from @src to @dst (the SUT's MAC), its source port and any TCP answer."""
    sc = w.sc
    sport = w.port()
    w.send(w.eth() / sc.IP(src=src, dst=dst) /
           sc.TCP(sport=sport, dport=w.sut_port, seq=w.rng.randrange(M32), flags="S",
                  options=[("MSS", 1460)]))
    return sport, w.wait(tcp_from(w, sport), SILENCE_S)


def answered(r: Any | None) -> dict[str, Any]:
    return NO_REPLY if r is None else {"reply": "tcp"}


def pkt_syn_to_broadcast(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.2 (MUST-57): a SYN to the subnet's broadcast address (sent to the
    SUT's MAC) is ignored; the SUT still answers a SYN to its own address."""
    bcast = str(ipaddress.ip_network(f"{w.sut_addr}/{w.prefix_len}", strict=False)
                .broadcast_address)
    _, r = lone_syn(w, w.peer_addr, bcast)
    tr.add("syn_to_broadcast", answered(r))
    c = Conn(w)
    tr.reply("syn_to_sut", c.syn(), c, "flags", "ack")
    w.send(c.seg("R", seq=c.snd_nxt))


def pkt_syn_from_multicast_source(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.2 (MUST-63), RFC 1122 3.2.1.3: a SYN whose source is a multicast
    address (233.252.0.1) or the limited broadcast is ignored, no SYN-ACK sent."""
    _, r = lone_syn(w, "233.252.0.1", w.sut_addr)
    tr.add("syn_from_multicast", answered(r))
    _, r = lone_syn(w, "255.255.255.255", w.sut_addr)
    tr.add("syn_from_broadcast", answered(r))


def quote(c: Conn, seq: int) -> bytes:
    """The first 28 bytes of a segment the SUT sent on @c at @seq: what ICMP quotes."""
    sc = c.sc
    ip = sc.IP(src=c.w.sut_addr, dst=c.w.peer_addr, flags="DF", ttl=64) / \
        sc.TCP(sport=c.dport, dport=c.sport, seq=seq % M32, ack=c.snd_nxt % M32, flags="A")
    return bytes(ip)[:28]


def icmp(c: Conn, kind: int, code: int, quoted: bytes, nexthop: int = 0) -> Any:
    sc = c.sc
    return c.w.ip() / sc.ICMP(type=kind, code=code, nexthopmtu=nexthop) / sc.Raw(quoted)


def pkt_icmp_frag_needed(w: Wire, tr: Trace) -> None:
    """RFC 1191, RFC 1122 4.2.3.9: an ICMP "fragmentation needed" (next-hop MTU 1000) quoting
    a full-sized segment of an echo of 4380 bytes that we took but did not acknowledge makes
    the SUT send that data again in packets of at most 1000 bytes; acknowledged, the
    connection carries on."""
    c = Conn(w)
    c.connect()
    c.auto_ack = False
    assert c.irs is not None
    data = pattern(4380)
    for i in range(0, len(data), 1460):
        c.send_data(data[i:i + 1460])
    c.collect(lambda: len(c.echo) >= len(data), REPLY_S)
    c.silence(0.1)	# a tail loss probe (RFC 8985 7.2), if any, comes before the ICMP
    big = [p for p in c.data_segments() if p[c.sc.IP].len > 1000]
    if not big:
        tr.add("full_sized", {"reply": "none"})
        c.abort()
        return
    before = len(c.seen)
    w.send(icmp(c, 3, 4, bytes(big[0][c.sc.IP])[:28], nexthop=1000))
    again = c.wait(lambda p: bool(tcp_payload(p, c.sc)), REPLY_S)
    after = [p for _, p in c.seen[before:] if tcp_payload(p, c.sc)]
    tr.add("frag_needed", {"reply": "tcp" if again is not None else "none",
                           "fits": all(p[c.sc.IP].len <= 1000 for p in after)})
    c.auto_ack = True
    w.send(c.seg("A"))
    tr.add("acked", {"reply": "tcp", "echo_ok": c.echo == data})
    tr.add("data_after", c.works())
    c.abort()


def icmp_then_works(w: Wire, tr: Trace, kinds: tuple[tuple[int, int], ...]) -> None:
    c = Conn(w)
    c.connect()
    tr.add("data", c.works(b"before-icmp"))
    assert c.irs is not None
    for kind, code in kinds:
        w.send(icmp(c, kind, code, quote(c, c.rcv_nxt)))
        tr.reply(f"icmp_{kind}_{code}", c.silence(), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works())
    c.abort()


def pkt_icmp_source_quench(w: Wire, tr: Trace) -> None:
    """RFC 1122 4.2.3.9 (MUST-55), RFC 6633: a source quench quoting a live connection does
    not abort it (it is to be ignored): no reply, and data still flows."""
    icmp_then_works(w, tr, ((4, 0),))


def pkt_icmp_unreachable_soft(w: Wire, tr: Trace) -> None:
    """RFC 1122 4.2.3.9 (MUST-56): destination unreachable codes 0 (net) and 1 (host) are
    soft errors: quoting a live connection they do not abort it; data still flows."""
    icmp_then_works(w, tr, ((3, 0), (3, 1)))


def pkt_ip_options_ignored(w: Wire, tr: Trace) -> None:
    """RFC 1122 3.2.1.8 (MUST-50): IP options do not stop delivery: a data segment whose IP
    header carries NOP, NOP, NOP, EOL is acknowledged and echoed."""
    c = Conn(w)
    c.connect()
    start = len(c.echo)
    c.send_data(b"ip-options", ip={"options": [c.sc.IPOption(b"\x01\x01\x01\x00")]})
    c.collect(lambda: len(c.echo) - start >= 10 and rel(c.snd_una_seen, c.snd_nxt) >= 0,
              REPLY_S)
    tr.add("data_with_ip_options", {"reply": "tcp", "ack": rel(c.snd_una_seen, c.iss),
                                    "echo": c.echo[start:].decode("latin-1")})
    c.abort()


def ip_fields(pkt: Any | None, c: Conn) -> dict[str, Any]:
    if pkt is None:
        return NO_REPLY
    ip = c.sc.IP
    return {"reply": "tcp", "ttl": pkt[ip].ttl, "df": bool(pkt[ip].flags & 0x2)}


def pkt_ttl_and_df(w: Wire, tr: Trace) -> None:
    """RFC 1122 3.2.1.7 (MUST-49: a fixed default TTL, 64 as IANA recommends), RFC 1191: the
    SYN-ACK and the echo's data segment carry TTL 64 and Don't Fragment (path MTU discovery
    on)."""
    c = Conn(w)
    r = c.syn(options=[("MSS", 1460)])
    tr.add("synack", ip_fields(r, c))
    if c.irs is None:
        return
    w.send(c.seg("A"))
    c.send_data(b"ttl-df")
    r = c.wait(lambda p: bool(tcp_payload(p, c.sc)))
    tr.add("echo_segment", ip_fields(r, c))
    c.abort()


ACK_S = 0.5	# RFC 9293 3.8.6.3 (MUST-40): the ACK delay is less than 0.5 s


def pkt_ack_within_500ms(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.8.6.3 (MUST-40): with our window at zero (the SUT's echo filled it, so no
    echo can carry the ACK) one small segment of ours is acknowledged by a pure ACK within
    0.5 s (measured at scapy, which adds its own latency: the bound has no slack)."""
    c = zero_window(w)
    c.send_data(b"ack-me")
    sent = time.monotonic()
    r = c.wait(c.acked(c.snd_nxt), 2 * ACK_S)
    tr.reply("small_segment", r, c, "flags", "ack", "len")
    if r is not None:
        tr.steps[-1]["within_500ms"] = time.monotonic() - sent < ACK_S
    c.abort()


def pkt_data_after_fin(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.4, CLOSE-WAIT and LAST-ACK: segment text after the peer's FIN is
    ignored: after our FIN (the echo then closes, its FIN left unacknowledged), data past
    the FIN is not delivered and no ACK acknowledges it (an ACK of the FIN alone may come:
    the stack's choice)."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("FA"))
    c.snd_nxt = (c.snd_nxt + 1) % M32
    c.auto_ack = False
    c.collect(lambda: rel(c.snd_una_seen, c.snd_nxt) >= 0 and
              any(p[c.sc.TCP].flags & 0x01 for _, p in c.seen), REPLY_S)
    fin_acked = c.snd_una_seen
    c.send_data(b"after-fin")
    c.silence()
    tr.add("data_after_fin", {"reply": "tcp", "acked": rel(c.snd_una_seen, fin_acked) > 0,
                              "echo": c.echo.decode("latin-1")})
    c.auto_ack = True
    c.abort()


def pkt_rst_in_zero_window(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.4 (MUST-66): with the SUT's receive window zero (as in
    pkt_zero_window_probe), a RST at exactly RCV.NXT is still processed: the connection is
    reset, so an ACK sent on it afterwards meets no connection and gets a reset."""
    c = zero_window(w)
    tr.add("fill_sut_window", {"reply": "tcp",
                               "sut_window": "zero" if fill_window(c) else "never zero"})
    w.send(c.seg("RA"))
    tr.reply("rst_at_rcv_nxt", c.silence(), c, "flags")
    w.send(c.seg("A"))
    tr.reply("ack_after_rst", c.wait(lambda p: True), c, "flags", "len")


def option_padding_zero(options: bytes) -> bool:
    """Whether every byte after an End of Option List (kind 0) is zero; True without one."""
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:
            return not any(options[i + 1:])
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(options) or options[i + 1] < 2:
            return False	# a malformed list: not what a SUT should send
        i += options[i + 1]
    return True


def pkt_option_padding(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.1 (MUST-69, MUST-68): the SUT's SYN-ACK options are a well-formed list
    (each option but EOL and NOP carries its length) and every byte after an End of Option
    List is zero."""
    c = Conn(w)
    r = c.syn(options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                       ("WScale", 7)])
    if r is None:
        tr.add("synack", NO_REPLY)
        return
    t = r[c.sc.TCP]
    tr.add("synack", {"reply": "tcp",
                      "padding_zero": option_padding_zero(bytes(t)[20:t.dataofs * 4])})
    w.send(c.seg("R", seq=c.snd_nxt))


# ---- checks that have the SUT act: socket options on its connections, an active open -------
# (`tcplab serve`'s control channel, relayed by the lab: Wire.sut)

NAGLE_ON = ("TCP_NODELAY 0",)		# the echo server's connections keep Nagle on
# How long "b" may take and still count as sent at once: shorter than any timer that would
# send it anyway (Linux's tail loss probe, RFC 8985, sends new data as its probe with Nagle
# off about 200 ms after "a"; gVisor's RTO, 200 ms at least, resends "a"), far longer than
# an echo takes.
NAGLE_WAIT_S = 0.1


def small_echo_while_unacked(w: Wire, tr: Trace) -> None:
    """Two one-byte echoes, the first left unacknowledged; then it is acknowledged."""
    c = Conn(w)
    c.connect()
    c.auto_ack = False
    before = c.rcv_nxt
    c.send_data(b"a")
    has_data = lambda p: bool(tcp_payload(p, c.sc))	# noqa: E731
    tr.reply("first_small_echo", c.wait(has_data), c, "seq", "len")
    c.send_data(b"b", ack=before)	# "a" stays unacknowledged
    tr.reply("second_while_first_unacked", c.wait(has_data, NAGLE_WAIT_S), c, "seq", "len")
    w.send(c.seg("A"))		# acknowledge everything the SUT sent
    tr.reply("after_the_ack", c.wait(has_data, SILENCE_S) if c.echo != b"ab" else None,
             c, "seq", "len")
    tr.add("echoed", {"data": c.echo.decode("latin-1")})
    c.abort()


def pkt_nagle_on_wire(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.7.4 (Nagle, SHLD-7) with TCP_NODELAY off on the SUT's connection: a small
    segment leaves at once when nothing is unacknowledged, a second one waits (none within
    100 ms) while the first is unacknowledged, and leaves once it is acknowledged."""
    small_echo_while_unacked(w, tr)


def pkt_nodelay_on_wire(w: Wire, tr: Trace) -> None:
    """RFC 9293 MUST-17: with TCP_NODELAY on (the echo server's default), a second small
    segment leaves within 100 ms while the first is still unacknowledged."""
    small_echo_while_unacked(w, tr)


def pkt_syn_retransmit(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.8.1 / RFC 6298 5 (MUST-19, MUST-22): the SUT's SYN, unanswered, is sent
    again with the same sequence number within 4.5 s (Linux's first SYN RTO is 1 s,
    lwIP's 3 s); our SYN-ACK then completes the connection."""
    c = Conn(w)
    syn = c.sut_connects()
    tr.reply("syn", syn, c, "flags", "seq", "len")
    again = c.wait(lambda p: bool(p[c.sc.TCP].flags & 0x02), 4.5)
    tr.reply("syn_again", again, c, "flags", "seq", "len")
    tr.reply("synack", c.accept(), c, "flags", "seq", "ack", "len")
    c.abort()


def pkt_simultaneous_open(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.5 figure 8 (MUST-10): the SUT's SYN crosses ours; it answers ours with a
    SYN-ACK <SEQ=ISS><ACK=our ISN+1>; our SYN-ACK then completes the connection, which
    carries data."""
    c = Conn(w)
    c.sut_connects()
    w.send(c.seg("S", seq=c.iss, options=[("MSS", 1460)]))
    c.snd_nxt = (c.iss + 1) % M32
    tr.reply("crossing_syn", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")
    w.send(c.seg("SA", seq=c.iss, ack=c.rcv_nxt))
    tr.add("data_after", c.works(b"simultaneous"))
    c.abort()


def pkt_synsent_bad_ack(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.3: in SYN-SENT, a SYN-ACK whose ACK acknowledges nothing sent gets
    <SEQ=SEG.ACK><CTL=RST> and is dropped; the SUT stays in SYN-SENT, so a good SYN-ACK
    then completes the connection."""
    c = Conn(w)
    c.sut_connects()
    w.send(c.seg("SA", seq=c.iss, ack=c.rcv_nxt + 1000))
    tr.reply("synack_bad_ack", c.wait(lambda p: True), c, "flags", "seq", "len")
    tr.reply("good_synack", c.accept(), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works(b"after-bad-ack"))
    c.abort()


SUT_SETTINGS: dict[Callable[[Wire, Trace], None], tuple[str, ...]] = {
    pkt_nagle_on_wire: NAGLE_ON}


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Wire, Trace], None]
    sut: tuple[str, ...] = ()	# `sockopt` settings for the SUT's connections meanwhile

    @property
    def description(self) -> str:
        return " ".join((self.run.__doc__ or "").split())


CHECKS: tuple[Check, ...] = tuple(Check(f.__name__, f, SUT_SETTINGS.get(f, ())) for f in (
    pkt_bad_tcp_checksum, pkt_bad_ip_checksum, pkt_syn_on_established, pkt_data_beyond_window,
    pkt_zero_window_probe, pkt_duplicate_data, pkt_ack_unsent_data, pkt_icmp_echo,
    pkt_arp_request, pkt_bad_option_length, pkt_default_mss, pkt_mss_only_on_syn,
    pkt_wscale_applied, pkt_window_unsigned, pkt_fast_retransmit, pkt_syn_with_data,
    pkt_bad_ack_in_syn_rcvd, pkt_data_without_ack, pkt_old_duplicate, pkt_old_ack_challenge,
    pkt_challenge_ack_rate_limit, pkt_urgent_data, pkt_unknown_option, pkt_unaligned_options,
    pkt_syn_to_broadcast, pkt_syn_from_multicast_source, pkt_icmp_frag_needed,
    pkt_icmp_source_quench, pkt_icmp_unreachable_soft, pkt_ip_options_ignored, pkt_ttl_and_df,
    pkt_ack_within_500ms, pkt_data_after_fin, pkt_rst_in_zero_window, pkt_option_padding,
    pkt_nagle_on_wire, pkt_nodelay_on_wire, pkt_syn_retransmit, pkt_simultaneous_open,
    pkt_synsent_bad_ack))
CHECK_NAMES = tuple(c.name for c in CHECKS)


def run_check(w: Wire, name: str) -> dict[str, Any]:
    check = next((c for c in CHECKS if c.name == name), None)
    if check is None:
        return {"check": name, "trace": [], "error": f"unknown check '{name}'"}
    w.drain()	# what earlier checks left queued must not answer this one
    tr = Trace()
    error = None
    try:
        for setting in check.sut:
            w.sut(f"sockopt {setting}")
        check.run(w, tr)
    except CheckError as e:
        error = str(e)
    finally:
        if check.sut and w.sut_control is not None:
            w.sut_control("sockopt reset")	# the next check's connections are plain
    return {"check": name, "trace": tr.steps, "error": error}
