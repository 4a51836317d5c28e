"""Which channels a user gets an event on, and when: preferences, unsubscribes, quiet hours.

Pure functions over already-loaded rows, so the fan-out decides for a thousand users without a
query per user, and tests can check every rule without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobs.notifications.contracts import CHANNELS, EventSpec

QUIET_CHANNELS = frozenset({"email", "push", "sms"})  # a person's own devices; endpoints have no night


@dataclass(frozen=True)
class UserFacts:
    """What the decision needs to know about one user."""

    user_id: int
    email: str | None
    phone: str | None
    time_zone: str
    unsubscribed_all: bool = False
    quiet_start: str | None = None
    quiet_end: str | None = None
    preferences: Mapping[tuple[str, str], tuple[bool, bool | None]] = field(default_factory=dict)
    email_suppressed: bool = False
    push_targets: tuple[int, ...] = ()  # active push subscription ids
    webhook_targets: tuple[int, ...] = ()  # endpoint ids (kind webhook) that want this event
    discord_targets: tuple[int, ...] = ()


@dataclass(frozen=True)
class PlannedDelivery:
    channel: str
    target: str
    not_before: datetime | None = None  # quiet hours: send when the window ends
    held: bool = False  # email held for the weekly digest


@dataclass
class Plan:
    deliveries: list[PlannedDelivery]
    reasons: list[str]  # why each skipped channel was skipped

    @property
    def reason(self) -> str:
        return "no channel allowed: " + "; ".join(self.reasons)


def preference(facts: UserFacts, category: str, channel: str) -> tuple[bool, bool | None] | None:
    """The most specific preference row: (category, channel) > (category, *) > (*, channel) > (*, *)."""
    for key in ((category, channel), (category, "*"), ("*", channel), ("*", "*")):
        if key in facts.preferences:
            return facts.preferences[key]
    return None


def parse_clock(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


def quiet_until(facts: UserFacts, now: datetime) -> datetime | None:
    """The end of the user's quiet window (UTC) if ``now`` falls inside it, else None."""
    if not facts.quiet_start or not facts.quiet_end:
        return None
    try:
        zone = ZoneInfo(facts.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    start, end = parse_clock(facts.quiet_start), parse_clock(facts.quiet_end)
    if start == end:
        return None
    clock = local.time()
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    # Build the local wall time, then let the zone pick the offset (DST-safe enough for a window end).
    end_local = datetime.combine(end_day, end, tzinfo=zone)
    return end_local.astimezone(now.tzinfo)


def _targets(facts: UserFacts, channel: str) -> tuple[list[str], str | None]:
    if channel == "email":
        if not facts.email:
            return [], "email: no address"
        if facts.email_suppressed:
            return [], "email: address suppressed (bounce or complaint)"
        return [facts.email], None
    if channel == "sms":
        return ([facts.phone], None) if facts.phone else ([], "sms: no phone number")
    if channel == "push":
        targets = [f"push:{i}" for i in facts.push_targets]
        return targets, None if targets else "push: no active device"
    if channel == "webhook":
        targets = [f"endpoint:{i}" for i in facts.webhook_targets]
        return targets, None if targets else "webhook: no endpoint for this event"
    targets = [f"endpoint:{i}" for i in facts.discord_targets]
    return targets, None if targets else "discord: no Discord webhook for this event"


def plan_for(facts: UserFacts, event: EventSpec, now: datetime, channels: Iterable[str] | None = None) -> Plan:
    """Every delivery this user gets for ``event``, or the reasons there are none."""
    deliveries: list[PlannedDelivery] = []
    reasons: list[str] = []
    if facts.unsubscribed_all and not event.transactional:
        return Plan([], ["unsubscribed from all notifications"])
    wait = None if event.urgent else quiet_until(facts, now)
    for channel in channels or CHANNELS:
        if channel not in event.channels:
            continue
        pref = preference(facts, event.category, channel)
        enabled = pref[0] if pref is not None else channel in event.default_channels
        if not enabled:
            reasons.append(f"{channel}: off in preferences")
            continue
        targets, why = _targets(facts, channel)
        if why:
            reasons.append(why)
            continue
        digest = channel == "email" and (pref[1] if pref is not None and pref[1] is not None else event.digest_email)
        not_before = wait if channel in QUIET_CHANNELS else None
        deliveries.extend(
            PlannedDelivery(channel, target, None if digest else not_before, held=bool(digest)) for target in targets
        )
    return Plan(deliveries, reasons)
