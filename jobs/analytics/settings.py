"""The analytics domain's settings (``ANALYTICS_DRAIN_BATCH``, ...).

The stream's own bound, ``EVENT_STREAM_MAXLEN``, is the runtime's: producers read it in
``track`` without loading any domain.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, SecretStr, model_validator

from odyssey_workers.settings import DomainSettings, Settings, domain_settings

ReportBaseUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
"""An http(s) URL with a host; a trailing slash is dropped when a link is made."""


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

    # --- analytics: raw event storage and retention ---------------------------------------------
    # Whole months of raw events kept before the current one; older months are dropped
    # (PostgreSQL: their partitions) or deleted in chunks (SQLite). Must outlast the late window.
    analytics_raw_retention_months: Annotated[int, Field(ge=1, le=1200)] = 13  # months kept before this one
    # --- analytics: platform, creator and revenue metrics -----------------------------------
    analytics_trend_baseline_days: Annotated[int, Field(ge=7, le=365)] = 28  # days a trend's z-score compares with
    analytics_anomaly_z_threshold: Annotated[float, Field(gt=0, le=100)] = 3.0  # abs(z) from which a day is flagged
    # --- analytics: user behaviour ------------------------------------------------------------
    analytics_funnel_window_days: Annotated[int, Field(ge=1, le=366)] = 14  # each step within N days of the first
    analytics_affinity_half_life_days: Annotated[int, Field(ge=1, le=3650)] = 30  # a weight halves every N days

    # --- analytics: reports --------------------------------------------------------------------
    analytics_report_top_rows: Annotated[int, Field(ge=1, le=100)] = 10  # rows of a report's top lists
    # A site serving the storage, for the links sent to creators. Unset: the storage's own URL
    # (file:// locally; on S3 a presigned URL, which expires after an hour).
    analytics_report_base_url: ReportBaseUrl | None = None  # a link is this URL, "/", the report's key

    # --- analytics: trackers (accepted; nothing forwards to them yet, doctor says so) ----------
    mixpanel_token: SecretStr | None = None
    amplitude_api_key: SecretStr | None = None
    ga4_measurement_id: str | None = None
    ga4_api_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _retention_outlasts_the_late_window(self) -> Self:
        # The shortest span retention keeps behind now is that many 28-day months: an event the
        # drain may still accept must never fall in a month retention drops.
        kept_hours = self.analytics_raw_retention_months * 28 * 24
        if kept_hours <= self.analytics_late_window_hours:
            raise ValueError(
                f"ANALYTICS_RAW_RETENTION_MONTHS={self.analytics_raw_retention_months} keeps as little as"
                f" {kept_hours} hours, not more than ANALYTICS_LATE_WINDOW_HOURS="
                f"{self.analytics_late_window_hours}: events the drain still accepts would be dropped"
            )
        return self


SETTINGS = AnalyticsSettings


def analytics_settings(settings: Settings | None = None) -> AnalyticsSettings:
    """The analytics settings, read at start with every other domain's."""
    return domain_settings(AnalyticsSettings, settings)
