"""Animated GIF (or animated WebP) uploads: an animated WebP and a short H.264 MP4.

Frame count and total pixels were already checked against the caps from the header, so the
frames held here are bounded. ffmpeg reads the GIF with the demuxer forced (``-f gif``) and
``-protocol_whitelist file``: it cannot be talked into opening anything but that one file.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageSequence

from jobs.content.settings import ContentSettings
from jobs.content.watermark import WatermarkSpec, apply_image_watermark, video_watermark_filter
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.reasons import with_reason

logger = logging.getLogger(__name__)

FFMPEG_TIMEOUT_SECONDS = 300
"""The longest an animation-to-MP4 conversion may run, in seconds."""

DEFAULT_FRAME_MS = 100
"""A GIF frame with no (or a zero) delay is shown this long, in milliseconds, as browsers do."""


@dataclass(frozen=True)
class AnimationOutputs:
    webp: bytes
    width: int
    height: int
    frames: int
    duration_seconds: float


def animated_webp(
    image: Image.Image, width: int, settings: ContentSettings, mark: WatermarkSpec | None, logo: Image.Image | None
) -> AnimationOutputs:
    """Every frame resized to ``width`` (and marked), as one animated WebP without metadata."""
    try:
        return _animated_webp(image, width, settings, mark, logo)
    except (OSError, EOFError, ValueError, SyntaxError) as exc:
        error = PermanentError(f"the animation is truncated or corrupt: {exc}")
        raise with_reason(error, "the animation is truncated or corrupt") from None


def _animated_webp(
    image: Image.Image, width: int, settings: ContentSettings, mark: WatermarkSpec | None, logo: Image.Image | None
) -> AnimationOutputs:
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        rgba = frame.convert("RGBA")
        if rgba.width != width:
            rgba = rgba.resize((width, max(1, round(width * rgba.height / rgba.width))), Image.Resampling.LANCZOS)
        if mark is not None:
            rgba = apply_image_watermark(rgba, mark, logo)
        rgba.info = {}
        frames.append(rgba)
        durations.append(int(frame.info.get("duration") or DEFAULT_FRAME_MS))
    if not frames:
        raise PermanentError("the animation has no frames")
    loop = int(image.info.get("loop", 0) or 0)
    buffer = _save_webp(frames, durations, loop, settings.content_webp_quality)
    return AnimationOutputs(
        webp=buffer,
        width=frames[0].width,
        height=frames[0].height,
        frames=len(frames),
        duration_seconds=sum(durations) / 1000,
    )


def _save_webp(frames: list[Image.Image], durations: list[int], loop: int, quality: int) -> bytes:
    import io

    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=loop,
        quality=quality,
        method=4,
    )
    return buffer.getvalue()


def gif_to_mp4(
    source: Path,
    target: Path,
    width: int,
    max_seconds: float,
    mark: WatermarkSpec | None = None,
    logo_path: Path | None = None,
) -> None:
    """A short, silent, web-playable MP4 (H.264, yuv420p, even size, ``+faststart``) of a GIF."""
    even_width = max(2, width - width % 2)
    scale = f"scale={even_width}:-2:flags=lanczos,format=yuv420p"
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-protocol_whitelist", "file", "-f", "gif", "-i", str(source)]
    if mark is not None:
        wm = video_watermark_filter(mark, even_width, logo_path=logo_path, work_dir=target.parent, source="scaled")
        command += wm.input_args
        graph = f"[0:v]scale={even_width}:-2:flags=lanczos[scaled];{wm.filter};[{wm.output}]format=yuv420p[out]"
        command += ["-filter_complex", graph, "-map", "[out]"]
    else:
        command += ["-vf", scale]
    command += ["-t", f"{max_seconds:g}", "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
    command += ["-movflags", "+faststart", "-map_metadata", "-1", "-f", "mp4", str(target)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise PermanentError(f"converting the animation to MP4 took over {FFMPEG_TIMEOUT_SECONDS} s") from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        error = PermanentError(f"ffmpeg could not convert the animation to MP4: {detail}")
        raise with_reason(error, "the animation could not be converted to a video: it is damaged")
