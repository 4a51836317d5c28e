"""A writer that dies mid-write: ``python -m tests.storage.crash_writer KEY``.

It stores a stream under KEY through the configured storage (``STORAGE_URL``), prints
``midway`` once BLOCK_AT bytes have gone into the write, then hangs inside the write until the
test kills it with SIGKILL: the crash the atomic-write tests need, at a known point.
"""

from __future__ import annotations

import io
import sys
import time

from odyssey_workers.storage import get_storage
from odyssey_workers.storage.s3 import MULTIPART_BYTES

BLOCK_AT = MULTIPART_BYTES
"""Bytes handed over before the hang: a whole S3 part, eight local copy chunks."""


class HangingStream(io.RawIOBase):
    def __init__(self) -> None:
        self.sent = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.sent >= BLOCK_AT:
            print("midway", flush=True)
            time.sleep(600)  # the test kills us here
        size = min(len(buffer), BLOCK_AT - self.sent)
        buffer[:size] = b"N" * size
        self.sent += size
        return size


if __name__ == "__main__":
    get_storage().put(sys.argv[1], HangingStream())
    print("finished", flush=True)  # never reached when the test does its job
