"""harness.py - the harness's Python modules (harness/*.py) and what the binary has, for
tests: one loader, so every test file gets the same module object."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load(stem: str) -> ModuleType:
    """harness/<stem>.py as module tcplab_<stem>, loaded once."""
    name = f"tcplab_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "harness" / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def built_backends() -> list[str]:
    """The backends of the binary under test ($TCPLAB_BIN, else build/), from tcplab list;
    just the kernel when it cannot say."""
    binary = os.environ.get("TCPLAB_BIN", str(ROOT / "build" / "harness" / "tcplab"))
    try:
        out = subprocess.run([binary, "list", "--json"], capture_output=True, text=True,
                             timeout=60).stdout
        return [b["name"] for b in json.loads(out)["backends"]]
    except (OSError, ValueError, KeyError):
        return ["kernel"]


def run_namespaces(prefix: str = "tcplab-r") -> set[str]:
    """The network namespaces whose names start with @p prefix (tcplab run's: tcplab-r)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.startswith(prefix)}
