"""netns.py - network namespaces a run creates and always removes: the one place that adds
and deletes them for conform.py and packets.py (removing a namespace removes the veth ends
and taps inside it)."""
from __future__ import annotations

import subprocess


def ip(*args: str, ns: str | None = None) -> str:
    """`ip [-n NS] ARGS`; its stdout, or RuntimeError with its message."""
    argv = ["ip", *(("-n", ns) if ns else ()), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


class Namespaces:
    """Create NAMES (loopback up), remove them on exit in reverse order, also when setting
    them up fails half way. Subclasses configure more in setup()."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.created: list[str] = []

    def setup(self) -> None:
        """What comes after the namespaces exist: veth pairs, addresses, sysctls."""

    def __enter__(self):
        try:
            for ns in self.names:
                ip("netns", "add", ns)
                self.created.append(ns)
                ip("link", "set", "lo", "up", ns=ns)
            self.setup()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, timeout=30)
        self.created.clear()
