"""Smart crops: the window of a given aspect ratio holding the most detail.

Detail is edge energy (a Laplacian-style edge filter on a small greyscale copy). The crop is the
largest window of the aspect that fits; it slides along the one free axis and the position with
the most edge energy wins, so a portrait's face or a product on a plain table stays in frame.
"""

from __future__ import annotations

from fractions import Fraction

from PIL import Image, ImageFilter

from odyssey_workers.errors import PermanentError

ANALYSIS_SIZE = 256
"""Edges are measured on a copy at most this many pixels on its longer side."""


def parse_aspect(aspect: str) -> Fraction:
    """``"16:9"`` as width/height."""
    try:
        width, height = (int(part) for part in aspect.split(":"))
        return Fraction(width, height)
    except (ValueError, ZeroDivisionError):
        raise PermanentError(f"aspect must look like 16:9, not {aspect!r}") from None


def crop_size(size: tuple[int, int], aspect: Fraction) -> tuple[int, int]:
    """The largest width x height of ``aspect`` inside ``size``."""
    width, height = size
    if Fraction(width, height) > aspect:
        return max(1, round(height * aspect)), height
    return width, max(1, round(width / aspect))


def _profile(edges: Image.Image, axis: int) -> list[int]:
    """Edge energy summed along each column (axis 0) or row (axis 1)."""
    width, height = edges.size
    if axis == 0:
        line = edges.resize((width, 1), Image.Resampling.BOX)
    else:
        line = edges.resize((1, height), Image.Resampling.BOX)
    values = list(line.tobytes())
    # The edge filter sees the image border as an edge; it says nothing about the content.
    values[0] = values[-1] = 0
    return values


def best_crop(image: Image.Image, aspect: Fraction) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) box of ``aspect`` with the most edge energy."""
    crop_w, crop_h = crop_size(image.size, aspect)
    free_axis = 0 if crop_w < image.width else 1
    if (crop_w, crop_h) == image.size:
        return 0, 0, image.width, image.height
    small = image.convert("L")
    small.thumbnail((ANALYSIS_SIZE, ANALYSIS_SIZE), Image.Resampling.BOX)
    edges = small.filter(ImageFilter.FIND_EDGES)
    profile = _profile(edges, free_axis)
    length = len(profile)
    full = image.width if free_axis == 0 else image.height
    window = max(1, round(length * (crop_w if free_axis == 0 else crop_h) / full))
    running = sum(profile[:window])
    centre = (length - window) / 2
    best, best_start = running, 0
    for start in range(1, length - window + 1):
        running += profile[start + window - 1] - profile[start - 1]
        # Equal detail (a flat picture) keeps the window nearest the centre.
        if running > best or (running == best and abs(start - centre) < abs(best_start - centre)):
            best, best_start = running, start
    offset = round(best_start * full / length)
    if free_axis == 0:
        left = min(offset, image.width - crop_w)
        return left, 0, left + crop_w, crop_h
    top = min(offset, image.height - crop_h)
    return 0, top, crop_w, top + crop_h
