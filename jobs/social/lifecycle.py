"""A post's lifecycle as the social domain sees it: published, updated, removed.

Each job checks the post in ``content_assets`` and then enqueues, by catalog name with
``content_id``, every job its tuple below lists: one place that says what each moment triggers.
A post is *published* when its ``published_at`` is set, its status is ``ready`` and it has no
``removed_at``; anything else is refused with a ``PermanentError`` naming what is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from odyssey_workers.db.models.core import AssetStatus, ContentAsset
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.queues import JobRequest, enqueue_many

ON_PUBLISHED: tuple[str, ...] = ()
"""Jobs enqueued with ``content_id`` once a post is published."""

ON_UPDATED: tuple[str, ...] = ()
"""Jobs enqueued with ``content_id`` once a published post's text or category changed."""

ON_REMOVED: tuple[str, ...] = ()
"""Jobs enqueued with ``content_id`` and ``creator_id`` (when known) once a post is removed."""


def published_post(asset_id: int) -> ContentAsset:
    """The published post ``asset_id`` (detached), or a PermanentError saying why it is not one."""
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        if asset is None:
            raise PermanentError(f"content {asset_id} does not exist")
        if asset.removed_at is not None:
            raise PermanentError(f"content {asset_id} was removed ({asset.removal_reason or 'no reason given'})")
        if asset.status != AssetStatus.READY or asset.published_at is None:
            raise PermanentError(f"content {asset_id} is not published (status {asset.status.value})")
        session.expunge(asset)
        return asset


def _enqueue(names: tuple[str, ...], **payload: Any) -> list[str]:
    enqueue_many([JobRequest(name, payload) for name in names])
    return list(names)


def content_published(asset_id: int) -> dict[str, Any]:
    post = published_post(asset_id)
    return {
        "content_id": post.id,
        "creator_id": post.creator_id,
        "enqueued": _enqueue(ON_PUBLISHED, content_id=post.id),
    }


def content_updated(content_id: int) -> dict[str, Any]:
    post = published_post(content_id)
    return {"content_id": post.id, "enqueued": _enqueue(ON_UPDATED, content_id=post.id)}


def content_removed(content_id: int, reason: str = "deleted") -> dict[str, Any]:
    """Mark the post removed (when its row still exists) and enqueue its removal everywhere.

    A deleted row is not an error: the platform may delete it before this job runs, and what the
    social domain derived from it must go all the same."""
    creator_id: int | None = None
    with session_scope() as session:
        asset = session.get(ContentAsset, content_id, with_for_update=True)
        if asset is not None:
            creator_id = asset.creator_id
            if asset.removed_at is None:
                asset.removed_at = datetime.now(UTC)
                asset.removal_reason = reason
    payload: dict[str, Any] = {"content_id": content_id}
    if creator_id is not None:
        payload["creator_id"] = creator_id
    return {
        "content_id": content_id,
        "reason": reason,
        "row": asset is not None,
        "enqueued": _enqueue(ON_REMOVED, **payload),
    }
