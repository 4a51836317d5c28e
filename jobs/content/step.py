"""The media step protocol, once: what every image, video, HLS, thumbnail and audio step does
around its own work.

``media_step`` starts the step (the asset must be processing; the step works for its current
run), gives it a private work folder and the run's staging prefix, and records each file the
step stores there and each rendition it stages. When the body ends normally the work folder is
removed, then the run is checked still live (after the writes: see ``check_run_still_live``;
an abandoned run's files are deleted here) and progress 100 is reported; the step then returns
``step.result(...)``. When the body raises, the work folder is removed and the exception goes
on untouched: the pipeline's failure callback removes the run's files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs.content.assets import (
    StagedRendition,
    check_run_still_live,
    run_prefix,
    staged_rendition,
    start_step,
    step_result,
)
from jobs.content.probe import fetch_source
from odyssey_workers.db.models.core import ContentAsset
from odyssey_workers.media.probe import media_workdir
from odyssey_workers.progress import report_progress
from odyssey_workers.storage import Storage, StoredObject, get_storage


@dataclass
class MediaStep:
    """One running step: its asset and run, where it stages files, and what it wrote so far."""

    asset: ContentAsset
    run: str
    storage: Storage
    prefix: str  # the run's prefix plus the step's folder: renditions/<asset_id>/<run>/<folder>
    work: Path  # private scratch folder, removed when the step ends
    renditions: list[dict[str, Any]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # storage keys, deleted if the run was abandoned

    def fetch_source(self) -> Path:
        """The asset's original as ``work/source``."""
        return fetch_source(self.storage, self.asset, self.work)

    def key(self, name: str) -> str:
        return self.prefix + name

    def put_file(self, name: str, path: Path, content_type: str) -> StoredObject:
        """Store ``path`` at ``prefix + name`` and record the key as written."""
        key = self.key(name)
        stored = self.storage.put_file(key, path, content_type)
        self.written.append(key)
        return stored

    def stage(self, **fields: Any) -> None:
        """Add a rendition entry to the step result (its file stored by ``put_file``)."""
        self.renditions.append(staged_rendition(**fields))

    def store(self, file_name: str, path: Path, content_type: str, /, **fields: Any) -> None:
        """``put_file`` and ``stage`` in one: the rendition gets the key, size and content type
        (``fields`` are the rest of its ``StagedRendition`` fields, ``name`` among them)."""
        stored = self.put_file(file_name, path, content_type)
        self.stage(storage_key=self.key(file_name), size_bytes=stored.size, content_type=content_type, **fields)

    def add_stored(self, items: Iterable[StagedRendition]) -> None:
        """Renditions whose files the step stored itself: staged, and their keys recorded as written."""
        for item in items:
            self.renditions.append(item.to_json())
            self.written.append(item.storage_key)

    def result(self, details: dict[str, Any] | None = None) -> dict[str, Any]:
        """The step result: the staged renditions and ``details`` for ``asset.details``."""
        return step_result(self.renditions, details)


@contextmanager
def media_step(asset_id: int, folder: str = "", *, stage: str | None = None) -> Iterator[MediaStep]:
    """Run one media step of ``asset_id``'s current run, staging under ``<run prefix><folder>``.

    ``stage`` goes with the final progress report (``report_progress(100, stage=...)``)."""
    asset, run = start_step(asset_id)
    storage = get_storage()
    with media_workdir() as work:
        step = MediaStep(asset, run, storage, run_prefix(asset_id, run) + folder, work)
        yield step
    check_run_still_live(asset_id, run, storage, step.written)
    if stage is None:
        report_progress(100.0)
    else:
        report_progress(100.0, stage=stage)
