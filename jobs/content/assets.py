"""The asset side of every content step: loading it, its run, and the step-result protocol.

A *run* is one pass of the pipeline over an asset (``details["pipeline"]["run"]``). Every step
writes its files under the run's prefix, ``renditions/<asset_id>/<run>/``, and returns a
*step result* — ``{"renditions": [...], "details": {...}}`` — as its RQ result instead of
writing Rendition rows. ``content.finalize_asset`` reads the results of the whole chain and
publishes them in one transaction, so readers see either no rendition set or all of it; a
step that fails for good makes the pipeline delete the run prefix. Video and audio steps follow
the same protocol (``staged_rendition`` + ``step_result`` + ``check_run_still_live``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from odyssey_workers.db.models.core import AssetStatus, ContentAsset
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.storage import Storage

logger = logging.getLogger(__name__)

RENDITIONS_ROOT = "renditions"
"""Every output of every run lives under this storage prefix (originals never do)."""


@dataclass(frozen=True)
class StagedRendition:
    """One output file a step wrote, not yet published as a Rendition row."""

    name: str  # unique per asset, the Rendition idempotency key: "image.640.webp", "hls.720p"
    kind: str  # image, animation, video, hls, poster, sprite, waveform, audio, crop, ...
    format: str  # jpeg, webp, avif, mp4, m3u8, vtt, json, ...
    storage_key: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    content_type: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StagedRendition:
        return cls(**data)


def staged_rendition(**fields: Any) -> dict[str, Any]:
    """A rendition entry for a step result (validated by building the dataclass)."""
    return StagedRendition(**fields).to_json()


def step_result(
    renditions: Iterable[StagedRendition | dict[str, Any]], details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a pipeline step returns: the files it wrote and facts for ``asset.details``."""
    items = [item.to_json() if isinstance(item, StagedRendition) else dict(item) for item in renditions]
    return {"renditions": items, "details": dict(details or {})}


def load_asset(session: Session, asset_id: int, *, lock: bool = False) -> ContentAsset:
    """The asset row, or a PermanentError: a job for a deleted asset can never succeed."""
    query = session.query(ContentAsset).filter(ContentAsset.id == asset_id)
    if lock:
        query = query.with_for_update()
    asset = query.one_or_none()
    if asset is None:
        raise PermanentError(f"content asset {asset_id} does not exist")
    return asset


def run_of(asset: ContentAsset) -> str:
    """The asset's current run id; a step outside a pipeline run is refused."""
    run = (asset.details or {}).get("pipeline", {}).get("run")
    if not run:
        raise PermanentError(
            f"content asset {asset.id} is not being processed (no pipeline run); enqueue process_upload"
        )
    return str(run)


def run_prefix(asset_id: int, run: str) -> str:
    """Where a run's outputs go: ``renditions/<asset_id>/<run>/``."""
    return f"{RENDITIONS_ROOT}/{asset_id}/{run}/"


def asset_prefix(asset_id: int) -> str:
    return f"{RENDITIONS_ROOT}/{asset_id}/"


def start_step(asset_id: int) -> tuple[ContentAsset, str]:
    """Load the asset for a step: it must be processing, and the step works for its current run."""
    with session_scope() as session:
        asset = load_asset(session, asset_id)
        run = run_of(asset)
        if asset.status != AssetStatus.PROCESSING:
            raise PermanentError(f"content asset {asset_id} is {asset.status.value}, not processing")
        session.expunge(asset)
    return asset, run


def check_run_still_live(asset_id: int, run: str, storage: Storage, written: Iterable[str]) -> None:
    """Call after a step wrote its files: if the run failed or was replaced meanwhile (a sibling
    step failed and cleaned up while this one ran), remove what this step wrote and stop.

    Checking *after* the writes closes the race with the cleanup: either the cleanup starts
    after this check and deletes these files with the run prefix, or this check sees the
    failure and deletes them itself.
    """
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        live = (
            asset is not None
            and asset.status == AssetStatus.PROCESSING
            and (asset.details or {}).get("pipeline", {}).get("run") == run
        )
        reason = asset.failure_reason if asset is not None else "the asset was deleted"
    if not live:
        for key in written:
            storage.delete(key)
        raise PermanentError(f"content asset {asset_id}: run {run} was abandoned ({reason or 'replaced'})")
