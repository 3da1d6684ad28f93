"""test_lwip.py - what only the lwip plug-in has: lwIP's own settings (tw_max, idle_yield_us),
its own counters (drops by reason, connections and TIME_WAIT pcbs it holds), its netif (MTU
and checksum setting as lwIP holds them) and its build (Debian's lwip source with
stack/lwip/opts/lwipopts.h). Everything a DPDK stack must do, lwip does in
test_dpdk_stack*.py like any other stack; these tests run on lwip alone (only_stack), and
skip, with the reason, where it is not built or cannot start here.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tcplab.binary import EXIT_PASS, EXIT_USAGE, Tcplab
from tcplab.stacks import LWIP

pytestmark = [pytest.mark.dpdk, pytest.mark.only_stack(LWIP)]

DURATION = "1"
WARMUP = "0.2"
OWN_COUNTERS = ("drop_rx_bad_frame", "drop_rx_input", "drop_rx_ip_proto",
                "tcp_time_wait_recycled", "tcp_active", "tcp_time_wait", "netif_mtu",
                "netif_checksum")
TW_MAX = 4


def run_memif(tcplab: Tcplab, stack: str, scenario: str, out: Path, *flags: str,
              duration: str = DURATION) -> dict[str, Any]:
    """A passing run on @stack over memif; its result."""
    run = tcplab.run(scenario, "--topology", "memif", "--duration", duration, "--warmup",
                     WARMUP, *flags, backend=stack, out=out)
    assert run.rc == EXIT_PASS, f"exit {run.rc}: {run.completed.stderr.strip()}"
    assert run.result["passed"] is True, [c for c in run.result["checks"] if not c["ok"]]
    return run.result


@pytest.mark.parametrize("scenario", ["echo_rr", "crr"])
def test_own_counters_after_a_run(started_stack: str, tcplab: Tcplab, scenario: str,
                                  tmp_path: Path) -> None:
    """lwIP 2.1 underneath; on both sides every connection closed in lwIP (TIME_WAIT is not
    open) and no frame refused as malformed."""
    doc = run_memif(tcplab, started_stack, scenario, tmp_path)
    assert doc["versions"]["stack"].startswith("lwip 2.1"), doc["versions"]
    for side, c in (("engine", doc["stack_counters"]), ("sut", doc["sut"]["stack"])):
        missing = [k for k in OWN_COUNTERS if k not in c]
        assert not missing, f"{side} counters lack {missing}: {c}"
        assert c["tcp_active"] == 0, f"{side}: lwIP still holds {c['tcp_active']} connections"
        assert c["drop_rx_bad_frame"] == 0, f"{side}: frames refused: {c}"


def test_tw_max_bounds_time_wait(started_stack: str, tcplab: Tcplab, tmp_path: Path) -> None:
    """crr closes a connection per transaction from the engine, which keeps TIME_WAIT: with
    tw_max=4 at most 4 pcbs stay and the rest are recycled; by default more stay."""
    capped = run_memif(tcplab, started_stack, "crr", tmp_path / "capped", "--stack-opt",
                       f"tw_max={TW_MAX}")["stack_counters"]
    assert capped["tcp_time_wait"] <= TW_MAX < capped["tcp_time_wait_recycled"], capped
    default = run_memif(tcplab, started_stack, "crr", tmp_path / "default")["stack_counters"]
    assert default["tcp_time_wait"] > TW_MAX, default


def test_idle_yield_us_runs(started_stack: str, tcplab: Tcplab, tmp_path: Path) -> None:
    """A yielding idle spin still carries request/response traffic."""
    doc = run_memif(tcplab, started_stack, "echo_rr", tmp_path, "--stack-opt",
                    "idle_yield_us=50")
    assert doc["metrics"]["transactions"] > 0


@pytest.mark.parametrize("opt", ["tw_max=2000000", "idle_yield_us=1000001", "tw_max=-1"])
def test_bad_own_setting_is_one_line_exit_2(started_stack: str, tcplab: Tcplab, opt: str,
                                            tmp_path: Path) -> None:
    run = tcplab.run("echo_rr", "--topology", "memif", "--duration", "0.1", "--stack-opt", opt,
                     backend=started_stack, out=tmp_path)
    assert run.rc == EXIT_USAGE
    key = opt.split("=")[0]
    lines = [ln for ln in run.completed.stderr.splitlines()
             if ln.startswith(f"tcplab run: backend {started_stack}:")]
    assert len(lines) == 1 and f"stack option {key}" in lines[0], run.completed.stderr
    assert not (tmp_path / "echo_rr.json").exists()


def test_frames_waiting_for_the_link_are_no_short_bursts(started_stack: str,
                                                         tcplab: Tcplab) -> None:
    """A memif SUT whose client never comes: lwIP's gratuitous ARP waits for the link. The
    passes that retry it are tx_burst_link_down, not tx_burst_short (which once counted
    millions a second of them, and said the ring was full on a link that was not there)."""
    with tcplab.serve("echo", "--run-id", f"tcplabnolink{os.getpid()}",
                      backend=started_stack) as sv:
        first = sv.stats()["stack"]
        c = sv.stats()["stack"]
        end = sv.quit()
    assert c["tx_burst_link_down"] > first["tx_burst_link_down"] > 0, (first, c)
    assert c["tx_burst_short"] == 0 and c["tx_bursts"] == 0 and c["tx_packets"] == 0, c
    assert end["event"] == "exit"


# (flags, netif_mtu, netif_checksum) on both sides: memif's defaults are a 9000-byte MTU with
# checksums off (memif is shared memory); mtu=1500 checksum=on is Debian's wire behaviour.
MEMIF_NETIF = {"default": ([], 9000, 0),
               "mtu1500-checksum-on": (["--stack-opt", "mtu=1500", "--stack-opt", "checksum=on"],
                                       1500, 1)}


@pytest.mark.parametrize("setting", sorted(MEMIF_NETIF))
def test_netif_holds_the_mtu_and_checksum_asked_for(started_stack: str, tcplab: Tcplab,
                                                    tmp_path: Path, setting: str) -> None:
    """The netif has the MTU and checksum setting asked for, on both sides: what lwIP holds
    is read back, not the option. (That the frames then fill the MTU: test_dpdk_stack.py.)"""
    flags, mtu, checksum = MEMIF_NETIF[setting]
    if checksum == 0 and "tcplab lwipopts" not in lwip_stack_version(tcplab, started_stack,
                                                                     tmp_path / "v"):
        pytest.skip("built with Debian's packaged lwIP: no per-netif checksum control")
    doc = run_memif(tcplab, started_stack, "stream_send", tmp_path / "run", *flags)
    for side, c in (("engine", doc["stack_counters"]), ("sut", doc["sut"]["stack"])):
        assert (c["netif_mtu"], c["netif_checksum"]) == (mtu, checksum), (side, c)


def lwip_stack_version(tcplab: Tcplab, stack: str, out: Path) -> str:
    """versions.stack of a short run: says which lwIP build this is."""
    return run_memif(tcplab, stack, "echo_rr", out, duration="0.1")["versions"]["stack"]


def test_lwip_built_from_debian_source(started_stack: str, tcplab: Tcplab, root: Path,
                                       tmp_path: Path) -> None:
    """Where ci/lwip-source.sh has the source tree (it fetched it for this build), the
    binary links lwIP built from it with stack/lwip/opts/lwipopts.h, not the packaged one."""
    fetched = subprocess.run([str(root / "ci" / "lwip-source.sh")], capture_output=True,
                             text=True)
    if fetched.returncode != 0:
        pytest.skip(f"no lwip source here: {fetched.stderr.strip()}")
    version = lwip_stack_version(tcplab, started_stack, tmp_path)
    assert "tcplab lwipopts" in version, version
    assert Path(fetched.stdout.strip()).name.removeprefix("lwip-") in version, version
