"""The upload pipeline end to end: real worker processes, real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import io

from PIL import Image

from odyssey_workers.storage import get_storage
from tests.content.conftest import asset_state, process_with_worker
from tests.content.image_samples import jpeg_bytes, photo


def test_image_upload_becomes_ready_with_every_width_and_format(env, redis_conn, make_asset):
    asset_id = make_asset(jpeg_bytes(photo(1000, 700)), filename="holiday.png")  # the name lies

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    assert (state["kind"], state["mime"]) == ("image", "image/jpeg")
    names = {row["name"] for row in state["renditions"]}
    expected = {f"image.{w}.{fmt}" for w in (320, 640, 1000) for fmt in ("jpeg", "webp", "avif")}
    assert names == expected
    storage = get_storage()
    for row in state["renditions"]:
        with Image.open(io.BytesIO(storage.read_bytes(row["storage_key"]))) as image:
            assert image.format == {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}[row["format"]]
            assert image.size == (row["width"], row["height"])
            assert row["width"] in (320, 640, 1000)
            assert abs(row["height"] - row["width"] * 0.7) <= 1
    details = state["details"]
    assert len(details["blurhash"]) == 28
    assert details["dominant_color"].startswith("#")
    assert (details["width"], details["height"]) == (1000, 700)


def test_semi_transparent_png_placeholder_has_the_colour_of_its_jpeg_rendition(env, redis_conn, make_asset):
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (200, 40, 90, 128)).save(png, "PNG")
    asset_id = make_asset(png.getvalue(), filename="logo.png")

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    jpeg = next(row for row in state["renditions"] if row["format"] == "jpeg")
    with Image.open(io.BytesIO(get_storage().read_bytes(jpeg["storage_key"]))) as image:
        mean = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    placeholder = bytes.fromhex(state["details"]["dominant_color"][1:])
    assert all(abs(a - b) <= 4 for a, b in zip(placeholder, mean, strict=True)), (placeholder.hex(), mean)


def test_animated_gif_becomes_an_animated_webp_and_a_short_mp4(env, redis_conn, make_asset, tmp_path):
    import json
    import subprocess

    from tests.content.image_samples import animated_gif

    asset_id = make_asset(animated_gif(frames=6, width=96, height=64), filename="loop.gif")

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    rows = {row["name"]: row for row in state["renditions"]}
    storage = get_storage()
    with Image.open(io.BytesIO(storage.read_bytes(rows["animation.webp"]["storage_key"]))) as webp:
        assert webp.format == "WEBP" and webp.n_frames == 6 and webp.size == (96, 64)
    mp4 = tmp_path / "animation.mp4"
    mp4.write_bytes(storage.read_bytes(rows["animation.mp4"]["storage_key"]))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(mp4)],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(probe.stdout)
    video = info["streams"][0]
    assert (video["codec_name"], video["pix_fmt"], video["width"]) == ("h264", "yuv420p", 96)
    assert len(info["streams"]) == 1  # silent
    assert 0.3 < float(info["format"]["duration"]) < 1.0  # 6 frames of 80 ms
    assert "image.96.jpeg" in rows  # a still of the first frame for places that cannot animate
    assert state["details"]["animated"] is True and state["details"]["frames"] == 6


def test_chain_steps_carry_scaled_timeouts_and_the_failure_callback(env, redis_conn, make_asset):
    from jobs.content.contracts import PIPELINE_FAILURE_CALLBACK
    from odyssey_workers.queues import fetch_job

    asset_id = make_asset(jpeg_bytes(photo(64, 48)))
    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready"
    step_jobs = [fetch_job(job_id, redis_conn) for job_id in state["job_ids"][1:]]
    assert [job.meta["job_name"] for job in step_jobs] == ["content.optimize_image", "content.finalize_asset"]
    for job in step_jobs:
        assert job._failure_callback_name == PIPELINE_FAILURE_CALLBACK
        assert job.timeout is not None and 30 <= job.timeout <= 120


def test_timeouts_grow_with_the_upload_and_stop_at_the_cap(env):
    from jobs.content.pipeline import scaled_timeout
    from odyssey_workers.settings import get_settings

    settings = get_settings()
    short, long = scaled_timeout("video", 5_000_000, settings), scaled_timeout("video", 400_000_000, settings)
    assert short < long
    assert scaled_timeout("video", 10**12, settings) == settings.job_timeout_cap_seconds


def with_review_step(env, monkeypatch):
    extra = "tests.support.contracts,tests.content.prepublish_jobs"
    for key, value in {
        "ODYSSEY_EXTRA_CONTRACTS": extra,
        "CONTENT_PRE_PUBLISH_STEPS": '["testing.review_asset"]',
    }.items():
        monkeypatch.setenv(key, value)
        env[key] = value


def test_pre_publish_step_runs_after_processing_and_before_the_asset_is_ready(env, redis_conn, make_asset, monkeypatch):
    with_review_step(env, monkeypatch)
    asset_id = make_asset(jpeg_bytes(photo(400, 300)), filename="fine.jpg")

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    assert state["details"]["review"] == "approved"
    assert state["details"]["reviewed_while"] == "processing"  # nothing was published before it ran
    assert list(state["details"]["pipeline"]["jobs"]) == [
        "content.optimize_image",
        "testing.review_asset",
        "content.finalize_asset",
    ]


def test_pre_publish_rejection_fails_the_asset_and_removes_the_processed_outputs(
    env, redis_conn, make_asset, monkeypatch
):
    with_review_step(env, monkeypatch)
    asset_id = make_asset(jpeg_bytes(photo(400, 300)), filename="reject-me.jpg")

    state = process_with_worker(env, asset_id)

    assert state["status"] == "failed"
    assert state["reason"] == "Rejected by review: reject-me.jpg is not allowed."
    assert state["renditions"] == []
    assert list(get_storage().list(f"renditions/{asset_id}/")) == []  # optimize_image's files are gone


def test_steps_report_progress_into_their_job_meta(env, redis_conn, make_asset):
    from odyssey_workers.queues import fetch_job

    asset_id = make_asset(jpeg_bytes(photo(900, 600)))
    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready"
    optimize = fetch_job(state["details"]["pipeline"]["jobs"]["content.optimize_image"], redis_conn)
    progress = optimize.meta["progress"]
    assert progress["percent"] == 100 and progress["stage"] == "done"


def with_crash_step(env, monkeypatch, step: str) -> None:
    extra = "tests.support.contracts,tests.content.prepublish_jobs"
    for key, value in {"ODYSSEY_EXTRA_CONTRACTS": extra, "CONTENT_PRE_PUBLISH_STEPS": f'["{step}"]'}.items():
        monkeypatch.setenv(key, value)
        env[key] = value


def test_last_attempt_of_a_step_whose_horse_dies_fails_the_asset_at_once(env, redis_conn, make_asset, monkeypatch):
    from odyssey_workers.queues import fetch_job
    from tests.content.prepublish_jobs import ATTEMPTS_KEY

    with_crash_step(env, monkeypatch, "testing.crash_horse_every_attempt")
    asset_id = make_asset(jpeg_bytes(photo(300, 200)))

    state = process_with_worker(env, asset_id)  # no recovery sweep runs

    # The first death was retried with the asset still processing; the second failed it.
    assert redis_conn.lrange(ATTEMPTS_KEY.format(asset_id=asset_id), 0, -1) == [b"processing", b"processing"]
    assert state["status"] == "failed"
    assert "the worker running it stopped (signal 9)" in state["reason"], state["reason"]
    assert state["renditions"] == [] and list(get_storage().list(f"renditions/{asset_id}/")) == []
    jobs = state["details"]["pipeline"]["jobs"]
    crashed = fetch_job(jobs["testing.crash_horse_every_attempt"], redis_conn)
    assert crashed.get_status() == "failed"
    assert "Work-horse terminated unexpectedly" in (crashed.latest_result().exc_string or "")
    assert fetch_job(jobs["content.finalize_asset"], redis_conn).get_status() == "canceled"


def test_recovery_sweep_fails_an_asset_the_dead_horse_callback_could_not(env, redis_conn, make_asset, monkeypatch):
    from jobs.content.pipeline import recover_stuck_assets
    from odyssey_workers.db.models.core import AssetStatus, ContentAsset
    from odyssey_workers.db.session import session_scope

    with_crash_step(env, monkeypatch, "testing.crash_horse")
    asset_id = make_asset(jpeg_bytes(photo(300, 200)))
    assert process_with_worker(env, asset_id)["status"] == "failed"
    with session_scope() as session:  # as if the callback had found the database down
        asset = session.get(ContentAsset, asset_id)
        asset.status, asset.failure_reason = AssetStatus.PROCESSING, None

    assert recover_stuck_assets(min_age_seconds=3600)["failed"] == []  # too young to judge
    assert recover_stuck_assets(min_age_seconds=0)["failed"] == [asset_id]
    after = asset_state(asset_id)
    assert after["status"] == "failed"
    assert "the worker running it stopped (signal 9)" in after["reason"], after["reason"]
    assert after["renditions"] == [] and list(get_storage().list(f"renditions/{asset_id}/")) == []


def test_smart_crop_adds_crops_of_the_aspect_to_a_ready_image(env, redis_conn, make_asset):
    from odyssey_workers.queues import enqueue
    from tests.support.workers import start_worker, wait_until

    asset_id = make_asset(jpeg_bytes(photo(1200, 900)))
    assert process_with_worker(env, asset_id)["status"] == "ready"

    job = enqueue("content.smart_crop", asset_id=asset_id, aspect="16:9")
    worker = start_worker(env, burst=True)
    wait_until(lambda: worker.poll() is not None, timeout=90, interval=0.2)

    assert job.get_status(refresh=True).value == "finished", job.latest_result()
    crops = [row for row in asset_state(asset_id)["renditions"] if row["kind"] == "crop"]
    assert {row["name"] for row in crops} == {
        f"crop16x9.{w}.{fmt}" for w in (1200, 640, 320) for fmt in ("jpeg", "webp", "avif")
    }
    for row in crops:
        assert abs(row["width"] / row["height"] - 16 / 9) < 0.02
        with Image.open(io.BytesIO(get_storage().read_bytes(row["storage_key"]))) as image:
            assert image.size == (row["width"], row["height"])
