"""The local default tracker: appends what would be sent, one JSON line per event, to a file.

Atomic per request: a request's lines are written with one ``write`` and ``fsync``ed before the
cursor moves; the file's length is stored with the cursor, and a run first cuts off anything past
it (lines a run wrote before dying uncommitted, or half a line), so each event is in the file
once, whole, whatever was killed when.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from odyssey_workers.providers.tracker_base import (
    Accepted,
    Answer,
    Limits,
    OutgoingEvent,
    Prepared,
    Tracker,
    TrackerDown,
    compact_json,
)

logger = logging.getLogger(__name__)

LIMITS = Limits(max_events=5000, max_bytes=16 * 1024 * 1024)
"""No provider's limits apply; these keep one write (and its memory) bounded."""


class JsonLinesTracker(Tracker):
    name = "file"
    limits = LIMITS

    def __init__(self, path: Path) -> None:
        self.path = path
        self.length: int | None = None

    def restore(self, committed_length: int | None) -> None:
        """Cut the file back to what the cursor covers (nothing to cut if it was never written)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        if committed_length is not None and committed_length < size:
            logger.warning(
                "file tracker: %s holds %d bytes no committed run wrote; cutting them off (they are sent again)",
                self.path,
                size - committed_length,
            )
            with self.path.open("r+b") as handle:
                handle.truncate(committed_length)
                os.fsync(handle.fileno())
            size = committed_length
        # A file shorter than the cursor says was moved or rotated away: start it afresh.
        self.length = size

    def prepare(self, event: OutgoingEvent) -> Prepared:
        line: dict[str, Any] = {
            "insert_id": event.insert_id,
            "event": event.name,
            "user_id": event.user_id,
            "anonymous_id": event.anonymous_id,
            "time": event.occurred_at.isoformat(),
            "properties": event.properties,
        }
        text = compact_json(line) + "\n"
        return Prepared(event=event, item=text, size=len(text.encode()))

    def post(self, items: Sequence[Any]) -> Answer:
        if self.length is None:
            raise RuntimeError("file tracker used before restore()")
        data = "".join(items).encode()
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                written = 0
                while written < len(data):  # one write is the usual case; a short write continues
                    written += os.write(descriptor, data[written:])
                os.fsync(descriptor)
            except OSError:
                os.ftruncate(descriptor, self.length)  # no half request left behind
                raise
            finally:
                os.close(descriptor)
        except OSError as exc:
            raise TrackerDown(f"file tracker: cannot append to {self.path}: {exc}") from exc
        self.length += len(data)
        return Accepted()

    def position(self) -> int | None:
        return self.length
