"""Image handling with real Pillow codecs: sniffing, decoding, colour, widths, metadata, crops."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from jobs.content import imaging
from jobs.content.imaging import ImageCaps, decode, encode, target_widths, to_srgb
from jobs.content.placeholder import blurhash_of, dominant_colour
from jobs.content.settings import content_settings
from jobs.content.smartcrop import best_crop, parse_aspect
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.safe_image import open_checked
from odyssey_workers.media.sniff import sniff_bytes, sniff_or_refuse, trailing_archive
from tests.content import image_samples as samples


def _rationals(values: tuple[float, ...], order: str) -> bytes:
    return b"".join(struct.pack(f"{order}II", int(value), 1) for value in values)


# Byte strings only the metadata of samples.gps_photo contains, long enough never to occur by
# chance in compressed pixels: the EXIF header, the camera make, the GPS latitude as EXIF
# rationals (either byte order), the XMP packet, the comment and the ICC marker.
METADATA_MARKERS = [
    b"Exif\x00\x00",
    b"OdysseyCam",
    _rationals(samples.GPS_LATITUDE, ">"),
    _rationals(samples.GPS_LATITUDE, "<"),
    b"<x:xmpmeta",
    b"secret-xmp-location",
    b"shot at home",
    b"ICC_PROFILE",
]


def jpeg_segments(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's header segments, up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    markers, position = [], 2
    while position < len(data):
        assert data[position] == 0xFF, "corrupt marker stream"
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        position += 2 + length
    return markers


def webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, position = [], 12
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        size = struct.unpack("<I", data[position + 4 : position + 8])[0]
        chunks.append(kind)
        if kind == b"VP8X":
            flags = data[position + 8]
            assert flags & 0x2C == 0, "VP8X announces ICC, EXIF or XMP"
        position += 8 + size + (size & 1)
    return chunks


def assert_no_metadata(data: bytes, fmt: str) -> None:
    """Parse an output and prove it carries no EXIF, GPS, XMP, comment or ICC block."""
    for marker in METADATA_MARKERS:
        assert marker not in data, f"{fmt} output contains {marker!r}"
    if fmt == "jpeg":
        markers = jpeg_segments(data)
        forbidden = [hex(m) for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE]
        assert not forbidden, f"JPEG has APPn/COM segments {forbidden}"
    elif fmt == "webp":
        assert not {b"EXIF", b"XMP ", b"ICCP"} & set(webp_chunks(data))
    if fmt in ("jpeg", "webp", "avif"):
        with Image.open(io.BytesIO(data)) as image:
            assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
            assert not image.getexif()


def opened(data: bytes, fmt: str, tmp_path: Path) -> Image.Image:
    path = tmp_path / "input"
    path.write_bytes(data)
    return open_checked(path, fmt, ImageCaps.from_settings(content_settings()))


@pytest.mark.parametrize(
    ("pil_format", "expected", "options"),
    [
        ("JPEG", "jpeg", {}),
        ("PNG", "png", {}),
        ("GIF", "gif", {}),
        ("WEBP", "webp", {}),
        ("AVIF", "avif", {"speed": 10}),
        ("HEIF", "heic", {}),
    ],
)
def test_every_allowed_format_is_recognised_from_its_bytes_and_decoded(pil_format, expected, options, tmp_path, env):
    data = samples.encoded(samples.photo(96, 64), pil_format, **options)
    sniffed = sniff_bytes(data[:4096])
    assert sniffed is not None and (sniffed.kind, sniffed.format) == ("image", expected)
    with opened(data, expected, tmp_path) as image:
        base = to_srgb(decode(image, 2048))
    assert base.size == (96, 64) and base.mode == "RGB"


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (samples.HTML_AS_JPG, "HTML page"),
        (samples.SVG_AS_JPG, "SVG document"),
        (b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n", "HLS playlist"),
        (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "ffmpeg concat list"),
        (b"PK\x03\x04" + b"\x00" * 40, "ZIP archive"),
        (b"", "empty (0 bytes)"),
    ],
)
def test_non_media_bytes_are_refused_naming_what_they_are(data, what):
    with pytest.raises(PermanentError) as refused:
        sniff_or_refuse(data)
    assert what in str(refused.value)


def test_a_file_is_only_ever_opened_by_the_plugin_of_its_sniffed_format(tmp_path, env):
    png = samples.encoded(samples.photo(32, 32), "PNG")
    with pytest.raises(PermanentError, match="not really JPEG"):
        opened(png, "jpeg", tmp_path)


def test_jpeg_zip_polyglot_is_detected_and_a_plain_photo_is_not():
    polyglot = samples.jpeg_zip_polyglot()
    assert trailing_archive(polyglot[-70_000:])
    assert not trailing_archive(samples.jpeg_bytes(samples.photo(320, 240)))


def test_widths_are_never_upscaled_and_the_largest_is_the_full_resolution():
    widths = [320, 640, 1280, 2048]
    assert target_widths(3000, widths) == [2048, 1280, 640, 320]
    assert target_widths(1000, widths) == [1000, 640, 320]
    assert target_widths(200, widths) == [200]
    assert target_widths(2048, widths) == [2048, 1280, 640, 320]


def test_icc_profile_is_applied_to_reach_srgb_not_copied(env):
    image = Image.new("RGB", (8, 8), (200, 100, 50))
    image.info["icc_profile"] = samples.swapped_red_blue_profile()
    converted = to_srgb(image)
    assert converted.getpixel((0, 0)) == (50, 100, 200)
    assert "icc_profile" not in converted.info


def test_cmyk_sixteen_bit_and_palette_images_become_rgb_or_rgba(env):
    assert to_srgb(Image.new("CMYK", (4, 4), (0, 255, 255, 0))).getpixel((0, 0)) == (255, 0, 0)
    grey16 = Image.new("I;16", (4, 4))
    grey16.putpixel((0, 0), 40_000)
    assert to_srgb(grey16).getpixel((0, 0)) == (156, 156, 156)  # scaled, not clipped to white
    palette = Image.new("P", (4, 4))
    palette.info["transparency"] = 0
    assert to_srgb(palette).mode == "RGBA"


def test_transparent_image_keeps_alpha_in_webp_and_is_flattened_on_white_in_jpeg(env):
    image = Image.new("RGBA", (16, 16), (255, 0, 0, 0))
    settings = content_settings()
    with Image.open(io.BytesIO(encode(image, "webp", settings))) as webp:
        assert webp.mode == "RGBA" and webp.getpixel((0, 0))[3] == 0
    with Image.open(io.BytesIO(encode(image, "jpeg", settings))) as jpeg:
        assert all(channel > 245 for channel in jpeg.getpixel((0, 0)))


def test_large_jpeg_is_decoded_at_a_reduced_dct_scale(tmp_path, env):
    with opened(samples.jpeg_bytes(samples.photo(2400, 1600)), "jpeg", tmp_path) as image:
        decoded = decode(image, 640)
    # 1/2 -> 1200 and 1/4 -> 600 < 640, so libjpeg decodes at 1/2 scale: a quarter of the pixels.
    assert decoded.size == (1200, 800)


def test_exif_rotation_is_considered_when_choosing_the_decode_scale(tmp_path, env):
    with opened(samples.gps_photo(1600, 800, orientation=6), "jpeg", tmp_path) as image:
        assert imaging.oriented_size(image) == (800, 1600)
        base = to_srgb(decode(image, 400))
    assert base.width >= 400 and base.height > base.width


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_every_output_format_is_free_of_metadata(fmt, tmp_path, env):
    with opened(samples.gps_photo(400, 300), "jpeg", tmp_path) as image:
        output = encode(to_srgb(decode(image, 400)), fmt, content_settings())
    assert_no_metadata(output, fmt)


def test_metadata_check_notices_a_photo_that_still_has_its_gps():
    with pytest.raises(AssertionError):
        assert_no_metadata(samples.gps_photo(200, 100), "jpeg")


def test_placeholder_is_a_blurhash_and_the_dominant_colour_is_the_largest_area():
    image = Image.new("RGB", (300, 200), (10, 120, 200))
    image.paste((250, 20, 20), (0, 0, 60, 60))
    assert len(blurhash_of(image)) == 28
    assert dominant_colour(image) == "#0a78c8"


BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def blurhash_average(value: str) -> tuple[int, int, int]:
    """The average colour a blurhash encodes (its DC component, characters 2-5, sRGB)."""
    number = 0
    for char in value[2:6]:
        number = number * 83 + BASE83.index(char)
    return number >> 16, (number >> 8) & 255, number & 255


def transparent_image(mode: str) -> Image.Image:
    """Three quarters fully transparent (black under the alpha), a pink opaque quarter."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((220, 120, 160, 255), (0, 0, 32, 32))
    if mode == "LA":
        return image.convert("LA")
    if mode == "P":
        palette = image.convert("RGB").quantize(colors=4)
        palette.info["transparency"] = palette.getpixel((63, 63))
        return palette
    return image


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_image_placeholder_matches_its_jpeg_rendition(mode, env):
    image = transparent_image(mode)
    with Image.open(io.BytesIO(encode(to_srgb(image.copy()), "jpeg", content_settings()))) as jpeg:
        jpeg_rgb = jpeg.convert("RGB")
    expected = blurhash_average(blurhash_of(jpeg_rgb))

    average = blurhash_average(blurhash_of(image))
    colour = dominant_colour(image)

    assert all(abs(a - b) <= 6 for a, b in zip(average, expected, strict=True)), (average, expected)
    jpeg_colour = dominant_colour(jpeg_rgb)
    pairs = zip(bytes.fromhex(colour[1:]), bytes.fromhex(jpeg_colour[1:]), strict=True)
    assert all(abs(a - b) <= 6 for a, b in pairs), (colour, jpeg_colour)


def test_smart_crop_centres_on_the_most_detailed_region():
    image = Image.new("RGB", (1600, 900), (128, 128, 128))
    detail = samples.photo(400, 400)
    image.paste(detail, (1150, 250))
    left, top, right, bottom = best_crop(image, parse_aspect("1:1"))
    assert (right - left, bottom - top) == (900, 900)
    assert left <= 1150 and right >= 1550  # the detailed square is inside the crop
    flat = Image.new("RGB", (1600, 900), (128, 128, 128))
    assert best_crop(flat, parse_aspect("1:1"))[0] == 350  # nothing to prefer: the centre


def test_resize_split_over_two_threads_equals_the_one_piece_resize():
    from concurrent.futures import ThreadPoolExecutor

    from PIL import ImageChops

    source = Image.effect_noise((3000, 2000), 60).convert("RGB")
    with ThreadPoolExecutor(2) as pool:
        split = imaging.resize(source, (2048, 1365), pool)
    whole = source.resize((2048, 1365), imaging.RESAMPLE)
    difference = ImageChops.difference(split, whole).convert("L").histogram()
    assert sum(difference[2:]) == 0, "no pixel may differ by more than one level"
    assert difference[1] < 0.001 * 2048 * 1365
