"""HTTP range requests (RFC 9110 §14): one byte range of a stored file.

A ``<video>`` element asks for ``bytes=0-`` first and for other ranges when it
seeks; a download manager resumes with ``bytes=N-``. One range is served as
206; several ranges are answered with the whole file (a server may ignore
Range, and players never ask for more than one). A range that is malformed
or starts past the end is refused with 416.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
# Longer than any real header; keeps parsing bounded.
_MAX_HEADER = 200


class RangeNotSatisfiable(Exception):
    """The Range header is malformed or asks for nothing inside the file."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    length: int

    @property
    def end(self) -> int:
        """The last byte's offset (inclusive, as Content-Range writes it)."""
        return self.start + self.length - 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range ``header`` asks for in a file of ``size`` bytes; None for the whole file."""
    if header is None:
        return None
    unit, sep, spec = header.partition("=")
    if len(header) > _MAX_HEADER or not sep or unit.strip().lower() != "bytes":
        raise RangeNotSatisfiable(header[:_MAX_HEADER])
    parts = spec.split(",")
    for part in parts:  # every part must at least be well-formed
        if not _RANGE.match(part) or part.strip() == "-":
            raise RangeNotSatisfiable(header)
    if len(parts) > 1:
        return None
    first, last = _RANGE.match(parts[0]).groups()  # type: ignore[union-attr]
    if first == "":  # a suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        length = min(suffix, size)
        return ByteRange(size - length, length)
    start = int(first)
    end = size - 1 if last == "" else int(last)
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, min(end, size - 1) - start + 1)
