"""test_capture.py - `tcplab run --pcap`: the packet captures kept with a run (issue 16, part 4).

lwIP over memif, the cheapest DPDK run (the first test runs on every DPDK stack): each side's
port keeps its last frames (the DPDK layer's capture ring, stack/dpdk/capture.h) and writes
them as pcap when it closes; the run
keeps the two files next to its result when a check failed (`--pcap on-failure`, the
default) or always, and names them in the result (`captures`). The files are read back with
scapy and with Debian's tcpdump: the connection's handshake, its data and its close in
order, with times inside the run. A ring of 16 keeps exactly the last 16 frames; bad values
are one line and exit 2. A sockets side is captured by tcpdump in its namespace (tap, veth;
on tap lwIP faces Linux at the tap's kernel end), never in the host's own (loopback).
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tcplab import schema
from tcplab.binary import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, Tcplab

pytestmark = pytest.mark.dpdk
LWIP_ONLY = pytest.mark.only_stack("lwip")

SIDES = ("engine", "sut")
# open loop at a low rate: a few hundred frames, so the ring's 4096 hold the whole run
SHORT = ("--topology", "memif", "--duration", "0.3", "--warmup", "0", "--rate", "100")
# the run's wall clock against the frames' (anchored at each port's open): what may separate
# a side's start from the run's, and the second the result's started_at is rounded to
SLACK_S = 1.0

FAILING_SCENARIO = """\
# echo_rr with a latency check no run can pass (test_capture.py)
description echo_rr that must fail its check
program     echo
conns       1
param       size 64

client {
    connect
    repeat {
        measure {
            send $size
            recv $size
        }
    }
    close
}

check p99 < 1ns
"""

scapy_all = pytest.importorskip("scapy.all")


def need_tcpdump() -> str:
    path = shutil.which("tcpdump")
    if path is None:
        pytest.skip("tcpdump is not installed (Debian's tcpdump, ci/packages.txt)")
    return path


def run_timed(tcplab: Tcplab, scenario: str, out: Path, *flags: str,
              stack: str = "lwip") -> tuple[Any, float, float]:
    t0 = time.time()
    run = tcplab.run(scenario, *flags, out=out, backend=stack,
                     result_name=Path(scenario).stem)
    return run, t0, time.time()


def tcp_frames(path: Path) -> list[Any]:
    return [p for p in scapy_all.rdpcap(str(path)) if p.haslayer(scapy_all.TCP)]


def flags_of(p: Any) -> str:
    return str(p[scapy_all.TCP].flags)


def check_exchange(path: Path, t0: float, t1: float) -> None:
    """A whole connection in @path, in order: SYN, SYN-ACK, data both ways, FIN; every time
    inside the run and never going back."""
    frames = tcp_frames(path)
    assert frames, f"{path}: no TCP frame"
    kinds = [flags_of(p) for p in frames]
    syn = kinds.index("S")
    assert kinds[syn + 1] == "SA", f"{path}: SYN then {kinds[syn + 1]}: {kinds[:8]}"
    data = [i for i, p in enumerate(frames) if len(p[scapy_all.TCP].payload) > 0]
    fins = [i for i, k in enumerate(kinds) if "F" in k]
    assert data and data[0] > syn + 1, f"{path}: no data after the handshake: {kinds[:8]}"
    assert fins and fins[0] > data[-1], f"{path}: no FIN after the data: {kinds[-8:]}"
    sizes = {len(frames[i][scapy_all.TCP].payload) for i in data}
    assert sizes == {64}, f"{path}: echo_rr's payloads are 64 bytes, saw {sizes}"
    times = [float(p.time) for p in frames]
    assert times == sorted(times), f"{path}: times go back"
    assert t0 - SLACK_S <= times[0] and times[-1] <= t1 + SLACK_S, (
        f"{path}: frames from {times[0]:.6f} to {times[-1]:.6f}, the run from {t0:.6f} "
        f"to {t1:.6f}")


def tcpdump_lines(path: Path) -> list[str]:
    done = subprocess.run([need_tcpdump(), "-n", "-r", str(path)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, f"tcpdump -r {path}: {done.stderr.strip()}"
    return done.stdout.splitlines()


def test_always_keeps_both_sides_readable(started_stack: str, tcplab: Tcplab,
                                          result_schema: Any, tmp_path: Path) -> None:
    run, t0, t1 = run_timed(tcplab, "echo_rr", tmp_path, *SHORT, "--pcap", "always",
                            stack=started_stack)
    assert run.rc == EXIT_PASS, run.completed.stderr
    doc = run.result
    assert schema.errors(result_schema, doc) == []
    cap = doc["captures"]
    assert cap["mode"] == "always" and cap["not_kept"] == {}, cap
    for side in SIDES:
        path = Path(cap[side])
        assert path == tmp_path / f"echo_rr-{side}.pcap", cap
        check_exchange(path, t0, t1)
        lines = tcpdump_lines(path)
        assert len(lines) == len(scapy_all.rdpcap(str(path))), lines[:3]
        # tcpdump's reading: the SYN, then the first 64-byte request or echo
        syn = next(i for i, ln in enumerate(lines) if "Flags [S]" in ln)
        first = next(i for i, ln in enumerate(lines) if "length 64" in ln)
        assert syn < first, lines[:first + 1]
    # the two sides saw the same connection: the engine's SYN left from 10.99.0.1
    for side in SIDES:
        syn = next(p for p in tcp_frames(Path(cap[side])) if flags_of(p) == "S")
        assert syn[scapy_all.IP].src == "10.99.0.1", (side, syn.summary())


@LWIP_ONLY
def test_a_failed_check_keeps_the_failing_exchange(started_stack: str, tcplab: Tcplab,
                                                   tmp_path: Path) -> None:
    scn = tmp_path / "cap_fail.scn"
    scn.write_text(FAILING_SCENARIO)
    out = tmp_path / "out"
    run, t0, t1 = run_timed(tcplab, str(scn), out, *SHORT)
    assert run.rc == EXIT_FAIL, run.completed.stderr
    doc = run.result
    failed = [c["name"] for c in doc["checks"] if not c["ok"]]
    assert failed == ["p99 < 1ns"], doc["checks"]
    cap = doc["captures"]
    assert cap["mode"] == "on-failure", cap
    for side in SIDES:
        assert cap[side] == str(out / f"cap_fail-{side}.pcap"), cap
        check_exchange(Path(cap[side]), t0, t1)
    # the transactions the check measured are in the file: as many 64-byte requests as the
    # engine counted, at least (warm-up is 0; the ones after the window too)
    requests = [p for p in tcp_frames(Path(cap["engine"]))
                if p[scapy_all.IP].src == "10.99.0.1" and len(p[scapy_all.TCP].payload) == 64]
    assert len(requests) >= doc["metrics"]["transactions"] > 0, (
        len(requests), doc["metrics"]["transactions"])


@LWIP_ONLY
def test_a_passing_run_keeps_nothing_and_never_writes_nothing(started_stack: str,
                                                             tcplab: Tcplab,
                                                             tmp_path: Path) -> None:
    for mode, flags in (("on-failure", ()), ("never", ("--pcap", "never"))):
        out = tmp_path / mode
        run, _, _ = run_timed(tcplab, "echo_rr", out, *SHORT, *flags)
        assert run.rc == EXIT_PASS, run.completed.stderr
        assert sorted(p.name for p in out.iterdir()) == ["echo_rr.hgrm", "echo_rr.hlog",
                                                         "echo_rr.json"], mode
        cap = run.result["captures"]
        assert cap["mode"] == mode and cap["engine"] is None and cap["sut"] is None, cap
        assert set(cap["not_kept"]) == set(SIDES), cap
        if mode == "never":
            assert "pcap=" not in run.completed.stderr


@LWIP_ONLY
def test_the_ring_keeps_the_last_n(started_stack: str, tcplab: Tcplab, tmp_path: Path) -> None:
    run, _, _ = run_timed(tcplab, "echo_rr", tmp_path, *SHORT, "--pcap", "always",
                          "--stack-opt", "pcap_frames=16")
    assert run.rc == EXIT_PASS, run.completed.stderr
    for side in SIDES:
        frames = tcp_frames(Path(run.result["captures"][side]))
        assert len(scapy_all.rdpcap(run.result["captures"][side])) == 16
        # the last ones: the close of the connection ends the file, no SYN is left in it
        kinds = [flags_of(p) for p in frames]
        assert "S" not in kinds and any("F" in k for k in kinds[-4:]), (side, kinds)
        assert kinds[-1] == "A", (side, kinds)


@LWIP_ONLY
@pytest.mark.parametrize("flags,needle", [
    (("--pcap", "sometimes"), "--pcap 'sometimes'"),
    (("--stack-opt", "pcap_frames=0"), "pcap_frames"),
    (("--stack-opt", "pcap=/tmp/x.pcap"), "pcap="),
])
def test_bad_values_are_one_line_exit_2(started_stack: str, tcplab: Tcplab, tmp_path: Path,
                                        flags: tuple[str, ...], needle: str) -> None:
    run, _, _ = run_timed(tcplab, "echo_rr", tmp_path, *SHORT, *flags)
    assert run.rc == EXIT_USAGE, run.completed.stderr
    lines = [ln for ln in run.completed.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert not list(tmp_path.glob("*.pcap"))


@LWIP_ONLY
@pytest.mark.root
@pytest.mark.netns
def test_a_sockets_side_is_captured_in_its_namespace(started_stack: str, tcplab: Tcplab,
                                                    tmp_path: Path) -> None:
    need_tcpdump()
    tap = ("--topology", "tap", *SHORT[2:])
    run, t0, t1 = run_timed(tcplab, "echo_rr", tmp_path, *tap, "--pcap", "always")
    assert run.rc == EXIT_PASS, run.completed.stderr
    cap = run.result["captures"]
    assert run.result["sut_backend"] == "kernel" and cap["not_kept"] == {}, cap
    for side in SIDES:	# the engine's by its DPDK port, the SUT's by tcpdump
        check_exchange(Path(cap[side]), t0, t1)
        assert tcpdump_lines(Path(cap[side]))


@pytest.mark.root
@pytest.mark.netns
def test_sockets_sides_are_captured_each_in_its_namespace(tcplab: Tcplab,
                                                          tmp_path: Path) -> None:
    """veth, Linux on both ends: a namespace a side, a tcpdump in each."""
    need_tcpdump()
    veth = ("--topology", "veth", *SHORT[2:])
    t0 = time.time()
    run = tcplab.run("echo_rr", *veth, "--pcap", "always", out=tmp_path, backend="kernel")
    t1 = time.time()
    assert run.rc == EXIT_PASS, run.completed.stderr
    cap = run.result["captures"]
    assert cap["not_kept"] == {}, cap
    for side in SIDES:
        check_exchange(Path(cap[side]), t0, t1)
    # each side's own view (Linux cooked capture: 4 = sent by this host, 0 = to it): the SYN
    # leaves the engine's namespace and arrives in the SUT's
    for side, pkttype in (("engine", 4), ("sut", 0)):
        syn = next(p for p in tcp_frames(Path(cap[side])) if flags_of(p) == "S")
        assert syn.pkttype == pkttype, (side, syn.summary(), syn.pkttype)


@LWIP_ONLY
def test_the_hosts_own_namespace_is_never_captured(tcplab: Tcplab, tmp_path: Path) -> None:
    run = tcplab.run("echo_rr", "--duration", "0.2", "--warmup", "0", "--pcap", "always",
                     out=tmp_path, backend="kernel")
    assert run.rc == EXIT_PASS, run.completed.stderr
    cap = run.result["captures"]
    assert cap["engine"] is None and cap["sut"] is None, cap
    assert all("host's own network namespace" in cap["not_kept"][s] for s in SIDES), cap
    assert not list(tmp_path.glob("*.pcap"))
