"""Live streams end to end: ffmpeg broadcasts a real-time test stream into segments, a real
worker repackages them into a live playlist, then makes the VOD and cuts a clip."""

from __future__ import annotations

import subprocess
import time

import pytest

from jobs.content.live import END_MARKER, PLAYLIST, open_stream, render_playlist
from jobs.content.models import LiveClip, LiveSegment, LiveStream
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import enqueue
from odyssey_workers.storage import get_storage
from tests.content.conftest import asset_state
from tests.content.media_samples import probe
from tests.support.workers import start_worker, stop_worker, wait_until

BROADCAST_SECONDS = 6


def broadcast(folder, seconds: int = BROADCAST_SECONDS) -> subprocess.Popen[bytes]:
    """A real-time (-re) test stream cut into 1 s MPEG-TS segments, each renamed into place
    when complete (temp_file), as an ingest server would drop them."""
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-re",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s=160x120:r=15:d={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=f=330:d={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "15",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-f",
            "hls",
            "-hls_time",
            "1",
            "-hls_list_size",
            "0",
            "-hls_flags",
            "temp_file",
            "-hls_segment_filename",
            str(folder / "seg_%05d.ts"),
            str(folder / "ingest.m3u8"),
        ],
    )


def stream_row(stream_id: int) -> dict:
    with session_scope() as session:
        stream = session.get(LiveStream, stream_id)
        assert stream is not None
        return {"status": stream.status.value, "vod": stream.vod_asset_id, "segments": stream.segment_count}


@pytest.mark.timeout(180)
def test_live_stream_is_playable_while_live_then_becomes_vod_and_clips(env, redis_conn, make_creator):
    storage = get_storage()
    stream_id = open_stream(make_creator())
    with session_scope() as session:
        incoming = session.get(LiveStream, stream_id).incoming_prefix
        output = session.get(LiveStream, stream_id).output_prefix
    worker = start_worker(env, processes=2)
    try:
        enqueue("content.live_ingest", stream_id=stream_id)
        producer = broadcast(storage.path_for(incoming + "x").parent)
        seen_live = []
        while producer.poll() is None:
            if storage.exists(output + PLAYLIST):
                text = storage.read_bytes(output + PLAYLIST).decode()
                seen_live.append(("#EXT-X-ENDLIST" not in text, text.count(".ts")))
            time.sleep(0.2)
        assert producer.returncode == 0
        storage.put(incoming + END_MARKER, b"")

        # While the broadcast ran, viewers had an open (not ended) playlist that kept growing.
        open_counts = [count for is_open, count in seen_live if is_open]
        assert open_counts and max(open_counts) >= 3
        wait_until(lambda: stream_row(stream_id)["vod"] is not None, timeout=60, interval=0.2)
        vod = stream_row(stream_id)["vod"]
        wait_until(lambda: asset_state(vod)["status"] in ("ready", "failed"), timeout=90, interval=0.3)

        final = storage.read_bytes(output + PLAYLIST).decode()
        assert final.rstrip().endswith("#EXT-X-ENDLIST")
        incoming_segments = [o.key for o in storage.list(incoming) if o.key.endswith(".ts")]
        assert final.count(".ts") == len(incoming_segments) == stream_row(stream_id)["segments"]
        with session_scope() as session:
            rows = session.query(LiveSegment).filter_by(stream_id=stream_id).order_by(LiveSegment.sequence).all()
            assert all(row.published_at >= row.received_at for row in rows)
            total = sum(row.duration_seconds for row in rows)
        assert total == pytest.approx(BROADCAST_SECONDS, abs=0.6)

        state = asset_state(vod)
        assert state["status"] == "ready", state["reason"]
        names = {row["name"] for row in state["renditions"]}
        assert {"video.mp4", "hls.master", "hls.120p", "hls.audio", "thumbnail.poster"} <= names
        assert state["details"]["media"]["duration"] == pytest.approx(BROADCAST_SECONDS, abs=0.6)

        clip_job = enqueue("content.live_clip", stream_id=stream_id, start=1.0, end=3.5)
        wait_until(lambda: clip_job.get_status(refresh=True) in ("finished", "failed"), timeout=60, interval=0.2)
        assert clip_job.get_status() == "finished", clip_job.latest_result()
        again = enqueue("content.live_clip", stream_id=stream_id, start=1.0, end=3.5)
        wait_until(lambda: again.get_status(refresh=True) in ("finished", "failed"), timeout=60, interval=0.2)
    finally:
        stop_worker(worker)
    with session_scope() as session:
        clips = session.query(LiveClip).filter_by(stream_id=stream_id).all()
        assert len(clips) == 1, "a repeated clip request cuts the clip once"
        key = clips[0].storage_key
    info = probe(storage.read_bytes(key), ".mp4")
    assert float(info["format"]["duration"]) == pytest.approx(2.5, abs=0.2)
    assert {s["codec_name"] for s in info["streams"]} == {"h264", "aac"}


class Row:
    def __init__(self, name: str, seconds: float) -> None:
        self.storage_key, self.duration_seconds = f"live/1/hls/{name}", seconds


def test_live_playlist_keeps_a_rolling_window_and_counts_dropped_segments():
    rows = [Row(f"seg_{i:06d}.ts", 2.0) for i in range(10)]

    text = render_playlist(rows, window=4, ended=False)

    assert "#EXT-X-MEDIA-SEQUENCE:6" in text
    assert text.count(".ts") == 4 and "seg_000006.ts" in text and "seg_000005.ts" not in text
    assert "#EXT-X-ENDLIST" not in text
    assert render_playlist(rows, window=None, ended=True).count(".ts") == 10


def test_clip_longer_than_the_limit_is_refused_with_the_limit(env, database_url, make_creator, monkeypatch):
    from jobs.content.live import live_clip
    from odyssey_workers.errors import PermanentError
    from odyssey_workers.settings import get_settings

    monkeypatch.setenv("CONTENT_LIVE_MAX_CLIP_SECONDS", "30")
    get_settings.cache_clear()
    stream_id = open_stream(make_creator())

    with pytest.raises(PermanentError, match="at most 30 s"):
        live_clip(stream_id, 0.0, 45.0)
    with pytest.raises(PermanentError, match="no recording yet"):
        live_clip(stream_id, 0.0, 5.0)
    with session_scope() as session:
        assert session.query(LiveClip).count() == 0
