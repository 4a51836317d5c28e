"""Choosing the backend from STORAGE_URL, and the one-line errors for a bad one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from odyssey_workers.errors import ConfigurationError
from odyssey_workers.settings import get_settings
from odyssey_workers.storage import get_storage, storage_from_url
from odyssey_workers.storage.local import LocalStorage
from odyssey_workers.storage.s3 import S3Storage
from tests.conftest import reset_runtime_caches


def test_the_default_storage_is_a_folder_under_var(env: dict[str, str], var_dir: Path) -> None:
    storage = get_storage()

    assert isinstance(storage, LocalStorage)
    assert storage.root == (var_dir / "storage").resolve()
    assert get_storage() is storage
    storage.put("hello.txt", b"hi")
    assert (var_dir / "storage" / "hello.txt").read_bytes() == b"hi"


def test_a_file_url_or_a_plain_path_names_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_url = storage_from_url((tmp_path / "by-url").as_uri())
    monkeypatch.chdir(tmp_path)
    by_path = storage_from_url("relative/media")

    assert isinstance(by_url, LocalStorage) and by_url.root == tmp_path / "by-url"
    assert isinstance(by_path, LocalStorage) and by_path.root == tmp_path / "relative" / "media"
    assert (tmp_path / "relative" / "media").is_dir()


def test_an_s3_url_picks_the_bucket_prefix_and_endpoint(s3_env: dict[str, str]) -> None:
    storage = get_storage()

    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (s3_env["STORAGE_URL"][5:].split("/")[0], "media/")
    storage.put("x.txt", b"x")
    assert "at " + s3_env["S3_ENDPOINT_URL"] in storage.check()


BAD_URLS = [
    ("ftp://files.example/media", "unsupported scheme 'ftp'"),
    ("cloudinary://key:secret@cloud", "unsupported scheme 'cloudinary'"),
    ("s3://", "bucket name must be"),
    ("s3://Not_A_Bucket/media", "bucket name must be"),
    ("s3://ab", "bucket name must be"),
    ("s3://bucket/media/../escape", "bad s3 prefix"),
    ("s3://bucket/media?acl=public", "no query or fragment"),
    ("file://storage-host/srv/media", "has a host 'storage-host'"),
    ("file:relative/media", "needs an absolute folder"),
    ("   ", "unsupported an empty value"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_URLS, ids=[url for url, _ in BAD_URLS])
def test_a_bad_storage_url_is_one_line_naming_the_variable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("STORAGE_URL", url)
    reset_runtime_caches()

    with pytest.raises(ConfigurationError) as caught:
        get_storage()

    message = str(caught.value)
    assert message.startswith("STORAGE_URL: ")
    assert reason in message
    assert "\n" not in message
    assert "secret" not in message  # credentials in a URL are never echoed


def test_a_storage_folder_that_cannot_be_made_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("in the way")

    with pytest.raises(ConfigurationError, match=r"^STORAGE_URL: cannot use folder .*a-file/media"):
        storage_from_url((tmp_path / "a-file" / "media").as_uri())


def test_a_missing_bucket_is_a_configuration_error_and_nothing_is_stored(
    s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_URL", "s3://no-such-bucket-here")
    reset_runtime_caches()
    storage = get_storage()

    for attempt in (lambda: storage.put("a.txt", b"a"), storage.check, lambda: list(storage.list())):
        with pytest.raises(ConfigurationError, match=r"^STORAGE_URL: bucket 'no-such-bucket-here' does not exist$"):
            attempt()
    assert get_settings().storage_url == "s3://no-such-bucket-here"


def test_a_forked_work_horse_gets_its_own_storage_client(env: dict[str, str]) -> None:
    parent = get_storage()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the horse: never reuse the parent's instance (an S3 client's sockets)
        os.close(read_end)
        child = get_storage()
        os.write(write_end, b"own" if child is not parent and child is get_storage() else b"shared")
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 10)
    os.close(read_end)
    os.waitpid(pid, 0)

    assert answer == b"own"
    assert get_storage() is parent
