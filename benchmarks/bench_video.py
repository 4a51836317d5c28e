"""Video: a 1080p30 camera-like clip to a 3-rung HLS ladder (1080/720/480).

Baseline, in the same run on the same clip: three separate ffmpeg runs, one per rung, each
decoding the source, scaling it from full size and encoding its rung with its own audio, with
exactly the encoder settings of ours (``video.x264_args`` + ``video.aac_args``). Ours:
``hls.encode_ladder`` (one decode, cascaded scaling, audio once as its own rendition).
Measured: wall time, CPU time of the child processes, SSIM of every rung against the source
scaled to that rung (ffmpeg ``ssim``), and the real-time factor (clip seconds / wall seconds).
Runs alternate baseline/ours and the best of each is kept, because the machine is shared.

The clip is testsrc2 panned across a larger canvas with temporal grain (``noise=alls=20:allf=t``),
encoded like a phone camera (H.264 at ~18 Mbit/s, AAC), so decoding costs what it costs on
real uploads; a flat pattern would flatter both sides.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks.common import Row, cpu_seconds_of_children  # noqa: E402

RUNGS_KBPS = {1080: 5000, 720: 2800, 480: 1400}
SSIM_PATTERN = re.compile(r"All:([0-9.]+)")


def make_clip(path: Path, seconds: int) -> None:
    """1080p30 camera-like source: moving picture, camera pan, temporal grain, phone bitrate."""
    graph = (
        f"testsrc2=s=2240x1260:r=30:d={seconds}[src];"
        "[src]crop=1920:1080:x='t*40':y='t*20',noise=alls=20:allf=t+u,format=yuv420p[v]"
    )
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-filter_complex",
            graph,
            "-f",
            "lavfi",
            "-i",
            f"sine=f=440:d={seconds}:sample_rate=48000",
            "-map",
            "[v]",
            "-map",
            "0:a",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            "18M",
            "-maxrate",
            "24M",
            "-bufsize",
            "36M",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            str(path),
        ],
        check=True,
    )


def baseline_ladder(source: Path, out_dir: Path, settings, rungs, fps: float) -> None:  # type: ignore[no-untyped-def]
    from jobs.content.hls import hls_output_args
    from jobs.content.video import aac_args, x264_args
    from odyssey_workers.media.ffmpeg_tools import input_args

    for rung in rungs:
        folder = out_dir / rung.name
        folder.mkdir(parents=True)
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *input_args(source, "mov")]
        command += [
            "-vf",
            f"scale={rung.width}:{rung.height},setsar=1,format=yuv420p",
            "-map",
            "0:v:0",
            "-map",
            "0:a:0",
        ]
        command += [*x264_args(rung.height, fps, settings), *aac_args(settings), *hls_output_args(settings, folder)]
        subprocess.run(command, check=True)


def joined_segments(folder: Path) -> Path:
    """The rung's segments concatenated (MPEG-TS segments are concatenable byte for byte)."""
    joined = folder / "all.ts"
    with joined.open("wb") as out:
        for segment in sorted(folder.glob("seg_*.ts")):
            out.write(segment.read_bytes())
    return joined


def ssim(rendition: Path, source: Path, width: int, height: int) -> float:
    graph = (
        "[0:v]setpts=PTS-STARTPTS[d];"
        f"[1:v]scale={width}:{height},setsar=1,format=yuv420p,setpts=PTS-STARTPTS[r];[d][r]ssim"
    )
    done = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-i",
            str(rendition),
            "-i",
            str(source),
            "-lavfi",
            graph,
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = SSIM_PATTERN.findall(done.stderr)
    return float(found[-1])


def measure(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    with cpu_seconds_of_children() as cpu:
        started = time.perf_counter()
        fn()
        wall = time.perf_counter() - started
    return wall, cpu[0]


def live_latency(work: Path, segments: int) -> tuple[float, float]:
    """Worst time from a live segment landing to the live playlist listing it, counting a full
    poll interval of waiting (the worst case), against the segment's own duration."""
    from jobs.content.live import _publish, _repackage
    from jobs.content.settings import content_settings
    from odyssey_workers.storage.local import LocalStorage

    folder = work / "live-in"
    folder.mkdir()
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s=1280x720:r=30:d={segments}",
            "-f",
            "lavfi",
            "-i",
            f"sine=d={segments}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-c:a",
            "aac",
            "-f",
            "segment",
            "-segment_time",
            "1",
            "-segment_format",
            "mpegts",
            str(folder / "seg_%05d.ts"),
        ],
        check=True,
    )
    storage = LocalStorage(work / "live-storage")
    rows = []
    worst = 0.0
    for index, path in enumerate(sorted(folder.glob("seg_*.ts"))):
        storage.put_file(f"live/1/incoming/{path.name}", path)
        started = time.perf_counter()
        rows.append(_repackage(storage, 1, f"live/1/incoming/{path.name}", index, "live/1/", work))
        _publish(storage, 1, "live/1/", rows, ended=False)
        worst = max(worst, time.perf_counter() - started)
    return worst + content_settings().content_live_poll_seconds, min(r.duration_seconds for r in rows)


def run(quick: bool) -> list[Row]:
    seconds = 4 if quick else 10
    repeats = 1 if quick else 2
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("VAR_DIR", str(work / "var"))
        from jobs.content.hls import encode_ladder, ladder_for
        from jobs.content.probe import inspect_media
        from jobs.content.settings import content_settings

        settings = content_settings().model_copy(update={"content_video_ladder_kbps": RUNGS_KBPS})
        source = work / "source.mp4"
        make_clip(source, seconds)
        info = inspect_media(source, "video")
        assert info.video is not None
        rungs = ladder_for(info.video.display_width, info.video.display_height, settings)
        base_times: list[tuple[float, float]] = []
        ours_times: list[tuple[float, float]] = []
        fps = info.video.fps
        for attempt in range(repeats):
            base_dir, ours_dir = work / f"base{attempt}", work / f"ours{attempt}"
            base_times.append(measure(lambda d=base_dir: baseline_ladder(source, d, settings, rungs, fps)))
            ours_times.append(measure(lambda d=ours_dir: encode_ladder(source, info, d, settings)))
        base_wall, ours_wall = min(t[0] for t in base_times), min(t[0] for t in ours_times)
        base_cpu, ours_cpu = min(t[1] for t in base_times), min(t[1] for t in ours_times)
        load = os.getloadavg()[0]
        shared = f"best of {repeats}; {os.cpu_count()} cores shared with other work (load {load:.1f})"
        rows = [
            Row(
                "video",
                "HLS ladder wall time",
                "3 separate ffmpeg runs",
                base_wall,
                ours_wall,
                "s",
                base_wall / ours_wall,
                ">= 1.3x",
                base_wall / ours_wall >= 1.3,
                shared,
            ),
            Row(
                "video",
                "HLS ladder CPU time",
                "3 separate ffmpeg runs",
                base_cpu,
                ours_cpu,
                "cpu-s",
                base_cpu / ours_cpu,
                ">= 1.25x",
                base_cpu / ours_cpu >= 1.25,
                shared,
            ),
            Row(
                "video",
                "real-time factor (clip s / wall s)",
                "real time",
                1.0,
                seconds / ours_wall,
                "x",
                seconds / ours_wall,
                ">= 1.0x",
                seconds / ours_wall >= 1.0,
                f"{seconds} s 1080p30 clip, preset {settings.content_video_x264_preset}; baseline "
                f"{seconds / base_wall:.2f}x; ours needs {ours_cpu / seconds:.2f} cores on average to keep "
                f"up (baseline {base_cpu / seconds:.2f}); load {load:.1f}",
            ),
        ]
        for rung in rungs:
            base_ssim = ssim(joined_segments(work / "base0" / rung.name), source, rung.width, rung.height)
            ours_ssim = ssim(joined_segments(work / "ours0" / rung.name), source, rung.width, rung.height)
            rows.append(
                Row(
                    "video",
                    f"SSIM {rung.name}",
                    "3 separate ffmpeg runs",
                    base_ssim,
                    ours_ssim,
                    "ssim",
                    ours_ssim / base_ssim,
                    "within 0.005",
                    abs(ours_ssim - base_ssim) <= 0.005,
                    f"difference {ours_ssim - base_ssim:+.4f}",
                )
            )
        latency, segment_seconds = live_latency(work, 4 if quick else 8)
        rows.append(
            Row(
                "video",
                "live segment -> playlist latency",
                "one segment's duration",
                segment_seconds,
                latency,
                "s",
                segment_seconds / latency,
                "< 1 segment",
                latency < segment_seconds,
                "720p30 1 s segments; worst segment, including one full poll interval",
            )
        )
        return rows


if __name__ == "__main__":
    from benchmarks.run import print_table

    print_table(run(quick="--quick" in sys.argv))
