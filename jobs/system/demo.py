"""The runtime's part of ``make demo``: catalog jobs by name through real Redis and workers."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from odyssey_workers.demo import console, short, wait_for

DEMO_NAME = "runtime"
DEMO_ORDER = 0


def run() -> None:
    """Catalog jobs by name through real Redis and real worker processes."""
    import odyssey_workers
    from odyssey_workers.queues import failure_reason, fetch_job

    console.print("[bold]Runtime[/bold]: three catalog jobs enqueued by name, done by worker processes")
    jobs = [
        odyssey_workers.enqueue("system.ping", message="hello from the demo"),
        odyssey_workers.enqueue("system.media_check"),
        odyssey_workers.enqueue("system.sleep", seconds=1.5, steps=3),
    ]
    wait_for(lambda: all(fetch_job(j.id).get_status().value in ("finished", "failed") for j in jobs), "the jobs")
    table = Table("job", "queue", "status", "result")
    for job in jobs:
        stored = fetch_job(job.id)
        result: Any = stored.return_value() if stored.get_status().value == "finished" else failure_reason(stored)
        table.add_row(stored.meta.get("job_name", ""), stored.origin, stored.get_status().value, short(result))
    console.print(table)
