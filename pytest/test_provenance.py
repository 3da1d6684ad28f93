"""test_provenance.py - what a result records of where it came from (issue 17, part 6): the
build (commit built in by meson's vcs_tag, type, LTO, sanitizers), every --stack-opt, the
CPUs each side ran on and whether a flag chose them; and the commit of a binary run outside
./tcplab (no TCPLAB_COMMIT) is the one it was built from."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

from tcplab.topology import LINUX

ROOT = Path(__file__).resolve().parent.parent


def run_kernel(tcplab_bin: Path, out: Path, *flags: str, env: dict[str, str] | None = None
               ) -> dict[str, Any]:
    done = subprocess.run([str(tcplab_bin), "run", "echo_rr", "--backend", LINUX, "--duration",
                           "0.2", "--warmup", "0", "--quiet", "--out", str(out), *flags],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "echo_rr.json").read_text())


def test_cpus_given_and_stack_opts(tcplab_bin: Path, tmp_path: Path,
                                   result_schema: jsonschema.Draft202012Validator) -> None:
    doc = run_kernel(tcplab_bin, tmp_path, "--engine-cpu", "0", "--sut-cpu", "1",
                     "--stack-opt", "rcvbuf=131072")
    result_schema.validate(doc)
    assert doc["params"]["cpus"] == {"engine": {"affinity": "0", "given": True},
                                     "sut": {"affinity": "1", "given": True}}, doc["params"]
    assert doc["params"]["stack_opts"] == ["rcvbuf=131072"]
    assert doc["sut"]["affinity"] == "1"


def test_cpus_chosen(tcplab_bin: Path, tmp_path: Path) -> None:
    """Not given: the affinity the sides had (the kernel backend pins nothing)."""
    doc = run_kernel(tcplab_bin, tmp_path)
    mine = sorted(os.sched_getaffinity(0))
    cpus = doc["params"]["cpus"]
    for side in ("engine", "sut"):
        assert cpus[side]["given"] is False
        first, _, last = cpus[side]["affinity"].partition("-")
        assert (int(first), int(last or first)) == (mine[0], mine[-1]), cpus
    assert doc["params"]["stack_opts"] == []


def test_build_and_commit_outside_the_wrapper(tcplab_bin: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TCPLAB_COMMIT", "TCPLAB_DIRTY")}
    doc = run_kernel(tcplab_bin, tmp_path, env=env)
    build = doc["build"]
    assert set(build) == {"commit", "type", "optimization", "lto", "sanitize"}, build
    assert isinstance(build["lto"], bool) and build["sanitize"], build
    built = build["commit"]
    assert built == "unknown" or len(built.removesuffix("-dirty")) == 40, built
    assert doc["commit"] == built.removesuffix("-dirty")
    assert doc["dirty"] == built.endswith("-dirty")
    if (ROOT / ".git").exists() and "build" in tcplab_bin.parts:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert doc["commit"] == head, (doc["commit"], head)


def test_the_wrapper_commit_wins(tcplab_bin: Path, tmp_path: Path) -> None:
    env = dict(os.environ, TCPLAB_COMMIT="f" * 40, TCPLAB_DIRTY="1")
    doc = run_kernel(tcplab_bin, tmp_path, env=env)
    assert doc["commit"] == "f" * 40 and doc["dirty"] is True
    assert doc["build"]["commit"] != doc["commit"]
