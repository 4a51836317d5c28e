"""The RQ scheduler process a worker forks, bound to that worker's life.

RQ forks one scheduler process per worker that wins the queues' scheduler locks. If the worker
is killed with SIGKILL (the OOM killer, ``kill -9``), RQ's scheduler lives on as an orphan: it
keeps its locks fresh and keeps moving due jobs onto the queues, unseen by any worker, for as
long as the machine runs. Here the scheduler asks the kernel for SIGTERM when its worker dies,
which RQ's scheduler already treats as a clean stop (it releases its locks and records its death).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from rq.scheduler import RQScheduler

from odyssey_workers.parent_death import die_with_parent


class WorkerBoundScheduler(RQScheduler):
    """``RQScheduler`` whose forked process stops when the worker that forked it is gone."""

    _worker_pid: int | None = None

    def start(self) -> Any:
        self._worker_pid = os.getpid()  # before the fork: the child's parent is this process
        return super().start()  # type: ignore[no-untyped-call]

    def work(self) -> None:
        die_with_parent(signal.SIGTERM)
        super().work()  # type: ignore[no-untyped-call]

    def heartbeat(self) -> None:
        # The worker may have died before ``die_with_parent`` ran; then no signal comes, but the
        # child has been re-parented, which each loop turn sees before it enqueues anything.
        if self._worker_pid is not None and os.getppid() != self._worker_pid:
            self.log.warning("Scheduler [PID %s]: its worker %s is gone; stopping", os.getpid(), self._worker_pid)
            self.request_stop()  # type: ignore[no-untyped-call]
            return
        super().heartbeat()  # type: ignore[no-untyped-call]

    def enqueue_scheduled_jobs(self) -> None:
        if self._stop_requested:
            return
        super().enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
