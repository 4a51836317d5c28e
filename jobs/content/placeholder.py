"""The placeholder a client shows while an image loads: a blurhash and the dominant colour.

A transparent image is flattened first, on the same background as its JPEG rendition
(``imaging.flatten``), so the placeholder has the colours the JPEG shows rather than whatever
colour hides under fully transparent pixels (often black)."""

from __future__ import annotations

import warnings

import blurhash
from PIL import Image

from jobs.content.imaging import flatten, has_alpha

BLURHASH_COMPONENTS = (4, 3)
"""Horizontal and vertical components: 4x3 is the usual trade of detail against length (28 chars)."""

SAMPLE_SIZE = 64
"""The placeholder is computed on a copy at most this many pixels wide or tall (it is a blur anyway)."""


def _sample(image: Image.Image) -> Image.Image:
    if has_alpha(image):  # RGBA, LA, PA or a palette/greyscale with a transparent colour
        sample = flatten(image.convert("RGBA"))
    else:
        sample = image.convert("RGB") if image.mode != "RGB" else image.copy()
    sample.thumbnail((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.BOX)
    return sample


def blurhash_of(image: Image.Image) -> str:
    """The blurhash of ``image`` (any size; it is sampled down first)."""
    sample = _sample(image)
    with warnings.catch_warnings():
        # blurhash-python reads pixels with Image.getdata, deprecated in Pillow 13; same values.
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*getdata.*")
        return str(blurhash.encode(sample, *BLURHASH_COMPONENTS))


def dominant_colour(image: Image.Image) -> str:
    """The most common colour after quantizing to a small palette, as ``#rrggbb``.

    Median-cut quantization groups near colours, so a photo of sky and sea yields the blue that
    covers most of it rather than an average that might be grey."""
    sample = _sample(image)
    quantized = sample.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    counts = quantized.getcolors() or [(1, 0)]
    _count, colour = max(counts)
    index = colour if isinstance(colour, int) else 0  # a palette image counts palette indexes
    red, green, blue = palette[index * 3 : index * 3 + 3] or (0, 0, 0)
    return f"#{red:02x}{green:02x}{blue:02x}"
