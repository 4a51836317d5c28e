"""Content fixtures: a creator and an asset made from bytes, stored like an upload would be.

Used by the image and the video/audio tests alike; keep it to what both need.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from odyssey_workers.db.models.core import ContentAsset, Creator, User
from odyssey_workers.db.session import session_scope
from odyssey_workers.storage import get_storage


def create_creator(settings: dict[str, Any] | None = None) -> int:
    """A user and their creator profile; returns the creator id."""
    handle = f"creator-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        user = User(email=f"{handle}@example.test", display_name=handle)
        creator = Creator(user=user, handle=handle, settings=settings or {})
        session.add(creator)
        session.flush()
        return creator.id


def create_asset(data: bytes, creator_id: int | None = None, filename: str = "upload.bin") -> int:
    """Store ``data`` as an upload's original and add its ContentAsset row (status uploaded)."""
    creator_id = creator_id or create_creator()
    key = f"uploads/{creator_id}/{uuid.uuid4().hex}"
    get_storage().put(key, data)
    with session_scope() as session:
        asset = ContentAsset(
            creator_id=creator_id, source_key=key, original_filename=filename, size_bytes=len(data), details={}
        )
        session.add(asset)
        session.flush()
        return asset.id


@pytest.fixture
def make_asset(database_url: str) -> Callable[..., int]:
    """``make_asset(data, creator_id=None, filename=...)`` -> asset id, in the test's database."""
    return create_asset


@pytest.fixture
def make_creator(database_url: str) -> Callable[..., int]:
    """``make_creator(settings=None)`` -> creator id, in the test's database."""
    return create_creator


def asset_state(asset_id: int) -> dict[str, Any]:
    """The asset's status, reason, details and renditions, read fresh from the database."""
    from odyssey_workers.db.models.core import Rendition

    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None
        rows = session.query(Rendition).filter(Rendition.asset_id == asset_id).order_by(Rendition.name).all()
        return {
            "status": asset.status.value,
            "kind": asset.kind.value,
            "mime": asset.mime_type,
            "source_key": asset.source_key,
            "reason": asset.failure_reason,
            "details": dict(asset.details or {}),
            "renditions": [{c.name: getattr(row, c.name) for c in Rendition.__table__.columns} for row in rows],
        }


def process_with_worker(env: dict[str, str], asset_id: int, timeout: float = 90) -> dict[str, Any]:
    """Enqueue ``content.process_upload`` and let a real worker subprocess (burst mode: it
    quits when the queues are empty) run the whole chain; returns ``asset_state`` plus the
    ``job_ids`` of process_upload and of every step of the chain, and the ``worker_log``."""
    from odyssey_workers.queues import enqueue
    from tests.support.workers import start_worker, wait_until

    job = enqueue("content.process_upload", asset_id=asset_id)
    log = Path(env["VAR_DIR"]) / "worker.log"
    log.unlink(missing_ok=True)
    worker = start_worker(env, burst=True, log=log)
    try:
        wait_until(lambda: worker.poll() is not None, timeout=timeout, interval=0.2)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    state = asset_state(asset_id)
    state["job_ids"] = [job.id, *state["details"].get("pipeline", {}).get("jobs", {}).values()]
    state["worker_log"] = (Path(env["VAR_DIR"]) / "worker.log").read_text()
    return state
