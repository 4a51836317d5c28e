"""Thumbnails: a poster that is neither black nor blurry, a sprite sheet + WebVTT, a preview."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageStat

from jobs.content.thumbnails import FrameScore, choose_poster, make_thumbnails
from odyssey_workers.storage import get_storage
from tests.content.media_samples import clip, settings_env, start_run

# Black for the first 2 s, sharp from 2 to 3 s, heavily blurred after 3 s.
BLACK_SHARP_BLURRY = "drawbox=enable='lt(t,2)':c=black:t=fill,boxblur=enable='gte(t,3)':luma_radius=12:luma_power=3"


def rows_of(result: dict) -> dict:
    return {row["name"]: row for row in result["renditions"]}


def test_poster_skips_black_and_blurry_frames(env, make_asset):
    data = clip(seconds=4, size="320x240", video_filter=BLACK_SHARP_BLURRY)
    asset_id = make_asset(data, filename="talk.mp4")
    start_run(asset_id)

    result = make_thumbnails(asset_id)

    poster = rows_of(result)["thumbnail.poster"]
    assert 2.0 <= poster["details"]["at_seconds"] < 3.0
    with Image.open(io.BytesIO(get_storage().read_bytes(poster["storage_key"]))) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
        assert ImageStat.Stat(image.convert("L")).mean[0] > 40  # not black
        assert not image.getexif()


def test_sprite_sheet_and_webvtt_map_every_stretch_of_the_timeline(env, make_asset, monkeypatch):
    settings_env(monkeypatch, content_thumbnail_interval_seconds=1, content_thumbnail_columns=3)
    asset_id = make_asset(clip(seconds=4, size="320x240"), filename="a.mp4")
    start_run(asset_id)

    result = make_thumbnails(asset_id)

    rows, storage = rows_of(result), get_storage()
    with Image.open(io.BytesIO(storage.read_bytes(rows["thumbnail.sprite"]["storage_key"]))) as sheet:
        assert sheet.size == (3 * 160, 2 * 120)  # 4 tiles of 160x120, 3 to a row
    vtt = storage.read_bytes(rows["thumbnail.sprite_vtt"]["storage_key"]).decode()
    assert vtt.startswith("WEBVTT")
    cues = re.findall(r"(\S+) --> (\S+)\nsprite\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)", vtt)
    assert [c[:2] for c in cues] == [
        ("00:00:00.000", "00:00:01.000"),
        ("00:00:01.000", "00:00:02.000"),
        ("00:00:02.000", "00:00:03.000"),
        ("00:00:03.000", "00:00:04.000"),
    ]
    assert [tuple(map(int, c[2:])) for c in cues] == [
        (0, 0, 160, 120),
        (160, 0, 160, 120),
        (320, 0, 160, 120),
        (0, 120, 160, 120),
    ]
    # The sprite's key sits beside the VTT, so the relative "sprite.jpg" resolves.
    assert (
        rows["thumbnail.sprite"]["storage_key"].rsplit("/", 1)[0]
        == rows["thumbnail.sprite_vtt"]["storage_key"].rsplit("/", 1)[0]
    )


@pytest.mark.parametrize("fmt", ["webp", "mp4"])
def test_animated_preview_is_a_short_loop(env, make_asset, monkeypatch, fmt):
    settings_env(monkeypatch, content_preview_format=fmt, content_preview_seconds=2)
    asset_id = make_asset(clip(seconds=4, size="320x240"), filename="a.mp4")
    start_run(asset_id)

    preview = rows_of(make_thumbnails(asset_id))["thumbnail.preview"]

    data = get_storage().read_bytes(preview["storage_key"])
    if fmt == "webp":
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "WEBP" and image.is_animated
            assert 20 <= image.n_frames <= 26  # 2 s at 12 frames/s
            assert image.size[0] == 320
    else:
        from tests.content.media_samples import probe

        info = probe(data, ".mp4")
        assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.2)
        assert [s["codec_type"] for s in info["streams"]] == ["video"]


def test_poster_choice_falls_back_to_the_least_dark_frame_when_all_are_dark():
    dark = [FrameScore(0, 0.0, 5, 2, 50), FrameScore(1, 1.0, 15, 3, 10), FrameScore(2, 2.0, 8, 9, 900)]

    assert choose_poster(dark).index == 2  # brightest-and-most-contrast wins, sharpness breaks ties
    mixed = [*dark, FrameScore(3, 3.0, 120, 40, 300), FrameScore(4, 4.0, 130, 45, 200)]
    assert choose_poster(mixed).index == 3
