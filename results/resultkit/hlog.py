"""hlog.py - a run's interval log (NAME.hlog beside NAME.json: HdrHistogram's log format 1.3,
one V2-compressed histogram a second, harness/result/hdr.c) read back into per-second
figures: the count, p50, p99 and max of each interval, for the report's latency-over-time
plot. Written from the format's description: base64, a cookie and a length, zlib, a
40-byte big-endian header, then the counts as ZigZag LEB128 words with runs of zeros as one
negative word; the counts index the harness's histogram layout (hist.h: 2048 sub-buckets,
unit 1 ns)."""
from __future__ import annotations

import base64
import binascii
import struct
import zlib
from pathlib import Path
from typing import Any

from .errors import BadInput

COOKIE = 0x1c849313
COOKIE_COMPRESSED = 0x1c849314
HEADER = ">IIiiqqd"


def _words(data: bytes) -> list[int]:
    out, i = [], 0
    while i < len(data):
        v = shift = n = 0
        while True:
            b = data[i]
            i += 1
            n += 1
            if n == 9:	# the ninth byte keeps all 8 bits
                v |= b << shift
                break
            v |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append((v >> 1) ^ -(v & 1))
    return out


def counts(text: str) -> list[int]:
    """One encoded histogram's counts, by index; ValueError when it is not one."""
    raw = base64.b64decode(text, validate=True)
    cookie, length = struct.unpack(">II", raw[:8])
    if cookie != COOKIE_COMPRESSED:
        raise ValueError(f"cookie {cookie:#x}, expected {COOKIE_COMPRESSED:#x}")
    plain = zlib.decompress(raw[8:8 + length])
    cookie, payload = struct.unpack(">II", plain[:8])
    if cookie != COOKIE or payload != len(plain) - struct.calcsize(HEADER):
        raise ValueError("not a V2 histogram")
    out: list[int] = []
    for w in _words(plain[struct.calcsize(HEADER):]):
        out += [0] * -w if w < 0 else [w]
    return out


def bucket_hi(index: int) -> int:
    """The highest value (ns) of counts index @index."""
    if index < 2048:
        return index
    shift = (index >> 10) - 1
    return ((index - (shift << 10)) << shift) + (1 << shift) - 1


def _percentile(c: list[int], total: int, p: float) -> int:
    rank = max(1, -(-total * p // 100))	# nearest rank
    seen = 0
    for i, n in enumerate(c):
        seen += n
        if seen >= rank:
            return bucket_hi(i)
    return bucket_hi(len(c) - 1)


def read(path: Path) -> list[dict[str, Any]]:
    """Each interval of @path: start_s, length_s, count, p50_ns, p99_ns, max_ns (the
    interval's own max, from its Interval_Max column)."""
    out = []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read: {e}") from None
    for no, line in enumerate(lines, 1):
        if not line or line.startswith("#") or line.startswith('"'):
            continue
        try:
            start, length, max_ms, text = line.split(",", 3)
            c = counts(text)
        except (ValueError, struct.error, zlib.error, binascii.Error) as e:
            raise BadInput(f"{path}:{no}: not an interval line ({e})") from None
        total = sum(c)
        if total == 0:
            continue
        top = round(float(max_ms) * 1e6)
        out.append({"start_s": float(start), "length_s": float(length), "count": total,
                    "p50_ns": min(_percentile(c, total, 50), top),
                    "p99_ns": min(_percentile(c, total, 99), top), "max_ns": top})
    return out
