"""Watermarks: text and logo marks on image variants (Pillow) and on video (real ffmpeg)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from jobs.content.settings import content_settings
from jobs.content.watermark import WatermarkSpec, apply_image_watermark, video_watermark_filter, watermark_for
from odyssey_workers.errors import PermanentError
from odyssey_workers.storage import get_storage
from tests.content.conftest import process_with_worker

GREY = (128, 128, 128)


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the pixels that differ."""
    from PIL import ImageChops

    return ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()


def red_logo(size: int = 100) -> Image.Image:
    return Image.new("RGBA", (size, size), (255, 0, 0, 255))


def test_text_mark_sits_in_the_chosen_corner_at_the_chosen_share_of_the_width():
    image = Image.new("RGB", (1000, 600), GREY)
    spec = WatermarkSpec(text="@ana", position="bottom-right", margin=0.03, scale=0.2, opacity=1.0)
    marked = apply_image_watermark(image, spec, None)
    left, top, right, bottom = changed_box(image, marked)
    assert right <= 1000 - 30 + 1 and bottom <= 600 - 30 + 1  # 3 % margin
    assert 150 <= right - left <= 210  # about 20 % of the width
    assert left > 500 and top > 300
    assert image.getpixel((990, 590)) == GREY  # the input image is left as it was


@pytest.mark.parametrize("width", [1000, 320])
def test_logo_scales_with_the_output_width_and_blends_at_the_opacity(width):
    image = Image.new("RGB", (width, width // 2), GREY)
    spec = WatermarkSpec(logo_key="branding/logo.png", position="top-left", margin=0.0, scale=0.15, opacity=0.5)
    marked = apply_image_watermark(image, spec, red_logo())
    left, top, right, _bottom = changed_box(image, marked)
    assert (left, top) == (0, 0)
    assert abs((right - left) - round(0.15 * width)) <= 1
    red, green, _blue = marked.getpixel((2, 2))
    assert 185 <= red <= 196 and 60 <= green <= 68  # half red over grey


def test_bad_watermark_settings_fail_naming_the_field(env):
    with pytest.raises(PermanentError, match="opacity"):
        watermark_for({"watermark": {"text": "@ana", "opacity": 2}}, content_settings(), "image")
    with pytest.raises(PermanentError, match="position"):
        watermark_for({"watermark": {"text": "@ana", "position": "middle"}}, content_settings(), "image")
    assert watermark_for({"watermark": {"text": "@ana", "apply_to": ["video"]}}, content_settings(), "image") is None
    assert watermark_for({}, content_settings(), "image") is None


def test_pipeline_marks_every_variant_from_the_creators_logo_and_never_the_original(
    env, redis_conn, make_asset, make_creator
):
    buffer = io.BytesIO()
    red_logo(200).save(buffer, "PNG")
    get_storage().put("branding/logo.png", buffer.getvalue())
    creator_id = make_creator(
        {"watermark": {"logo_key": "branding/logo.png", "position": "bottom-right", "opacity": 1.0, "scale": 0.1}}
    )
    original = io.BytesIO()
    Image.new("RGB", (800, 600), GREY).save(original, "PNG")
    asset_id = make_asset(original.getvalue(), creator_id=creator_id)

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    for row in state["renditions"]:
        with Image.open(io.BytesIO(get_storage().read_bytes(row["storage_key"]))) as variant:
            rgb = variant.convert("RGB")
            w, h = rgb.size
            margin, mark = round(0.03 * w), round(0.1 * w)
            red, green, _blue = rgb.getpixel((w - margin - mark // 2, h - margin - mark // 2))
            assert red > 200 and green < 60, (
                row["name"],
                rgb.getpixel((w - margin - mark // 2, h - margin - mark // 2)),
            )
            assert all(abs(c - 128) < 8 for c in rgb.getpixel((w // 4, h // 4)))
    assert get_storage().read_bytes(state["source_key"]) == original.getvalue()


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, timeout=60)


def frame_of(video: Path, tmp_path: Path) -> Image.Image:
    png = tmp_path / "frame.png"
    ffmpeg("-i", str(video), "-frames:v", "1", str(png))
    with Image.open(png) as frame:
        return frame.convert("RGB")


@pytest.fixture
def grey_clip(tmp_path) -> Path:
    clip = tmp_path / "grey.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=0x808080:s=320x240:d=1:r=10", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)
    )
    return clip


def test_video_logo_overlay_is_placed_and_scaled_by_ffmpeg(grey_clip, tmp_path):
    logo = tmp_path / "logo.png"
    red_logo(64).save(logo)
    spec = WatermarkSpec(logo_key="x", position="bottom-right", margin=0.05, scale=0.25, opacity=1.0)
    mark = video_watermark_filter(spec, 320, logo_path=logo)
    out = tmp_path / "marked.mp4"
    ffmpeg(
        "-i",
        str(grey_clip),
        *mark.input_args,
        "-filter_complex",
        mark.filter,
        "-map",
        f"[{mark.output}]",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(out),
    )
    frame = frame_of(out, tmp_path)
    # 25 % of 320 = 80 px square, 16 px from the right and bottom edges.
    red, green, _ = frame.getpixel((320 - 16 - 40, 240 - 16 - 40))
    assert red > 200 and green < 70
    assert all(abs(c - 128) < 10 for c in frame.getpixel((320 - 16 - 100, 240 - 16 - 40)))
    assert all(abs(c - 128) < 10 for c in frame.getpixel((40, 40)))


def test_video_text_mark_is_drawn_from_a_file_so_filter_syntax_in_it_is_just_text(grey_clip, tmp_path):
    spec = WatermarkSpec(text="@ana:[x];%{pts}'", position="top-left", margin=0.05, scale=0.5, opacity=1.0)
    mark = video_watermark_filter(spec, 320, work_dir=tmp_path)
    out = tmp_path / "text.mp4"
    ffmpeg(
        "-i", str(grey_clip), "-filter_complex", mark.filter, "-map", f"[{mark.output}]", "-c:v", "libx264", str(out)
    )
    frame = frame_of(out, tmp_path)
    marked = Image.new("RGB", frame.size, GREY)
    box = changed_box(marked, frame.point(lambda v: 128 if abs(v - 128) < 12 else v))
    assert box is not None
    left, top, right, _bottom = box
    assert left >= 14 and top >= 14 and left < 40  # the top-left corner, after a 5 % margin
    assert 120 <= right - left <= 200  # about half the width
