"""Broadcasts: every follower of a creator, in chunks, each chunk one fan-out job.

The follower list is read by keyset pages (``follower_id > last``), never loaded whole, and the
chunk jobs are written to Redis in pipelines as the pages come, so memory stays flat however
many followers there are. Each chunk renders once per locale and writes its rows in bulk
(``deliver.deliver_to``), then enqueues batched send jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select

from jobs.notifications.contracts import EventSpec, fanout_job_for
from jobs.notifications.deliver import deliver_to, spec_or_permanent
from jobs.notifications.settings import notifications_settings
from jobs.notifications.templating import TEMPLATED_CHANNELS, render
from odyssey_workers.db.models import Creator, Follow
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.queues import JobRequest, enqueue_many

PIPELINE_CHUNKS = 50  # chunk jobs buffered before one enqueue_many round trip


def follower_pages(creator_id: int, size: int) -> Iterator[list[int]]:
    last = 0
    while True:
        with session_scope() as session:
            query = (
                select(Follow.follower_id)
                .where(Follow.creator_id == creator_id, Follow.follower_id > last)
                .order_by(Follow.follower_id)
                .limit(size)
            )
            page = list(session.scalars(query))
        if not page:
            return
        yield page
        last = page[-1]


def check_templates(spec: EventSpec, data: Mapping[str, Any]) -> None:
    """Render every channel once in the default locale: a missing variable fails the broadcast
    here, once, instead of in every chunk."""
    locale = notifications_settings().notifications_default_locale
    for channel in spec.channels:
        if channel in TEMPLATED_CHANNELS:
            render(spec.name, channel, locale, data, default_locale=locale)


def enqueue_chunks(
    spec: EventSpec, pages: Iterable[Sequence[int]], data: Mapping[str, Any], key: str, source: str
) -> int:
    name = fanout_job_for(spec.priority)
    buffered: list[JobRequest] = []
    count = 0
    for page in pages:
        payload = {"event": spec.name, "key": key, "recipients": list(page), "data": dict(data), "source": source}
        buffered.append(JobRequest(name, payload))
        count += 1
        if len(buffered) >= PIPELINE_CHUNKS:
            enqueue_many(buffered)
            buffered = []
    if buffered:
        enqueue_many(buffered)
    return count


def start_broadcast(spec: EventSpec, creator_id: int, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    with session_scope() as session:
        if session.get(Creator, creator_id) is None:
            raise PermanentError(f"{spec.name}: no such creator {creator_id}")
    check_templates(spec, data)
    size = notifications_settings().notifications_chunk_size
    chunks = enqueue_chunks(spec, follower_pages(creator_id, size), data, key, f"followers_of:{creator_id}")
    return {"event": spec.name, "key": key, "followers_of": creator_id, "chunks": chunks}


def fanout(
    event: str, key: str, recipients: Sequence[int], data: Mapping[str, Any], source: str = ""
) -> dict[str, Any]:
    spec_or_permanent(event)
    return deliver_to(event, recipients, data, key, source=source)


fanout_high = fanout_default = fanout_low = fanout
