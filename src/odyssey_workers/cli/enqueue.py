"""``odyssey-workers enqueue NAME --json '{...}' [--wait]``: one catalog job from the shell."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from odyssey_workers.cli import main
from odyssey_workers.cli.jobinfo import job_name, progress_text, to_json
from odyssey_workers.progress import read_progress
from odyssey_workers.queues import failure_reason

POLL_SECONDS = 0.25
"""How often ``--wait`` reads the job's status and progress, in seconds."""

FINAL_STATES = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def parse_payload(text: str) -> dict[str, Any]:
    """The ``--json`` text as an object, or a one-line error saying what is wrong with it."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"--json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(payload, dict):
        raise click.UsageError("--json must be a JSON object of payload fields, as '{\"asset_id\": 1}'")
    return payload


class JobFailed(click.ClickException):
    """The waited-for job ended without success (exit code 1, message on stderr)."""


def wait_for(job: Job, timeout: float | None, console: Console) -> Any:
    """Show a progress bar from ``meta["progress"]`` until the job ends; return its result."""
    started = time.monotonic()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(job_name(job), total=100, detail="queued")
        while True:
            try:
                job.refresh()  # type: ignore[no-untyped-call]
            except NoSuchJobError:
                raise JobFailed(f"job {job.id} disappeared from Redis while waiting (deleted or expired)") from None
            status = job.get_status(refresh=False)
            progress = read_progress(job.meta or {})
            completed = float(progress["percent"]) if progress and "percent" in progress else 0.0
            detail = status.value if not progress else f"{status.value} {progress_text(job)}"
            if status == JobStatus.FINISHED:
                completed = 100.0
            if status == JobStatus.SCHEDULED and job.number_of_retries:
                detail = f"attempt {job.number_of_retries} failed, retry scheduled"
            bar.update(task, completed=completed, detail=detail)
            if status in FINAL_STATES:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                raise JobFailed(f"gave up waiting after {timeout:g}s; job {job.id} is still {status.value}")
            time.sleep(POLL_SECONDS)
    if status != JobStatus.FINISHED:
        raise JobFailed(f"job {job.id} {status.value}: {failure_reason(job)}")
    return job.return_value()


@main.command()
@click.argument("name")
@click.option("--json", "payload_json", default="{}", metavar="JSON", help="The payload, as a JSON object.")
@click.option("--wait", is_flag=True, help="Show the job's progress, then print its result (exit 1 if it fails).")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="With --wait: stop waiting after SECONDS.")
def enqueue(name: str, payload_json: str, wait: bool, timeout: float | None) -> None:
    """Enqueue catalog job NAME (see 'odyssey-workers jobs') and print its id."""
    from odyssey_workers.queues import JobRequest, enqueue_request

    payload = parse_payload(payload_json)
    # Through JobRequest, so a payload key such as "_job_id" is a payload field (and refused
    # by the model), never an enqueue option.
    job = enqueue_request(JobRequest(name, payload))
    click.echo(job.id)
    if wait:
        result = wait_for(job, timeout, Console(stderr=True))
        click.echo(to_json(result))
