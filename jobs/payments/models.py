"""Payments tables: the double-entry ledger, plans and subscriptions, charges, refunds, payouts, metrics.

Money is always an integer number of minor units (``BigInteger``) beside an ISO 4217 code; rates
are ``Decimal`` stored as exact text (SQLite has no decimal type and would hand back floats).
The ledger is append-only: ``payment_entries`` rows are never updated or deleted, and the
``balance`` column of ``payment_accounts`` is a cache of their sum that ``payments check``
verifies.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, BigId, enum_type, utcnow


class DecimalText(TypeDecorator[Decimal]):
    """An exact Decimal kept as text, so no database turns a rate into a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal rate, got {type(value).__name__}")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class AccountKind(enum.StrEnum):
    CREATOR_PENDING = "creator_pending"
    CREATOR_AVAILABLE = "creator_available"
    CREATOR_IN_TRANSIT = "creator_in_transit"
    CREATOR_DEBT = "creator_debt"
    PLATFORM_REVENUE = "platform_revenue"
    TAX_LIABILITY = "tax_liability"
    PROCESSOR_CLEARING = "processor_clearing"
    REFUNDS_PAYABLE = "refunds_payable"


class LedgerAccount(Base):
    """One account in one currency. ``normal_side`` is +1 for credit-normal (what the platform
    owes: creator balances, tax, revenue) and -1 for debit-normal (what it holds or is owed:
    processor clearing, creator debt); ``balance`` = normal_side x sum(entry amounts)."""

    __tablename__ = "payment_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)  # "creator:12:available:USD"
    kind: Mapped[str] = mapped_column(String(32))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("creators.id"), index=True)
    jurisdiction: Mapped[str | None] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    normal_side: Mapped[int] = mapped_column(SmallInteger)
    non_negative: Mapped[bool] = mapped_column(Boolean)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # cache; entries are the truth
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerTransaction(Base):
    """One money movement: entries summing to zero per currency, posted once per idempotency key."""

    __tablename__ = "payment_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the entries: same key, other amounts -> error
    memo: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LedgerEntry(Base):
    """One signed amount on one account (credit positive, debit negative). Never updated."""

    __tablename__ = "payment_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("payment_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("payment_accounts.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)


class CreatorPaymentProfile(Base):
    """A creator's commission override and payout method."""

    __tablename__ = "payment_creator_profiles"

    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), primary_key=True)
    commission_rate: Mapped[Decimal | None] = mapped_column(DecimalText)  # None: the platform rate
    payout_destination: Mapped[str | None] = mapped_column(String(200))  # Stripe acct_..., sandbox token
    payout_currency: Mapped[str] = mapped_column(String(3), default="USD")
    payout_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlanInterval(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"


class SubscriptionStatus(enum.StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    EXPIRED = "expired"


class Plan(Base):
    """What a fan pays a creator, per month or per year."""

    __tablename__ = "payment_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    interval: Mapped[PlanInterval] = mapped_column(enum_type(PlanInterval, length=8))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscription(Base):
    """A fan's subscription to a plan; ``next_attempt_at`` is when the renewal run next charges it."""

    __tablename__ = "payment_subscriptions"
    __table_args__ = (Index("ix_payment_subscriptions_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plans.id"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"), index=True)
    status: Mapped[SubscriptionStatus] = mapped_column(enum_type(SubscriptionStatus))
    payment_token: Mapped[str] = mapped_column(String(200))
    billing_country: Mapped[str] = mapped_column(String(2))
    billing_region: Mapped[str | None] = mapped_column(String(8))
    anchor_at: Mapped[datetime]  # periods are counted from here, so month ends do not drift
    periods_paid: Mapped[int] = mapped_column(Integer, default=0)
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    canceled_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChargeStatus(enum.StrEnum):
    PENDING = "pending"  # key made, provider not yet answered for sure
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


class Charge(Base):
    """One attempt to take money from a fan, and how it was split."""

    __tablename__ = "payment_charges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("payment_subscriptions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"), index=True)
    status: Mapped[ChargeStatus] = mapped_column(enum_type(ChargeStatus), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    gross_amount: Mapped[int] = mapped_column(BigInteger)  # what the fan pays
    net_amount: Mapped[int] = mapped_column(BigInteger)  # taxable amount
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    commission_amount: Mapped[int] = mapped_column(BigInteger)
    creator_amount: Mapped[int] = mapped_column(BigInteger)
    commission_rate: Mapped[Decimal] = mapped_column(DecimalText)
    tax_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # jurisdiction, name, rate, amount
    tax_inclusive: Mapped[bool] = mapped_column(Boolean)
    billing_country: Mapped[str] = mapped_column(String(2))
    billing_region: Mapped[str | None] = mapped_column(String(8))
    payment_token: Mapped[str] = mapped_column(String(200))
    period_end: Mapped[datetime | None]  # the subscription period this charge pays for
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    provider: Mapped[str] = mapped_column(String(16))
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_tax: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_commission: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_creator: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_tax_lines: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # jurisdiction -> minor units
    available_at: Mapped[datetime | None]  # end of the hold period
    released_at: Mapped[datetime | None] = mapped_column(index=True)
    notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(index=True)


class RefundStatus(enum.StrEnum):
    PENDING = "pending"  # key made, provider not yet answered for sure
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(Base):
    """Money given back on a charge, and how the split was reversed."""

    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("payment_charges.id"), index=True)
    status: Mapped[RefundStatus] = mapped_column(enum_type(RefundStatus))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    commission_amount: Mapped[int] = mapped_column(BigInteger)
    creator_amount: Mapped[int] = mapped_column(BigInteger)
    from_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    from_available: Mapped[int] = mapped_column(BigInteger, default=0)
    to_debt: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_lines: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(200), default="")
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    settled_at: Mapped[datetime | None]


class PayoutStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"


class Payout(Base):
    """One transfer to one creator for one ISO week: the (creator, week) pair is its key."""

    __tablename__ = "payment_payouts"
    __table_args__ = (UniqueConstraint("creator_id", "week"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"))
    week: Mapped[str] = mapped_column(String(8), index=True)  # "2026-W48"
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[PayoutStatus] = mapped_column(enum_type(PayoutStatus), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    debt_netted: Mapped[int] = mapped_column(BigInteger, default=0)
    provider: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(200))
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]


class DailyRevenueMetric(Base):
    """Revenue figures of one day, for one creator (``creator_id`` > 0) or the platform (0)."""

    __tablename__ = "payment_daily_metrics"
    __table_args__ = (UniqueConstraint("day", "creator_id", "currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    creator_id: Mapped[int] = mapped_column(Integer)  # 0 = the whole platform
    currency: Mapped[str] = mapped_column(String(3))
    charges: Mapped[int] = mapped_column(Integer, default=0)
    gross_revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    net_revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    commission: Mapped[int] = mapped_column(BigInteger, default=0)
    creator_earnings: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)
    mrr: Mapped[int] = mapped_column(BigInteger, default=0)
    active_subscribers: Mapped[int] = mapped_column(Integer, default=0)
    new_subscribers: Mapped[int] = mapped_column(Integer, default=0)
    churned_subscribers: Mapped[int] = mapped_column(Integer, default=0)
    churn_rate: Mapped[Decimal] = mapped_column(DecimalText, default=Decimal(0))
    arpu: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
