"""The content side of probing: video and audio uploads checked against the content caps.

``inspect_media`` checks a file under the ``CONTENT_VIDEO_*``/``CONTENT_AUDIO_*`` limits with
``odyssey_workers.media.probe.inspect``. Every media job calls it on its own copy of the source
(a job enqueued without the pipeline is checked all the same); ``content.probe_video`` is the
pipeline's gate and also sets the timeouts of the jobs after it from the duration it found.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rq import get_current_job
from rq.job import Job

from jobs.content.assets import start_step, step_result
from jobs.content.media_contracts import VIDEO_JOBS, timeout_for
from jobs.content.reasons import MISSING_ORIGINAL
from jobs.content.settings import ContentSettings, content_settings
from odyssey_workers.db.models.core import ContentAsset
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.caps import MediaCaps
from odyssey_workers.media.probe import Expect, MediaInfo, inspect, media_workdir
from odyssey_workers.media.reasons import with_reason
from odyssey_workers.storage import Storage, get_storage

logger = logging.getLogger(__name__)


def media_caps(expect: Expect, settings: ContentSettings) -> MediaCaps:
    """The content limits for a video or an audio upload."""
    video = expect == "video"
    return MediaCaps(
        max_bytes=settings.content_video_max_bytes if video else settings.content_audio_max_bytes,
        max_duration_seconds=(
            settings.content_video_max_duration_seconds if video else settings.content_audio_max_duration_seconds
        ),
        max_streams=settings.content_video_max_streams,
        max_side=settings.content_video_max_side,
        max_pixels=settings.content_video_max_pixels,
        max_fps=settings.content_video_max_fps,
        max_frames=settings.content_video_max_frames,
        video_codecs=tuple(settings.content_video_codecs),
        audio_codecs=tuple(settings.content_audio_codecs),
    )


def inspect_media(path: Path, expect: Expect) -> MediaInfo:
    """Sniff, probe and check ``path`` against the content caps; PermanentError naming the first breach."""
    return inspect(path, expect, media_caps(expect, content_settings()))


def fetch_source(storage: Storage, asset: ContentAsset, workdir: Path) -> Path:
    """The asset's original as a local file (its name carries no user text)."""
    try:
        return storage.download(asset.source_key, workdir / "source")
    except FileNotFoundError:
        error = PermanentError(f"content asset {asset.id}: its original {asset.source_key!r} is missing")
        raise with_reason(error, MISSING_ORIGINAL) from None


def _set_dependent_timeouts(duration: float) -> None:
    """Give the jobs waiting on this probe a timeout that fits the input (RQ reads a job's
    timeout when it starts, so a deferred job can still be given a new one)."""
    job = get_current_job()
    if job is None:
        return
    timeout = timeout_for(duration)
    for dependent_id in job.dependent_ids:
        key = Job.key_for(dependent_id)
        description = job.connection.hget(key, "description")
        if isinstance(description, bytes) and description.decode() in VIDEO_JOBS:
            job.connection.hset(key, "timeout", timeout)


def probe_video(asset_id: int) -> dict[str, Any]:
    """Pipeline step: check the video under the caps; its facts go to ``asset.details["media"]``."""
    asset, _run = start_step(asset_id)
    with media_workdir() as work:
        info = inspect_media(fetch_source(get_storage(), asset, work), "video")
    _set_dependent_timeouts(info.duration)
    logger.info("asset %s: %s video, %.1f s, %s", asset_id, info.demuxer, info.duration, info.video)
    return step_result([], {"media": info.to_details(), "timeout_seconds": timeout_for(info.duration)})
