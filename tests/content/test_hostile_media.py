"""Hostile and broken video/audio files: each fails for good, with a clear reason, and leaves
nothing behind. Run through the real pipeline (worker subprocess, Redis, SQLite/PostgreSQL)."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from odyssey_workers.db.models.core import AssetStatus, ContentAsset
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.ffmpeg_tools import ffprobe, input_args, run_ffmpeg
from odyssey_workers.queues import enqueue
from odyssey_workers.settings import get_settings
from odyssey_workers.storage import get_storage
from tests.content.conftest import asset_state
from tests.content.media_samples import clip
from tests.support.workers import start_worker, stop_worker, wait_until

SECRET = b"TOP-SECRET-0123456789-never-in-an-output"


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        RecordingHandler.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(clip())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server on 127.0.0.1 that records every request it gets."""
    RecordingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", RecordingHandler.requests
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A local file an attacker wants in an output: real media (so a follower would transcode
    it) with a marker appended."""
    path = tmp_path / "secret.mp4"
    path.write_bytes(clip() + SECRET)
    return path


def run_pipeline(env: dict[str, str], asset_id: int) -> tuple[dict, list]:
    """process_upload on a real worker until the asset settles; returns its state and every job
    of the run that failed (with their latest results)."""
    from odyssey_workers.queues import fetch_job

    upload = enqueue("content.process_upload", asset_id=asset_id)
    worker = start_worker(env, log=Path(env["VAR_DIR"]) / "worker.log")
    try:
        wait_until(lambda: asset_state(asset_id)["status"] in ("ready", "failed"), timeout=90, interval=0.2)
        # The failed step's callback runs before the worker moves on; let it settle.
        wait_until(lambda: upload.get_status(refresh=True) in ("finished", "failed"), timeout=30, interval=0.1)
    finally:
        stop_worker(worker)
    state = asset_state(asset_id)
    job_ids = [upload.id, *state["details"].get("pipeline", {}).get("jobs", {}).values()]
    failed = [job for job in (fetch_job(i) for i in job_ids) if job.get_status() == "failed"]
    return state, failed


INTERNALS = re.compile(r"file:\S|var/tmp|(?:^|[\s'(])/\S|\bcontent\.\w+|Error\b|Exception\b|\s\|\s|@ 0x")
"""What a creator's reason must never show: paths, ffmpeg URLs and log lines, job and exception names."""


def assert_creator_sentence(reason: str | None) -> None:
    assert reason and reason[0].isupper() and reason.endswith("."), reason
    assert not INTERNALS.search(reason), reason


def assert_failed_for_good(state: dict, failed: list, asset_id: int, reason: str) -> None:
    assert state["status"] == "failed"
    assert reason in (state["reason"] or ""), state["reason"]
    assert_creator_sentence(state["reason"])
    assert state["renditions"] == []
    assert list(get_storage().list(f"renditions/{asset_id}/")) == []
    assert len(failed) == 1, [job.description for job in failed]
    job = failed[0]
    assert "PermanentError" in (job.latest_result().exc_string or "")
    assert not job.retries_left, "a PermanentError is never retried"


def no_output_contains(needle: bytes) -> bool:
    storage = get_storage()
    return all(needle not in storage.read_bytes(item.key) for item in storage.list("renditions/"))


def test_mp4_without_moov_atom_fails_naming_the_missing_index(env, redis_conn, make_asset):
    whole = clip(seconds=2, size="160x120")
    moov = whole.index(b"moov") - 4  # ffmpeg writes moov last unless asked for faststart
    assert moov > whole.index(b"mdat")
    asset_id = make_asset(whole[:moov], filename="broken.mp4")

    state, failed = run_pipeline(env, asset_id)

    assert_failed_for_good(state, failed, asset_id, "no moov atom")
    assert failed[0].description == "content.probe_video"
    assert "moov atom not found" in failed[0].latest_result().exc_string  # ffprobe's words, for operators


def test_damaged_video_reason_names_no_path_while_the_job_keeps_ffprobe_detail(env, redis_conn, make_asset):
    whole = clip(seconds=2, size="160x120")
    damaged = whole[:64] + bytes(range(256)) * 64  # an MP4 header, then noise
    asset_id = make_asset(damaged, filename="damaged.mp4")

    state, failed = run_pipeline(env, asset_id)

    assert_failed_for_good(state, failed, asset_id, "MP4")
    detail = failed[0].latest_result().exc_string or ""
    assert "file:" in detail and "/tmp/media-" in detail, detail  # where and what ffprobe said


@pytest.mark.parametrize("disguise", ["hls", "concat"])
def test_playlist_disguised_as_mp4_is_refused_and_nothing_is_fetched(
    env, redis_conn, make_asset, loopback_server, secret_file, disguise
):
    url, requests = loopback_server
    if disguise == "hls":
        body = (
            f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:{secret_file}\n"
            f"#EXTINF:2,\n{url}/a.ts\n#EXT-X-ENDLIST\n"
        )
        reason = "HLS playlist"
    else:
        body = f"ffconcat version 1.0\nfile '{secret_file}'\nfile '{url}/b.mp4'\n"
        reason = "concat list"
    asset_id = make_asset(body.encode(), filename="movie.mp4")

    state, failed = run_pipeline(env, asset_id)

    assert_failed_for_good(state, failed, asset_id, reason)
    assert requests == []
    assert no_output_contains(SECRET)


@pytest.mark.parametrize("job_name", ["content.probe_video", "content.transcode_video", "content.package_hls"])
def test_media_jobs_run_directly_refuse_a_disguised_playlist_before_ffmpeg_opens_it(
    env, redis_conn, make_asset, loopback_server, secret_file, job_name
):
    url, requests = loopback_server
    body = f"#EXTM3U\n#EXTINF:2,\n{secret_file}\n#EXTINF:2,\n{url}/c.ts\n#EXT-X-ENDLIST\n"
    asset_id = make_asset(body.encode(), filename="clip.mp4")
    with session_scope() as session:  # as if a pipeline run had started it
        asset = session.get(ContentAsset, asset_id)
        asset.status = AssetStatus.PROCESSING
        asset.details = {"pipeline": {"run": "direct"}}

    job = enqueue(job_name, asset_id=asset_id)
    worker = start_worker(env, burst=True)
    worker.wait(timeout=60)
    stop_worker(worker)

    assert job.get_status(refresh=True) == "failed"
    assert "HLS playlist" in job.latest_result().exc_string
    assert "PermanentError" in job.latest_result().exc_string
    assert requests == []
    assert list(get_storage().list(f"renditions/{asset_id}/")) == []


def test_forced_demuxer_does_not_follow_a_playlist_even_past_the_sniffer(tmp_path, loopback_server, secret_file):
    """Defence in depth: ffmpeg opened our way reads the file as the forced container only."""
    url, requests = loopback_server
    playlist = tmp_path / "video.mp4"
    playlist.write_text(f"#EXTM3U\n#EXTINF:2,\n{secret_file}\n#EXTINF:2,\n{url}/d.ts\n#EXT-X-ENDLIST\n")
    out = tmp_path / "out.mp4"

    with pytest.raises(PermanentError):
        ffprobe(playlist, "mov")
    with pytest.raises(PermanentError):
        run_ffmpeg([*input_args(playlist, "mpegts"), "-c", "copy", "-f", "mp4", f"file:{out}"], timeout=30)

    assert requests == []
    assert not out.exists() or SECRET not in out.read_bytes()


def set_env(monkeypatch, env, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    env[name] = value
    get_settings.cache_clear()


def test_video_over_the_duration_cap_fails_naming_the_limit(env, redis_conn, make_asset, monkeypatch):
    set_env(monkeypatch, env, "CONTENT_VIDEO_MAX_DURATION_SECONDS", "1")
    asset_id = make_asset(clip(seconds=2), filename="long.mp4")

    state, failed = run_pipeline(env, asset_id)

    assert_failed_for_good(state, failed, asset_id, "lasts 2.0 s, over the limit of 1 s")


def test_video_over_the_resolution_cap_fails_naming_the_limit(env, redis_conn, make_asset, monkeypatch):
    set_env(monkeypatch, env, "CONTENT_VIDEO_MAX_PIXELS", "10000")
    asset_id = make_asset(clip(seconds=2, size="160x120"), filename="big.mp4")

    state, failed = run_pipeline(env, asset_id)

    assert_failed_for_good(state, failed, asset_id, "160x120 = 19200 pixels a frame, over the limit of 10000")


def test_audio_file_without_an_audio_stream_fails_saying_so(env, redis_conn, make_asset):
    video_only = bytearray(clip(seconds=2, audio=False))
    brand = video_only.index(b"ftyp") + 4
    video_only[brand : brand + 4] = b"M4A "  # declares itself an iTunes audio file
    asset_id = make_asset(bytes(video_only), filename="song.m4a")

    state, failed = run_pipeline(env, asset_id)

    assert state["kind"] == "audio"
    assert_failed_for_good(state, failed, asset_id, "The file has no audio stream")
    assert failed[0].description == "content.process_audio"
    assert json.dumps(state["details"]).find("loudness") == -1
