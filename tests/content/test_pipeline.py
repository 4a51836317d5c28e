"""The upload pipeline end to end: real worker processes, real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import io

from PIL import Image

from odyssey_workers.storage import get_storage
from tests.content.conftest import process_with_worker
from tests.content.image_samples import jpeg_bytes, photo


def test_image_upload_becomes_ready_with_every_width_and_format(env, redis_conn, make_asset):
    asset_id = make_asset(jpeg_bytes(photo(1000, 700)), filename="holiday.png")  # the name lies

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    assert (state["kind"], state["mime"]) == ("image", "image/jpeg")
    names = {row["name"] for row in state["renditions"]}
    expected = {f"image.{w}.{fmt}" for w in (320, 640, 1000) for fmt in ("jpeg", "webp", "avif")}
    assert names == expected
    storage = get_storage()
    for row in state["renditions"]:
        with Image.open(io.BytesIO(storage.read_bytes(row["storage_key"]))) as image:
            assert image.format == {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}[row["format"]]
            assert image.size == (row["width"], row["height"])
            assert row["width"] in (320, 640, 1000)
            assert abs(row["height"] - row["width"] * 0.7) <= 1
    details = state["details"]
    assert len(details["blurhash"]) == 28
    assert details["dominant_color"].startswith("#")
    assert (details["width"], details["height"]) == (1000, 700)
