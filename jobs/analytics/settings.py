"""The analytics domain's settings (``ANALYTICS_DRAIN_BATCH``, ...).

The stream's own bound, ``EVENT_STREAM_MAXLEN``, is the runtime's: producers read it in
``track`` without loading any domain.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr

from odyssey_workers.settings import DomainSettings, Settings, domain_settings


class AnalyticsSettings(DomainSettings):
    # --- analytics: event intake ---------------------------------------------------------------
    analytics_drain_batch: Annotated[int, Field(ge=1, le=50_000)] = 5000  # events read and inserted per round
    # At most 500: a run and its last batch must end within the drain job's 600 s timeout.
    analytics_drain_time_budget_seconds: Annotated[int, Field(ge=1, le=500)] = 50  # one run, then it returns
    analytics_drain_claim_idle_seconds: Annotated[int, Field(ge=1)] = 60  # a dead drain's events are taken after
    analytics_late_window_hours: Annotated[int, Field(ge=1, le=24 * 366)] = 72  # older events are rejected

    # --- analytics: live counters -------------------------------------------------------------
    # Also the widest window read; views that happened longer ago are stored but not counted live.
    analytics_live_retention_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60  # a minute's keys expire after

    # --- analytics: rollups ----------------------------------------------------------------------
    # PostgreSQL only: a rollup reads no event received in the last N seconds (a drain's open
    # transaction may still commit a lower id); SQLite commits ids in order and needs no lag.
    analytics_rollup_safety_lag_seconds: Annotated[int, Field(ge=0, le=3600)] = 120

    # --- analytics: user behaviour ------------------------------------------------------------
    analytics_funnel_window_days: Annotated[int, Field(ge=1, le=366)] = 14  # each step within N days of the first
    analytics_affinity_half_life_days: Annotated[int, Field(ge=1, le=3650)] = 30  # a weight halves every N days

    # --- analytics: trackers (accepted; nothing forwards to them yet, doctor says so) ----------
    mixpanel_token: SecretStr | None = None
    amplitude_api_key: SecretStr | None = None
    ga4_measurement_id: str | None = None
    ga4_api_secret: SecretStr | None = None


SETTINGS = AnalyticsSettings


def analytics_settings(settings: Settings | None = None) -> AnalyticsSettings:
    """The analytics settings, read at start with every other domain's."""
    return domain_settings(AnalyticsSettings, settings)
