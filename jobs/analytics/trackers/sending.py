"""The loop every tracker is sent through: pieces within the limits, and each answer acted on.

* a piece is as many consecutive events as fit the provider's event count and body size (and,
  for GA4, share one client; for Amplitude, hold at most 30 of one user or device);
* 413 halves the piece and sends each half (an event too large alone is dropped);
* 400 naming events drops exactly those and sends the rest again (unless the provider says it
  stored them already);
* 429, 5xx and no answer wait (the provider's pause, else a doubling backoff) and try the same
  piece again, up to ``ANALYTICS_TRACKER_ATTEMPTS``; then the tracker is down for this run;
* after each piece, ``commit`` moves the cursor over it, so a run stopped anywhere loses
  nothing and sends again only the piece it was in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from odyssey_workers.providers.tracker_base import (
    Accepted,
    BadEvents,
    Busy,
    OutgoingEvent,
    Prepared,
    Refused,
    TooLarge,
    Tracker,
    TrackerDown,
    TrackerRefused,
)

logger = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 300.0
"""The longest pause before a retry, whatever a provider's Retry-After asks."""


@dataclass
class Counts:
    """What happened to events (and requests) since the last commit."""

    forwarded: int = 0  # taken by the tracker
    dropped: int = 0  # refused for good by it, or unsendable to it: never sent again
    retried: int = 0  # requests sent again after a busy answer
    skipped: int = 0  # left out on purpose before mapping: opted-out users

    def add(self, other: Counts) -> None:
        self.forwarded += other.forwarded
        self.dropped += other.dropped
        self.retried += other.retried
        self.skipped += other.skipped

    def as_dict(self) -> dict[str, int]:
        return {"forwarded": self.forwarded, "dropped": self.dropped, "retried": self.retried, "skipped": self.skipped}


Commit = Callable[[int, Counts], None]
"""Move the cursor to this analytics_events id, with what happened since the last commit."""


def pieces(prepared: Sequence[Prepared], tracker: Tracker) -> Iterator[list[Prepared]]:
    """Consecutive runs of events that each fit one request of ``tracker``."""
    limits, per_identity = tracker.limits, tracker.max_per_identity
    piece: list[Prepared] = []
    size = tracker.envelope_bytes
    counts: dict[str, int] = {}  # events of each identity in the piece
    for entry in prepared:
        fits = (
            len(piece) < limits.max_events
            and size + entry.size <= limits.max_bytes
            and (not piece or piece[0].group == entry.group)
            and (per_identity is None or all(counts.get(who, 0) < per_identity for who in entry.identities))
        )
        if piece and not fits:
            yield piece
            piece, size, counts = [], tracker.envelope_bytes, {}
        piece.append(entry)
        size += entry.size
        for who in entry.identities:
            counts[who] = counts.get(who, 0) + 1
    if piece:
        yield piece


class Sender:
    """Sends pages of events to one tracker, committing after each piece."""

    def __init__(
        self,
        tracker: Tracker,
        commit: Commit,
        attempts: int,
        backoff_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float = float("inf"),
    ) -> None:
        self.tracker = tracker
        self.commit = commit
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.deadline = deadline  # time.monotonic() by which a wait must end (the run's time budget)
        self.counts = Counts()  # since the last commit

    def _drop(self, event: OutgoingEvent, reason: str) -> None:
        logger.warning("%s: event %s (%s) dropped: %s", self.tracker.name, event.insert_id, event.name, reason)
        self.counts.dropped += 1

    def _commit(self, upto_id: int) -> None:
        counts, self.counts = self.counts, Counts()
        self.commit(upto_id, counts)

    def send_page(self, events: Sequence[OutgoingEvent], last_id: int, skipped: int = 0) -> None:
        """Send one page (events in id order, ``skipped`` left out of it); the cursor ends at ``last_id``."""
        self.counts.skipped += skipped
        prepared: list[Prepared] = []
        for event in events:
            entry = self.tracker.prepare(event)
            if isinstance(entry, str):
                self._drop(event, entry)
            elif self.tracker.envelope_bytes + entry.size > self.tracker.limits.max_bytes:
                self._drop(
                    event, f"{entry.size:,} bytes alone, over the {self.tracker.limits.max_bytes:,}-byte request"
                )
            else:
                prepared.append(entry)
        for piece in pieces(prepared, self.tracker):
            self._send(piece)
            self._commit(piece[-1].event.row_id)
        self._commit(last_id)

    def _wait(self, attempt: int, answer: Busy) -> None:
        seconds = answer.wait if answer.wait is not None else self.backoff_seconds * 2 ** (attempt - 1)
        seconds = min(seconds, MAX_WAIT_SECONDS)
        if time.monotonic() + seconds > self.deadline:
            raise TrackerDown(
                f"{self.tracker.name} busy ({answer.detail}); the wait of {seconds:g} s "
                "would pass the run's time budget, so the next run tries again"
            )
        self.sleep(seconds)

    def _send(self, piece: list[Prepared]) -> None:
        attempt = 0
        while piece:
            self.tracker.pace(piece)
            answer = self.tracker.post([entry.item for entry in piece])
            if isinstance(answer, Accepted):
                self.counts.forwarded += len(piece)
                return
            if isinstance(answer, TooLarge):
                if len(piece) == 1:
                    self._drop(piece[0].event, f"too large for one request ({answer.detail})")
                    return
                half = len(piece) // 2
                logger.info("%s: request of %d events too large; halving it", self.tracker.name, len(piece))
                self._send(piece[:half])
                self._send(piece[half:])
                return
            if isinstance(answer, BadEvents):
                named = {index: reason for index, reason in answer.reasons.items() if 0 <= index < len(piece)}
                if not named:
                    raise TrackerRefused(f"{self.tracker.name} refused a request naming no event of it: {answer}")
                for index, reason in sorted(named.items()):
                    self._drop(piece[index].event, reason)
                rest = [entry for index, entry in enumerate(piece) if index not in named]
                if answer.others_taken:
                    self.counts.forwarded += len(rest)
                    return
                piece = rest
                continue
            if isinstance(answer, Refused):
                raise TrackerRefused(f"{self.tracker.name} refused the request: {answer.detail}")
            attempt += 1
            if attempt >= self.attempts:
                raise TrackerDown(f"{self.tracker.name} still unavailable after {attempt} attempts: {answer.detail}")
            self.counts.retried += 1
            logger.info("%s busy (%s); retry %d of %d", self.tracker.name, answer.detail, attempt, self.attempts - 1)
            self._wait(attempt, answer)
