"""test_impair.py - the impairment stage of the DPDK layer (stack/dpdk/impair*.c) in real
runs, on every DPDK stack over memif (its decisions frame by frame are the unit test's,
stack/dpdk/test/test_impair.c).

- A short echo_rr under `--impair` with parts for each side: the counters of the directions
  named are in the result (engine: stack_counters; SUT: sut.stack), non-zero, and add up
  (every frame the SUT received was dropped or went down the delay line; memif itself loses
  nothing); the directions not named have none; the result's params carry the spec and the
  result passes the schema.
- 100% loss: the run ends at its deadline with a failed check and a named error, nothing
  left running or behind, mbufs back at their starting level on both sides.
- Bad specs, from the flag, the scenario directive and --stack-opt: exit 2 with one line.
- A kernel side, through netem (harness/cli/netem.c): where the kernel has netem, the
  counters of each direction named add up, and the share of frames lost or duplicated
  agrees with the stage's on a DPDK stack (two proportions, 99.9 %); where it has none
  (CONFIG_NET_SCH_NETEM unset), the run is refused in one line and leaves nothing. What
  netem has no match for, and a topology with no link end for it, are refused.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from test_dpdk_stack import start_run
from tcplab.binary import EXIT_FAIL, EXIT_PASS, EXIT_USAGE
from tcplab.leftovers import run_files
from tcplab.proc import ProcessManager, children
from tcplab.topology import LINUX, SOCKETS, Table

DURATION_S = 2
# the engine sends each frame twice now and then; the SUT loses some it receives and
# delays the rest by 50 us +- 10 us
SPEC = "engine:tx:dup=10%;sut:rx:loss=1%,delay=50us~10us;seed=5"
DEADLINE_SLACK_S = 30.0


def impair_counters(c: dict[str, int], direction: str) -> dict[str, int]:
    return {k: v for k, v in c.items() if k.startswith(f"impair_{direction}_")}


def assert_mbufs_back(side: str, c: dict[str, int]) -> None:
    assert c["mbufs_in_use"] <= c["mbufs_in_use_start"], (
        f"{side}: mbufs in use: {c['mbufs_in_use']} after the run, "
        f"{c['mbufs_in_use_start']} before")


@pytest.mark.dpdk
def test_counters_are_in_the_result_and_add_up(
        started_stack: str, procs: ProcessManager, tcplab_bin: Path, tmp_path: Path,
        result_schema: jsonschema.Draft202012Validator) -> None:
    run = start_run(procs, tcplab_bin, started_stack, "echo_rr", tmp_path, "--duration",
                    str(DURATION_S), "--warmup", "0", "--impair", SPEC)
    rc = run.finish()
    # a lost frame stalls echo_rr until the stack retransmits: its p99 check may fail
    assert rc in (EXIT_PASS, EXIT_FAIL), f"exit {rc}: {run.proc.stderr_text().strip()}"
    doc: dict[str, Any] = run.result()
    result_schema.validate(doc)
    assert doc["params"]["impair"] == SPEC, doc["params"]
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["data_integrity"]["ok"] and checks["sut_data_integrity"]["ok"], checks
    engine, sut = doc["stack_counters"], doc["sut"]["stack"]

    assert impair_counters(engine, "rx") == {} and impair_counters(sut, "tx") == {}, \
        "counters of a direction the spec does not name"
    assert engine["impair_tx_duplicated"] > 0, impair_counters(engine, "tx")
    assert engine["impair_tx_dropped"] == 0 and engine["impair_tx_delayed"] == 0
    rx = impair_counters(sut, "rx")
    assert rx["impair_rx_dropped"] > 0, rx
    assert rx["impair_rx_delayed"] > 0, rx
    # every frame the SUT's port received went through its stage: lost, or down the line
    assert (rx["impair_rx_dropped"] + rx["impair_rx_delayed"] + rx["impair_rx_line_dropped"]
            == sut["rx_packets"]), (rx, sut["rx_packets"])
    # memif loses nothing: what the engine's ring took (duplicates included) the SUT got;
    # the engine's counters are read last, after the SUT's
    assert 0 < sut["rx_packets"] <= engine["tx_packets"], (sut["rx_packets"],
                                                           engine["tx_packets"])
    for kind in ("reordered", "corrupted", "rate_queued", "rate_dropped", "teardown"):
        assert engine[f"impair_tx_{kind}"] == 0 and sut[f"impair_rx_{kind}"] == 0, kind
    assert_mbufs_back("engine", engine)
    assert_mbufs_back("SUT", sut)
    assert run_files(run.run_id) == []


@pytest.mark.dpdk
def test_total_loss_ends_at_the_deadline(started_stack: str, procs: ProcessManager,
                                         tcplab_bin: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    run = start_run(procs, tcplab_bin, started_stack, "echo_rr", tmp_path, "--duration",
                    str(DURATION_S), "--warmup", "0", "--impair", "loss=100%")
    engine = run.proc.pid
    rc = run.finish(timeout=DURATION_S + DEADLINE_SLACK_S)
    took = time.monotonic() - started
    err = run.proc.stderr_text()
    assert rc == EXIT_FAIL, f"exit {rc}: {err}"
    assert took < DURATION_S + DEADLINE_SLACK_S
    doc = run.result()
    m = doc["metrics"]
    assert m["transactions"] == 0 and m["errors"] > 0, m
    assert m["errors_by_reason"], m
    assert not doc["passed"]
    engine_c, sut_c = doc["stack_counters"], doc["sut"]["stack"]
    assert engine_c["impair_tx_dropped"] > 0 and engine_c["tx_packets"] == 0, engine_c
    assert sut_c["rx_packets"] == 0, sut_c
    assert_mbufs_back("engine", engine_c)
    assert_mbufs_back("SUT", sut_c)
    assert children(engine) == []
    assert run_files(run.run_id) == []


def refused(argv: list[str]) -> str:
    """@argv's stderr, after checking it exits 2 with one line."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


@pytest.mark.parametrize("spec,message", [
    ("loss=1", "tcplab run: --impair: 'loss=1': expected P% from 0% to 100%"),
    ("tx:loss=1%;tx:loss=2%", "tcplab run: --impair: 'loss=2%': given twice"),
    ("delay=5ms~", "tcplab run: --impair: 'delay=5ms~': expected delay=TIME[~TIME]"),
    ("side:loss=1%", "tcplab run: --impair: 'side:loss=1%': unknown kind"),
])
def test_bad_flag_is_one_line_exit_2(tcplab_bin: Path, tmp_path: Path, spec: str,
                                     message: str) -> None:
    err = refused([str(tcplab_bin), "run", "echo_rr", "--out", str(tmp_path), "--impair",
                   spec])
    assert err.startswith(message), err
    assert not (tmp_path / "echo_rr.json").exists()


def test_bad_directive_is_file_line(tcplab_bin: Path, tmp_path: Path) -> None:
    scn = tmp_path / "lossy.scn"
    scn.write_text("program echo\nimpair sut:rx:loss=1%,lose=2%\nclient {\n  connect\n}\n")
    err = refused([str(tcplab_bin), "run", str(scn), "--out", str(tmp_path)])
    assert err.startswith(f"{scn}:2: impair: 'lose=2%': unknown kind"), err


# ---- a kernel side: netem (harness/cli/netem.c) ----

def netem_missing() -> str | None:
    """None when this kernel has netem; else tc's reason (a veth end in a namespace of our
    own, removed at once)."""
    ns = f"tcplab-netem-probe-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "name", "probe0", "type", "veth",
                        "peer", "name", "probe1"], check=True)
        done = subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", "probe0", "root",
                               "netem"],
                              capture_output=True, text=True)
        return None if done.returncode == 0 else done.stderr.strip()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


def kernel_run(tcplab_bin: Path, table: Table, out: Path, spec: str, scenario: str = "echo_rr",
               seconds: float = 1.0) -> subprocess.CompletedProcess[str]:
    """@scenario on the kernel on both sides, each in its namespace (the topology that joins
    two sockets sides with a link, from the table), under @spec."""
    topo = table.peer_topology(SOCKETS)
    return subprocess.run([str(tcplab_bin), "run", scenario, "--backend", LINUX, "--topology",
                           topo.name, "--out", str(out), "--quiet", "--duration", str(seconds),
                           "--warmup", "0", "--impair", spec],
                          capture_output=True, text=True, timeout=120)


def our_namespaces() -> list[str]:
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [ln.split()[0] for ln in done.stdout.splitlines() if ln.startswith("tcplab-r")]


@pytest.mark.netns
def test_a_kernel_side_is_impaired_with_netem(tcplab_bin: Path, table: Table,
                                              tmp_path: Path) -> None:
    """Where the kernel has netem, each direction named gets it and its counters add up;
    where it has none, the run is refused in one line and leaves nothing."""
    missing = netem_missing()
    done = kernel_run(tcplab_bin, table, tmp_path, "engine:tx:loss=5%;sut:rx:dup=5%")
    if missing is not None:
        assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr)
        assert done.stderr == ("tcplab run: impair: the engine side is kernel sockets, "
                               "impaired with netem, and this kernel has no netem (sch_netem;"
                               " CONFIG_NET_SCH_NETEM)\n"), done.stderr
        assert not (tmp_path / "echo_rr.json").exists()
        assert our_namespaces() == []
        return
    assert done.returncode in (EXIT_PASS, EXIT_FAIL), (done.returncode, done.stderr)
    netem = json.loads((tmp_path / "echo_rr.json").read_text())["netem"]
    assert set(netem) == {"seeded", "engine", "sut"}, netem
    tx, rx = netem["engine"]["tx"], netem["sut"]["rx"]
    assert "rx" not in netem["engine"] and "tx" not in netem["sut"], netem
    assert tx["netem"] == "limit 4096 loss random 5%" and tx["dropped"] > 0, tx
    assert tx["sent"] + tx["dropped"] + tx["queued"] == tx["offered"] + tx["duplicated"], tx
    assert tx["duplicated"] == 0, tx
    assert rx["duplicated"] > 0 and rx["dropped"] == 0, rx
    assert our_namespaces() == []


@pytest.mark.netns
@pytest.mark.parametrize("spec,message", [
    ("sut:reorder=1%/3", "tcplab run: impair: the sut side's tx (kernel sockets, through "
     "netem): reorder=P%/N has no netem match"),
    ("engine:rx:rate=100fps", "tcplab run: impair: the engine side's rx (kernel sockets, "
     "through netem): rate=Nfps has no netem match"),
    ("rate=10mbit/3000", "tcplab run: impair: the engine side's tx (kernel sockets, through "
     "netem): rate=N/BYTES has no netem match"),
])
def test_what_netem_cannot_do_is_refused(tcplab_bin: Path, table: Table, tmp_path: Path,
                                         spec: str, message: str) -> None:
    done = kernel_run(tcplab_bin, table, tmp_path, spec)
    assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(message), done.stderr
    assert not (tmp_path / "echo_rr.json").exists()


def test_a_kernel_side_needs_a_link_end(tcplab_bin: Path, table: Table,
                                        tmp_path: Path) -> None:
    """The kernel's own topology (loopback, no namespaces) has no link for netem."""
    err = refused([str(tcplab_bin), "run", "echo_rr", "--backend", LINUX, "--out",
                   str(tmp_path), "--impair", "loss=1%"])
    assert err.startswith("tcplab run: impair: the engine side is kernel sockets, impaired "
                          "with netem on its own link end, and topology "), err
    assert f"(topologies that do: {table.peer_topology(SOCKETS).name})" in err, err
    assert not (tmp_path / "echo_rr.json").exists()


def binomial_z(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two proportions' z statistic (pooled)."""
    p = (k1 + k2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return 0.0 if se == 0 else (k1 / n1 - k2 / n2) / se


Z_999 = 3.29	# two-sided 99.9 %: a correct pair fails one run in a thousand
AGREE_SECONDS = 5.0


@pytest.mark.dpdk
@pytest.mark.netns
@pytest.mark.parametrize("kind", ["loss", "dup"])
def test_netem_agrees_with_the_stage(kind: str, started_stack: str, procs: ProcessManager,
                                     tcplab_bin: Path, table: Table, tmp_path: Path) -> None:
    """The same spec on the engine's tx through netem (the kernel) and through the stage (a
    DPDK stack on memif): the share of frames lost, or duplicated, agrees within the two
    proportions' 99.9 % interval, and each is within its own of the spec's 2 %."""
    missing = netem_missing()
    if missing is not None:
        pytest.skip(f"this kernel has no netem: tc says {missing!r}")
    spec = f"engine:tx:{kind}=2%;seed=11"
    done = kernel_run(tcplab_bin, table, tmp_path / "kernel", spec, "stream_send",
                      AGREE_SECONDS)
    assert done.returncode == EXIT_PASS, (done.returncode, done.stderr)
    tx = json.loads((tmp_path / "kernel" / "stream_send.json").read_text())["netem"]["engine"]["tx"]
    k_netem = tx["dropped" if kind == "loss" else "duplicated"]
    n_netem = tx["offered"]
    run = start_run(procs, tcplab_bin, started_stack, "stream_send", tmp_path / "stage",
                    "--duration", str(AGREE_SECONDS), "--warmup", "0", "--impair", spec)
    assert run.finish() == EXIT_PASS, run.proc.stderr_text()
    c = run.result()["stack_counters"]
    k_stage = c["impair_tx_dropped" if kind == "loss" else "impair_tx_duplicated"]
    # what came to the stage: what the port sent, less the copies, plus what was lost or
    # is still held (teardown)
    n_stage = (c["tx_packets"] - c["impair_tx_duplicated"] + c["impair_tx_dropped"]
               + c["impair_tx_teardown"])
    print(f"{kind}: netem {k_netem}/{n_netem} = {k_netem / n_netem:.4f}, "
          f"stage {k_stage}/{n_stage} = {k_stage / n_stage:.4f}")
    assert n_netem > 5000 and n_stage > 5000, (n_netem, n_stage)
    assert abs(binomial_z(k_netem, n_netem, k_stage, n_stage)) < Z_999
    for k, n in ((k_netem, n_netem), (k_stage, n_stage)):
        assert abs(k / n - 0.02) < Z_999 * math.sqrt(0.02 * 0.98 / n), (k, n)


@pytest.mark.dpdk
def test_bad_stack_opt_is_the_layers_line(started_stack: str, procs: ProcessManager,
                                          tcplab_bin: Path, tmp_path: Path) -> None:
    run = start_run(procs, tcplab_bin, started_stack, "echo_rr", tmp_path, "--duration",
                    "0.1", "--stack-opt", "impair=rate=10mbps")
    assert run.finish() == EXIT_USAGE
    lines = [ln for ln in run.proc.stderr_text().splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"tcplab run: backend {started_stack}: stack option impair: "
                               "'rate=10mbps': expected rate="), lines
    assert run_files(run.run_id) == []

