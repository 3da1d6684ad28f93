"""inputs.py - the result files a format command (junit, csv) reads: each argument a
tcplab.result/1 file, or anything compare takes for a set (a run directory, a directory of
run directories, a baseline name, a commit: places.resolve), whose results are read as
resultset.load reads them. Bad input raises BadInput with a one-line message."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import BadInput
from .places import Places, resolve
from .resultset import _check_result, _read_json, load

Result = tuple[Path, dict[str, Any]]	# the file and its document


def read_file(path: Path, label: str) -> dict[str, Any]:
    """One result file, checked as a set's files are."""
    doc = _read_json(path, label)
    _check_result(path, doc, label)
    return doc


def results_of(specs: list[str], places: Places, what: str) -> list[Result]:
    """Every result the arguments name, in argument order; a set's files by name."""
    out: list[Result] = []
    for spec in specs:
        label = f"{what} {spec}"
        path = Path(spec)
        if path.is_file():
            out.append((path, read_file(path, label)))
            continue
        if spec.endswith(".json"):
            raise BadInput(f"{label}: no such file")
        rs = load(resolve(spec, places, what), label)
        files = [(rs.path / f, doc) for key in rs.runs
                 for f, doc in zip(rs.files[key], rs.runs[key])]
        out += sorted(files, key=lambda fd: fd[0].name)
    return out
