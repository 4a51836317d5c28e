"""Payments at scale: the renewal run over 100,000 subscriptions and the payout run over 20,000
creators, on SQLite and on PostgreSQL, against the naive form (one ORM load and one commit per
subscription or creator) measured in the same run on the same data.

Figures: subscriptions (creators) per second, database round trips per subscription (statements
sent, an executemany counting once, plus commits, counted with SQLAlchemy events), and peak
resident-memory growth at two sizes (a quarter of N, then the other three quarters) to show it
stays flat. The naive form is timed on a sample (it is the slow one); ours runs over everything.
Goal: at least 5x the naive rate, memory flat in the number of subscriptions.
"""

from __future__ import annotations

import os
import sys
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from benchmarks.common import Row
from benchmarks.payments_support import (
    NOW,
    InstantProcessor,
    Measure,
    RoundTrips,
    fund_creators,
    measure,
    naive_payouts,
    naive_renew,
    seed_creators,
    seed_subscriptions,
)

FLAT_MEMORY_SLACK_MB = 16.0
"""Memory counts as flat when the large run grows at most 1.5x the small run's growth plus this."""


@contextmanager
def database(backend: str) -> Iterator[str]:
    from odyssey_workers.db.migrate import upgrade
    from odyssey_workers.db.session import dispose_engines
    from odyssey_workers.settings import get_settings

    with tempfile.TemporaryDirectory(prefix="bench-payments-") as tmp:
        server = None
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
        else:
            from tests.support.servers import PostgresServer

            server = PostgresServer().start()
            url = server.create_database("bench_payments")
        os.environ.update(DATABASE_URL=url, VAR_DIR=tmp, PAYMENT_NOTIFICATIONS="false")
        get_settings.cache_clear()
        dispose_engines()
        upgrade(url)
        try:
            yield url
        finally:
            dispose_engines()
            if server is not None:
                server.stop()


def _rate_rows(area: str, unit: str, naive: Measure, naive_n: int, ours: Measure, ours_n: int, note: str) -> list[Row]:
    naive_rate, ours_rate = naive_n / naive.seconds, ours_n / ours.seconds
    naive_trips, ours_trips = naive.round_trips / naive_n, ours.round_trips / ours_n
    return [
        Row(
            area,
            f"{unit} per second",
            "naive ORM, commit each",
            naive_rate,
            ours_rate,
            f"{unit}/s",
            ours_rate / naive_rate,
            ">= 5x",
            ours_rate >= 5 * naive_rate,
            note,
        ),
        Row(
            area,
            f"round trips per {unit.rstrip('s')}",
            "naive ORM, commit each",
            naive_trips,
            ours_trips,
            "round trips",
            naive_trips / ours_trips,
            "fewer",
            ours_trips < naive_trips,
        ),
    ]


def _memory_row(area: str, small: Measure, small_n: int, large: Measure, large_n: int) -> Row:
    flat = large.peak_rss_mb <= 1.5 * max(small.peak_rss_mb, 0.0) + FLAT_MEMORY_SLACK_MB
    return Row(
        area,
        f"peak RSS growth, {small_n:,} vs {large_n:,}",
        f"ours at {small_n:,}",
        small.peak_rss_mb,
        large.peak_rss_mb,
        "MB",
        (small.peak_rss_mb + 1) / (large.peak_rss_mb + 1),
        "flat",
        flat,
        f"{large_n / small_n:.0f}x the items; flat = <= 1.5x + {FLAT_MEMORY_SLACK_MB:.0f} MB",
    )


def memory_sizes(total: int) -> tuple[int, int]:
    """Two sizes for the memory runs, both past one batch (below it, memory grows with the batch)."""
    small = max(total // 20, 1_000)
    return small, 4 * small


def traced_peak_mb(work: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def seed_and_fund(count: int, first_id: int) -> list[int]:
    from odyssey_workers.db.session import session_scope

    with session_scope() as session:
        ids = seed_creators(session, count, first_id=first_id)
        fund_creators(session, ids, 5_000)
    return ids


def bench_backend(backend: str, quick: bool) -> list[Row]:
    from jobs.payments import payouts, subscriptions
    from jobs.payments.models import Subscription
    from odyssey_workers.db.session import get_engine, session_scope

    subs = 2_000 if quick else 100_000
    creators = 1_000 if quick else 20_000
    naive_subs, naive_creators = (200, 100) if quick else (3_000, 2_000)
    rows: list[Row] = []
    with database(backend) as url:
        engine = get_engine(url)
        trips = RoundTrips(engine)
        provider = InstantProcessor()
        with session_scope() as session:
            earners = seed_creators(session, 50 if quick else 1_000, first_id=1)
            seed_subscriptions(session, earners, subs // 4, first_user=1_000_000, due=NOW)
        with session_scope() as session:
            first = list(session.scalars(select(Subscription.id).order_by(Subscription.id).limit(naive_subs)))
        with measure(trips) as naive:
            naive_renew(engine, first, provider)
        small_n = subs // 4 - naive_subs
        with measure(trips) as small:
            assert subscriptions.renew_due_subscriptions(NOW, provider=provider).succeeded == small_n
        with session_scope() as session:
            seed_subscriptions(session, earners, subs - subs // 4, first_user=2_000_000, due=NOW + timedelta(days=1))
        large_n = subs - subs // 4
        with measure(trips) as large:
            assert (
                subscriptions.renew_due_subscriptions(NOW + timedelta(days=1), provider=provider).succeeded == large_n
            )
        area = f"payments renewal ({backend}, {subs:,} subs)"
        note = f"naive timed on {naive_subs:,} subscriptions, ours on {small_n + large_n:,}"
        both = Measure(small.seconds + large.seconds, small.round_trips + large.round_trips)
        rows += _rate_rows(area, "subscriptions", naive, naive_subs, both, small_n + large_n, note)
        rows.append(_memory_row(area, small, small_n, large, large_n))
        # Python-heap peak (tracemalloc) at two sizes, in runs of their own: tracing slows the code,
        # so these runs are not timed.
        peaks = []
        for step, count in enumerate(memory_sizes(subs), start=2):
            due = NOW + timedelta(days=step)
            with session_scope() as session:
                seed_subscriptions(session, earners, count, first_user=step * 10_000_000, due=due)
            peaks.append(traced_peak_mb(lambda due=due: subscriptions.renew_due_subscriptions(due, provider=provider)))
        (small_peak, large_peak), (a, b) = peaks, memory_sizes(subs)
        rows.append(
            Row(
                area,
                f"peak Python heap (tracemalloc), {a:,} vs {b:,}",
                f"ours at {a:,}",
                small_peak,
                large_peak,
                "MB",
                small_peak / large_peak,
                "flat",
                large_peak <= 1.5 * small_peak + 1,
                f"{b // a}x the subscriptions; flat = <= 1.5x + 1 MB",
            )
        )

        with session_scope() as session:
            payees = seed_creators(session, creators, first_id=100_000)
            fund_creators(session, payees, 5_000)
        week = "2026-W49"
        with measure(trips) as naive_p:
            naive_payouts(engine, payees[:naive_creators], week, provider)
        rest = payees[naive_creators:]
        quarter = len(rest) // 4
        chunk = 500
        with measure(trips) as small_p:
            for start in range(0, quarter, chunk):
                payouts.pay_creators(
                    week, rest[start : min(start + chunk, quarter)], provider=provider, send_notifications=False
                )
        with measure(trips) as large_p:
            for start in range(quarter, len(rest), chunk):
                payouts.pay_creators(week, rest[start : start + chunk], provider=provider, send_notifications=False)
        area = f"payments payouts ({backend}, {creators:,} creators)"
        note = f"naive timed on {naive_creators:,} creators, ours on {len(rest):,} in chunks of {chunk}"
        both = Measure(small_p.seconds + large_p.seconds, small_p.round_trips + large_p.round_trips)
        rows += _rate_rows(area, "creators", naive_p, naive_creators, both, len(rest), note)
        rows.append(_memory_row(area, small_p, quarter, large_p, len(rest) - quarter))
        peaks = []
        for step, count in enumerate(memory_sizes(creators), start=50):
            group = seed_and_fund(count, first_id=step * 1_000_000)
            peaks.append(
                traced_peak_mb(
                    lambda group=group, step=step: [
                        payouts.pay_creators(
                            f"2026-W{step}", group[i : i + chunk], provider=provider, send_notifications=False
                        )
                        for i in range(0, len(group), chunk)
                    ]
                )
            )
        (small_peak, large_peak), (a, b) = peaks, memory_sizes(creators)
        rows.append(
            Row(
                area,
                f"peak Python heap (tracemalloc), {a:,} vs {b:,}",
                f"ours at {a:,}",
                small_peak,
                large_peak,
                "MB",
                small_peak / large_peak,
                "flat",
                large_peak <= 1.5 * small_peak + 1,
                f"{b // a}x the creators; flat = <= 1.5x + 1 MB",
            )
        )
    return rows


def run(quick: bool) -> list[Row]:
    rows = bench_backend("sqlite", quick)
    try:
        from tests.support.servers import postgres_bin_dir

        have_postgres = postgres_bin_dir() is not None
    except ImportError:
        have_postgres = False
    if have_postgres:
        rows += bench_backend("postgresql", quick)
    return rows


if __name__ == "__main__":
    from benchmarks.run import print_table

    print_table(run(quick="--quick" in sys.argv))
