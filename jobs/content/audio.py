"""``content.process_audio``: loudness-normalized AAC, Opus and MP3, and waveform peaks.

Loudness follows EBU R128 in two passes of ffmpeg's ``loudnorm``: the first measures the whole
file (integrated loudness, true peak, loudness range, threshold), the second applies one gain
computed from those measurements (``linear=true``), which keeps the dynamics instead of
riding the level like the one-pass mode. The second pass decodes once and writes all three
formats plus a mono 8 kHz copy from which the waveform peaks are computed (min/max pairs per
pixel column, 8-bit, in the JSON layout of BBC's audiowaveform that web players read).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from array import array
from pathlib import Path
from typing import Any

from jobs.content.media_contracts import timeout_for
from jobs.content.probe import inspect_media
from jobs.content.settings import ContentSettings, content_settings
from jobs.content.step import media_step
from odyssey_workers.media.ffmpeg_tools import input_args, progress_reporter, run_ffmpeg
from odyssey_workers.media.probe import MediaInfo
from odyssey_workers.progress import report_progress

logger = logging.getLogger(__name__)

WAVEFORM_RATE = 8000
"""Samples per second of the mono copy the peaks are computed from."""

SILENCE_LUFS = -70.0
"""Integrated loudness at or under which a file counts as silent (the EBU R128 absolute gate)."""

FORMATS = {
    # format -> (file name, ffmpeg muxer, content type)
    "aac": ("audio.m4a", "mp4", "audio/mp4"),
    "opus": ("audio.opus", "ogg", "audio/ogg"),
    "mp3": ("audio.mp3", "mp3", "audio/mpeg"),
}
JSON_BLOCK = re.compile(r"\{[^{}]*\}", re.S)


def loudnorm_target(settings: ContentSettings) -> str:
    return (
        f"loudnorm=I={settings.content_loudness_target_lufs}:TP={settings.content_loudness_true_peak_db}"
        f":LRA={settings.content_loudness_range_lu}"
    )


def last_json(stderr: str) -> dict[str, Any]:
    blocks = JSON_BLOCK.findall(stderr)
    if not blocks:
        raise ValueError("loudnorm printed no measurement")
    data: dict[str, Any] = json.loads(blocks[-1])
    return data


def measure_loudness(source: Path, info: MediaInfo, settings: ContentSettings) -> dict[str, Any]:
    """Pass 1: loudnorm's measurement of the whole file (input_i, input_tp, input_lra, ...)."""
    args = [*input_args(source, info.demuxer), "-map", "0:a:0", "-vn", "-sn"]
    args += ["-af", f"{loudnorm_target(settings)}:print_format=json", "-f", "null", "-"]
    stderr = run_ffmpeg(
        args,
        timeout=timeout_for(info.duration),
        on_progress=progress_reporter(info.duration, report_progress, span=40.0),
        what="the loudness measurement",
        loglevel="info",  # loudnorm prints its measurement at info level
    )
    return last_json(stderr)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def normalize_filter(measured: dict[str, Any], settings: ContentSettings) -> str | None:
    """Pass 2's filter from pass 1's numbers; None for a silent file (no gain can fix silence)."""
    values = {k: _finite(measured.get(k)) for k in ("input_i", "input_tp", "input_lra", "input_thresh")}
    offset = _finite(measured.get("target_offset"))
    if values["input_i"] is None or values["input_i"] <= SILENCE_LUFS or None in values.values() or offset is None:
        return None
    return (
        f"{loudnorm_target(settings)}:measured_I={values['input_i']}:measured_TP={values['input_tp']}"
        f":measured_LRA={values['input_lra']}:measured_thresh={values['input_thresh']}:offset={offset}"
        ":linear=true:print_format=json"
    )


def encode_outputs(
    source: Path, info: MediaInfo, loudness: str | None, work: Path, settings: ContentSettings
) -> tuple[dict[str, Path], Path, dict[str, Any] | None]:
    """Pass 2: one decode, normalized, to AAC + Opus + MP3 + the mono copy for the waveform."""
    assert info.audio is not None
    channels = min(info.audio.channels, 2)
    chain = f"{loudness}," if loudness else ""
    graph = f"[0:a:0]{chain}aresample=48000,asplit=4[aac][opus][mp3][wave]"
    graph += f";[wave]aresample={WAVEFORM_RATE},aformat=sample_fmts=s16:channel_layouts=mono[wave_out]"
    args = [*input_args(source, info.demuxer), "-filter_complex", graph]
    bitrates = {
        "aac": ["-c:a", "aac", "-b:a", f"{settings.content_audio_aac_kbps}k", "-movflags", "+faststart"],
        "opus": ["-c:a", "libopus", "-b:a", f"{settings.content_audio_opus_kbps}k"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", f"{settings.content_audio_mp3_kbps}k", "-write_xing", "1"],
    }
    outputs = {}
    for fmt, (name, muxer, _type) in FORMATS.items():
        outputs[fmt] = work / name
        args += ["-map", f"[{fmt}]", *bitrates[fmt], "-ac", str(channels), "-map_metadata", "-1"]
        args += ["-f", muxer, f"file:{outputs[fmt]}"]
    raw = work / "wave.raw"
    args += ["-map", "[wave_out]", "-c:a", "pcm_s16le", "-f", "s16le", f"file:{raw}"]
    stderr = run_ffmpeg(
        args,
        timeout=timeout_for(info.duration),
        on_progress=progress_reporter(info.duration, report_progress, start=40.0, span=55.0),
        what="the audio encode",
        loglevel="info" if loudness else "error",
    )
    applied = last_json(stderr) if loudness else None
    return outputs, raw, applied


def waveform_peaks(raw: Path, points: int) -> dict[str, Any]:
    """Min/max pairs (8-bit) for ``points`` columns of the mono s16 file, read in chunks."""
    total = raw.stat().st_size // 2
    per_point = max(1, math.ceil(total / points))
    data: list[int] = []
    with raw.open("rb") as handle:
        while True:
            chunk = array("h")
            chunk.frombytes(handle.read(per_point * 2))
            if not chunk:
                break
            if sys.byteorder == "big":
                chunk.byteswap()
            data += [max(-128, min(chunk) // 256), min(127, max(chunk) // 256)]
    return {
        "version": 2,
        "channels": 1,
        "sample_rate": WAVEFORM_RATE,
        "samples_per_pixel": per_point,
        "bits": 8,
        "length": len(data) // 2,
        "data": data,
    }


def process_audio(asset_id: int) -> dict[str, Any]:
    """Pipeline step: normalized AAC/Opus/MP3 and waveform JSON into the run's ``audio/`` folder."""
    settings = content_settings()
    with media_step(asset_id, "audio/") as step:
        source = step.fetch_source()
        info = inspect_media(source, "audio")
        measured = measure_loudness(source, info, settings)
        loudness = normalize_filter(measured, settings)
        outputs, raw, applied = encode_outputs(source, info, loudness, step.work, settings)
        peaks = step.work / "waveform.json"
        peaks.write_text(json.dumps(waveform_peaks(raw, settings.content_waveform_points), separators=(",", ":")))
        files = [(fmt, path, FORMATS[fmt][2]) for fmt, path in outputs.items()]
        files.append(("waveform", peaks, "application/json"))
        for fmt, path, content_type in files:
            step.store(
                path.name,
                path,
                content_type,
                name=f"audio.{fmt}",
                kind="waveform" if fmt == "waveform" else "audio",
                format="json" if fmt == "waveform" else fmt,
                duration_seconds=info.duration,
                details={} if fmt == "waveform" else {"normalized": loudness is not None},
            )
    loudness_details = {
        "target_lufs": settings.content_loudness_target_lufs,
        "true_peak_db": settings.content_loudness_true_peak_db,
        "measured_lufs": _finite(measured.get("input_i")),
        "output_lufs": _finite((applied or {}).get("output_i")),
        "normalized": loudness is not None,
    }
    logger.info(
        "asset %s: audio %s LUFS -> %s LUFS",
        asset_id,
        loudness_details["measured_lufs"],
        loudness_details["output_lufs"],
    )
    return step.result({"media": info.to_details(), "loudness": loudness_details})
