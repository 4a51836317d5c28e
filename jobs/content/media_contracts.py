"""Content jobs, media side: video probe and transcode, HLS ladder, thumbnails, audio, live streams.

The upload pipeline (``jobs.content.contracts``) enqueues these by name: video → ``probe_video`` →
(``transcode_video``, ``package_hls``, ``make_thumbnails``) → ``finalize_asset``; audio →
``process_audio`` → ``finalize_asset``. ``timeout_for`` is the pure rule for how long a media
job may run for an input of a given duration, so producers can set ``_timeout`` without
loading any media code.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from odyssey_workers.catalog import Id, Payload, declare
from odyssey_workers.retry import NO_RETRY, RetryPolicy
from odyssey_workers.settings import get_settings

VIDEO_JOBS = ("content.transcode_video", "content.package_hls", "content.make_thumbnails")
"""The jobs that run after ``content.probe_video``; the probe sets their timeouts from the duration."""

LIVE_INGEST_TIMEOUT_SECONDS = 12 * 3600
"""How long one live stream's ingest loop may run (a producer may pass a shorter ``_timeout``)."""


def timeout_for(duration_seconds: float | None) -> int:
    """Seconds a media job may run for an input lasting ``duration_seconds``.

    ``CONTENT_MEDIA_TIMEOUT_BASE_SECONDS`` plus ``CONTENT_MEDIA_TIMEOUT_PER_INPUT_SECOND`` per
    second of input, never more than ``JOB_TIMEOUT_CAP_SECONDS``. An unknown duration gets the cap.
    """
    from jobs.content.settings import content_settings  # here: a producer loading contracts never needs it

    settings = content_settings()
    cap = get_settings().job_timeout_cap_seconds
    if duration_seconds is None or not math.isfinite(duration_seconds) or duration_seconds < 0:
        return cap
    wanted = settings.content_media_timeout_base_seconds + settings.content_media_timeout_per_input_second * float(
        duration_seconds
    )
    return int(min(cap, math.ceil(wanted)))


class MediaAssetPayload(Payload):
    asset_id: Id


class LiveStreamPayload(Payload):
    stream_id: Id


class LiveClipPayload(Payload):
    stream_id: Id
    start: float = Field(ge=0, description="seconds from the start of the recording")
    end: float = Field(gt=0, description="seconds from the start of the recording")

    @model_validator(mode="after")
    def _end_after_start(self) -> LiveClipPayload:
        if self.end <= self.start:
            raise ValueError("end must be later than start")
        return self


declare(
    "content.probe_video",
    function="jobs.content.probe.probe_video",
    payload=MediaAssetPayload,
    priority=7,
    timeout=300,
    retry=RetryPolicy(attempts=3),
    description="Sniffs and ffprobes a video under the caps (streams, frames, pixels, duration, bytes, codecs).",
)
declare(
    "content.transcode_video",
    function="jobs.content.video.transcode_video",
    payload=MediaAssetPayload,
    priority=7,
    timeout=3600,
    retry=RetryPolicy(attempts=3),
    concurrency=2,
    concurrency_key="video",
    description="Transcodes a video to MP4 (H.264 + AAC, faststart) and, where enabled, WebM (VP9 + Opus).",
)
declare(
    "content.package_hls",
    function="jobs.content.hls.package_hls",
    payload=MediaAssetPayload,
    priority=7,
    timeout=3600,
    retry=RetryPolicy(attempts=3),
    concurrency=2,
    concurrency_key="video",
    description="Encodes the HLS ladder from one decode: aligned keyframes, master playlist, separate audio.",
)
declare(
    "content.make_thumbnails",
    function="jobs.content.thumbnails.make_thumbnails",
    payload=MediaAssetPayload,
    priority=3,
    timeout=1800,
    retry=RetryPolicy(attempts=3),
    concurrency=10,
    concurrency_key="thumbnails",
    description="Poster frame (not black, not blurry), timeline sprite sheet + WebVTT, animated preview.",
)
declare(
    "content.process_audio",
    function="jobs.content.audio.process_audio",
    payload=MediaAssetPayload,
    priority=5,
    timeout=1800,
    retry=RetryPolicy(attempts=3),
    description="Loudness-normalizes audio (EBU R128, two passes) to AAC, Opus and MP3, plus waveform peaks.",
)
declare(
    "content.live_ingest",
    function="jobs.content.live.live_ingest",
    payload=LiveStreamPayload,
    priority=10,
    timeout=LIVE_INGEST_TIMEOUT_SECONDS,
    retry=RetryPolicy(attempts=3),
    description="Repackages a live stream's incoming segments into a rolling live HLS playlist until it ends.",
)
declare(
    "content.live_finish",
    function="jobs.content.live.live_finish",
    payload=LiveStreamPayload,
    priority=7,
    timeout=600,
    retry=RetryPolicy(attempts=3),
    description="Closes a live stream: ends its playlist, stores the recording and starts its VOD processing.",
)
declare(
    "content.live_clip",
    function="jobs.content.live.live_clip",
    payload=LiveClipPayload,
    priority=7,
    timeout=900,
    retry=NO_RETRY,
    concurrency=2,
    concurrency_key="video",
    description="Cuts an MP4 clip (start, end in seconds) from a live stream's recording.",
)
