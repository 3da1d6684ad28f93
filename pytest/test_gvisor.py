"""test_gvisor.py - what only the gvisor plug-in has: its own settings (bound, procs, inline,
loop_timers, tw_reuse: each choice the README measures must keep working, since each is the
way to compare against the default), its own counters, and the binding of a thread to Go's
runtime on its own (build/stack/gvisor/crossing_cost). Everything a DPDK stack must do,
gvisor does in test_dpdk_stack*.py like any other stack; these tests run on gvisor alone
(only_stack), and skip, with the reason, where it is not built or cannot start here.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tcplab.binary import EXIT_PASS, EXIT_USAGE, Tcplab
from tcplab.stacks import GVISOR

pytestmark = [pytest.mark.dpdk, pytest.mark.only_stack(GVISOR)]

DURATION = "1"
WARMUP = "0.2"
OWN_COUNTERS = ("drop_rx_bad_frame", "cgo_crossings", "rx_frames_netstack",
                "tx_frames_netstack", "drop_tx_queue_full", "tx_slots_full", "sockets_opened",
                "tcp_segments_sent", "tcp_retransmits", "tcp_active", "tcp_time_wait",
                "go_goroutines", "bound_thread")


def run_memif(tcplab: Tcplab, stack: str, scenario: str, out: Path,
              *flags: str) -> dict[str, Any]:
    """A passing run on @stack over memif; its result."""
    run = tcplab.run(scenario, "--topology", "memif", "--duration", DURATION, "--warmup",
                     WARMUP, *flags, backend=stack, out=out)
    assert run.rc == EXIT_PASS, f"exit {run.rc}: {run.completed.stderr.strip()}"
    assert run.result["passed"] is True, [c for c in run.result["checks"] if not c["ok"]]
    return run.result


def test_own_counters_after_a_run(started_stack: str, tcplab: Tcplab, tmp_path: Path) -> None:
    """netstack underneath, the thread bound, every frame through netstack and out, nothing
    dropped, no connection left open on either side."""
    doc = run_memif(tcplab, started_stack, "echo_rr", tmp_path)
    assert doc["versions"]["stack"].startswith("gvisor netstack"), doc["versions"]
    for side, c in (("engine", doc["stack_counters"]), ("sut", doc["sut"]["stack"])):
        missing = [k for k in OWN_COUNTERS if k not in c]
        assert not missing, f"{side} counters lack {missing}: {c}"
        assert c["bound_thread"] == 1 and c["cgo_crossings"] > 0, (side, c)
        assert c["rx_frames_netstack"] == c["rx_packets"], (side, c)
        assert c["tx_frames_netstack"] >= c["tx_packets"] > 0, (side, c)
        assert c["drop_rx_bad_frame"] == c["drop_tx_queue_full"] == 0, (side, c)
        assert c["tcp_active"] == 0, f"{side}: netstack still holds {c['tcp_active']}"


@pytest.mark.parametrize("setting", ["bound=0", "inline=0", "loop_timers=0", "procs=1",
                                     "tw_reuse=off"])
def test_each_alternative_still_runs(started_stack: str, tcplab: Tcplab, setting: str,
                                     tmp_path: Path) -> None:
    """The alternatives the README compares with the default run clean too (echo_rr, and
    crr for the TIME_WAIT setting)."""
    scenario = "crr" if setting.startswith("tw_reuse") else "echo_rr"
    doc = run_memif(tcplab, started_stack, scenario, tmp_path, "--stack-opt", setting)
    c = doc["stack_counters"]
    assert doc["metrics"]["errors"] == 0 and c["tcp_active"] == 0, (doc["metrics"], c)
    assert c["bound_thread"] == (0 if setting == "bound=0" else 1), c


@pytest.mark.parametrize("setting", ["bound=2", "procs=0", "inline=yes", "loop_timers=-1",
                                     "tw_reuse=always"])
def test_bad_own_setting_is_one_line_exit_2(started_stack: str, tcplab: Tcplab, setting: str,
                                            tmp_path: Path) -> None:
    run = tcplab.run("echo_rr", "--topology", "memif", "--duration", "0.1", "--stack-opt",
                     setting, backend=started_stack, out=tmp_path)
    assert run.rc == EXIT_USAGE, run.completed.stderr
    lines = [ln for ln in run.completed.stderr.splitlines()
             if ln.startswith(f"tcplab run: backend {started_stack}:")]
    key = setting.split("=")[0]
    assert len(lines) == 1 and key in lines[0], run.completed.stderr


def test_a_thread_binds_and_unbinds_again(started_stack: str, root: Path) -> None:
    """crossing_cost binds its thread, unbinds it and binds it again, round after round:
    the Go half's binding (go/bind.c) on its own, no DPDK. Its figures are a benchmark's
    (results/measurements.md), not checked here."""
    tool = root / "build" / "stack" / "gvisor" / "crossing_cost"
    done = subprocess.run([str(tool), "3", "2000"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    rounds = [ln for ln in done.stdout.splitlines() if ln.startswith("round ")]
    assert len(rounds) == 3 and "median unbound/bound" in done.stdout, done.stdout
    bad = subprocess.run([str(tool), "0"], capture_output=True, text=True, timeout=10,
                         check=False)
    assert bad.returncode == 2 and "usage" in bad.stderr, bad
