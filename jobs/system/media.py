"""The media check: what a worker's Pillow and ffmpeg can do.

Imports Pillow and ffmpeg-python at module level on purpose, like every media job module; the
benchmark of warm (preloaded) workers against stock ``rq worker`` uses this job.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import ffmpeg  # noqa: F401 - imported as media jobs do, so preloading is measured honestly
from PIL import Image, features


def media_check() -> dict[str, Any]:
    """Pillow version and codecs, and the ffmpeg binary's version line (or None)."""
    ffmpeg_path = shutil.which("ffmpeg")
    ffmpeg_version = None
    if ffmpeg_path:
        out = subprocess.run([ffmpeg_path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=10)
        ffmpeg_version = out.stdout.splitlines()[0] if out.stdout else None
    return {
        "pillow": Image.__version__,
        "codecs": {name: bool(features.check(name)) for name in ("jpg", "webp", "avif", "zlib")},
        "ffmpeg": ffmpeg_version,
    }
