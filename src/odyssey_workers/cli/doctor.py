"""``odyssey-workers doctor``: which parts are present and working.

Each check returns one line: ``ok``, ``warn`` (works, but not as production wants it),
``default`` (a provider not configured: the local default is used) or ``FAIL``. The command
exits 1 when any check fails. Checks never print a secret, only which variables are set.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

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


PROVIDERS: list[tuple[str, str, tuple[str, ...], str]] = [
    # (part, provider, the settings it needs, the local default when none are set)
    ("email", "SMTP", ("smtp_url",), "file outbox under var/"),
    ("email", "SendGrid", ("sendgrid_api_key",), "file outbox under var/"),
    ("email", "Mailgun", ("mailgun_api_key", "mailgun_domain"), "file outbox under var/"),
    ("email", "DKIM signing", ("dkim_selector", "dkim_private_key"), "SMTP and outbox mail unsigned"),
    ("push", "Web Push", ("vapid_private_key", "vapid_public_key"), "file outbox under var/"),
    ("push", "FCM", ("fcm_server_key",), "file outbox under var/"),
    ("push", "APNs", ("apns_key_id", "apns_team_id", "apns_private_key", "apns_topic"), "file outbox under var/"),
    ("sms", "Twilio", ("twilio_account_sid", "twilio_auth_token", "twilio_from_number"), "file outbox under var/"),
    ("analytics", "Mixpanel", ("mixpanel_token",), "log"),
    ("analytics", "Amplitude", ("amplitude_api_key",), "log"),
    ("analytics", "GA4", ("ga4_measurement_id", "ga4_api_secret"), "log"),
    ("delivery", "Cloudinary", ("cloudinary_cloud_name", "cloudinary_api_key", "cloudinary_api_secret"), "none"),
    ("moderation", "AWS", ("aws_access_key_id", "aws_secret_access_key"), "local checks"),
    ("payments", "Stripe", ("stripe_api_key",), "local ledger only"),
]


def check_providers(settings: Settings) -> list[Check]:
    checks = []
    for part, provider, fields, default in PROVIDERS:
        present = [name for name in fields if getattr(settings, name, None)]
        variables = [name.upper() for name in fields]
        if not present:
            checks.append(Check(f"{part}: {provider}", "default", f"not configured; using: {default}"))
        elif len(present) < len(fields):
            missing = [name.upper() for name in fields if name not in present]
            checks.append(
                Check(
                    f"{part}: {provider}",
                    "FAIL",
                    f"{', '.join(missing)} missing ({', '.join(p.upper() for p in present)} set)",
                )
            )
        else:
            checks.append(Check(f"{part}: {provider}", "ok", f"configured ({', '.join(variables)})"))
    return checks


CHECKS: list[Callable[[Settings], list[Check]]] = [
    check_redis,
    check_database,
    check_storage,
    check_programs,
    check_providers,
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
