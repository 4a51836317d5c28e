"""The media check: what a worker's Pillow and ffmpeg can do.

Imports at module level what media job modules import: Pillow and the runtime's ffmpeg tools
(``odyssey_workers.media.ffmpeg_tools``; the project runs ffmpeg as a subprocess with an
argument list, no Python ffmpeg binding). The benchmark of warm (preloaded) workers against
stock ``rq worker`` uses this job.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import PIL
from PIL import features

from odyssey_workers.media.ffmpeg_tools import FFMPEG


def media_check() -> dict[str, Any]:
    """Pillow version and codecs, and the ffmpeg binary's version line (or None)."""
    ffmpeg_path = shutil.which(FFMPEG)
    ffmpeg_version = None
    if ffmpeg_path:
        out = subprocess.run([ffmpeg_path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=10)
        ffmpeg_version = out.stdout.splitlines()[0] if out.stdout else None
    return {
        "pillow": PIL.__version__,
        "codecs": {name: bool(features.check(name)) for name in ("jpg", "webp", "avif", "zlib")},
        "ffmpeg": ffmpeg_version,
    }
