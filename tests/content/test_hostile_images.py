"""Hostile and broken image uploads: each fails with a clear reason, once, leaving nothing.

Every upload goes through real worker subprocesses. For each: the asset ends ``failed`` with a
reason naming the problem; the job that refused it raised a ``PermanentError`` and ran exactly
once (no retry); no Rendition row and no stored output remain. Bombs are refused from the
header: a separate check proves no decoder ran and memory stayed flat.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from rq.job import JobStatus

from jobs.content.imaging import ImageCaps
from jobs.content.settings import content_settings
from odyssey_workers.errors import PermanentError
from odyssey_workers.media.safe_image import open_checked
from odyssey_workers.queues import fetch_job
from odyssey_workers.storage import get_storage
from tests.content import image_samples as samples
from tests.content.conftest import process_with_worker
from tests.content.test_hostile_media import assert_creator_sentence

HOSTILE = {
    "zero_bytes": (lambda: b"", "photo.jpg", "empty (0 bytes)"),
    "truncated_jpeg": (samples.truncated_jpeg, "photo.jpg", "truncated"),
    "png_bomb": (samples.png_bomb, "photo.png", "100000x100000"),
    "gif_huge_screen": (samples.gif_huge_screen, "anim.gif", "65535x65535"),
    "gif_giant_later_frame": (samples.gif_giant_later_frame, "anim.gif", "60000x60000"),
    "html_renamed_jpg": (lambda: samples.HTML_AS_JPG, "photo.jpg", "HTML page"),
    "svg_renamed_jpg": (lambda: samples.SVG_AS_JPG, "photo.jpg", "SVG document"),
    "jpeg_zip_polyglot": (samples.jpeg_zip_polyglot, "photo.jpg", "ZIP archive"),
}


def failed_jobs(redis_conn, job_ids):
    jobs = [fetch_job(job_id, redis_conn) for job_id in job_ids if job_id]
    return [job for job in jobs if job.get_status() == JobStatus.FAILED]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_image_fails_once_with_a_clear_reason_and_leaves_nothing(case, env, redis_conn, make_asset):
    make, filename, expected = HOSTILE[case]
    asset_id = make_asset(make(), filename=filename)

    state = process_with_worker(env, asset_id)

    assert state["status"] == "failed"
    assert expected in state["reason"], state["reason"]
    assert_creator_sentence(state["reason"])
    assert state["renditions"] == []
    assert list(get_storage().list(f"renditions/{asset_id}/")) == []
    failed = failed_jobs(redis_conn, state["job_ids"])
    assert len(failed) == 1, [job.id for job in failed]
    refused = failed[0]
    assert "PermanentError" in (refused.latest_result().exc_string or "")
    # Ran once: the worker started it once, and it is failed, not scheduled for a retry.
    assert state["worker_log"].count(f": {refused.meta['job_name']} ({refused.id})") == 1
    # Nothing of the chain is left waiting to run.
    for job_id in state["job_ids"]:
        status = fetch_job(job_id, redis_conn).get_status()
        assert status in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.FINISHED), (job_id, status)


@pytest.mark.parametrize(
    "make", [samples.png_bomb, samples.gif_huge_screen, samples.gif_giant_later_frame], ids=["png", "gif", "gif-frame"]
)
def test_bomb_is_refused_from_its_header_without_running_a_decoder(make, tmp_path, monkeypatch, env):
    path = tmp_path / "bomb"
    path.write_bytes(make())
    decoded = []
    original_load = ImageFile.ImageFile.load

    def spying_load(self):
        decoded.append(self.format)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spying_load)
    fmt = "png" if path.read_bytes().startswith(b"\x89PNG") else "gif"

    with pytest.raises(PermanentError, match="refused before decoding"):
        open_checked(path, fmt, ImageCaps.from_settings(content_settings()))
    assert decoded == []


MEASURE = """
import json, resource, sys
from pathlib import Path
from jobs.content.imaging import ImageCaps
from odyssey_workers.media.safe_image import open_checked
from odyssey_workers.errors import PermanentError
from jobs.content.settings import content_settings
caps = ImageCaps.from_settings(content_settings())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    open_checked(Path(sys.argv[1]), sys.argv[2], caps)
    outcome = "opened"
except PermanentError as exc:
    outcome = str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "grew_kib": after - before}))
"""


def test_png_bomb_refusal_keeps_memory_flat(tmp_path, env):
    path = tmp_path / "bomb.png"
    path.write_bytes(samples.png_bomb())
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), "png"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    measured = json.loads(out.stdout)
    assert "refused before decoding" in measured["outcome"]
    # Decoding would need 40 GB; refusing costs (far) less than 16 MiB more than the imports did.
    assert measured["grew_kib"] < 16 * 1024


def test_photo_with_gps_is_processed_and_no_output_carries_metadata(env, redis_conn, make_asset):
    original = samples.gps_photo(800, 600, orientation=6)
    with Image.open(io.BytesIO(original)) as source:  # the input really carries every block
        assert source.getexif().get_ifd(0x8825) and "xmp" in source.info and "icc_profile" in source.info
    asset_id = make_asset(original, filename="IMG_0001.JPG")

    state = process_with_worker(env, asset_id)

    assert state["status"] == "ready", state["reason"]
    assert state["renditions"]
    storage = get_storage()
    from tests.content.test_images import assert_no_metadata

    for row in state["renditions"]:
        data = storage.read_bytes(row["storage_key"])
        assert_no_metadata(data, row["format"])
        # EXIF orientation 6 was applied: the 800x600 photo is portrait now.
        assert row["height"] > row["width"]
