"""topology.py - what the binary says it has: backends (name, attach kind, origin, path, the
limits each states) and topologies, read from `tcplab list --json` (the table is
harness/topology.[ch]; its shape is the contract in the harness README). Nothing here knows a
topology or backend by name.

A topology says which attach kind each side may have ("sockets", "dpdk"), which mixes it
allows, which namespaces and link it needs, the address plan, and the settings a DPDK side of
each role gets. peer_topology() is the rule by which conformance and packet checks pick one:
a Linux peer on the engine side, the backend under test on the SUT side, in namespaces.
"""
from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import UsageError
from .proc import tcplab_bin

ROLES = ("engine", "sut")
SOCKETS = "sockets"
DPDK = "dpdk"
LINUX = "kernel"	# the built-in backend that is Linux's own sockets: conformance's peer


@dataclass(frozen=True)
class Limits:
    """What a backend states of its limits and costs (struct tl_limits in
    <tcplab/stack.h>; `tcplab list --json` backends[].limits), each figure with its reason.
    Bytes are the process's resident growth."""
    max_sockets: int | None		# None: no cap of the stack's own
    max_sockets_reason: str
    conn_bytes: tuple[int, int]		# (floor, ceiling) per open connection with traffic
    conn_bytes_reason: str
    syn_over_backlog: int | None	# half-open held: backlog + this; None: no cap
    syn_rcvd_bytes: int			# per half-open connection (0: the kernel holds it)
    syn_rcvd_reason: str
    idle_bytes: int			# per accepted connection that never sends
    idle_reason: str
    slack_bytes: int			# on top of any bound made of the figures above
    slack_reason: str


@dataclass(frozen=True)
class Backend:
    name: str
    description: str
    attach: str		# "sockets" | "dpdk"
    origin: str		# "built-in" | "plug-in"
    path: str | None
    limits: Limits | None = None	# None: the stack states none
    wait_set: bool = False	# it offers a wait set (tl_ops.ws_*)


@dataclass(frozen=True)
class Addresses:
    prefix_len: int
    engine: str
    sut: str
    spare: str | None	# owned by no stack: scapy's

    def of(self, role: str) -> str:
        return self.engine if role == "engine" else self.sut


@dataclass(frozen=True)
class Link:
    kind: str			# "memif" | "tap" | "veth" | "pci"
    engine_if: str | None = None	# veth: the interface of each role
    sut_if: str | None = None

    def iface(self, role: str) -> str | None:
        return self.engine_if if role == "engine" else self.sut_if


@dataclass(frozen=True)
class Topology:
    name: str
    description: str
    kinds: dict[str, tuple[str, ...]]	# role -> the attach kinds it may be
    mix: str				# "any" | "one-dpdk"
    default: dict[str, str]
    namespaces: str			# "none" | "shared" | "per-side"
    link: Link | None
    addresses: Addresses | None
    settings: dict[str, tuple[str, ...]]	# role -> what a DPDK side of it gets

    def allows(self, engine: str, sut: str) -> bool:
        """Whether an @engine-kind engine and a @sut-kind SUT may run on it."""
        if engine not in self.kinds["engine"] or sut not in self.kinds["sut"]:
            return False
        return self.mix != "one-dpdk" or (engine == DPDK) != (sut == DPDK)

    def stack_opts(self, role: str, kind: str) -> list[str]:
        """The --stack-opt settings a side of @kind in @role gets (a sockets side: none; it
        gets its address in its namespace)."""
        return list(self.settings[role]) if kind == DPDK else []


@dataclass(frozen=True)
class Table:
    backends: tuple[Backend, ...]
    topologies: tuple[Topology, ...]

    @classmethod
    def parse(cls, doc: dict[str, Any]) -> "Table":
        """From the parsed `tcplab list --json`; UsageError when it has no table."""
        if "topologies" not in doc:
            raise UsageError("tcplab list --json lists no topologies (a binary built before "
                             "the topology table?)")
        try:
            return cls(tuple(parse_backend(b) for b in doc["backends"]),
                       tuple(parse_topology(t) for t in doc["topologies"]))
        except (KeyError, TypeError, ValueError) as e:
            raise UsageError(f"tcplab list --json: unexpected topology table ({e!r})") from None

    @classmethod
    def load(cls, binary: Path | None = None, backends: Sequence[str] = ()) -> "Table":
        """The binary's table; @backends given by path (plug-ins off the search path) are
        loaded by the binary and listed too."""
        return cls.parse(listing(binary, [b for b in backends if "/" in b]))

    def backend(self, name: str) -> Backend:
        """A backend by name, or a plug-in by the path it was loaded from."""
        path = os.path.realpath(name) if "/" in name else None
        for b in self.backends:
            if b.name == name or (path is not None and b.path == path):
                return b
        raise UsageError(f"unknown backend '{name}' (valid: "
                         f"{', '.join(b.name for b in self.backends)})")

    def local(self, attach: str) -> list[Topology]:
        """The topologies a run with a backend of kind @attach on both sides can use on this
        host alone (an address plan of their own: not one whose SUT is on another host), in
        the table's order."""
        return [t for t in self.topologies
                if t.addresses is not None and t.allows(attach, attach)]

    def peer_topology(self, attach: str) -> Topology:
        """Where a Linux peer (engine side, sockets) meets a SUT of kind @attach, in
        namespaces: the first topology that allows the pair and makes namespaces."""
        for t in self.topologies:
            if t.namespaces != "none" and t.allows(SOCKETS, attach):
                return t
        raise UsageError(f"no topology has a Linux engine side, a {attach} SUT side and "
                         f"namespaces (tcplab list --json)")


def parse_backend(b: dict[str, Any]) -> Backend:
    limits = b.get("limits")
    return Backend(b["name"], b.get("description", ""), b["attach"], b["origin"], b.get("path"),
                   None if limits is None else parse_limits(limits), b.get("wait_set", False))


def parse_limits(d: dict[str, Any]) -> Limits:
    """backends[].limits (ValueError naming the field when it is not what stack.h states:
    a reason empty, a floor above its ceiling, a cap of no known kind)."""
    syn = d["syn_rcvd"]
    if syn["cap"] not in ("backlog", "none"):
        raise ValueError(f"limits.syn_rcvd.cap {syn['cap']!r}: expected 'backlog' or 'none'")
    lim = Limits(
        max_sockets=None if d["sockets"]["max"] is None else int(d["sockets"]["max"]),
        max_sockets_reason=d["sockets"]["reason"],
        conn_bytes=(int(d["conn_bytes"]["min"]), int(d["conn_bytes"]["max"])),
        conn_bytes_reason=d["conn_bytes"]["reason"],
        syn_over_backlog=int(syn["over_backlog"]) if syn["cap"] == "backlog" else None,
        syn_rcvd_bytes=int(syn["bytes"]), syn_rcvd_reason=syn["reason"],
        idle_bytes=int(d["idle"]["bytes"]), idle_reason=d["idle"]["reason"],
        slack_bytes=int(d["slack"]["bytes"]), slack_reason=d["slack"]["reason"])
    for name, value in vars(lim).items():
        if name.endswith("_reason") and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"limits.{name} is empty")
    if not 0 <= lim.conn_bytes[0] <= lim.conn_bytes[1]:
        raise ValueError(f"limits.conn_bytes: min {lim.conn_bytes[0]} is above max "
                         f"{lim.conn_bytes[1]}")
    return lim


def parse_topology(t: dict[str, Any]) -> Topology:
    link = t["link"]
    addrs = t["addresses"]
    return Topology(
        name=t["name"], description=t.get("description", ""),
        kinds={r: tuple(t[r]) for r in ROLES}, mix=t["mix"], default=dict(t["default"]),
        namespaces=t["namespaces"],
        link=None if link is None else Link(link["kind"], link.get("engine_if"),
                                             link.get("sut_if")),
        addresses=None if addrs is None else Addresses(int(addrs["prefix_len"]),
                                                       addrs["engine"], addrs["sut"],
                                                       addrs.get("spare")),
        settings={r: tuple(t["settings"][r]) for r in ROLES})


def listing(binary: Path | None = None, paths: Sequence[str] = ()) -> dict[str, Any]:
    """`tcplab list --json` (with the plug-ins at @paths loaded), parsed; UsageError with the
    binary's message when it fails."""
    binary = binary or tcplab_bin()
    extra = [arg for p in paths for arg in ("--backend", p)]
    try:
        done = subprocess.run([str(binary), "list", "--json", *extra], capture_output=True,
                              text=True, timeout=60)
    except OSError as e:
        raise UsageError(f"{binary} list --json: {e.strerror}") from None
    if done.returncode != 0:
        raise UsageError(f"tcplab list --json: {done.stderr.strip()}")
    return json.loads(done.stdout)


def backend_names(binary: Path | None = None) -> list[str]:
    """The backends the binary lists, for a test module's parameters; none when the binary
    cannot say (not built: those tests are then not collected with a backend)."""
    try:
        return [b["name"] for b in listing(binary)["backends"]]
    except (UsageError, ValueError, KeyError):
        return []
