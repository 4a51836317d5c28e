"""``content.package_hls``: the adaptive HLS ladder, made from one decode of the source.

One ffmpeg process decodes the source once and feeds every rung through a cascade:
``source → [top rung] → split → scale → [next rung] → split → scale → ...``. Each rung is
scaled once, from the rung above it rather than from the full-size source (a 480p picture
made from the 720p one costs a fraction of one made from 1080p, and looks the same). All rungs
share the x264 settings of ``video.x264_args``: a keyframe at every segment boundary, fixed
GOP, no scene-cut keyframes, so segment *n* starts on the same frame on every rung and players
switch rungs cleanly. Audio is encoded once, as its own rendition (``EXT-X-MEDIA``) shared by
every rung, instead of once per rung. Every output gets the same timestamp offset, so the
audio and every rung start together. The master playlist is written here, with each rung's
RFC 8216 peak and average bandwidth (the audio rendition's added) measured from the segments'
real sizes, and its RFC 6381 codec string.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from jobs.content.media_contracts import timeout_for
from jobs.content.probe import inspect_media
from jobs.content.settings import ContentSettings, content_settings
from jobs.content.step import media_step
from jobs.content.video import aac_args, even, max_kbps_for, watermark_graph, x264_args
from odyssey_workers.media.ffmpeg_tools import ProgressCallback, ffprobe, input_args, progress_reporter, run_ffmpeg
from odyssey_workers.media.probe import MediaInfo
from odyssey_workers.progress import report_progress
from odyssey_workers.storage import get_storage

logger = logging.getLogger(__name__)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"
AUDIO_GROUP = "audio"
AAC_LC = "mp4a.40.2"

X264_REORDER_FRAMES = 2
"""Frames by which x264 decodes ahead of showing (its B-frame pyramid delay; never more than 2)."""

AAC_PRIMING_SECONDS = 1024 / 48000
"""AAC priming at the ladder's 48 kHz: the first audio frame is stamped this long before sample 0."""


@dataclass(frozen=True)
class Rung:
    """One step of the ladder."""

    height: int
    width: int
    max_kbps: int

    @property
    def name(self) -> str:
        return f"{self.height}p"


class Segment(NamedTuple):
    """One media segment of a playlist: its file, its ``EXTINF`` seconds and its size."""

    uri: str
    seconds: float
    size_bytes: int


@dataclass
class Playlist:
    """A media playlist this module wrote, with what the master needs to know about it."""

    name: str
    path: Path
    segments: list[Segment] = field(default_factory=list)
    target_seconds: float = 0.0  # EXT-X-TARGETDURATION
    size_bytes: int = 0
    peak_bps: int = 0
    average_bps: int = 0
    codecs: str = ""


def ladder_for(display_width: int, display_height: int, settings: ContentSettings) -> list[Rung]:
    """The rungs for a source: every configured height up to the source's, never above it.

    A source shorter than the lowest rung gets one rung at its own height."""
    heights = sorted((h for h in settings.content_video_ladder_kbps if h <= display_height), reverse=True)
    if not heights:
        heights = [display_height]
    return [Rung(even(h), even(display_width * h / display_height), max_kbps_for(h, settings)) for h in heights]


def ladder_graph(rungs: list[Rung], *, source: str = "0:v", mark: str | None = None) -> str:
    """The filter graph: decode once, scale each rung once from the rung above, one output per rung.

    ``mark`` is an optional graph (a watermark) reading ``[top]`` and writing ``[marked]``,
    applied once on the top rung so every rung below inherits it at the same relative size."""
    top = rungs[0]
    parts = [f"[{source}]scale={top.width}:{top.height},setsar=1,format=yuv420p[top]"]
    current = "top"
    if mark:
        parts.append(mark)
        current = "marked"
    for index, rung in enumerate(rungs):
        if index > 0:
            parts.append(f"[{current}]scale={rung.width}:{rung.height},setsar=1[s{index}]")
            current = f"s{index}"
        if index < len(rungs) - 1:
            parts.append(f"[{current}]split=2[r{index}][n{index}]")
            current = f"n{index}"
        else:
            parts.append(f"[{current}]null[r{index}]")
    return ";".join(parts)


def hls_output_args(settings: ContentSettings, folder: Path) -> list[str]:
    return [
        "-f",
        "hls",
        "-hls_time",
        str(settings.content_hls_segment_seconds),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        str(folder / "seg_%05d.ts"),
        str(folder / "index.m3u8"),
    ]


def timeline_offset(fps: float) -> int:
    """Whole seconds added alike to the timestamps of every output of the ladder.

    Each rung and the audio are muxed separately, and a muxer shifts a stream that starts below
    zero up to zero by its own amount: x264's B-frame delay puts the first video decode time two
    frames below zero, AAC priming puts the first audio frame one frame below, so the video began
    2/fps - 1024/48000 s after the audio (0.045 s at 30 frames/s) and hls.js found a hole at the
    start. With one offset on every output, large enough that nothing starts below zero, no muxer
    shifts anything: the first picture and the first audio sample keep the same timestamp, and
    only the priming frame precedes it. (MPEG-TS then adds its own 1.4 s to every output alike;
    that mux delay stays, since without it each audio frame costs a packet of its own.)"""
    return max(1, math.ceil(X264_REORDER_FRAMES / (fps or 1.0) + AAC_PRIMING_SECONDS))


def ladder_command(
    source: Path,
    demuxer: str,
    info: MediaInfo,
    rungs: list[Rung],
    out_dir: Path,
    settings: ContentSettings,
    *,
    watermark: tuple[list[str], str] | None = None,
) -> list[str]:
    """The whole ffmpeg argument list for the ladder (the benchmark runs exactly this)."""
    assert info.video is not None
    extra_inputs, mark = watermark if watermark else ([], None)
    args = [*input_args(source, demuxer), *extra_inputs, "-filter_complex", ladder_graph(rungs, mark=mark)]
    same_timeline = ["-output_ts_offset", str(timeline_offset(info.video.fps))]
    for index, rung in enumerate(rungs):
        folder = out_dir / rung.name
        folder.mkdir(parents=True, exist_ok=True)
        args += ["-map", f"[r{index}]", "-an", *x264_args(rung.height, info.video.fps, settings)]
        args += ["-map_metadata", "-1", *same_timeline, *hls_output_args(settings, folder)]
    if info.audio:
        folder = out_dir / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        args += ["-map", "0:a:0", "-vn", *aac_args(settings), "-map_metadata", "-1", *same_timeline]
        args += hls_output_args(settings, folder)
    return args


def bit_rate(segments: list[Segment]) -> int:
    """Bits per second of a run of segments: their bytes over their seconds, rounded up."""
    seconds = sum(segment.seconds for segment in segments)
    return math.ceil(sum(segment.size_bytes for segment in segments) * 8 / seconds) if seconds > 0 else 0


def peak_segment_bps(segments: list[Segment], target_seconds: float) -> int:
    """The peak segment bit rate of RFC 8216 (4.3.4.2): the highest rate of any run of
    consecutive segments lasting 0.5 to 1.5 times the target duration.

    A short segment never counts alone: the last one of a rendition may hold a frame or two
    beside the fixed cost of a segment (PAT, PMT, a PES header, padding to 188-byte packets),
    and its own rate says nothing of the stream (one 21 ms AAC frame in 1,128 bytes reads as
    423 kbit/s). It counts with the segment before it. A rendition too short for any
    such run (under half the target) is measured whole."""
    low, high = 0.5 * target_seconds, 1.5 * target_seconds
    peak = 0
    for start in range(len(segments)):
        seconds = 0.0
        for end in range(start, len(segments)):
            seconds += segments[end].seconds
            if seconds > high:
                break
            if seconds >= low:
                peak = max(peak, bit_rate(segments[start : end + 1]))
    return peak or bit_rate(segments)


def read_media_playlist(name: str, path: Path) -> Playlist:
    """Segments and bandwidths of a playlist ffmpeg wrote (ours, never a user's): the peak of
    ``peak_segment_bps`` and the average over every segment, RFC 8216's BANDWIDTH and
    AVERAGE-BANDWIDTH for this rendition."""
    playlist = Playlist(name, path)
    seconds = 0.0
    for line in path.read_text().splitlines():
        if line.startswith("#EXT-X-TARGETDURATION:"):
            playlist.target_seconds = float(line.partition(":")[2])
        elif line.startswith("#EXTINF:"):
            seconds = float(line[len("#EXTINF:") :].split(",")[0])
        elif line and not line.startswith("#"):
            playlist.segments.append(Segment(line, seconds, (path.parent / line).stat().st_size))
    playlist.size_bytes = sum(segment.size_bytes for segment in playlist.segments)
    playlist.peak_bps = peak_segment_bps(playlist.segments, playlist.target_seconds)
    playlist.average_bps = bit_rate(playlist.segments)
    return playlist


def avc_codec_string(segment: Path) -> str:
    """``avc1.PPCCLL`` from the encoded stream's profile and level (RFC 6381)."""
    streams = ffprobe(segment, "mpegts").get("streams") or []
    video: dict[str, Any] = next((s for s in streams if s.get("codec_type") == "video"), {})
    profile = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}.get(
        str(video.get("profile")), 0x64
    )
    constraints = 0x40 if video.get("profile") == "Constrained Baseline" else 0
    level = int(video.get("level") or 40)
    return f"avc1.{profile:02x}{constraints:02x}{level:02x}"


def write_master(out_dir: Path, rungs: list[Rung], fps: float, has_audio: bool) -> tuple[Path, list[Playlist]]:
    """``master.m3u8`` over the rung playlists (and the audio rendition), bandwidths measured."""
    audio = read_media_playlist("audio", out_dir / "audio" / "index.m3u8") if has_audio else None
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,'
            f'CHANNELS="2",URI="audio/index.m3u8"'
        )
    playlists = []
    for rung in rungs:
        playlist = read_media_playlist(rung.name, out_dir / rung.name / "index.m3u8")
        playlist.codecs = avc_codec_string(out_dir / rung.name / playlist.segments[0].uri)
        playlists.append(playlist)
        peak = playlist.peak_bps + (audio.peak_bps if audio else 0)
        average = playlist.average_bps + (audio.average_bps if audio else 0)
        codecs = f"{playlist.codecs},{AAC_LC}" if audio else playlist.codecs
        attributes = (
            f"BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},RESOLUTION={rung.width}x{rung.height},"
            f'FRAME-RATE={fps:.3f},CODECS="{codecs}"' + (f',AUDIO="{AUDIO_GROUP}"' if audio else "")
        )
        lines += [f"#EXT-X-STREAM-INF:{attributes}", f"{rung.name}/index.m3u8"]
    master = out_dir / "master.m3u8"
    master.write_text("\n".join(lines) + "\n")
    if audio:
        playlists.append(audio)
    return master, playlists


def encode_ladder(
    source: Path,
    info: MediaInfo,
    out_dir: Path,
    settings: ContentSettings,
    *,
    watermark: Callable[[int], tuple[list[str], str] | None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[list[Rung], Path, list[Playlist]]:
    """Encode the ladder of ``source`` into ``out_dir``; returns the rungs, master and playlists."""
    assert info.video is not None
    rungs = ladder_for(info.video.display_width, info.video.display_height, settings)
    mark = watermark(rungs[0].width) if watermark else None
    args = ladder_command(source, info.demuxer, info, rungs, out_dir, settings, watermark=mark)
    run_ffmpeg(args, timeout=timeout_for(info.duration), on_progress=on_progress, what="the HLS ladder encode")
    master, playlists = write_master(out_dir, rungs, info.video.fps, info.audio is not None)
    return rungs, master, playlists


def package_hls(asset_id: int) -> dict[str, Any]:
    """Pipeline step: the ladder, its playlists and master into the run's ``hls/`` folder."""
    settings = content_settings()
    with media_step(asset_id, "hls/") as step:
        work = step.work
        info = inspect_media(step.fetch_source(), "video")
        out_dir = work / "hls"
        rungs, master, playlists = encode_ladder(
            work / "source",
            info,
            out_dir,
            settings,
            watermark=lambda width: watermark_graph(step.asset.creator_id, get_storage(), work, width, "top", "marked"),
            on_progress=progress_reporter(info.duration, report_progress),
        )
        # Segments first, playlists after, the master last: a reader never finds a playlist
        # naming a segment that is not there yet.
        files = sorted(p for p in out_dir.rglob("*") if p.is_file())
        for path in sorted(files, key=lambda p: (p.suffix == ".m3u8", p == master)):
            step.put_file(
                path.relative_to(out_dir).as_posix(), path, PLAYLIST_TYPE if path.suffix == ".m3u8" else SEGMENT_TYPE
            )
        by_name = {rung.name: rung for rung in rungs}
        step.stage(
            name="hls.master",
            kind="hls",
            format="m3u8",
            storage_key=step.key("master.m3u8"),
            size_bytes=sum(p.size_bytes for p in playlists),
            width=rungs[0].width,
            height=rungs[0].height,
            duration_seconds=info.duration,
            content_type=PLAYLIST_TYPE,
            details={"rungs": [r.name for r in rungs], "audio": info.audio is not None},
        )
        for playlist in playlists:
            rung = by_name.get(playlist.name)
            step.stage(
                name=f"hls.{playlist.name}",
                kind="hls",
                format="m3u8",
                storage_key=step.key(f"{playlist.name}/index.m3u8"),
                size_bytes=playlist.size_bytes,
                width=rung.width if rung else None,
                height=rung.height if rung else None,
                duration_seconds=info.duration,
                content_type=PLAYLIST_TYPE,
                details={
                    "segments": len(playlist.segments),
                    "peak_bps": playlist.peak_bps,
                    "average_bps": playlist.average_bps,
                    "codecs": playlist.codecs or AAC_LC,
                },
            )
    logger.info("asset %s: HLS ladder %s", asset_id, ", ".join(r.name for r in rungs))
    return step.result()
