"""Storage under hostile keys and crashes: refused with the rule named, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from odyssey_workers.errors import StorageKeyError
from odyssey_workers.storage import get_storage
from odyssey_workers.storage.base import TEMP_PREFIX
from tests.storage.conftest import Backend
from tests.support.workers import wait_until

REPO = Path(__file__).resolve().parents[2]

HOSTILE_KEYS = [
    ("../escape.txt", "'..' part"),
    ("avatars/../../etc/passwd", "'..' part"),
    ("/etc/passwd", "absolute path"),
    ("C:/Windows/win.ini", "absolute path"),
    ("avatars\\..\\..\\escape.txt", "backslash"),
    ("avatar.png\x00.txt", "NUL byte"),
    ("line\nbreak.txt", "control character"),
    ("", "empty"),
    ("a//b.txt", "empty, '.' or '..' part"),
    ("a/./b.txt", "empty, '.' or '..' part"),
    ("trailing/", "empty, '.' or '..' part"),
    (f"uploads/{TEMP_PREFIX}sneaky", "reserved prefix"),
    ("x" * 1025, "longer than 1024 bytes"),
    ("a/" + "y" * 256, "part longer than 255 bytes"),
]


def everything_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize(("key", "rule"), HOSTILE_KEYS, ids=[rule for _key, rule in HOSTILE_KEYS])
def test_a_hostile_key_is_refused_naming_the_rule_and_nothing_is_written(
    backend: Backend, tmp_path: Path, key: str, rule: str
) -> None:
    source = tmp_path / "payload.txt"
    source.write_bytes(b"payload")
    outside_before = everything_under(tmp_path)

    with pytest.raises(StorageKeyError, match=rule.replace("(", r"\(").replace(".", r"\.")):
        backend.storage.put(key, b"payload")
    with pytest.raises(StorageKeyError, match="storage key"):
        backend.storage.put_file(key, source)
    for operation in (backend.storage.open, backend.storage.exists, backend.storage.delete, backend.storage.url):
        with pytest.raises(StorageKeyError):
            operation(key)

    assert list(backend.storage.list()) == []
    assert everything_under(tmp_path) == outside_before  # nothing landed beside or above the root
    if backend.root is not None:
        assert everything_under(backend.root) == []
    else:
        assert backend.s3.list_objects_v2(Bucket=backend.bucket).get("KeyCount") == 0


@pytest.mark.parametrize("prefix", ["../", "a/../", "/abs", "a\\b", "a\x00"])
def test_a_hostile_listing_prefix_is_refused(backend: Backend, prefix: str) -> None:
    with pytest.raises(StorageKeyError, match="storage prefix"):
        list(backend.storage.list(prefix))
    with pytest.raises(StorageKeyError, match="storage prefix"):
        backend.storage.delete_prefix(prefix)


def test_names_that_only_look_like_dots_are_ordinary_keys(backend: Backend) -> None:
    for key in ["..hidden/a.txt", "a/...", "a/b..c/.d", "photos/été 2026/é.jpg"]:
        backend.storage.put(key, key.encode())
        assert backend.storage.read_bytes(key) == key.encode()
    # The last part of a prefix is the start of a name, so "a/.." is a fine prefix of "a/...".
    assert [item.key for item in backend.storage.list("a/..")] == ["a/..."]
    assert [item.key for item in backend.storage.list("a/b..c/")] == ["a/b..c/.d"]


def test_a_symlink_inside_the_root_pointing_out_is_refused(env: dict[str, str], var_dir: Path, tmp_path: Path) -> None:
    backend = Backend("local", get_storage(), env, root=var_dir / "storage")  # object stores have no symlinks
    assert backend.root is not None
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not yours")
    backend.root.mkdir(parents=True, exist_ok=True)
    (backend.root / "linked-folder").symlink_to(outside, target_is_directory=True)
    (backend.root / "linked-file.txt").symlink_to(outside / "secret.txt")

    for key in ["linked-folder/secret.txt", "linked-folder/new.txt", "linked-file.txt"]:
        with pytest.raises(StorageKeyError, match="resolves outside the storage root"):
            backend.storage.put(key, b"overwrite")
        with pytest.raises(StorageKeyError, match="resolves outside the storage root"):
            backend.storage.open(key)
        with pytest.raises(StorageKeyError, match="resolves outside the storage root"):
            backend.storage.delete(key)

    assert everything_under(outside) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"not yours"
    assert list(backend.storage.list()) == []  # the link out is not an object of this storage
    assert list(backend.storage.list("linked-folder/")) == []


def start_crashing_writer(backend: Backend, key: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.crash_writer", key],
        env={**os.environ, **backend.env},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the writer is inside the write
    if line.strip() != "midway":
        process.kill()
        raise AssertionError(f"writer did not reach mid-write: {line!r} {process.communicate()[1][-2000:]}")
    return process


def in_flight_s3_parts(backend: Backend) -> int:
    uploads = backend.s3.list_multipart_uploads(Bucket=backend.bucket).get("Uploads", [])
    return sum(
        len(backend.s3.list_parts(Bucket=backend.bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts", []))
        for u in uploads
    )


def temp_files(root: Path) -> list[Path]:
    return [path for path in root.rglob(f"{TEMP_PREFIX}*") if path.is_file()]


@pytest.mark.parametrize("existing", [None, b"the old, complete version"], ids=["new-key", "existing-key"])
def test_a_writer_killed_mid_write_leaves_no_readable_half_file(backend: Backend, existing: bytes | None) -> None:
    key = "uploads/9/video.mp4"
    if existing is not None:
        backend.storage.put(key, existing)

    writer = start_crashing_writer(backend, key)
    try:
        # Prove the crash lands mid-write: bytes of the new version are really out there.
        if backend.root is not None:
            wait_until(lambda: any(p.stat().st_size > 0 for p in temp_files(backend.root)), timeout=30)
        else:
            wait_until(lambda: in_flight_s3_parts(backend) >= 1, timeout=60)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=10)
    assert writer.returncode == -signal.SIGKILL

    if existing is None:
        assert backend.storage.exists(key) is False
        with pytest.raises(FileNotFoundError):
            backend.storage.open(key)
        assert list(backend.storage.list()) == []
    else:
        assert backend.storage.read_bytes(key) == existing
        assert [(item.key, item.size) for item in backend.storage.list()] == [(key, len(existing))]
    if backend.root is not None:
        # The half file is still on disk under its temporary name, invisible, until swept.
        assert len(temp_files(backend.root)) == 1
        assert backend.storage.remove_stale_temp_files(older_than_seconds=0) == 1  # type: ignore[attr-defined]
        assert temp_files(backend.root) == []
    else:
        assert in_flight_s3_parts(backend) >= 1  # an unfinished upload, never an object
