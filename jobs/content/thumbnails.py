"""``content.make_thumbnails``: poster frame, timeline sprite sheet + WebVTT, animated preview.

One decode samples the video twice over: evenly spaced sprite tiles, assembled by ffmpeg's
``tile`` filter into one sheet, and a dozen poster candidates. Each candidate is scored on a
small greyscale copy: a black, white or flat frame (a fade, a title card) is out, and of the
rest the sharpest (highest edge variance) wins, so the poster is neither dark nor blurred.
The WebVTT file maps each stretch of the timeline to its tile (``sprite.jpg#xywh=x,y,w,h``),
the format players use for scrub previews. The preview is a few looping seconds from the
poster's moment, as animated WebP (or MP4).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter, ImageStat

from jobs.content.media_contracts import timeout_for
from jobs.content.probe import inspect_media
from jobs.content.settings import ContentSettings, content_settings
from jobs.content.step import media_step
from jobs.content.video import even
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.ffmpeg_tools import input_args, progress_reporter, run_ffmpeg
from odyssey_workers.media.probe import MediaInfo
from odyssey_workers.progress import report_progress

logger = logging.getLogger(__name__)

POSTER_CANDIDATES = 12
"""Frames sampled across the video to choose the poster from."""

DARK_LUMA, BRIGHT_LUMA = 24.0, 235.0
"""Mean luma (0-255) below/above which a frame counts as black/white."""

FLAT_STDDEV = 8.0
"""Luma standard deviation under which a frame counts as flat (a fade, a plain card)."""

PREVIEW_FPS = 12
PREVIEW_WIDTH = 320


@dataclass(frozen=True)
class FrameScore:
    index: int
    seconds: float
    brightness: float
    contrast: float
    sharpness: float

    @property
    def usable(self) -> bool:
        return DARK_LUMA <= self.brightness <= BRIGHT_LUMA and self.contrast >= FLAT_STDDEV


def score_frame(path: Path, index: int, seconds: float) -> FrameScore:
    """Brightness (mean luma), contrast (its deviation), sharpness (variance of the edges)."""
    with Image.open(path) as image:
        grey = image.convert("L")
        grey.thumbnail((160, 160))
        stats = ImageStat.Stat(grey)
        edges = ImageStat.Stat(grey.filter(ImageFilter.FIND_EDGES))
    return FrameScore(index, seconds, stats.mean[0], stats.stddev[0], edges.var[0])


def choose_poster(scores: list[FrameScore]) -> FrameScore:
    """The sharpest usable frame; with none usable, the one closest to usable (brightest, sharpest)."""
    usable = [s for s in scores if s.usable]
    if usable:
        return max(usable, key=lambda s: s.sharpness)
    return max(scores, key=lambda s: (min(s.brightness, 255 - s.brightness) * (1 + s.contrast), s.sharpness))


@dataclass(frozen=True)
class SpritePlan:
    tiles: int
    columns: int
    rows: int
    tile_width: int
    tile_height: int
    interval: float


def plan_sprite(info: MediaInfo, settings: ContentSettings) -> SpritePlan:
    assert info.video is not None
    interval = max(settings.content_thumbnail_interval_seconds, info.duration / settings.content_thumbnail_max_tiles)
    tiles = max(1, min(settings.content_thumbnail_max_tiles, math.ceil(info.duration / interval)))
    columns = min(settings.content_thumbnail_columns, tiles)
    width = settings.content_thumbnail_tile_width
    height = even(width * info.video.display_height / info.video.display_width)
    return SpritePlan(tiles, columns, math.ceil(tiles / columns), width, height, info.duration / tiles)


def vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def sprite_vtt(plan: SpritePlan, duration: float, sprite_name: str) -> str:
    """WebVTT cues: each stretch of the timeline → its tile's rectangle in the sheet."""
    lines = ["WEBVTT", ""]
    for index in range(plan.tiles):
        start, end = index * plan.interval, min(duration, (index + 1) * plan.interval)
        x, y = (index % plan.columns) * plan.tile_width, (index // plan.columns) * plan.tile_height
        lines += [
            f"{vtt_time(start)} --> {vtt_time(end)}",
            f"{sprite_name}#xywh={x},{y},{plan.tile_width},{plan.tile_height}",
            "",
        ]
    return "\n".join(lines)


def sample_frames(source: Path, info: MediaInfo, plan: SpritePlan, work: Path, settings: ContentSettings) -> list[Path]:
    """One decode: the sprite sheet (``sprite.jpg``) and the poster candidates (``cand_*.png``)."""
    assert info.video is not None
    poster_width = min(settings.content_poster_max_width, info.video.display_width)
    poster_height = even(poster_width * info.video.display_height / info.video.display_width)
    duration = info.duration
    graph = (
        "[0:v]split=2[a][b];"
        f"[a]fps={plan.tiles}/{duration:.3f},scale={plan.tile_width}:{plan.tile_height},setsar=1,"
        f"tile={plan.columns}x{plan.rows}[sheet];"
        f"[b]fps={POSTER_CANDIDATES}/{duration:.3f},scale={even(poster_width)}:{poster_height},setsar=1[cand]"
    )
    args = [*input_args(source, info.demuxer), "-filter_complex", graph, "-map_metadata", "-1"]
    args += ["-map", "[sheet]", "-frames:v", "1", "-q:v", "4", "-f", "image2", f"file:{work / 'sprite.jpg'}"]
    args += ["-map", "[cand]", "-frames:v", str(POSTER_CANDIDATES), "-f", "image2", f"file:{work / 'cand_%03d.png'}"]
    run_ffmpeg(
        args,
        timeout=timeout_for(duration),
        on_progress=progress_reporter(duration, report_progress, span=80.0),
        what="the thumbnail sampling",
    )
    return sorted(work.glob("cand_*.png"))


def make_preview(source: Path, info: MediaInfo, start: float, work: Path, settings: ContentSettings) -> Path:
    seconds = min(settings.content_preview_seconds, info.duration)
    start = max(0.0, min(start, info.duration - seconds))
    fmt = settings.content_preview_format
    out = work / f"preview.{fmt}"
    args = [*input_args(source, info.demuxer, seek=start, duration=seconds), "-an", "-map_metadata", "-1"]
    args += ["-vf", f"fps={PREVIEW_FPS},scale={PREVIEW_WIDTH}:-2,setsar=1"]
    if fmt == "mp4":
        args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p"]
        args += ["-movflags", "+faststart", "-f", "mp4"]
    else:
        args += ["-c:v", "libwebp_anim", "-loop", "0", "-quality", "60", "-f", "webp"]
    run_ffmpeg([*args, f"file:{out}"], timeout=timeout_for(seconds), what="the animated preview")
    return out


def make_thumbnails(asset_id: int) -> dict[str, Any]:
    """Pipeline step: poster, sprite sheet + WebVTT and preview into the run's ``thumbnails/``."""
    settings = content_settings()  # CONTENT_PREVIEW_FORMAT is webp or mp4: checked at start
    with media_step(asset_id, "thumbnails/") as step:
        work = step.work
        source = step.fetch_source()
        info = inspect_media(source, "video")
        plan = plan_sprite(info, settings)
        candidates = sample_frames(source, info, plan, work, settings)
        if not candidates:
            raise PermanentError("no frame could be decoded for the poster")
        spacing = info.duration / POSTER_CANDIDATES
        scores = [score_frame(path, i, i * spacing) for i, path in enumerate(candidates)]
        best = choose_poster(scores)
        poster = work / "poster.jpg"
        with Image.open(candidates[best.index]) as frame:
            frame.convert("RGB").save(poster, "JPEG", quality=85, progressive=True, optimize=True)
            poster_size = frame.size
        (work / "sprite.vtt").write_text(sprite_vtt(plan, info.duration, "sprite.jpg"))
        preview = make_preview(source, info, best.seconds, work, settings)
        report_progress(95.0)
        sprite_size = (plan.columns * plan.tile_width, plan.rows * plan.tile_height)
        items = [
            ("thumbnail.poster", "poster", "jpeg", poster, "image/jpeg", poster_size, {"at_seconds": best.seconds}),
            (
                "thumbnail.sprite",
                "sprite",
                "jpeg",
                work / "sprite.jpg",
                "image/jpeg",
                sprite_size,
                {"tiles": plan.tiles},
            ),
            ("thumbnail.sprite_vtt", "sprite_vtt", "vtt", work / "sprite.vtt", "text/vtt", None, {}),
            (
                "thumbnail.preview",
                "preview",
                preview.suffix[1:],
                preview,
                "image/webp" if preview.suffix == ".webp" else "video/mp4",
                None,
                {"seconds": min(settings.content_preview_seconds, info.duration)},
            ),
        ]
        for name, kind, fmt, path, content_type, size, details in items:
            step.store(
                path.name,
                path,
                content_type,
                name=name,
                kind=kind,
                format=fmt,
                width=size[0] if size else None,
                height=size[1] if size else None,
                details=details,
            )
    logger.info(
        "asset %s: poster at %.1f s (sharpness %.0f), %d sprite tiles",
        asset_id,
        best.seconds,
        best.sharpness,
        plan.tiles,
    )
    return step.result({"poster_scores": [s.__dict__ for s in scores]})
