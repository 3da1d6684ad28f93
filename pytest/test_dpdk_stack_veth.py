"""`tcplab run --topology veth`: the two-host simulation. Engine and SUT each in a namespace
of the run's own, joined by a veth pair; an lwip side takes its end with DPDK's af_packet, a
kernel side gets an address on it. Every transport scenario passes lwip to lwip, the mixed
directions and kernel to kernel pass the request/response and stream ones, the namespaces go
away, bad combinations exit 2."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tcplab import namespaces, topology

SCENARIOS = ["echo_rr", "echo_rr_open", "rr_many", "stream_send", "stream_recv", "crr"]
PAIRS = {"lwip-lwip": ("lwip", "lwip"), "lwip-kernel": ("lwip", "kernel"),
         "kernel-lwip": ("kernel", "lwip"), "kernel-kernel": ("kernel", "kernel")}
CASES = [(s, "lwip-lwip") for s in SCENARIOS] + \
    [(s, p) for s in ("echo_rr", "stream_send", "crr") for p in PAIRS if p != "lwip-lwip"]

pytestmark = [pytest.mark.root, pytest.mark.dpdk, pytest.mark.netns,
              pytest.mark.skipif("lwip" not in topology.backend_names(),
                                 reason="dpdk: the lwip backend is not built into this binary")]


@pytest.mark.parametrize("scenario,pair", CASES)
def test_scenario_over_veth(tcplab_bin: Path, tmp_path: Path, scenario: str, pair: str) -> None:
    engine, sut = PAIRS[pair]
    before = namespaces.listed("tcplab-r")
    done = subprocess.run([str(tcplab_bin), "run", scenario, "--topology", "veth", "--backend",
                           engine, "--sut-backend", sut, "--duration", "1", "--warmup", "0.3",
                           "--quiet", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((tmp_path / f"{scenario}.json").read_text())
    assert (doc["backend"], doc["sut_backend"], doc["topology"]) == (engine, sut, "veth")
    assert doc["passed"] and doc["metrics"]["errors"] == 0
    if engine == "lwip":
        c = doc["stack_counters"]
        assert c["mbufs_in_use"] <= c["mbufs_in_use_start"] and c["tcp_active"] == 0, c
    assert namespaces.listed("tcplab-r") <= before, "the run's namespaces are left behind"


def test_default_sides_are_lwip(tcplab_bin: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(tcplab_bin), "run", "echo_rr", "--topology", "veth",
                           "--duration", "0.5", "--warmup", "0.1", "--quiet", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "echo_rr.json").read_text())
    assert (doc["backend"], doc["sut_backend"]) == ("lwip", "lwip")


@pytest.mark.parametrize("flags,message", [
    (["--topology", "veth", "--peer", "127.0.0.1:1"], "--topology veth runs both sides here"),
    (["--topology", "veth", "--sut-backend", "nosuch"], "unknown backend 'nosuch'"),
    (["--topology", "loopback", "--sut-backend", "lwip"], "--sut-backend is for --topology"),
])
def test_bad_veth_combinations_exit_2(tcplab_bin: Path, tmp_path: Path, flags: list[str],
                                      message: str) -> None:
    before = namespaces.listed("tcplab-r")
    done = subprocess.run([str(tcplab_bin), "run", "echo_rr", "--out", str(tmp_path), *flags],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "echo_rr.json").exists()
    assert namespaces.listed("tcplab-r") == before


def test_lwip_refuses_veth_outside_a_run_namespace(tcplab_bin: Path) -> None:
    """Taking a kernel interface is only done inside a namespace the run made."""
    done = subprocess.run([str(tcplab_bin), "serve", "echo", "--backend", "lwip",
                           "--topology", "veth"], capture_output=True, text=True,
                          timeout=60, input="")
    assert done.returncode == 2
    assert "refusing to take a kernel interface outside a namespace the run created" \
        in done.stderr, done.stderr
