"""The analytics domain's part of ``make demo``: events tracked, drained in a batch, counted,
the live top list the drain's counters give, the rollups, the raw events' months, the platform's
daily metrics, the month's MRR movements, a funnel, the week's cohort, a fan's affinities,
forwarding to the local tracker file, and a report rendered from them."""

from __future__ import annotations

from odyssey_workers.demo import cli, console, demo_people, short, show, wait_for_jobs

DEMO_NAME = "analytics"
DEMO_ORDER = 40


def run() -> None:
    """A fan's session as events on the stream, drained by a worker into analytics_events, then
    rolled up, measured, forwarded and reported."""
    from datetime import UTC, datetime, timedelta

    import odyssey_workers

    console.print(
        "[bold]Analytics[/bold]: a fan's session tracked as events, drained in one batch, bad ones set aside;"
        " the live top list; rolled up; DAU/MAU, stickiness and MRR movements; a funnel, cohorts and"
        " affinities; forwarded to the local tracker file; a report rendered"
    )
    creator_id, fans = demo_people()
    now = datetime.now(UTC)
    session = {"user_id": fans[0], "session_id": f"demo-{int(now.timestamp())}", "country": "DE", "device": "web"}
    watched = {"content_id": 1, "creator_id": creator_id}
    events = [
        {"type": "session_start", **session, "occurred_at": now - timedelta(minutes=4)},
        {"type": "search", **session, "occurred_at": now - timedelta(minutes=4), "properties": {"q": "tour"}},
        {"type": "view_start", **session, **watched, "occurred_at": now - timedelta(minutes=3)},
        *(
            {
                "type": "view_progress",
                **session,
                **watched,
                "occurred_at": now - timedelta(minutes=3) + timedelta(seconds=seconds),
                "properties": {"seconds_watched": seconds},
            }
            for seconds in (30, 60, 90)
        ),
        {"type": "view_end", **session, **watched, "occurred_at": now - timedelta(minutes=1)},
        {"type": "like", **session, **watched, "occurred_at": now - timedelta(minutes=1)},
        {"type": "follow", **session, "creator_id": creator_id, "occurred_at": now},
        {"type": "rewind", **session, **watched, "occurred_at": now},  # no such type: set aside
        {"type": "like", **session, **watched, "occurred_at": now - timedelta(days=5)},  # past the late window
        # Every fan starts the second clip, the first fan twice: views 4, unique viewers 3.
        *(
            {"type": "view_start", "user_id": fan, "content_id": 2, "creator_id": creator_id, "occurred_at": now}
            for fan in (*fans, fans[0])
        ),
    ]
    ids = odyssey_workers.track_many(events)
    follow = next(index for index, event in enumerate(events) if event["type"] == "follow")
    odyssey_workers.track({**events[follow], "id": ids[follow]})  # the follow again, as a retrying producer would
    console.print(f"   tracked {len(events) + 1} events on the stream (one of them sent twice)")
    [counts] = wait_for_jobs([odyssey_workers.enqueue("analytics.drain_events")], "the event drain")
    # The scheduler drains every minute too, so this run may find some events already taken.
    console.print(f"   analytics.drain_events (this run): {short(counts)}")
    show(cli("analytics", "intake").stdout)
    console.print("   the live counters the drain kept (views of the last 15 minutes, by when they happened):")
    show(cli("analytics", "live", "--minutes", "15", "--top", "5").stdout)
    # The rollups read what the drain stored (on PostgreSQL, only what is older than the safety lag).
    hourly, daily = wait_for_jobs(
        [odyssey_workers.enqueue("analytics.rollup_hourly"), odyssey_workers.enqueue("analytics.aggregate_daily")],
        "the rollups",
    )
    for run in (hourly, daily):
        console.print(
            f"   {run['grain']} rollup: {run['events_read']} new events, {len(run['buckets'])} bucket(s) recomputed"
        )
    show(cli("analytics", "top", "--day", f"{now:%Y-%m-%d}", "--limit", "5").stdout)
    # --- raw event storage and retention: the months the events are kept in, and what would expire
    console.print("   the raw events' months (PostgreSQL: one partition each) and the retention's cut:")
    show(cli("analytics", "partitions").stdout)
    # --- analytics: platform, creator and revenue metrics ---------------------------------------
    [platform] = wait_for_jobs([odyssey_workers.enqueue("analytics.platform_daily")], "the platform metrics")
    console.print(
        f"   analytics.platform_daily: {platform['events_read']} new events, {len(platform['days'])} day(s) recomputed"
        " (DAU/WAU/MAU, new users, sessions)"
    )
    show(cli("analytics", "platform", "--since", f"{now - timedelta(days=1):%Y-%m-%d}").stdout)
    # The payments step's subscriptions began 31 days ago, so their MRR arrives in that month.
    months = f"{now - timedelta(days=31):%Y-%m}:{now:%Y-%m}"
    console.print("   MRR movements from payments' subscriptions (the payments step's fans, in EUR):")
    show(cli("analytics", "revenue", "--month", months, "--currency", "EUR").stdout)
    # --- analytics: user behaviour -------------------------------------------------------------
    preferences, cohorts = wait_for_jobs(
        [
            odyssey_workers.enqueue("analytics.update_preferences"),
            odyssey_workers.enqueue("analytics.retention_cohorts"),
        ],
        "the behaviour jobs",
    )
    console.print(
        f"   analytics.update_preferences: {preferences['events_read']} new events, {preferences['users']} user(s);"
        f" analytics.retention_cohorts: {cohorts['week']['cohorts']} weekly cohort(s)"
    )
    show(cli("analytics", "funnel", "session_start", "view_start", "follow", "--since", f"{now:%Y-%m-%d}").stdout)
    show(cli("analytics", "retention", "--grain", "week", "--periods", "1").stdout)
    show(cli("analytics", "affinities", str(fans[0]), "--limit", "3").stdout)

    # --- analytics: trackers: the default tracker writes what would be sent to a JSON-lines file.
    import json

    from jobs.analytics.settings import analytics_settings
    from jobs.analytics.trackers.registry import tracker_file

    [forwarded] = wait_for_jobs([odyssey_workers.enqueue("analytics.forward_events")], "the forwarding")
    runs = ", ".join(f"{run['tracker']} {run['forwarded']}" for run in forwarded["trackers"])
    path = tracker_file(analytics_settings())
    written = path.read_text().splitlines() if path.exists() else []
    console.print(f"   analytics.forward_events (this run; the scheduler forwards every minute too): {runs}")
    console.print(f"   {path} holds {len(written)} line(s), one per event a tracker would get; the last:")
    if written:
        console.print(f"   {short(json.loads(written[-1]))}")

    # --- analytics: reports ---------------------------------------------------------------------
    # Today's engagement report from the rollups just run (the daily job renders yesterday's).
    console.print("   today's engagement report, rendered into storage (HTML with charts, and its CSV):")
    show(cli("analytics", "report", "engagement", "--period", f"{now:%Y-%m-%d}").stdout)
