"""test_fuzz.py - the fuzz run of `tcplab packets --fuzz`: 10,000 malformed or mutated frames
(random IP and TCP header fields, truncated headers, bad options, segments on a live
connection, ICMP noise; seeded) sent at the SUT from scapy's namespace, on the kernel and
on every DPDK stack (conftest.py, any_backend: one the binary lacks skips with the reason,
or fails where its packages are installed); afterwards the SUT process must be alive, hold
no connection open (its stats line), keep no established socket (the kernel's own count), a
DPDK stack must have every mbuf back and only its listener open (its counters), and
`tcplab run echo_rr --peer` from the peer namespace must pass.

The frames themselves are checked without root: reproducible from the seed, every kind
present, each one a frame a veth can carry.
"""
from __future__ import annotations

import json
import random
import signal
import subprocess
from pathlib import Path

import pytest
from tcplab import fuzz, namespaces
from tcplab.lab import PREFIX
from tcplab.proc import module_argv, module_env
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


@pytest.mark.root
@pytest.mark.netns
def test_fuzz_run_leaves_the_sut_alive_clean_and_serving(tcplab_bin: Path, table: Table,
                                                          tmp_path: Path,
                                                          any_backend: str) -> None:
    sut = any_backend
    out = tmp_path / "fuzz.json"
    with subprocess.Popen(module_argv("packets", "--fuzz", "--count", str(FRAMES), "--seed",
                                      str(SEED), "--backend", sut, "--json", str(out)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=module_env({"TCPLAB_BIN": str(tcplab_bin)})) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)	# it removes its namespaces on TERM
                proc.wait(30)
    print(stdout, end="")	# the count and the outcome, in the report with -rA or -s
    assert proc.returncode == 0, stdout + stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "tcplab.fuzz/1" and [r["backend"] for r in doc["runs"]] == [sut]
    (res,) = doc["runs"]
    assert res["frames"] == FRAMES >= 10000
    assert sum(res["by_kind"].values()) == FRAMES
    assert res["outcome"] == "pass" and res["problems"] == [], res["problems"]
    assert res["sut_alive"] and res["sut_alive_after"]
    assert res["echo_rr"]["passed"] and res["echo_rr"]["transactions"] > 0, res["echo_rr"]
    assert res["sut_stats"]["open"] == 0, res["sut_stats"]
    stack = res["sut_stats"]["stack"]	# the SUT stack's own counters ({} for the kernel)
    if table.backend(sut).attach == DPDK:	# every fuzzed frame's mbuf came back
        assert stack["mbufs_in_use"] <= stack["mbufs_in_use_start"], stack
        assert stack["sockets_open"] == 1, stack	# the listener only
    if "sut_sockets" in res:	# where the SUT's sockets are visible (the kernel: ss)
        assert res["sut_sockets"].get("ESTAB", 0) == 0, res["sut_sockets"]
        assert res["sut_sockets"].get("LISTEN") == 1, res["sut_sockets"]
    assert f"fuzz: {FRAMES} frames (seed {SEED}) at the {sut} SUT" in stdout
    left = namespaces.made_by(PREFIX, proc.pid)
    assert left == [], left


def test_a_stack_that_keeps_buffers_or_sockets_fails_the_run() -> None:
    """The aftermath reads the counters stack/README.md gives a meaning to."""
    assert fuzz.stack_leaks({}) == []
    assert fuzz.stack_leaks({"mbufs_in_use": 9, "mbufs_in_use_start": 9,
                             "sockets_open": 1}) == []
    assert fuzz.stack_leaks({"mbufs_in_use": 12, "mbufs_in_use_start": 9}) == [
        "the SUT stack holds 12 mbufs, 9 at its start"]
    assert fuzz.stack_leaks({"sockets_open": 3}) == [
        "the SUT stack has 3 sockets open (the listener: 1)"]
