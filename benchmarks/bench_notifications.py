"""A broadcast to every follower of a creator, into the email outbox and a loopback webhook sink.

Ours: one ``notifications.notify(followers_of=...)`` — keyset-paged followers, fan-out chunks
enqueued in pipelines, one render per (channel, locale) per chunk, bulk row writes, batched
send jobs. The naive form: one ``notify`` job per recipient (one render per recipient, one
send job per delivery) — what a producer looping over followers would do. Both run through
the same real workers (``odyssey-workers worker``, 2 processes), Redis, SQLite and sink.

Each follower has an email address and a webhook endpoint, so every recipient is two
deliveries. The naive form is measured on a smaller N and its per-delivery rate extrapolated
(it does the same work per recipient at any N). Memory: the peak RSS of any worker process,
for two broadcast sizes — flat means the large one needs no more than the small one.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import Row  # noqa: E402

FINAL = ("sent", "delivered", "failed", "bounced", "suppressed")
DATA = {"creator_name": "Ana", "title": "Tour diary", "url": "https://odyssey.test/p/1"}


# --- the webhook sink: a separate process, so it does not share the workers' CPU accounting ----------
def sink_main(port_file: str) -> None:
    count = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        while True:
            if not await reader.readline():
                break
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            count += 1
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        print(count, flush=True)

    asyncio.run(main())


@contextmanager
def environment(folder: Path) -> Iterator[dict[str, str]]:
    from tests.support.servers import RedisServer

    folder.mkdir(parents=True, exist_ok=True)
    redis = RedisServer().start()
    port_file = folder / "sink.port"
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port_file)], stdout=subprocess.PIPE)
    while not port_file.exists() or not port_file.read_text():
        if sink.poll() is not None:
            raise RuntimeError("the webhook sink did not start")
        time.sleep(0.05)
    values = {
        "REDIS_URL": redis.url,
        "VAR_DIR": str(folder / "var"),
        "DATABASE_URL": "",
        "WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "NOTIFICATIONS_RATE_LIMITS": "",  # measure our pipeline, not a provider quota
        "NOTIFICATIONS_CHUNK_SIZE": "1000",
        "PYTHONPATH": str(ROOT),
        "SINK_PORT": port_file.read_text(),
    }
    saved = dict(os.environ)
    os.environ.update(values)
    _reset()
    try:
        yield values
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.communicate(timeout=10)
        os.environ.clear()
        os.environ.update(saved)
        _reset()
        redis.stop()


def _reset() -> None:
    from odyssey_workers.db.session import dispose_engines
    from odyssey_workers.settings import get_settings

    get_settings.cache_clear()
    dispose_engines()


def populate(n: int, port: str) -> int:
    """n followers of one creator, each with an email and a webhook endpoint on the sink."""
    from sqlalchemy import insert

    from jobs.notifications.models import WebhookEndpoint
    from odyssey_workers.db.migrate import upgrade
    from odyssey_workers.db.models import Creator, Follow, User
    from odyssey_workers.db.session import session_scope
    from odyssey_workers.providers.webhooks import generate_secret

    upgrade()
    secret = generate_secret()
    with session_scope() as session:
        session.execute(
            insert(User),
            [
                {
                    "email": "owner@example.com",
                    "display_name": "Ana",
                    "locale": "en",
                    "time_zone": "UTC",
                    "created_at": _now(),
                }
            ],
        )
        owner_id = session.scalar(
            User.__table__.select().with_only_columns(User.id).where(User.email == "owner@example.com")
        )
        session.execute(
            insert(Creator),
            [{"user_id": owner_id, "handle": "ana", "settings": {}, "on_hold": False, "created_at": _now()}],
        )
        creator_id = int(session.scalar(Creator.__table__.select().with_only_columns(Creator.id)))
        for start in range(0, n, 5000):
            ids = range(start, min(n, start + 5000))
            session.execute(
                insert(User),
                [
                    {
                        "id": 10 + i,
                        "email": f"fan{i}@example.com",
                        "display_name": f"Fan {i}",
                        "locale": "en",
                        "time_zone": "UTC",
                        "created_at": _now(),
                    }
                    for i in ids
                ],
            )
            session.execute(
                insert(Follow), [{"follower_id": 10 + i, "creator_id": creator_id, "created_at": _now()} for i in ids]
            )
            session.execute(
                insert(WebhookEndpoint),
                [
                    {
                        "user_id": 10 + i,
                        "kind": "webhook",
                        "url": f"http://127.0.0.1:{port}/hook",
                        "secret": secret,
                        "events": [],
                        "active": True,
                        "failing": False,
                        "created_at": _now(),
                    }
                    for i in ids
                ],
            )
    return creator_id


def _now():  # type: ignore[no-untyped-def]
    from odyssey_workers.db.base import utcnow

    return utcnow()


def final_count() -> int:
    from sqlalchemy import func, select

    from jobs.notifications.models import Delivery
    from odyssey_workers.db.session import session_scope

    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status.in_(FINAL))) or 0)


def start_workers(env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    """Two worker processes under a wrapper that reports the peak RSS of its whole tree at exit."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "p = subprocess.Popen(sys.argv[1:])\n"
        "import signal\n"
        "signal.signal(signal.SIGTERM, lambda *a: p.send_signal(signal.SIGTERM))\n"
        "p.wait()\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)\n"
    )
    command = [
        sys.executable,
        "-c",
        wrapper,
        str(Path(sys.executable).parent / "odyssey-workers"),
        "worker",
        "--processes",
        "2",
    ]
    return subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=(folder / "workers.log").open("ab"), cwd=ROOT
    )


def stop_workers(process: subprocess.Popen[bytes]) -> float:
    """Stop the workers; the peak RSS of any worker process, in MiB."""
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=120)
    return int(out.decode().strip().splitlines()[-1]) / 1024


def wait_for(expected: int, timeout: float) -> float:
    started = time.perf_counter()
    while final_count() < expected:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"only {final_count()} of {expected} deliveries finished in {timeout:.0f}s")
        time.sleep(0.5)
    return time.perf_counter() - started


def broadcast(n: int, folder: Path) -> tuple[float, float]:
    """Ours: (deliveries per second, peak worker RSS MiB) for a broadcast to n followers."""
    from odyssey_workers.queues import enqueue

    with environment(folder) as env:
        creator = populate(n, env["SINK_PORT"])
        workers = start_workers(env, folder)
        try:
            started = time.perf_counter()
            enqueue("notifications.notify", event="content_upload", followers_of=creator, data=DATA)
            wait_for(2 * n, timeout=max(120.0, n * 0.02))
            elapsed = time.perf_counter() - started
        finally:
            peak = stop_workers(workers)
        outbox = sum(1 for _ in (Path(env["VAR_DIR"]) / "outbox" / "email").glob("*.eml"))
        assert outbox == n, f"outbox has {outbox} emails, expected {n}"
    return 2 * n / elapsed, peak


def naive(n: int, folder: Path) -> float:
    """The naive form: one notify job per recipient; deliveries per second."""
    from odyssey_workers.queues import enqueue

    with environment(folder) as env:
        populate(n, env["SINK_PORT"])
        workers = start_workers(env, folder)
        try:
            started = time.perf_counter()
            for uid in range(10, 10 + n):
                enqueue("notifications.notify", event="content_upload", recipients=[uid], data=DATA)
            wait_for(2 * n, timeout=max(120.0, n * 1.0))
            elapsed = time.perf_counter() - started
        finally:
            stop_workers(workers)
    return 2 * n / elapsed


def run(quick: bool) -> list[Row]:
    small, large, naive_n = (2_000, 10_000, 100) if quick else (10_000, 100_000, 300)
    folder = Path(tempfile.mkdtemp(prefix="odyssey-bench-notify-"))
    try:
        naive_rate = naive(naive_n, folder / "naive")
        small_rate, small_rss = broadcast(small, folder / "small")
        large_rate, large_rss = broadcast(large, folder / "large")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ratio = large_rate / naive_rate
    return [
        Row(
            "notifications",
            f"broadcast to {large:,} followers (email outbox + webhook sink)",
            f"one notify job per recipient (N={naive_n}, rate extrapolated)",
            naive_rate,
            large_rate,
            "deliveries/s",
            ratio,
            ">= 10x",
            ratio >= 10,
            note=f"{2 * large:,} deliveries; {small:,} followers ran at {small_rate:,.0f}/s",
        ),
        Row(
            "notifications",
            "peak worker RSS, broadcast size x" + f"{large // small}",
            f"{small:,} followers",
            small_rss,
            large_rss,
            "MiB",
            small_rss / large_rss,
            "flat (ratio >= 0.8)",
            small_rss / large_rss >= 0.8,
            note="max RSS of any worker process (work horses included) over the whole broadcast",
        ),
    ]


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--sink":
    sink_main(sys.argv[2])
