"""`tcplab run NAME` with no --backend: the stack under test (lwip over memif) where it is
built and DPDK starts, said on stderr; the kernel with a one-line reason where it cannot."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest


def run(tcplab_bin: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tcplab_bin), "run", "echo_rr", "--duration", "0.5", "--warmup",
                           "0.1", "--quiet", "--out", str(out), *flags], capture_output=True,
                          text=True, timeout=120)


def lwip_built(tcplab_bin: Path) -> bool:
    listed = subprocess.run([str(tcplab_bin), "list", "--json"], capture_output=True,
                            text=True, check=True).stdout
    return "lwip" in [b["name"] for b in json.loads(listed)["backends"]]


@pytest.mark.root
@pytest.mark.dpdk
def test_default_is_lwip_over_memif(tcplab_bin: Path, tmp_path: Path) -> None:
    if not lwip_built(tcplab_bin):
        pytest.skip("dpdk: the lwip backend is not built into this binary")
    done = run(tcplab_bin, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "tcplab run: backend lwip, topology memif (the default" in done.stderr
    doc = json.loads((tmp_path / "echo_rr.json").read_text())
    assert (doc["backend"], doc["topology"], doc["passed"]) == ("lwip", "memif", True)


@pytest.mark.root
@pytest.mark.dpdk
def test_default_falls_back_to_the_kernel_with_a_reason(tcplab_bin: Path,
                                                        tmp_path: Path) -> None:
    if not lwip_built(tcplab_bin):
        pytest.skip("dpdk: the lwip backend is not built into this binary")
    done = run(tcplab_bin, tmp_path, "--stack-opt", "eal=--no-such-eal-flag")
    assert done.returncode == 0, done.stderr
    assert ("tcplab run: lwip could not start here (see above): falling back to backend "
            "kernel, topology loopback\n") in done.stderr
    doc = json.loads((tmp_path / "echo_rr.json").read_text())
    assert (doc["backend"], doc["topology"], doc["passed"]) == ("kernel", "loopback", True)


def test_loopback_topology_means_the_kernel(tcplab_bin: Path, tmp_path: Path) -> None:
    done = run(tcplab_bin, tmp_path, "--topology", "loopback")
    assert done.returncode == 0, done.stderr
    assert "backend lwip" not in done.stderr
    assert json.loads((tmp_path / "echo_rr.json").read_text())["backend"] == "kernel"


def test_explicit_backend_never_falls_back(tcplab_bin: Path, tmp_path: Path) -> None:
    if not lwip_built(tcplab_bin):
        pytest.skip("dpdk: the lwip backend is not built into this binary")
    done = run(tcplab_bin, tmp_path, "--backend", "lwip", "--stack-opt", "eal=--no-such-eal-flag")
    assert done.returncode == 2
    assert "falling back" not in done.stderr
    assert not (tmp_path / "echo_rr.json").exists()


@pytest.mark.dpdk
@pytest.mark.parametrize("opt,needle", [("mtu=9001", "stack option mtu"),
                                        ("nosuchkey=1", "stack option 'nosuchkey=1'")])
def test_default_with_a_bad_stack_option_is_exit_2_not_a_fallback(
        tcplab_bin: Path, tmp_path: Path, opt: str, needle: str) -> None:
    """A setting the stack cannot take is the user's mistake: one line naming it, exit 2,
    nothing started, rather than a kernel run that ignores it."""
    if not lwip_built(tcplab_bin):
        pytest.skip("dpdk: the lwip backend is not built into this binary")
    done = run(tcplab_bin, tmp_path, "--stack-opt", opt)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcplab run: backend lwip: ") and \
        needle in lines[0], lines
    assert not (tmp_path / "echo_rr.json").exists()
