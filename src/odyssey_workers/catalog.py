"""The catalog: every job the service runs, and the contract producers enqueue against.

A job is declared once, in its domain's ``contracts`` module (``jobs/<domain>/contracts.py``),
with its dotted name, the dotted path of its function, its payload model and its limits. Declarations are checked at
import: a duplicate name, an unknown queue, an unknown option or a priority out of range is a
``CatalogError`` then, not a surprise at run time. The catalog holds function *paths*, never
functions, so a producer that only enqueues imports no job code.

RQ callbacks (``on_success``, ``on_failure``, ``on_stopped``) are code a job's hash names too, so
they are declared the same way, with ``declare_callback(path)``: a worker imports no callback
the catalog does not declare.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from odyssey_workers import defaults
from odyssey_workers.errors import CatalogError, UnknownJobError
from odyssey_workers.retry import RetryPolicy

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
FUNCTION_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class Payload(BaseModel):
    """Base of every payload model: JSON values only, and no field the job does not know."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


MAX_ID = 2**63 - 1
"""The largest database id (a signed 64-bit BIGINT on PostgreSQL, SQLite's INTEGER)."""


def _exact_id(value: object) -> object:
    # JSON true and 1e23 decode to bool and float, which lax int validation would turn into
    # 1 and a number past any database key; an id is an int, exactly, within the key range.
    if type(value) is not int or not 1 <= value <= MAX_ID:
        raise ValueError(f"must be an id: a whole number from 1 to {MAX_ID} (not a boolean, decimal or string)")
    return value


Id = Annotated[int, BeforeValidator(_exact_id), Strict(), Field(ge=1, le=MAX_ID)]
"""The type of every id field of a payload (asset_id, user_id, creator_ids...)."""


def queue_for_priority(priority: int) -> str:
    """The platform's numeric priority (1-10) mapped onto the three queues."""
    if not 1 <= priority <= 10:
        raise CatalogError(f"priority {priority} is outside 1..10")
    if priority >= defaults.PRIORITY_HIGH_MIN:
        return "high"
    if priority >= defaults.PRIORITY_DEFAULT_MIN:
        return "default"
    return "low"


@dataclass(frozen=True)
class JobSpec:
    """One catalog entry."""

    name: str
    function: str
    payload: type[Payload]
    queue: str
    priority: int
    timeout: int
    retry: RetryPolicy
    concurrency: int | None
    concurrency_key: str
    description: str
    result_ttl: int = defaults.RESULT_TTL_SECONDS
    failure_ttl: int = defaults.FAILURE_TTL_SECONDS
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def routed_queue(self) -> str:
        """The queue this job is enqueued on: its ``JOB_ROUTES`` route's, else ``queue``."""
        from odyssey_workers.routing import queue_for

        return queue_for(self.name, self.queue)


ALLOWED_OPTIONS = frozenset(
    {
        "function",
        "payload",
        "description",
        "queue",
        "priority",
        "timeout",
        "retry",
        "concurrency",
        "concurrency_key",
        "result_ttl",
        "failure_ttl",
    }
)


class Catalog:
    """The registry of JobSpecs, by name and by function path."""

    def __init__(self) -> None:
        self._by_name: dict[str, JobSpec] = {}
        self._by_function: dict[str, JobSpec] = {}
        self._callbacks: set[str] = set()

    def declare(self, name: str, **options: Any) -> JobSpec:
        """Add one job. Every mistake is a CatalogError naming the job."""
        unknown = sorted(set(options) - ALLOWED_OPTIONS)
        if unknown:
            raise CatalogError(f"job {name!r}: unknown option(s) {', '.join(unknown)}")
        if not NAME_PATTERN.match(name):
            raise CatalogError(f"job {name!r}: name must be dotted lower_snake, as '<domain>.<job>'")
        if name in self._by_name:
            raise CatalogError(f"job {name!r} is declared twice")
        function = options.get("function")
        if not isinstance(function, str) or not FUNCTION_PATTERN.match(function):
            raise CatalogError(
                f"job {name!r}: function must be a dotted import path, as 'jobs.<domain>.<module>.<function>'"
            )
        if function in self._by_function:
            raise CatalogError(f"job {name!r}: function {function} is already job {self._by_function[function].name!r}")
        if function in self._callbacks:
            raise CatalogError(f"job {name!r}: function {function} is already a declared callback")
        payload = options.get("payload")
        if not (isinstance(payload, type) and issubclass(payload, Payload)):
            raise CatalogError(f"job {name!r}: payload must be a Payload model")
        description = options.get("description")
        if not description:
            raise CatalogError(f"job {name!r}: a description is required")
        priority = options.get("priority")
        queue = options.get("queue")
        if priority is None and queue is None:
            raise CatalogError(f"job {name!r}: give a priority (1-10) or a queue")
        if priority is not None:
            if not isinstance(priority, int) or isinstance(priority, bool):
                raise CatalogError(f"job {name!r}: priority must be an integer 1..10")
            try:
                mapped = queue_for_priority(priority)
            except CatalogError as exc:
                raise CatalogError(f"job {name!r}: {exc}") from None
            if queue is not None and queue != mapped:
                raise CatalogError(f"job {name!r}: priority {priority} belongs on {mapped!r}, not {queue!r}")
            queue = mapped
        if queue not in defaults.QUEUE_NAMES:
            raise CatalogError(f"job {name!r}: unknown queue {queue!r} (queues: {', '.join(defaults.QUEUE_NAMES)})")
        if priority is None:
            priority = {"high": 8, "default": 5, "low": 2}[queue]
        timeout = options.get("timeout", defaults.JOB_TIMEOUT_SECONDS)
        if not isinstance(timeout, int) or timeout <= 0:
            raise CatalogError(f"job {name!r}: timeout must be a positive number of seconds")
        retry = options.get("retry", RetryPolicy())
        if not isinstance(retry, RetryPolicy):
            raise CatalogError(f"job {name!r}: retry must be a RetryPolicy")
        concurrency = options.get("concurrency")
        if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 1):
            raise CatalogError(f"job {name!r}: concurrency must be a positive integer")
        spec = JobSpec(
            name=name,
            function=function,
            payload=payload,
            queue=queue,
            priority=priority,
            timeout=timeout,
            retry=retry,
            concurrency=concurrency,
            concurrency_key=options.get("concurrency_key") or name,
            description=description,
            result_ttl=options.get("result_ttl", defaults.RESULT_TTL_SECONDS),
            failure_ttl=options.get("failure_ttl", defaults.FAILURE_TTL_SECONDS),
        )
        self._by_name[name] = spec
        self._by_function[function] = spec
        return spec

    def declare_callback(self, path: str) -> str:
        """Allow the RQ callback at dotted ``path``; returns the path, for ``Callback(path)``."""
        if not isinstance(path, str) or not FUNCTION_PATTERN.match(path):
            raise CatalogError(
                f"callback {path!r}: must be a dotted import path, as 'jobs.<domain>.<module>.<function>'"
            )
        if path in self._callbacks:
            raise CatalogError(f"callback {path!r} is declared twice")
        if path in self._by_function:
            raise CatalogError(f"callback {path!r} is already the function of job {self._by_function[path].name!r}")
        self._callbacks.add(path)
        return path

    def is_callback(self, path: str) -> bool:
        """Whether ``path`` is a callback the catalog declares."""
        return path in self._callbacks

    @property
    def callbacks(self) -> frozenset[str]:
        return frozenset(self._callbacks)

    def get(self, name: str) -> JobSpec:
        """The job called ``name``, or UnknownJobError naming the closest names."""
        try:
            return self._by_name[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._by_name, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownJobError(f"unknown job {name!r}{hint}") from None

    def by_function(self, function: str) -> JobSpec | None:
        return self._by_function.get(function)

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(sorted(self._by_name.values(), key=lambda spec: spec.name))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


CATALOG = Catalog()
declare = CATALOG.declare
declare_callback = CATALOG.declare_callback


def get_catalog() -> Catalog:
    """The catalog with every domain's declarations loaded (no job code is imported)."""
    load_declarations()
    return CATALOG


EXTRA_CONTRACTS_VARIABLE = "ODYSSEY_EXTRA_CONTRACTS"
"""Further contract modules by dotted path, comma-separated (a plug-in, or a test suite's jobs)."""


def load_declarations() -> None:
    """Import every domain's ``contracts`` and each module named in ``ODYSSEY_EXTRA_CONTRACTS``.

    Importing a contracts module declares its jobs; Python imports each module once, so this is
    cheap after the first call. Contracts import pydantic models only, never job code.
    """
    from odyssey_workers.domains import import_part

    import_part("contracts")
    for module in filter(None, (m.strip() for m in os.environ.get(EXTRA_CONTRACTS_VARIABLE, "").split(","))):
        importlib.import_module(module)
