"""ci/setup.sh, what ./tcplab runs before every command: missing packages as a non-root user
get the one apt-get line and exit 2; the entry points dispatch and reject unknown commands."""
from __future__ import annotations

import os
import pwd
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def as_nobody(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    nobody = pwd.getpwnam("nobody")

    def drop() -> None:
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    return subprocess.run(cmd, env=env, preexec_fn=drop, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def package_list() -> Iterator[Path]:
    """A package list user nobody can read (pytest's tmp_path is root's alone)."""
    fd, name = tempfile.mkstemp(prefix="tcplab-packages-", suffix=".txt", dir="/tmp")
    os.write(fd, b"# a comment\nmeson\nno-such-package-tcplab\n\n")
    os.close(fd)
    os.chmod(name, 0o644)
    yield Path(name)
    os.unlink(name)


@pytest.mark.root
def test_missing_package_as_non_root_prints_the_apt_line(package_list: Path) -> None:
    done = as_nobody([str(ROOT / "ci" / "setup.sh"), "packages"],
                     {"PATH": os.environ["PATH"], "TCPLAB_PACKAGES": str(package_list)})
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("tcplab: missing Debian packages; run: "
                           "sudo apt-get install -y no-such-package-tcplab \n")


def test_unreadable_package_list_exits_2(tmp_path: Path) -> None:
    done = subprocess.run([str(ROOT / "ci" / "setup.sh"), "packages"], capture_output=True,
                          text=True, env={**os.environ,
                                          "TCPLAB_PACKAGES": str(tmp_path / "none.txt")})
    assert done.returncode == 2
    assert done.stderr == f"tcplab: cannot read the package list {tmp_path / 'none.txt'}\n"


def test_all_listed_packages_are_installed_here() -> None:
    """What ./tcplab installed is what ci/packages.txt lists: nothing missing now."""
    done = subprocess.run([str(ROOT / "ci" / "setup.sh"), "packages"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "installing" not in done.stderr


def test_unknown_step_of_setup_exits_2() -> None:
    done = subprocess.run([str(ROOT / "ci" / "setup.sh"), "sideways"], capture_output=True,
                          text=True)
    assert done.returncode == 2
    assert done.stderr == "ci/setup.sh: unknown step 'sideways' (valid: packages, build, all)\n"


def test_unknown_command_names_the_valid_ones() -> None:
    done = subprocess.run([str(ROOT / "tcplab"), "frobnicate"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("tcplab: unknown command 'frobnicate' (valid: run, serve, list,")
