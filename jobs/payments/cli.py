"""``odyssey-workers payments``: verify the ledger, show a week's payouts, show a creator's balances.

These commands only read the database through the domain's read-side helpers (``ledger_check``,
``payout_preview``); they import no job code and need no worker, so they work while workers are
down, which is when an operator most needs them.
"""

from __future__ import annotations

import re

import click
from sqlalchemy import select

from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import LedgerAccount
from jobs.payments.payout_preview import week_lines
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope

WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")


@main.group()
def payments() -> None:
    """Payments: ledger checks, payouts, balances."""


@payments.command()
def check() -> None:
    """Verify the whole ledger; print every difference and exit 1 if anything is off."""
    with session_scope() as session:
        report = check_ledger(session)
    totals = ", ".join(f"{c} {t:+d}" for c, t in sorted(report.totals.items())) or "no entries"
    click.echo(
        f"{report.transactions} transactions, {report.entries} entries, {report.accounts} accounts; "
        f"sum per currency: {totals}"
    )
    if report.ok:
        click.echo("ledger OK")
        return
    for line in report.problems:
        click.echo(line)
    raise click.ClickException(f"ledger check found {report.problem_count} problem(s)")


@payments.command("payouts")
@click.option("--week", required=True, help="ISO week, as 2026-W48.")
def payouts_command(week: str) -> None:
    """Show what was paid in WEEK, and what would be paid now to everyone not paid yet."""
    if not WEEK.match(week):
        raise click.BadParameter(f"{week!r} is not an ISO week such as 2026-W48", param_hint="--week")
    with session_scope() as session:
        lines = week_lines(session, week)
    if not lines:
        click.echo(f"{week}: no payouts and nobody with money available")
        return
    click.echo(f"{'creator':>8}  {'handle':<24} {'status':<20} {'amount':>14} cur  detail")
    totals: dict[tuple[str, str], int] = {}
    for line in lines:
        click.echo(
            f"{line.creator_id:>8}  {line.handle[:24]:<24} {line.status:<20} {line.amount:>14} {line.currency}  "
            f"{line.detail}"
        )
        totals[(line.status, line.currency)] = totals.get((line.status, line.currency), 0) + line.amount
    for (status, currency), amount in sorted(totals.items()):
        click.echo(f"total {status:<20} {amount:>14} {currency} (minor units)")


@payments.command()
@click.option("--creator", "creator_id", type=int, required=True, help="Creator id.")
def balances(creator_id: int) -> None:
    """Show a creator's ledger balances (minor units), per account and currency."""
    with session_scope() as session:
        rows = session.execute(
            select(LedgerAccount.code, LedgerAccount.balance)
            .where(LedgerAccount.creator_id == creator_id)
            .order_by(LedgerAccount.code)
        ).all()
    if not rows:
        click.echo(f"creator {creator_id} has no ledger accounts")
    for code, balance in rows:
        click.echo(f"{code:<48} {balance:>14}")
