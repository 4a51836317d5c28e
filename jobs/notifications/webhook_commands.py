"""``odyssey-workers webhooks register|list|rotate|disable``: the endpoint front door from the shell.

Thin wrappers over ``jobs.notifications.endpoints``; a refused URL or an unknown id is one line on
stderr and exit code 1. Secrets are printed only by ``register`` and ``rotate``.
"""

from __future__ import annotations

import click

from jobs.notifications import endpoints as api
from odyssey_workers.cli import main
from odyssey_workers.cli.jobinfo import to_json


def _line(info: api.EndpointInfo) -> str:
    state = "active" if info.active else "disabled"
    if info.active and info.failing:
        state = "failing"
    events = ",".join(info.events) or "*"
    text = f"{info.id:>5}  user {info.user_id:<6} {info.kind:<8} {state:<9} events={events}  {info.url}"
    if info.previous_secret_expires_at:
        text += f"  (old secret signs until {info.previous_secret_expires_at.isoformat()})"
    if info.last_error and (info.failing or not info.active):
        text += f"  last error: {info.last_error}"
    return text


@main.group()
def webhooks() -> None:
    """Register, list, rotate and disable webhook (and Discord) endpoints."""


@webhooks.command()
@click.argument("user_id", type=click.IntRange(min=1))
@click.argument("url")
@click.option("--kind", type=click.Choice(api.KINDS), default="webhook", show_default=True)
@click.option("--event", "events", multiple=True, help="Only this event (repeatable; default: every event).")
@click.option("--no-resolve", is_flag=True, help="Skip the DNS check now (every delivery still checks).")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoint and its secret as JSON.")
def register(user_id: int, url: str, kind: str, events: tuple[str, ...], no_resolve: bool, as_json: bool) -> None:
    """Register URL as an endpoint of USER_ID; prints its signing secret (shown only now)."""
    made = api.register_endpoint(user_id, url, kind=kind, events=events, resolve=not no_resolve)
    if as_json:
        click.echo(to_json(made.as_dict()))
        return
    click.echo(f"registered endpoint {made.endpoint.id} for user {user_id}: {url}")
    if made.secret:
        click.echo(f"secret: {made.secret}  (store it now: it is not shown again)")


@webhooks.command("list")
@click.option("--user", "user_id", type=click.IntRange(min=1), default=None, help="Only this user's endpoints.")
@click.option("--active", "active_only", is_flag=True, help="Leave out disabled endpoints.")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoints as JSON (no secrets).")
def list_command(user_id: int | None, active_only: bool, as_json: bool) -> None:
    """List endpoints with their state and last error; never their secrets."""
    found = api.list_endpoints(user_id, include_disabled=not active_only)
    if as_json:
        click.echo(to_json([info.as_dict() for info in found]))
        return
    if not found:
        click.echo("no endpoints")
    for info in found:
        click.echo(_line(info))


@webhooks.command()
@click.argument("endpoint_id", type=click.IntRange(min=1))
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0, max=api.MAX_ROTATION_GRACE_SECONDS / 3600),
    default=api.DEFAULT_ROTATION_GRACE_SECONDS / 3600,
    show_default=True,
    help="How long the old secret keeps signing beside the new one (0: stops now).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the endpoint and its new secret as JSON.")
def rotate(endpoint_id: int, grace_hours: float, as_json: bool) -> None:
    """Give ENDPOINT_ID a new signing secret (shown only now)."""
    made = api.rotate_secret(endpoint_id, grace_seconds=grace_hours * 3600)
    if as_json:
        click.echo(to_json(made.as_dict()))
        return
    click.echo(f"endpoint {endpoint_id}: new secret: {made.secret}  (store it now: it is not shown again)")
    expires = made.endpoint.previous_secret_expires_at
    click.echo(f"the old secret signs too until {expires.isoformat()}" if expires else "the old secret no longer signs")


@webhooks.command()
@click.argument("endpoint_id", type=click.IntRange(min=1))
@click.option("--reason", default="disabled on request", show_default=True, help="Recorded as the last error.")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoint as JSON.")
def disable(endpoint_id: int, reason: str, as_json: bool) -> None:
    """Disable ENDPOINT_ID: no new deliveries, queued ones are dropped as suppressed."""
    info = api.disable_endpoint(endpoint_id, reason)
    if as_json:
        click.echo(to_json(info.as_dict()))
        return
    click.echo(f"endpoint {endpoint_id} disabled: {info.url}")
