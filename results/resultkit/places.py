"""places.py - where results live and how a BASE/NEW argument finds its directory.

    results/runs/<commit>[-dirty]/<UTC timestamp>/   one `tcplab bench` run (ignored by git)
    results/baselines/<NAME>/                         a saved baseline (committed)

A spec is tried in this order: an existing directory (a run directory; a directory holding
only run directories, such as results/runs/<commit>/, means its newest one); a baseline
name; a commit (a hex prefix of at least 4 digits, or anything `git rev-parse` resolves
such as HEAD~1), meaning the newest run directory under results/runs/<commit>*/.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput

HEX_PREFIX = re.compile(r"^[0-9a-fA-F]{4,40}$")
NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Places:
    """The source root and the two stores under it (each may be overridden)."""
    root: Path
    runs: Path
    baselines: Path

    @classmethod
    def from_env(cls, runs: str | None = None, baselines: str | None = None) -> "Places":
        root = Path(os.environ.get("TCPLAB_ROOT") or Path(__file__).resolve().parents[2])
        return cls(root=root,
                   runs=Path(runs) if runs else root / "results" / "runs",
                   baselines=Path(baselines) if baselines else root / "results" / "baselines")


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*.json"))


def newest_run_under(dirs: list[Path]) -> Path | None:
    """The newest run directory among the timestamp directories of @dirs (names are UTC
    timestamps, so the greatest name is the newest)."""
    runs = [d for parent in dirs if parent.is_dir() for d in parent.iterdir() if is_run_dir(d)]
    return max(runs, key=lambda d: (d.name, str(d)), default=None)


def resolve(spec: str, places: Places, label: str) -> Path:
    """The directory @spec names (see the module doc); BadInput when none."""
    path = Path(spec)
    if path.is_dir():
        if is_run_dir(path):
            return path
        newest = newest_run_under([path])
        return newest if newest is not None else path	# load() reports the empty directory
    if NAME_OK.match(spec) and (places.baselines / spec).is_dir():
        return places.baselines / spec
    found = _by_commit(spec, places)
    if found is not None:
        return found
    raise BadInput(f"{label} {spec!r}: no such directory, no baseline of that name in "
                   f"{places.baselines}, and no runs of such a commit under {places.runs}")


def _by_commit(spec: str, places: Places) -> Path | None:
    prefix = spec if HEX_PREFIX.match(spec) else _rev_parse(spec, places.root)
    if prefix is None or not places.runs.is_dir():
        return None
    prefix = prefix.lower()
    dirs = [d for d in places.runs.iterdir() if d.is_dir() and d.name.lower().startswith(prefix)]
    commits = {d.name.removesuffix("-dirty") for d in dirs}
    if len(commits) > 1:
        raise BadInput(f"commit {spec!r} is ambiguous under {places.runs}: "
                       + ", ".join(sorted(c[:12] for c in commits)))
    return newest_run_under(dirs)


def _rev_parse(spec: str, root: Path) -> str | None:
    if spec.startswith("-"):
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "--quiet",
                               f"{spec}^{{commit}}"], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def newest_run(places: Places) -> Path:
    """The newest run directory under results/runs/ (any commit)."""
    if not places.runs.is_dir():
        raise BadInput(f"no runs yet: {places.runs} does not exist (run `tcplab bench quick`)")
    newest = newest_run_under([d for d in places.runs.iterdir() if d.is_dir()])
    if newest is None:
        raise BadInput(f"no run directories under {places.runs} (run `tcplab bench quick`)")
    return newest
