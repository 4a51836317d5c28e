"""Image decoding, orientation, sRGB, resizing and metadata-free encoding of content images.

Hostile input is handled in this order, each step before the costlier one:

1. the format comes from the sniffed bytes, and only that one Pillow plugin may open the file;
2. ``Image.open`` reads the header only; width, height, pixel count and (for animations) frame
   count are checked against the caps *before* a single pixel is decoded, so a decompression
   bomb costs a header read (both in ``odyssey_workers.media.safe_image``, under the content
   caps of ``ImageCaps.from_settings``);
3. the one decode uses JPEG DCT scaling (``draft``) when the outputs are much smaller;
4. the decoded image is oriented (EXIF), converted to sRGB (ICC through LittleCMS) and its
   ``info`` emptied, and encoders are never handed EXIF, XMP, ICC or comments, so no metadata
   block of the original reaches any output.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

from jobs.content.settings import ContentSettings
from odyssey_workers.errors import PermanentError
from odyssey_workers.media import caps as media_caps
from odyssey_workers.media.reasons import with_reason
from odyssey_workers.media.safe_image import open_checked

logger = logging.getLogger(__name__)

ROTATING_ORIENTATIONS = {5, 6, 7, 8}
"""EXIF orientations that swap width and height."""

RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 3.0
"""Resize first by an integer factor (box ``reduce``) down to 3x the target, then Lanczos: much
faster than Lanczos over the full image, visually the same."""

CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif"}

_SRGB = ImageCms.createProfile("sRGB")


class ImageCaps(media_caps.ImageCaps):
    """The image caps of content uploads, read from the ``CONTENT_IMAGE_*``/``CONTENT_GIF_*`` settings."""

    @classmethod
    def from_settings(cls, settings: ContentSettings) -> ImageCaps:
        return cls(
            max_bytes=settings.content_image_max_bytes,
            max_pixels=settings.content_image_max_pixels,
            max_side=settings.content_image_max_side,
            max_frames=settings.content_gif_max_frames,
            max_total_pixels=settings.content_gif_max_total_pixels,
        )


def oriented_size(image: Image.Image) -> tuple[int, int]:
    """Width and height after EXIF orientation, read from the header."""
    width, height = image.size
    try:
        orientation = image.getexif().get(0x0112)
    except (
        OSError,
        ValueError,
        SyntaxError,
        TypeError,
        KeyError,
        struct.error,
    ):  # a broken EXIF block loses the orientation only
        orientation = None
    return (height, width) if orientation in ROTATING_ORIENTATIONS else (width, height)


def decode(image: Image.Image, largest_width: int) -> Image.Image:
    """Decode the pixels once; a JPEG is decoded at the smallest DCT scale still covering
    ``largest_width`` (libjpeg scales by 1/2, 1/4, 1/8 while decoding, for a fraction of the work)."""
    label = (image.format or "image").upper()
    if image.format == "JPEG":
        out_w, out_h = oriented_size(image)
        if largest_width < out_w:
            need_w, need_h = largest_width, max(1, round(largest_width * out_h / out_w))
            if (out_w, out_h) != image.size:
                need_w, need_h = need_h, need_w
            image.draft(None, (need_w, need_h))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        error = PermanentError(f"the {label} file is truncated or corrupt: {exc}")
        raise with_reason(error, f"the {label} file is truncated or corrupt") from None
    return image


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def to_srgb(image: Image.Image) -> Image.Image:
    """An oriented RGB or RGBA image in sRGB with an empty ``info``: the one base every output
    is made from. The ICC profile is applied, never copied."""
    ImageOps.exif_transpose(image, in_place=True)  # in place: no second full-size copy
    icc = image.info.get("icc_profile")
    alpha_wanted = has_alpha(image)
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping everything above 255 to white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    alpha = None
    if alpha_wanted:
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        image = rgba.convert("RGB")
    elif image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
            assert converted is not None
            image = converted
        except (ImageCms.PyCMSError, OSError, ValueError, AssertionError) as exc:
            # A broken profile: the pixels are still usable, read as sRGB.
            logger.warning("ignoring an unusable ICC profile (%s); treating the image as sRGB", exc)
            image = image.convert("RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    if alpha is not None:
        image = image.convert("RGBA")
        image.putalpha(alpha)
    image.info = {}
    return image


def target_widths(source_width: int, widths: list[int]) -> list[int]:
    """The responsive widths to make, largest first, never wider than the source.

    A source narrower than the largest configured width also gets a variant at its own width,
    so the biggest variant is always the full available resolution."""
    chosen = {w for w in widths if w <= source_width}
    if source_width < max(widths):
        chosen.add(source_width)
    return sorted(chosen, reverse=True)


def height_for(width: int, size: tuple[int, int]) -> int:
    return max(1, round(width * size[1] / size[0]))


def load_base(path: Path, fmt: str, caps: ImageCaps, largest_width: int) -> Image.Image:
    """Open, check, decode once and convert: the sRGB base image, and nothing else kept alive
    (the caller hands it straight on, so the full-size pixels are freed after the first resize)."""
    image = open_checked(path, fmt, caps)
    base = to_srgb(decode(image, largest_width))
    if base is not image:
        image.close()
    elif getattr(image, "fp", None) is not None:  # a multi-frame file keeps its handle open
        base = image.copy()
        image.close()
    return base


SPLIT_RESIZE_PIXELS = 4_000_000
"""A resize from more source pixels than this is split in two bands run on two threads."""


def resize(image: Image.Image, size: tuple[int, int], pool: Executor | None = None) -> Image.Image:
    """Lanczos resize; big ones in two horizontal bands on ``pool`` (Pillow releases the GIL
    while resampling). Each band is the same resize restricted by ``box`` to its rows, with
    filter taps still reading the neighbouring rows, so the result equals the one-piece resize
    (up to rounding: a few pixels in a million differ by one level)."""
    if pool is None or image.width * image.height < SPLIT_RESIZE_PIXELS or size[1] < 2:
        return image.resize(size, RESAMPLE, reducing_gap=REDUCING_GAP)
    split = size[1] // 2
    split_source = split * image.height / size[1]
    top = pool.submit(image.resize, (size[0], split), RESAMPLE, (0, 0, image.width, split_source), REDUCING_GAP)
    bottom_box = (0, split_source, image.width, image.height)
    bottom = image.resize((size[0], size[1] - split), RESAMPLE, bottom_box, REDUCING_GAP)
    result = Image.new(image.mode, size)
    result.paste(top.result(), (0, 0))
    result.paste(bottom, (0, split))
    return result


def resize_chain(
    base: Image.Image, widths: list[int], pool: Executor | None = None
) -> Iterator[tuple[int, Image.Image]]:
    """Each width made from the previous, larger variant (not the full image): every step
    touches only about 1/4 to 1/2.5 as many pixels as a resize from full size would. The
    base is not held once the first variant exists."""
    current = base
    del base
    for width in widths:
        if width != current.width:
            current = resize(current, (width, height_for(width, current.size)), pool)
        yield width, current


def flatten(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """RGB for formats without alpha: transparent parts over ``background``."""
    if image.mode != "RGBA":
        return image if image.mode == "RGB" else image.convert("RGB")
    flat = Image.new("RGB", image.size, background)
    flat.paste(image, mask=image.getchannel("A"))
    return flat


def encode(image: Image.Image, fmt: str, settings: ContentSettings) -> bytes:
    """The image as ``fmt`` bytes with no metadata block: nothing but pixels is passed in."""
    buffer = io.BytesIO()
    if fmt == "jpeg":
        flatten(image).save(buffer, "JPEG", quality=settings.content_jpeg_quality, progressive=True)
    elif fmt == "webp":
        image.save(buffer, "WEBP", quality=settings.content_webp_quality, method=4)
    elif fmt == "avif":
        image.save(buffer, "AVIF", quality=settings.content_avif_quality, speed=settings.content_avif_speed)
    else:
        raise PermanentError(f"unknown output format {fmt!r} (CONTENT_IMAGE_FORMATS allows jpeg, webp, avif)")
    return buffer.getvalue()
