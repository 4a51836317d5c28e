"""The probe: caps on streams, frames, pixels, duration, bytes and codecs; timeouts by duration."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.content.media_contracts import timeout_for
from jobs.content.probe import inspect_media
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.ffmpeg_tools import sniff_container
from tests.content.media_samples import clip, settings_env


@pytest.fixture
def sample(tmp_path: Path):
    def write(data: bytes, name: str = "upload.bin") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def test_probe_reports_the_facts_jobs_work_from(env, sample):
    info = inspect_media(sample(clip(seconds=2, size="320x240", rate=15)), "video")

    assert (info.demuxer, info.stream_count) == ("mov", 2)
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.video is not None and (info.video.width, info.video.height, info.video.fps) == (320, 240, 15.0)
    assert info.audio is not None and info.audio.codec == "aac"


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("content_video_codecs", ["vp9", "av1"], "video codec 'h264' is not allowed"),
        ("content_audio_codecs", ["opus"], "audio codec 'aac' is not allowed"),
        ("content_video_max_streams", 1, "the file has 2 streams, over the limit of 1"),
        ("content_video_max_frames", 20, "the video has 30 frames, over the limit of 20"),
        ("content_video_max_side", 200, "320x240, a side over the limit of 200 pixels"),
        ("content_video_max_bytes", 1000, "over the video limit of 1000 bytes"),
        ("content_video_max_fps", 10, "runs at 15.0 frames/s, over the limit of 10"),
    ],
)
def test_probe_refuses_what_the_settings_do_not_allow(env, sample, monkeypatch, setting, value, reason):
    settings_env(monkeypatch, **{setting: value})

    with pytest.raises(PermanentError, match=reason):
        inspect_media(sample(clip(seconds=2, size="320x240", rate=15)), "video")


def test_webm_and_mpegts_are_read_with_their_own_demuxer(sample):
    assert sniff_container(sample(clip(seconds=1, fmt="webm"))) == ("video", "matroska")
    assert sniff_container(sample(clip(seconds=1, fmt="ts"))) == ("video", "mpegts")
    assert sniff_container(sample(clip(seconds=1, video=False, fmt="mp3"))) == ("audio", "mp3")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "PNG image, not video or audio"),
        (b"<html><body>hi</body></html>", "HTML page"),
        (b"#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1/x.ts\n", "HLS playlist"),
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "concat list"),
    ],
)
def test_sniffer_refuses_non_media_before_any_ffmpeg_runs(sample, data, reason):
    with pytest.raises(PermanentError, match=reason):
        if not data:
            inspect_media(sample(data), "video")
        sniff_container(sample(data))


def test_timeouts_grow_with_the_input_duration_up_to_the_hard_cap(env, monkeypatch):
    settings_env(monkeypatch, content_media_timeout_base_seconds=100, content_media_timeout_per_input_second=2)
    monkeypatch.setenv("JOB_TIMEOUT_CAP_SECONDS", "3600")
    from odyssey_workers.settings import get_settings

    get_settings.cache_clear()

    assert timeout_for(10) == 120
    assert timeout_for(600) == 1300
    assert timeout_for(2 * 3600) == 3600  # a 2-hour video hits the cap
    assert timeout_for(None) == 3600


def test_probe_gives_the_jobs_after_it_a_timeout_that_fits_the_duration(env, redis_conn, make_asset):
    from odyssey_workers.queues import enqueue
    from tests.content.media_samples import start_run
    from tests.support.workers import start_worker, stop_worker

    asset_id = make_asset(clip(seconds=2), filename="a.mp4")
    start_run(asset_id)
    probe = enqueue("content.probe_video", asset_id=asset_id)
    thumbs = enqueue("content.make_thumbnails", asset_id=asset_id, _depends_on=probe)
    assert thumbs.timeout == 1800  # the catalog's default until the probe knows better

    worker = start_worker(env, burst=True)
    worker.wait(timeout=90)
    stop_worker(worker)

    assert probe.get_status(refresh=True) == "finished"
    assert probe.return_value()["details"]["media"]["duration"] == pytest.approx(2.0, abs=0.05)
    thumbs.refresh()
    assert thumbs.get_status() == "finished"
    assert thumbs.timeout == timeout_for(2.0)
