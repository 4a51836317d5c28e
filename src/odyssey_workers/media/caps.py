"""The limits a hostile file is checked against before anything is decoded.

Plain values: each domain builds them from its own settings and passes them in, so one image
or video check serves every domain with that domain's limits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageCaps:
    """Limits of one image file, checked from its header (counts in bytes, pixels and frames)."""

    max_bytes: int
    max_pixels: int  # width x height
    max_side: int  # pixels, either side
    max_frames: int  # of an animation
    max_total_pixels: int  # frames x width x height


@dataclass(frozen=True)
class MediaCaps:
    """Limits of one video or audio file, checked from ffprobe's report before any decode."""

    max_bytes: int
    max_duration_seconds: float
    max_streams: int  # streams of any type in the container
    max_side: int  # pixels, either side of a video frame
    max_pixels: int  # width x height of one video frame
    max_fps: float
    max_frames: int
    video_codecs: tuple[str, ...]  # ffprobe codec names allowed
    audio_codecs: tuple[str, ...]
