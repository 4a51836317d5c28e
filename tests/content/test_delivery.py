"""Delivery: renditions in local storage or S3 (moto on loopback), copies on Cloudinary (a
loopback server speaking its Upload API), and nothing left behind when a step fails mid-way."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from jobs.content.reasons import unexpected
from odyssey_workers.providers.cloudinary import CloudinaryClient, CloudinaryConfig, CloudinaryRejected, signature
from odyssey_workers.queues import fetch_job
from odyssey_workers.storage import get_storage
from tests.conftest import reset_runtime_caches
from tests.content.cloudinary_server import CloudinaryServer
from tests.content.conftest import process_with_worker
from tests.content.image_samples import jpeg_bytes, photo
from tests.support.servers import free_port

S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "odyssey-test", "AWS_SECRET_ACCESS_KEY": "odyssey-test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage_kind(request, env, monkeypatch) -> str:
    """The configured storage: the default local folder, then a fresh bucket on loopback S3."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"odyssey-{uuid.uuid4().hex[:12]}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_lower(S3_CREDENTIALS))
        client.create_bucket(Bucket=bucket)
        values = {"STORAGE_URL": f"s3://{bucket}/media", "S3_ENDPOINT_URL": endpoint, **S3_CREDENTIALS}
        for key, value in values.items():
            monkeypatch.setenv(key, value)
            env[key] = value
        reset_runtime_caches()
    return request.param


def _lower(credentials: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in credentials.items()}


@pytest.fixture
def cloudinary(env, monkeypatch) -> Iterator[CloudinaryServer]:
    server = CloudinaryServer().start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
        env[key] = value
    reset_runtime_caches()
    yield server
    server.stop()


def stored_outputs(asset_id: int) -> list[str]:
    return [item.key for item in get_storage().list(f"renditions/{asset_id}/")]


def test_signature_matches_cloudinarys_documented_example():
    params = {"eager": "w_400,h_300,c_pad|w_260,h_200,c_crop", "public_id": "sample_image", "timestamp": 1315060510}
    assert signature({**params, "api_key": "1234", "file": "x", "resource_type": "image"}, "abcd") == (
        "bfd09f95f331f558cbd1320e67aa8d488770583e"
    )


def test_client_uploads_and_destroys_against_a_server_that_checks_signatures():
    server = CloudinaryServer().start()
    try:
        config = CloudinaryConfig(server.cloud_name, server.api_key, server.api_secret, server.base)
        with CloudinaryClient(config) as client:
            uploaded = client.upload(b"jpeg-bytes", public_id="odyssey/1/x/image_320_jpeg")
            assert uploaded.secure_url.startswith("https://res.cloudinary.com/odyssey-test/image/upload/")
            assert server.resources[("image", "odyssey/1/x/image_320_jpeg")] == b"jpeg-bytes"
            assert client.destroy("odyssey/1/x/image_320_jpeg") is True
            assert client.destroy("odyssey/1/x/image_320_jpeg") is False
        wrong = CloudinaryConfig(server.cloud_name, server.api_key, "not-the-secret", server.base)
        with CloudinaryClient(wrong) as client, pytest.raises(CloudinaryRejected, match="Invalid Signature"):
            client.upload(b"x", public_id="nope")
        assert server.resources == {}
    finally:
        server.stop()


def test_image_pipeline_publishes_to_the_configured_storage(storage_kind, env, redis_conn, make_asset):
    original = jpeg_bytes(photo(700, 500))
    asset_id = make_asset(original)

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    keys = stored_outputs(asset_id)
    assert sorted(keys) == sorted(row["storage_key"] for row in state["renditions"])
    assert len(keys) == 9  # 700, 640, 320 wide x JPEG, WebP, AVIF
    assert all(row["url"] is None for row in state["renditions"])  # no Cloudinary configured
    assert get_storage().read_bytes(state["source_key"]) == original  # the original is never changed


def test_renditions_are_copied_to_cloudinary_and_their_urls_stored(cloudinary, env, redis_conn, make_asset):
    asset_id = make_asset(jpeg_bytes(photo(700, 500)))

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    storage = get_storage()
    assert len(cloudinary.resources) == len(state["renditions"]) == 9
    for row in state["renditions"]:
        copy = row["details"]["cloudinary"]
        assert cloudinary.resources[(copy["resource_type"], copy["public_id"])] == storage.read_bytes(
            row["storage_key"]
        )
        assert row["url"].startswith("https://res.cloudinary.com/odyssey-test/image/upload/")
        assert copy["public_id"] in row["url"]


def test_delivery_failing_part_way_removes_every_output_everywhere(
    storage_kind, cloudinary, env, redis_conn, make_asset
):
    cloudinary.refuse_uploads_after = 4  # the fifth upload is refused (HTTP 400)
    asset_id = make_asset(jpeg_bytes(photo(700, 500)))

    state = process_with_worker(env, asset_id)

    assert state["status"] == "failed"
    assert "Invalid image file" in state["reason"], state["reason"]
    assert state["renditions"] == []
    assert stored_outputs(asset_id) == []
    assert cloudinary.uploads == 4
    assert cloudinary.resources == {}, "the four copies that did upload were deleted again"


def test_image_step_failing_mid_way_leaves_no_partial_rendition_set(env, redis_conn, make_asset):
    # The third format's encoder fails (a drill loaded into the worker): JPEG and WebP of the
    # widest variant are written first. (An unknown format no longer gets this far: the
    # settings refuse it at start.)
    env["ODYSSEY_EXTRA_CONTRACTS"] += ",tests.content.avif_encoder_fails"
    asset_id = make_asset(jpeg_bytes(photo(700, 500)))

    state = process_with_worker(env, asset_id)

    assert state["status"] == "failed", state["worker_log"]
    # Our problem, not the creator's: they are told so, the operator sees the error in the job.
    assert state["reason"] == unexpected("content.optimize_image")
    optimize = fetch_job(state["details"]["pipeline"]["jobs"]["content.optimize_image"], redis_conn)
    assert "drill: the AVIF encoder failed" in (optimize.latest_result().exc_string or "")
    assert state["renditions"] == []
    assert stored_outputs(asset_id) == []


@pytest.mark.timeout(180)
def test_outage_is_retried_and_fails_the_asset_only_after_the_last_attempt(cloudinary, env, redis_conn, make_asset):
    from rq.job import JobStatus

    from odyssey_workers.queues import enqueue
    from tests.content.conftest import asset_state
    from tests.support.workers import start_worker, stop_worker, wait_until

    cloudinary.unavailable = True
    asset_id = make_asset(jpeg_bytes(photo(300, 200)))
    enqueue("content.process_upload", asset_id=asset_id)
    worker = start_worker(env)  # not burst: the retries are scheduled seconds apart
    try:
        wait_until(lambda: asset_state(asset_id)["status"] == "failed", timeout=150, interval=0.5)
    finally:
        stop_worker(worker)

    state = asset_state(asset_id)
    assert state["reason"] == unexpected("content.finalize_asset")
    finalize = fetch_job(state["details"]["pipeline"]["jobs"]["content.finalize_asset"], redis_conn)
    assert "Cloudinary answered HTTP 500" in (finalize.latest_result().exc_string or "")
    assert finalize.get_status() == JobStatus.FAILED and finalize.retries_left == 0
    uploads = [fields for action, fields in cloudinary.requests if action == "upload"]
    assert len(uploads) == 3  # one per attempt: the asset failed only after the third
    assert state["renditions"] == [] and stored_outputs(asset_id) == []
