"""Jobs a stop cut short: workers note them in a file, ``odyssey-workers run`` counts them.

A warm shutdown lets running jobs finish. When a stop signal reaches the work horses too (as
systemd's default ``KillMode=control-group`` does, to every process at once) or a second Ctrl-C
turns the stop cold, running jobs die mid-way; RQ retries them later, if they have retries left,
but the service must not report a clean stop. The note is a local file, not Redis: with the
bundled Redis, the same signal may already have stopped Redis.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path
from resource import struct_rusage

from odyssey_workers.worker import OdysseyWorker

logger = logging.getLogger(__name__)

CUT_JOBS_FILE_VARIABLE = "ODYSSEY_CUT_JOBS_FILE"
"""Environment variable naming the file workers append cut job ids to (set by ``run``)."""

JOBS_CUT_EXIT_CODE = os.EX_TEMPFAIL
"""``run``'s exit code when its stop cut jobs short (75: a temporary failure, the jobs run again)."""

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
"""A work horse dead of one of these was stopped by a shutdown, not by a crash of its own."""


def note_cut_job(job_id: str) -> None:
    """Append ``job_id`` to the file ``run`` named; one short append, atomic for concurrent workers."""
    path = os.environ.get(CUT_JOBS_FILE_VARIABLE)
    if not path:
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, f"{job_id}\n".encode())
        finally:
            os.close(descriptor)
    except OSError as exc:  # the stop goes on; only the count in run's last line is short
        logger.warning("could not note cut job %s in %s: %s", job_id, path, exc)


def read_cut_jobs(path: Path) -> list[str]:
    """The distinct job ids noted in ``path``, in the order first noted; none if it is missing."""
    with contextlib.suppress(FileNotFoundError):
        return list(dict.fromkeys(line.strip() for line in path.read_text().splitlines() if line.strip()))
    return []


class CutJobsNotingWorker(OdysseyWorker):
    """The project's worker, noting each job whose work horse a stop killed.

    Every way a horse ends passes through ``wait_for_horse``: the normal end of a job, a horse
    killed by a signal sent to every process (it dies of SIGTERM), and a cold shutdown (the
    worker kills its horse, then waits for it). A horse killed while the worker is not stopping
    and not by a stop signal (the kernel's out-of-memory killer) is a crash, not a cut: RQ fails
    that job as usual and it is not counted here.
    """

    def wait_for_horse(self) -> tuple[int | None, int | None, struct_rusage | None]:
        job_id = next(iter(self.executions.values())).job_id if self.executions else None
        try:
            pid, status, rusage = super().wait_for_horse()
        except Exception:
            # The stop signal arrived during the wait and RQ's handler failed (it writes to Redis,
            # which a control-group stop takes down at the same moment): the worker quits with
            # its horse still running the job, so that job is cut all the same.
            if job_id:
                self.log.warning("Worker %s: job %s was cut short by the stop", self.name, job_id)
                note_cut_job(job_id)
            raise
        if job_id and status is not None and os.WIFSIGNALED(status):
            if self.stopping or os.WTERMSIG(status) in STOP_SIGNALS:
                self.log.warning(
                    "Worker %s: job %s was cut short by the stop (signal %s)", self.name, job_id, os.WTERMSIG(status)
                )
                note_cut_job(job_id)
        return pid, status, rusage
