"""junit.py - JUnit XML, the schema Jenkins, GitLab and the GitHub test reporters read:

    <testsuites name tests failures errors skipped time>
      <testsuite name tests failures errors skipped time [timestamp hostname]>
        <properties><property name value/>...</properties>
        <testcase classname name time [file]>
          <failure message type>text</failure> | <error ...> | <skipped message/>
        </testcase>
      </testsuite>
    </testsuites>

Two documents: a run's checks (`tcplab junit`: a testsuite per result, a testcase per
check, a failed check a <failure> with its value and limit, an interrupted run one more
testcase with an <error>), and compare's verdicts (`tcplab compare --junit`: a testsuite
per scenario, backend/topology and configuration, a testcase per row, worse a <failure>,
n/a and host differs <skipped> with the note). ElementTree writes it, so every name,
message and note is escaped.
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import render
from .compare import HOST, NA, WORSE, Comparison, Row
from .errors import BadInput
from .inputs import Result
from .resultset import config_of

INTERRUPTED = "run completed"	# the testcase an interrupted run adds


def _num(value: Any) -> str:
    """A check's value or limit as the JSON wrote it (3.0 as 3)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return "0.000"


def _suite(parent: ET.Element, name: str, props: dict[str, str],
           **attrs: str) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite", name=name, **attrs)
    if props:
        pe = ET.SubElement(suite, "properties")
        for k, v in props.items():
            ET.SubElement(pe, "property", name=k, value=v)
    return suite


def _count(root: ET.Element) -> None:
    """tests, failures, errors, skipped on every testsuite and on the root; time summed."""
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    elapsed = 0.0
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        n = {"tests": len(cases),
             "failures": sum(c.find("failure") is not None for c in cases),
             "errors": sum(c.find("error") is not None for c in cases),
             "skipped": sum(c.find("skipped") is not None for c in cases)}
        for k, v in n.items():
            suite.set(k, str(v))
            total[k] += v
        suite.set("time", suite.get("time") or "0.000")
        elapsed += float(suite.get("time", "0"))
    for k, v in total.items():
        root.set(k, str(v))
    root.set("time", f"{elapsed:.3f}")


def _unique(names: list[str], files: list[Path]) -> list[str]:
    """A name that more than one result has (repetitions) gets its file name after it."""
    return [f"{n} ({f.name})" if names.count(n) > 1 else n for n, f in zip(names, files)]


def check_message(check: dict[str, Any]) -> str:
    return (f"{check.get('name')} failed: value {_num(check.get('value'))}, "
            f"limit {_num(check.get('limit'))}")


def checks_document(results: list[Result]) -> ET.Element:
    """A testsuite per result (named "scenario backend/topology"), a testcase per check."""
    root = ET.Element("testsuites", name="tcplab run checks")
    names = [f"{doc['scenario']} {doc['backend']}/{doc['topology']}" for _, doc in results]
    for name, (path, doc) in zip(_unique(names, [p for p, _ in results]), results):
        props = {"file": str(path), "commit": str(doc.get("commit")),
                 "dirty": _num(bool(doc.get("dirty"))), "config": config_of(doc),
                 "passed": _num(doc.get("passed"))}
        attrs = {"time": _seconds((doc.get("metrics") or {}).get("window_s"))}
        if doc.get("started_at"):
            attrs["timestamp"] = str(doc["started_at"]).removesuffix("Z")
        if (doc.get("host") or {}).get("hostname"):
            attrs["hostname"] = str(doc["host"]["hostname"])
        suite = _suite(root, name, props, **attrs)
        for check in doc.get("checks") or []:
            case = ET.SubElement(suite, "testcase", classname=name,
                                 name=str(check.get("name")), time="0.000", file=str(path))
            if not check.get("ok"):
                msg = check_message(check)
                fail = ET.SubElement(case, "failure", message=msg, type="check")
                fail.text = (f"{msg}\nscenario {doc['scenario']}, backend {doc['backend']}, "
                             f"topology {doc['topology']}, result {path}")
        if doc.get("interrupted"):
            case = ET.SubElement(suite, "testcase", classname=name, name=INTERRUPTED,
                                 time="0.000", file=str(path))
            msg = "the run was interrupted by a signal: its checks cover part of the run"
            err = ET.SubElement(case, "error", message=msg, type="interrupted")
            err.text = f"{msg}\nresult {path}"
    _count(root)
    return root


def row_message(row: Row) -> str:
    """What a verdict row says in one line: values, change, how it was judged, its note."""
    how = render.fmt_how(row)
    text = (f"{row.metric} {row.verdict}: {render.fmt_value(row.base, row.unit)} -> "
            f"{render.fmt_value(row.new, row.unit)} ({render.fmt_change(row)})")
    if how and how != row.note:
        text += f", {how}"
    return text + (f"; {row.note}" if row.note else "")


def _values(values: list[float]) -> str:
    return ", ".join(f"{v:.6g}" for v in values) or "none"


def row_group(row: Row) -> str:
    name = f"{row.scenario} {row.backend}/{row.topology}"
    return f"{name} [{row.config}]" if row.config else name


def compare_document(cmp: Comparison, rows: Iterable[Row]) -> ET.Element:
    """A testsuite per scenario, backend/topology and configuration; a testcase per row."""
    root = ET.Element("testsuites", name=f"tcplab compare {cmp.base.path} {cmp.new.path}")
    host_notes = [n for n in cmp.notes if n.startswith("host differs")]
    suites: dict[str, ET.Element] = {}
    for row in rows:
        group = row_group(row)
        if group not in suites:
            suites[group] = _suite(root, group, {"base": str(cmp.base.path),
                                                 "new": str(cmp.new.path)}, time="0.000")
        case = ET.SubElement(suites[group], "testcase", classname=group,
                             name=row.metric if row.metric != "-" else "all metrics",
                             time="0.000")
        msg = row_message(row)
        if row.verdict == WORSE:
            ET.SubElement(case, "failure", message=msg, type="regression").text = \
                f"{msg}\nbase values {_values(row.base_values)}\nnew values " \
                f"{_values(row.new_values)}"
        elif row.verdict in (NA, HOST):
            sk = ET.SubElement(case, "skipped", message=f"{row.verdict}: {row.note or msg}")
            if row.verdict == HOST and host_notes:
                sk.text = "\n".join(host_notes)
        else:
            ET.SubElement(case, "system-out").text = msg
    _count(root)
    return root


def write(root: ET.Element, out: str | None) -> None:
    """@root as an XML file at @out; None or "-": stdout."""
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    if out in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        Path(out).write_bytes(data)
    except OSError as e:
        raise BadInput(f"{out}: cannot write: {e.strerror}") from None
