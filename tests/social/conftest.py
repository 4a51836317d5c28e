"""Social fixtures: creators, fans, follows and published posts, written as the platform would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from odyssey_workers.db.models.core import AssetKind, AssetStatus, ContentAsset, Follow, User
from odyssey_workers.db.session import session_scope
from tests.content.conftest import create_creator, make_asset, make_creator  # noqa: F401 - shared fixtures


def create_fan(name: str | None = None) -> int:
    """A user who is no creator; returns the user id."""
    name = name or f"fan-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        user = User(email=f"{name}@example.test", display_name=name)
        session.add(user)
        session.flush()
        return user.id


def create_post(creator_id: int | None = None, published_at: datetime | None = None, **fields: Any) -> int:
    """A published post (status ready, ``published_at`` set) with the given title, tags, ...;
    returns its content id. Its original is not stored: the social domain never reads it."""
    creator_id = creator_id or create_creator()
    with session_scope() as session:
        asset = ContentAsset(
            creator_id=creator_id,
            kind=AssetKind.VIDEO,
            status=AssetStatus.READY,
            source_key=f"uploads/{creator_id}/{uuid.uuid4().hex}",
            details={},
            published_at=published_at or datetime.now(UTC),
            **fields,
        )
        session.add(asset)
        session.flush()
        return asset.id


def create_follows(creator_id: int, follower_ids: list[int]) -> None:
    with session_scope() as session:
        session.add_all(Follow(follower_id=fan, creator_id=creator_id) for fan in follower_ids)


@pytest.fixture
def make_post(database_url: str) -> Callable[..., int]:
    """``make_post(creator_id=None, published_at=None, title=..., tags=[...], category=...)``."""
    return create_post


@pytest.fixture
def make_fan(database_url: str) -> Callable[..., int]:
    return create_fan
