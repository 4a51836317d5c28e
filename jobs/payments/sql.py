"""Small SQL helpers shared by the payments modules: chunking IN lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_CHUNK = 900
"""Most values bound in one IN (...) list; SQLite's old variable limit is 999."""


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
