"""Publishing a run's outputs, and removing them when the run fails.

Publishing is one database transaction: the asset's Rendition rows are replaced by the run's
and the asset becomes ``ready`` together, so no reader ever sees half a rendition set. Before
that, deliverable files are copied to Cloudinary when it is configured (their ``secure_url``
goes on the row). A failed run removes everything it wrote: the run's storage prefix and every
Cloudinary public id it could have created (deleting one that was never made is harmless).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobs.content.assets import StagedRendition, asset_prefix, load_asset, run_prefix
from jobs.content.settings import ContentSettings
from odyssey_workers.db.models.core import AssetStatus, Rendition
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import ConfigurationError, OdysseyError, PermanentError
from odyssey_workers.progress import report_progress
from odyssey_workers.providers.cloudinary import CloudinaryClient, CloudinaryConfig
from odyssey_workers.storage import Storage

logger = logging.getLogger(__name__)

CLOUDINARY_RESOURCE_TYPES = {
    "jpeg": "image",
    "webp": "image",
    "avif": "image",
    "png": "image",
    "gif": "image",
    "mp4": "video",
    "webm": "video",
    "m4a": "video",
    "mp3": "video",
    "opus": "video",
    "ogg": "video",
    "aac": "video",
    "vtt": "raw",
    "json": "raw",
}
"""What goes to Cloudinary, and as which resource type (audio is a "video" resource there).
HLS playlists and segments stay in storage only: their relative links would not survive the
move, and Cloudinary makes its own streaming profiles from the MP4."""


SPOOL_BYTES = 16 * 1024 * 1024
"""A file to upload is held in memory up to this size, in bytes, and on disk above it."""


@dataclass(frozen=True)
class Delivered:
    url: str
    public_id: str
    resource_type: str


def cloudinary_target(
    settings: ContentSettings, asset_id: int, run: str, item: StagedRendition
) -> tuple[str, str] | None:
    """(public_id, resource_type) of a rendition's Cloudinary copy, or None if it has none."""
    resource_type = CLOUDINARY_RESOURCE_TYPES.get(item.format)
    if resource_type is None:
        return None
    public_id = f"{settings.content_cloudinary_folder}/{asset_id}/{run}/{item.name.replace('.', '_')}"
    if resource_type == "raw":
        public_id += f".{item.format}"  # raw public ids carry their extension
    return public_id, resource_type


def cloudinary_config(settings: ContentSettings) -> CloudinaryConfig | None:
    """The Cloudinary account when all three credentials are set; None when none is."""
    values = (settings.cloudinary_cloud_name, settings.cloudinary_api_key, settings.cloudinary_api_secret)
    if not any(values):
        return None
    if (
        settings.cloudinary_cloud_name is None
        or settings.cloudinary_api_key is None
        or settings.cloudinary_api_secret is None
    ):
        raise ConfigurationError(
            "CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET must be set together"
        )
    return CloudinaryConfig(
        cloud_name=settings.cloudinary_cloud_name,
        api_key=settings.cloudinary_api_key.get_secret_value(),
        api_secret=settings.cloudinary_api_secret.get_secret_value(),
        api_base=settings.cloudinary_api_base.rstrip("/"),
    )


def cloudinary_client(settings: ContentSettings) -> CloudinaryClient | None:
    config = cloudinary_config(settings)
    return CloudinaryClient(config) if config else None


def check_staged(storage: Storage, asset_id: int, run: str, staged: list[StagedRendition]) -> None:
    """Every staged file must be under the run prefix, named once, and really stored."""
    prefix = run_prefix(asset_id, run)
    names: set[str] = set()
    for item in staged:
        if item.name in names:
            raise PermanentError(f"two steps produced a rendition named {item.name!r}")
        names.add(item.name)
        if not item.storage_key.startswith(prefix):
            raise PermanentError(f"rendition {item.name!r} was written outside the run ({item.storage_key!r})")
        if not storage.exists(item.storage_key):
            raise PermanentError(f"rendition {item.name!r} is missing from storage ({item.storage_key!r})")


def deliver(
    client: CloudinaryClient,
    storage: Storage,
    settings: ContentSettings,
    asset_id: int,
    run: str,
    staged: list[StagedRendition],
) -> dict[str, Delivered]:
    """Upload every deliverable rendition to Cloudinary (overwriting: a retry is harmless)."""
    delivered: dict[str, Delivered] = {}
    targets = [(item, cloudinary_target(settings, asset_id, run, item)) for item in staged]
    todo = [(item, target) for item, target in targets if target is not None]
    for index, (item, (public_id, resource_type)) in enumerate(todo, start=1):
        # A spooled copy (memory up to a limit, then a temporary file) gives the HTTP client a
        # seekable body of known length, which a storage stream (S3's) does not.
        with storage.open(item.storage_key) as source, tempfile.SpooledTemporaryFile(SPOOL_BYTES) as body:
            shutil.copyfileobj(source, body, 1024 * 1024)
            body.seek(0)
            uploaded = client.upload(
                body, public_id=public_id, resource_type=resource_type, filename=item.storage_key.rsplit("/")[-1]
            )
        delivered[item.name] = Delivered(uploaded.secure_url, uploaded.public_id, uploaded.resource_type)
        report_progress(100 * index / len(todo), stage="delivering", done=index, total=len(todo), unit="files")
    return delivered


def publish(
    asset_id: int,
    run: str,
    staged: list[StagedRendition],
    details: dict[str, Any],
    delivered: dict[str, Delivered],
) -> list[dict[str, Any]]:
    """Replace the asset's renditions with the run's and mark it ready, in one transaction.

    Returns the Cloudinary copies of the renditions it replaced (to delete after the commit)."""
    with session_scope() as session:
        asset = load_asset(session, asset_id, lock=True)
        pipeline = dict((asset.details or {}).get("pipeline", {}))
        if asset.status != AssetStatus.PROCESSING or pipeline.get("run") != run:
            raise PermanentError(f"content asset {asset_id}: run {run} is no longer current; not published")
        replaced = [
            dict(row.details.get("cloudinary", {})) for row in asset.renditions if row.details.get("cloudinary")
        ]
        asset.renditions.clear()
        session.flush()  # the old rows go first: the new ones reuse their (asset_id, name) keys
        for item in staged:
            copy = delivered.get(item.name)
            row_details = dict(item.details)
            if copy:
                row_details["cloudinary"] = {"public_id": copy.public_id, "resource_type": copy.resource_type}
            asset.renditions.append(
                Rendition(
                    name=item.name,
                    kind=item.kind,
                    format=item.format,
                    storage_key=item.storage_key,
                    size_bytes=item.size_bytes,
                    width=item.width,
                    height=item.height,
                    duration_seconds=item.duration_seconds,
                    url=copy.url if copy else None,
                    details=row_details,
                )
            )
        pipeline["published_at"] = datetime.now(UTC).isoformat()
        asset.details = {**(asset.details or {}), **details, "pipeline": pipeline}
        asset.status = AssetStatus.READY
        asset.failure_reason = None
        if asset.published_at is None:  # a reprocessed post keeps its place in feeds
            asset.published_at = datetime.now(UTC)
    return replaced


def remove_superseded(
    storage: Storage, settings: ContentSettings, asset_id: int, run: str, replaced: list[dict[str, Any]]
) -> None:
    """After a publish: delete earlier runs' files and Cloudinary copies (best effort, logged)."""
    keep = run_prefix(asset_id, run)
    for item in list(storage.list(asset_prefix(asset_id))):
        if not item.key.startswith(keep):
            storage.delete(item.key)
    client = cloudinary_client(settings) if replaced else None
    if client is None:
        return
    with client:
        for copy in replaced:
            try:
                client.destroy(copy["public_id"], copy["resource_type"])
            except OdysseyError as exc:
                logger.warning("could not delete superseded Cloudinary copy %s: %s", copy.get("public_id"), exc)


def remove_run_outputs(
    storage: Storage, settings: ContentSettings, asset_id: int, run: str, staged: Iterable[StagedRendition]
) -> int:
    """Delete everything a failed run may have written; returns how many stored files went."""
    removed = storage.delete_prefix(run_prefix(asset_id, run))
    client = cloudinary_client(settings)
    if client is not None:
        with client:
            for item in staged:
                target = cloudinary_target(settings, asset_id, run, item)
                if target is None:
                    continue
                try:
                    client.destroy(*target)
                except OdysseyError as exc:
                    logger.error("could not delete Cloudinary copy %s of a failed run: %s", target[0], exc)
    return removed
