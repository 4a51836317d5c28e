"""The payments tables analytics reads, declared here as plain SQL tables (names and the columns
read, nothing else): analytics reads payments' data through SQL it owns, never payments' code."""

from __future__ import annotations

import sqlalchemy as sa

from odyssey_workers.db.base import UTCDateTime

plans = sa.table(
    "payment_plans",
    sa.column("id", sa.Integer()),
    sa.column("interval", sa.String()),
    sa.column("price_minor", sa.BigInteger()),
    sa.column("currency", sa.String()),
)

subscriptions = sa.table(
    "payment_subscriptions",
    sa.column("id", sa.Integer()),
    sa.column("user_id", sa.Integer()),
    sa.column("plan_id", sa.Integer()),
    sa.column("anchor_at", UTCDateTime()),
    sa.column("ended_at", UTCDateTime()),
)

daily_metrics = sa.table(
    "payment_daily_metrics",
    sa.column("day", sa.Date()),
    sa.column("creator_id", sa.Integer()),
    sa.column("currency", sa.String()),
    *(
        sa.column(name, sa.BigInteger())
        for name in (
            "charges",
            "gross_revenue",
            "net_revenue",
            "tax",
            "commission",
            "creator_earnings",
            "refunds",
            "mrr",
            "active_subscribers",
            "new_subscribers",
            "churned_subscribers",
            "arpu",
        )
    ),
)
"""One row per day, creator (0 = the platform) and currency, as payments' daily metrics job wrote it."""

PLATFORM = 0
