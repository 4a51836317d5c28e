"""Building blocks the report builders share: counts as figures, chart series and table rows."""

from __future__ import annotations

from collections.abc import Sequence

from jobs.analytics.reports.model import Number, Row, Series, Unit
from jobs.analytics.reports.reads import Counts

LABELS = {
    "views": "Views",
    "unique_viewers": "Unique viewers",
    "watch_seconds": "Watch time",
    "view_ends": "Completed views",
    "likes": "Likes",
    "comments": "Comments",
    "shares": "Shares",
    "follows": "Followers gained",
    "unfollows": "Unfollows",
    "subscribes": "Subscriptions",
    "purchases": "Purchases",
    "sessions": "Sessions",
    "engagement_rate": "Engagement rate",
    "completion_rate": "Completion rate",
}
RATES = ("engagement_rate", "completion_rate")


PLATFORM_TOTALS = (
    "views",
    "unique_viewers",
    "sessions",
    "watch_seconds",
    "likes",
    "comments",
    "shares",
    "follows",
    "subscribes",
    "purchases",
    "engagement_rate",
    "completion_rate",
)
"""The platform's figures for a period, in the daily and weekly platform reports."""


def value_of(counts: Counts, name: str) -> int | float | None:
    value: int | float | None = getattr(counts, name)
    return value


def unit_of(name: str) -> Unit:
    if name in RATES:
        return Unit.RATE
    return Unit.SECONDS if name == "watch_seconds" else Unit.COUNT


def figure(prefix: str, counts: Counts, name: str) -> Number:
    return Number(f"{prefix}.{name}", LABELS[name], value_of(counts, name), unit_of(name))


def figures(prefix: str, counts: Counts, names: Sequence[str]) -> tuple[Number, ...]:
    return tuple(figure(prefix, counts, name) for name in names)


def series(prefix: str, buckets: Sequence[Counts], keys: Sequence[str], name: str) -> Series:
    """One line: ``name``'s value in each bucket, metric ids ``<prefix>.<name>.<key>``."""
    return Series(
        LABELS[name],
        tuple(
            Number(f"{prefix}.{name}.{key}", LABELS[name], value_of(counts, name), unit_of(name))
            for key, counts in zip(keys, buckets, strict=True)
        ),
    )


def row(prefix: str, label: str, counts: Counts, names: Sequence[str]) -> Row:
    return Row(label, figures(prefix, counts, names))


def column_titles(first: str, names: Sequence[str]) -> tuple[str, ...]:
    return (first, *(LABELS[name] for name in names))
