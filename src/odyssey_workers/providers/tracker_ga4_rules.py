"""The Measurement Protocol's rules for events, as its debug endpoint (``/debug/mp/collect``) checks them.

GA4's collect endpoint answers 2xx even for events it then discards, so nothing comes back to
act on: every event is checked here first, and what breaks a rule is fixed where that is safe
(a parameter left out) or the event dropped with the rule named.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

MAX_EVENTS = 25
"""Events per request."""

MAX_BODY_BYTES = 130_000
"""A request body must be under 130 kB."""

MAX_NAME_CHARS = 40
MAX_PARAMS = 25
MAX_PARAM_VALUE_CHARS = 100
MAX_USER_ID_CHARS = 256
MAX_AGE = timedelta(hours=72)
"""Events older than this (by ``timestamp_micros``) are not accepted."""

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
RESERVED_EVENT_NAMES = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_impression",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_background",
        "app_clear_data",
        "app_exception",
        "app_remove",
        "app_store_refund",
        "app_store_subscription_cancel",
        "app_store_subscription_convert",
        "app_store_subscription_renew",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "os_update",
        "session_start",
        "session_start_with_rollout",
        "user_engagement",
    }
)
RESERVED_PARAM_NAMES = frozenset({"firebase_conversion"})


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` may not be an event or parameter name, or None."""
    if not name or len(name) > MAX_NAME_CHARS:
        return f"{what} name {name!r} must be 1 to {MAX_NAME_CHARS} characters"
    if not NAME.match(name):
        return f"{what} name {name!r} must start with a letter and hold only letters, digits and underscores"
    if name.lower().startswith(RESERVED_PREFIXES):
        return f"{what} name {name!r} starts with a reserved prefix"
    reserved = RESERVED_EVENT_NAMES if what == "event" else RESERVED_PARAM_NAMES
    if name in reserved:
        return f"{what} name {name!r} is reserved"
    return None


def param_value(value: Any) -> str | int | float | None:
    """``value`` as a parameter value GA4 takes (a short string or a number), or None if it has none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and len(value) <= MAX_PARAM_VALUE_CHARS:
        return value
    return None  # objects, lists, null and long strings: GA4 refuses the parameter


def clean_params(candidates: list[tuple[str, Any]]) -> dict[str, str | int | float]:
    """The parameters GA4 takes, in the order given, at most ``MAX_PARAMS``; the others left out."""
    params: dict[str, str | int | float] = {}
    for key, value in candidates:
        if len(params) == MAX_PARAMS:
            break
        converted = param_value(value)
        if converted is not None and name_problem(key, "parameter") is None and key not in params:
            params[key] = converted
    return params


def event_problem(name: str, occurred_at: datetime, now: datetime) -> str | None:
    """Why an event cannot be sent to GA4 at all, or None."""
    problem = name_problem(name, "event")
    if problem:
        return problem
    if occurred_at < now - MAX_AGE:
        return f"it happened {occurred_at:%Y-%m-%d %H:%M} UTC, over 72 hours ago (GA4 takes no older event)"
    return None
