"""`tcplab run NAME` with no --backend: the stack under test (meson's default_stack where it is
built, else the first DPDK stack listed: tcplab.stacks.default_stack) over memif where DPDK
starts, said on stderr; the kernel with a one-line reason where it cannot. A backend named
on the command line never falls back, whichever DPDK stack it is."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tcplab import stacks
from tcplab.topology import LINUX, Table


def run(tcplab_bin: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(tcplab_bin), "run", "echo_rr", "--duration", "0.5", "--warmup",
                           "0.1", "--quiet", "--out", str(out), *flags], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def default(table: Table, tcplab_bin: Path) -> str:
    """The DPDK stack a run takes when none is named; skip where the binary has none."""
    name = stacks.default_stack(table, tcplab_bin)
    if name is None:
        pytest.skip("dpdk: no DPDK stack in this binary")
    return name


@pytest.mark.root
@pytest.mark.dpdk
def test_default_is_the_stack_over_memif(default: str, tcplab_bin: Path,
                                         tmp_path: Path) -> None:
    done = run(tcplab_bin, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"tcplab run: backend {default}, topology memif (the default" in done.stderr
    doc = json.loads((tmp_path / "echo_rr.json").read_text())
    assert (doc["backend"], doc["topology"], doc["passed"]) == (default, "memif", True)


@pytest.mark.root
@pytest.mark.dpdk
def test_default_falls_back_to_the_kernel_with_a_reason(default: str, tcplab_bin: Path,
                                                        tmp_path: Path) -> None:
    done = run(tcplab_bin, tmp_path, "--stack-opt", "eal=--no-such-eal-flag")
    assert done.returncode == 0, done.stderr
    assert (f"tcplab run: {default} could not start here (see above): falling back to backend "
            f"{LINUX}, topology loopback\n") in done.stderr
    doc = json.loads((tmp_path / "echo_rr.json").read_text())
    assert (doc["backend"], doc["topology"], doc["passed"]) == (LINUX, "loopback", True)


def test_loopback_topology_means_the_kernel(tcplab_bin: Path, tmp_path: Path) -> None:
    done = run(tcplab_bin, tmp_path, "--topology", "loopback")
    assert done.returncode == 0, done.stderr
    assert "topology memif" not in done.stderr
    assert json.loads((tmp_path / "echo_rr.json").read_text())["backend"] == LINUX


@pytest.mark.dpdk
def test_explicit_backend_never_falls_back(dpdk_stack: str, tcplab_bin: Path,
                                           tmp_path: Path) -> None:
    done = run(tcplab_bin, tmp_path, "--backend", dpdk_stack, "--stack-opt",
               "eal=--no-such-eal-flag")
    assert done.returncode == 2
    assert "falling back" not in done.stderr
    assert not (tmp_path / "echo_rr.json").exists()


@pytest.mark.dpdk
@pytest.mark.parametrize("opt,needle", [("mtu=9001", "stack option mtu"),
                                        ("nosuchkey=1", "stack option 'nosuchkey=1'")])
def test_default_with_a_bad_stack_option_is_exit_2_not_a_fallback(
        default: str, tcplab_bin: Path, tmp_path: Path, opt: str, needle: str) -> None:
    """A setting the stack cannot take is the user's mistake: one line naming it, exit 2,
    nothing started, rather than a kernel run that ignores it."""
    done = run(tcplab_bin, tmp_path, "--stack-opt", opt)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tcplab run: backend {default}: ") and \
        needle in lines[0], lines
    assert not (tmp_path / "echo_rr.json").exists()
