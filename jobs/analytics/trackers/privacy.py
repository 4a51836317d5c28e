"""What never leaves for a tracker: email addresses, phone numbers, and opted-out users' events.

A property goes when its key names contact data (``email``, ``phone``, ...) or its value holds
an email address or a phone number anywhere in it, at any depth: a search query typed as an
address is contact data too. Dropping the whole property (not masking part of it) means no
partial address can slip through a pattern that found only half of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.analytics.trackers.models import AnalyticsOptOutRow

CONTACT_KEY = re.compile(r"e[-_ ]?mail|phone|mobile|msisdn|whatsapp|(^|[^a-z])(tel|sms|fax)([^a-z]|$)", re.IGNORECASE)
"""A key that names contact data, whatever its value looks like."""

EMAIL = re.compile(r"(?<=[^\s@<>()\[\],;:\"])@[^\s@<>()\[\],;:\"]+\.[A-Za-z]{2,}")
"""An ``@`` with a local part before it and a dotted domain after; matched from the ``@`` so a
long text costs one pass, not one per starting character."""

PHONE = re.compile(r"(?<![\w.:/-])\+?\(?\d[\d ().\-/]{5,24}\d(?![\w.:/-])")
"""A run of digits with the separators phone numbers are written with (checked for 7-15 digits);
bounded, as no phone number is longer, so a long run of digits costs a bounded look per start."""

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _looks_like_phone(candidate: str) -> bool:
    digits = sum(character.isdigit() for character in candidate)
    if not 7 <= digits <= 15 or ISO_DATE.match(candidate):
        return False
    # A plain number with no separators and no "+" is a count or an id, not a number to dial.
    return candidate.startswith("+") or any(not character.isdigit() for character in candidate)


def holds_contact_data(text: str) -> bool:
    """Whether ``text`` holds an email address or a phone number anywhere in it."""
    if EMAIL.search(text):
        return True
    return any(_looks_like_phone(match.group()) for match in PHONE.finditer(text))


def _clean(value: Any) -> tuple[Any, bool]:
    """``value`` without contact data, and whether it was contact data as a whole."""
    if isinstance(value, str):
        return value, holds_contact_data(value)
    if isinstance(value, dict):
        return clean_properties(value), False
    if isinstance(value, list):
        kept = [cleaned for cleaned, contact in map(_clean, value) if not contact]
        return kept, False
    return value, False


def clean_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """``properties`` without any key naming contact data or value holding it, at any depth."""
    kept: dict[str, Any] = {}
    for key, value in properties.items():
        if CONTACT_KEY.search(key) or holds_contact_data(key):
            continue
        cleaned, contact = _clean(value)
        if not contact:
            kept[key] = cleaned
    return kept


def opted_out(session: Session, user_ids: Iterable[int]) -> set[int]:
    """Which of ``user_ids`` opted out of analytics."""
    wanted = sorted(set(user_ids))
    found: set[int] = set()
    for first in range(0, len(wanted), 500):  # stay far below every database's parameter limit
        chunk = wanted[first : first + 500]
        found.update(session.scalars(select(AnalyticsOptOutRow.user_id).where(AnalyticsOptOutRow.user_id.in_(chunk))))
    return found
