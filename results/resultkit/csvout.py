"""csvout.py - a result set as CSV (`tcplab csv`): one row per result file, the header
first. Columns: COLUMNS, then each metric of metrics.METRICS by its name (the value compare
reads: latencies in ns, throughput in bit/s, rates per second, errors a count; empty where
the run has none, e.g. a latency without transactions), then passed and the file. Booleans
are true/false; numbers as the JSON has them."""
from __future__ import annotations

import csv
import io
import sys
from typing import Any

from .errors import BadInput
from .inputs import Result
from .metrics import METRICS
from .resultset import config_of

COLUMNS = ("scenario", "backend", "topology", "config", "commit", "dirty", "started_at")
TAIL = ("passed", "file")


def header() -> list[str]:
    return [*COLUMNS, *(m.name for m in METRICS), *TAIL]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def row(path: Any, doc: dict[str, Any]) -> list[str]:
    head = [doc.get("scenario"), doc.get("backend"), doc.get("topology"), config_of(doc),
            doc.get("commit"), bool(doc.get("dirty")), doc.get("started_at")]
    return [_cell(v) for v in (*head, *(m.get(doc) for m in METRICS), doc.get("passed"),
                               str(path))]


def text(results: list[Result]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)	# RFC 4180: CRLF line ends, quotes where needed
    w.writerow(header())
    for path, doc in results:
        w.writerow(row(path, doc))
    return buf.getvalue()


def write(results: list[Result], out: str | None) -> None:
    """The CSV to @out; None or "-": stdout."""
    data = text(results)
    if out in (None, "-"):
        sys.stdout.write(data)
        return
    try:
        with open(out, "w", newline="", encoding="utf-8") as f:
            f.write(data)
    except OSError as e:
        raise BadInput(f"{out}: cannot write: {e.strerror}") from None
