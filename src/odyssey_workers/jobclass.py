"""The RQ job class every queue and worker of the service uses.

It enforces two contracts whether the job was enqueued through ``odyssey_workers.enqueue`` or
written by any other producer:

* only catalog jobs run: the function path is looked up in the catalog *before* anything is
  imported, so a job naming ``os.system`` fails with that reason and nothing of it executes;
* only declared callbacks run: a job hash also names its ``on_success``, ``on_failure`` and
  ``on_stopped`` callbacks, which RQ would import and call; each name must be a callback the
  catalog declares (``declare_callback``), checked before the job's function runs and again
  wherever RQ resolves a callback (the worker, abandoned-job cleanup);
* payloads are validated again, by the job's model, right before the call.

A ``PermanentError`` zeroes the job's remaining retries, so RQ's own failure handling moves it
straight to the failed registry with its message.

RQ runs a job's ``on_failure`` callback for exceptions, timeouts and abandoned jobs, but not
when the work horse dies under a live worker (SIGKILL, out of memory, a codec crash). The
job class runs it then too, on the last attempt only, with a ``WorkHorseKilled`` exception.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq.callbacks import execute_failure_callback
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from rq.types import FailureCallbackType, SuccessCallbackType
from rq.utils import import_attribute

from odyssey_workers.catalog import JobSpec, get_catalog
from odyssey_workers.errors import PayloadError, PermanentError, UnknownJobError
from odyssey_workers.payloads import validate_payload

logger = logging.getLogger(__name__)


HORSE_KILLED_PREFIX = "Work-horse terminated unexpectedly"
"""How RQ's worker begins the failure it records for a work horse that died (worker_classes.py)."""


class WorkHorseKilled(Exception):
    """The work horse running the job died before the job ended (``signal`` is set if a signal killed it)."""

    def __init__(self, message: str, signal: int | None = None) -> None:
        super().__init__(message)
        self.signal = signal


def horse_killed_error(exc_string: str) -> WorkHorseKilled | None:
    """The ``WorkHorseKilled`` that RQ's failure text for a dead work horse describes, else None."""
    if not exc_string.startswith(HORSE_KILLED_PREFIX):
        return None
    found = re.search(r"\(signal (\d+)\)", exc_string)
    return WorkHorseKilled(exc_string.strip().rstrip(";").strip(), int(found.group(1)) if found else None)


def spec_for_function(function: str | None) -> JobSpec:
    """The catalog entry whose function path this is, or UnknownJobError."""
    spec = get_catalog().by_function(function or "")
    if spec is None:
        raise UnknownJobError(f"refused: {function!r} is not a catalog job, so it was not imported or run")
    return spec


def refuse_undeclared_callback(kind: str, path: str | None) -> None:
    """UnknownJobError unless ``path`` (a job's ``kind`` callback) is empty or declared."""
    if path and not get_catalog().is_callback(path):
        raise UnknownJobError(
            f"refused: {kind} callback {path!r} is not a callback the catalog declares, so it was not imported or run"
        )


class CatalogJob(Job):
    """An RQ Job that only ever runs catalog functions, always with the JSON serializer."""

    def __init__(self, id: str | None = None, connection: Any = None, serializer: Any = None) -> None:
        # The serializer argument is ignored on purpose: pickle would let a producer run code.
        # RQ would check whatever it gets against its Serializer protocol (a runtime Protocol
        # isinstance, ~20 us: most of the cost of building a job); JSON needs no check.
        super().__init__(id=id, connection=connection, serializer=None)
        self.serializer = JSONSerializer

    @property
    def func(self) -> Any:
        return import_attribute(spec_for_function(self.func_name).function)

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> CatalogJob:
        """RQ's ``Job.create``, refusing an undeclared callback at once (the producer's mistake)."""
        job = super().create(*args, **kwargs)
        assert isinstance(job, CatalogJob)
        job.refuse_undeclared_callbacks()
        return job

    def refuse_undeclared_callbacks(self) -> None:
        """UnknownJobError naming the first callback of this job that the catalog does not declare."""
        refuse_undeclared_callback("success", self._success_callback_name)
        refuse_undeclared_callback("failure", self._failure_callback_name)
        refuse_undeclared_callback("stopped", self._stopped_callback_name)

    # RQ resolves each callback through these properties, from the name in the job hash.
    @property
    def success_callback(self) -> SuccessCallbackType | None:
        refuse_undeclared_callback("success", self._success_callback_name)
        return super().success_callback

    @property
    def failure_callback(self) -> FailureCallbackType | None:
        refuse_undeclared_callback("failure", self._failure_callback_name)
        return super().failure_callback

    @property
    def stopped_callback(self) -> Callable[[Job, Redis], Any] | None:
        refuse_undeclared_callback("stopped", self._stopped_callback_name)
        return super().stopped_callback

    @property
    def job_name(self) -> str | None:
        """The catalog name of this job, when it is one."""
        spec = get_catalog().by_function(self.func_name or "")
        return spec.name if spec else None

    def _execute(self) -> Any:
        spec = spec_for_function(self.func_name)
        # Before the function runs: a job whose success callback would be refused must not
        # do its work first and fail afterwards.
        self.refuse_undeclared_callbacks()
        if self.instance is not None or self.args:
            raise PayloadError(f"{spec.name}: the payload must be keyword fields only, not positional arguments")
        payload = validate_payload(spec, self.kwargs)
        function = import_attribute(spec.function)
        return function(**dict(payload))

    def perform(self) -> Any:
        try:
            return super().perform()
        except PermanentError as exc:
            # No retry can fix it; RQ reads retries_left right after this to decide.
            self.retries_left = 0
            logger.warning("job %s failed permanently: %s", self.id, exc)
            raise

    def _handle_failure(self, exc_string: str, pipeline: Pipeline, *args: Any, **kwargs: Any) -> None:
        # RQ's worker calls this once per job, on the attempt that will not be retried. For a
        # dead work horse it is the only hook left: run the failure callback here, so e.g. the
        # content pipeline fails its asset now rather than at its next recovery sweep.
        super()._handle_failure(exc_string, pipeline, *args, **kwargs)
        error = horse_killed_error(exc_string)
        if error is None:
            return
        try:
            if self.failure_callback is None:  # also refuses an undeclared callback, logged below
                return
            # A timer, not SIGALRM: the worker may not be running in its main thread.
            execute_failure_callback(self, TimerDeathPenalty, WorkHorseKilled, error, None)
        except Exception as exc:  # noqa: BLE001 - the failure must still be recorded; sweeps catch up
            logger.warning("job %s: failure callback for its dead work horse raised: %s", self.id, exc)
