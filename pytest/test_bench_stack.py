"""test_bench_stack.py - `tcplab bench stack`, the lwIP-on-DPDK benchmark of issue 3.

Not a timed test: no figure is judged against a target here (that is the benchmark's job,
side by side in one run). What is tested is that one short round takes every figure the
ratios need, that the ratios are computed within the round, that the floor ratio's target is
2 and the kernel ratio has none (it is the host's reach), that bad flags exit 2 with one
line, and that --hugepages gives back every page and mount it took.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tcplab.proc import module_argv, module_env

FIGURES = ("floor_p50", "lwip_rr_p50", "kernel_rr_p50", "lwip_stream_bps",
           "kernel_stream_bps", "lwip_crr_cps", "kernel_crr_cps")
SHORT = ("--rounds", "1", "--duration", "0.3", "--warmup", "0.1")

pytestmark = pytest.mark.dpdk


def bench_stack(procs: Any, tcplab_bin: Path, *args: str) -> Any:
    return procs.run(module_argv("bench", "stack", *args), 180.0,
                     module_env({"TCPLAB_BIN": str(tcplab_bin)}))


def last_json(stdout: str) -> dict[str, Any]:
    start = stdout.index("{\n")
    return json.loads(stdout[start:])


@pytest.fixture
def lwip_built(listing: Any) -> None:
    if "lwip" not in listing.backends:
        pytest.skip(f"lwip backend not built (backends: {listing.backends})")


def test_one_round_has_every_figure_and_ratio(lwip_built: None, procs: Any,
                                              tcplab_bin: Path) -> None:
    done = bench_stack(procs, tcplab_bin, *SHORT, "--json")
    assert done.rc == 0, done.stderr
    # DPDK's own lines belong to a failing run's message, not to a bench's report
    assert "EAL:" not in done.stderr, done.stderr
    doc = last_json(done.stdout)
    (one,) = doc["rounds"]
    missing = [k for k in FIGURES if not one.get(k, 0) > 0]
    assert not missing, f"figures missing or zero: {missing} in {one}"
    (ratios,) = doc["ratios"]
    assert ratios["lwip echo_rr p50 / raw memif p50"] == pytest.approx(
        one["lwip_rr_p50"] / one["floor_p50"])
    assert ratios["lwip stream / kernel stream (bit/s)"] == pytest.approx(
        one["lwip_stream_bps"] / one["kernel_stream_bps"])
    assert ratios["lwip crr / kernel crr (conn/s)"] == pytest.approx(
        one["lwip_crr_cps"] / one["kernel_crr_cps"])
    lines = done.stdout.splitlines()
    for label in ratios:
        (line,) = [ln for ln in lines if ln.startswith(label)]
        assert " target " in line, line
    (floor_line,) = [ln for ln in lines if ln.startswith("lwip echo_rr p50 / raw memif p50")]
    assert "target <= 2 " in floor_line, floor_line
    (reach,) = doc["reach"]
    assert reach["kernel echo_rr p50 / lwip echo_rr p50"] == pytest.approx(
        one["kernel_rr_p50"] / one["lwip_rr_p50"])
    assert reach["kernel rr / floor (the kernel ratio's ceiling)"] == pytest.approx(
        one["kernel_rr_p50"] / one["floor_p50"])
    for label in reach:	# the host's reach: printed, judged against nothing
        (line,) = [ln for ln in lines if ln.startswith(label)]
        assert "target" not in line and "MISSED" not in line, line


@pytest.mark.parametrize("argv,needle", [
    (["--rounds", "0"], "--rounds"),
    (["--stack-opt", "mtu"], "--stack-opt mtu: expected KEY=VALUE"),
    (["--hugepages", "-1"], "--hugepages"),
    (["--nosuchflag"], "unrecognized arguments"),
])
def test_bad_flag_exit_2(procs: Any, tcplab_bin: Path, argv: list[str], needle: str) -> None:
    done = bench_stack(procs, tcplab_bin, *argv)
    assert done.rc == 2, done.stderr
    assert needle in done.stderr and "Traceback" not in done.stderr


def hugepage_state() -> tuple[int, list[str]]:
    nr = int(Path("/proc/sys/vm/nr_hugepages").read_text())
    with open("/proc/mounts") as f:
        mounts = [ln.split()[1] for ln in f if " hugetlbfs " in ln and "/run/tcplab/" in ln]
    return nr, mounts


@pytest.mark.root
def test_hugepages_are_used_and_given_back(lwip_built: None, procs: Any,
                                           tcplab_bin: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("--hugepages writes /proc/sys/vm/nr_hugepages: needs root")
    before = hugepage_state()
    done = bench_stack(procs, tcplab_bin, *SHORT, "--hugepages", "320", "--json")
    assert hugepage_state() == before, "hugepages or their mount not given back"
    if done.rc == 2 and "reserved only" in done.stderr:
        pytest.skip(f"the kernel could not reserve 320 hugepages here: {done.stderr.strip()}")
    assert done.rc == 0, done.stderr
    assert "lwip on hugepages" in done.stdout, done.stdout
    assert last_json(done.stdout)["rounds"][0]["lwip_hugepages"] == 1
