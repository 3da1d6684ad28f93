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
- Bad specs, from the flag, the scenario directive and --stack-opt, and impairment asked of
  a kernel side: exit 2 with one line.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from test_dpdk_stack import children, leftovers, start_run
from tcplab.binary import EXIT_FAIL, EXIT_PASS, EXIT_USAGE
from tcplab.proc import ProcessManager

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
    assert leftovers(run.run_id) == []


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
    assert leftovers(run.run_id) == []


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


def test_a_kernel_side_needs_netem(tcplab_bin: Path, tmp_path: Path) -> None:
    err = refused([str(tcplab_bin), "run", "echo_rr", "--backend", "kernel", "--out",
                   str(tmp_path), "--impair", "loss=1%"])
    assert "impairment of a kernel side needs netem (not yet supported)" in err, err
    assert not (tmp_path / "echo_rr.json").exists()


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
    assert leftovers(run.run_id) == []

