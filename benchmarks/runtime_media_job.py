"""A light job whose module imports the media libraries at module level, as media job modules do.

Same imports as ``jobs/system/media.py`` (Pillow and ``odyssey_workers.media.ffmpeg_tools``,
the argument-list ffmpeg runner media jobs use); the body is light (no subprocess), so the
benchmark times the cost of importing per job against preloading once.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, features

from odyssey_workers.media.ffmpeg_tools import input_args

IMPORTED_IN_PID = os.getpid()
"""The process that imported this module: the worker when it preloads, else the work horse."""


def media_light() -> dict[str, object]:
    """Touch both without real work (an ffmpeg input argv is built, not run); returns the horse pid."""
    arguments = input_args(Path("in.mp4"), "mov")
    return {
        "pid": os.getpid(),
        "imported_in": IMPORTED_IN_PID,
        "pillow": Image.__version__,
        "jpeg": bool(features.check_codec("jpg")),
        "ffmpeg_args": len(arguments),
    }
