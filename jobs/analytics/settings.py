"""The analytics domain's settings (``ANALYTICS_DRAIN_BATCH``, ...).

The stream's own bound, ``EVENT_STREAM_MAXLEN``, is the runtime's: producers read it in
``track`` without loading any domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, model_validator

from odyssey_workers.settings import DomainSettings, Settings, domain_settings

ReportBaseUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
"""An http(s) URL with a host; a trailing slash is dropped when a link is made."""

TrackerName = Literal["file", "mixpanel", "amplitude", "ga4"]


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

    # --- analytics: trackers ---------------------------------------------------------------------
    # Where accepted events are forwarded (a JSON list, as ["file", "mixpanel"]). "file" writes what
    # would be sent to ANALYTICS_TRACKER_FILE; each other tracker needs its keys below.
    analytics_trackers: list[TrackerName] = ["file"]  # a JSON list of: file, mixpanel, amplitude, ga4
    analytics_tracker_file: Path | None = None  # JSON lines; default: VAR_DIR/analytics/trackers.jsonl
    analytics_forward_batch: Annotated[int, Field(ge=1, le=50_000)] = 5000  # events read per round
    # At most 240: the run, plus one request in flight (ANALYTICS_TRACKER_TIMEOUT_SECONDS, at most 60),
    # ends within the forward job's 300 s timeout. Shared by the trackers, each an equal part of what is left.
    analytics_forward_time_budget_seconds: Annotated[int, Field(ge=1, le=240)] = 50  # one run, all trackers
    analytics_tracker_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0  # one HTTP request
    analytics_tracker_attempts: Annotated[int, Field(ge=1, le=10)] = 4  # per request, on 429/5xx/no answer
    analytics_tracker_backoff_seconds: Annotated[float, Field(ge=0, le=60)] = 1.0  # doubled each retry
    amplitude_throttle_pause_seconds: Annotated[float, Field(ge=0, le=300)] = 30.0  # after a 429, as Amplitude asks
    mixpanel_token: SecretStr | None = None  # the project token every event carries
    mixpanel_api_secret: SecretStr | None = None  # the project's API secret: /import's basic auth
    mixpanel_import_url: str = "https://api.mixpanel.com/import"
    amplitude_api_key: SecretStr | None = None
    amplitude_url: str = "https://api2.amplitude.com/2/httpapi"  # the HTTP V2 API
    ga4_measurement_id: str | None = None
    ga4_api_secret: SecretStr | None = None
    ga4_collect_url: str = "https://www.google-analytics.com/mp/collect"

    @model_validator(mode="after")
    def _chosen_trackers_have_keys(self) -> Self:
        needs = {
            "mixpanel": ("mixpanel_token", "mixpanel_api_secret"),
            "amplitude": ("amplitude_api_key",),
            "ga4": ("ga4_measurement_id", "ga4_api_secret"),
        }
        missing = [
            f"{name.upper()} (ANALYTICS_TRACKERS names {tracker})"
            for tracker in dict.fromkeys(self.analytics_trackers)
            for name in needs.get(tracker, ())
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError("missing " + ", ".join(missing))
        return self

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
