"""payments: ledger, plans, subscriptions, charges, refunds, payouts, daily metrics

Revision ID: 0300
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0300"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("payments",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_daily_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("charges", sa.Integer(), nullable=False),
        sa.Column("gross_revenue", sa.BigInteger(), nullable=False),
        sa.Column("net_revenue", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("creator_earnings", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("mrr", sa.BigInteger(), nullable=False),
        sa.Column("active_subscribers", sa.Integer(), nullable=False),
        sa.Column("new_subscribers", sa.Integer(), nullable=False),
        sa.Column("churned_subscribers", sa.Integer(), nullable=False),
        sa.Column("churn_rate", sa.String(length=40), nullable=False),
        sa.Column("arpu", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_daily_metrics")),
        sa.UniqueConstraint(
            "day", "creator_id", "currency", name=op.f("uq_payment_daily_metrics_day_creator_id_currency")
        ),
    )
    with op.batch_alter_table("payment_daily_metrics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_daily_metrics_day"), ["day"], unique=False)

    op.create_table(
        "payment_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_transactions_idempotency_key")),
    )
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_transactions_created_at"), ["created_at"], unique=False)

    op.create_table(
        "payment_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=16), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("normal_side", sa.SmallInteger(), nullable=False),
        sa.Column("non_negative", sa.Boolean(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_payment_accounts_creator_id_creators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_payment_accounts_code")),
    )
    with op.batch_alter_table("payment_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_accounts_creator_id"), ["creator_id"], unique=False)

    op.create_table(
        "payment_creator_profiles",
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("commission_rate", sa.String(length=40), nullable=True),
        sa.Column("payout_destination", sa.String(length=200), nullable=True),
        sa.Column("payout_currency", sa.String(length=3), nullable=False),
        sa.Column("payout_verified", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_payment_creator_profiles_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creator_id", name=op.f("pk_payment_creator_profiles")),
    )
    op.create_table(
        "payment_payouts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("debt_netted", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("provider_reference", sa.String(length=200), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_payment_payouts_creator_id_creators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_payouts")),
        sa.UniqueConstraint("creator_id", "week", name=op.f("uq_payment_payouts_creator_id_week")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_payouts_idempotency_key")),
    )
    with op.batch_alter_table("payment_payouts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_payouts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_payouts_week"), ["week"], unique=False)

    op.create_table(
        "payment_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_payment_plans_creator_id_creators"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_plans")),
    )
    with op.batch_alter_table("payment_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_plans_creator_id"), ["creator_id"], unique=False)

    op.create_table(
        "payment_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["payment_accounts.id"], name=op.f("fk_payment_entries_account_id_payment_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["payment_transactions.id"],
            name=op.f("fk_payment_entries_transaction_id_payment_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_entries")),
    )
    with op.batch_alter_table("payment_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_entries_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_entries_transaction_id"), ["transaction_id"], unique=False)

    op.create_table(
        "payment_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_token", sa.String(length=200), nullable=False),
        sa.Column("billing_country", sa.String(length=2), nullable=False),
        sa.Column("billing_region", sa.String(length=8), nullable=True),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("periods_paid", sa.Integer(), nullable=False),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_payment_subscriptions_creator_id_creators")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["payment_plans.id"], name=op.f("fk_payment_subscriptions_plan_id_payment_plans")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payment_subscriptions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_subscriptions")),
    )
    with op.batch_alter_table("payment_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_subscriptions_creator_id"), ["creator_id"], unique=False)
        batch_op.create_index(
            "ix_payment_subscriptions_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payment_subscriptions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "payment_charges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross_amount", sa.BigInteger(), nullable=False),
        sa.Column("net_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("commission_amount", sa.BigInteger(), nullable=False),
        sa.Column("creator_amount", sa.BigInteger(), nullable=False),
        sa.Column("commission_rate", sa.String(length=40), nullable=False),
        sa.Column("tax_lines", sa.JSON(), nullable=False),
        sa.Column("tax_inclusive", sa.Boolean(), nullable=False),
        sa.Column("billing_country", sa.String(length=2), nullable=False),
        sa.Column("billing_region", sa.String(length=8), nullable=True),
        sa.Column("payment_token", sa.String(length=200), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_reference", sa.String(length=200), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_tax", sa.BigInteger(), nullable=False),
        sa.Column("refunded_commission", sa.BigInteger(), nullable=False),
        sa.Column("refunded_creator", sa.BigInteger(), nullable=False),
        sa.Column("refunded_tax_lines", sa.JSON(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_payment_charges_creator_id_creators")),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["payment_subscriptions.id"],
            name=op.f("fk_payment_charges_subscription_id_payment_subscriptions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payment_charges_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_charges")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_charges_idempotency_key")),
    )
    with op.batch_alter_table("payment_charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_charges_creator_id"), ["creator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_charges_released_at"), ["released_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_charges_settled_at"), ["settled_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_charges_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_charges_subscription_id"), ["subscription_id"], unique=False)

    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("charge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("commission_amount", sa.BigInteger(), nullable=False),
        sa.Column("creator_amount", sa.BigInteger(), nullable=False),
        sa.Column("from_pending", sa.BigInteger(), nullable=False),
        sa.Column("from_available", sa.BigInteger(), nullable=False),
        sa.Column("to_debt", sa.BigInteger(), nullable=False),
        sa.Column("tax_lines", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("provider_reference", sa.String(length=200), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["payment_charges.id"], name=op.f("fk_payment_refunds_charge_id_payment_charges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_refunds_idempotency_key")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_refunds_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_refunds_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_refunds_created_at"))
        batch_op.drop_index(batch_op.f("ix_payment_refunds_charge_id"))

    op.drop_table("payment_refunds")
    with op.batch_alter_table("payment_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_charges_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_payment_charges_status"))
        batch_op.drop_index(batch_op.f("ix_payment_charges_settled_at"))
        batch_op.drop_index(batch_op.f("ix_payment_charges_released_at"))
        batch_op.drop_index(batch_op.f("ix_payment_charges_creator_id"))

    op.drop_table("payment_charges")
    with op.batch_alter_table("payment_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_subscriptions_user_id"))
        batch_op.drop_index("ix_payment_subscriptions_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_payment_subscriptions_creator_id"))

    op.drop_table("payment_subscriptions")
    with op.batch_alter_table("payment_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_entries_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_payment_entries_account_id"))

    op.drop_table("payment_entries")
    with op.batch_alter_table("payment_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_plans_creator_id"))

    op.drop_table("payment_plans")
    with op.batch_alter_table("payment_payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_payouts_week"))
        batch_op.drop_index(batch_op.f("ix_payment_payouts_status"))

    op.drop_table("payment_payouts")
    op.drop_table("payment_creator_profiles")
    with op.batch_alter_table("payment_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_accounts_creator_id"))

    op.drop_table("payment_accounts")
    with op.batch_alter_table("payment_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_transactions_created_at"))

    op.drop_table("payment_transactions")
    with op.batch_alter_table("payment_daily_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_daily_metrics_day"))

    op.drop_table("payment_daily_metrics")
