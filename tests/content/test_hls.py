"""The HLS ladder: never upscaled, one decode, aligned keyframes, master with separate audio."""

from __future__ import annotations

import json
import math
import re
import subprocess

import pytest

from jobs.content.hls import (
    AAC_PRIMING_SECONDS,
    X264_REORDER_FRAMES,
    Segment,
    ladder_command,
    ladder_for,
    package_hls,
    peak_segment_bps,
    timeline_offset,
)
from jobs.content.probe import inspect_media
from jobs.content.settings import ContentSettings
from odyssey_workers.storage import get_storage
from tests.content.media_samples import clip, settings_env, start_run

SMALL_LADDER = {"240": 600, "180": 400, "120": 300}


@pytest.mark.parametrize(
    ("size", "heights"),
    [
        ((1920, 1080), [1080, 720, 480, 360]),
        ((1280, 720), [720, 480, 360]),
        ((1080, 1920), [1080, 720, 480, 360]),  # portrait: rungs by height, never above the source
        ((640, 352), [352]),  # shorter than the lowest rung: one rung at its own height
        ((3840, 2160), [1080, 720, 480, 360]),
    ],
)
def test_ladder_never_upscales_and_keeps_the_aspect_with_even_sides(size, heights):
    rungs = ladder_for(*size, ContentSettings())

    assert [r.height for r in rungs] == heights
    for rung in rungs:
        assert rung.width % 2 == 0 and rung.height % 2 == 0
        assert abs(rung.width / rung.height - size[0] / size[1]) < 0.02


def test_ladder_is_one_ffmpeg_process_with_one_decode_of_the_source(tmp_path):
    source = tmp_path / "s.mp4"
    source.write_bytes(clip(seconds=2, size="320x240"))
    info = inspect_media(source, "video")
    settings = ContentSettings(content_video_ladder_kbps={240: 600, 180: 400, 120: 300})
    rungs = ladder_for(320, 240, settings)

    args = ladder_command(source, info.demuxer, info, rungs, tmp_path / "out", settings)

    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    assert graph.count("split=2") == 2  # top → (240p, rest) → (180p, rest) → 120p
    assert graph.count("scale=") == 3  # each rung scaled once
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args[args.index("-f") + 1] == "mov"


def keyframe_times(data: bytes, tmp_path, name: str) -> list[float]:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [round(float(p["pts_time"]), 3) for p in json.loads(out)["packets"] if "K" in p["flags"]]


def test_rungs_have_aligned_keyframes_and_segments_and_a_master_with_audio(env, make_asset, monkeypatch, tmp_path):
    settings_env(monkeypatch, content_video_ladder_kbps=SMALL_LADDER, content_hls_segment_seconds=4)
    asset_id = make_asset(clip(seconds=9, size="320x240", rate=10), filename="a.mp4")
    start_run(asset_id)

    result = package_hls(asset_id)

    storage = get_storage()
    rows = {r["name"]: r for r in result["renditions"]}
    assert set(rows) == {"hls.master", "hls.240p", "hls.180p", "hls.120p", "hls.audio"}
    playlists = {
        name: storage.read_bytes(rows[f"hls.{name}"]["storage_key"]).decode() for name in ("240p", "180p", "120p")
    }
    durations = {name: re.findall(r"#EXTINF:([0-9.]+)", text) for name, text in playlists.items()}
    assert durations["240p"] == durations["180p"] == durations["120p"]
    assert [float(d) for d in durations["240p"]] == [4.0, 4.0, 1.0]
    keyframes = {}
    for name in playlists:
        folder = rows[f"hls.{name}"]["storage_key"].rsplit("/", 1)[0]
        joined = b"".join(storage.read_bytes(o.key) for o in storage.list(folder + "/") if o.key.endswith(".ts"))
        keyframes[name] = keyframe_times(joined, tmp_path, f"{name}.ts")
    assert keyframes["240p"] == keyframes["180p"] == keyframes["120p"]
    starts = [k - keyframes["240p"][0] for k in keyframes["240p"]]
    assert starts == pytest.approx([0.0, 4.0, 8.0], abs=0.01)

    master = storage.read_bytes(rows["hls.master"]["storage_key"]).decode()
    assert master.startswith("#EXTM3U")
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio"' in master
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)", master)
    assert [v[1] for v in variants] == ["240p/index.m3u8", "180p/index.m3u8", "120p/index.m3u8"]
    for attributes, _uri in variants:
        assert re.search(r"BANDWIDTH=\d+", attributes) and 'AUDIO="audio"' in attributes
        assert re.search(r'CODECS="avc1\.64[0-9a-f]{4},mp4a\.40\.2"', attributes)
    assert "RESOLUTION=320x240" in variants[0][0] and "RESOLUTION=160x120" in variants[2][0]
    audio = storage.read_bytes(rows["hls.audio"]["storage_key"]).decode()
    assert audio.count(".ts") == 3 and audio.rstrip().endswith("#EXT-X-ENDLIST")


def test_silent_video_gets_a_ladder_without_an_audio_rendition(env, make_asset, monkeypatch):
    settings_env(monkeypatch, content_video_ladder_kbps=SMALL_LADDER)
    asset_id = make_asset(clip(seconds=2, size="320x240", audio=False), filename="a.mp4")
    start_run(asset_id)

    result = package_hls(asset_id)

    names = {r["name"] for r in result["renditions"]}
    assert "hls.audio" not in names and "hls.240p" in names
    master = get_storage().read_bytes(f"renditions/{asset_id}/testrun/hls/master.m3u8").decode()
    assert "EXT-X-MEDIA" not in master and "AUDIO=" not in master and "mp4a" not in master


AAC_FRAME_SECONDS = 1024 / 48000
"""One AAC frame at the ladder's 48 kHz: the encoder's priming, which MPEG-TS cannot signal."""


def stored_rendition(storage, row: dict, tmp_path) -> list[tuple[float, int, float]]:
    """(EXTINF seconds, bytes, first pts) of each segment of a stored media playlist."""
    folder = row["storage_key"].rsplit("/", 1)[0]
    text = storage.read_bytes(row["storage_key"]).decode()
    segments = []
    for seconds, name in re.findall(r"#EXTINF:([0-9.]+),\n(\S+)", text):
        data = storage.read_bytes(f"{folder}/{name}")
        path = tmp_path / f"{row['name']}-{name}"
        path.write_bytes(data)
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "packet=pts_time", "-of", "json", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        first_pts = min(float(p["pts_time"]) for p in json.loads(out)["packets"])
        segments.append((float(seconds), len(data), first_pts))
    return segments


def packaged_ladder(make_asset, monkeypatch, tmp_path, *, seconds: float, segment: int) -> tuple[str, dict]:
    """Run package_hls on a 30 frames/s clip; (master text, segments of each rendition by name)."""
    settings_env(monkeypatch, content_video_ladder_kbps=SMALL_LADDER, content_hls_segment_seconds=segment)
    asset_id = make_asset(clip(seconds=seconds, size="320x240", rate=30), filename="a.mp4")
    start_run(asset_id)
    result = package_hls(asset_id)
    storage = get_storage()
    rows = {r["name"]: r for r in result["renditions"]}
    renditions = {
        name.removeprefix("hls."): stored_rendition(storage, row, tmp_path)
        for name, row in rows.items()
        if name != "hls.master"
    }
    return storage.read_bytes(rows["hls.master"]["storage_key"]).decode(), renditions


def test_video_and_audio_renditions_start_at_the_same_timestamp(env, make_asset, monkeypatch, tmp_path):
    _master, renditions = packaged_ladder(make_asset, monkeypatch, tmp_path, seconds=6, segment=4)

    video_starts = {name: segments[0][2] for name, segments in renditions.items() if name != "audio"}
    audio_start = renditions["audio"][0][2]
    assert len(set(video_starts.values())) == 1, video_starts
    video_start = video_starts["240p"]
    # The audio may begin up to one AAC frame earlier (its priming frame, which MPEG-TS cannot
    # mark as such) so that its first real sample plays with the first picture; anything more
    # is a hole at the start of one track (hls.js: bufferSeekOverHole). 1 ms covers the 90 kHz
    # clock's rounding.
    assert 0 <= video_start - audio_start <= AAC_FRAME_SECONDS + 0.001, (video_start, audio_start)
    for name, segments in renditions.items():
        frame = AAC_FRAME_SECONDS if name == "audio" else 1 / 30
        elapsed = 0.0
        for seconds, _size, first_pts in segments:
            assert first_pts - segments[0][2] == pytest.approx(elapsed, abs=frame + 0.001), name
            elapsed += seconds
    # Each playlist ends where the others do, give or take the priming and the encoder's last
    # padded frame (two AAC frames).
    ends = {name: segments[0][2] + sum(s[0] for s in segments) for name, segments in renditions.items()}
    assert max(ends.values()) - min(ends.values()) <= 2 * AAC_FRAME_SECONDS + 0.001, ends


@pytest.mark.parametrize("fps", [0.5, 1, 10, 23.976, 30, 60, 120])
def test_timeline_offset_keeps_the_first_video_and_audio_timestamps_above_zero(fps):
    offset = timeline_offset(fps)

    assert offset - X264_REORDER_FRAMES / fps > 0 and offset - AAC_PRIMING_SECONDS > 0


def full_segment_peak(segments: list[tuple[float, int, float]], target_seconds: float) -> int:
    """Peak bit/s over the segments, leaving out a final segment shorter than half the target."""
    counted = segments[:-1] if len(segments) > 1 and segments[-1][0] < target_seconds / 2 else segments
    return max(math.ceil(size * 8 / seconds) for seconds, size, _pts in counted)


def average_rate(segments: list[tuple[float, int, float]]) -> int:
    return math.ceil(sum(s[1] for s in segments) * 8 / sum(s[0] for s in segments))


def test_master_bandwidth_is_the_full_segment_peak_not_a_tiny_last_audio_segment(
    env, make_asset, monkeypatch, tmp_path
):
    # A clip lasting exactly two segments: the audio, a few ms longer than the picture (AAC
    # priming and padding), ends in a segment of a frame or two, mostly container overhead.
    master, renditions = packaged_ladder(make_asset, monkeypatch, tmp_path, seconds=8, segment=4)

    audio = renditions["audio"]
    assert audio[-1][0] < 0.1, audio  # the case under test: a tiny last audio segment
    audio_peak = full_segment_peak(audio, 4)
    assert math.ceil(audio[-1][1] * 8 / audio[-1][0]) > 1.5 * audio_peak  # ... whose own rate is inflated
    variants = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)/index\.m3u8", master)
    assert [name for _attributes, name in variants] == ["240p", "180p", "120p"]
    for attributes, name in variants:
        bandwidth = int(re.search(r"(?:^|,)BANDWIDTH=(\d+)", attributes).group(1))  # type: ignore[union-attr]
        average = int(re.search(r"AVERAGE-BANDWIDTH=(\d+)", attributes).group(1))  # type: ignore[union-attr]
        peak = full_segment_peak(renditions[name], 4) + audio_peak
        assert peak <= bandwidth <= peak * 1.01, (name, bandwidth, peak)
        assert average == pytest.approx(average_rate(renditions[name]) + average_rate(audio), abs=2), name


def test_peak_counts_a_tiny_last_segment_only_with_the_one_before_it():
    # The audio of the issue: two full segments, then one AAC frame in 1,128 bytes (423 kbit/s alone).
    segments = [Segment("a", 4.010667, 53956), Segment("b", 3.989333, 53956), Segment("c", 0.021333, 1128)]

    peak = peak_segment_bps(segments, 4)

    assert peak == math.ceil((53956 + 1128) * 8 / (3.989333 + 0.021333))  # 109,890 bit/s
    assert peak < 1.02 * math.ceil(53956 * 8 / 3.989333)


def test_peak_of_a_rendition_shorter_than_half_a_segment_is_its_whole_rate():
    assert peak_segment_bps([Segment("a", 1.0, 12500)], 4) == 100_000


def test_peak_is_the_busiest_run_of_segments_not_the_average():
    segments = [Segment("a", 4.0, 50_000), Segment("b", 4.0, 200_000), Segment("c", 4.0, 50_000)]

    assert peak_segment_bps(segments, 4) == 400_000
