"""Each signed-in user's interaction preferences: an affinity per creator and per category.

The score of one (user, creator) or (user, category) pair, as of a time T, is

    score = sum over the user's interactions e with it of  weight(e) * 0.5 ** ((T - t_e) / H)

where t_e is when the interaction happened (a future one counts as now), H is
``ANALYTICS_AFFINITY_HALF_LIFE_DAYS`` (30) and the weights are ``WEIGHTS``: a view 1, each
minute watched 1, a like 2, a comment 3, a share 4, a follow 5, an unfollow -5 (it cancels the
follow), a subscribe 10. Minutes watched are those a view (user, session, content) adds to the
highest ``seconds_watched`` it had reported before (the value is cumulative; earlier reports
are looked for up to ``VIEW_MAX``, 24 hours, before the new ones), dated at its newest report.
The creator is the event's ``creator_id``; the category is the event's
``properties.category`` (a text of 1-64 characters; content has no category column anywhere in
the platform, so the producer's property is the only source). Anonymous visitors get no rows.

A run is incremental by ingestion watermark: it reads the events past it, and for each user
they name it decays that user's stored rows to the run's time (``score * 0.5 ** (age / H)``),
adds the new interactions' decayed weights and rewrites all of the user's rows with the run's
time as ``updated_at``. Decay is multiplicative, so this equals recomputing from every event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jobs.analytics.behaviour_models import AffinityKind, UserAffinityRow
from jobs.analytics.behaviour_watermarks import lock_watermark, readable_upto
from jobs.analytics.contracts import EventType
from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.settings import AnalyticsSettings
from odyssey_workers.db.base import table_of, utcnow

WATERMARK = "preferences"

WEIGHTS: dict[EventType, float] = {
    EventType.VIEW_START: 1.0,
    EventType.LIKE: 2.0,
    EventType.COMMENT: 3.0,
    EventType.SHARE: 4.0,
    EventType.FOLLOW: 5.0,
    EventType.UNFOLLOW: -5.0,
    EventType.SUBSCRIBE: 10.0,
}
"""The weight of one interaction of each type; watching is weighted per minute (``PER_MINUTE``)."""

PER_MINUTE_WATCHED = 1.0

CATEGORY_MAX_CHARS = 64
CHUNK = 500  # ids per IN list and rows per INSERT: far below either database's parameter limit

Key = tuple[AffinityKind, str]


def category_of(properties: dict[str, Any]) -> str | None:
    """The event's category: ``properties.category`` when it is a usable text, else none."""
    value = properties.get("category")
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= CATEGORY_MAX_CHARS else None


def keys_of(creator_id: int | None, properties: dict[str, Any]) -> list[Key]:
    keys: list[Key] = [] if creator_id is None else [(AffinityKind.CREATOR, str(creator_id))]
    category = category_of(properties)
    return keys if category is None else [*keys, (AffinityKind.CATEGORY, category)]


def decay(score: float, age: timedelta, half_life: timedelta) -> float:
    factor: float = 0.5 ** (max(age, timedelta(0)) / half_life)
    return score * factor


@dataclass
class PreferencesRun:
    from_event_id: int
    to_event_id: int
    events_read: int = 0
    users: int = 0
    rows_written: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "from_event_id": self.from_event_id,
            "to_event_id": self.to_event_id,
            "events_read": self.events_read,
            "users": self.users,
            "rows_written": self.rows_written,
        }


def _chunks(values: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(values)
    for first in range(0, len(ordered), CHUNK):
        yield ordered[first : first + CHUNK]


VIEW_MAX = timedelta(hours=24)
"""How long before its first new report a view's earlier reports are looked for: longer than a view lasts."""

View = tuple[int, str | None, int | None]  # user, session, content
Progress = tuple[View, int | None, datetime, dict[str, Any]]  # the view, its creator, when, properties


def _watched(session: Session, after_id: int, new: list[Progress]) -> Iterator[tuple[int, list[Key], float, datetime]]:
    """Each view with new progress reports: (user, its keys, minutes it added, when it last reported).

    The minutes a view adds are its new highest ``seconds_watched`` over the highest it had
    reported before this run. Those earlier reports are found through the ``occurred_at`` index,
    within ``VIEW_MAX`` before the new reports, not by scanning each user's whole history.
    """
    after: dict[View, tuple[float, datetime, list[Key]]] = {}
    for view, creator_id, occurred_at, properties in new:
        seconds = float(properties.get("seconds_watched", 0))
        best, latest, keys = after.get(view, (0.0, occurred_at, []))
        after[view] = (max(best, seconds), max(latest, occurred_at), keys or keys_of(creator_id, properties))
    if not after:
        return
    before: dict[View, float] = {}
    events = AnalyticsEventRow
    earlier = session.execute(
        select(events.user_id, events.session_id, events.content_id, events.properties).where(
            events.type == EventType.VIEW_PROGRESS,
            events.id <= after_id,
            events.occurred_at >= min(moment for _view, _creator, moment, _properties in new) - VIEW_MAX,
            events.occurred_at <= max(moment for _view, _creator, moment, _properties in new),
            events.user_id.is_not(None),
        )
    )
    for user_id, session_id, content_id, properties in earlier:
        view = (user_id, session_id, content_id)
        if view in after:
            before[view] = max(before.get(view, 0.0), float(properties.get("seconds_watched", 0)))
    for view, (best, latest, keys) in after.items():
        added = best - before.get(view, 0.0)
        if added > 0 and keys:
            yield view[0], keys, added / 60 * PER_MINUTE_WATCHED, latest


def _contributions(
    session: Session, after_id: int, upto_id: int, now: datetime, half_life: timedelta
) -> tuple[int, dict[int, dict[Key, float]]]:
    """How many events were read, and each user's new decayed weight per key."""
    events = AnalyticsEventRow
    added: dict[int, dict[Key, float]] = defaultdict(lambda: defaultdict(float))
    progress: list[Progress] = []
    count = 0
    rows = session.execute(
        select(events.type, events.user_id, events.session_id, events.content_id, events.creator_id)
        .add_columns(events.occurred_at, events.properties)
        .where(events.id > after_id, events.id <= upto_id)
        .execution_options(yield_per=10_000)
    )
    for kind, user_id, session_id, content_id, creator_id, occurred_at, properties in rows:
        count += 1
        if user_id is None:
            continue
        if kind is EventType.VIEW_PROGRESS:
            progress.append(((user_id, session_id, content_id), creator_id, occurred_at, properties))
        elif kind in WEIGHTS:
            weight = decay(WEIGHTS[kind], now - occurred_at, half_life)
            for key in keys_of(creator_id, properties):
                added[user_id][key] += weight
    for user_id, keys, minutes, latest in _watched(session, after_id, progress):
        for key in keys:
            added[user_id][key] += decay(minutes, now - latest, half_life)
    return count, added


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """One statement, executed for many rows: compiled once (a multi-row VALUES is compiled per call)."""
    table = table_of(UserAffinityRow)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    upsert = statement.on_conflict_do_update(
        index_elements=["user_id", "kind", "key"],
        set_={"score": statement.excluded.score, "updated_at": statement.excluded.updated_at},
    )
    for first in range(0, len(rows), CHUNK * 10):
        session.execute(upsert, rows[first : first + CHUNK * 10])


def run_preferences(session: Session, settings: AnalyticsSettings, now: datetime | None = None) -> PreferencesRun:
    """One incremental run, in the caller's transaction (commit to keep it)."""
    now = now or utcnow()
    half_life = timedelta(days=settings.analytics_affinity_half_life_days)
    watermark = lock_watermark(session, WATERMARK)
    upto = readable_upto(session, watermark.last_event_id, settings, now)
    run = PreferencesRun(from_event_id=watermark.last_event_id, to_event_id=upto)
    if upto == watermark.last_event_id:
        return run
    run.events_read, added = _contributions(session, watermark.last_event_id, upto, now, half_life)
    scores: dict[int, dict[Key, float]] = {user: dict(keys) for user, keys in added.items()}
    for chunk in _chunks(added):
        for row in session.scalars(select(UserAffinityRow).where(UserAffinityRow.user_id.in_(chunk))):
            key = (row.kind, row.key)
            scores[row.user_id][key] = scores[row.user_id].get(key, 0.0) + decay(
                row.score, now - row.updated_at, half_life
            )
    rows = [
        {"user_id": user, "kind": kind, "key": key, "score": score, "updated_at": now}
        for user, keys in sorted(scores.items())
        for (kind, key), score in sorted(keys.items())
    ]
    _upsert(session, rows)
    run.users, run.rows_written = len(scores), len(rows)
    watermark.last_event_id, watermark.updated_at = upto, now
    return run


@dataclass(frozen=True)
class Affinity:
    key: str  # a creator's id as text, or a category
    score: float  # as of updated_at
    updated_at: datetime


def top_affinities(session: Session, user_id: int, kind: AffinityKind, limit: int = 10) -> list[Affinity]:
    """The user's strongest positive affinities of ``kind``, strongest first (ties by key)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    row = UserAffinityRow
    rows = session.scalars(
        select(row)
        .where(row.user_id == user_id, row.kind == kind, row.score > 0)
        .order_by(row.score.desc(), row.key)
        .limit(limit)
    )
    return [Affinity(key=entry.key, score=entry.score, updated_at=entry.updated_at) for entry in rows]
