"""Every log record written while a job runs names that job: ``[job <id> <catalog name>] ...``.

The work horse (or the worker itself, for a job run in-process) calls ``job_log_context`` around
the job. Inside it, each new record gets ``odyssey_job_id`` and ``odyssey_job_name`` attributes
(for structured formatters) and its message a ``[job <id> <name>]`` prefix, so the plain text of
any handler says which job wrote the line. The attributes are not plain ``job_id``: RQ logs with
``extra={"job_id": ...}``, and logging refuses an ``extra`` key the record already has.

It is a log record factory, not a ``logging.Filter``: a filter on a logger does not see the
records its children propagate to it, and a filter on handlers misses the handlers added later
and ``logging.lastResort`` (the plain ``rq worker`` configures no root handler). The factory
sees every record of the process, once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_current: tuple[str, str] | None = None
"""(job id, catalog name) of the job running in this process, if any."""

_base_factory = logging.getLogRecordFactory()


def job_prefix(job_id: str, name: str) -> str:
    """The prefix a record logged during job ``job_id`` (catalog ``name``) begins with."""
    return f"[job {job_id} {name}] "


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    current = _current
    if current is None:
        return record
    record.odyssey_job_id, record.odyssey_job_name = current
    prefix = job_prefix(*current)
    if record.args:
        # The message is still a %-format: a "%" in the id must not become a placeholder.
        prefix = prefix.replace("%", "%%")
    record.msg = prefix + str(record.msg)
    return record


def install() -> None:
    """Put the factory in place (idempotent); records are only changed inside a job context."""
    if logging.getLogRecordFactory() is not _factory:
        global _base_factory
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_factory)


@contextmanager
def job_log_context(job_id: str, name: str) -> Iterator[None]:
    """Prefix every record logged inside the block with the job's id and catalog name."""
    global _current
    install()
    previous, _current = _current, (job_id, name)
    try:
        yield
    finally:
        _current = previous
