"""``notifications.notify``: the entry point other domains enqueue by name.

Small recipient lists are handled in this job; a broadcast (``followers_of``) or a long list is
split into fan-out chunks enqueued in pipelines. The dedupe key defaults to this job's id, so a
retried notify writes the same rows, not new ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rq import get_current_job

from jobs.notifications.broadcast import enqueue_chunks, start_broadcast
from jobs.notifications.deliver import deliver_to, spec_or_permanent
from jobs.notifications.settings import notifications_settings


def default_key() -> str:
    job = get_current_job()
    return f"job:{job.id}" if job is not None else f"call:{uuid.uuid4().hex}"


def notify(
    event: str,
    recipients: Sequence[int] = (),
    followers_of: int | None = None,
    data: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    spec = spec_or_permanent(event)
    key = key or default_key()
    data = dict(data or {})
    if followers_of is not None:
        return start_broadcast(spec, followers_of, data, key)
    size = notifications_settings().notifications_chunk_size
    if len(recipients) <= size:
        return deliver_to(event, recipients, data, key, source="direct")
    ids = sorted(set(recipients))
    chunks = enqueue_chunks(spec, ([ids[i : i + size] for i in range(0, len(ids), size)]), data, key, "direct")
    return {"event": event, "key": key, "recipients": len(ids), "chunks": chunks}
