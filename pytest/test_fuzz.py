"""test_fuzz.py - the fuzz run of `tcplab packets --fuzz`: 10,000 malformed or mutated frames
(random IP and TCP header fields, truncated headers, bad options, segments on a live
connection, ICMP noise; seeded) sent at the SUT from scapy's namespace, on the kernel and
on every DPDK stack (conftest.py, any_backend: one the binary lacks skips with the reason,
or fails where its packages are installed); afterwards the SUT process must be alive, hold
no connection open (its stats line), keep no established socket (the kernel's own count), a
DPDK stack must have every mbuf back and only its listener open (its counters), and
`tcplab run echo_rr --peer` from the peer namespace must pass.

Around the run the SUT's receive counters must grow by at least the frames sent (the
kernel: its netdevs' rx_packets; a DPDK stack: rx_packets), and where it counts TCP input
(the kernel's Tcp InSegs, gVisor's segment counters: stacks.py) the share that reached it
is reported and must be half the well-formed TCP frames at least. A DPDK stack lacking a
leak counter (stacks.LEAK_COUNTERS) fails the run: a renamed counter is no skipped check.

The frames themselves are checked without root: reproducible from the seed, every kind
present, each one a frame a veth can carry; truncated frames past the IP header and
IP-field frames that IP hands on carry a right TCP checksum, so they reach TCP input.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tcplab import fuzz, namespaces
from tcplab.lab import PREFIX
from tcplab.proc import run_module
from tcplab.topology import DPDK, Table

FRAMES = 10000
SEED = 4
# frames built without root need addresses of no lab: TEST-NET-1 (RFC 5737)
TARGET = fuzz.FuzzTarget(src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02",
                         peer_addr="192.0.2.3", sut_addr="192.0.2.2", prefix_len=24,
                         port=7007, conn_sport=20001, conn_seq=123456, conn_ack=654321)


def test_frames_are_reproducible_from_the_seed() -> None:
    a = fuzz.fuzz_frames(random.Random(SEED), 1000, TARGET)
    b = fuzz.fuzz_frames(random.Random(SEED), 1000, TARGET)
    c = fuzz.fuzz_frames(random.Random(SEED + 1), 1000, TARGET)
    assert a == b
    assert a != c


def test_every_kind_is_sent_and_every_frame_is_a_frame() -> None:
    frames = fuzz.fuzz_frames(random.Random(SEED), 2000, TARGET)
    assert {k for k, _ in frames} == set(fuzz.FUZZ_WEIGHTS)
    dst = bytes.fromhex(TARGET.dst_mac.replace(":", ""))
    for kind, f in frames:
        assert 14 <= len(f) <= 1514, f"{kind}: {len(f)} bytes"
        assert f[:6] == dst, f"{kind}: not addressed to the SUT: {f[:6].hex()}"
        assert f[12:14] == b"\x08\x00", f"{kind}: ethertype {f[12:14].hex()}"
    truncated = [f for k, f in frames if k == "truncated"]
    assert any(len(f) < 14 + 20 for f in truncated), "no frame cut inside the IP header"
    assert any(14 + 20 <= len(f) < 14 + 40 for f in truncated), \
        "no frame cut inside the TCP header"


def test_truncated_frames_reach_tcp_input() -> None:
    """Cut after the IP header, a frame's IP length is what is left, so IP hands it to TCP,
    and with its checksum field left the checksum is right: TCP input meets the short
    header, options or data, not a length or checksum drop."""
    frames = [f for k, f in fuzz.fuzz_frames(random.Random(SEED), 4000, TARGET)
              if k == "truncated"]
    past_ip = [f for f in frames if len(f) > 14 and len(f) >= 14 + 4 * (f[14] & 0x0F) >= 34]
    assert len(past_ip) > len(frames) // 3, (len(past_ip), len(frames))
    for f in past_ip:
        seg = fuzz.tcp_segment(f, TARGET.sut_addr)
        assert seg is not None, f"IP would not hand this to TCP: {f.hex()}"
        assert len(seg) < 18 or fuzz.tcp_checksum_ok(f, seg), f.hex()
    short = [f for f in past_ip if len(fuzz.tcp_segment(f, TARGET.sut_addr) or b"") <
             min(20, 4 * (f[46] >> 4) if len(f) > 46 else 20)]
    assert short, "no truncated frame reaches TCP with its header cut short"


def test_ip_field_frames_that_ip_hands_on_carry_a_right_tcp_checksum() -> None:
    frames = [f for k, f in fuzz.fuzz_frames(random.Random(SEED), 4000, TARGET)
              if k == "ip_fields"]
    to_tcp = [f for f in frames if fuzz.tcp_segment(f, TARGET.sut_addr) is not None]
    assert len(to_tcp) > len(frames) // 5, (len(to_tcp), len(frames))
    bad = [f.hex() for f in to_tcp if not fuzz.tcp_checksum_ok(f, fuzz.tcp_segment(
        f, TARGET.sut_addr) or b"")]
    assert not bad, bad[:3]


def test_the_well_formed_share_is_most_of_the_run() -> None:
    frames = fuzz.fuzz_frames(random.Random(SEED), 2000, TARGET)
    share = sum(fuzz.reaches_tcp(f, TARGET.sut_addr) for _, f in frames) / len(frames)
    assert 0.5 < share < 0.9, share	# 0.637 at seed 4: malformed kinds are the rest
    assert not fuzz.reaches_tcp(frames[0][1][:20], TARGET.sut_addr)


def test_delivery_is_judged_from_the_receive_counters() -> None:
    res = {"frames": 100, "send": {"enobufs_retries": 7, "dropped_enobufs": 2}, "to_tcp": 60}
    d = fuzz.delivery({"rx_frames": 1000, "tcp_input": 50}, {"rx_frames": 1098,
                                                             "tcp_input": 110}, res)
    assert d["sent"] == 98 and d["rx_frames"] == 98 and d["tcp_input_share"] == 0.612, d
    assert fuzz.delivery_problems(d) == []
    short = fuzz.delivery({"rx_frames": 1000, "tcp_input": 50},
                          {"rx_frames": 1090, "tcp_input": 60}, res)
    assert fuzz.delivery_problems(short) == [
        "the SUT received 90 frames of the 98 sent",
        "10 segments reached the SUT's TCP input, of 60 well-formed TCP frames sent"]
    unknown = fuzz.delivery({"rx_frames": None, "tcp_input": None},
                            {"rx_frames": None, "tcp_input": None}, res)
    assert fuzz.delivery_problems(unknown) == [
        "the SUT reports no rx_packets counter: delivery unknown"]
    assert fuzz.delivery_problems(None) != []


@pytest.mark.root
@pytest.mark.netns
def test_fuzz_run_leaves_the_sut_alive_clean_and_serving(tcplab_bin: Path, table: Table,
                                                          tmp_path: Path,
                                                          any_backend: str) -> None:
    sut = any_backend
    out = tmp_path / "fuzz.json"
    run = run_module("packets", ["--fuzz", "--count", str(FRAMES), "--seed",
                                                str(SEED), "--backend", sut, "--json",
                                                str(out)], tcplab_bin, 180)
    stdout, stderr = run.stdout, run.stderr
    print(stdout, end="")	# the count and the outcome, in the report with -rA or -s
    assert run.rc == 0, stdout + stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "tcplab.fuzz/1" and [r["backend"] for r in doc["runs"]] == [sut]
    (res,) = doc["runs"]
    assert res["frames"] == FRAMES >= 10000
    assert sum(res["by_kind"].values()) == FRAMES
    assert res["outcome"] == "pass" and res["problems"] == [], res["problems"]
    assert res["sut_alive"] and res["sut_alive_after"]
    assert res["echo_rr"]["passed"] and res["echo_rr"]["transactions"] > 0, res["echo_rr"]
    assert res["sut_stats"]["open"] == 0, res["sut_stats"]
    d = res["delivery"]	# the SUT's receive counters grew by the frames sent
    assert d["sent"] > 0.99 * FRAMES and d["rx_frames"] >= d["sent"], d
    print(f"{sut}: {d['tcp_input']} of {d['sent']} frames reached TCP input (share "
          f"{d['tcp_input_share']}, well-formed {d['well_formed_tcp_share']})")
    stack = res["sut_stats"]["stack"]	# the SUT stack's own counters ({} for the kernel)
    if table.backend(sut).attach == DPDK:	# every fuzzed frame's mbuf came back
        assert stack["mbufs_in_use"] <= stack["mbufs_in_use_start"], stack
        assert stack["sockets_open"] == 1, stack	# the listener only
        assert stack["tcp_active"] == 0, stack	# lwIP: tcp_active_pcbs empty
    if "sut_sockets" in res:	# where the SUT's sockets are visible (the kernel: ss)
        assert res["sut_sockets"].get("ESTAB", 0) == 0, res["sut_sockets"]
        assert res["sut_sockets"].get("LISTEN") == 1, res["sut_sockets"]
    assert f"fuzz: {FRAMES} frames (seed {SEED}) at the {sut} SUT" in stdout
    left = namespaces.made_by(PREFIX, run.pid)
    assert left == [], left


def test_a_stack_that_keeps_buffers_or_sockets_fails_the_run() -> None:
    """The aftermath reads the counters stack/README.md gives a meaning to."""
    assert fuzz.stack_leaks({}, dpdk=False) == []	# the kernel reports none
    assert fuzz.stack_leaks({"mbufs_in_use": 9, "mbufs_in_use_start": 9,
                             "sockets_open": 1, "tcp_active": 0}) == []
    ok = {"mbufs_in_use": 9, "mbufs_in_use_start": 9, "sockets_open": 1, "tcp_active": 0}
    assert fuzz.stack_leaks({**ok, "mbufs_in_use": 12}) == [
        "the SUT stack holds 12 mbufs, 9 at its start"]
    assert fuzz.stack_leaks({**ok, "sockets_open": 3}) == [
        "the SUT stack has 3 sockets open (the listener: 1)"]
    assert fuzz.stack_leaks({**ok, "tcp_active": 86}) == [
        "the SUT stack still has 86 active TCP connection(s)"]


@pytest.mark.parametrize("name", ["mbufs_in_use", "mbufs_in_use_start", "sockets_open",
                                  "tcp_active"])
def test_a_dpdk_stack_missing_a_leak_counter_fails_the_run(name: str) -> None:
    """A renamed counter does not switch its leak check off: the run fails."""
    c = {"mbufs_in_use": 9, "mbufs_in_use_start": 9, "sockets_open": 1, "tcp_active": 0}
    del c[name]
    assert fuzz.stack_leaks(c) == [f"the SUT stack reports no {name} counter "
                                   "(stack/README.md, Counters): its leak check cannot run"]
    assert fuzz.fuzz_problems({"frames": 1, "sut_alive": True, "sut_alive_after": True,
                               "echo_rr": {"passed": True}, "sut_attach": "dpdk",
                               "sut_stats": {"open": 0, "stack": c},
                               "delivery": {"sent": 1, "rx_frames": 1, "tcp_input": None}},
                              1) == fuzz.stack_leaks(c)


def test_neighbours_are_the_made_up_sources_only() -> None:
    """The fuzz run answers ARP for the sources neighbour() makes up (hosts 4 and up), never
    for an address a side of the lab owns (hosts 1 to 3) or one outside the subnet."""
    rng = random.Random(SEED)
    for _ in range(200):
        addr = str(fuzz.ipaddress.ip_address(fuzz.neighbour(rng, TARGET)))
        assert fuzz.is_neighbour(addr, TARGET), addr
    for addr in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.0", "192.0.2.255",
                 "198.51.100.4"):
        assert not fuzz.is_neighbour(addr, TARGET), addr
