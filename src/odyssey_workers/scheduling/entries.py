"""``schedules.yaml``: read it and validate every entry before anything is scheduled.

The file is a list under ``schedules:``; each entry names a catalog job, its arguments and a
UTC cron expression. Every problem in the file is collected and raised together as one
``ScheduleError``, one line per problem, each naming the entry, so a broken file is fixed in
one pass and never half-synced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from odyssey_workers.catalog import NAME_PATTERN, get_catalog
from odyssey_workers.errors import PayloadError, ScheduleError, UnknownJobError
from odyssey_workers.payloads import validate_payload
from odyssey_workers.scheduling.periods import FIRE_JOB, next_run

ENTRY_KEYS = frozenset({"name", "cron", "job", "args", "description", "enabled", "area"})
REQUIRED_KEYS = ("name", "cron", "job", "description")
FILE_KEYS = frozenset({"schedules"})
MAX_NAME_LENGTH = 80  # schedule_runs.entry holds 100; the period suffix goes on the key
AREA_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ScheduleEntry:
    """One validated entry of ``schedules.yaml``."""

    name: str
    cron: str
    job: str
    description: str
    args: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    area: str | None = None

    @property
    def job_known(self) -> bool:
        return self.job in get_catalog()


def _cron_problem(expression: Any) -> str | None:
    """Why ``expression`` is not a usable five-field UTC cron expression, or None."""
    if not isinstance(expression, str) or not expression.strip():
        return "cron must be a string such as '0 2 * * *'"
    if not expression.startswith("@") and len(expression.split()) != 5:
        return f"cron {expression!r} must have 5 fields (minute hour day-of-month month day-of-week)"
    if not croniter.is_valid(expression):
        return f"cron {expression!r} is not a valid cron expression"
    try:
        next_run(expression)
    except ValueError:  # croniter's CroniterBadDateError: e.g. '0 0 31 2 *' never happens
        return f"cron {expression!r} never fires"
    return None


def _entry_problems(raw: Mapping[str, Any]) -> list[str]:
    """Everything wrong with one entry (its name is added by the caller)."""
    problems = []
    unknown = sorted(str(key) for key in raw if key not in ENTRY_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(ENTRY_KEYS))})")
    missing = [key for key in REQUIRED_KEYS if raw.get(key) in (None, "")]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if "cron" in raw and raw["cron"] is not None and (problem := _cron_problem(raw["cron"])):
        problems.append(problem)
    if "description" in raw and raw["description"] is not None and not isinstance(raw["description"], str):
        problems.append("description must be text")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append("enabled must be true or false")
        enabled = True
    area = raw.get("area")
    if area is not None and not (isinstance(area, str) and AREA_PATTERN.match(area)):
        problems.append("area must be a lower_snake name such as 'payments'")
    args = raw.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        problems.append("args must be a mapping of payload fields")
        args = None
    job = raw.get("job")
    if job in (None, ""):
        return problems
    if not isinstance(job, str):
        return [*problems, "job must be a catalog job name"]
    if job == FIRE_JOB:
        return [*problems, f"job {FIRE_JOB} is the scheduler's own firing job and cannot be scheduled"]
    catalog = get_catalog()
    try:
        spec = catalog.get(job)
    except UnknownJobError as exc:
        if enabled:
            problems.append(f"{exc} (an entry whose job does not exist yet must say enabled: false and its area)")
        elif area is None:
            problems.append(f"job {job!r} is not in the catalog yet: say which area will bring it (area: ...)")
        return problems
    if args is not None:
        try:
            validate_payload(spec, args)
        except PayloadError as exc:
            problems.append(f"args: {exc}")
    return problems


def parse_schedules(text: str, source: str = "schedules.yaml") -> list[ScheduleEntry]:
    """Every entry of a schedules document, or a ScheduleError listing every problem in it."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScheduleError(f"{source}: not valid YAML{where}: {reason}") from None
    if document is None:
        document = {"schedules": []}
    if not isinstance(document, Mapping) or not isinstance(document.get("schedules"), list):
        raise ScheduleError(f"{source}: expected a mapping with a 'schedules:' list of entries")
    problems = []
    extra = sorted(str(key) for key in document if key not in FILE_KEYS)
    if extra:
        problems.append(f"{source}: unknown top-level key(s) {', '.join(extra)} (only 'schedules')")

    entries: list[ScheduleEntry] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(document["schedules"], start=1):
        if not isinstance(raw, Mapping):
            problems.append(f"{source}: entry #{position}: expected a mapping with name, cron, job, description")
            continue
        name = raw.get("name")
        label = f"entry #{position}" if not isinstance(name, str) or not name else f"entry {name!r}"
        entry_problems = []
        if isinstance(name, str) and name:
            if not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH:
                entry_problems.append(
                    f"name must be dotted lower_snake of at most {MAX_NAME_LENGTH} characters, as 'payouts.weekly'"
                )
            if name in seen:
                entry_problems.append(f"duplicate name: entries #{seen[name]} and #{position} are both called this")
            seen.setdefault(name, position)
        elif name not in (None, ""):
            entry_problems.append("name must be text")
        entry_problems.extend(_entry_problems(raw))
        if entry_problems:
            problems.extend(f"{source}: {label}: {problem}" for problem in entry_problems)
            continue
        entries.append(
            ScheduleEntry(
                name=raw["name"],
                cron=raw["cron"].strip(),
                job=raw["job"],
                description=raw["description"].strip(),
                args=dict(raw.get("args") or {}),
                enabled=raw.get("enabled", True),
                area=raw.get("area"),
            )
        )
    if problems:
        count = len(problems)
        header = f"{source}: {count} problem{'s' if count > 1 else ''}, nothing was scheduled:"
        raise ScheduleError("\n".join([header, *(f"  {problem}" for problem in problems)]))
    return entries


def load_schedules(path: Path | str) -> list[ScheduleEntry]:
    """Read and validate a schedules file; a missing file is a ScheduleError too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScheduleError(f"{path}: no such schedules file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleError(f"{path}: cannot read it: {exc}") from None
    return parse_schedules(text, source=str(path))
