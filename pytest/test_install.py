"""What runs without the build: `./tcplab compare|report|baseline` only read and write
results, so they must not call ci/setup.sh (packages, configure, build): a job that only
compares results needs Python alone. Here setup is made to fail loudly (TCPLAB_PACKAGES names
no file: exit 2 before it installs or builds anything); `./tcplab list` in the same
environment shows it does, and the results commands must still work.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "results" / "fixtures"


def no_setup_env(tmp_path: Path) -> dict[str, str]:
    """This environment where ci/setup.sh exits 2 at once: no package list to read."""
    return {**os.environ, "TCPLAB_PACKAGES": str(tmp_path / "no-such-list.txt")}


def wrapper(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "tcplab"), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_setup_fails_loudly_in_the_no_setup_environment(tmp_path: Path) -> None:
    """The control: a command that needs the build runs setup, which fails here."""
    done = wrapper(["list"], no_setup_env(tmp_path), tmp_path)
    assert done.returncode == 2, done.stderr
    assert "tcplab: cannot read the package list" in done.stderr


@pytest.mark.parametrize("args, status, says", [
    (["compare", "{F}/base", "{F}/same"], 0, "no regression"),
    (["compare", "{F}/base", "{F}/latency2x", "--markdown"], 1, "REGRESSION"),
    (["baseline", "list", "--baselines-dir", "{T}"], 0, ""),
    (["report", "{F}/base", "--out", "{T}/report"], 0, "report.html"),
], ids=["compare-same", "compare-worse", "baseline-list", "report"])
def test_results_commands_skip_setup(tmp_path: Path, args: list[str], status: int,
                                     says: str) -> None:
    argv = [a.replace("{F}", str(FIXTURES)).replace("{T}", str(tmp_path)) for a in args]
    done = wrapper(argv, no_setup_env(tmp_path), tmp_path)
    assert "cannot read the package list" not in done.stderr, "the wrapper ran ci/setup.sh"
    assert done.returncode == status, done.stderr
    assert says in done.stdout
