"""``odyssey-workers notify``: announce an event from the command line, or preview its messages.

It enqueues ``notifications.notify`` by name (no job code is imported here); ``--wait`` then
follows the deliveries in the database and prints each one's outcome. ``--preview`` renders
every channel's message through the shared templates (``templating``) without
writing or sending anything. It also adds delivery counts by channel and status to
``odyssey-workers status``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import click
from redis import Redis
from sqlalchemy import func, select

from jobs.notifications.contracts import EventSpec, event_spec
from jobs.notifications.models import FINAL_STATUSES, Delivery, Notification
from jobs.notifications.settings import notifications_settings
from jobs.notifications.templating import TEMPLATED_CHANNELS, render
from odyssey_workers.cli import main
from odyssey_workers.cli.status import register_status_section
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope


def _event(value: str) -> EventSpec:
    try:
        return event_spec(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EVENT") from None


def _data(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--data") from None
    if not isinstance(data, dict):
        raise click.BadParameter('expected a JSON object, as \'{"title": "..."}\'', param_hint="--data")
    return data


def _preview(spec: EventSpec, data: dict[str, Any], locales: list[str], channel: str | None) -> None:
    default = notifications_settings().notifications_default_locale
    for name in [channel] if channel else spec.channels:
        if name not in spec.channels:
            raise click.BadParameter(f"{spec.name} has no {name} message (channels: {', '.join(spec.channels)})")
        for locale in locales or [default]:
            click.secho(f"== {spec.name} / {name} / {locale}", bold=True)
            if name not in TEMPLATED_CHANNELS:  # webhooks: the JSON payload, not prose
                click.echo(json.dumps({"type": spec.name, "data": data}, indent=2))
                continue
            for part, text in render(spec.name, name, locale, data, default_locale=default).parts.items():
                click.secho(f"-- {part}", fg="cyan")
                click.echo(text)


def _outcomes(key: str) -> list[tuple[Any, ...]]:
    with session_scope() as session:
        query = (
            select(
                Delivery.user_id,
                Delivery.channel,
                Delivery.target,
                Delivery.status,
                Delivery.attempts,
                Delivery.scheduled_for,
                Delivery.provider_message_id,
                Delivery.error,
            )
            .join(Notification, Notification.id == Delivery.notification_id)
            .where(Notification.dedupe_key == key)
            .order_by(Delivery.id)
        )
        rows = [tuple(row) for row in session.execute(query)]
        skipped = session.execute(
            select(Notification.user_id, Notification.reason).where(
                Notification.dedupe_key == key, Notification.outcome == "no_channel"
            )
        ).all()
    return rows + [(uid, "-", "-", "no_channel", 0, None, None, reason) for uid, reason in skipped]


def _settled(rows: list[tuple[Any, ...]]) -> bool:
    now = utcnow()
    for _, _, _, status, _, scheduled_for, _, _ in rows:
        deferred = status == "queued" and scheduled_for is not None and scheduled_for > now
        if status not in FINAL_STATUSES and status not in ("held", "no_channel") and not deferred:
            return False
    return True


def _print_outcomes(rows: list[tuple[Any, ...]]) -> None:
    for uid, channel, target, status, attempts, scheduled_for, provider_id, error in rows:
        line = f"user {uid}  {channel:<8} {status:<10} attempts={attempts}  {target}"
        if status == "queued" and scheduled_for is not None:
            line += f"  (waits until {scheduled_for.isoformat()})"
        if provider_id:
            line += f"  id={provider_id}"
        if error:
            line += f"  error: {error}"
        click.echo(line)


@main.command()
@click.argument("event")
@click.option("--user", "users", type=click.IntRange(min=1), multiple=True, help="Recipient user id (repeatable).")
@click.option("--followers-of", type=click.IntRange(min=1), default=None, help="Every follower of this creator id.")
@click.option("--data", "data_json", default="{}", help="Template data as a JSON object.")
@click.option("--wait", is_flag=True, help="Wait for the deliveries and print each outcome.")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, help="Seconds --wait waits.")
@click.option("--preview", is_flag=True, help="Render every channel's message; send nothing.")
@click.option("--locale", "locales", multiple=True, help="Locale(s) to preview (default: the users', or default).")
@click.option("--channel", default=None, help="Preview one channel only.")
def notify(
    event: str,
    users: tuple[int, ...],
    followers_of: int | None,
    data_json: str,
    wait: bool,
    timeout: float,
    preview: bool,
    locales: tuple[str, ...],
    channel: str | None,
) -> None:
    """Send EVENT to users (or a creator's followers), or --preview its messages."""
    spec = _event(event)
    data = _data(data_json)
    if preview:
        chosen = list(locales)
        if not chosen and users:
            with session_scope() as session:
                chosen = sorted(set(session.scalars(select(User.locale).where(User.id.in_(users)))))
        _preview(spec, data, chosen, channel)
        return
    if not users and followers_of is None:
        raise click.UsageError("give --user ID (repeatable) or --followers-of CREATOR_ID")
    from odyssey_workers.queues import enqueue, failure_reason, fetch_job

    key = f"cli:{uuid.uuid4().hex}"
    job = enqueue(
        "notifications.notify", event=spec.name, recipients=list(users), followers_of=followers_of, data=data, key=key
    )
    click.echo(f"enqueued notifications.notify job {job.id} (key {key}) on {job.origin}")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        job = fetch_job(job.id)
        if job.is_failed:
            raise click.ClickException(f"notify failed: {failure_reason(job)}")
        rows = _outcomes(key)
        if job.is_finished and rows and _settled(rows):
            _print_outcomes(rows)
            return
        time.sleep(0.25)
    _print_outcomes(rows)
    raise click.ClickException(f"not all deliveries settled within {timeout:g}s (is a worker running?)")


def delivery_counts(connection: Redis) -> list[dict[str, Any]]:
    """Delivery counts by channel and status, for ``odyssey-workers status``."""
    with session_scope() as session:
        query = select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)
        rows = session.execute(query.order_by(Delivery.channel, Delivery.status)).all()
    return [{"channel": channel, "status": status, "deliveries": count} for channel, status, count in rows]


register_status_section("notification deliveries", delivery_counts)

# The webhook endpoint commands are notifications' too; importing them registers them.
from jobs.notifications import webhook_commands  # noqa: E402, F401
