"""A light job whose module imports the media libraries at module level, as media job modules do.

Same imports as ``jobs/system/media.py`` (Pillow and ffmpeg-python); the body is light (no
subprocess), so the benchmark times the cost of importing per job against preloading once.
"""

from __future__ import annotations

import os

import ffmpeg
from PIL import Image, features

IMPORTED_IN_PID = os.getpid()
"""The process that imported this module: the worker when it preloads, else the work horse."""


def media_light() -> dict[str, object]:
    """Touch both libraries without real work; returns the horse pid for the isolation check."""
    arguments = ffmpeg.input("in.mp4").output("out.webm", vcodec="libvpx-vp9").get_args()
    return {
        "pid": os.getpid(),
        "imported_in": IMPORTED_IN_PID,
        "pillow": Image.__version__,
        "jpeg": bool(features.check_codec("jpg")),
        "ffmpeg_args": len(arguments),
    }
