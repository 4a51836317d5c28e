"""How fast a backlog leaves for a tracker: 20,000 stored events forwarded to the JSON-lines file
and to a loopback Mixpanel ``/import`` and GA4 collect (the test suite's stand-ins), on SQLite.

Not a ``bench_*`` module (there is no baseline to compare with): it prints events a second per
tracker, for the README. Run: ``.venv/bin/python benchmarks/tracker_forwarding.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENTS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(VAR_DIR=folder, REDIS_URL=f"redis://127.0.0.1:{port}/0", DATABASE_URL="")
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            run(Path(folder))
        finally:
            server.terminate()
            server.wait()


def run(folder: Path) -> None:
    from pydantic import SecretStr

    from jobs.analytics.models import AnalyticsEventRow
    from jobs.analytics.settings import analytics_settings
    from jobs.analytics.trackers.forward import forward_to
    from odyssey_workers.db.base import utcnow
    from odyssey_workers.db.migrate import upgrade
    from odyssey_workers.db.session import session_scope
    from odyssey_workers.settings import get_settings
    from tests.analytics.tracker_servers import Ga4Collect, MixpanelImport
    from tests.support.recording_http import RecordingServer

    upgrade(f"sqlite:///{get_settings().var_dir / 'odyssey.db'}")
    at = utcnow() - timedelta(minutes=10)
    with session_scope() as session:
        session.add_all(
            AnalyticsEventRow(
                event_id=f"evt-{n}",
                type="view_start",
                user_id=n % 500 + 1,
                content_id=n % 97 + 1,
                creator_id=3,
                occurred_at=at,
                session_id=f"s-{n % 500}",
                country="DE",
                device="web",
                properties={"source": "feed", "position": n % 20},
                received_at=utcnow(),
            )
            for n in range(EVENTS)
        )
    importer, collect = MixpanelImport("tok", "sec"), Ga4Collect("G-1", "ga4")
    with RecordingServer(importer) as mixpanel, RecordingServer(collect) as ga4:
        settings = analytics_settings().model_copy(
            update={
                "analytics_trackers": ["file", "mixpanel", "ga4"],
                "analytics_tracker_file": folder / "out.jsonl",
                "analytics_forward_time_budget_seconds": 240,
                "mixpanel_token": SecretStr("tok"),
                "mixpanel_api_secret": SecretStr("sec"),
                "mixpanel_import_url": f"{mixpanel.url}/import",
                "ga4_measurement_id": "G-1",
                "ga4_api_secret": SecretStr("ga4"),
                "ga4_collect_url": f"{ga4.url}/mp/collect",
            }
        )
        for tracker in ("file", "mixpanel", "ga4"):
            started = time.perf_counter()
            result = forward_to(tracker, settings)
            spent = time.perf_counter() - started
            requests = {"file": "-", "mixpanel": len(mixpanel.requests), "ga4": len(ga4.requests)}[tracker]
            print(
                f"{tracker}: {result.counts.forwarded:,} events in {spent:.2f} s "
                f"({result.counts.forwarded / spent:,.0f} events/s, {requests} requests)"
            )
    assert len(importer.imported) == EVENTS and sum(len(body["events"]) for body in collect.collected) == EVENTS


if __name__ == "__main__":
    main()
