"""MP4 and WebM transcodes, progress from ffmpeg's -progress output, retries writing once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from jobs.content.video import transcode_video
from odyssey_workers.media.ffmpeg_tools import Progress, input_args, progress_reporter, run_ffmpeg
from odyssey_workers.storage import get_storage
from tests.content.media_samples import clip, ffmpeg, probe, settings_env, start_run


def test_mp4_and_webm_have_the_right_codecs_and_the_mp4_starts_fast(env, make_asset, monkeypatch):
    settings_env(monkeypatch, content_video_webm_enabled="true")
    asset_id = make_asset(clip(seconds=2, size="320x240"), filename="a.mov")
    start_run(asset_id)

    result = transcode_video(asset_id)

    storage = get_storage()
    rows = {r["name"]: r for r in result["renditions"]}
    assert set(rows) == {"video.mp4", "video.webm"}
    mp4 = storage.read_bytes(rows["video.mp4"]["storage_key"])
    webm = storage.read_bytes(rows["video.webm"]["storage_key"])
    assert mp4.index(b"moov") < mp4.index(b"mdat")
    assert {s["codec_name"] for s in probe(mp4, ".mp4")["streams"]} == {"h264", "aac"}
    assert {s["codec_name"] for s in probe(webm, ".webm")["streams"]} == {"vp9", "opus"}
    for row in rows.values():
        assert (row["width"], row["height"]) == (320, 240)
        assert row["duration_seconds"] == pytest.approx(2.0, abs=0.1)


def test_mp4_is_scaled_down_to_the_cap_and_never_up(env, make_asset, monkeypatch):
    settings_env(monkeypatch, content_video_mp4_max_height=120)
    big = make_asset(clip(seconds=1, size="320x240"), filename="big.mp4")
    small = make_asset(clip(seconds=1, size="160x90"), filename="small.mp4")
    start_run(big)
    start_run(small)

    big_row = transcode_video(big)["renditions"][0]
    small_row = transcode_video(small)["renditions"][0]

    assert (big_row["width"], big_row["height"]) == (160, 120)
    assert (small_row["width"], small_row["height"]) == (160, 90)
    stream = probe(get_storage().read_bytes(big_row["storage_key"]), ".mp4")["streams"][0]
    assert (stream["width"], stream["height"]) == (160, 120)


def test_creator_text_watermark_is_drawn_on_the_video(env, make_asset, make_creator, tmp_path):
    plain = make_asset(clip(seconds=1, size="320x240"), filename="a.mp4")
    branded_creator = make_creator({"watermark": {"text": "@ana", "position": "bottom-right", "opacity": 1.0}})
    branded = make_asset(clip(seconds=1, size="320x240"), creator_id=branded_creator, filename="a.mp4")
    start_run(plain)
    start_run(branded)

    frames = []
    for asset_id in (plain, branded):
        key = transcode_video(asset_id)["renditions"][0]["storage_key"]
        video = tmp_path / f"{asset_id}.mp4"
        video.write_bytes(get_storage().read_bytes(key))
        ffmpeg("-i", str(video), "-frames:v", "1", str(tmp_path / f"{asset_id}.png"))
        frames.append(Image.open(tmp_path / f"{asset_id}.png").convert("L"))

    diff = ImageChops.difference(*frames)
    corner = ImageStat.Stat(diff.crop((160, 180, 320, 240))).mean[0]
    elsewhere = ImageStat.Stat(diff.crop((0, 0, 160, 120))).mean[0]
    assert corner > 5 * max(elsewhere, 0.5), (corner, elsewhere)


def test_retried_transcode_rewrites_the_same_key(env, make_asset):
    asset_id = make_asset(clip(seconds=1), filename="a.mp4")
    start_run(asset_id)

    first = transcode_video(asset_id)["renditions"]
    second = transcode_video(asset_id)["renditions"]

    assert [r["storage_key"] for r in first] == [r["storage_key"] for r in second]
    assert len(list(get_storage().list(f"renditions/{asset_id}/"))) == 1


def test_ffmpeg_progress_is_reported_as_percent_speed_and_time_left(tmp_path: Path):
    source = tmp_path / "in.mp4"
    source.write_bytes(clip(seconds=2))
    seen: list[Progress] = []

    run_ffmpeg([*input_args(source, "mov"), "-f", "null", "-"], timeout=30, on_progress=seen.append)

    assert seen and seen[-1].finished
    assert seen[-1].out_seconds == pytest.approx(2.0, abs=0.15)
    reports: list[tuple[float, dict]] = []
    callback = progress_reporter(10.0, lambda percent, **kw: reports.append((percent, kw)), start=40, span=50)
    callback(Progress(out_seconds=5.0, speed=2.0, finished=False))
    callback(Progress(out_seconds=10.0, speed=2.0, finished=True))
    assert reports == [(65.0, {"speed": 2.0, "eta_seconds": 2.5}), (90.0, {"speed": 2.0, "eta_seconds": 0.0})]


def test_progress_lands_in_the_job_meta_of_a_real_worker_run(env, redis_conn, make_asset):
    from odyssey_workers.queues import enqueue
    from tests.support.workers import start_worker, stop_worker

    asset_id = make_asset(clip(seconds=2), filename="a.mp4")
    start_run(asset_id)

    job = enqueue("content.transcode_video", asset_id=asset_id)
    worker = start_worker(env, burst=True)
    worker.wait(timeout=60)
    stop_worker(worker)

    assert job.get_status(refresh=True) == "finished"
    assert job.get_meta(refresh=True)["progress"]["percent"] == 100.0
    assert io.BytesIO(get_storage().read_bytes(job.return_value()["renditions"][0]["storage_key"])).read(12)[4:8] == (
        b"ftyp"
    )
