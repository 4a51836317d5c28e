"""The image jobs: ``content.optimize_image`` (the pipeline step) and ``content.smart_crop``.

``optimize_image`` decodes the original once, then makes each responsive width from the
previous, larger one and encodes it in every configured format, encodes running on a small
thread pool while the next width is resized (Pillow releases the GIL in its codecs and
resampling). Outputs go under the run prefix and are returned as a step result; finalize
publishes them.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from jobs.content import animation, smartcrop
from jobs.content.assets import StagedRendition, load_asset, run_prefix
from jobs.content.imaging import (
    CONTENT_TYPES,
    EXTENSIONS,
    ImageCaps,
    decode,
    encode,
    load_base,
    oriented_size,
    resize_chain,
    target_widths,
    to_srgb,
)
from jobs.content.placeholder import blurhash_of, dominant_colour
from jobs.content.reasons import LOGO_UNUSABLE, MISSING_ORIGINAL
from jobs.content.settings import ContentSettings, content_settings
from jobs.content.step import media_step
from jobs.content.watermark import LOGO_MAX_SIDE, WatermarkSpec, apply_image_watermark, watermark_for
from odyssey_workers.db.models.core import AssetStatus, Creator, Rendition
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.reasons import with_reason
from odyssey_workers.media.safe_image import check_size, open_sniffed
from odyssey_workers.progress import report_progress
from odyssey_workers.storage import Storage, get_storage

logger = logging.getLogger(__name__)

ENCODE_THREADS = min(2, os.cpu_count() or 1)
"""Encoder threads per job: two keep both cores of a small worker busy; more only queue."""


def stored_size(storage: Storage, key: str) -> int:
    """The size of a stored object, or a PermanentError if the original is gone."""
    for item in storage.list(key):
        if item.key == key:
            return item.size
    raise with_reason(PermanentError(f"the original is missing from storage ({key!r})"), MISSING_ORIGINAL)


def open_original(storage: Storage, key: str, folder: Path, caps: ImageCaps) -> tuple[Image.Image, str]:
    """Download the original, check its size, sniff it and open it under the caps (no decode)."""
    check_size(stored_size(storage, key), caps)
    return open_sniffed(storage.download(key, folder / "original"), caps)


def load_logo(
    storage: Storage, spec: WatermarkSpec | None, folder: Path, settings: ContentSettings
) -> Image.Image | None:
    """The creator's logo, opened with the same caps and allow-list as any upload."""
    if spec is None or not spec.logo_key:
        return None
    caps = ImageCaps.from_settings(settings)
    caps = ImageCaps(caps.max_bytes, min(caps.max_pixels, LOGO_MAX_SIDE**2), LOGO_MAX_SIDE, 1, LOGO_MAX_SIDE**2)
    try:
        image, _fmt = open_original(storage, spec.logo_key, folder / "logo", caps)
    except PermanentError as exc:
        error = PermanentError(f"the creator's watermark logo cannot be used: {exc}")
        raise with_reason(error, LOGO_UNUSABLE) from None
    with image:
        return to_srgb(decode(image, LOGO_MAX_SIDE))


INLINE_FORMATS = frozenset({"jpeg"})
"""Formats encoded on the calling thread: Pillow's JPEG encoder holds the GIL, so a thread
would gain nothing. WebP and AVIF encoding (and resizing) release it and go to the pool."""


class VariantWriter:
    """Encodes each variant in every format and stores it.

    As soon as a variant exists its WebP/AVIF encodes go to the pool as one task (one after
    the other on that object: Pillow keeps encoder options on the image, so two threads never
    save one object at once) and its JPEG is encoded inline on a short-lived copy. The caller
    resizes the next width meanwhile, so two cores share resizing, JPEG and WebP/AVIF work."""

    def __init__(self, storage: Storage, prefix: str, settings: ContentSettings, total: int, threads: int) -> None:
        self.storage, self.prefix, self.settings, self.total = storage, prefix, settings, total
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.pending: list[Future[list[StagedRendition]]] = []
        self.done: list[StagedRendition] = []
        self.written: list[str] = []
        self.started = time.monotonic()

    def _encode_and_store(self, image: Image.Image, fmt: str, name: str) -> StagedRendition:
        data = encode(image, fmt, self.settings)
        key = f"{self.prefix}{name.replace('.', '/', 1)}.{EXTENSIONS[fmt]}"
        self.storage.put(key, data, CONTENT_TYPES[fmt])
        self.written.append(key)
        return StagedRendition(
            name=f"{name}.{fmt}",
            kind=name.split(".", 1)[0],
            format=fmt,
            storage_key=key,
            size_bytes=len(data),
            width=image.width,
            height=image.height,
            content_type=CONTENT_TYPES[fmt],
        )

    def _encode_all(self, image: Image.Image, formats: Sequence[str], name: str) -> list[StagedRendition]:
        return [self._encode_and_store(image, fmt, name) for fmt in formats]

    def submit(self, image: Image.Image, name: str) -> None:
        formats = self.settings.content_image_formats
        if self.pool is None:
            self._record(self._encode_all(image, formats, name))
            return
        pooled = [fmt for fmt in formats if fmt not in INLINE_FORMATS]
        inline = [fmt for fmt in formats if fmt in INLINE_FORMATS]
        if pooled:
            # The slow encoders start first; the inline JPEG then works on a short-lived copy.
            self.pending.append(self.pool.submit(self._encode_all, image, pooled, name))
            image = image.copy() if inline else image
        self._record(self._encode_all(image, inline, name))

    def _record(self, items: list[StagedRendition]) -> None:
        if not items:
            return
        self.done.extend(items)
        elapsed = time.monotonic() - self.started
        count = len(self.done)
        report_progress(
            10 + 85 * count / max(1, self.total),
            speed=count / elapsed if elapsed > 0 else None,
            eta_seconds=(self.total - count) * elapsed / count,
            done=count,
            total=self.total,
            unit="variants",
        )

    def finish(self) -> list[StagedRendition]:
        try:
            for future in self.pending:
                self._record(future.result())
        finally:
            if self.pool:
                self.pool.shutdown(wait=True, cancel_futures=True)
        return sorted(self.done, key=lambda item: item.name)


def make_variants(
    base: Image.Image,
    widths: list[int],
    writer: VariantWriter,
    mark: WatermarkSpec | None,
    logo: Image.Image | None,
    kind: str = "image",
) -> Image.Image:
    """Every width from the previous one, each marked (on a copy) and handed to the writer.
    Returns the smallest unmarked variant (for the placeholder)."""
    chain = resize_chain(base, widths, writer.pool)
    del base  # the chain holds the full-size image only until its first variant exists
    smallest = None
    for width, variant in chain:
        writer.submit(apply_image_watermark(variant, mark, logo) if mark else variant, f"{kind}.{width}")
        smallest = variant
    assert smallest is not None, "no widths to make"
    return smallest


def optimize_image(asset_id: int) -> dict[str, Any]:
    """Responsive variants, placeholder and colour for an image asset (a pipeline step)."""
    settings = content_settings()
    caps = ImageCaps.from_settings(settings)
    with media_step(asset_id, stage="done") as step:
        asset, storage, prefix, folder = step.asset, step.storage, step.prefix, step.work
        with session_scope() as session:
            creator = session.get(Creator, asset.creator_id)
            mark = watermark_for(creator.settings if creator else None, settings, "image")
        report_progress(0, stage="reading")
        logo = load_logo(storage, mark, folder, settings)
        image, fmt = open_original(storage, asset.source_key, folder, caps)
        with image:
            width, height = oriented_size(image)
            widths = target_widths(width, settings.content_image_widths)
            animated = fmt in ("gif", "webp") and bool(getattr(image, "is_animated", False))
            frames = int(getattr(image, "n_frames", 1))
            extra: list[StagedRendition] = []
            if animated:
                extra = _animation_outputs(image, folder / "original", prefix, storage, settings, mark, logo, widths)
        report_progress(5, stage="decoding")
        writer = VariantWriter(
            storage, prefix, settings, len(widths) * len(settings.content_image_formats), ENCODE_THREADS
        )
        try:
            # Opened again (headers only, already checked) and passed straight on: no name here
            # keeps the full-size pixels alive once the first variant exists.
            base_path = folder / "original"
            smallest = make_variants(load_base(base_path, fmt, caps, widths[0]), widths, writer, mark, logo)
            details: dict[str, Any] = {"blurhash": blurhash_of(smallest), "dominant_color": dominant_colour(smallest)}
        finally:
            renditions = writer.finish()
        step.add_stored(renditions + extra)
    details.update({"width": width, "height": height, "source_format": fmt, "animated": animated, "frames": frames})
    return step.result(details)


def _animation_outputs(
    image: Image.Image,
    source: Path,
    prefix: str,
    storage: Storage,
    settings: ContentSettings,
    mark: WatermarkSpec | None,
    logo: Image.Image | None,
    widths: list[int],
) -> list[StagedRendition]:
    width = min(widths[0], image.width)
    out = animation.animated_webp(image, width, settings, mark, logo)
    webp_key = f"{prefix}animation/animated.webp"
    storage.put(webp_key, out.webp, "image/webp")
    staged = [
        StagedRendition(
            name="animation.webp",
            kind="animation",
            format="webp",
            storage_key=webp_key,
            size_bytes=len(out.webp),
            width=out.width,
            height=out.height,
            duration_seconds=out.duration_seconds,
            content_type="image/webp",
            details={"frames": out.frames},
        )
    ]
    if image.format == "GIF":
        mp4 = source.parent / "animation.mp4"
        logo_path = None
        if logo is not None:
            logo_path = source.parent / "logo.png"
            logo.save(logo_path, "PNG")
        max_seconds = settings.content_animation_mp4_max_seconds
        animation.gif_to_mp4(source, mp4, width, max_seconds, mark, logo_path)
        mp4_key = f"{prefix}animation/animated.mp4"
        stored = storage.put_file(mp4_key, mp4, "video/mp4")
        staged.append(
            StagedRendition(
                name="animation.mp4",
                kind="animation",
                format="mp4",
                storage_key=mp4_key,
                size_bytes=stored.size,
                width=width - width % 2,
                height=None,
                duration_seconds=min(out.duration_seconds, max_seconds),
                content_type="video/mp4",
            )
        )
    return staged


def smart_crop(asset_id: int, aspect: str = "1:1") -> dict[str, Any]:
    """Crops of a ready image to ``aspect``, centred on its most detailed region, in every
    width and format; rows are added in one transaction after all files are stored."""
    settings, storage = content_settings(), get_storage()
    caps = ImageCaps.from_settings(settings)
    with session_scope() as session:
        asset = load_asset(session, asset_id)
        if asset.status != AssetStatus.READY or asset.kind.value != "image":
            raise PermanentError(f"content asset {asset_id} must be a ready image to crop (it is {asset.status.value})")
        run = (asset.details or {}).get("pipeline", {}).get("run", "crops")
        source_key = asset.source_key
    tag = aspect.replace(":", "x")
    prefix = run_prefix(asset_id, run) + f"crop-{tag}/"
    with tempfile.TemporaryDirectory(prefix="odyssey-crop-") as folder_name:
        image, _fmt = open_original(storage, source_key, Path(folder_name), caps)
        with image:
            base = to_srgb(decode(image, max(settings.content_image_widths)))
    box = smartcrop.best_crop(base, smartcrop.parse_aspect(aspect))
    cropped = base.crop(box)
    widths = target_widths(cropped.width, settings.content_image_widths)
    writer = VariantWriter(storage, prefix, settings, len(widths) * len(settings.content_image_formats), 1)
    try:
        make_variants(cropped, widths, writer, None, None, kind=f"crop{tag}")
        renditions = writer.finish()
    except BaseException:
        for key in writer.written:
            storage.delete(key)
        raise
    try:
        with session_scope() as session:
            load_asset(session, asset_id, lock=True)
            existing = {r.name: r for r in session.query(Rendition).filter(Rendition.asset_id == asset_id)}
            for item in renditions:
                row = existing.get(item.name) or Rendition(asset_id=asset_id, name=item.name)
                row.kind, row.format, row.storage_key, row.size_bytes = (
                    "crop",
                    item.format,
                    item.storage_key,
                    item.size_bytes,
                )
                row.width, row.height, row.details = item.width, item.height, {"aspect": aspect, "box": list(box)}
                session.add(row)
    except BaseException:
        for item in renditions:
            storage.delete(item.storage_key)
        raise
    return {"aspect": aspect, "box": list(box), "renditions": [item.name for item in renditions]}
