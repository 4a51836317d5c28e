"""The social domain's contracts: the post lifecycle jobs other services enqueue by name.

Light, as every contracts module: pydantic and the catalog only.
"""

from __future__ import annotations

from typing import Literal

from odyssey_workers.catalog import Id, Payload, declare

RemovalReason = Literal["deleted", "takedown"]


class PostPayload(Payload):
    asset_id: Id


class ContentPayload(Payload):
    content_id: Id


class RemovedPayload(Payload):
    content_id: Id
    reason: RemovalReason = "deleted"


declare(
    "social.content_published",
    function="jobs.social.lifecycle.content_published",
    payload=PostPayload,
    queue="default",
    timeout=120,
    description="Checks a newly published post and enqueues the social jobs for it (feeds, search, ...).",
)
declare(
    "social.content_updated",
    function="jobs.social.lifecycle.content_updated",
    payload=ContentPayload,
    queue="default",
    timeout=120,
    description="Checks an edited post (title, description, tags, category) and enqueues the social jobs for it.",
)
declare(
    "social.content_removed",
    function="jobs.social.lifecycle.content_removed",
    payload=RemovedPayload,
    queue="high",
    timeout=120,
    description="Marks a deleted or taken-down post removed and enqueues its removal from feeds, search and lists.",
)
