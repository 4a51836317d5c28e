"""``odyssey-workers doctor``: which parts are present and working.

Each check returns one line: ``ok``, ``warn`` (works, but not as production wants it),
``default`` (a provider not configured: the local default is used) or ``FAIL``. The command
exits 1 when any check fails. Checks never print a secret, only which variables are set.

It reports only what exists: each domain adds its own lines (``jobs/<domain>/doctor.py``): a
provider line for each provider its code can use (with the setting that selects it), and a
plain "nothing reads it" warning for an accepted setting that no code reads yet
(``VAPID_PUBLIC_KEY``). Analytics says which trackers events are forwarded to.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from types import ModuleType

import click
from rich.console import Console
from rich.table import Table

from odyssey_workers.cli import describe_error, main
from odyssey_workers.cli.jobinfo import to_json
from odyssey_workers.connection import safe_url
from odyssey_workers.errors import OdysseyError
from odyssey_workers.settings import Settings, get_settings

MIN_REDIS_VERSION = (6, 2)
"""The oldest Redis the service supports (RQ 3 needs it)."""


@dataclass(frozen=True)
class Check:
    part: str
    status: str  # ok | warn | default | FAIL
    detail: str


def check_redis(settings: Settings) -> list[Check]:
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
    from redis.retry import Retry

    from odyssey_workers.connection import redis_url

    url = redis_url(settings)
    client = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3, retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
        version = str(client.info("server").get("redis_version", "?"))
    except (RedisError, OSError) as exc:
        hint = "" if settings.redis_url else " (the bundled Redis runs only while 'odyssey-workers run' does)"
        return [Check("redis", "FAIL", f"{describe_error(exc)}{hint}")]
    checks = []
    numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    if numbers < MIN_REDIS_VERSION:
        checks.append(Check("redis", "FAIL", f"{safe_url(url)}: version {version}, needs 6.2 or newer"))
    else:
        checks.append(Check("redis", "ok", f"{safe_url(url)}: version {version}"))
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        appendonly = client.config_get("appendonly").get("appendonly")
    except RedisError:
        # Managed Redis services and ACL users often refuse CONFIG; that is no fault of the setup.
        checks.append(Check("redis config", "warn", "CONFIG GET refused: check appendonly and noeviction yourself"))
    else:
        problems = []
        if policy != "noeviction":
            problems.append(f"maxmemory-policy is {policy} (Redis may evict jobs): use noeviction")
        if appendonly != "yes":
            problems.append("appendonly is off (jobs are lost on a crash): use appendonly yes")
        checks.append(Check("redis config", "warn" if problems else "ok", "; ".join(problems) or "noeviction, aof on"))
    finally:
        client.close()
    return checks


def check_database(settings: Settings) -> list[Check]:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from odyssey_workers.db.migrate import current_revisions, head_revisions
    from odyssey_workers.db.session import get_engine, missing_sqlite_file

    url = settings.resolved_database_url
    missing = missing_sqlite_file(url)
    if missing is not None:  # checking must not create the file (and its folders)
        return [Check("database", "FAIL", f"no database at {missing}: run 'odyssey-workers db upgrade'")]
    try:
        with get_engine(url).connect() as connection:
            connection.execute(text("SELECT 1"))
        have, need = current_revisions(url), head_revisions()
    except (SQLAlchemyError, OdysseyError, OSError) as exc:  # reported as the database failing
        return [Check("database", "FAIL", f"{safe_url(url)}: {describe_error(exc)}")]
    if have != need:
        detail = f"at {', '.join(sorted(have)) or 'no migration'}, needs {', '.join(sorted(need))}"
        return [Check("database", "FAIL", f"{safe_url(url)}: {detail}: run 'odyssey-workers db upgrade'")]
    return [Check("database", "ok", f"{safe_url(url)}: migrations current")]


def check_storage(settings: Settings) -> list[Check]:
    from odyssey_workers.storage import get_storage

    url = settings.resolved_storage_url
    key = f"_doctor/probe-{uuid.uuid4().hex}"
    body = b"odyssey-workers doctor probe"
    try:
        storage = get_storage(settings)
        storage.put(key, body)
        try:
            read = storage.read_bytes(key)
        finally:
            storage.delete(key)
    except Exception as exc:  # noqa: BLE001 - a backend fails in many ways (boto, OS, keys); each is a FAIL line
        return [Check("storage", "FAIL", f"{safe_url(url)}: {describe_error(exc)}")]
    if read != body:
        return [Check("storage", "FAIL", f"{safe_url(url)}: read back different bytes than written")]
    return [Check("storage", "ok", f"{safe_url(url)}: write, read and delete work")]


def check_programs(settings: Settings) -> list[Check]:
    checks = []
    for program in ("ffmpeg", "ffprobe"):
        path = shutil.which(program)
        if not path:
            checks.append(Check(program, "FAIL", "not found: install the Debian package 'ffmpeg'"))
            continue
        try:
            output = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=10, check=True)
            first = output.stdout.splitlines()[0] if output.stdout else "version unknown"
        except (subprocess.SubprocessError, OSError) as exc:
            checks.append(Check(program, "FAIL", f"{path} does not run: {exc}"))
            continue
        checks.append(Check(program, "ok", first))
    return checks


@dataclass(frozen=True)
class Provider:
    """A provider the service really talks to, and the settings its code reads."""

    part: str  # as shown: "<what it serves>: <provider>"
    needs: tuple[str, ...]  # settings its code requires, all of them
    selector: tuple[str, str] | None = None  # (setting, value) that makes the service use it
    default: str = ""  # what is used instead, when it is not selected or not configured
    any_of: tuple[str, ...] = ()  # settings of which its code needs one (FCM: a file or a token)
    optional: bool = False  # selected but not configured only fails its own deliveries (push kinds)


def _names(fields: Iterable[str]) -> str:
    return ", ".join(name.upper() for name in fields)


def check_provider(settings: object, provider: Provider) -> Check | None:
    """One line for a provider; None when it is neither selected nor configured (nothing to say).

    ``settings`` is the settings model holding the provider's fields (a domain's, usually)."""
    present = [name for name in (*provider.needs, *provider.any_of) if getattr(settings, name, None)]
    missing = [name.upper() for name in provider.needs if name not in present]
    if provider.any_of and not set(provider.any_of) & set(present):
        missing.append(" or ".join(name.upper() for name in provider.any_of))
    selected = provider.selector is None or getattr(settings, provider.selector[0], None) == provider.selector[1]
    chosen = "" if provider.selector is None else f" ({provider.selector[0].upper()}={provider.selector[1]})"
    if not selected:
        if not present:
            return None
        setting, value = provider.selector or ("", "")
        current = getattr(settings, setting, None)
        detail = f"{_names(present)} set but not used: {setting.upper()} is {current}, not {value}"
        return Check(provider.part, "warn", f"{detail}; using: {provider.default}")
    if not present:
        if provider.selector is None:
            return Check(provider.part, "default", f"not configured; using: {provider.default}")
        if provider.optional:
            return Check(provider.part, "warn", f"not configured{chosen}: its deliveries fail ({', '.join(missing)})")
        return Check(provider.part, "FAIL", f"selected{chosen} but {', '.join(missing)} not set")
    if missing:
        return Check(provider.part, "FAIL", f"{', '.join(missing)} missing ({_names(present)} set)")
    return Check(provider.part, "ok", f"configured{chosen} ({_names(present)})")


def check_providers(
    settings: object,
    providers: Iterable[Provider],
    selectors: Iterable[tuple[str, str, str]] = (),
    unread: dict[str, str] | None = None,
) -> list[Check]:
    """A domain's provider lines: each provider's, then each selector left on its local default
    (``(part, setting, what is used)``), then each ``unread`` setting that is set (read by nothing)."""
    checks = [check for provider in providers if (check := check_provider(settings, provider)) is not None]
    for part, setting, default in selectors:
        value = getattr(settings, setting, None)
        if value in ("outbox", "sandbox"):
            checks.append(Check(f"{part}: provider", "default", f"{setting.upper()}={value}; using: {default}"))
    for name, why in (unread or {}).items():
        if getattr(settings, name, None):
            checks.append(Check(f"setting: {name.upper()}", "warn", f"set, but nothing reads it: {why}"))
    return checks


def domain_doctors() -> list[ModuleType]:
    """Each domain's ``doctor`` module: ``PROVIDERS``, ``SELECTORS``, ``UNREAD`` and
    ``settings_for(settings)`` (the settings model those fields live on); optionally
    ``more_checks(settings)``, lines no provider describes (a local default's whereabouts)."""
    from odyssey_workers.domains import import_part

    return import_part("doctor")


def all_providers() -> list[Provider]:
    return [provider for module in domain_doctors() for provider in module.PROVIDERS]


def all_unread_settings() -> dict[str, str]:
    unread: dict[str, str] = {}
    for module in domain_doctors():
        unread.update(module.UNREAD)
    return unread


def check_domains(settings: Settings) -> list[Check]:
    """Each domain's provider lines, in discovery order."""
    checks: list[Check] = []
    for module in domain_doctors():
        checks.extend(check_providers(module.settings_for(settings), module.PROVIDERS, module.SELECTORS, module.UNREAD))
        if hasattr(module, "more_checks"):
            checks.extend(module.more_checks(settings))
    return checks


CHECKS: list[Callable[[Settings], list[Check]]] = [
    check_redis,
    check_database,
    check_storage,
    check_programs,
    check_domains,
]


def run_checks(settings: Settings) -> list[Check]:
    results: list[Check] = []
    for check in CHECKS:
        results.extend(check(settings))
    return results


STYLES = {"ok": "green", "warn": "yellow", "default": "cyan", "FAIL": "bold red"}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(as_json: bool) -> None:
    """Check Redis, the database, storage, ffmpeg and each provider's settings (exit 1 if one fails)."""
    results = run_checks(get_settings())
    failed = [check for check in results if check.status == "FAIL"]
    if as_json:
        click.echo(to_json([asdict(check) for check in results]))
    else:
        table = Table(title="odyssey-workers doctor", title_justify="left")
        for column in ("part", "status", "detail"):
            table.add_column(column, overflow="fold")
        for check in results:
            style = STYLES.get(check.status, "")
            table.add_row(check.part, f"[{style}]{check.status}[/{style}]", check.detail)
        Console().print(table)
    if failed:
        raise click.ClickException(f"{len(failed)} check(s) failed: {', '.join(check.part for check in failed)}")
