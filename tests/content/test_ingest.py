"""``odyssey-workers ingest``: a local file through the whole pipeline, from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from odyssey_workers.db.models.core import ContentAsset, Creator
from odyssey_workers.db.session import session_scope
from tests.content.image_samples import HTML_AS_JPG, jpeg_bytes, photo
from tests.support.workers import VENV_BIN, start_worker, stop_worker

ROOT = Path(__file__).resolve().parents[2]


def ingest(env, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "odyssey-workers"), "ingest", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_ingest_wait_runs_the_pipeline_and_prints_the_renditions(env, redis_conn, database_url, tmp_path):
    photo_path = tmp_path / "beach.jpg"
    photo_path.write_bytes(jpeg_bytes(photo(500, 400)))
    worker = start_worker(env)
    try:
        done = ingest(env, str(photo_path), "--wait", "--json")
    finally:
        stop_worker(worker)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "ready" and report["kind"] == "image"
    assert {row["name"] for row in report["renditions"]} == {
        f"image.{w}.{fmt}" for w in (500, 320) for fmt in ("jpeg", "webp", "avif")
    }
    for row in report["renditions"]:
        assert row["size_bytes"] > 0 and row["width"] in (500, 320) and row["storage_key"].startswith("renditions/")
    with session_scope() as session:
        creator = session.get(Creator, report["creator_id"])
        assert creator is not None and creator.handle == "demo"


def test_ingest_table_lists_each_rendition(env, redis_conn, database_url, tmp_path):
    photo_path = tmp_path / "beach.jpg"
    photo_path.write_bytes(jpeg_bytes(photo(400, 300)))
    worker = start_worker(env)
    try:
        done = ingest(env, str(photo_path), "--wait")
    finally:
        stop_worker(worker)
    assert done.returncode == 0, done.stderr
    assert "400x300" in done.stdout and "renditions/" in done.stdout and "webp" in done.stdout


def test_ingest_of_a_disguised_file_exits_1_with_the_reason(env, redis_conn, database_url, tmp_path):
    fake = tmp_path / "cat.jpg"
    fake.write_bytes(HTML_AS_JPG)
    worker = start_worker(env)
    try:
        done = ingest(env, str(fake), "--wait")
    finally:
        stop_worker(worker)
    assert done.returncode == 1
    assert "failed: Unsupported file: the file is an HTML page, not an image, video or audio file." in done.stderr
    assert "Traceback" not in done.stderr


def test_ingest_without_wait_stores_the_upload_and_queues_it(env, redis_conn, database_url, tmp_path):
    photo_path = tmp_path / "p.jpg"
    photo_path.write_bytes(jpeg_bytes(photo(64, 48)))
    done = ingest(env, str(photo_path), "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    with session_scope() as session:
        asset = session.get(ContentAsset, answer["asset_id"])
        assert asset is not None and asset.status.value == "uploaded" and asset.original_filename == "p.jpg"
    assert redis_conn.exists(f"rq:job:{answer['job_id']}")


def test_ingest_refuses_an_unknown_creator_and_stores_nothing(env, redis_conn, database_url, tmp_path):
    photo_path = tmp_path / "p.jpg"
    photo_path.write_bytes(jpeg_bytes(photo(64, 48)))
    done = ingest(env, str(photo_path), "--creator", "999")
    assert done.returncode == 2
    assert "there is no creator 999" in done.stderr
    with session_scope() as session:
        assert session.query(ContentAsset).count() == 0
    assert not (Path(env["VAR_DIR"]) / "storage" / "uploads").exists()


def test_ingest_command_loads_no_job_code_or_pillow(env):
    # The commands live in each domain's cli.py; job code is any module a catalog job or
    # callback runs in, and none of those (nor Pillow) may load for a command.
    probe = (
        "import sys; import odyssey_workers.cli; loaded = set(sys.modules); "
        "from odyssey_workers.catalog import get_catalog; "
        "catalog = get_catalog(); paths = [spec.function for spec in catalog] + list(catalog.callbacks); "
        "job_modules = {path.rpartition('.')[0] for path in paths}; "
        "print(sorted((job_modules | {'PIL'}) & loaded), len(job_modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded_job_modules, job_module_count = out.stdout.rsplit(" ", 1)
    assert loaded_job_modules == "[]" and int(job_module_count) > 10
