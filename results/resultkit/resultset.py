"""resultset.py - a result set: every tcplab.result/1 file of one directory, grouped by
(scenario, backend, topology, configuration): the configuration is what the result records of
the settings a run was made with (config_of: every --stack-opt, the CPUs each side ran on, the
build), so runs made differently are not taken for repetitions of one another. The directory may hold a manifest.json (tcplab bench) or a
baseline.json (tcplab baseline save); any other JSON file must be a tcplab.result/1 result.

Bad input (no such directory, no results, a file that is not JSON or has another schema,
a result missing what compare needs) raises BadInput with a one-line message.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput

RESULT_SCHEMA = "tcplab.result/1"
MANIFEST_SCHEMA = "tcplab.manifest/1"
BASELINE_SCHEMA = "tcplab.baseline/1"
META_FILES = {"manifest.json": MANIFEST_SCHEMA, "baseline.json": BASELINE_SCHEMA}
REQUIRED = ("scenario", "backend", "topology", "host", "metrics", "commit")


@dataclass(frozen=True, order=True)
class Key:
    """What a row of compare is about."""
    scenario: str
    backend: str
    topology: str
    config: str = ""	# config_of; "" for a result that records none (older tcplab)

    def __str__(self) -> str:
        text = f"{self.scenario} {self.backend}/{self.topology}"
        return f"{text} [{self.config}]" if self.config else text

    def place(self) -> tuple[str, str, str]:
        """What it is, whatever the configuration: the rows compare pairs by."""
        return (self.scenario, self.backend, self.topology)


def config_of(result: dict[str, Any]) -> str:
    """The settings of a run that make it another configuration, as one line: the
    --stack-opt list, each side's CPUs (engine/SUT affinity), the build (meson's type,
    optimization, LTO, sanitizers). "" when the result records none of them."""
    parts = []
    params = result.get("params") or {}
    if params.get("stack_opts"):
        parts.append("opts " + ",".join(params["stack_opts"]))
    cpus = params.get("cpus")
    if cpus:
        parts.append("cpus " + "/".join((cpus.get(side) or {}).get("affinity", "-")
                                        for side in ("engine", "sut")))
    build = result.get("build")
    if build:
        parts.append(f"build {build.get('type')} O{build.get('optimization')}"
                     + (" lto" if build.get("lto") else "")
                     + ("" if build.get("sanitize") in (None, "", "none")
                        else f" {build['sanitize']}"))
    return "; ".join(parts)


@dataclass
class ResultSet:
    """The results of one directory; runs[key] lists the repetitions in file-name order."""
    path: Path
    label: str
    runs: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)
    files: dict[Key, list[str]] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None

    def all_results(self) -> list[dict[str, Any]]:
        return [r for key in sorted(self.runs) for r in self.runs[key]]

    def host_kinds(self) -> set[str]:
        return {host_kind(r) for r in self.all_results()}

    def commits(self) -> list[str]:
        seen: list[str] = []
        for r in self.all_results():
            c = r["commit"] + ("-dirty" if r.get("dirty") else "")
            if c not in seen:
                seen.append(c)
        return seen

    def repetitions(self) -> int:
        return max((len(v) for v in self.runs.values()), default=0)

    def host_state(self) -> list[dict[str, Any]]:
        """The calibrations taken around the set's runs (the manifest's, else each
        result's): a list of {figure: value}, before and after, oldest first."""
        source = (self.manifest or {}).get("host_state")
        if source is None:
            source = next((r["host_state"] for r in self.all_results() if r.get("host_state")),
                          None)
        if not source:
            return []
        return [source[k] for k in ("before", "after") if source.get(k)]


def host_kind(result: dict[str, Any]) -> str:
    """The kind of machine a result ran on: architecture, CPU model and online CPUs. The
    hostname and kernel release are left out: two hosts of one kind compare; a kernel update
    is a change under test, reported as a note by compare."""
    h = result.get("host") or {}
    return f"{h.get('machine', '?')} {h.get('cpu_model', '?')} x{h.get('cpus', '?')}"


def load(path: Path, label: str) -> ResultSet:
    """Every result of @path (not recursive); @label names the set in messages."""
    if not path.exists():
        raise BadInput(f"{label}: {path}: no such directory")
    if not path.is_dir():
        raise BadInput(f"{label}: {path}: not a directory")
    rs = ResultSet(path=path, label=label)
    for f in sorted(path.glob("*.json")):
        doc = _read_json(f, label)
        if f.name in META_FILES:
            _check_meta(f, doc, META_FILES[f.name], label)
            setattr(rs, f.stem, doc)
            continue
        _check_result(f, doc, label)
        key = Key(doc["scenario"], doc["backend"], doc["topology"], config_of(doc))
        rs.runs.setdefault(key, []).append(doc)
        rs.files.setdefault(key, []).append(f.name)
    if not rs.runs:
        raise BadInput(f"{label}: {path}: no {RESULT_SCHEMA} result files (*.json) in it")
    return rs


def _read_json(f: Path, label: str) -> Any:
    try:
        return json.loads(f.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{label}: {f}: cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{label}: {f}: not JSON ({e.msg} at line {e.lineno})") from None


def _check_meta(f: Path, doc: Any, schema: str, label: str) -> None:
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise BadInput(f"{label}: {f}: schema {got!r}, expected {schema!r}")


def _check_result(f: Path, doc: Any, label: str) -> None:
    if not isinstance(doc, dict):
        raise BadInput(f"{label}: {f}: a JSON {type(doc).__name__}, expected a "
                       f"{RESULT_SCHEMA} object")
    if doc.get("schema") != RESULT_SCHEMA:
        raise BadInput(f"{label}: {f}: schema {doc.get('schema')!r}, expected "
                       f"{RESULT_SCHEMA!r} (mismatched schema)")
    for name in REQUIRED:
        if name not in doc:
            raise BadInput(f"{label}: {f}: no {name!r} field, which {RESULT_SCHEMA} requires")
    metrics = doc["metrics"]
    if not isinstance(metrics, dict) or not isinstance(metrics.get("latency_ns"), dict):
        raise BadInput(f"{label}: {f}: metrics.latency_ns missing or not an object")
