"""The trackers by name, each built from the analytics settings (keys checked when those load)."""

from __future__ import annotations

from pathlib import Path

from jobs.analytics.settings import AnalyticsSettings
from jobs.analytics.trackers.base import Tracker
from odyssey_workers.settings import get_settings

TRACKER_NAMES = ("file", "mixpanel", "amplitude", "ga4")


def tracker_file(settings: AnalyticsSettings) -> Path:
    """The file tracker's JSON-lines file."""
    return settings.analytics_tracker_file or (get_settings().var_dir / "analytics" / "trackers.jsonl")


def _secret(value: object) -> str:
    from pydantic import SecretStr

    assert isinstance(value, SecretStr)  # the settings' validator made sure the chosen tracker has it
    return value.get_secret_value()


def build_tracker(name: str, settings: AnalyticsSettings) -> Tracker:
    """The tracker called ``name``, ready to send (an HTTP tracker holds a client: close it)."""
    timeout = settings.analytics_tracker_timeout_seconds
    if name == "file":
        from jobs.analytics.trackers.jsonlines import JsonLinesTracker

        return JsonLinesTracker(tracker_file(settings))
    if name == "mixpanel":
        from jobs.analytics.trackers.mixpanel import MixpanelTracker

        return MixpanelTracker(
            _secret(settings.mixpanel_token),
            _secret(settings.mixpanel_api_secret),
            settings.mixpanel_import_url,
            timeout,
        )
    if name == "amplitude":
        from jobs.analytics.trackers.amplitude import AmplitudeTracker

        return AmplitudeTracker(
            _secret(settings.amplitude_api_key),
            settings.amplitude_url,
            timeout,
            settings.amplitude_throttle_pause_seconds,
        )
    if name == "ga4":
        from jobs.analytics.trackers.ga4 import Ga4Tracker

        assert settings.ga4_measurement_id
        return Ga4Tracker(
            settings.ga4_measurement_id, _secret(settings.ga4_api_secret), settings.ga4_collect_url, timeout
        )
    raise ValueError(f"unknown tracker {name!r} (trackers: {', '.join(TRACKER_NAMES)})")
