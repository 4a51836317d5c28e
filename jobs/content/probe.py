"""What a video or audio upload really holds, checked against the caps before any decode.

``inspect_media`` sniffs the container from the bytes, runs ffprobe with the safe input
options and refuses, with a reason naming the limit, more streams, frames, pixels, duration or
bytes than the settings allow and codecs outside the allow-lists. Every media job calls it on
its own copy of the source (a job enqueued without the pipeline is checked all the same);
``content.probe_video`` is the pipeline's gate and also sets the timeouts of the jobs after it
from the duration it found.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rq import get_current_job
from rq.job import Job

from jobs.content.assets import start_step, step_result
from jobs.content.ffmpeg_tools import ffprobe, sniff_container
from jobs.content.media_contracts import VIDEO_JOBS, timeout_for
from jobs.content.reasons import MISSING_ORIGINAL, with_reason
from odyssey_workers.db.models.core import ContentAsset
from odyssey_workers.errors import PermanentError
from odyssey_workers.settings import get_settings
from odyssey_workers.storage import Storage, get_storage

logger = logging.getLogger(__name__)

Expect = Literal["video", "audio"]


@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int  # as stored; see display_width for what a player shows
    height: int
    fps: float
    frames: int
    rotation: int  # degrees the player turns the picture (phones film sideways)

    @property
    def display_width(self) -> int:
        return self.height if self.rotation % 180 else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation % 180 else self.height


@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    """The facts every media job works from."""

    demuxer: str
    duration: float
    size_bytes: int
    stream_count: int
    video: VideoStream | None
    audio: AudioStream | None

    def to_details(self) -> dict[str, Any]:
        data = asdict(self)
        if self.video:
            data["video"]["display_width"] = self.video.display_width
            data["video"]["display_height"] = self.video.display_height
        return data


def _ratio(text: str | None) -> float:
    try:
        num, _, den = (text or "0/1").partition("/")
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(_number(side["rotation"]) or 0) % 360
    return int(_number((stream.get("tags") or {}).get("rotate")) or 0) % 360


def _explain_probe_failure(exc: PermanentError) -> PermanentError:
    """The probe's error with a sentence for the creator; its message keeps ffprobe's words."""
    text = str(exc)
    if "moov atom not found" in text:
        return with_reason(
            PermanentError(f"the MP4 has no moov atom: {text}"),
            "the MP4 has no moov atom (the index of its frames): the file is truncated or was never finished",
        )
    if "Invalid data found" in text:
        return with_reason(PermanentError(text), "the file is damaged or not the media it claims to be")
    return exc


def inspect_media(path: Path, expect: Expect) -> MediaInfo:
    """Sniff, probe and check ``path`` against the caps; PermanentError naming the first breach."""
    settings = get_settings()
    size = path.stat().st_size
    max_bytes = settings.content_video_max_bytes if expect == "video" else settings.content_audio_max_bytes
    if size == 0:
        raise PermanentError("the file is empty (0 bytes)")
    if size > max_bytes:
        raise PermanentError(f"the file is {size} bytes, over the {expect} limit of {max_bytes} bytes")
    _kind, demuxer = sniff_container(path)
    try:
        data = ffprobe(path, demuxer)
    except PermanentError as exc:
        raise _explain_probe_failure(exc) from None
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    if len(streams) > settings.content_video_max_streams:
        raise PermanentError(
            f"the file has {len(streams)} streams, over the limit of {settings.content_video_max_streams}"
        )
    pictures = [
        s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    sounds = [s for s in streams if s.get("codec_type") == "audio"]
    duration = _number(fmt.get("duration"))
    if duration is None:
        durations = [d for d in (_number(s.get("duration")) for s in streams) if d is not None]
        duration = max(durations) if durations else None
    if duration is None or duration <= 0:
        raise PermanentError("the file's duration is unknown or zero; it is damaged or not a finished recording")
    max_duration = (
        settings.content_video_max_duration_seconds
        if expect == "video"
        else settings.content_audio_max_duration_seconds
    )
    if duration > max_duration:
        raise PermanentError(f"the {expect} lasts {duration:.1f} s, over the limit of {max_duration:.0f} s")

    video = _check_video(pictures[0], duration) if pictures else None
    audio = _check_audio(sounds[0]) if sounds else None
    if expect == "video" and video is None:
        raise PermanentError("the file has no video stream")
    if expect == "audio" and audio is None:
        raise PermanentError("the file has no audio stream")
    return MediaInfo(demuxer, round(duration, 3), size, len(streams), video, audio)


def _check_video(stream: dict[str, Any], duration: float) -> VideoStream:
    settings = get_settings()
    codec = str(stream.get("codec_name") or "unknown")
    if codec not in settings.content_video_codecs:
        raise PermanentError(
            f"video codec {codec!r} is not allowed (allowed: {', '.join(settings.content_video_codecs)})"
        )
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width <= 0 or height <= 0:
        raise PermanentError("the video stream has no picture size; it is damaged")
    if max(width, height) > settings.content_video_max_side:
        raise PermanentError(
            f"the video is {width}x{height}, a side over the limit of {settings.content_video_max_side} pixels"
        )
    if width * height > settings.content_video_max_pixels:
        raise PermanentError(
            f"the video is {width}x{height} = {width * height} pixels a frame, "
            f"over the limit of {settings.content_video_max_pixels}"
        )
    fps = _ratio(stream.get("avg_frame_rate")) or _ratio(stream.get("r_frame_rate"))
    if fps > settings.content_video_max_fps:
        raise PermanentError(
            f"the video runs at {fps:.1f} frames/s, over the limit of {settings.content_video_max_fps}"
        )
    declared = int(_number(stream.get("nb_frames")) or 0)
    frames = max(declared, math.ceil(duration * fps))
    if frames > settings.content_video_max_frames:
        raise PermanentError(f"the video has {frames} frames, over the limit of {settings.content_video_max_frames}")
    return VideoStream(codec, width, height, round(fps, 3), frames, _rotation(stream))


def _check_audio(stream: dict[str, Any]) -> AudioStream:
    settings = get_settings()
    codec = str(stream.get("codec_name") or "unknown")
    if codec not in settings.content_audio_codecs:
        raise PermanentError(
            f"audio codec {codec!r} is not allowed (allowed: {', '.join(settings.content_audio_codecs)})"
        )
    channels = int(stream.get("channels") or 0)
    if not 1 <= channels <= 8:
        raise PermanentError(f"the audio stream has {channels} channels (1 to 8 are allowed)")
    return AudioStream(codec, int(_number(stream.get("sample_rate")) or 0), channels)


@contextmanager
def media_workdir() -> Iterator[Path]:
    """A private scratch folder under VAR_DIR, removed when the job is done whatever happens."""
    root = get_settings().var_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="media-", dir=root) as name:
        yield Path(name)


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
        if description is not None and description.decode() in VIDEO_JOBS:
            job.connection.hset(key, "timeout", timeout)


def probe_video(asset_id: int) -> dict[str, Any]:
    """Pipeline step: check the video under the caps; its facts go to ``asset.details["media"]``."""
    asset, _run = start_step(asset_id)
    with media_workdir() as work:
        info = inspect_media(fetch_source(get_storage(), asset, work), "video")
    _set_dependent_timeouts(info.duration)
    logger.info("asset %s: %s video, %.1f s, %s", asset_id, info.demuxer, info.duration, info.video)
    return step_result([], {"media": info.to_details(), "timeout_seconds": timeout_for(info.duration)})
