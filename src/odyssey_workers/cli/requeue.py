"""``odyssey-workers requeue``: put failed jobs back on their queue."""

from __future__ import annotations

import click
from redis import Redis
from rq.registry import FailedJobRegistry

from odyssey_workers.cli import main
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.routing import queue_names


def failed_registry(name: str, connection: Redis) -> FailedJobRegistry:
    return FailedJobRegistry(name, connection=connection, job_class=CatalogJob)


def requeue_failed(connection: Redis, job_ids: list[str], queues: list[str], everything: bool) -> list[str]:
    """Requeue the given failed jobs (or all failed jobs of ``queues``); returns the ids requeued.

    Every id is checked first, so a wrong id refuses the whole request instead of requeueing
    half of it.
    """
    owner: dict[str, str] = {}
    for name in queues:
        for job_id in failed_registry(name, connection).get_job_ids(cleanup=False):
            owner[job_id] = name
    if everything:
        chosen = list(owner)
    else:
        missing = [job_id for job_id in job_ids if job_id not in owner]
        if missing:
            where = ", ".join(queues)
            raise click.ClickException(
                f"not in the failed registry of {where}: {', '.join(missing)}; nothing was requeued"
            )
        chosen = list(dict.fromkeys(job_ids))
    requeued = []
    for job_id in chosen:
        failed_registry(owner[job_id], connection).requeue(job_id)
        requeued.append(job_id)
    return requeued


@main.command()
@click.argument("job_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Requeue every failed job (of --queue, if given).")
@click.option(
    "--queue", "queues", multiple=True, help="Only this queue (repeatable): high, default, low or a routed one."
)
def requeue(job_ids: tuple[str, ...], everything: bool, queues: tuple[str, ...]) -> None:
    """Requeue failed jobs: the given JOB_IDS, or --all."""
    from odyssey_workers.connection import get_redis

    if everything == bool(job_ids):
        raise click.UsageError("give failed job ids, or --all (not both)")
    known = queue_names()
    unknown = [name for name in queues if name not in known]
    if unknown:
        raise click.BadParameter(f"unknown queue {unknown[0]!r} (queues: {', '.join(known)})", param_hint="--queue")
    connection = get_redis()
    requeued = requeue_failed(connection, list(job_ids), list(queues or known), everything)
    for job_id in requeued:
        click.echo(job_id)
    click.echo(f"requeued {len(requeued)} job(s)", err=True)
