"""``make demo``: the whole service on its embedded defaults, end to end, ending in a visible result.

It starts ``odyssey-workers run`` on its own embedded defaults under ``var/demo`` (bundled Redis,
SQLite, files; see ``demo_service``: the shell's ``REDIS_URL``, ``DATABASE_URL``, ``STORAGE_URL``
and ``VAR_DIR`` are ignored by the demo and by its service alike), then acts as another service
of the platform would: it enqueues catalog jobs by name, ingests generated media, sends
notifications and runs billing, waits for real workers to do the work, prints what they did, and
stops the service cleanly. If the service exits on its own, the demo stops with its error line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from odyssey_workers.demo_service import DemoService, ServiceExited, demo_env, ignored_settings, start_service

console = Console(width=120)  # the same layout in a terminal and in a pipe
BIN = Path(sys.executable).parent
COMMAND = str(BIN / "odyssey-workers")


_service: DemoService | None = None
"""The service this demo started; every wait checks it is still running."""


def say_failure(text: str) -> None:
    """A failure in red on one line, as written (an error may hold brackets rich would eat)."""
    console.print(f"[red]{escape(text)}[/red]", soft_wrap=True)


def use_demo_settings() -> None:
    """Make this process read the same settings as the service and the commands it starts."""
    from odyssey_workers.db.session import dispose_engines
    from odyssey_workers.settings import get_settings

    env = demo_env()
    os.environ.clear()
    os.environ.update(env)
    get_settings.cache_clear()
    dispose_engines()


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one ``odyssey-workers`` command the way an operator would."""
    out = subprocess.run([COMMAND, *args], env=dict(os.environ), capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        raise RuntimeError(f"odyssey-workers {' '.join(args)} failed: {out.stderr.strip().splitlines()[-1:]}")
    return out


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if _service is not None:
            _service.check()  # a dead service will never finish anything: say why now
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def start_demo_service() -> DemoService:
    from odyssey_workers.settings import get_settings

    settings = get_settings()
    log = settings.var_dir / "demo-service.log"
    console.print(f"[bold]Starting the service[/bold] (odyssey-workers run; its log: {log})")
    service = start_service(COMMAND, os.environ, log)
    service.wait_until_healthy(settings.metrics_port)
    console.print(
        f"   healthy: dashboard http://127.0.0.1:{settings.dashboard_port}, "
        f"metrics http://127.0.0.1:{settings.metrics_port}/metrics (pid {service.process.pid})"
    )
    return service


def stop_service(service: DemoService) -> None:
    console.print("[bold]Stopping the service[/bold] (SIGINT: running jobs finish, then Redis stops)")
    console.print(f"   stopped, exit code {service.stop()}")


def runtime_round_trip() -> None:
    """Catalog jobs by name through real Redis and real worker processes."""
    import odyssey_workers
    from odyssey_workers.queues import failure_reason, fetch_job

    console.print("[bold]Runtime[/bold]: three catalog jobs enqueued by name, done by worker processes")
    jobs = [
        odyssey_workers.enqueue("system.ping", message="hello from the demo"),
        odyssey_workers.enqueue("system.media_check"),
        odyssey_workers.enqueue("system.sleep", seconds=1.5, steps=3),
    ]
    wait_for(lambda: all(fetch_job(j.id).get_status().value in ("finished", "failed") for j in jobs), "the jobs")
    table = Table("job", "queue", "status", "result")
    for job in jobs:
        stored = fetch_job(job.id)
        result: Any = stored.return_value() if stored.get_status().value == "finished" else failure_reason(stored)
        table.add_row(stored.meta.get("job_name", ""), stored.origin, stored.get_status().value, _short(result))
    console.print(table)


def show(text: str) -> None:
    """Print a command's own output as it is (already laid out for 120 columns)."""
    sys.stdout.write(text.rstrip() + "\n")
    sys.stdout.flush()


def _short(value: Any, limit: int = 110) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wait_for_jobs(jobs: list[Any], what: str, timeout: float = 300) -> list[Any]:
    """Wait until every job has finished or failed; raise naming the first failure."""
    from odyssey_workers.queues import failure_reason, fetch_job

    wait_for(lambda: all(fetch_job(j.id).get_status().value in ("finished", "failed") for j in jobs), what, timeout)
    stored = [fetch_job(j.id) for j in jobs]
    for job in stored:
        if job.get_status().value == "failed":
            raise RuntimeError(f"{job.meta.get('job_name')} failed: {failure_reason(job)}")
    return [job.return_value() for job in stored]


def demo_people() -> tuple[int, list[int]]:
    """A creator and three fans, as the platform's API service would have made them."""
    from sqlalchemy import select

    from odyssey_workers.db.models import Creator, Follow, User
    from odyssey_workers.db.session import session_scope

    stamp = time.strftime("%Y%m%d%H%M%S")
    with session_scope() as session:
        existing = session.scalar(select(Creator).where(Creator.handle == "demo-creator"))
        if existing is None:
            owner = User(email="creator@example.com", display_name="Ana (demo creator)")
            session.add(owner)
            session.flush()
            existing = Creator(user_id=owner.id, handle="demo-creator")
            session.add(existing)
            session.flush()
        fans = [
            User(email=f"fan{i}-{stamp}@example.com", display_name=f"Fan {i}", locale=locale, time_zone=zone)
            for i, (locale, zone) in enumerate([("en", "UTC"), ("fr", "Europe/Paris"), ("de", "Europe/Berlin")])
        ]
        session.add_all(fans)
        session.flush()
        session.add_all(Follow(follower_id=fan.id, creator_id=existing.id) for fan in fans)
        return existing.id, [fan.id for fan in fans]


def payments_round() -> None:
    """Subscriptions renewed through the sandbox provider, split in the ledger, creator paid."""
    from datetime import UTC, datetime, timedelta

    import odyssey_workers
    from jobs.payments.models import CreatorPaymentProfile, Plan, Subscription
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
        plan = Plan(creator_id=creator_id, name="Gold tier", interval="monthly", price_minor=999, currency="EUR")
        session.add(plan)
        session.flush()
        for fan, token in zip(fans, ["tok_ok", "tok_ok", "tok_decline"], strict=True):
            session.add(
                Subscription(
                    user_id=fan, plan_id=plan.id, creator_id=creator_id, status="active", payment_token=token,
                    billing_country="DE", anchor_at=now - timedelta(days=31),
                    current_period_start=now - timedelta(days=31), current_period_end=now - timedelta(minutes=1),
                    next_attempt_at=now - timedelta(minutes=1),
                )
            )  # fmt: skip
    renewals = wait_for_jobs([odyssey_workers.enqueue("payments.renew_subscriptions")], "the renewal run")
    console.print(f"   renewals: {_short(renewals[0])}")
    week = now.strftime("%G-W%V")
    payouts = wait_for_jobs([odyssey_workers.enqueue("payments.run_weekly_payouts", week=week)], "the payout run")
    console.print(f"   payout run {week}: {_short(payouts[0])}")
    wait_for(lambda: "paid" in cli("payments", "payouts", "--week", week).stdout, "the creator's payout", 120)
    show(cli("payments", "payouts", "--week", week).stdout)
    show(cli("payments", "check").stdout)


def sample_media(folder: Path) -> list[Path]:
    """A photo-like JPEG with GPS EXIF, a 4 s 640x360 video with sound, and a 5 s audio clip."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "sunset.jpg"
    image = Image.radial_gradient("L").resize((2400, 1600)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        draw.ellipse((150 * i, 90 * i, 150 * i + 400, 90 * i + 300), fill=(40 + 17 * i, 90, 200 - 12 * i))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}  # GPS: must not survive
    image.save(photo, quality=90, exif=exif)
    video, audio = folder / "clip.mp4", folder / "voice.m4a"
    ffmpeg = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run(
        [*ffmpeg, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=4", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", str(video)],
        check=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        [*ffmpeg, "-f", "lavfi", "-i", "sine=frequency=330:duration=5", "-c:a", "aac", str(audio)],
        check=True,
        timeout=60,
    )
    return [photo, video, audio]


def content_uploads() -> None:
    """Generated uploads through the whole pipeline: sniff, process, renditions, ready."""
    console.print("[bold]Content[/bold]: an image, a video and an audio clip through the upload pipeline")
    from odyssey_workers.settings import get_settings

    for path in sample_media(get_settings().var_dir / "demo-media"):
        out = cli("ingest", str(path), "--wait", "--json")
        result = json.loads(out.stdout)
        renditions = result.get("renditions", [])
        console.print(
            f"   {path.name}: asset {result.get('asset_id')} {result.get('status')}, {len(renditions)} renditions"
        )
        table = Table("kind", "format", "bytes", "size", "duration", "storage key")
        for item in renditions[:12]:
            size = f"{item.get('width')}x{item.get('height')}" if item.get("width") else ""
            duration = f"{item['duration_seconds']:.1f} s" if item.get("duration_seconds") else ""
            table.add_row(
                str(item.get("kind")), str(item.get("format")), str(item.get("size_bytes")), size, duration,
                str(item.get("storage_key")),
            )  # fmt: skip
        if len(renditions) > 12:
            table.add_row("…", f"{len(renditions) - 12} more", "", "", "", "")
        console.print(table)


def notifications_round() -> None:
    """A content_upload broadcast to the creator's followers, into the local outboxes."""
    console.print("[bold]Notifications[/bold]: the creator's followers hear about a new upload")
    creator_id, _fans = demo_people()
    data = json.dumps({"creator_name": "Ana", "title": "Tour diary, part 1", "url": "https://odyssey.example/v/1"})
    out = cli("notify", "content_upload", "--followers-of", str(creator_id), "--data", data, "--wait")
    show(out.stdout)
    from odyssey_workers.settings import get_settings

    settings = get_settings()
    outbox = settings.notifications_outbox_dir or settings.var_dir / "outbox"
    emails = sorted(outbox.rglob("*.eml"))
    console.print(f"   {len(emails)} emails in {outbox}; the newest:")
    if emails:
        newest = max(emails, key=lambda p: p.stat().st_mtime).read_text(errors="replace")
        show("\n".join("      " + line for line in newest.splitlines()[:14]))


STEPS: list[tuple[str, Callable[[], None]]] = [
    ("runtime", runtime_round_trip),
    ("content", content_uploads),
    ("notifications", notifications_round),
    ("payments", payments_round),
]


def main() -> int:
    global _service
    ignored = ignored_settings()
    use_demo_settings()
    console.print(
        f"Demo settings: its own embedded service under {os.environ['VAR_DIR']} (bundled Redis, SQLite, "
        "local files), for the demo and the service alike"
        + (f"; ignoring your {', '.join(ignored)}" if ignored else ""),
        soft_wrap=True,  # one line, so the first line says it all
    )
    try:
        _service = start_demo_service()
    except ServiceExited as exc:
        say_failure(f"the demo's service did not start: {exc}")
        return 1
    failures = []
    try:
        for name, step in STEPS:
            try:
                step()
            except ServiceExited as exc:
                failures.append(name)
                say_failure(f"   {name} step stopped: the demo's service is gone: {exc}")
                break
            except Exception as exc:  # noqa: BLE001 - one failing area must not hide what the others did
                failures.append(name)
                say_failure(f"   {name} step failed: {exc}")
                if _service.process.poll() is not None:  # the failure was the service going away
                    say_failure(f"   the demo's service is gone: {_service.last_error_line()}")
                    break
        if _service.process.poll() is None:
            console.print("[bold]Status[/bold] (odyssey-workers status)")
            show(cli("status", check=False).stdout)
    finally:
        stop_service(_service)
    if failures:
        console.print(f"[red]demo finished with failures in: {', '.join(failures)}[/red]")
        return 1
    console.print("[green bold]demo finished: every step ran through real Redis and real workers[/green bold]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
