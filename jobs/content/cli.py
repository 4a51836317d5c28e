"""``odyssey-workers ingest PATH [--creator ID] [--wait] [--json]``: a local file as an upload.

The file is stored as a new asset's original (under ``uploads/<creator>/``), the asset row is
added and ``content.process_upload`` is enqueued by name: this command imports no job code, so
workers do the processing. With ``--wait`` it shows the chain's progress and then prints the
renditions (kind, format, size, dimensions, duration, storage key) or the failure reason (exit
code 1). Without a creator a demo creator is used (made on first use).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus

from odyssey_workers.cli import main
from odyssey_workers.db.models.core import AssetStatus, ContentAsset, Creator, Rendition, User
from odyssey_workers.db.session import session_scope
from odyssey_workers.progress import read_progress

DEMO_HANDLE = "demo"
POLL_SECONDS = 0.3
"""How often ``--wait`` reads the asset and its jobs, in seconds."""


class IngestFailed(click.ClickException):
    """The asset ended failed (or waiting gave up): exit code 1 and the reason on stderr."""


def demo_creator_id() -> int:
    """The demo creator's id, made on first use."""
    with session_scope() as session:
        creator = session.query(Creator).filter(Creator.handle == DEMO_HANDLE).one_or_none()
        if creator is None:
            user = User(email="demo@odyssey.local", display_name="Demo Creator")
            creator = Creator(user=user, handle=DEMO_HANDLE, settings={})
            session.add(creator)
            session.flush()
        return creator.id


def store_upload(path: Path, creator_id: int | None) -> int:
    """Store ``path`` as a new asset's original and add the asset row; returns its id."""
    from odyssey_workers.storage import get_storage

    if creator_id is None:
        creator_id = demo_creator_id()
    else:
        with session_scope() as session:
            if session.get(Creator, creator_id) is None:
                raise click.BadParameter(f"there is no creator {creator_id}", param_hint="--creator")
    storage = get_storage()
    key = f"uploads/{creator_id}/{uuid.uuid4().hex}"
    stored = storage.put_file(key, path)
    try:
        with session_scope() as session:
            asset = ContentAsset(
                creator_id=creator_id,
                source_key=key,
                original_filename=path.name[:512],
                size_bytes=stored.size,
                details={},
            )
            session.add(asset)
            session.flush()
            return asset.id
    except BaseException:
        storage.delete(key)  # no original without its asset row
        raise


def asset_report(asset_id: int) -> dict[str, Any]:
    """The asset's status, reason and renditions as plain values."""
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        if asset is None:
            raise IngestFailed(f"asset {asset_id} disappeared")
        rows = session.query(Rendition).filter(Rendition.asset_id == asset_id).order_by(Rendition.name).all()
        details = dict(asset.details or {})
        return {
            "asset_id": asset.id,
            "creator_id": asset.creator_id,
            "status": asset.status.value,
            "kind": asset.kind.value,
            "mime_type": asset.mime_type,
            "failure_reason": asset.failure_reason,
            "placeholder": details.get("blurhash"),
            "dominant_color": details.get("dominant_color"),
            "jobs": details.get("pipeline", {}).get("jobs", {}),
            "renditions": [
                {
                    "name": row.name,
                    "kind": row.kind,
                    "format": row.format,
                    "size_bytes": row.size_bytes,
                    "width": row.width,
                    "height": row.height,
                    "duration_seconds": row.duration_seconds,
                    "storage_key": row.storage_key,
                    "url": row.url,
                }
                for row in rows
            ],
        }


def chain_progress(job_ids: list[str]) -> tuple[float, str]:
    """Overall percent over the chain's jobs, and what is running now."""
    from odyssey_workers.queues import fetch_job

    if not job_ids:
        return 0.0, "sniffing"
    total, running = 0.0, "waiting for a worker"
    for job_id in job_ids:
        try:
            job = fetch_job(job_id)
        except NoSuchJobError:
            continue
        status = job.get_status()
        progress = read_progress(job.meta or {}) or {}
        if status == JobStatus.FINISHED:
            total += 100.0
        elif status == JobStatus.STARTED:
            total += float(progress.get("percent", 0.0))
            stage = progress.get("stage") or progress.get("unit") or ""
            running = f"{job.meta.get('job_name', job_id)} {stage}".strip()
    return total / len(job_ids), running


def wait_for_asset(asset_id: int, timeout: float, console: Console) -> dict[str, Any]:
    started = time.monotonic()
    columns = (SpinnerColumn(), TextColumn("asset {task.fields[asset]}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("queued", total=100, asset=asset_id)
        while True:
            report = asset_report(asset_id)
            if report["status"] in (AssetStatus.READY.value, AssetStatus.FAILED.value):
                bar.update(task, completed=100 if report["status"] == "ready" else 0, description=report["status"])
                return report
            percent, running = chain_progress(list(report["jobs"].values()))
            bar.update(task, completed=percent, description=running)
            if time.monotonic() - started > timeout:
                raise IngestFailed(f"gave up waiting after {timeout:g}s; asset {asset_id} is still {report['status']}")
            time.sleep(POLL_SECONDS)


def print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    if report["status"] == "failed":
        return
    table = Table(title=f"asset {report['asset_id']}: {report['kind']} {report['status']}")
    for column in ("kind", "format", "size", "dimensions", "duration"):
        table.add_column(column, no_wrap=True)
    table.add_column("storage key", overflow="fold")  # printed whole: it is what a user copies
    for row in report["renditions"]:
        size = f"{row['width']}x{row['height']}" if row["width"] and row["height"] else ""
        duration = f"{row['duration_seconds']:.2f}s" if row["duration_seconds"] else ""
        table.add_row(row["kind"], row["format"], str(row["size_bytes"]), size, duration, row["storage_key"])
    # Piped or logged output is not folded at 80 columns (rich's default without a terminal).
    Console(width=None if sys.stdout.isatty() else 240).print(table)
    if report.get("placeholder"):
        click.echo(f"placeholder {report['placeholder']}  colour {report['dominant_color']}")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--creator", "creator_id", type=click.IntRange(min=1), default=None, help="Creator id (default: demo).")
@click.option("--wait", is_flag=True, help="Show progress until the asset is ready or failed, then the renditions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--timeout", type=click.FloatRange(min=1), default=900.0, show_default=True, help="With --wait: seconds.")
def ingest(path: Path, creator_id: int | None, wait: bool, as_json: bool, timeout: float) -> None:
    """Store the file at PATH as a new asset and run the upload pipeline on it."""
    from odyssey_workers.db.migrate import ensure_up_to_date
    from odyssey_workers.queues import enqueue

    ensure_up_to_date()
    asset_id = store_upload(path, creator_id)
    job = enqueue("content.process_upload", asset_id=asset_id)
    if not wait:
        if as_json:
            click.echo(json.dumps({"asset_id": asset_id, "job_id": job.id, "status": "uploaded"}))
        else:
            click.echo(f"asset {asset_id} queued (job {job.id}); run with --wait to follow it")
        return
    report = wait_for_asset(asset_id, timeout, Console(stderr=True))
    print_report(report, as_json)
    if report["status"] == "failed":
        raise IngestFailed(f"asset {asset_id} failed: {report['failure_reason']}")
