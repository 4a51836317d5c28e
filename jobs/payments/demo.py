"""The payments domain's part of ``make demo``: renewals, the ledger split and a creator's payout."""

from __future__ import annotations

from odyssey_workers.demo import cli, console, demo_people, short, show, wait_for, wait_for_jobs

DEMO_NAME = "payments"
DEMO_ORDER = 30


def run() -> None:
    """Subscriptions renewed through the sandbox provider, split in the ledger, creator paid."""
    from datetime import UTC, datetime, timedelta

    import odyssey_workers
    from jobs.payments.models import CreatorPaymentProfile, Plan, PlanInterval, Subscription, SubscriptionStatus
    from odyssey_workers.db.session import session_scope

    console.print("[bold]Payments[/bold]: three fans' subscriptions renew, the split is posted, the creator is paid")
    creator_id, fans = demo_people()
    now = datetime.now(UTC)
    with session_scope() as session:
        if session.get(CreatorPaymentProfile, creator_id) is None:
            session.add(
                CreatorPaymentProfile(
                    creator_id=creator_id, payout_destination="acct_demo", payout_currency="EUR", payout_verified=True
                )
            )
        plan = Plan(
            creator_id=creator_id, name="Gold tier", interval=PlanInterval.MONTH, price_minor=999, currency="EUR"
        )
        session.add(plan)
        session.flush()
        for fan, token in zip(fans, ["tok_ok", "tok_ok", "tok_decline"], strict=True):
            session.add(
                Subscription(
                    user_id=fan,
                    plan_id=plan.id,
                    creator_id=creator_id,
                    status=SubscriptionStatus.ACTIVE,
                    payment_token=token,
                    billing_country="DE",
                    anchor_at=now - timedelta(days=31),
                    current_period_start=now - timedelta(days=31),
                    current_period_end=now - timedelta(minutes=1),
                    next_attempt_at=now - timedelta(minutes=1),
                )
            )
    renewals = wait_for_jobs([odyssey_workers.enqueue("payments.renew_subscriptions")], "the renewal run")
    console.print(f"   renewals: {short(renewals[0])}")
    week = now.strftime("%G-W%V")
    payouts = wait_for_jobs([odyssey_workers.enqueue("payments.run_weekly_payouts", week=week)], "the payout run")
    console.print(f"   payout run {week}: {short(payouts[0])}")
    wait_for(lambda: "paid" in cli("payments", "payouts", "--week", week).stdout, "the creator's payout", 120)
    show(cli("payments", "payouts", "--week", week).stdout)
    show(cli("payments", "check").stdout)
