"""test_soak.py - `tcplab soak` (python/tcplab/soak.py): the flatness rule on made-up series
(a steady leak fails, noise around a level passes, warm-up growth in the first half is
forgiven, a series only shown never fails), and a one-minute soak on the kernel and the
build's default DPDK stack that must come out flat with every run passed and leave nothing
behind; SIGTERM stops it cleanly with what was sampled written.
"""
from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tcplab import namespaces, soak, stacks
from tcplab.proc import module_argv, module_env, running
from tcplab.topology import LINUX, Table

COUNT = soak.TOLERANCES["count"]
KIB = soak.TOLERANCES["kib"]
MINUTE = [float(t) for t in range(0, 1801, 60)]	# a 30-minute soak's sample times


def test_a_steady_leak_fails() -> None:
    # one fd every 5 minutes: 3 over the second half, past the 2 a count allows
    got = soak.flat(MINUTE, [40 + int(t // 300) for t in MINUTE], COUNT)
    assert not got["flat"], got
    assert got["growth"] > got["allowed"]


def test_a_slow_rss_leak_fails() -> None:
    rng = random.Random(7)
    rss = [200_000 + 10 * t + rng.gauss(0, 500) for t in MINUTE]	# 10 KiB/s, noisy
    got = soak.flat(MINUTE, rss, KIB)
    assert not got["flat"], got


def test_noise_around_a_level_passes() -> None:
    rng = random.Random(3)
    rss = [200_000 + rng.gauss(0, 1500) for _ in MINUTE]
    got = soak.flat(MINUTE, rss, KIB)
    assert got["flat"], got
    fds = [40 + rng.choice((-1, 0, 0, 1)) for _ in MINUTE]
    assert soak.flat(MINUTE, fds, COUNT)["flat"]


def test_warm_up_in_the_first_half_is_forgiven_a_fall_too() -> None:
    warm = [min(100_000 + 20_000 * i, 300_000) for i in range(len(MINUTE))]
    assert soak.flat(MINUTE, warm, KIB)["flat"]
    assert soak.flat(MINUTE, [1000 - i for i in range(len(MINUTE))], COUNT)["flat"]


def test_too_few_samples_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        soak.flat([0.0, 10.0, 20.0], [1, 2, 3], COUNT)


def made_up(fds: list[int], avail: list[int]) -> soak.Soak:
    """A soak's record of one SUT and the host, with the given fds and MemAvailable."""
    s = soak.Soak(["kernel"], {"echo_rr": "echo"}, 1, 10)
    host = {"namespaces": 2, "memif_sockets": 0, "dpdk_run_dirs": 0, "hugepage_files": 0,
            "shm_entries": 3, "tcplab_processes": 1}
    for i, (f, a) in enumerate(zip(fds, avail)):
        s.samples.append({"t": 10.0 * i, "host": {**host, "mem_available_kib": a},
                          "driver": {"rss_kib": 30_000, "fds": 5},
                          "suts": {"kernel/echo": {"rss_kib": 4000, "fds": f,
                                                   "conns_open": 0}}})
        s.runs.append({"scenario": "echo_rr", "backend": "kernel", "rc": 0})
    return s


def test_a_failed_check_without_a_value_is_reported() -> None:
    """A run stopped by the soak's SIGTERM at its start has checks whose value is null (an
    empty window): the soak says so, not a TypeError (CI on 5dc1c6b)."""
    result = {"checks": [{"name": "p99 < 100ms", "ok": False, "value": None, "limit": 1e8},
                         {"name": "errors == 0", "ok": True, "value": 0, "limit": 0},
                         {"name": "tps >= 10", "ok": False, "value": 2.5, "limit": 10}]}
    assert soak.failed_checks(result) == ["p99 < 100ms = n/a (limit 1e+08)",
                                          "tps >= 10 = 2.5 (limit 10)"]


def test_report_fails_the_series_that_grows_and_only_that() -> None:
    _, fails = soak.report(made_up([9, 9, 9, 12, 15, 18, 21], [10**6] * 7))
    assert fails == [f for f in fails if f.startswith("kernel/echo fds grows")] and fails


def test_a_series_only_shown_never_fails() -> None:
    # MemAvailable falling by half: host-wide, shown, not judged (soak.TOLERANCES)
    verdicts, fails = soak.report(made_up([9] * 7, [10**6 // (i + 1) for i in range(7)]))
    assert fails == []
    assert {v["series"] for v in verdicts if not v["judged"]} == {
        "host mem_available_kib", "host shm_entries"}


def test_a_failed_run_fails_the_soak() -> None:
    s = made_up([9] * 7, [10**6] * 7)
    s.runs[3] = {"scenario": "echo_rr", "backend": "kernel", "rc": 1, "error": "p99"}
    assert any("runs did not pass" in f for f in soak.report(s)[1])


def soak_argv(out: Path, *backends: str) -> list[str]:
    return module_argv("soak", "--minutes", "1", "--interval", "10", "--json", str(out),
                       *(a for b in backends for a in ("--backend", b)))


def left_behind(doc: dict) -> list[str]:
    """The SUTs still running and the namespaces still there, of the soak @doc records."""
    pids = [f"pid {v['pid']}" for v in doc["suts"].values() if running(v["pid"])]
    return pids + sorted(namespaces.listed(soak.PREFIX))


@pytest.mark.root
@pytest.mark.netns
@pytest.mark.dpdk
def test_a_short_soak_is_flat_and_leaves_nothing(tcplab_bin: Path, table: Table,
                                                  tmp_path: Path) -> None:
    stack = stacks.default_stack(table, tcplab_bin)
    if stack is None:
        pytest.skip("no DPDK stack built")
    out = tmp_path / "soak.json"
    done = subprocess.run(soak_argv(out, LINUX, stack), capture_output=True, text=True,
                          timeout=150, env=module_env({"TCPLAB_BIN": str(tcplab_bin)}))
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["schema"] == soak.SCHEMA and doc["exit"] == 0 and doc["failures"] == []
    assert len(doc["samples"]) >= 6
    programs = set(doc["scenarios"].values())
    assert set(doc["suts"]) == {f"{b}/{p}" for b in (LINUX, stack) for p in programs}
    for row in doc["samples"]:
        assert set(row["suts"]) == set(doc["suts"])
        assert all(lv["conns_open"] == 0 and lv["tcp_active"] == 0
                   for lv in row["suts"].values()), row
    ran = {r["backend"] for r in doc["runs"]}
    assert ran == {LINUX, stack} and all(r["rc"] == 0 for r in doc["runs"])
    judged = [v for v in doc["verdicts"] if v["judged"]]
    assert judged and all(v["flat"] for v in judged)
    # one printed row per sample
    assert len([ln for ln in done.stdout.splitlines() if ln.strip().endswith("fd")]) == \
        len(doc["samples"])
    assert left_behind(doc) == []


@pytest.mark.root
@pytest.mark.netns
def test_sigterm_stops_it_and_writes_what_was_sampled(tcplab_bin: Path, tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.Popen(soak_argv(out, LINUX), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=module_env({"TCPLAB_BIN": str(tcplab_bin)}))
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no sample row within 60 s"
        first = proc.stdout.readline()
        assert first.strip().endswith("fd"), first
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 128 + signal.SIGTERM, proc.stderr.read() if proc.stderr else ""
    assert time.monotonic() - start < 30	# after the current run, not the minute
    doc = json.loads(out.read_text())
    assert doc["stopped"] == "SIGTERM" and len(doc["samples"]) >= 1
    assert left_behind(doc) == []
    assert os.path.exists(out)
