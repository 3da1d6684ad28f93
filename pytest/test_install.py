"""What runs without the build, and what `meson install` gives.

1. `./tcplab compare|report|baseline` only read and write results: they must not call
   ci/setup.sh (packages, configure, build), so a job that only compares results needs Python
   alone. Here setup is made to fail loudly (TCPLAB_PACKAGES names no file: exit 2 before it
   installs or builds anything); `./tcplab list` in the same environment shows it does, and
   the results commands must still work.
2. `meson install --destdir` of the build this suite runs (--no-rebuild: nothing is built)
   gives a tree whose binary, run from outside the source tree with TCPLAB_ROOT unset, finds
   its own scenarios and plug-ins (from its executable's path), runs a scenario on the
   kernel, and whose Python tools run from where they were installed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "results" / "fixtures"
# what would make the installed tree find the source tree's files instead of its own
LEAKS = ("TCPLAB_ROOT", "TCPLAB_STACK_PATH", "TCPLAB_BIN", "TCPLAB_BUILD", "PYTHONPATH")


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


@dataclass(frozen=True)
class Installed:
    """A `meson install --destdir` tree of the suite's build."""
    binary: Path
    data: Path		# <datadir>/tcplab: scenarios/, python/, results/
    plugins: Path	# <libdir>/tcplab/stacks
    cwd: Path		# a folder outside the source tree to run from

    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if k not in LEAKS}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.binary), *args], env=self.env(), cwd=self.cwd,
                              capture_output=True, text=True, timeout=60)


def build_options(build: Path) -> dict[str, str]:
    opts = json.loads((build / "meson-info" / "intro-buildoptions.json").read_text())
    return {o["name"]: o["value"] for o in opts if isinstance(o.get("value"), str)}


@pytest.fixture(scope="module")
def installed(tcplab_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    build = tcplab_bin.parent.parent
    if not (build / "meson-private" / "install.dat").is_file():
        pytest.skip(f"{tcplab_bin} is not a meson build's harness/tcplab")
    top = tmp_path_factory.mktemp("install")
    dest = top / "dest"
    before = tcplab_bin.stat().st_mtime_ns
    done = subprocess.run(["meson", "install", "-C", str(build), "--destdir", str(dest),
                           "--no-rebuild"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tcplab_bin.stat().st_mtime_ns == before, "meson install rebuilt the binary"
    o = build_options(build)
    prefix = dest / o["prefix"].lstrip("/")
    cwd = top / "elsewhere"
    cwd.mkdir()
    yield Installed(binary=prefix / o["bindir"] / "tcplab",
                    data=prefix / o["datadir"] / "tcplab",
                    plugins=prefix / o["libdir"] / "tcplab" / "stacks", cwd=cwd)
    shutil.rmtree(top)


def listing(binary_run: subprocess.CompletedProcess) -> dict:
    assert binary_run.returncode == 0, binary_run.stderr
    return json.loads(binary_run.stdout)


def test_installed_binary_finds_its_own_scenarios(installed: Installed) -> None:
    # one scenario the source tree does not have: only the installed folder can list it
    scenarios = installed.data / "scenarios"
    shutil.copy(scenarios / "echo_rr.scn", scenarios / "zz_installed_only.scn")
    try:
        listed = listing(installed.run("list", "--json"))["scenarios"]
    finally:
        (scenarios / "zz_installed_only.scn").unlink()
    names = {s["name"] for s in listed}
    assert names == {p.stem for p in (ROOT / "scenarios").glob("*.scn")} | {"zz_installed_only"}
    assert {Path(s["path"]).parent for s in listed} == {scenarios.resolve()}


def test_installed_binary_finds_its_own_plugins(installed: Installed, tcplab_bin: Path) -> None:
    built = listing(subprocess.run([str(tcplab_bin), "list", "--json"], capture_output=True,
                                   text=True, timeout=60))["backends"]
    mine = listing(installed.run("list", "--json"))["backends"]
    assert sorted(b["name"] for b in mine) == sorted(b["name"] for b in built)
    plugins = [b for b in mine if b["path"] is not None]
    assert len(plugins) == len([b for b in built if b["path"] is not None])
    for b in plugins:
        assert Path(b["path"]).parent == installed.plugins.resolve(), b


def test_installed_binary_runs_a_scenario(installed: Installed) -> None:
    out = installed.cwd / "out"
    done = installed.run("run", "echo_rr", "--backend", "kernel", "--duration", "0.2",
                         "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((out / "echo_rr.json").read_text())
    assert result["scenario"] == "echo_rr"
    assert result["passed"] is True


def test_installed_results_tool_compares(installed: Installed) -> None:
    tool = installed.data / "results" / "tcplab_results.py"
    done = subprocess.run([sys.executable, str(tool), "compare", str(FIXTURES / "base"),
                           str(FIXTURES / "same")], env=installed.env(), cwd=installed.cwd,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "no regression" in done.stdout


def test_installed_python_package_imports(installed: Installed) -> None:
    env = {**installed.env(), "PYTHONPATH": str(installed.data / "python")}
    done = subprocess.run([sys.executable, "-c", "import tcplab.conform, tcplab.pkt, "
                           "tcplab.proc as p; print(p.ROOT); print(tcplab.conform.__file__)"],
                          env=env, cwd=installed.cwd, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    root, conform = done.stdout.split()
    assert Path(root) == installed.data.resolve()
    assert Path(conform).is_relative_to(installed.data)
