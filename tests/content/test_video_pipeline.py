"""A video upload through the whole pipeline: real worker, real ffmpeg, SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from odyssey_workers.settings import get_settings
from odyssey_workers.storage import get_storage
from tests.content.conftest import process_with_worker
from tests.content.media_samples import clip, probe


def set_media_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **values: object) -> None:
    """Settings for this test and for the worker subprocess it starts."""
    for name, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        monkeypatch.setenv(name.upper(), text)
        env[name.upper()] = text
    get_settings.cache_clear()


@pytest.mark.timeout(180)
def test_video_upload_becomes_ready_with_mp4_hls_ladder_and_thumbnails(env, redis_conn, make_asset, monkeypatch):
    set_media_settings(monkeypatch, env, content_video_ladder_kbps={"240": 600, "120": 300})
    asset_id = make_asset(clip(seconds=2, size="320x240"), filename="holiday.mov")

    state = process_with_worker(env, asset_id, timeout=150)

    assert state["status"] == "ready", state["reason"]
    assert state["kind"] == "video"
    rows = {row["name"]: row for row in state["renditions"]}
    assert set(rows) == {
        "video.mp4",
        "hls.master",
        "hls.240p",
        "hls.120p",
        "hls.audio",
        "thumbnail.poster",
        "thumbnail.sprite",
        "thumbnail.sprite_vtt",
        "thumbnail.preview",
    }
    storage = get_storage()
    mp4 = storage.read_bytes(rows["video.mp4"]["storage_key"])
    assert mp4.index(b"moov") < mp4.index(b"mdat"), "+faststart puts the index before the media"
    codecs = {s["codec_type"]: s["codec_name"] for s in probe(mp4, ".mp4")["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert (rows["video.mp4"]["width"], rows["video.mp4"]["height"]) == (320, 240)
    master = storage.read_bytes(rows["hls.master"]["storage_key"]).decode()
    assert "240p/index.m3u8" in master and "120p/index.m3u8" in master
    assert 'TYPE=AUDIO,GROUP-ID="audio"' in master and 'URI="audio/index.m3u8"' in master
    assert state["details"]["media"]["duration"] == pytest.approx(2.0, abs=0.1)
    assert state["details"]["timeout_seconds"] >= 120
