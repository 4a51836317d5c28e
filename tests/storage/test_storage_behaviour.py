"""One behavioural suite, run against the local folder and against S3 (moto on loopback)."""

from __future__ import annotations

import hashlib
import io
import threading
import urllib.request
from pathlib import Path

import pytest

from odyssey_workers.storage import StoredObject
from odyssey_workers.storage.base import CHUNK_BYTES
from odyssey_workers.storage.s3 import MULTIPART_BYTES
from tests.storage.conftest import Backend

# Larger than one copy chunk locally and than one multipart part on S3, so both stream in pieces.
LARGE_BYTES = max(CHUNK_BYTES, MULTIPART_BYTES) + 123_457


class TrickleStream(io.RawIOBase):
    """A non-seekable stream of unknown length, as an upload arriving over a socket."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self.remaining, 256 * 1024)
        chunk = bytes((self.remaining - i) % 251 for i in range(size))
        buffer[:size] = chunk
        self.digest.update(chunk)
        self.remaining -= size
        return size


def test_put_then_open_returns_the_same_bytes(backend: Backend) -> None:
    stored = backend.storage.put("avatars/7/original.png", b"\x89PNG fake but bytes", content_type="image/png")

    assert stored == StoredObject(key="avatars/7/original.png", size=19)
    with backend.storage.open("avatars/7/original.png") as handle:
        assert handle.read() == b"\x89PNG fake but bytes"


def test_put_replaces_an_existing_object_whole(backend: Backend) -> None:
    backend.storage.put("doc.txt", b"a much longer first version")
    backend.storage.put("doc.txt", b"v2")

    assert backend.storage.read_bytes("doc.txt") == b"v2"
    assert [item.key for item in backend.storage.list()] == ["doc.txt"]


def test_put_file_streams_a_file_larger_than_one_memory_chunk(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    with source.open("wb") as handle:
        for index in range(LARGE_BYTES // 65536 + 1):
            handle.write(hashlib.sha256(str(index).encode()).digest() * 2048)
        handle.truncate(LARGE_BYTES)
    expected = hashlib.sha256(source.read_bytes()).hexdigest()

    stored = backend.storage.put_file("uploads/big.bin", source, content_type="application/octet-stream")

    assert stored.size == LARGE_BYTES
    copy = backend.storage.download("uploads/big.bin", tmp_path / "copy" / "big.bin")
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == expected


def test_put_accepts_a_stream_of_unknown_length(backend: Backend) -> None:
    stream = TrickleStream(LARGE_BYTES)

    stored = backend.storage.put("uploads/streamed.bin", io.BufferedReader(stream))

    assert stored.size == LARGE_BYTES
    assert hashlib.sha256(backend.storage.read_bytes("uploads/streamed.bin")).hexdigest() == stream.digest.hexdigest()


def test_list_returns_only_keys_under_the_prefix_in_key_order(backend: Backend) -> None:
    for key in ["videos/12/b.mp4", "videos/12/a.mp4", "videos/120/x.mp4", "videos/3/c.mp4", "images/1.jpg"]:
        backend.storage.put(key, key.encode())

    assert [item.key for item in backend.storage.list("videos/12/")] == ["videos/12/a.mp4", "videos/12/b.mp4"]
    assert [item.key for item in backend.storage.list("videos/12")] == [
        "videos/12/a.mp4",
        "videos/12/b.mp4",
        "videos/120/x.mp4",
    ]
    assert [item.key for item in backend.storage.list()][:2] == ["images/1.jpg", "videos/12/a.mp4"]
    assert len(list(backend.storage.list())) == 5
    assert list(backend.storage.list("audio/")) == []
    assert [item.size for item in backend.storage.list("images/")] == [len(b"images/1.jpg")]


def test_delete_removes_the_object_and_says_whether_there_was_one(backend: Backend) -> None:
    backend.storage.put("tmp/one.txt", b"1")

    assert backend.storage.delete("tmp/one.txt") is True
    assert backend.storage.exists("tmp/one.txt") is False
    assert backend.storage.delete("tmp/one.txt") is False
    assert list(backend.storage.list()) == []


def test_delete_prefix_removes_everything_under_it_and_nothing_else(backend: Backend) -> None:
    for index in range(5):
        backend.storage.put(f"renditions/44/{index}.webp", b"x")
    backend.storage.put("renditions/445/keep.webp", b"keep")
    backend.storage.put("originals/44.jpg", b"keep")

    assert backend.storage.delete_prefix("renditions/44/") == 5
    assert [item.key for item in backend.storage.list()] == ["originals/44.jpg", "renditions/445/keep.webp"]
    assert backend.storage.delete_prefix("renditions/44/") == 0


def test_exists_is_true_only_for_stored_objects(backend: Backend) -> None:
    backend.storage.put("a/b/c.txt", b"c")

    assert backend.storage.exists("a/b/c.txt") is True
    assert backend.storage.exists("a/b/d.txt") is False
    assert backend.storage.exists("a/b") is False  # a folder-like prefix is not an object


def test_url_fetches_the_object(backend: Backend) -> None:
    backend.storage.put("share/report.csv", b"day,views\n2026-01-01,7\n", content_type="text/csv")

    url = backend.storage.url("share/report.csv")

    if backend.name == "s3":
        assert url.startswith(backend.env["S3_ENDPOINT_URL"] + "/")
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=" in url
    else:
        assert url.startswith("file:///")
    with urllib.request.urlopen(url, timeout=10) as response:  # an HTTP GET on S3, a file read locally
        assert response.read() == b"day,views\n2026-01-01,7\n"


def test_a_missing_key_raises_file_not_found_and_download_writes_nothing(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no object at storage key 'nope/missing\.jpg'"):
        backend.storage.open("nope/missing.jpg")
    with pytest.raises(FileNotFoundError):
        backend.storage.read_bytes("nope/missing.jpg")
    with pytest.raises(FileNotFoundError):
        backend.storage.download("nope/missing.jpg", tmp_path / "out" / "missing.jpg")

    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_concurrent_writers_never_show_a_reader_a_mixed_object(backend: Backend) -> None:
    size = 512 * 1024 if backend.name == "local" else 64 * 1024
    versions = {bytes([65 + n]) * size for n in range(2)}
    backend.storage.put("shared.bin", b"A" * size)
    stop = threading.Event()
    failures: list[Exception] = []

    def write(byte: bytes) -> None:
        try:
            while not stop.is_set():
                backend.storage.put("shared.bin", byte * size)
        except Exception as exc:  # noqa: BLE001 - any failure is reported by the main thread
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(bytes([65 + n]),)) for n in range(2)]
    for thread in writers:
        thread.start()
    try:
        for _ in range(60):
            content = backend.storage.read_bytes("shared.bin")
            assert content in versions, f"read a mixed or partial object of {len(content)} bytes"
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=30)
    assert failures == []
    assert [item.key for item in backend.storage.list()] == ["shared.bin"]
