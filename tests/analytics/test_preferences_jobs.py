"""The behaviour jobs through real workers on PostgreSQL: two workers running
``analytics.update_preferences`` and ``analytics.retention_cohorts`` at once count each event once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis

from jobs.analytics.behaviour_models import CohortGrain
from odyssey_workers.catalog import get_catalog
from odyssey_workers.errors import PayloadError
from odyssey_workers.queues import enqueue, fetch_job
from tests.analytics.behaviour_support import cohort_cells, scores
from tests.analytics.rollup_support import raw, store
from tests.support.workers import start_worker


@pytest.mark.timeout(120)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_running_the_behaviour_jobs_at_once_count_each_event_once(
    database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    env["ANALYTICS_ROLLUP_SAFETY_LAG_SECONDS"] = "0"
    when = datetime.now(UTC) - timedelta(hours=2)
    store(*(raw("like", when, user_id=user, content_id=10, creator_id=3) for user in range(1, 201)))
    jobs = [enqueue(name) for name in ("analytics.update_preferences", "analytics.retention_cohorts") for _ in (1, 2)]

    workers = [start_worker(env, queues=("low",), burst=True, log=tmp_path / f"w{n}.log") for n in (1, 2)]
    assert [worker.wait(timeout=90) for worker in workers] == [0, 0]

    results = [fetch_job(job.id).return_value() for job in jobs]
    assert sorted(result["events_read"] for result in results[:2]) == [0, 200], results
    assert sorted(result["week"]["rows_written"] for result in results[2:]) == [0, 1], results
    # Each like once (weight 2), decayed by the two hours to the run: 2 * 0.5 ** (2 / 720) = 1.99615...
    assert len(scores()) == 200 and all(1.996 < score < 1.9962 for score in scores().values()), scores()
    assert list(cohort_cells(CohortGrain.WEEK).values()) == [(200, 200)]


@pytest.mark.parametrize("name", ["analytics.retention_cohorts", "analytics.update_preferences"])
def test_the_behaviour_jobs_run_on_low_and_refuse_any_argument_naming_it(redis_conn: Redis, name: str) -> None:
    assert get_catalog().get(name).queue == "low"
    with pytest.raises(PayloadError, match=rf"^{name}: bad payload: grain: is not a field of this job"):
        enqueue(name, grain="week")
