"""The upload pipeline: ``process_upload`` builds the chain, ``finalize_asset`` publishes it.

Chains, as RQ dependencies between catalog jobs enqueued by name::

    image  optimize_image ─────────────────────────────┐
    video  probe_video ─┬ transcode_video ──────────────┤
                        ├ package_hls ──────────────────┼─ [pre-publish steps] ─ finalize_asset
                        └ make_thumbnails ──────────────┤
    audio  process_audio ───────────────────────────────┘

Pre-publish steps (``CONTENT_PRE_PUBLISH_STEPS``, catalog job names taking ``asset_id``) are
where moderation plugs in: they run after processing and before anything is published, and
one that raises ``PermanentError`` fails the asset with its reason. The list is empty until the
moderation jobs exist; nothing stands in for them.

Every step carries an RQ ``on_failure`` callback (``on_step_failed``). RQ calls it on each
failed attempt for exceptions, timeouts and abandoned jobs, and the job class calls it on the
last attempt of a step whose work horse died; on the attempt that will not be retried it marks
the asset ``failed`` with a reason for the creator (``reasons``: a sentence, no internals),
deletes every output of the run (storage and Cloudinary) and cancels the chain's waiting jobs,
so no asset stays ``processing`` behind a step that failed for good.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.timeouts import JobTimeoutException

from jobs.content import reasons
from jobs.content.assets import StagedRendition, load_asset
from jobs.content.contracts import PIPELINE_FAILURE_CALLBACK
from jobs.content.delivery import (
    check_staged,
    cloudinary_client,
    deliver,
    publish,
    remove_run_outputs,
    remove_superseded,
)
from jobs.content.settings import ContentSettings, content_settings
from odyssey_workers.catalog import get_catalog
from odyssey_workers.connection import get_redis
from odyssey_workers.db.models.core import AssetKind, AssetStatus, ContentAsset
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError, RetryableError
from odyssey_workers.jobclass import WorkHorseKilled, horse_killed_error
from odyssey_workers.media.sniff import HEAD_BYTES, sniff_or_refuse
from odyssey_workers.queues import enqueue, fetch_job
from odyssey_workers.settings import Settings, get_settings
from odyssey_workers.storage import get_storage

logger = logging.getLogger(__name__)

PROCESSING_STEPS: dict[str, list[tuple[str, list[str]]]] = {
    # kind -> [(job name, the job names it waits for)], in enqueue order
    "image": [("content.optimize_image", [])],
    "video": [
        ("content.probe_video", []),
        ("content.transcode_video", ["content.probe_video"]),
        ("content.package_hls", ["content.probe_video"]),
        ("content.make_thumbnails", ["content.probe_video"]),
    ],
    "audio": [("content.process_audio", [])],
}
FINALIZE = "content.finalize_asset"
TIMEOUT_WEIGHTS = {"content.probe_video": 0.1, "content.make_thumbnails": 0.5, FINALIZE: 0.25}
"""Share of a chain's scaled timeout each step gets (1.0 when not listed)."""

TIMEOUT_BASE_SECONDS = {"image": 60, "video": 120, "audio": 60}
TIMEOUT_SECONDS_PER_MB = {"image": 10, "video": 30, "audio": 6}
"""A step's timeout grows with the upload's size (a 2-hour video is bigger than a 10-second
one): base + MB x per-MB, times the step's weight, capped by JOB_TIMEOUT_CAP_SECONDS."""


def scaled_timeout(kind: str, size_bytes: int, settings: Settings, weight: float = 1.0) -> int:
    seconds = TIMEOUT_BASE_SECONDS[kind] + TIMEOUT_SECONDS_PER_MB[kind] * size_bytes / 1_000_000
    return int(max(30, min(settings.job_timeout_cap_seconds, seconds * weight)))


def chain_job_id(asset_id: int, run: str, name: str) -> str:
    """Deterministic, so a retried process_upload finds the chain it already enqueued."""
    return f"content-{asset_id}-{run}-{name.split('.', 1)[1]}"


def plan_chain(kind: str, settings: ContentSettings) -> list[tuple[str, list[str]]]:
    """The (job, waits-for) steps of a chain, pre-publish steps and finalize included."""
    steps = list(PROCESSING_STEPS[kind])
    waited_on = {dep for _name, deps in steps for dep in deps}
    leaves = [name for name, _deps in steps if name not in waited_on]
    for name in settings.content_pre_publish_steps:
        get_catalog().get(name)  # an unknown name fails the upload now, with the closest names
        steps.append((name, leaves))
    if settings.content_pre_publish_steps:
        leaves = list(settings.content_pre_publish_steps)
    steps.append((FINALIZE, leaves))
    return steps


def enqueue_step(name: str, asset_id: int, run: str, depends_on: list[Job], timeout: int, connection: Redis) -> Job:
    """Enqueue catalog job ``name`` for the asset with the pipeline's failure callback."""
    return enqueue(
        name,
        _connection=connection,
        _job_id=chain_job_id(asset_id, run, name),
        _depends_on=list(depends_on) or None,
        _timeout=timeout,
        _meta={"asset_id": asset_id, "run": run},
        _on_failure=PIPELINE_FAILURE_CALLBACK,
        asset_id=asset_id,
    )


# --- process_upload ---------------------------------------------------------------------------


def process_upload(asset_id: int) -> dict[str, Any]:
    """Sniff the upload, mark it processing and enqueue its chain (idempotent per run)."""
    job = get_current_job()
    try:
        return _process_upload(asset_id, job)
    except BaseException as exc:
        if is_final_failure(job, exc):
            fail_asset(asset_id, None, describe_failure("content.process_upload", type(exc), exc, job))
        raise


def _process_upload(asset_id: int, job: Job | None) -> dict[str, Any]:
    settings, storage = content_settings(), get_storage()
    connection = job.connection if job else None
    with session_scope() as session:
        asset = load_asset(session, asset_id)
        status, details, source_key = asset.status, dict(asset.details or {}), asset.source_key
    pipeline = details.get("pipeline", {})
    if status == AssetStatus.READY:
        return {"asset_id": asset_id, "status": "ready", "run": pipeline.get("run"), "enqueued": []}
    run = (job.id if job else uuid.uuid4().hex).replace("-", "")[:16]
    if status == AssetStatus.PROCESSING and pipeline.get("run"):
        # An earlier attempt of this job got this far (finish enqueuing its chain), or another
        # process_upload already runs the asset (a duplicate request: leave that run alone).
        if pipeline.get("started_by") != (job.id if job else None):
            return {"asset_id": asset_id, "status": "processing", "run": pipeline["run"], "enqueued": []}
    else:
        try:
            with storage.open(source_key) as handle:
                head = handle.read(HEAD_BYTES)
        except FileNotFoundError:
            raise PermanentError(f"the original of content asset {asset_id} is missing from storage") from None
        sniffed = sniff_or_refuse(head)
        steps = plan_chain(sniffed.kind, settings)
        size = next((item.size for item in storage.list(source_key) if item.key == source_key), 0)
        pipeline = {
            "run": run,
            "started_by": job.id if job else None,
            "started_at": datetime.now(UTC).isoformat(),
            "size_bytes": size,
            "jobs": {name: chain_job_id(asset_id, run, name) for name, _deps in steps},
        }
        with session_scope() as session:
            asset = load_asset(session, asset_id, lock=True)
            asset.kind = AssetKind(sniffed.kind)
            asset.mime_type = sniffed.mime
            asset.size_bytes = size
            asset.status = AssetStatus.PROCESSING
            asset.failure_reason = None
            asset.details = {**(asset.details or {}), "sniffed_format": sniffed.format, "pipeline": pipeline}
    return _enqueue_chain(asset_id, pipeline, settings, connection)


def _enqueue_chain(
    asset_id: int, pipeline: dict[str, Any], settings: ContentSettings, connection: Redis | None
) -> dict[str, Any]:
    connection = connection or get_redis()
    run, size = pipeline["run"], int(pipeline.get("size_bytes") or 0)
    with session_scope() as session:
        kind = load_asset(session, asset_id).kind.value
    jobs: dict[str, Job] = {}
    enqueued = []
    for name, deps in plan_chain(kind, settings):
        job_id = chain_job_id(asset_id, run, name)
        existing = Job.exists(job_id, connection=connection)
        if existing:
            jobs[name] = fetch_job(job_id, connection)
            continue
        timeout = scaled_timeout(kind, size, get_settings(), TIMEOUT_WEIGHTS.get(name, 1.0))
        jobs[name] = enqueue_step(name, asset_id, run, [jobs[d] for d in deps], timeout, connection)
        enqueued.append(name)
    logger.info("asset %s: run %s, %s chain enqueued (%s)", asset_id, run, kind, ", ".join(enqueued) or "already")
    return {"asset_id": asset_id, "status": "processing", "run": run, "kind": kind, "jobs": pipeline["jobs"]}


# --- finalize ---------------------------------------------------------------------------------


def chain_results(asset: ContentAsset, connection: Redis | None = None) -> tuple[list[StagedRendition], dict[str, Any]]:
    """Renditions and details every finished step of the asset's run returned."""
    staged: list[StagedRendition] = []
    details: dict[str, Any] = {}
    for name, job_id in (asset.details or {}).get("pipeline", {}).get("jobs", {}).items():
        if name == FINALIZE:
            continue
        try:
            job = fetch_job(job_id, connection)
        except NoSuchJobError:
            logger.info("step %s (%s) has expired from Redis; it has nothing left to report", name, job_id)
            continue
        if job.get_status() != JobStatus.FINISHED:
            continue
        result = job.return_value()
        if isinstance(result, dict):
            staged.extend(StagedRendition.from_json(item) for item in result.get("renditions") or [])
            details.update(result.get("details") or {})
    return staged, details


def finalize_asset(asset_id: int) -> dict[str, Any]:
    """Publish the run: check every file, copy to Cloudinary if configured, then one commit."""
    settings, storage = content_settings(), get_storage()
    with session_scope() as session:
        asset = load_asset(session, asset_id)
        if asset.status == AssetStatus.READY:
            # A retry after the publish committed: the announcement may not have been sent.
            run = (asset.details or {}).get("pipeline", {}).get("run")
            announced = announce_publish(asset_id, run, settings) if run else []
            return {"asset_id": asset_id, "status": "ready", "published": 0, "announced": announced}
        if asset.status != AssetStatus.PROCESSING:
            raise PermanentError(f"content asset {asset_id} is {asset.status.value}; nothing to publish")
        run = asset.details["pipeline"]["run"]
        pending = _unfinished_steps(asset)
        if pending:
            raise RetryableError(f"content asset {asset_id}: steps not finished yet: {', '.join(pending)}")
        staged, details = chain_results(asset)
        kind = asset.kind.value
    if kind == "image" and not staged:
        raise PermanentError(f"content asset {asset_id}: processing produced no renditions")
    check_staged(storage, asset_id, run, staged)
    delivered = {}
    client = cloudinary_client(settings)
    if client is not None:
        with client:
            delivered = deliver(client, storage, settings, asset_id, run, staged)
    replaced = publish(asset_id, run, staged, details, delivered)
    remove_superseded(storage, settings, asset_id, run, replaced)
    announced = announce_publish(asset_id, run, settings)
    return {"asset_id": asset_id, "status": "ready", "run": run, "published": len(staged), "announced": announced}


def announce_publish(asset_id: int, run: str, settings: ContentSettings, connection: Redis | None = None) -> list[str]:
    """Enqueue each ``CONTENT_ON_PUBLISH_JOBS`` job (by catalog name, ``asset_id``) for this run.

    Each job's id names the asset and run, so a finalize retried after its commit, or run again on
    a ready asset, finds the job while Redis keeps it and sends nothing twice. Those jobs are
    idempotent besides: a post fanned out twice is in each feed once."""
    connection = connection or get_redis()
    announced = []
    for name in settings.content_on_publish_jobs:
        job_id = f"content-{asset_id}-{run}-announce-{name.replace('.', '-')}"
        if Job.exists(job_id, connection=connection):
            continue
        enqueue(name, _connection=connection, _job_id=job_id, asset_id=asset_id)
        announced.append(name)
    return announced


def _unfinished_steps(asset: ContentAsset) -> list[str]:
    pending = []
    for name, job_id in asset.details.get("pipeline", {}).get("jobs", {}).items():
        if name == FINALIZE:
            continue
        try:
            status = fetch_job(job_id).get_status()
        except NoSuchJobError:
            pending.append(f"{name} (expired)")
            continue
        if status != JobStatus.FINISHED:
            pending.append(f"{name} ({status})")
    return pending


# --- failure ----------------------------------------------------------------------------------


def is_final_failure(job: Job | None, exc: BaseException) -> bool:
    """Whether no retry follows this failed attempt."""
    if isinstance(exc, PermanentError) or job is None:
        return True
    return not (job.retries_left and job.retries_left > 0)


def describe_failure(
    step: str, exc_type: type[BaseException] | None, exc: BaseException | None, job: Job | None
) -> str:
    """The reason a creator reads (see ``reasons``); the detail stays in the job's exc_info."""
    if exc_type is not None and issubclass(exc_type, JobTimeoutException):
        return reasons.timed_out(step, job.timeout if job is not None else None)
    if isinstance(exc, WorkHorseKilled):
        return reasons.worker_stopped(step, exc.signal)
    if exc_type is not None and exc_type.__name__ == "AbandonedJobError":
        return reasons.worker_stopped(step)
    return reasons.creator_reason(step, exc)


def on_step_failed(job: Job, connection: Redis, exc_type: Any, exc: Any, traceback: Any) -> None:
    """RQ failure callback of every chain step (see the module docstring); the job class also
    calls it for the last attempt of a step whose work horse died (``WorkHorseKilled``)."""
    if not is_final_failure(job, exc if isinstance(exc, BaseException) else Exception()):
        return
    asset_id = int(job.kwargs.get("asset_id") or job.meta.get("asset_id") or 0)
    step = str(job.meta.get("job_name") or job.func_name)
    fail_asset(asset_id, job.meta.get("run"), describe_failure(step, exc_type, exc, job), connection, failed_job=job.id)


def fail_asset(
    asset_id: int, run: str | None, reason: str, connection: Redis | None = None, failed_job: str | None = None
) -> None:
    """Mark the asset failed (the first reason wins), remove the run's outputs, stop its chain."""
    settings, storage = content_settings(), get_storage()
    with session_scope() as session:
        asset = session.get(ContentAsset, asset_id)
        if asset is None:
            return
        pipeline = (asset.details or {}).get("pipeline", {})
        current = run is None or pipeline.get("run") == run
        # A step fails only a processing asset; process_upload (run None) may also re-fail one
        # that failed before, so the reason is this attempt's.
        failable = (
            (AssetStatus.PROCESSING,) if run else (AssetStatus.UPLOADED, AssetStatus.PROCESSING, AssetStatus.FAILED)
        )
        if current and asset.status in failable:
            asset.status = AssetStatus.FAILED
            asset.failure_reason = reason[:2000]
            logger.warning("content asset %s failed: %s", asset_id, reason)
        run = run or pipeline.get("run")
        staged, _details = chain_results(asset, connection) if run else ([], {})
        job_ids = [job_id for job_id in pipeline.get("jobs", {}).values() if job_id != failed_job]
    if not run:
        return
    removed = remove_run_outputs(storage, settings, asset_id, run, staged)
    logger.info("content asset %s: removed %s stored outputs of failed run %s", asset_id, removed, run)
    if current:
        _cancel_waiting(job_ids, connection)


def _cancel_waiting(job_ids: list[str], connection: Redis | None) -> None:
    for job_id in job_ids:
        try:
            job = fetch_job(job_id, connection)
            if job.get_status() in (JobStatus.DEFERRED, JobStatus.QUEUED, JobStatus.SCHEDULED):
                job.cancel()
        except NoSuchJobError as exc:  # a job that vanished meanwhile needs no cancelling
            logger.debug("not cancelling %s: %s", job_id, exc)


# --- recovery ---------------------------------------------------------------------------------

STUCK_STATUSES = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def _stuck_reason(name: str, job: Job) -> str:
    """The creator's reason for a step found failed or stopped; the job's result keeps the detail."""
    result = job.latest_result()
    text = (result.exc_string or "").strip() if result is not None else ""
    killed = horse_killed_error(text)
    if killed is not None:
        return reasons.worker_stopped(name, killed.signal)
    if job.get_status() == JobStatus.CANCELED:
        return f"{reasons.step_action(name)} was cancelled. Please upload the file again."
    return reasons.unexpected(name)


def recover_stuck_assets(limit: int = 500, min_age_seconds: int = 120) -> dict[str, Any]:
    """Fail processing assets whose chain cannot finish any more.

    The failure callback covers exceptions, timeouts, jobs found abandoned and (through the job
    class) work horses that died under a live worker, but it cannot help when it failed itself
    (database down) or never ran (a worker without the catalog job class). This sweep, scheduled
    every few minutes, finds a processing asset with a failed, stopped or cancelled step, or
    whose steps have vanished from Redis, and fails it the same way the callback would. Runs
    younger than ``min_age_seconds`` are left alone (their chain may still be being enqueued)."""
    from odyssey_workers.connection import get_redis

    connection = get_redis()
    with session_scope() as session:
        processing = (
            session.query(ContentAsset.id, ContentAsset.details)
            .filter(ContentAsset.status == AssetStatus.PROCESSING)
            .order_by(ContentAsset.id)
            .limit(limit)
            .all()
        )
    failed = []
    now = datetime.now(UTC)
    for asset_id, details in processing:
        pipeline = (details or {}).get("pipeline", {})
        started = pipeline.get("started_at")
        if not started or (now - datetime.fromisoformat(started)).total_seconds() < min_age_seconds:
            continue
        reason = None
        for name, job_id in pipeline.get("jobs", {}).items():
            try:
                job = fetch_job(job_id, connection)
            except NoSuchJobError:
                logger.warning("asset %s: step %s (%s) is gone from Redis", asset_id, name, job_id)
                reason = f"{reasons.step_action(name)} did not finish: its work was lost. Please upload the file again."
                break
            if job.get_status() in STUCK_STATUSES:
                reason = _stuck_reason(name, job)
                break
        if reason:
            logger.warning("asset %s: run %s cannot finish; failing it", asset_id, pipeline.get("run"))
            fail_asset(asset_id, pipeline.get("run"), reason, connection)
            failed.append(asset_id)
    return {"checked": len(processing), "failed": failed}
