"""Catalog declarations are checked when they are made, not when a job runs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from odyssey_workers.catalog import Catalog, Payload, get_catalog, queue_for_priority
from odyssey_workers.errors import CatalogError, UnknownJobError
from odyssey_workers.retry import RetryPolicy


class AssetPayload(Payload):
    asset_id: int


def declare_ok(catalog: Catalog, name: str = "content.example", **overrides: object) -> None:
    options: dict[str, object] = {
        "function": f"jobs.example.{name.replace('.', '_')}",
        "payload": AssetPayload,
        "priority": 5,
        "description": "an example job",
    }
    options.update(overrides)
    catalog.declare(name, **options)


def test_platform_priorities_map_onto_the_three_queues() -> None:
    assert [queue_for_priority(p) for p in (10, 8, 7, 5, 4, 3, 2, 1)] == [
        "high",
        "high",
        "default",
        "default",
        "default",
        "low",
        "low",
        "low",
    ]


def test_priority_outside_one_to_ten_is_refused_at_declaration() -> None:
    with pytest.raises(CatalogError, match=r"priority 11 is outside 1\.\.10"):
        declare_ok(Catalog(), priority=11)


def test_duplicate_job_name_is_an_error_at_declaration() -> None:
    catalog = Catalog()
    declare_ok(catalog)
    with pytest.raises(CatalogError, match="declared twice"):
        declare_ok(catalog, function="jobs.example.other")


def test_unknown_queue_is_an_error_at_declaration() -> None:
    with pytest.raises(CatalogError, match="unknown queue 'urgent'"):
        declare_ok(Catalog(), priority=None, queue="urgent")


def test_unknown_option_is_an_error_at_declaration() -> None:
    with pytest.raises(CatalogError, match=r"unknown option.*retries"):
        declare_ok(Catalog(), retries=5)


def test_queue_that_contradicts_priority_is_refused() -> None:
    with pytest.raises(CatalogError, match="priority 9 belongs on 'high', not 'low'"):
        declare_ok(Catalog(), priority=9, queue="low")


def test_payload_must_be_a_payload_model_and_description_is_required() -> None:
    with pytest.raises(CatalogError, match="payload must be a Payload model"):
        declare_ok(Catalog(), payload=dict)
    with pytest.raises(CatalogError, match="description is required"):
        declare_ok(Catalog(), description="")


def test_unknown_name_lookup_suggests_the_closest_names() -> None:
    with pytest.raises(UnknownJobError, match=r"unknown job 'system.pnig'; did you mean system.ping"):
        get_catalog().get("system.pnig")


def test_declared_job_carries_queue_retry_and_concurrency() -> None:
    catalog = Catalog()
    declare_ok(catalog, priority=7, concurrency=2, retry=RetryPolicy(attempts=5))
    spec = catalog.get("content.example")
    assert (spec.queue, spec.concurrency, spec.concurrency_key, spec.retry.attempts) == ("default", 2, spec.name, 5)


def test_loading_the_catalog_imports_no_job_code_and_no_media_libraries() -> None:
    # A producer that only enqueues must not pay for Pillow, ffmpeg or any job module. It does
    # load each domain's package (a docstring) and its contracts, where the declarations live.
    code = (
        "import sys; from odyssey_workers.catalog import get_catalog; get_catalog(); "
        "import odyssey_workers.queues; "
        "declarations = lambda m: m.count('.') == 1 or m.endswith('contracts'); "
        "bad = sorted(m for m in sys.modules if m.startswith(('jobs.', 'PIL', 'ffmpeg')) and not declarations(m));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_callback_declaration_refuses_a_bad_path_a_duplicate_and_a_job_function() -> None:
    catalog = Catalog()
    declare_ok(catalog)
    assert catalog.declare_callback("jobs.example.on_failed") == "jobs.example.on_failed"
    assert catalog.is_callback("jobs.example.on_failed")
    with pytest.raises(CatalogError, match="callback 'on failed': must be a dotted import path"):
        catalog.declare_callback("on failed")
    with pytest.raises(CatalogError, match=re.escape("callback 'jobs.example.on_failed' is declared twice")):
        catalog.declare_callback("jobs.example.on_failed")
    with pytest.raises(CatalogError, match=re.escape("is already the function of job 'content.example'")):
        catalog.declare_callback("jobs.example.content_example")
    with pytest.raises(CatalogError, match=re.escape("function jobs.example.on_failed is already a declared callback")):
        declare_ok(catalog, "content.other", function="jobs.example.on_failed")


def test_content_pipeline_failure_callback_is_declared() -> None:
    from jobs.content.contracts import PIPELINE_FAILURE_CALLBACK

    assert get_catalog().is_callback(PIPELINE_FAILURE_CALLBACK)
