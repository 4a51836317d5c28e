"""Tiny generated clips for the video and audio tests (real ffmpeg, lavfi sources).

Clips are made once per test session and cached by their recipe, because the CPU is shared:
each is a couple of seconds at 160x120 or 320x240.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import tempfile
from pathlib import Path

_CACHE = Path(tempfile.mkdtemp(prefix="odyssey-media-samples-"))


def ffmpeg(*args: str) -> str:
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr


@functools.cache
def clip(
    seconds: float = 2.0,
    size: str = "160x120",
    rate: int = 15,
    audio: bool = True,
    video: bool = True,
    fmt: str = "mp4",
    video_filter: str = "",
    volume_db: float = -20.0,
) -> bytes:
    """A testsrc2 + sine clip; ``video_filter`` is appended to the picture (e.g. a fade)."""
    out = _CACHE / f"clip-{abs(hash((seconds, size, rate, audio, video, fmt, video_filter, volume_db)))}.{fmt}"
    args: list[str] = []
    if video:
        picture = f"testsrc2=s={size}:r={rate}:d={seconds}"
        args += ["-f", "lavfi", "-i", picture + (f",{video_filter}" if video_filter else "")]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=440:d={seconds}:sample_rate=44100,volume={volume_db}dB"]
    if video:
        args += ["-c:v", "libx264" if fmt != "webm" else "libvpx-vp9", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        if fmt == "webm":
            args = [a for a in args if a not in ("-preset", "ultrafast")] + ["-deadline", "realtime"]
    if audio:
        args += {
            "mp4": ["-c:a", "aac"],
            "webm": ["-c:a", "libopus"],
            "mp3": ["-c:a", "libmp3lame"],
            "wav": ["-c:a", "pcm_s16le"],
            "m4a": ["-c:a", "aac"],
            "ts": ["-c:a", "aac"],
        }[fmt]
    muxer = {"ts": "mpegts", "m4a": "ipod"}.get(fmt, fmt)
    ffmpeg(*args, "-f", muxer, str(out))
    return out.read_bytes()


def integrated_loudness(data: bytes, suffix: str) -> float:
    """EBU R128 integrated loudness (LUFS) of an audio file, measured by ffmpeg's ebur128."""
    path = _CACHE / f"measure{suffix}"
    path.write_bytes(data)
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = done.stderr[done.stderr.rfind("Summary:") :]
    return float(re.search(r"I:\s+(-?[0-9.]+) LUFS", summary).group(1))  # type: ignore[union-attr]


def probe(data: bytes, suffix: str) -> dict:
    """ffprobe's view of an output file (format and streams)."""
    path = _CACHE / f"probe{suffix}"
    path.write_bytes(data)
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def start_run(asset_id: int, run: str = "testrun") -> str:
    """Mark an asset as being processed by pipeline run ``run``, so a step can be called directly."""
    from odyssey_workers.db.models.core import AssetStatus, ContentAsset
    from odyssey_workers.db.session import session_scope

    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None
        asset.status = AssetStatus.PROCESSING
        asset.details = {**(asset.details or {}), "pipeline": {"run": run}}
    return run


def settings_env(monkeypatch, env: dict[str, str] | None = None, **values: object) -> None:
    """Set CONTENT_* settings for this test (and its worker subprocesses, when ``env`` is given)."""
    from odyssey_workers.settings import get_settings

    for name, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        monkeypatch.setenv(name.upper(), text)
        if env is not None:
            env[name.upper()] = text
    get_settings.cache_clear()
