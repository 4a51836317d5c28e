"""``content.transcode_video``: the progressive download renditions of a video.

One ffmpeg process decodes the source once and writes an MP4 (H.264 + AAC, ``+faststart`` so
playback starts before the download ends) and, when ``CONTENT_VIDEO_WEBM_ENABLED``, a WebM
(VP9 + Opus) beside it. The creator's watermark, if any, is drawn on both. The x264 settings
here are shared with the HLS ladder and the live VOD so every rendition looks alike.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PIL import Image

from jobs.content.media_contracts import timeout_for
from jobs.content.probe import inspect_media
from jobs.content.reasons import LOGO_UNUSABLE
from jobs.content.settings import ContentSettings, content_settings
from jobs.content.step import media_step
from jobs.content.watermark import video_watermark_filter, watermark_for
from odyssey_workers.db.models.core import Creator
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.ffmpeg_tools import input_args, progress_reporter, run_ffmpeg
from odyssey_workers.media.probe import MediaInfo
from odyssey_workers.media.reasons import with_reason
from odyssey_workers.progress import report_progress
from odyssey_workers.storage import Storage

logger = logging.getLogger(__name__)


def even(value: float) -> int:
    """The nearest even number of at least 2 (H.264 4:2:0 needs even sides)."""
    return max(2, round(value / 2) * 2)


def max_kbps_for(height: int, settings: ContentSettings) -> int:
    """The ladder's bitrate cap for a picture ``height`` high: the smallest rung at least as tall."""
    ladder = settings.content_video_ladder_kbps
    taller = sorted(h for h in ladder if h >= height)
    return ladder[taller[0]] if taller else ladder[max(ladder)]


def x264_args(height: int, fps: float, settings: ContentSettings, *, stream: str = "v") -> list[str]:
    """H.264 options for one output ``height`` high: capped CRF, a keyframe at every segment
    boundary (the same frames on every rung, so players can switch rungs at any segment)."""
    kbps = max_kbps_for(height, settings)
    segment = settings.content_hls_segment_seconds
    gop = max(1, round((fps or 30.0) * segment))
    args = [
        f"-c:{stream}",
        "libx264",
        "-preset",
        settings.content_video_x264_preset,
        "-crf",
        str(settings.content_video_crf),
        "-maxrate",
        f"{kbps}k",
        "-bufsize",
        f"{2 * kbps}k",
        "-profile:v",
        "high",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{segment})",
    ]
    if settings.content_video_threads:
        args += ["-threads", str(settings.content_video_threads)]
    return args


def aac_args(settings: ContentSettings) -> list[str]:
    return ["-c:a", "aac", "-b:a", f"{settings.content_video_audio_kbps}k", "-ac", "2", "-ar", "48000"]


def output_size(info: MediaInfo, max_height: int) -> tuple[int, int]:
    """Display size scaled to at most ``max_height`` high, never up, both sides even."""
    assert info.video is not None
    width, height = info.video.display_width, info.video.display_height
    target = min(height, max_height)
    return even(width * target / height), even(target)


def watermark_graph(
    asset_creator_id: int, storage: Storage, work: Path, width: int, source: str, output: str
) -> tuple[list[str], str] | None:
    """(extra inputs, filter graph ending in ``[output]``) for the creator's video watermark, or None.

    A logo is re-encoded to PNG by Pillow first, so ffmpeg only ever opens a file we wrote."""
    settings = content_settings()
    with session_scope() as session:
        creator = session.get(Creator, asset_creator_id)
        creator_settings = dict(creator.settings or {}) if creator else {}
    spec = watermark_for(creator_settings, settings, "video")
    if spec is None:
        return None
    logo_path = None
    if spec.logo_key:
        raw = work / "logo-source"
        try:
            storage.download(spec.logo_key, raw)
        except FileNotFoundError:
            error = PermanentError(f"watermark logo {spec.logo_key!r} is missing from storage")
            raise with_reason(error, LOGO_UNUSABLE) from None
        logo_path = work / "logo.png"
        try:
            with Image.open(raw, formats=["PNG", "JPEG", "WEBP", "GIF"]) as logo:
                if max(logo.size) > 4096:
                    raise PermanentError("watermark logo is larger than 4096 pixels on a side")
                logo.convert("RGBA").save(logo_path, "PNG")
        except (OSError, ValueError) as exc:
            error = PermanentError(f"watermark logo cannot be read as an image: {exc}")
            raise with_reason(error, LOGO_UNUSABLE) from None
    mark = video_watermark_filter(spec, width, logo_path=logo_path, work_dir=work, source=source, output=output)
    return mark.input_args, mark.filter


def _video_graph(width: int, height: int, mark: tuple[list[str], str] | None, outputs: int) -> tuple[list[str], str]:
    """(extra inputs, filter graph): scale once, watermark once, then one branch per output."""
    parts = [f"[0:v]scale={width}:{height},setsar=1,format=yuv420p[scaled]"]
    extra_inputs: list[str] = []
    last = "scaled"
    if mark is not None:
        extra_inputs, mark_graph = mark
        parts.append(mark_graph)
        last = "marked"
    labels = "".join(f"[out{i}]" for i in range(outputs))
    parts.append(f"[{last}]split={outputs}{labels}" if outputs > 1 else f"[{last}]null[out0]")
    return extra_inputs, ";".join(parts)


def transcode_video(asset_id: int) -> dict[str, Any]:
    """Pipeline step: MP4 (and WebM where enabled) into the run's folder, as a step result."""
    settings = content_settings()
    with media_step(asset_id, "video/") as step:
        work = step.work
        info = inspect_media(step.fetch_source(), "video")
        assert info.video is not None
        width, height = output_size(info, settings.content_video_mp4_max_height)
        webm = settings.content_video_webm_enabled
        mark = watermark_graph(step.asset.creator_id, step.storage, work, width, "scaled", "marked")
        extra_inputs, graph = _video_graph(width, height, mark, outputs=2 if webm else 1)
        audio_map = ["-map", "0:a:0"] if info.audio else []
        outputs = [("mp4", work / "video.mp4")]
        args = [*input_args(work / "source", info.demuxer), *extra_inputs, "-filter_complex", graph]
        args += ["-map", "[out0]", *audio_map, *x264_args(height, info.video.fps, settings)]
        args += [*(aac_args(settings) if info.audio else []), "-movflags", "+faststart"]
        args += ["-map_metadata", "-1", "-map_chapters", "-1", "-f", "mp4", f"file:{outputs[0][1]}"]
        if webm:
            outputs.append(("webm", work / "video.webm"))
            args += ["-map", "[out1]", *audio_map, "-c:v", "libvpx-vp9", "-crf", str(settings.content_video_vp9_crf)]
            args += ["-b:v", "0", "-deadline", "good", "-cpu-used", "5", "-row-mt", "1", "-pix_fmt", "yuv420p"]
            if info.audio:
                args += ["-c:a", "libopus", "-b:a", f"{settings.content_audio_opus_kbps}k", "-ac", "2"]
            args += ["-map_metadata", "-1", "-f", "webm", f"file:{outputs[1][1]}"]
        run_ffmpeg(
            args,
            timeout=timeout_for(info.duration),
            on_progress=progress_reporter(info.duration, report_progress),
            what="the video transcode",
        )
        for fmt, path in outputs:
            step.store(
                f"video.{fmt}",
                path,
                "video/mp4" if fmt == "mp4" else "video/webm",
                name=f"video.{fmt}",
                kind="video",
                format=fmt,
                width=width,
                height=height,
                duration_seconds=info.duration,
                details={"video_codec": "h264" if fmt == "mp4" else "vp9", "audio": info.audio is not None},
            )
    logger.info("asset %s: transcoded to %s", asset_id, ", ".join(fmt for fmt, _ in outputs))
    return step.result()
