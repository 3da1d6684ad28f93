"""`tcplab run --topology tap`: each DPDK stack (conftest.py, dpdk_stack) on a DPDK tap port
against the Linux stack at the tap's kernel end, both in a namespace the run makes, in both
directions. Every transport scenario passes each way, the namespace is gone afterwards (also
after SIGINT; a SIGKILLed run's by its janitor, or else by the next tap run), and bad combinations
exit 2."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tcplab import namespaces
from tcplab.proc import poll_until, suts
from tcplab.topology import LINUX

from conftest import assert_run_refused

SCENARIOS = ["echo_rr", "echo_rr_open", "rr_many", "stream_send", "stream_recv", "crr"]
DIRECTIONS = ("stack-engine", "stack-sut")
JANITOR_S = 10.0	# a killed run's janitor removes its namespace within

pytestmark = [pytest.mark.root, pytest.mark.dpdk, pytest.mark.netns]


def sides(direction: str, stack: str) -> tuple[str, str]:
    """(engine, SUT) backends: the stack on the side the direction names, Linux on the other."""
    return (stack, LINUX) if direction == "stack-engine" else (LINUX, stack)


def side_flags(direction: str, stack: str) -> list[str]:
    engine, sut = sides(direction, stack)
    return ["--backend", engine] + (["--sut-backend", sut] if sut != LINUX else [])


def run(tcplab_bin: Path, out: Path, scenario: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tcplab_bin), "run", scenario, "--topology", "tap",
                           "--duration", "1", "--warmup", "0.3", "--quiet", "--out", str(out),
                           *flags], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_over_tap(dpdk_stack: str, tcplab_bin: Path, tmp_path: Path, scenario: str,
                           direction: str) -> None:
    before = namespaces.listed("tcplab-rt")
    done = run(tcplab_bin, tmp_path, scenario, *side_flags(direction, dpdk_stack))
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((tmp_path / f"{scenario}.json").read_text())
    engine, sut = sides(direction, dpdk_stack)
    assert (doc["backend"], doc["sut_backend"], doc["topology"]) == (engine, sut, "tap")
    assert doc["passed"] and doc["metrics"]["errors"] == 0
    assert all(c["ok"] for c in doc["checks"] if "integrity" in c["name"]
               or c["name"].startswith("sut_")), doc["checks"]
    assert namespaces.listed("tcplab-rt") <= before, "the run's namespace is left behind"


def cpus_of(pid: int) -> set[int]:
    try:
        return os.sched_getaffinity(pid)
    except OSError:	# gone meanwhile
        return set()


def sut_of(pid: int) -> int | None:
    """@pid's child that is the SUT (proc.suts: not the capture's tcpdump, nor the janitor)."""
    return next(iter(suts(pid)), None)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_kernel_side_runs_off_the_stacks_core(dpdk_stack: str, tcplab_bin: Path,
                                              tmp_path: Path, direction: str) -> None:
    """The kernel side of a tap run is pinned to a CPU the spinning DPDK side does not take
    (the engine the lowest allowed, the SUT the highest), so neither waits out the other's
    time slices."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("one CPU allowed: nothing to choose")
    proc = subprocess.Popen([str(tcplab_bin), "run", "echo_rr", "--topology", "tap",
                             "--duration", "3", "--warmup", "0", "--quiet", "--out",
                             str(tmp_path), *side_flags(direction, dpdk_stack)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    want_engine, want_sut = {allowed[0]}, {allowed[-1]}
    seen: tuple[set[int], set[int]] = (set(), set())
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            sut = sut_of(proc.pid)
            seen = (cpus_of(proc.pid), cpus_of(sut) if sut is not None else set())
            if seen == (want_engine, want_sut):
                break
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + err
    assert seen == (want_engine, want_sut), f"engine and SUT CPUs: {seen}"


def test_sigint_removes_the_namespace(dpdk_stack: str, tcplab_bin: Path,
                                      tmp_path: Path) -> None:
    before = namespaces.listed("tcplab-rt")
    proc = subprocess.Popen([str(tcplab_bin), "run", "echo_rr", "--topology", "tap",
                             "--backend", dpdk_stack, "--duration", "30", "--quiet", "--out",
                             str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while f"tcplab-rt{proc.pid}" not in namespaces.listed("tcplab-rt"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGINT, proc.stderr.read()	# and a result
    assert json.loads((tmp_path / "echo_rr.json").read_text())["interrupted"] is True
    assert namespaces.listed("tcplab-rt") <= before


def test_a_killed_runs_namespace_is_removed(dpdk_stack: str, tcplab_bin: Path,
                                            tmp_path: Path) -> None:
    """A SIGKILLed run's namespace is removed by its janitor (harness/cli/janitor.h); one
    whose janitor died too is removed by the next tap run."""
    proc = subprocess.Popen([str(tcplab_bin), "run", "echo_rr", "--topology", "tap",
                             "--backend", dpdk_stack, "--duration", "30", "--quiet", "--out",
                             str(tmp_path / "a")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    name = f"tcplab-rt{proc.pid}"
    try:
        deadline = time.monotonic() + 30
        while name not in namespaces.listed("tcplab-rt"):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)	# its SUT dies with it (PR_SET_PDEATHSIG)
        proc.wait()
    assert poll_until(lambda: name not in namespaces.listed("tcplab-rt"), JANITOR_S), \
        f"{name} still there {JANITOR_S} s after its run was killed"
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = f"tcplab-rt{gone.pid}"	# a dead run's, as if its janitor had been killed too
    namespaces.ip("netns", "add", stale)
    done = run(tcplab_bin, tmp_path / "b", "echo_rr", "--backend", dpdk_stack)
    assert done.returncode == 0, done.stderr
    assert stale not in namespaces.listed("tcplab-rt")	# the next tap run removed it


@pytest.mark.parametrize("flags,message", [
    (["--topology", "tap", "--backend", "kernel", "--sut-backend", "kernel"],
     "--topology tap joins one dpdk side and one sockets side"),
    (["--topology", "tap", "--backend", "STACK", "--peer", "127.0.0.1:1"],
     "--topology tap runs both sides here"),
    (["--sut-backend", "STACK"], "--sut-backend is for --topology tap"),
    (["--topology", "tap", "--sut-backend", "nosuch"], "unknown backend 'nosuch'"),
])
def test_bad_tap_combinations_exit_2(dpdk_stack: str, tcplab_bin: Path, tmp_path: Path,
                                     flags: list[str], message: str) -> None:
    """(STACK: the DPDK stack of the test)"""
    assert_run_refused(tcplab_bin, tmp_path, dpdk_stack, flags, message, "tcplab-rt")
