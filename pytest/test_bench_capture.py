"""test_bench_capture.py - `tcplab bench capture`: echo_rr on a DPDK stack with no capture
(A), with the capture ring on (B) and with an idle impairment stage (C), in the same rounds
(issue 16).

Not a timed test: no figure is judged against a target here (that is the benchmark's job,
side by side in one run). What is tested is the arithmetic (each ratio is the median of its
numerator over the median of A, the p50 ones carry their targets, the p99 ones none), the
rotated order, that each run is checked for what it is meant to have (a C with no stage, a B
with no ring, a failed run end the benchmark), that one short round on the default stack
passes those checks and prints the four ratios, and that bad flags exit 2 with one line.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from resultkit import stats
from tcplab import stacks
from tcplab.bench import capture
from tcplab.proc import module_argv, module_env
from tcplab.topology import LINUX, Table

LABELS = ("B/A p50 (capture ring)", "C/A p50 (impairment stage)", "B/A p99 (capture ring)",
          "C/A p99 (impairment stage)")


def bench_capture(procs: Any, tcplab_bin: Path, *args: str) -> Any:
    return procs.run(module_argv("bench", "capture", *args), 300.0,
                     module_env({"TCPLAB_BIN": str(tcplab_bin)}))


def last_json(stdout: str) -> dict[str, Any]:
    return json.loads(stdout[stdout.index("{\n"):])


def fig(p50: float, p99: float) -> dict[str, float]:
    return {"p50": p50, "p99": p99}


# three rounds where the median of the per-round ratios (C: 1.01) differs from the ratio of
# the medians (910 / 900): the figure judged is the former
CANNED = [
    {"order": ["A", "B", "C"], "A": fig(900, 2000), "B": fig(1000, 2400), "C": fig(910, 2100)},
    {"order": ["B", "C", "A"], "A": fig(800, 1000), "B": fig(880, 1500), "C": fig(700, 3000)},
    {"order": ["C", "A", "B"], "A": fig(1000, 3000), "B": fig(1500, 3300), "C": fig(1010, 1000)},
]


def test_ratios_are_medians_of_ratios_within_a_round() -> None:
    got = capture.ratios(CANNED)
    assert got == pytest.approx({"capture_p50": 1000 / 900, "impair_p50": 1.01,
                                 "capture_p99": 1.2, "impair_p99": 1.05})
    assert capture.ratios([CANNED[0]])["capture_p50"] == pytest.approx(1000 / 900)


def test_rounds_in_two_states_are_left_out() -> None:
    """A round whose runs straddle the VM's fast and slow states measures the VM."""
    slow = {"order": ["A", "B", "C"], "A": fig(700, 900), "B": fig(2100, 2500),
            "C": fig(2000, 2600)}
    rounds = CANNED[:2] + [slow]
    assert capture.one_state(rounds) == CANNED[:2]
    assert capture.ratios(rounds)["capture_p50"] == pytest.approx((1000 / 900 + 1.1) / 2)
    assert capture.one_state([slow, slow, CANNED[0]]) == [slow, slow, CANNED[0]]


def test_targets() -> None:
    targets = {n: r[4] for n, r in capture.RATIOS.items()}
    assert targets == {"capture_p50": 1.03, "impair_p50": 1.02, "capture_p99": None,
                       "impair_p99": None}


def test_verdicts() -> None:
    iv = stats.MedianInterval
    assert capture.verdict(iv(0.99, 1.03, 0.95), 1.03) == "target <= 1.03: pass"
    assert capture.verdict(iv(1.031, 1.2, 0.95), 1.03) == "target <= 1.03: over target"
    assert capture.verdict(iv(1.0, 1.04, 0.95), 1.03) == \
        "target <= 1.03: not resolved (the interval holds it)"
    assert capture.verdict(iv(5.0, 5.0, 0.95), None) == "for information"


def test_order_rotates_per_round() -> None:
    assert [capture.order(i) for i in range(4)] == [
        ["A", "B", "C"], ["B", "C", "A"], ["C", "A", "B"], ["A", "B", "C"]]


def test_seconds() -> None:
    assert capture.seconds("5") == 5.0 and capture.seconds("1s") == 1.0
    assert capture.seconds("500ms") == pytest.approx(0.5)


def canned_run(key: str) -> dict[str, Any]:
    """A passing result of config @key as the binary writes it (the fields checked)."""
    stage = {"impair_tx_dropped": 0, "impair_rx_dropped": 0, "impair_tx_delayed": 0}
    ring = key == "B"
    return {"passed": True, "checks": [{"name": "errors == 0", "ok": True}],
            "stack_counters": {"rx_packets": 5, **(stage if key == "C" else {})},
            "sut": {"stack": {"rx_packets": 5, **(stage if key == "C" else {})}},
            "captures": {"mode": "on-failure" if ring else "never", "engine": None,
                         "sut": None,
                         "not_kept": {s: capture.RING_ON if ring else "--pcap never"
                                      for s in ("engine", "sut")}}}


def test_each_run_is_checked_for_what_it_is_meant_to_have() -> None:
    for key in capture.CONFIGS:
        capture.check_run(key, canned_run(key))
    no_stage = canned_run("C")
    del no_stage["sut"]["stack"]["impair_rx_dropped"]
    with pytest.raises(RuntimeError, match="sut side's stage was not there"):
        capture.check_run("C", no_stage)
    dropped = canned_run("C")
    dropped["stack_counters"]["impair_tx_dropped"] = 3
    with pytest.raises(RuntimeError, match="engine side's stage"):
        capture.check_run("C", dropped)
    with pytest.raises(RuntimeError, match="run A .* has impairment counters"):
        capture.check_run("A", {**canned_run("C"), "captures": canned_run("A")["captures"]})
    ring_off = canned_run("B")
    ring_off["captures"]["not_kept"]["engine"] = "--pcap never"
    with pytest.raises(RuntimeError, match="capture ring was not on both sides"):
        capture.check_run("B", ring_off)
    with pytest.raises(RuntimeError, match="captures.mode is 'never', not 'on-failure'"):
        capture.check_run("B", canned_run("A"))
    failed = canned_run("A")
    failed.update(passed=False, checks=[{"name": "p99 < 50ms", "ok": False}])
    with pytest.raises(RuntimeError, match="run A failed its checks: .*p99 < 50ms"):
        capture.check_run("A", failed)


@pytest.mark.dpdk
def test_one_round_on_the_default_stack(table: Table, procs: Any, tcplab_bin: Path) -> None:
    default = stacks.default_stack(table, tcplab_bin)
    if default is None:
        pytest.skip("no DPDK stack built here")
    done = bench_capture(procs, tcplab_bin, "--rounds", "1", "--duration", "1s", "--json")
    assert done.rc == 0, done.stderr
    assert "EAL:" not in done.stderr, done.stderr
    assert "stage check passed" in done.stdout, done.stdout
    doc = last_json(done.stdout)
    assert doc["backend"] == default and doc["impair"] == "loss=0%"
    (one,) = doc["rounds"]
    assert one["order"] == ["A", "B", "C"]
    for key in ("A", "B", "C"):
        assert 0 < one[key]["p50"] <= one[key]["p99"], one
    assert doc["ratios"] == pytest.approx(capture.ratios(doc["rounds"]))
    assert doc["targets"] == {"capture_p50": 1.03, "impair_p50": 1.02}
    lines = [ln.strip() for ln in done.stdout.splitlines()]
    for label, name in zip(LABELS, capture.RATIOS):
        (line,) = [ln for ln in lines if ln.startswith(label + " ")]
        assert f"{doc['ratios'][name]:.3f}" in line, line
        if name.endswith("p50"):
            assert line.endswith(("pass", "over target", "(the interval holds it)")), line
        else:
            assert line.endswith("for information"), line


@pytest.mark.parametrize("argv,needle", [
    (["--rounds", "0"], "--rounds must be >= 1"),
    (["--duration", "0"], "--duration > 0"),
    (["--duration", "5x"], "'5x': expected seconds"),
    (["--nosuchflag"], "unrecognized arguments: --nosuchflag"),
    (["--backend", "nosuch"], "--backend nosuch: not a DPDK stack built here"),
    (["--backend", LINUX], f"--backend {LINUX}: not a DPDK stack built here"),
])
def test_bad_flag_exit_2(procs: Any, tcplab_bin: Path, argv: list[str], needle: str) -> None:
    done = bench_capture(procs, tcplab_bin, *argv)
    assert done.rc == 2, done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
