"""A post's lifecycle reaching the social domain: published by the content pipeline, checked,
removed; real worker, Redis, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rq.job import JobStatus

from jobs.content.pipeline import finalize_asset
from jobs.social.lifecycle import content_published, content_removed
from odyssey_workers.db.models.core import AssetStatus, ContentAsset
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.queues import fetch_job
from tests.content.conftest import process_with_worker
from tests.content.image_samples import jpeg_bytes, photo


def _set(asset_id: int, **values: object) -> None:
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None
        for name, value in values.items():
            setattr(asset, name, value)


def test_a_published_upload_is_announced_to_social_once(env, redis_conn, make_asset):
    asset_id = make_asset(jpeg_bytes(photo(64, 48)), filename="still.jpg")

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None and asset.published_at is not None
        first_published = asset.published_at
    run = state["details"]["pipeline"]["run"]
    announce = fetch_job(f"content-{asset_id}-{run}-announce-social-content_published", redis_conn)
    assert announce.get_status() == JobStatus.FINISHED
    assert announce.return_value()["content_id"] == asset_id
    # finalize again (a retry after its commit): the announcement is found, not sent twice
    assert finalize_asset(asset_id)["announced"] == []
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None and asset.published_at == first_published


def test_content_published_refuses_what_is_not_a_published_post(env, redis_conn, make_asset):
    with pytest.raises(PermanentError, match="content 999999 does not exist"):
        content_published(999999)
    asset_id = make_asset(b"not yet processed")
    with pytest.raises(PermanentError, match=f"content {asset_id} is not published \\(status uploaded\\)"):
        content_published(asset_id)
    _set(asset_id, status=AssetStatus.READY, published_at=datetime.now(UTC))
    assert content_published(asset_id)["content_id"] == asset_id
    _set(asset_id, removed_at=datetime.now(UTC), removal_reason="takedown")
    with pytest.raises(PermanentError, match=f"content {asset_id} was removed \\(takedown\\)"):
        content_published(asset_id)


def test_content_removed_marks_the_post_once_and_accepts_a_deleted_row(env, redis_conn, make_asset):
    asset_id = make_asset(b"a post")
    _set(asset_id, status=AssetStatus.READY, published_at=datetime.now(UTC))

    first = content_removed(asset_id, "takedown")
    again = content_removed(asset_id, "deleted")

    assert first["row"] and again["row"]
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None and asset.removal_reason == "takedown"  # the first reason stays
    gone = content_removed(987654)
    assert gone == {"content_id": 987654, "reason": "deleted", "row": False, "enqueued": []}
