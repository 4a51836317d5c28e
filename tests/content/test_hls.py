"""The HLS ladder: never upscaled, one decode, aligned keyframes, master with separate audio."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from jobs.content.hls import ladder_command, ladder_for, package_hls
from jobs.content.probe import inspect_media
from odyssey_workers.settings import Settings
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
    rungs = ladder_for(*size, Settings())

    assert [r.height for r in rungs] == heights
    for rung in rungs:
        assert rung.width % 2 == 0 and rung.height % 2 == 0
        assert abs(rung.width / rung.height - size[0] / size[1]) < 0.02


def test_ladder_is_one_ffmpeg_process_with_one_decode_of_the_source(tmp_path):
    source = tmp_path / "s.mp4"
    source.write_bytes(clip(seconds=2, size="320x240"))
    info = inspect_media(source, "video")
    settings = Settings(content_video_ladder_kbps={240: 600, 180: 400, 120: 300})
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
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,flags",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
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
