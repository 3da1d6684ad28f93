"""test_kill.py - `tcplab kill` (python/tcplab/kill.py): one side of a run killed at a seeded
point, the other side's end and what is left judged.

A short seeded run on the kernel and on each DPDK stack (6 runs: every point, both victims)
must pass every run's checks; the plan is a function of the seed alone and covers each point
and victim; the judgement fails a survivor that ended on a signal, an exit 2 without its one
line, a pass whose SUT was killed before the result, and what a run left behind.
"""
from __future__ import annotations

import json
import os
import signal
from collections import Counter
from pathlib import Path

import pytest

from tcplab import UsageError, kill
from tcplab.binary import EXIT_FAIL, EXIT_PASS
from tcplab.leftovers import RUN_NS_PREFIX, everything
from tcplab.namespaces import made_by
from tcplab.proc import ProcessManager, module_argv, module_env, poll_until, suts
from tcplab.topology import DPDK, LINUX, Table

SHORT_RUNS = 6
SHORT_SEED = 18
SHORT_TIMEOUT_S = 600.0
GONE_S = 10.0
STARTED_S = 30.0


def short_run(procs: ProcessManager, backend: str, tmp_path: Path) -> list[dict]:
    out = tmp_path / "kill.json"
    done = procs.run(module_argv("kill", "--runs", str(SHORT_RUNS), "--seed", str(SHORT_SEED),
                                 "--backend", backend, "--json", str(out)),
                     SHORT_TIMEOUT_S, env=module_env())
    assert out.is_file(), f"exit {done.rc}, no JSON: {done.stderr}"
    doc = json.loads(out.read_text())
    assert doc["schema"] == kill.SCHEMA
    bad = [r for r in doc["runs"] if not r["ok"]]
    assert not bad, "\n".join(f"{r['point']} {r['victim']} {r['signal']}: {r['problems']}"
                              for r in bad)
    assert done.rc == EXIT_PASS, done.stderr
    runs = doc["runs"]
    assert len(runs) == SHORT_RUNS and {r["backend"] for r in runs} == {backend}
    assert {r["point"] for r in runs} == set(kill.POINTS)
    assert {r["victim"] for r in runs} == set(kill.VICTIMS)
    return runs


@pytest.mark.root
def test_short_kill_run_on_the_kernel(procs: ProcessManager, tmp_path: Path) -> None:
    short_run(procs, LINUX, tmp_path)


@pytest.mark.root
@pytest.mark.dpdk
def test_short_kill_run_on_a_stack(started_stack: str, table: Table, procs: ProcessManager,
                                   tmp_path: Path) -> None:
    runs = short_run(procs, started_stack, tmp_path)
    assert {r["topology"] for r in runs} <= set(kill.topologies(table, DPDK))


TWO = ("one", "two")	# topologies by name: the plan draws among what it is given


def test_same_seed_same_plan() -> None:
    assert kill.plan(7, "lwip", 40, TWO) == kill.plan(7, "lwip", 40, TWO)
    assert kill.plan(7, "lwip", 40, TWO) != kill.plan(8, "lwip", 40, TWO)
    assert kill.plan(7, "lwip", 40, TWO) != kill.plan(7, "gvisor", 40, TWO)


def test_plan_covers_every_point_and_victim() -> None:
    for start in range(8):
        pairs = {(k.point, k.victim) for k in kill.plan(3, "kernel", 16, TWO)[start:start + 8]}
        assert pairs == {(p, v) for p in kill.POINTS for v in kill.VICTIMS}, start
    six = kill.plan(3, "kernel", SHORT_RUNS, TWO)
    assert {k.point for k in six} == set(kill.POINTS)
    assert {k.victim for k in six} == set(kill.VICTIMS)


def test_plan_draws_signals_topologies_delays() -> None:
    ks = kill.plan(1, "kernel", 100, TWO)
    sigs = Counter(k.signal for k in ks)
    assert 10 <= sigs["SIGTERM"] <= 40 and sigs["SIGTERM"] + sigs["SIGKILL"] == 100, sigs
    assert {k.topology for k in ks} == set(TWO)
    assert {k.topology for k in kill.plan(1, "lwip", 100, ("one",))} == {"one"}
    assert all(0 <= k.delay_s <= kill.DELAY_S[k.point] for k in ks)
    assert all(k.scenario in kill.SCENARIOS[k.point] for k in ks)
    with pytest.raises(UsageError):
        kill.plan(1, "lwip", 4, ())


def test_each_backend_is_killed_where_the_table_takes_it_on_both_sides(table: Table) -> None:
    """Every local topology that takes the kind on both sides, none that does not; for
    every kind a backend of this build has."""
    for attach in {b.attach for b in table.backends}:
        names = kill.topologies(table, attach)
        assert names, f"no topology takes {attach} on both sides"
        for t in table.topologies:
            takes = t.addresses is not None and t.allows(attach, attach)
            assert (t.name in names) == takes, (attach, t)


def outcome(victim: str = "sut", sig: str = "SIGKILL", point: str = "transfer") -> tuple:
    k = kill.Kill(0, "kernel", "loopback", "echo_rr", point, victim, sig, 0.0)
    return k, kill.Outcome(1, "kernel", 0, "loopback", "echo_rr", victim, sig, point, 0.0)


@pytest.mark.parametrize("rc", [-signal.SIGSEGV, 128 + signal.SIGSEGV])
def test_a_survivor_ended_by_a_signal_fails(rc: int, tmp_path: Path) -> None:
    k, o = outcome()
    kill.judge(k, o, rc, tmp_path)
    assert o.outcome == "crash" and not o.ok, o


def test_exit_2_needs_its_error_line(tmp_path: Path) -> None:
    k, o = outcome()
    o.message = "lwip: the link went down: the engine side is gone"
    kill.judge(k, o, 2, tmp_path)
    assert not o.ok
    k, o = outcome()
    o.message = "tcplab run: engine: Network is down"
    kill.judge(k, o, 2, tmp_path)
    assert o.ok and o.outcome == "error", o


def test_exit_1_needs_a_failed_result(tmp_path: Path) -> None:
    k, o = outcome()
    kill.judge(k, o, 1, tmp_path)
    assert o.problems == ["exit 1 without a result"]
    (tmp_path / "echo_rr.json").write_text(json.dumps(
        {"passed": False, "checks": [{"name": "errors", "ok": False}]}))
    k, o = outcome()
    kill.judge(k, o, 1, tmp_path)
    assert o.ok and o.message == "checks failed: errors", o


def test_a_pass_needs_its_result_before_the_kill(tmp_path: Path) -> None:
    k, o = outcome()
    kill.judge(k, o, 0, tmp_path)
    assert not o.ok
    k, o = outcome(sig="SIGTERM")	# a SUT stopped gracefully may have done its work
    kill.judge(k, o, 0, tmp_path)
    assert o.ok, o
    k, o = outcome(point="teardown")
    o.result_before_kill = True
    kill.judge(k, o, 0, tmp_path)
    assert o.ok, o


def test_an_engine_killed_by_sigkill_is_expected(tmp_path: Path) -> None:
    k, o = outcome(victim="engine")
    kill.judge(k, o, -signal.SIGKILL, tmp_path)
    assert o.ok and o.outcome == "killed", o
    k, o = outcome(victim="engine", sig="SIGTERM")
    kill.judge(k, o, -signal.SIGSEGV, tmp_path)
    assert not o.ok and o.outcome == "crash", o


@pytest.mark.root
def test_leftovers_are_found() -> None:
    """A DPDK runtime dir named for a run is what everything() reports (the check can fail)."""
    pid = os.getpid()
    d = Path("/run/dpdk") / f"tcplab{pid}-s-p{pid}"
    d.mkdir(parents=True)
    try:
        assert everything(pid) == [str(d)]
    finally:
        d.rmdir()
    assert everything(pid) == []


@pytest.mark.root
@pytest.mark.netns
def test_a_killed_engine_leaves_no_namespaces(procs: ProcessManager, tcplab_bin: Path,
                                              tmp_path: Path) -> None:
    """An engine SIGKILLed with its namespaces up (veth): its janitor (harness/cli/janitor.h)
    removes them, and the SUT dies with it."""
    run = procs.start([str(tcplab_bin), "run", "echo_rr", "--backend", LINUX, "--topology",
                       "veth", "--duration", "30", "--warmup", "0", "--out", str(tmp_path)])
    pid = run.pid

    def up() -> bool:
        return bool(made_by(RUN_NS_PREFIX, pid)) and bool(suts(pid))

    assert poll_until(up, STARTED_S), f"no namespaces or SUT: {run.stderr_text()}"
    os.kill(pid, signal.SIGKILL)
    assert run.wait(GONE_S) == -signal.SIGKILL
    left: list[str] = []

    def clean() -> bool:
        left[:] = everything(pid, procs.tag)
        return not left

    assert poll_until(clean, GONE_S), f"left after {GONE_S} s: {left}"


@pytest.mark.root
@pytest.mark.dpdk
def test_the_janitor_asks_the_stack_to_clean_up(started_stack: str, procs: ProcessManager,
                                                tcplab_bin: Path, tmp_path: Path) -> None:
    """A SIGKILLed engine's janitor calls each side's stack's cleanup (tl_ops.cleanup): a
    DPDK stack removes the empty runtime directories named for the run, as a side killed
    inside rte_eal_init leaves one (stack/dpdk/eal.c, dpk_cleanup_run). The one made here
    names a live PID, so nothing but the cleanup of this run id removes it."""
    run = procs.start([str(tcplab_bin), "run", "echo_rr", "--backend", started_stack,
                       "--duration", "30", "--warmup", "0", "--out", str(tmp_path)])
    pid = run.pid
    assert poll_until(lambda: "[echo_rr" in run.stderr_text(), STARTED_S), run.stderr_text()
    left = Path("/run/dpdk") / f"tcplab{pid}-s-p{os.getpid()}"
    left.mkdir(parents=True)
    try:
        os.kill(pid, signal.SIGKILL)
        assert run.wait(GONE_S) == -signal.SIGKILL
        assert poll_until(lambda: not left.exists(), GONE_S), f"{left} left"
        assert poll_until(lambda: not everything(pid, procs.tag), GONE_S), \
            everything(pid, procs.tag)
    finally:
        if left.exists():
            left.rmdir()


def test_a_sut_that_never_reports_fails_the_run(procs: ProcessManager, tcplab_bin: Path,
                                                tmp_path: Path) -> None:
    """A SUT stopped mid-run never sends its stats: the run fails on `sut_reported` rather
    than pass on the engine's checks alone (tcplab kill saw lwIP runs pass so, their SUT
    killed between the last send and its stats)."""
    run = procs.start([str(tcplab_bin), "run", "stream_send", "--backend", LINUX,
                       "--duration", "1", "--warmup", "0", "--out", str(tmp_path)])
    assert poll_until(lambda: "[stream_send" in run.stderr_text(), STARTED_S), \
        run.stderr_text()
    sut = suts(run.pid)[0]
    os.kill(sut, signal.SIGSTOP)
    assert run.wait(STARTED_S) == EXIT_FAIL, run.stderr_text()
    checks = {c["name"]: c for c in json.loads((tmp_path / "stream_send.json").read_text())
              ["checks"]}
    assert checks["sut_reported"]["ok"] is False, checks
    assert "sut_received_all_sent" not in checks


def test_the_message_is_the_error_not_a_note_after_it() -> None:
    err = ("[echo_rr lwip]   1.0/4.0s run  20000 tps  p99 40.0us  errors 0\n"
           "lwip: the link went down: the memif server side is gone\n"
           "tcplab run: engine: Network is down\n"
           "tcplab run: capture kept: /tmp/x/echo_rr-engine.pcap\n")
    assert kill.error_lines(err)[-1] == "tcplab run: engine: Network is down"
