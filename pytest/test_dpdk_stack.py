"""test_dpdk_stack.py - every DPDK stack (tcplab.stacks: each one built, each one expected) on
the memif topology.

Every scenario `tcplab list` shows but the buffered-I/O ones (test_bio.py) and those with an
`impair` line (test_impair_scenarios.py, at the lengths their loss recovery needs) runs
briefly on each stack over memif and must pass with its bytes verified, the counters every
DPDK stack reports in the result (its port's, and the ones the harness reads: mbufs_in_use,
mbufs_in_use_start, sockets_open, hugepages), no socket left open and the mbufs back at
their starting level. Killing either side mid-run must end the
other side with a clear error within a bounded time and leave nothing behind: no process, no
memif socket (an abstract one, named by the run id), nothing under /run/dpdk or
/dev/hugepages with the run's prefix. The stream scenarios also run under AddressSanitizer
(build-asan/), on each stack that build has. The settings every DPDK stack shares (the DPDK
layer's: mtu, checksum, eal, the port) are refused alike when malformed.

A stack the binary lacks skips with the reason, or fails where its packages are installed
(conftest.py, dpdk_stack); one that cannot start here skips with its own message
(started_stack). lwIP's own settings and build: test_lwip.py.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tcplab.leftovers import run_files
from tcplab.proc import (ManagedProcess, ProcessManager, poll_until,
                         running, suts)
from tcplab.binary import EXIT_PASS, EXIT_USAGE, Tcplab

pytestmark = pytest.mark.dpdk

DURATION = "1"
WARMUP = "0.2"
RUN_TIMEOUT_S = 60.0
KILL_RUN_S = "30"
GONE_WITHIN_S = 10.0
PROGRESS_WITHIN_S = 30.0
ASAN_SCENARIOS = ("echo_rr", "stream_send", "stream_recv", "crr")
# every DPDK stack's: its port's (stack/dpdk, dpk_port_counters), and the ones the harness
# reads (stack/README.md, "Counters")
COUNTERS = ("rx_packets", "tx_packets", "tx_bytes", "tx_bursts", "drop_tx_no_mbuf",
            "drop_tx_too_big", "drop_tx_ring_full", "mbufs", "mbufs_in_use", "hugepages",
            "sockets_open", "mbufs_in_use_start")
NEVER_DROPPED = ("drop_tx_too_big", "drop_tx_no_mbuf")


@dataclass
class StackRun:
    """One `tcplab run` on a DPDK stack over memif: its PID names the run (tcplab<pid>)."""
    proc: ManagedProcess
    out: Path
    scenario: str

    @property
    def run_id(self) -> str:
        return f"tcplab{self.proc.pid}"

    def finish(self, timeout: float = RUN_TIMEOUT_S) -> int:
        self.proc.close_stdin()
        self.proc.rest_of_stdout(timeout)
        return self.proc.wait(timeout)

    def result(self) -> dict[str, Any]:
        path = self.out / f"{self.scenario}.json"
        assert path.is_file(), f"no result {path}; stderr: {self.proc.stderr_text()!r}"
        return json.loads(path.read_text())


def start_run(procs: ProcessManager, binary: Path, stack: str, scenario: str, out: Path,
              *flags: str, quiet: bool = True) -> StackRun:
    argv = [str(binary), "run", scenario, "--backend", stack, "--topology", "memif",
            "--out", str(out), *flags]
    if quiet:
        argv.append("--quiet")
    return StackRun(procs.start(argv), out, scenario)


def wait_until(what: str, cond: Any, timeout: float) -> None:
    """Wait for @cond() within @timeout; fail saying @what."""
    assert poll_until(cond, timeout), f"{what}: not within {timeout} s"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """transport_scenario: every scenario `tcplab list` shows but the buffered-I/O ones
    (program objects: test_bio.py runs those on every stack) and those with an `impair` line
    (test_impair_scenarios.py runs those)."""
    if "transport_scenario" in metafunc.fixturenames:
        from conftest import _listing	# the session's `tcplab list --json`
        metafunc.parametrize("transport_scenario",
                             [s["name"] for s in _listing(metafunc.config).scenarios
                              if s["program"] != "objects" and not impaired(s["path"])])


def impaired(path: str) -> bool:
    """Whether the scenario file at @path has an `impair` line."""
    return any(ln.split()[:1] == ["impair"] for ln in Path(path).read_text().splitlines())


def test_scenario_on_memif(started_stack: str, procs: ProcessManager, tcplab_bin: Path,
                           transport_scenario: str, tmp_path: Path) -> None:
    scenario = transport_scenario
    run = start_run(procs, tcplab_bin, started_stack, scenario, tmp_path, "--duration",
                    DURATION, "--warmup", WARMUP)
    rc = run.finish()
    assert rc == EXIT_PASS, f"exit {rc}: {run.proc.stderr_text().strip()}"
    doc = run.result()
    assert doc["backend"] == started_stack and doc["topology"] == "memif"
    assert doc["passed"] is True, [c for c in doc["checks"] if not c["ok"]]
    assert doc["versions"]["stack"].strip(), doc["versions"]
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["data_integrity"]["ok"] and checks["sut_data_integrity"]["ok"]
    assert doc["metrics"]["errors"] == 0, doc["metrics"]["errors_by_reason"]
    sut = doc["sut"]
    assert sut["mismatches"] == 0 and sut["open"] == 0, sut
    if scenario == "stream_send":
        assert checks["sut_received_all_sent"]["ok"], checks["sut_received_all_sent"]

    c = doc["stack_counters"]
    missing = [k for k in COUNTERS if k not in c]
    assert not missing, f"stack_counters lacks {missing}: {c}"
    assert c["rx_packets"] > 0 and c["tx_packets"] > 0, c
    assert c["sockets_open"] == 0, f"{c['sockets_open']} {started_stack} sockets left open"
    assert c["mbufs_in_use"] <= c["mbufs_in_use_start"], (
        f"mbufs in use: {c['mbufs_in_use']} after the run, {c['mbufs_in_use_start']} before")
    dropped = {k: c[k] for k in NEVER_DROPPED if c[k] != 0}
    assert not dropped, f"frames dropped: {dropped}"
    assert run_files(run.run_id) == []


def test_unknown_stack_option_is_one_line_exit_2(started_stack: str, procs: ProcessManager,
                                                  tcplab_bin: Path, tmp_path: Path) -> None:
    run = start_run(procs, tcplab_bin, started_stack, "echo_rr", tmp_path, "--duration", "0.1",
                    "--stack-opt", "bogus=1")
    assert run.finish() == EXIT_USAGE
    lines = [ln for ln in run.proc.stderr_text().splitlines()
             if ln.startswith(f"tcplab run: backend {started_stack}:")]
    assert lines and "bogus=1" in lines[0] and "port" in lines[0], lines
    assert run_files(run.run_id) == []


@pytest.mark.parametrize("victim,sig", [("sut", signal.SIGKILL), ("engine", signal.SIGKILL),
                                        ("engine", signal.SIGTERM)])
def test_kill_mid_run_leaves_nothing(started_stack: str, procs: ProcessManager,
                                     tcplab_bin: Path, tmp_path: Path, victim: str,
                                     sig: signal.Signals) -> None:
    run = start_run(procs, tcplab_bin, started_stack, "echo_rr", tmp_path, "--duration",
                    KILL_RUN_S, "--warmup", "0", quiet=False)
    engine = run.proc.pid
    # mid-run: the engine has printed a progress line (after 1 s of traffic)
    wait_until("a progress line from the engine",
               lambda: f"[echo_rr {started_stack}]" in run.proc.stderr_text()
               or not running(engine), PROGRESS_WITHIN_S)
    assert running(engine), f"the run ended early: {run.proc.stderr_text()}"
    found = suts(engine)
    assert len(found) == 1, f"expected one SUT child of {engine}, found {found}"
    sut = found[0]
    os.kill(sut if victim == "sut" else engine, sig)

    if victim == "sut":
        # the engine notices the memif link going down and gives up with ENETDOWN
        rc = run.proc.wait(GONE_WITHIN_S)
        err = run.proc.stderr_text()
        assert rc == EXIT_USAGE, f"engine exit {rc}: {err}"
        assert "Network is down" in err, err
    else:
        rc = run.proc.wait(GONE_WITHIN_S)
        if sig == signal.SIGKILL:
            assert rc == -signal.SIGKILL
        else:
            # stopped by it (a result, 128 + SIGTERM), or done before it came
            assert rc in (EXIT_PASS, 1, 128 + signal.SIGTERM), \
                f"engine exit {rc} after SIGTERM: {run.proc.stderr_text()}"
    wait_until(f"the SUT (pid {sut}) to end", lambda: not running(sut), GONE_WITHIN_S)
    wait_until(f"run {run.run_id} to leave nothing behind",
               lambda: run_files(run.run_id) == [], GONE_WITHIN_S)


@pytest.mark.parametrize("scenario", ASAN_SCENARIOS)
def test_under_asan(started_stack: str, procs: ProcessManager, root: Path, scenario: str,
                    tmp_path: Path) -> None:
    binary = Path(os.environ.get("TCPLAB_ASAN_BIN", root / "build-asan" / "harness" / "tcplab"))
    if not binary.is_file():
        pytest.skip(f"no AddressSanitizer build at {binary} (ci/test.sh makes build-asan/)")
    if started_stack not in Tcplab(binary, procs).listing().backends:
        pytest.skip(f"the AddressSanitizer build at {binary} has no {started_stack} plug-in")
    run = StackRun(procs.start([str(binary), "run", scenario, "--backend", started_stack,
                                "--topology", "memif", "--out", str(tmp_path), "--quiet",
                                "--duration", DURATION, "--warmup", WARMUP],
                               env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
                                    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}),
                   tmp_path, scenario)
    rc = run.finish()
    err = run.proc.stderr_text()
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert rc == EXIT_PASS, f"exit {rc}: {err}"
    assert run.result()["passed"] is True


# memif's MTU is 9000 by default (shared memory: no wire to fit); mtu=1500 is Ethernet's
MEMIF_MTU = {"default": ([], 9000), "mtu1500": (["--stack-opt", "mtu=1500"], 1500)}
ETH_HDR = 14


@pytest.mark.parametrize("setting", sorted(MEMIF_MTU))
def test_memif_frames_fill_the_mtu(started_stack: str, procs: ProcessManager, tcplab_bin: Path,
                                   tmp_path: Path, setting: str) -> None:
    """A bulk stream fills the MTU the stack was given: jumbo frames on memif's 9000, never
    more than 1514 bytes on a 1500 one."""
    flags, mtu = MEMIF_MTU[setting]
    run = start_run(procs, tcplab_bin, started_stack, "stream_send", tmp_path, "--duration",
                    DURATION, "--warmup", WARMUP, *flags)
    rc = run.finish()
    assert rc == EXIT_PASS, f"exit {rc}: {run.proc.stderr_text().strip()}"
    doc = run.result()
    assert doc["passed"] is True, [c for c in doc["checks"] if not c["ok"]]
    c = doc["stack_counters"]
    mean_frame = c["tx_bytes"] / c["tx_packets"]
    if mtu > 1500:
        assert mean_frame > 1500 + ETH_HDR, f"mean frame {mean_frame:.0f} B on a {mtu} MTU"
    else:
        assert mean_frame <= 1500 + ETH_HDR, f"mean frame {mean_frame:.0f} B on a {mtu} MTU"


@pytest.mark.parametrize("flags,mbufs", [(["--conns", "3000"], 16383),
                                         (["--conns", "3000", "--stack-opt", "mbufs=4095"], 4095),
                                         (["--conns", "10"], 8191)])
def test_the_pool_is_sized_for_the_runs_connections(started_stack: str, procs: ProcessManager,
                                                    tcplab_bin: Path, tmp_path: Path,
                                                    flags: list[str], mbufs: int) -> None:
    """Both sides are told the scenario's connections (tl_stack_params.conns) and size their
    pools by them: three mbufs a connection as 2^k - 1, at least 8191 (stack/dpdk/README.md,
    "Settings"); a user's mbufs= wins. rr_many_1k is the scenario made for many connections
    (echo_rr's p99 bound failed on gVisor while 3,000 opened)."""
    run = start_run(procs, tcplab_bin, started_stack, "rr_many_1k", tmp_path, "--duration",
                    "0.5", "--warmup", "2", *flags)
    rc = run.finish()
    assert rc == EXIT_PASS, f"exit {rc}: {run.proc.stderr_text().strip()}"
    doc = run.result()
    assert doc["stack_counters"]["mbufs"] == mbufs, doc["stack_counters"]
    assert doc["sut"]["stack"]["mbufs"] == mbufs, doc["sut"]["stack"]


@pytest.mark.parametrize("opt,needle", [("mtu=100", "mtu"), ("mtu=9001", "mtu"),
                                        ("checksum=maybe", "checksum")])
def test_bad_port_setting_is_one_line_exit_2(started_stack: str, procs: ProcessManager,
                                             tcplab_bin: Path, tmp_path: Path, opt: str,
                                             needle: str) -> None:
    run = start_run(procs, tcplab_bin, started_stack, "echo_rr", tmp_path, "--duration", "0.1",
                    "--stack-opt", opt)
    assert run.finish() == EXIT_USAGE
    lines = [ln for ln in run.proc.stderr_text().splitlines()
             if ln.startswith(f"tcplab run: backend {started_stack}:")]
    assert len(lines) == 1 and f"stack option {needle}" in lines[0], lines
    assert run_files(run.run_id) == []


def test_start_removes_runtime_dirs_of_dead_runs(started_stack: str, procs: ProcessManager,
                                                 tcplab_bin: Path, tmp_path: Path) -> None:
    """A run killed inside rte_eal_init leaves an empty /var/run/dpdk/<prefix> behind; the
    next start of a DPDK stack removes those whose process is gone, and no other."""
    base = Path("/var/run/dpdk") if os.geteuid() == 0 else \
        Path(os.environ.get("XDG_RUNTIME_DIR", "/tmp")) / "dpdk"
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = base / f"tcplab{gone.pid}-c-p{gone.pid}"
    dead_case = base / f"conform1-0-s-p{gone.pid}"	# any run id: the pid is the process's
    alive = base / f"tcplab{os.getpid()}-s-p{os.getpid()}"
    foreign = base / f"other{gone.pid}-c"
    for d in (dead, dead_case, alive, foreign):
        d.mkdir(parents=True, exist_ok=True)
    try:
        run = start_run(procs, tcplab_bin, started_stack, "echo_rr", tmp_path, "--duration",
                        "0.1", "--warmup", "0")
        assert run.finish() == EXIT_PASS, run.proc.stderr_text()
        assert not dead.exists(), f"{dead}: a dead run's directory was left"
        assert not dead_case.exists(), f"{dead_case}: a dead case side's directory was left"
        assert alive.is_dir() and foreign.is_dir(), "removed a directory that is not a dead run's"
    finally:
        for d in (dead, dead_case, alive, foreign):
            if d.is_dir():
                d.rmdir()
