"""Opting a user out of analytics forwarding, and back in: the call the platform makes when a
user changes the setting (``odyssey-workers analytics opt-out`` does the same by hand)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from jobs.analytics.trackers.models import AnalyticsOptOutRow
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.idempotent import insert_if_absent
from odyssey_workers.errors import PermanentError


class InvalidUserId(PermanentError):
    """A user id that is not a positive integer."""


def _checked(user_id: int) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        raise InvalidUserId(f"user id must be a positive integer, not {user_id!r}")
    return user_id


def set_analytics_opt_out(session: Session, user_id: int, opted_out: bool) -> bool:
    """Record the user's choice (in the caller's transaction); returns whether anything changed.

    From the next forwarding run on, none of an opted-out user's events reaches any tracker,
    including events stored before the choice that no tracker had forwarded yet.
    """
    user_id = _checked(user_id)
    if opted_out:
        row = {"user_id": user_id, "opted_out_at": utcnow()}
        return insert_if_absent(session, AnalyticsOptOutRow, [row], ["user_id"]) == 1
    removed = session.execute(delete(AnalyticsOptOutRow).where(AnalyticsOptOutRow.user_id == user_id))
    return bool(removed.rowcount)  # type: ignore[attr-defined]
