"""The failure reason a creator sees on an asset: one plain sentence, never internals.

Operators and creators need different words for one failure. The exception keeps everything an
operator needs (ffmpeg's error lines, paths, exception types): it is what the job's exc_info and
the worker's log show. The asset's ``failure_reason`` is a sentence a creator can act on, made
here: the sentence a raise site attached with ``with_reason``, else the message of a
``PermanentError`` when it holds nothing internal, else a sentence about the step that failed.
"""

from __future__ import annotations

import re
from typing import TypeVar

from odyssey_workers.errors import PermanentError

ErrorT = TypeVar("ErrorT", bound=BaseException)

STEP_ACTIONS = {
    "content.process_upload": "Checking the upload",
    "content.optimize_image": "Processing the image",
    "content.probe_video": "Reading the video",
    "content.transcode_video": "Converting the video",
    "content.package_hls": "Preparing the video for streaming",
    "content.make_thumbnails": "Making the video's thumbnails",
    "content.process_audio": "Processing the audio",
    "content.finalize_asset": "Publishing the upload",
}
"""What each pipeline step does, in a creator's words (other steps: "Processing the upload")."""

DAMAGED_MEDIA = "The file could not be decoded: it is damaged or not a supported format."
MISSING_ORIGINAL = "The uploaded file is missing from storage. Please upload it again."
LOGO_UNUSABLE = (
    "The watermark logo in your settings cannot be used: it is missing, damaged, too large or not a supported image."
)

MAX_REASON_CHARS = 300
"""A longer message is not a sentence for a creator (it is a dump of some tool's output)."""

INTERNAL_TEXT = re.compile(
    r"file:\S"  # an ffmpeg input URL (not "unsupported file: ...")
    r"|(?:^|[\s'\"(=])/[^\s'\"]*"  # an absolute path
    r"|\b(?:uploads|renditions|tmp)/\S"  # a storage key or a scratch folder
    r"|var/tmp|Traceback|\s\|\s"  # a temporary folder, a traceback, joined stderr lines
    r"|\b\w+(?:Error|Exception)\b"  # an exception class name
    r"|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"  # a setting (environment variable) name
    r"|\[\w+(?:,\w+)*\s@\s0x"  # an ffmpeg log prefix: [mov,mp4 @ 0x55...]
)


def with_reason(error: ErrorT, reason: str) -> ErrorT:
    """``error``, carrying ``reason``: the sentence the asset shows (its message keeps the detail)."""
    error.creator_reason = reason  # type: ignore[attr-defined]
    return error


def attached_reason(error: BaseException | None) -> str | None:
    reason = getattr(error, "creator_reason", None)
    return reason if isinstance(reason, str) and reason else None


def looks_internal(text: str) -> bool:
    """Whether ``text`` shows something only an operator should see (paths, tool output, types)."""
    return len(text) > MAX_REASON_CHARS or bool(INTERNAL_TEXT.search(text))


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, one full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def step_action(step: str) -> str:
    return STEP_ACTIONS.get(step, "Processing the upload")


def unexpected(step: str) -> str:
    """The reason for a failure with nothing a creator could do about it but try again."""
    return f"{step_action(step)} failed because of a problem on our side. Please upload the file again."


def creator_reason(step: str, error: BaseException | None) -> str:
    """The sentence for ``error`` raised by ``step``: attached, a clean PermanentError's, or generic."""
    attached = attached_reason(error)
    if attached:
        return sentence(attached)
    message = str(error).strip() if error is not None else ""
    if isinstance(error, PermanentError) and message and not looks_internal(message):
        return sentence(message)
    return unexpected(step)


def timed_out(step: str, limit_seconds: int | None) -> str:
    limit = f" of {limit_seconds} seconds" if limit_seconds else ""
    return f"{step_action(step)} took longer than its time limit{limit}. Please upload the file again."


def worker_stopped(step: str, signal: int | None = None) -> str:
    """A dead work horse: killed (often out of memory), crashed in a codec, or its machine lost."""
    how = f"signal {signal}" if signal is not None else "killed or out of memory"
    return f"{step_action(step)} did not finish: the worker running it stopped ({how}). Please upload the file again."
