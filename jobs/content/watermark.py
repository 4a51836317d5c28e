"""Creator branding on outputs: a logo (an image in storage) or a line of text.

Read from the creator's ``settings["watermark"]``::

    {"text": "@ana", "logo_key": "branding/3/logo.png", "position": "bottom-right",
     "margin": 0.03, "opacity": 0.6, "scale": 0.15, "apply_to": ["image", "video"]}

``margin`` and ``scale`` are fractions of the *output* width, so a 320 px variant and a 2048 px
one carry the same-looking mark. Marks go on variants and renditions only; the original upload
is never changed. Images are marked with Pillow (``apply_image_watermark``); video renditions
get an ffmpeg ``overlay``/``drawtext`` filter from ``video_watermark_filter``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jobs.content.settings import ContentSettings, WatermarkPosition
from odyssey_workers.errors import PermanentError

Position = WatermarkPosition  # one list of positions: a creator's and CONTENT_WATERMARK_POSITION
LOGO_MAX_SIDE = 4096
"""A logo is refused above this many pixels per side (it is shown at a fraction of the output)."""


class WatermarkSpec(BaseModel):
    """A creator's watermark, with the platform defaults filled in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    text: str | None = Field(default=None, min_length=1, max_length=100)
    logo_key: str | None = Field(default=None, min_length=1, max_length=1024)
    position: Position = "bottom-right"
    margin: float = Field(default=0.03, ge=0, le=0.25)
    opacity: float = Field(default=0.6, ge=0, le=1)
    scale: float = Field(default=0.15, gt=0, le=1)
    apply_to: list[Literal["image", "video"]] = ["image", "video"]

    @model_validator(mode="after")
    def _text_is_one_line(self) -> WatermarkSpec:
        if self.text is not None and any(ord(ch) < 32 for ch in self.text):
            raise ValueError("text must be one line without control characters")
        return self


def watermark_for(
    creator_settings: dict[str, Any] | None, settings: ContentSettings, target: str
) -> WatermarkSpec | None:
    """The creator's watermark for ``target`` ("image" or "video"), or None when there is none.

    Bad settings are a PermanentError naming the field, not a silently unmarked output."""
    raw = (creator_settings or {}).get("watermark")
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise PermanentError("creator settings.watermark must be an object")
    defaults = {
        "position": settings.content_watermark_position,
        "margin": settings.content_watermark_margin,
        "opacity": settings.content_watermark_opacity,
        "scale": settings.content_watermark_scale,
    }
    try:
        spec = WatermarkSpec.model_validate({**defaults, **raw})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'watermark'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise PermanentError(f"creator settings.watermark is invalid: {problems}") from None
    if not spec.enabled or target not in spec.apply_to or not (spec.text or spec.logo_key):
        return None
    return spec


def _corner(spec: WatermarkSpec, canvas: tuple[int, int], mark: tuple[int, int]) -> tuple[int, int]:
    width, height = canvas
    margin = round(spec.margin * width)
    x = {"left": margin, "right": width - mark[0] - margin}
    y = {"top": margin, "bottom": height - mark[1] - margin}
    if spec.position == "center":
        return (width - mark[0]) // 2, (height - mark[1]) // 2
    vertical, horizontal = spec.position.split("-")
    return x[horizontal], y[vertical]


def default_font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont), "Pillow was built without FreeType"
    return font


def text_font_size(text: str, width: int) -> int:
    """The font size at which ``text`` (with its outline) is about ``width`` pixels wide."""
    left, _top, right, _bottom = default_font(100).getbbox(text, stroke_width=6)
    return max(6, int(100 * width / max(1, right - left)))


def render_text_mark(text: str, width: int) -> Image.Image:
    """White text with a dark outline, about ``width`` pixels wide, on a transparent canvas."""
    size = text_font_size(text, width)
    font = default_font(size)
    stroke = max(1, size // 16)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    mark = Image.new("RGBA", (int(right - left), int(bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(mark).text(
        (-left, -top), text, font=font, fill=(255, 255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0, 255)
    )
    return mark


def _with_opacity(mark: Image.Image, opacity: float) -> Image.Image:
    alpha = mark.getchannel("A").point(lambda value: round(value * opacity))
    faded = mark.copy()
    faded.putalpha(alpha)
    return faded


def apply_image_watermark(image: Image.Image, spec: WatermarkSpec, logo: Image.Image | None) -> Image.Image:
    """A marked copy of ``image`` (RGB or RGBA); ``image`` itself is left as it was."""
    mark_width = max(1, round(spec.scale * image.width))
    if logo is not None:
        source = logo.convert("RGBA")
        mark = source.resize(
            (mark_width, max(1, round(mark_width * source.height / source.width))), Image.Resampling.LANCZOS
        )
    else:
        assert spec.text is not None
        mark = render_text_mark(spec.text, mark_width)
    mark = _with_opacity(mark, spec.opacity)
    base = image.convert("RGBA")
    base.alpha_composite(mark, _corner(spec, base.size, mark.size))
    return base if image.mode == "RGBA" else base.convert(image.mode)


# --- video ----------------------------------------------------------------------------------


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _quoted(path: Path) -> str:
    """A path for a filter option, in single quotes (which also protect ``:,;[]``).

    The paths are ones this module made (a temporary folder); one with a quote or backslash,
    which quoting cannot carry, is refused rather than escaped."""
    text = str(path)
    if "'" in text or "\\" in text:
        raise PermanentError(f"watermark work folder {text!r} cannot be used in an ffmpeg filter")
    return f"'{text}'"


def _overlay_xy(spec: WatermarkSpec, margin: int) -> tuple[str, str]:
    if spec.position == "center":
        return "(W-w)/2", "(H-h)/2"
    vertical, horizontal = spec.position.split("-")
    x = str(margin) if horizontal == "left" else f"W-w-{margin}"
    y = str(margin) if vertical == "top" else f"H-h-{margin}"
    return x, y


@dataclass(frozen=True)
class VideoWatermark:
    """What a transcode adds to its ffmpeg command for one output: ``input_args`` go before the
    output (once), ``filter`` goes into ``-filter_complex`` and ends in ``[<output>]``."""

    input_args: list[str]
    filter: str
    output: str


def video_watermark_filter(
    spec: WatermarkSpec,
    width: int,
    *,
    logo_path: Path | None = None,
    work_dir: Path | None = None,
    source: str = "0:v",
    logo_input: int = 1,
    output: str = "watermarked",
) -> VideoWatermark:
    """The ffmpeg arguments that mark a video output ``width`` pixels wide.

    A logo is a second input (``-protocol_whitelist file -i <logo>``, index ``logo_input``)
    put through ``overlay`` with its alpha scaled by the opacity; text is ``drawtext`` reading a
    file (``textfile`` with ``expansion=none``, so no user text is ever parsed as filter syntax
    or ``%{...}`` expansions) in the same font the image marks use, written to ``work_dir``.
    """
    margin = round(spec.margin * width)
    x, y = _overlay_xy(spec, margin)
    if logo_path is not None:
        mark_width = _even(spec.scale * width)
        graph = (
            f"[{logo_input}:v]format=rgba,scale={mark_width}:-2,colorchannelmixer=aa={spec.opacity:.3f}[wm_logo];"
            f"[{source}][wm_logo]overlay=x={x}:y={y}:eof_action=repeat:format=auto[{output}]"
        )
        return VideoWatermark(["-protocol_whitelist", "file", "-i", str(logo_path)], graph, output)
    if spec.text is None:
        raise PermanentError("watermark has neither text nor logo")
    folder = work_dir or Path(tempfile.mkdtemp(prefix="odyssey-wm-"))
    text_file = folder / "watermark.txt"
    text_file.write_text(spec.text, encoding="utf-8")
    font_file = folder / "watermark-font.ttf"
    font_file.write_bytes(default_font(20).font_bytes)
    size = text_font_size(spec.text, max(1, round(spec.scale * width)))
    opacity = f"{spec.opacity:.3f}"
    # drawtext names the frame w/h and the text tw/th (overlay's W/H/w/h mean frame/logo).
    tx = x.replace("W-w", "w-tw").replace("(W-w)", "(w-tw)")
    ty = y.replace("H-h", "h-th").replace("(H-h)", "(h-th)")
    graph = (
        f"[{source}]drawtext=textfile={_quoted(text_file)}:expansion=none:fontfile={_quoted(font_file)}"
        f":fontsize={size}:fontcolor=white@{opacity}:borderw={max(1, size // 16)}:bordercolor=black@{opacity}"
        f":x={tx}:y={ty}[{output}]"
    )
    return VideoWatermark([], graph, output)
