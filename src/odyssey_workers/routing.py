"""Job routes: ``JOB_ROUTES`` sends chosen jobs, or whole domains, to queues of their own.

As Celery's task routes do: ``JOB_ROUTES='{"content.transcode_video": "video", "analytics.*":
"analytics"}'`` puts those jobs on the queues ``video`` and ``analytics``, served only by workers
started for them (``odyssey-workers worker video``). A key is a catalog name or a glob over
catalog names (``content.*`` is the content domain); an exact name wins over a glob, and a longer
glob over a shorter one. Without routes every job stays on the queue its declaration names
(``high``, ``default`` or ``low``), exactly as before.

Routes are checked against the catalog when first used: a key that matches no job, or a queue
name that is not a short lower-case word, stops the process with a message naming it.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping

from odyssey_workers import defaults
from odyssey_workers.errors import ConfigurationError

QUEUE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def _settings_routes() -> tuple[tuple[str, str], ...]:
    from odyssey_workers.settings import get_settings

    return tuple(sorted(get_settings().job_routes.items()))


def _resolve(routes: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    from odyssey_workers.catalog import get_catalog

    # Keyed by the catalog's size too: a plug-in's contracts loaded later add names a glob covers.
    return _resolve_for(routes, len(get_catalog()))


@functools.lru_cache(maxsize=8)
def _resolve_for(routes: tuple[tuple[str, str], ...], catalog_size: int) -> Mapping[str, str]:
    """Each routed catalog name and its queue, for one set of routes (checked here, once)."""
    from odyssey_workers.catalog import get_catalog

    names = [spec.name for spec in get_catalog()]
    resolved: dict[str, tuple[int, str]] = {}  # name -> (how specific the winning key is, queue)
    for key, queue in routes:
        if not QUEUE_NAME.match(queue):
            raise ConfigurationError(
                f"JOB_ROUTES: route {key!r} names queue {queue!r}; a queue is a lower-case word"
                " of letters, digits, '-' or '_' (at most 40)"
            )
        matched = [name for name in names if fnmatch.fnmatchcase(name, key)]
        if not matched:
            raise ConfigurationError(f"JOB_ROUTES: route {key!r} matches no job in the catalog")
        exact = not any(ch in key for ch in "*?[")
        specificity = 10_000 if exact else len(key)
        for name in matched:
            if name not in resolved or resolved[name][0] < specificity:
                resolved[name] = (specificity, queue)
    return {name: queue for name, (_, queue) in resolved.items()}


def job_routes() -> Mapping[str, str]:
    """The routed catalog names and their queues, from ``JOB_ROUTES``."""
    return _resolve(_settings_routes())


def queue_for(name: str, declared: str) -> str:
    """The queue job ``name`` goes to: its route's, else the one its declaration names."""
    routes = _settings_routes()
    if not routes:
        return declared
    return _resolve(routes).get(name, declared)


def queue_names() -> tuple[str, ...]:
    """Every queue in use: ``high default low``, then each queue a route names, sorted."""
    routes = _settings_routes()
    if not routes:
        return defaults.QUEUE_NAMES
    routed = sorted(set(_resolve(routes).values()) - set(defaults.QUEUE_NAMES))
    return (*defaults.QUEUE_NAMES, *routed)


def clear_cache() -> None:
    _resolve_for.cache_clear()
