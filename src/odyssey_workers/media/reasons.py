"""The failure reason a user sees: one plain sentence, never internals.

Operators and users need different words for one failure. The exception keeps everything an
operator needs (ffmpeg's error lines, paths, exception types): it is what the job's exc_info and
the worker's log show. The sentence for the user is attached at the raise site with
``with_reason``; a domain reads it back with ``attached_reason`` and falls back on the message
of a ``PermanentError`` only when ``looks_internal`` finds nothing internal in it.
"""

from __future__ import annotations

import re
from typing import TypeVar

ErrorT = TypeVar("ErrorT", bound=BaseException)

DAMAGED_MEDIA = "The file could not be decoded: it is damaged or not a supported format."

MAX_REASON_CHARS = 300
"""A longer message is not a sentence for a user (it is a dump of some tool's output)."""

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
    """``error``, carrying ``reason``: the sentence the user is shown (its message keeps the detail)."""
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
