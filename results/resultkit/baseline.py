"""baseline.py - the baseline store, results/baselines/NAME/: the result files of one run
directory copied as they are, plus baseline.json (tcplab.baseline/1) saying where they came
from and the kind of host they ran on. Baselines are committed on purpose."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from .errors import BadInput
from .places import NAME_OK, Places
from .resultset import BASELINE_SCHEMA, load


def save(name: str, source: Path, places: Places, force: bool = False) -> Path:
    """Copy the run directory @source to results/baselines/@name; return the new directory."""
    if not NAME_OK.match(name):
        raise BadInput(f"baseline name {name!r}: use letters, digits, '.', '_', '-' "
                       "(64 at most, not starting with a punctuation mark)")
    rs = load(source, "baseline source")
    kinds = sorted(rs.host_kinds())
    if len(kinds) != 1:
        raise BadInput(f"baseline source {source}: mixes host kinds: {' | '.join(kinds)}")
    dest = places.baselines / name
    if dest.exists() and not force:
        raise BadInput(f"baseline {name!r} exists ({dest}); --force replaces it")
    tmp = places.baselines / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for files in rs.files.values():
        for f in files:
            shutil.copy2(source / f, tmp / f)
    if rs.manifest is not None:
        shutil.copy2(source / "manifest.json", tmp / "manifest.json")
    meta = {"schema": BASELINE_SCHEMA, "name": name, "host_kind": kinds[0],
            "host": rs.all_results()[0]["host"], "commits": rs.commits(),
            "suite": (rs.manifest or {}).get("suite"), "source": str(source),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "results": sum(len(v) for v in rs.files.values())}
    (tmp / "baseline.json").write_text(json.dumps(meta, indent=1) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def listing(places: Places) -> list[dict[str, Any]]:
    """One entry per saved baseline (baseline.json), sorted by name."""
    out = []
    if not places.baselines.is_dir():
        return out
    for d in sorted(p for p in places.baselines.iterdir() if p.is_dir()):
        meta_path = d / "baseline.json"
        if d.name.startswith(".") or not meta_path.is_file():
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise BadInput(f"{meta_path}: unreadable baseline metadata: {e}") from None
        out.append(meta)
    return out
