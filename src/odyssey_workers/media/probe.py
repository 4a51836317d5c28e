"""What a video or audio file really holds, checked against caps before any decode.

``inspect`` sniffs the container from the bytes, runs ffprobe with the safe input options and
refuses, with a reason naming the limit, more streams, frames, pixels, duration or bytes than
the caps allow and codecs outside the allow-lists. The caller passes the caps (its own
settings); ``media_workdir`` is the private scratch folder the file is worked on in.
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

from odyssey_workers.errors import PermanentError
from odyssey_workers.media.caps import MediaCaps
from odyssey_workers.media.ffmpeg_tools import ffprobe, sniff_container
from odyssey_workers.media.reasons import with_reason
from odyssey_workers.settings import get_settings

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
    """The probe's error with a sentence for the user; its message keeps ffprobe's words."""
    text = str(exc)
    if "moov atom not found" in text:
        return with_reason(
            PermanentError(f"the MP4 has no moov atom: {text}"),
            "the MP4 has no moov atom (the index of its frames): the file is truncated or was never finished",
        )
    if "Invalid data found" in text:
        return with_reason(PermanentError(text), "the file is damaged or not the media it claims to be")
    return exc


def inspect(path: Path, expect: Expect, caps: MediaCaps) -> MediaInfo:
    """Sniff, probe and check ``path`` against ``caps``; PermanentError naming the first breach."""
    size = path.stat().st_size
    if size == 0:
        raise PermanentError("the file is empty (0 bytes)")
    if size > caps.max_bytes:
        raise PermanentError(f"the file is {size} bytes, over the {expect} limit of {caps.max_bytes} bytes")
    _kind, demuxer = sniff_container(path)
    try:
        data = ffprobe(path, demuxer)
    except PermanentError as exc:
        raise _explain_probe_failure(exc) from None
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    if len(streams) > caps.max_streams:
        raise PermanentError(f"the file has {len(streams)} streams, over the limit of {caps.max_streams}")
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
    max_duration = caps.max_duration_seconds
    if duration > max_duration:
        raise PermanentError(f"the {expect} lasts {duration:.1f} s, over the limit of {max_duration:.0f} s")

    video = _check_video(pictures[0], duration, caps) if pictures else None
    audio = _check_audio(sounds[0], caps) if sounds else None
    if expect == "video" and video is None:
        raise PermanentError("the file has no video stream")
    if expect == "audio" and audio is None:
        raise PermanentError("the file has no audio stream")
    return MediaInfo(demuxer, round(duration, 3), size, len(streams), video, audio)


def _check_video(stream: dict[str, Any], duration: float, caps: MediaCaps) -> VideoStream:
    codec = str(stream.get("codec_name") or "unknown")
    if codec not in caps.video_codecs:
        raise PermanentError(f"video codec {codec!r} is not allowed (allowed: {', '.join(caps.video_codecs)})")
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width <= 0 or height <= 0:
        raise PermanentError("the video stream has no picture size; it is damaged")
    if max(width, height) > caps.max_side:
        raise PermanentError(f"the video is {width}x{height}, a side over the limit of {caps.max_side} pixels")
    if width * height > caps.max_pixels:
        raise PermanentError(
            f"the video is {width}x{height} = {width * height} pixels a frame, over the limit of {caps.max_pixels}"
        )
    fps = _ratio(stream.get("avg_frame_rate")) or _ratio(stream.get("r_frame_rate"))
    if fps > caps.max_fps:
        raise PermanentError(f"the video runs at {fps:.1f} frames/s, over the limit of {caps.max_fps}")
    declared = int(_number(stream.get("nb_frames")) or 0)
    frames = max(declared, math.ceil(duration * fps))
    if frames > caps.max_frames:
        raise PermanentError(f"the video has {frames} frames, over the limit of {caps.max_frames}")
    return VideoStream(codec, width, height, round(fps, 3), frames, _rotation(stream))


def _check_audio(stream: dict[str, Any], caps: MediaCaps) -> AudioStream:
    codec = str(stream.get("codec_name") or "unknown")
    if codec not in caps.audio_codecs:
        raise PermanentError(f"audio codec {codec!r} is not allowed (allowed: {', '.join(caps.audio_codecs)})")
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
