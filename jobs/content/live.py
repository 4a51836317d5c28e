"""Live streams, worker side: incoming segments → rolling live HLS playlist → VOD and clips.

The ingest server (another service) drops the broadcast as MPEG-TS segments under the stream's
incoming prefix (``live/<id>/incoming/``), each written atomically under a name ending in its
number (``seg_00042.ts``), and an ``END`` object when the broadcast stops. ``content.live_ingest``
polls that prefix every ``CONTENT_LIVE_POLL_SECONDS``; each new segment is sniffed, probed
under the video caps and remuxed (stream copy, timestamps kept) next to the live playlist,
which is rewritten atomically with the last ``CONTENT_LIVE_WINDOW_SEGMENTS`` segments, so a
viewer sees a segment well within one segment's time of its arrival. At ``END`` (or after
``CONTENT_LIVE_IDLE_TIMEOUT_SECONDS`` without a segment) the playlist is closed and
``content.live_finish`` joins the segments into the recording and hands it to the upload
pipeline as a new video asset, which gives it the same ladder, MP4 and thumbnails as any
upload. ``content.live_clip`` cuts an MP4 from the recording. A re-run ingest resumes from the
segments already recorded (one row per (stream, sequence)).
"""

from __future__ import annotations

import logging
import math
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from jobs.content.media_contracts import timeout_for
from jobs.content.models import LiveClip, LiveSegment, LiveStream, LiveStreamStatus
from jobs.content.probe import inspect_media
from jobs.content.settings import content_settings
from jobs.content.video import aac_args, x264_args
from odyssey_workers.db.models.core import AssetKind, AssetStatus, ContentAsset
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.ffmpeg_tools import input_args, is_mpegts, run_ffmpeg
from odyssey_workers.media.probe import media_workdir
from odyssey_workers.progress import report_progress
from odyssey_workers.queues import enqueue
from odyssey_workers.storage import Storage, get_storage

logger = logging.getLogger(__name__)

SEGMENT_NAME = re.compile(r"(\d+)\.ts$")
END_MARKER = "END"
PLAYLIST = "hls/live.m3u8"
RECORDING = "recording.mp4"


def open_stream(creator_id: int) -> int:
    """Create a stream row for a creator (what the ingest server does when a broadcast starts)."""
    with session_scope() as session:
        stream = LiveStream(creator_id=creator_id, incoming_prefix="", output_prefix="")
        session.add(stream)
        session.flush()
        stream.incoming_prefix = f"live/{stream.id}/incoming/"
        stream.output_prefix = f"live/{stream.id}/"
        return stream.id


def _load(stream_id: int) -> tuple[LiveStreamStatus, str, str, int, int | None]:
    with session_scope() as session:
        stream = session.get(LiveStream, stream_id)
        if stream is None:
            raise PermanentError(f"live stream {stream_id} does not exist")
        return stream.status, stream.incoming_prefix, stream.output_prefix, stream.creator_id, stream.vod_asset_id


def _segments(stream_id: int) -> list[LiveSegment]:
    with session_scope() as session:
        rows = session.query(LiveSegment).filter_by(stream_id=stream_id).order_by(LiveSegment.sequence).all()
        session.expunge_all()
        return rows


def render_playlist(segments: list[LiveSegment], window: int | None, ended: bool) -> str:
    """The live media playlist: the last ``window`` segments (all when None), closed when ended.

    EXT-X-MEDIA-SEQUENCE counts the segments dropped off the front, as players expect."""
    shown = segments if window is None else segments[-window:]
    first = len(segments) - len(shown)
    target = max([math.ceil(s.duration_seconds) for s in shown] or [1])
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for segment in shown:
        lines += [f"#EXTINF:{segment.duration_seconds:.3f},", segment.storage_key.rsplit("/", 1)[1]]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _repackage(storage: Storage, stream_id: int, key: str, sequence: int, out_prefix: str, work: Path) -> LiveSegment:
    """One incoming segment, checked and remuxed (no re-encode) beside the live playlist."""
    received = datetime.now(UTC)
    source = storage.download(key, work / f"in-{sequence}.ts")
    with source.open("rb") as handle:
        if not is_mpegts(handle.read(4096)):
            raise PermanentError(f"live segment {key!r} is not an MPEG-TS segment")
    info = inspect_media(source, "video")
    out = work / f"out-{sequence}.ts"
    args = [*input_args(source, "mpegts"), "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-copyts"]
    args += ["-muxdelay", "0", "-map_metadata", "-1", "-f", "mpegts", f"file:{out}"]
    run_ffmpeg(args, timeout=timeout_for(info.duration), what=f"repackaging live segment {sequence}")
    out_key = f"{out_prefix}hls/seg_{sequence:06d}.ts"
    stored = storage.put_file(out_key, out, "video/mp2t")
    source.unlink()
    out.unlink()
    return LiveSegment(
        stream_id=stream_id,
        sequence=sequence,
        source_key=key,
        storage_key=out_key,
        start_seconds=0.0,
        duration_seconds=info.duration,
        size_bytes=stored.size,
        received_at=received,
        published_at=received,
    )


def _publish(storage: Storage, stream_id: int, out_prefix: str, segments: list[LiveSegment], ended: bool) -> None:
    window = None if ended else content_settings().content_live_window_segments
    storage.put(
        out_prefix + PLAYLIST, render_playlist(segments, window, ended).encode(), "application/vnd.apple.mpegurl"
    )


def live_ingest(stream_id: int) -> dict[str, Any]:
    """Follow the stream's incoming prefix until it ends; keep the live playlist current."""
    settings = content_settings()
    storage = get_storage()
    status, incoming, out_prefix, _creator, _vod = _load(stream_id)
    if status in (LiveStreamStatus.ENDED, LiveStreamStatus.FAILED):
        return {"stream_id": stream_id, "status": status.value, "segments": len(_segments(stream_id))}
    with session_scope() as session:
        stream = session.get(LiveStream, stream_id)
        assert stream is not None
        stream.status = LiveStreamStatus.LIVE
        stream.started_at = stream.started_at or datetime.now(UTC)
    segments = _segments(stream_id)  # a re-run resumes here
    done = {s.sequence for s in segments}
    skipped: set[str] = set()
    last_new = time.monotonic()
    with media_workdir() as work:
        while True:
            listing = list(storage.list(incoming))
            ended = any(item.key == incoming + END_MARKER for item in listing)
            fresh = sorted(
                (int(match.group(1)), item.key)
                for item in listing
                if (match := SEGMENT_NAME.search(item.key))
                and int(match.group(1)) not in done
                and item.key not in skipped
            )
            for sequence, key in fresh:
                try:
                    segment = _repackage(storage, stream_id, key, sequence, out_prefix, work)
                except PermanentError as exc:
                    # One bad segment must not end the broadcast: it is left out and logged.
                    logger.warning("live stream %s: segment %s skipped: %s", stream_id, key, exc)
                    skipped.add(key)
                    continue
                segment.start_seconds = sum(s.duration_seconds for s in segments)
                segments.append(segment)
                _publish(storage, stream_id, out_prefix, segments, ended=False)
                segment.published_at = datetime.now(UTC)
                _record(stream_id, segment, segments)
                done.add(sequence)
                last_new = time.monotonic()
                report_progress(0.0, segments=len(segments), live_seconds=round(segment.start_seconds, 1))
            if ended and not fresh:
                break
            if time.monotonic() - last_new > settings.content_live_idle_timeout_seconds:
                logger.warning(
                    "live stream %s: no segment for %.0f s, ending it", stream_id, time.monotonic() - last_new
                )
                break
            if not fresh:
                time.sleep(settings.content_live_poll_seconds)
    _publish(storage, stream_id, out_prefix, segments, ended=True)
    with session_scope() as session:
        stream = session.get(LiveStream, stream_id)
        assert stream is not None
        stream.status = LiveStreamStatus.ENDED
        stream.ended_at = datetime.now(UTC)
    enqueue("content.live_finish", stream_id=stream_id)
    report_progress(100.0, segments=len(segments))
    return {"stream_id": stream_id, "status": "ended", "segments": len(segments), "skipped": sorted(skipped)}


def _record(stream_id: int, segment: LiveSegment, segments: list[LiveSegment]) -> None:
    with session_scope() as session:
        try:
            with session.begin_nested():
                # A copy: the caller keeps using ``segment`` after this session is gone.
                session.add(LiveSegment(**{c.name: getattr(segment, c.name) for c in LiveSegment.__table__.columns}))
        except IntegrityError:  # recorded by an earlier attempt that died before moving on
            logger.info("live stream %s: segment %s was already recorded", stream_id, segment.sequence)
        stream = session.get(LiveStream, stream_id)
        assert stream is not None
        stream.segment_count = len(segments)
        stream.duration_seconds = round(sum(s.duration_seconds for s in segments), 3)


def _build_recording(storage: Storage, segments: list[LiveSegment], work: Path) -> Path:
    """The segments joined (MPEG-TS joins byte for byte) and remuxed to a faststart MP4."""
    joined = work / "recording.ts"
    with joined.open("wb") as out:
        for segment in segments:
            with storage.open(segment.storage_key) as handle:
                while chunk := handle.read(1024 * 1024):
                    out.write(chunk)
    recording = work / RECORDING
    duration = sum(s.duration_seconds for s in segments)
    args = [*input_args(joined, "mpegts"), "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy"]
    args += ["-movflags", "+faststart", "-map_metadata", "-1", "-f", "mp4", f"file:{recording}"]
    run_ffmpeg(args, timeout=timeout_for(duration), what="joining the live recording")
    return recording


def live_finish(stream_id: int) -> dict[str, Any]:
    """Store the recording and start its VOD processing through the upload pipeline (once)."""
    storage = get_storage()
    status, _incoming, out_prefix, creator_id, vod_asset_id = _load(stream_id)
    if status not in (LiveStreamStatus.ENDED,):
        raise PermanentError(f"live stream {stream_id} is {status.value}; only an ended stream gets a VOD")
    if vod_asset_id is None:
        segments = _segments(stream_id)
        if not segments:
            with session_scope() as session:
                stream = session.get(LiveStream, stream_id)
                assert stream is not None
                stream.status = LiveStreamStatus.FAILED
                stream.failure_reason = "the stream ended without a single usable segment"
            raise PermanentError(f"live stream {stream_id} ended without a single usable segment")
        with media_workdir() as work:
            recording = _build_recording(storage, segments, work)
            stored = storage.put_file(out_prefix + RECORDING, recording, "video/mp4")
        with session_scope() as session:
            stream = session.get(LiveStream, stream_id)
            assert stream is not None
            if stream.vod_asset_id is None:
                asset = ContentAsset(
                    creator_id=creator_id,
                    kind=AssetKind.VIDEO,
                    source_key=out_prefix + RECORDING,
                    original_filename=f"live-{stream_id}.mp4",
                    mime_type="video/mp4",
                    size_bytes=stored.size,
                    details={"live_stream_id": stream_id},
                )
                session.add(asset)
                session.flush()
                stream.vod_asset_id = asset.id
            vod_asset_id = stream.vod_asset_id
    with session_scope() as session:
        asset_status = session.get(ContentAsset, vod_asset_id).status  # type: ignore[union-attr]
    if asset_status == AssetStatus.UPLOADED:
        enqueue("content.process_upload", asset_id=vod_asset_id)
    return {"stream_id": stream_id, "vod_asset_id": vod_asset_id, "recording_key": out_prefix + RECORDING}


def live_clip(stream_id: int, start: float, end: float) -> dict[str, Any]:
    """An MP4 of ``start``..``end`` seconds of the recording (cut exactly: re-encoded)."""
    settings = content_settings()
    storage = get_storage()
    status, _incoming, out_prefix, _creator, _vod = _load(stream_id)
    start_ms, end_ms = round(start * 1000), round(end * 1000)
    with session_scope() as session:
        existing = session.query(LiveClip).filter_by(stream_id=stream_id, start_ms=start_ms, end_ms=end_ms).first()
        if existing is not None:
            return {"clip_id": existing.id, "storage_key": existing.storage_key, "duration": existing.duration_seconds}
    if end - start > settings.content_live_max_clip_seconds:
        raise PermanentError(
            f"a clip may last at most {settings.content_live_max_clip_seconds:.0f} s, not {end - start:.1f} s"
        )
    if status != LiveStreamStatus.ENDED or not storage.exists(out_prefix + RECORDING):
        raise PermanentError(
            f"live stream {stream_id} has no recording yet (it is {status.value}); clip it after it ends"
        )
    key = f"{out_prefix}clips/{start_ms}-{end_ms}.mp4"
    with media_workdir() as work:
        recording = storage.download(out_prefix + RECORDING, work / RECORDING)
        info = inspect_media(recording, "video")
        assert info.video is not None
        if end > info.duration + 0.5:
            raise PermanentError(f"the clip ends at {end:.1f} s but the recording lasts {info.duration:.1f} s")
        length = min(end, info.duration) - start
        if length <= 0:
            raise PermanentError(f"the clip starts at {start:.1f} s, after the recording's end ({info.duration:.1f} s)")
        out = work / "clip.mp4"
        args = [*input_args(recording, "mov", seek=start, duration=length), "-map", "0:v:0", "-map", "0:a:0?"]
        args += [*x264_args(info.video.display_height, info.video.fps, settings), *aac_args(settings)]
        args += ["-movflags", "+faststart", "-map_metadata", "-1", "-f", "mp4", f"file:{out}"]
        run_ffmpeg(args, timeout=timeout_for(length), what="cutting the clip")
        clip_seconds = inspect_media(out, "video").duration
        stored = storage.put_file(key, out, "video/mp4")
    with session_scope() as session:
        clip = LiveClip(
            stream_id=stream_id,
            start_ms=start_ms,
            end_ms=end_ms,
            storage_key=key,
            size_bytes=stored.size,
            duration_seconds=clip_seconds,
        )
        try:
            with session.begin_nested():
                session.add(clip)
        except IntegrityError:  # the same clip was cut meanwhile; same key, same file
            clip = session.query(LiveClip).filter_by(stream_id=stream_id, start_ms=start_ms, end_ms=end_ms).one()
        session.flush()
        return {"clip_id": clip.id, "storage_key": key, "duration": clip.duration_seconds}
