"""test_bench_stack.py - `tcplab bench stack`: every DPDK stack built against the raw memif
floor and the kernel (issue 3), in the same rounds.

Not a timed test: no figure is judged against a target here (that is the benchmark's job,
side by side in one run). What is tested is that one short round takes every figure the
ratios need on every stack, that the ratios are computed within the round, that each ratio
carries its stack's target from the one table (tcplab.stacks.EXPECTED) or none, that the
kernel ratio has none (it is the host's reach), that --backend picks stacks, that bad flags
exit 2 with one line, that --hugepages gives back every page and mount it took, and that the
stacks run on the table's topology with the floor's link.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tcplab import UsageError, stacks
from tcplab.bench import stack
from tcplab.proc import module_argv, module_env
from tcplab.topology import DPDK, LINUX, Table

FIGURES = ("rr_p50", "rr_p99", "rr_tps", "stream_bps", "crr_cps")
SHORT = ("--rounds", "1", "--duration", "0.3", "--warmup", "0.1")

pytestmark = pytest.mark.dpdk


def bench_stack(procs: Any, tcplab_bin: Path, *args: str) -> Any:
    return procs.run(module_argv("bench", "stack", *args), 300.0,
                     module_env({"TCPLAB_BIN": str(tcplab_bin)}))


def last_json(stdout: str) -> dict[str, Any]:
    start = stdout.index("{\n")
    return json.loads(stdout[start:])


@pytest.fixture
def some_stack(table: Table) -> list[str]:
    """The DPDK stacks built; skip with why where there is none."""
    have = stacks.built(table)
    if not have:
        why = "; ".join(p.why for p in stacks.survey(table) if not p.built)
        pytest.skip(f"no DPDK stack built here: {why}")
    return have


def test_the_stacks_run_on_the_floors_link(table: Table) -> None:
    """The topology is the table's, found by its link (the floor's) and its sides' kinds."""
    flag, name = stack.stack_flags(table)
    (t,) = [t for t in table.topologies if t.name == name]
    assert flag == "--topology" and t.link is not None and t.link.kind == stack.FLOOR_LINK
    assert t.allows(DPDK, DPDK), t
    no_floor = Table(table.backends, tuple(x for x in table.topologies
                                           if x.link is None or x.link.kind != stack.FLOOR_LINK))
    with pytest.raises(UsageError):
        stack.stack_flags(no_floor)


def line_of(lines: list[str], label: str) -> str:
    (line,) = [ln for ln in lines if ln.startswith(label + " ")]
    return line


def test_one_round_has_every_figure_and_ratio(some_stack: list[str], procs: Any,
                                              tcplab_bin: Path) -> None:
    done = bench_stack(procs, tcplab_bin, *SHORT, "--json")
    assert done.rc == 0, done.stderr
    # DPDK's own lines belong to a failing run's message, not to a bench's report
    assert "EAL:" not in done.stderr, done.stderr
    doc = last_json(done.stdout)
    assert doc["stacks"] == some_stack, "every DPDK stack built, in the binary's order"
    (one,) = doc["rounds"]
    assert one["floor"]["p50"] > 0 and one["floor"]["p99"] >= one["floor"]["p50"], one
    assert sorted(one["stacks"]) == sorted(some_stack)
    for who, got in [(LINUX, one[LINUX]), *one["stacks"].items()]:
        missing = [k for k in FIGURES if not got.get(k, 0) > 0]
        assert not missing, f"{who}: figures missing or zero: {missing} in {got}"
    (ratios,) = doc["ratios"]
    lines = done.stdout.splitlines()
    for s in some_stack:
        mine = one["stacks"][s]
        assert ratios[s] == pytest.approx({
            "floor": mine["rr_p50"] / one["floor"]["p50"],
            "stream": mine["stream_bps"] / one[LINUX]["stream_bps"],
            "crr": mine["crr_cps"] / one[LINUX]["crr_cps"]})
        assert doc["targets"][s] == stacks.targets(s)
        for ratio, label in (("floor", "echo_rr p50 / raw memif p50"),
                             ("stream", "stream / kernel stream (bit/s)"),
                             ("crr", "crr / kernel crr (conn/s)")):
            line = line_of(lines, f"{s} {label}")
            target = stacks.targets(s).get(ratio)
            if target is None:
                assert line.endswith("no target") and "ok" not in line.split()[-3:], line
            else:
                op = ">=" if ratio != "floor" else "<="
                assert f"target {op} {target:<5g} " in line, line
                assert line.split()[-1] in ("ok", "MISSED"), line
    (reach,) = doc["reach"]
    for s in some_stack:
        label = f"kernel echo_rr p50 / {s} echo_rr p50"
        assert reach[label] == pytest.approx(one[LINUX]["rr_p50"] / one["stacks"][s]["rr_p50"])
    assert reach["kernel rr / floor (the kernel ratio's ceiling)"] == pytest.approx(
        one[LINUX]["rr_p50"] / one["floor"]["p50"])
    for label in reach:	# the host's reach: printed, judged against nothing
        line = line_of(lines, label)
        assert "target" not in line and "MISSED" not in line, line


def test_backend_measures_that_stack_alone(some_stack: list[str], procs: Any,
                                           tcplab_bin: Path) -> None:
    done = bench_stack(procs, tcplab_bin, *SHORT, "--backend", some_stack[-1], "--json")
    assert done.rc == 0, done.stderr
    doc = last_json(done.stdout)
    assert doc["stacks"] == [some_stack[-1]] and list(doc["rounds"][0]["stacks"]) == \
        [some_stack[-1]]


@pytest.mark.parametrize("argv,needle", [
    (["--rounds", "0"], "--rounds"),
    (["--stack-opt", "mtu"], "--stack-opt mtu: expected KEY=VALUE"),
    (["--hugepages", "-1"], "--hugepages"),
    (["--nosuchflag"], "unrecognized arguments"),
    (["--backend", "nosuch"], "--backend nosuch: not a DPDK stack built here"),
    (["--backend", LINUX], f"--backend {LINUX}: not a DPDK stack built here"),
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
def test_hugepages_are_used_and_given_back(some_stack: list[str], procs: Any,
                                           tcplab_bin: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("--hugepages writes /proc/sys/vm/nr_hugepages: needs root")
    before = hugepage_state()
    done = bench_stack(procs, tcplab_bin, *SHORT, "--hugepages", "320", "--json")
    assert hugepage_state() == before, "hugepages or their mount not given back"
    if done.rc == 2 and "reserved only" in done.stderr:
        pytest.skip(f"the kernel could not reserve 320 hugepages here: {done.stderr.strip()}")
    assert done.rc == 0, done.stderr
    one = last_json(done.stdout)["rounds"][0]
    for s in some_stack:
        assert f"{s} on hugepages" in done.stdout, done.stdout
        assert one["stacks"][s]["hugepages"] == 1, one
