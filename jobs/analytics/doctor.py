"""What ``odyssey-workers doctor`` says about analytics: its tracker keys are read by nothing yet."""

from __future__ import annotations

from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from odyssey_workers.cli.doctor import Provider
from odyssey_workers.settings import Settings

PROVIDERS: list[Provider] = []
SELECTORS: list[tuple[str, str, str]] = []
NOT_FORWARDED = "no analytics forwarding exists yet"
UNREAD = {
    name: NOT_FORWARDED for name in ("mixpanel_token", "amplitude_api_key", "ga4_measurement_id", "ga4_api_secret")
}


def settings_for(settings: Settings) -> AnalyticsSettings:
    return analytics_settings(settings)
