"""Images from users opened under caps: the decompression-bomb-safe open.

Hostile input is handled in this order, each step before the costlier one:

1. the format comes from the sniffed bytes, and only that one Pillow plugin may open the file
   (a file that is also a ZIP archive, a polyglot, is refused);
2. ``Image.open`` reads the header only; width, height, pixel count and (for animations) frame
   count are checked against the caps *before* a single pixel is decoded, so a decompression
   bomb costs a header read.

The caller decodes what comes back (``Image.load``) and passes its own caps.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from odyssey_workers.errors import PermanentError
from odyssey_workers.media.caps import ImageCaps
from odyssey_workers.media.reasons import with_reason
from odyssey_workers.media.sniff import HEAD_BYTES, TAIL_BYTES, sniff_or_refuse, trailing_archive

PIL_PLUGIN = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "avif": "AVIF", "heic": "HEIF"}
"""The only Pillow plugin allowed to open each sniffed format."""

_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def check_size(size_bytes: int, caps: ImageCaps) -> None:
    if size_bytes == 0:
        raise PermanentError("unsupported file: the file is empty (0 bytes)")
    if size_bytes > caps.max_bytes:
        raise PermanentError(f"image file is {size_bytes} bytes; the limit is {caps.max_bytes} bytes")


def open_checked(path: Path, fmt: str, caps: ImageCaps) -> Image.Image:
    """Open ``path`` as ``fmt`` (header only) and refuse it if it exceeds a cap. Nothing decoded."""
    plugin = PIL_PLUGIN.get(fmt)
    if plugin is None:
        raise PermanentError(f"unsupported image format {fmt!r}")
    if fmt == "heic":
        _register_heif()
    label = fmt.upper()
    # Pillow's own bomb check (a fixed ~179 MP) is lifted for this header read only: the caps
    # below replace it, with the declared size in the message. Nothing is decoded here.
    pillow_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=[plugin])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        error = PermanentError(f"the {label} file is corrupt or not really {label}: {exc}")
        raise with_reason(error, f"the {label} file is corrupt or not really {label}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    width, height = image.size
    if width < 1 or height < 1:
        raise PermanentError(f"the {label} file declares an empty image ({width}x{height})")
    try:
        _check_dimensions(width, height, caps)
    except PermanentError:
        image.close()
        raise
    if fmt in ("gif", "webp"):
        try:
            if fmt == "gif":
                frames, width, height = gif_extent(path)
                _check_dimensions(width, height, caps)
            else:  # libwebp refuses frames outside the canvas
                frames = _count_frames(image, label)
        except PermanentError:
            image.close()
            raise
        if frames > caps.max_frames or frames * width * height > caps.max_total_pixels:
            image.close()
            raise PermanentError(
                f"animation refused before decoding: {frames} frames of {width}x{height}; the limits are "
                f"{caps.max_frames} frames and {caps.max_total_pixels} pixels over all frames"
            )
    return image


def _check_dimensions(width: int, height: int, caps: ImageCaps) -> None:
    if width > caps.max_side or height > caps.max_side or width * height > caps.max_pixels:
        raise PermanentError(
            f"image refused before decoding: it declares {width}x{height} pixels "
            f"({width * height} pixels); the limits are {caps.max_side} per side and {caps.max_pixels} in all"
        )


def gif_extent(path: Path) -> tuple[int, int, int]:
    """(frames, width, height) of a GIF from its block structure alone, nothing decoded.

    The size is the union of the logical screen and every frame's rectangle: Pillow grows the
    canvas to a frame larger than the screen, so a small screen with one giant later frame
    (its LZW data a megabyte) is as much a bomb as a giant screen."""
    data = path.read_bytes()

    def fail(why: str) -> PermanentError:
        return PermanentError(f"the GIF file is corrupt or truncated: {why}")

    if len(data) < 13:
        raise fail("no logical screen descriptor")
    width, height = struct.unpack("<HH", data[6:10])
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    frames = 0

    def skip_sub_blocks(at: int) -> int:
        while True:
            if at >= len(data):
                raise fail("a data block runs past the end of the file")
            size = data[at]
            at += 1 + size
            if size == 0:
                return at

    while position < len(data):
        kind = data[position]
        if kind == 0x3B:  # trailer
            break
        if kind == 0x21:  # extension: label, then sub-blocks
            position = skip_sub_blocks(position + 2)
        elif kind == 0x2C:  # image descriptor
            if position + 10 > len(data):
                raise fail("an image descriptor is cut short")
            left, top, frame_w, frame_h = struct.unpack("<HHHH", data[position + 1 : position + 9])
            flags = data[position + 9]
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            frames += 1
            position += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            position = skip_sub_blocks(position + 1)  # after the LZW minimum code size
        else:
            raise fail(f"unknown block 0x{kind:02x} at byte {position}")
    return max(frames, 1), width, height


def _count_frames(image: Image.Image, label: str) -> int:
    try:
        return int(getattr(image, "n_frames", 1))
    except (OSError, EOFError, ValueError, SyntaxError) as exc:
        error = PermanentError(f"the {label} file is corrupt or truncated: {exc}")
        raise with_reason(error, f"the {label} file is corrupt or truncated") from None


def open_sniffed(path: Path, caps: ImageCaps) -> tuple[Image.Image, str]:
    """Sniff ``path``, refuse anything but an allow-listed image, open it under ``caps`` (no decode).

    Returns the opened image and its sniffed format name."""
    with path.open("rb") as handle:
        sniffed = sniff_or_refuse(handle.read(HEAD_BYTES))
        handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
        if trailing_archive(handle.read()):
            raise PermanentError(
                f"refused: the {sniffed.format.upper()} file is also a ZIP archive (a polyglot file hiding an archive)"
            )
    if sniffed.kind != "image":
        raise PermanentError(f"expected an image, but the file is {sniffed.kind} ({sniffed.format})")
    return open_checked(path, sniffed.format, caps), sniffed.format
