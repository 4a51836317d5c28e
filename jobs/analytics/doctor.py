"""What ``odyssey-workers doctor`` says about analytics: which trackers events are forwarded to.

Mixpanel, Amplitude and GA4 are providers selected by ``ANALYTICS_TRACKERS`` (a list: a tracker
is selected when the list names it); the JSON-lines file gets its own line with its path.
"""

from __future__ import annotations

from typing import Any

from jobs.analytics.settings import analytics_settings
from jobs.analytics.trackers.registry import tracker_file
from odyssey_workers.cli.doctor import Check, Provider
from odyssey_workers.settings import Settings

NOT_CHOSEN = "not forwarded there"
PROVIDERS: list[Provider] = [
    Provider(
        "analytics: Mixpanel", ("mixpanel_token", "mixpanel_api_secret"), ("analytics_trackers", "mixpanel"), NOT_CHOSEN
    ),
    Provider("analytics: Amplitude", ("amplitude_api_key",), ("analytics_trackers", "amplitude"), NOT_CHOSEN),
    Provider("analytics: GA4", ("ga4_measurement_id", "ga4_api_secret"), ("analytics_trackers", "ga4"), NOT_CHOSEN),
]
SELECTORS: list[tuple[str, str, str]] = []
UNREAD: dict[str, str] = {}


class ChosenTrackers(tuple[str, ...]):
    """The chosen trackers; equal to one tracker's name when they include it, which is how
    doctor's provider selector (a setting equal to a value) reads a list."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other in tuple(self)
        return tuple.__eq__(self, other)

    __hash__ = tuple.__hash__

    def __str__(self) -> str:
        return ",".join(self)


class _DoctorView:
    """The analytics settings, with ``analytics_trackers`` as a ``ChosenTrackers``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = analytics_settings(settings)
        self.analytics_trackers = ChosenTrackers(self._settings.analytics_trackers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._settings, name)


def settings_for(settings: Settings) -> Any:
    return _DoctorView(settings)


def more_checks(settings: Settings) -> list[Check]:
    chosen = analytics_settings(settings)
    if "file" not in chosen.analytics_trackers:
        return []
    return [
        Check(
            "analytics: JSON-lines file", "default", f"ANALYTICS_TRACKERS names file; writes to {tracker_file(chosen)}"
        )
    ]
