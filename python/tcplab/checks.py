"""checks.py - the packet-level checks: each sends its stimuli through the Wire and records the
SUT's replies in a Trace; its docstring (the RFC behaviour it checks) is its description.
The kernel's replies are the oracle (verdicts.py compares the traces).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .wire import (CLOSED_PORT, M32, NO_REPLY, REPLY_S, CheckError, Conn, Trace, Wire,
                   rel)


def corrupt(frame: Any, where: str) -> bytes:
    """The frame's bytes with its TCP or IP checksum inverted."""
    raw = bytearray(bytes(frame))
    ihl = (raw[14] & 0x0F) * 4
    off = 14 + 10 if where == "ip" else 14 + ihl + 16
    raw[off] ^= 0xFF
    raw[off + 1] ^= 0xFF
    return bytes(raw)


def pkt_syn_closed_port(w: Wire, tr: Trace) -> None:
    """RFC 9293 3.10.7.1: a SYN to a closed port gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>."""
    c = Conn(w, CLOSED_PORT)
    w.send(c.seg("S", seq=c.iss, options=[("MSS", 1460)]))
    tr.reply("syn", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")


def pkt_synack_options(w: Wire, tr: Trace) -> None:
    """The SYN-ACK's answer to MSS, window scale, SACK permitted and timestamps (RFC 7323:
    TSecr echoes our TSval; the TSval itself is random on Linux, so only "set" is kept)."""
    c = Conn(w)
    c.tsval = w.rng.randrange(1, M32)
    r = c.syn(options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (c.tsval, 0)),
                       ("NOP", None), ("WScale", 7)])
    tr.reply("syn_all_options", r, c, "flags", "ack", "options")
    c.w.send(c.seg("R", seq=c.snd_nxt))


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


def pkt_rst_out_of_window(w: Wire, tr: Trace) -> None:
    """RFC 5961 3.2: a RST outside the window is dropped silently; one inside it but not at
    RCV.NXT gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>; the connection lives on."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("RA", seq=c.snd_nxt + (1 << 30)))
    tr.reply("rst_outside_window", c.silence(), c, "flags", "seq", "ack", "len")
    w.send(c.seg("RA", seq=c.snd_nxt + 1))
    tr.reply("rst_in_window_not_exact", c.wait(lambda p: True), c, "flags", "seq", "ack", "len")
    tr.add("data_after", c.works())
    c.abort()


def pkt_rst_in_window(w: Wire, tr: Trace) -> None:
    """RFC 5961 3.2: a RST at exactly RCV.NXT resets the connection; a segment sent on it
    afterwards meets no connection: <SEQ=SEG.ACK><RST> (RFC 9293 3.10.7.1)."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("RA"))
    tr.reply("rst_exact", c.silence(), c, "flags", "seq", "ack", "len")
    w.send(c.seg("PA", data=b"after-reset"))
    tr.reply("data_after_rst", c.wait(lambda p: True), c, "flags", "seq", "len")


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
    """A window probe as Linux sends it (SEQ=SND.UNA-1, no data) is answered with an ACK
    carrying RCV.NXT and the window (RFC 9293 3.8.6.1)."""
    c = Conn(w)
    c.connect()
    tr.add("data", c.works(b"probe-me"))
    w.send(c.seg("A", seq=c.snd_nxt - 1))
    r = c.wait(lambda p: True)
    tr.reply("window_probe", r, c, "flags", "seq", "ack", "len")
    if r is not None:
        tr.steps[-1]["window_open"] = r[c.sc.TCP].window > 0
    c.abort()


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


def pkt_fin_acked(w: Wire, tr: Trace) -> None:
    """Our FIN is acknowledged (ACK = its sequence number + 1); the echo program then
    closes, so the SUT's own FIN follows. Whether the ACK rides on that FIN is the stack's
    choice (delayed ACK), so the first step keeps only the ACK number."""
    c = Conn(w)
    c.connect()
    w.send(c.seg("FA"))
    c.snd_nxt = (c.snd_nxt + 1) % M32
    tr.reply("fin", c.wait(c.acked(c.snd_nxt)), c, "ack")
    fin = c.wait(lambda p: bool(p[c.sc.TCP].flags & 0x01)) if not c.fin_seen else True
    tr.add("sut_fin", {"reply": "tcp", "fin": c.fin_seen} if fin else NO_REPLY)
    if fin:
        tr.steps[-1].update({"fin_seq": rel(c.rcv_nxt - 1, c.irs or 0)})


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


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Wire, Trace], None]

    @property
    def description(self) -> str:
        return " ".join((self.run.__doc__ or "").split())


CHECKS: tuple[Check, ...] = tuple(Check(f.__name__, f) for f in (
    pkt_syn_closed_port, pkt_synack_options, pkt_bad_tcp_checksum, pkt_bad_ip_checksum,
    pkt_rst_out_of_window, pkt_rst_in_window, pkt_syn_on_established, pkt_data_beyond_window,
    pkt_zero_window_probe, pkt_duplicate_data, pkt_fin_acked, pkt_ack_unsent_data,
    pkt_icmp_echo, pkt_arp_request, pkt_bad_option_length))
CHECK_NAMES = tuple(c.name for c in CHECKS)


def run_check(w: Wire, name: str) -> dict[str, Any]:
    check = next((c for c in CHECKS if c.name == name), None)
    if check is None:
        return {"check": name, "trace": [], "error": f"unknown check '{name}'"}
    w.drain()	# what earlier checks left queued must not answer this one
    tr = Trace()
    try:
        check.run(w, tr)
    except CheckError as e:
        return {"check": name, "trace": tr.steps, "error": str(e)}
    return {"check": name, "trace": tr.steps, "error": None}
