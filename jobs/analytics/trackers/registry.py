"""The trackers by name, each built from the analytics settings (keys checked when those load)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from jobs.analytics.settings import AnalyticsSettings
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers.tracker_base import Tracker
from odyssey_workers.settings import get_settings

TRACKER_NAMES = ("file", "mixpanel", "amplitude", "ga4")


def tracker_file(settings: AnalyticsSettings) -> Path:
    """The file tracker's JSON-lines file."""
    return settings.analytics_tracker_file or (get_settings().var_dir / "analytics" / "trackers.jsonl")


def _secret(value: object, name: str) -> str:
    """A key's value; the settings' validator already refused a chosen tracker without it."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, str) and value:
        return value
    raise ConfigurationError(f"{name.upper()} is not set (ANALYTICS_TRACKERS names a tracker that needs it)")


def build_tracker(name: str, settings: AnalyticsSettings) -> Tracker:
    """The tracker called ``name``, ready to send (an HTTP tracker holds a client: close it)."""
    timeout = settings.analytics_tracker_timeout_seconds
    if name == "file":
        from jobs.analytics.trackers.jsonlines import JsonLinesTracker

        return JsonLinesTracker(tracker_file(settings))
    if name == "mixpanel":
        from odyssey_workers.providers.tracker_mixpanel import MixpanelTracker

        token = _secret(settings.mixpanel_token, "mixpanel_token")
        api_secret = _secret(settings.mixpanel_api_secret, "mixpanel_api_secret")
        return MixpanelTracker(token, api_secret, settings.mixpanel_import_url, timeout)
    if name == "amplitude":
        from odyssey_workers.providers.tracker_amplitude import AmplitudeTracker

        api_key = _secret(settings.amplitude_api_key, "amplitude_api_key")
        return AmplitudeTracker(api_key, settings.amplitude_url, timeout, settings.amplitude_throttle_pause_seconds)
    if name == "ga4":
        from odyssey_workers.providers.tracker_ga4 import Ga4Tracker

        measurement_id = _secret(settings.ga4_measurement_id, "ga4_measurement_id")
        ga4_secret = _secret(settings.ga4_api_secret, "ga4_api_secret")
        return Ga4Tracker(measurement_id, ga4_secret, settings.ga4_collect_url, timeout)
    raise ValueError(f"unknown tracker {name!r} (trackers: {', '.join(TRACKER_NAMES)})")
