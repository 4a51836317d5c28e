"""Domains: each is one package, found by listing ``jobs`` (plus ``ODYSSEY_EXTRA_DOMAINS``).

A domain is a folder that owns everything of one area of the platform: its payload models and
job declarations (``contracts``), its tables (``models``) and Alembic migrations
(``migrations/``), its settings (``settings.SETTINGS``), its commands (``cli``), its doctor
checks (``doctor``), its part of ``make demo`` (``demo``) and its job modules. The runtime
never names a domain: it asks this module for the domains and imports the part it needs from
each one that has it. Adding a domain is adding a folder; no list in the runtime changes.

``ODYSSEY_EXTRA_DOMAINS`` names further domain packages by dotted path, comma-separated (a
plug-in, or the test suite's sample domain); they are found after the ones under ``jobs``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType

from odyssey_workers.errors import ConfigurationError

DOMAINS_PACKAGE = "jobs"
"""The package whose sub-packages are the domains."""

EXTRA_DOMAINS_VARIABLE = "ODYSSEY_EXTRA_DOMAINS"


def _extra_domains() -> tuple[str, ...]:
    raw = os.environ.get(EXTRA_DOMAINS_VARIABLE, "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


@cache
def _discover(extra: tuple[str, ...]) -> tuple[str, ...]:
    package = importlib.import_module(DOMAINS_PACKAGE)
    found = sorted(
        f"{DOMAINS_PACKAGE}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if info.ispkg and not info.name.startswith("_")
    )
    for name in extra:
        if not _importable(name):
            raise ConfigurationError(f"{EXTRA_DOMAINS_VARIABLE}: no package named {name!r} can be imported")
    return (*found, *(name for name in extra if name not in found))


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def discover_domains() -> tuple[str, ...]:
    """The dotted package names of every domain, those under ``jobs`` first, sorted."""
    return _discover(_extra_domains())


def has_part(domain: str, part: str) -> bool:
    """Whether ``domain`` has a module or package named ``part`` (without importing it)."""
    return _importable(f"{domain}.{part}")


def import_part(part: str) -> list[ModuleType]:
    """Import ``<domain>.<part>`` for every domain that has one, in discovery order."""
    return [importlib.import_module(f"{domain}.{part}") for domain in discover_domains() if has_part(domain, part)]


def short_name(domain: str) -> str:
    """The last component of a domain's package name (``jobs.<domain>`` → ``<domain>``)."""
    return domain.rsplit(".", 1)[-1]


def migration_dirs() -> list[Path]:
    """Every domain's ``migrations`` folder, as Alembic version locations."""
    dirs: list[Path] = []
    for domain in discover_domains():
        spec = importlib.util.find_spec(domain)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            folder = Path(location) / "migrations"
            if folder.is_dir():
                dirs.append(folder)
    return dirs
