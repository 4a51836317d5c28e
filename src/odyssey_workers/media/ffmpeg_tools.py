"""Running ffmpeg and ffprobe safely on files users uploaded.

Every call is an argument list (never a shell) and opens its input with
``-protocol_whitelist file`` and a demuxer *forced* with ``-f`` from the sniffed bytes, so a
text file that is really an HLS playlist or an ffmpeg concat list can never be opened by the
demuxer that would follow its links: it is refused before ffmpeg starts, and even a file that
slipped past the sniffer would be parsed as the forced container and fail. MP4 data references
(``dref`` atoms pointing at other files) stay disabled. A child ffmpeg dies with its worker
(``PR_SET_PDEATHSIG``) and is killed when the job times out.
"""

from __future__ import annotations

import ctypes
import json
import logging
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odyssey_workers.errors import PermanentError, RetryableError
from odyssey_workers.media.reasons import DAMAGED_MEDIA, with_reason
from odyssey_workers.media.sniff import sniff_or_refuse

logger = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

HEAD_BYTES = 4096
"""Bytes read from the start of a file to decide its container."""

PROBE_TIMEOUT_SECONDS = 60
"""Longest an ffprobe of one file may take, in seconds (it reads headers, not the whole file)."""

STDERR_TAIL_CHARS = 600
"""How much of ffmpeg's error output goes into an error message (for operators), in characters."""

CONVERSION_FAILED = "The file could not be converted: it is damaged or uses a format that cannot be converted."
TOO_SLOW = "Converting the file took longer than its time limit. Please upload the file again."
CONVERTER_STOPPED = "Converting the file stopped unexpectedly. Please upload the file again."

DEMUXERS = {
    # sniffed format -> the one ffmpeg demuxer allowed to read it
    "mp4": "mov",
    "mov": "mov",
    "m4a": "mov",
    "webm": "matroska",
    "mkv": "matroska",
    "avi": "avi",
    "ogg": "ogg",
    "ogv": "ogg",
    "wav": "wav",
    "flac": "flac",
    "mp3": "mp3",
    "aac": "aac",
    "mpegts": "mpegts",
}

TS_PACKET = 188


@dataclass(frozen=True)
class Progress:
    """One ``-progress`` report: seconds of output written, speed (x real time), done or not."""

    out_seconds: float
    speed: float | None
    finished: bool


ProgressCallback = Callable[[Progress], None]


def is_mpegts(head: bytes) -> bool:
    """MPEG transport stream: a 0x47 sync byte every 188 bytes (live segments are these)."""
    return len(head) >= 3 * TS_PACKET and all(head[i * TS_PACKET] == 0x47 for i in range(3))


def sniff_container(path: Path) -> tuple[str, str]:
    """(kind, ffmpeg demuxer) of a media file, from its bytes; PermanentError if not allowed media."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if is_mpegts(head):
        return "video", "mpegts"
    sniffed = sniff_or_refuse(head)
    if sniffed.kind not in ("video", "audio") or sniffed.format not in DEMUXERS:
        raise PermanentError(
            f"unsupported file: the file is {sniffed.format.upper()} {sniffed.kind}, not video or audio"
        )
    return sniffed.kind, DEMUXERS[sniffed.format]


def input_args(path: Path, demuxer: str, *, seek: float | None = None, duration: float | None = None) -> list[str]:
    """The options that open one local input safely: local files only, the demuxer forced."""
    if demuxer not in DEMUXERS.values():
        raise PermanentError(f"demuxer {demuxer!r} is not allowed")
    args = ["-protocol_whitelist", "file", "-f", demuxer]
    if demuxer == "mov":
        args += ["-enable_drefs", "0", "-use_absolute_path", "0"]
    if seek is not None:
        args += ["-ss", f"{seek:.3f}"]
    if duration is not None:
        args += ["-t", f"{duration:.3f}"]
    # "file:" keeps a path with a colon from being read as a protocol name.
    return [*args, "-i", f"file:{path.resolve()}"]


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGKILL to ffmpeg if the work horse dies (a kill -9 of a worker
    # must not leave an orphaned encoder eating a core).
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass


def _error_tail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " | ".join(lines[-4:])
    return text[-STDERR_TAIL_CHARS:] or "no error output"


def ffprobe(path: Path, demuxer: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> dict[str, Any]:
    """ffprobe's JSON (format + streams) of one file opened with the safe input options."""
    command = [
        FFPROBE,
        "-v",
        "error",
        *input_args(path, demuxer)[:-2],
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        f"file:{path.resolve()}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, preexec_fn=_die_with_parent
        )
    except subprocess.TimeoutExpired:
        error = PermanentError(f"ffprobe could not read the file within {timeout:.0f} s")
        raise with_reason(error, "Reading the file took too long: it is damaged or not a supported format.") from None
    if done.returncode != 0:
        error = PermanentError(f"the file cannot be read as {demuxer}: {_error_tail(done.stderr)}")
        raise with_reason(error, DAMAGED_MEDIA)
    try:
        data: dict[str, Any] = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        raise with_reason(PermanentError("ffprobe returned unreadable output for the file"), DAMAGED_MEDIA) from None
    return data


def _parse_progress_block(block: dict[str, str]) -> Progress:
    out_us = block.get("out_time_us") or block.get("out_time_ms") or "0"  # both are microseconds
    try:
        out_seconds = max(0.0, int(out_us) / 1_000_000)
    except ValueError:
        out_seconds = 0.0
    speed_text = block.get("speed", "").strip().rstrip("x")
    try:
        speed = float(speed_text) if speed_text and speed_text != "N/A" else None
    except ValueError:
        speed = None
    return Progress(out_seconds, speed, block.get("progress") == "end")


def run_ffmpeg(
    args: Sequence[str],
    *,
    timeout: float,
    on_progress: ProgressCallback | None = None,
    what: str = "ffmpeg",
    loglevel: str = "error",
) -> str:
    """Run ``ffmpeg <args>``; returns its stderr text. ``args`` must open inputs with ``input_args``.

    Failures: exit status > 0 → PermanentError (the input cannot be processed; the message carries
    ffmpeg's last error lines, the creator's reason does not); over ``timeout`` or killed by a
    signal → RetryableError.
    """
    command = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", loglevel, "-y", "-nostats", "-progress", "pipe:1"]
    command += list(args)
    logger.debug("running %s", " ".join(command))
    with tempfile.TemporaryFile(mode="w+t") as stderr_file:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=_die_with_parent,
        )
        timed_out = threading.Event()

        def _kill_on_timeout() -> None:
            timed_out.set()
            process.kill()

        timer = threading.Timer(timeout, _kill_on_timeout)
        timer.start()
        started = time.monotonic()
        try:
            assert process.stdout is not None
            block: dict[str, str] = {}
            for line in process.stdout:
                key, _, value = line.strip().partition("=")
                block[key] = value
                if key == "progress":
                    if on_progress is not None:
                        on_progress(_parse_progress_block(block))
                    block = {}
            returncode = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:  # the job itself timed out or was interrupted
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        stderr_file.seek(0)
        stderr = stderr_file.read()
    elapsed = time.monotonic() - started
    if timed_out.is_set():
        raise with_reason(RetryableError(f"{what} ran longer than its {timeout:.0f} s limit and was stopped"), TOO_SLOW)
    if returncode < 0:
        killed = RetryableError(f"{what} was killed by signal {-returncode} after {elapsed:.1f} s")
        raise with_reason(killed, CONVERTER_STOPPED)
    if returncode != 0:
        error = PermanentError(f"{what} could not process the file: {_error_tail(stderr)}")
        raise with_reason(error, CONVERSION_FAILED)
    return stderr


def progress_reporter(
    duration: float, report: Callable[..., Any], *, start: float = 0.0, span: float = 100.0
) -> ProgressCallback:
    """A callback turning ffmpeg progress into ``report(percent, speed=, eta_seconds=)`` calls.

    ``start``/``span`` map this run onto part of the job's 0-100 range (a job with two passes).
    """

    def callback(progress: Progress) -> None:
        fraction = 1.0 if progress.finished else min(1.0, progress.out_seconds / duration) if duration > 0 else 0.0
        eta = None
        if progress.speed and progress.speed > 0 and duration > 0:
            eta = max(0.0, duration - progress.out_seconds) / progress.speed
        report(start + span * fraction, speed=progress.speed, eta_seconds=eta)

    return callback
