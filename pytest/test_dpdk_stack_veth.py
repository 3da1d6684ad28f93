"""`tcplab run --topology veth`: the two-host simulation. Engine and SUT each in a namespace
of the run's own, joined by a veth pair; a DPDK side takes its end with DPDK's af_packet, a
kernel side gets an address on it. For each DPDK stack (conftest.py, dpdk_stack) every
transport scenario passes stack to stack, and the request/response and stream ones pass
stack to kernel and kernel to stack; kernel to kernel passes them too. The namespaces go away,
the default sides are the default stack's, bad combinations exit 2."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tcplab import namespaces, stacks
from tcplab.topology import LINUX, Table

from conftest import assert_run_refused

SCENARIOS = ["echo_rr", "echo_rr_open", "rr_many", "stream_send", "stream_recv", "crr"]
MIXED = ("echo_rr", "stream_send", "crr")
PAIRS = ("stack-stack", "stack-kernel", "kernel-stack")
CASES = [(s, "stack-stack") for s in SCENARIOS] + \
    [(s, p) for s in MIXED for p in PAIRS if p != "stack-stack"]

pytestmark = [pytest.mark.root, pytest.mark.dpdk, pytest.mark.netns]


def run_veth(tcplab_bin: Path, out: Path, scenario: str, engine: str, sut: str) -> \
        dict[str, Any]:
    """A passing veth run of @engine against @sut that leaves no namespace; its result."""
    before = namespaces.listed("tcplab-r")
    done = subprocess.run([str(tcplab_bin), "run", scenario, "--topology", "veth", "--backend",
                           engine, "--sut-backend", sut, "--duration", "1", "--warmup", "0.3",
                           "--quiet", "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((out / f"{scenario}.json").read_text())
    assert (doc["backend"], doc["sut_backend"], doc["topology"]) == (engine, sut, "veth")
    assert doc["passed"] and doc["metrics"]["errors"] == 0
    assert namespaces.listed("tcplab-r") <= before, "the run's namespaces are left behind"
    return doc


@pytest.mark.parametrize("scenario,pair", CASES)
def test_scenario_over_veth(dpdk_stack: str, tcplab_bin: Path, tmp_path: Path, scenario: str,
                            pair: str) -> None:
    engine, sut = (dpdk_stack if side == "stack" else LINUX for side in pair.split("-"))
    doc = run_veth(tcplab_bin, tmp_path, scenario, engine, sut)
    if engine == dpdk_stack:
        c = doc["stack_counters"]
        assert c["mbufs_in_use"] <= c["mbufs_in_use_start"] and c["sockets_open"] == 0, c


@pytest.mark.parametrize("scenario", MIXED)
def test_kernel_to_kernel_over_veth(tcplab_bin: Path, tmp_path: Path, scenario: str) -> None:
    run_veth(tcplab_bin, tmp_path, scenario, LINUX, LINUX)


def test_default_sides_are_the_default_stack(tcplab_bin: Path, table: Table,
                                             tmp_path: Path) -> None:
    default = stacks.default_stack(table, tcplab_bin)
    if default is None:
        pytest.skip("dpdk: no DPDK stack in this binary")
    done = subprocess.run([str(tcplab_bin), "run", "echo_rr", "--topology", "veth",
                           "--duration", "0.5", "--warmup", "0.1", "--quiet", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "echo_rr.json").read_text())
    assert (doc["backend"], doc["sut_backend"]) == (default, default)


@pytest.mark.parametrize("flags,message", [
    (["--topology", "veth", "--peer", "127.0.0.1:1"], "--topology veth runs both sides here"),
    (["--topology", "veth", "--sut-backend", "nosuch"], "unknown backend 'nosuch'"),
    (["--topology", "loopback", "--sut-backend", "STACK"], "--sut-backend is for --topology"),
])
def test_bad_veth_combinations_exit_2(dpdk_stack: str, tcplab_bin: Path, tmp_path: Path,
                                      flags: list[str], message: str) -> None:
    """(STACK: the DPDK stack of the test)"""
    assert_run_refused(tcplab_bin, tmp_path, dpdk_stack, flags, message, "tcplab-r")


def test_a_stack_refuses_veth_outside_a_run_namespace(dpdk_stack: str,
                                                      tcplab_bin: Path) -> None:
    """Taking a kernel interface is only done inside a namespace the run made."""
    done = subprocess.run([str(tcplab_bin), "serve", "echo", "--backend", dpdk_stack,
                           "--topology", "veth"], capture_output=True, text=True,
                          timeout=60, input="")
    assert done.returncode == 2
    assert "refusing to take a kernel interface outside a namespace the run created" \
        in done.stderr, done.stderr
