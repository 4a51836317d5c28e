"""The catalog's numbers are the platform's table (DESIGN.md, Contracts): priorities and limits.

Priorities: live 10, video 7, image 5, thumbnails 3 (jobs); live alerts 10, payment success 8,
content upload 5, weekly digest 2 (notification events, and the jobs that carry them).
Concurrency across all workers: video 2, image 5, thumbnails 10.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from jobs.notifications.contracts import event_spec, send_job_for
from odyssey_workers.catalog import get_catalog, queue_for_priority

JOB_PRIORITIES = {
    "content.live_ingest": 10,  # live
    "content.transcode_video": 7,  # video
    "content.package_hls": 7,
    "content.probe_video": 7,
    "content.live_clip": 7,
    "content.optimize_image": 5,  # image
    "content.smart_crop": 5,
    "content.make_thumbnails": 3,  # thumbnails
    "content.process_upload": 5,  # content upload
    "notifications.weekly_digest": 2,  # weekly digest
}

EVENT_PRIORITIES = {"live_alert": 10, "payment_success": 8, "content_upload": 5, "weekly_digest": 2}

CONCURRENCY = {"video": 2, "image": 5, "thumbnails": 10}
"""Concurrency key → slots across all workers."""

CONCURRENCY_MEMBERS = {
    "video": {"content.transcode_video", "content.package_hls", "content.live_clip"},
    "image": {"content.optimize_image", "content.smart_crop"},
    "thumbnails": {"content.make_thumbnails"},
}


@pytest.mark.parametrize(("name", "priority"), JOB_PRIORITIES.items())
def test_job_priority_is_the_platforms_number_and_picks_its_queue(name: str, priority: int) -> None:
    spec = get_catalog().get(name)
    assert spec.priority == priority
    assert spec.queue == queue_for_priority(priority)


@pytest.mark.parametrize(("event", "priority"), EVENT_PRIORITIES.items())
def test_notification_event_priority_is_the_platforms_number_and_picks_its_send_band(event: str, priority: int) -> None:
    spec = event_spec(event)
    assert spec.priority == priority
    assert get_catalog().get(send_job_for(priority)).queue == queue_for_priority(priority)


def test_the_priority_bands_map_onto_the_three_queues() -> None:
    assert [queue_for_priority(p) for p in range(1, 11)] == ["low"] * 3 + ["default"] * 4 + ["high"] * 3


@pytest.mark.parametrize(("key", "slots"), CONCURRENCY.items())
def test_concurrency_per_job_type_is_the_platforms_number(key: str, slots: int) -> None:
    members = {spec.name: spec.concurrency for spec in get_catalog() if spec.concurrency_key == key}
    assert set(members) == CONCURRENCY_MEMBERS[key]
    assert set(members.values()) == {slots}


def test_jobs_sharing_a_concurrency_key_declare_the_same_limit() -> None:
    limits: dict[str, set[int | None]] = defaultdict(set)
    for spec in get_catalog():
        limits[spec.concurrency_key].add(spec.concurrency)
    assert {key: values for key, values in limits.items() if len(values) > 1} == {}
