"""A pre-publish step for the tests of the moderation hook (``CONTENT_PRE_PUBLISH_STEPS``).

It stands in for a moderation job only in tests: it approves an asset, or rejects one whose
original file name contains "reject", the way a real scan would refuse a picture.
Loaded through ``ODYSSEY_EXTRA_CONTRACTS`` so worker subprocesses know it.
"""

from __future__ import annotations

from typing import Any

from odyssey_workers.catalog import Id, Payload, declare
from odyssey_workers.retry import NO_RETRY, RetryPolicy


class ReviewPayload(Payload):
    asset_id: Id


declare(
    "testing.review_asset",
    function="tests.content.prepublish_jobs.review_asset",
    payload=ReviewPayload,
    priority=5,
    timeout=60,
    retry=NO_RETRY,
    description="Test pre-publish step: approves an asset or rejects it by its file name.",
)


declare(
    "testing.crash_horse",
    function="tests.content.prepublish_jobs.crash_horse",
    payload=ReviewPayload,
    priority=5,
    timeout=60,
    retry=NO_RETRY,
    description="Test pre-publish step: its work horse dies at once (SIGKILL), as in an out-of-memory kill.",
)


declare(
    "testing.crash_horse_every_attempt",
    function="tests.content.prepublish_jobs.crash_horse_every_attempt",
    payload=ReviewPayload,
    priority=5,
    timeout=60,
    retry=RetryPolicy(attempts=2, base_seconds=0),
    description="Test pre-publish step: two attempts, each noting the asset's status, then its horse dies.",
)

ATTEMPTS_KEY = "testing:crash-horse-attempts:{asset_id}"
"""A Redis list of the asset's status at the start of each attempt of crash_horse_every_attempt."""


def crash_horse_every_attempt(asset_id: int) -> None:
    import os
    import signal

    from rq import get_current_job

    from odyssey_workers.db.models.core import ContentAsset
    from odyssey_workers.db.session import session_scope

    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None
        status = asset.status.value
    job = get_current_job()
    assert job is not None
    job.connection.rpush(ATTEMPTS_KEY.format(asset_id=asset_id), status)
    os.kill(os.getpid(), signal.SIGKILL)


def crash_horse(asset_id: int) -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def review_asset(asset_id: int) -> dict[str, Any]:
    from odyssey_workers.db.models.core import ContentAsset
    from odyssey_workers.db.session import session_scope
    from odyssey_workers.errors import PermanentError

    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        assert asset is not None
        name = asset.original_filename or ""
        processing = asset.status.value
    if "reject" in name:
        raise PermanentError(f"rejected by review: {name} is not allowed")
    return {"renditions": [], "details": {"review": "approved", "reviewed_while": processing}}
