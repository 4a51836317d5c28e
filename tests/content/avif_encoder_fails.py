"""Fault drill, loaded into a worker through ``ODYSSEY_EXTRA_CONTRACTS``: the AVIF encoder fails.

With the default formats (jpeg, webp, avif) the JPEG and WebP of the widest variant are written
before its AVIF encode fails, so the image step fails part-way through its set of renditions.
"""

from __future__ import annotations

from typing import Any

from jobs.content import images
from odyssey_workers.errors import PermanentError

_encode = images.encode


def encode(image: Any, fmt: str, settings: Any) -> bytes:
    if fmt == "avif":
        raise PermanentError(
            "drill: the AVIF encoder failed (OSError: encoder error -2)"
        )  # not retried: fails the step at once
    return _encode(image, fmt, settings)


images.encode = encode
