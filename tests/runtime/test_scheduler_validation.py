"""schedules.yaml validation: every bad input is refused with the entry named, and nothing is synced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from redis import Redis

from odyssey_workers.catalog import get_catalog
from odyssey_workers.cli import main
from odyssey_workers.errors import ScheduleError
from odyssey_workers.scheduling.entries import load_schedules, parse_schedules
from odyssey_workers.scheduling.periods import next_run
from odyssey_workers.scheduling.sync import sync_schedules

REPO_ROOT = Path(__file__).resolve().parents[2]


def mark_entry(name: str = "testing.nightly", **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "cron": "0 3 * * *",
        "job": "testing.mark",
        "args": {"token": name},
        "description": "Marks a token.",
        "enabled": True,
    }
    entry.update(overrides)
    return entry


def document(*entries: dict[str, Any]) -> str:
    return yaml.safe_dump({"schedules": list(entries)}, sort_keys=False)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ScheduleError) as caught:
        parse_schedules(text, source="test.yaml")
    return str(caught.value).splitlines()[1:]


def test_a_valid_file_gives_every_entry_with_its_fields() -> None:
    entries = parse_schedules(document(mark_entry(), mark_entry("testing.other", enabled=False)))
    assert [(e.name, e.cron, e.job, dict(e.args), e.enabled) for e in entries] == [
        ("testing.nightly", "0 3 * * *", "testing.mark", {"token": "testing.nightly"}, True),
        ("testing.other", "0 3 * * *", "testing.mark", {"token": "testing.other"}, False),
    ]


def test_broken_yaml_is_refused_with_the_line() -> None:
    with pytest.raises(ScheduleError, match=r"test\.yaml: not valid YAML at line 3, column \d+: mapping values"):
        parse_schedules("schedules:\n  - name: a.b\n    cron: 0 2: x\n", source="test.yaml")


def test_a_file_without_a_schedules_list_is_refused() -> None:
    with pytest.raises(ScheduleError, match="expected a mapping with a 'schedules:' list"):
        parse_schedules("- name: a.b\n", source="test.yaml")


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("61 * * * *", "is not a valid cron expression"),
        ("0 2 * *", "must have 5 fields"),
        ("0 0 2 * * *", "must have 5 fields"),
        ("every day", "must have 5 fields"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_a_bad_cron_expression_is_refused_naming_the_entry(cron: str, reason: str) -> None:
    problems = problems_of(document(mark_entry(cron=cron)))
    assert len(problems) == 1
    assert "entry 'testing.nightly'" in problems[0]
    assert reason in problems[0]


def test_an_enabled_entry_naming_an_unknown_job_is_refused_with_the_closest_names() -> None:
    problems = problems_of(document(mark_entry(job="testing.marc")))
    assert len(problems) == 1
    assert "entry 'testing.nightly'" in problems[0]
    assert "unknown job 'testing.marc'" in problems[0]
    assert "testing.mark" in problems[0]


def test_a_disabled_entry_may_name_a_job_still_to_come_when_it_says_its_area() -> None:
    [entry] = parse_schedules(document(mark_entry(job="reports.not_built_yet", enabled=False, area="payments")))
    assert not entry.job_known
    assert entry.area == "payments"


def test_a_disabled_entry_naming_an_unknown_job_without_its_area_is_refused() -> None:
    problems = problems_of(document(mark_entry(job="reports.not_built_yet", enabled=False)))
    assert problems == [
        "  test.yaml: entry 'testing.nightly': job 'reports.not_built_yet' is not in the catalog yet: "
        "say which area will bring it (area: ...)"
    ]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({}, "token: is required"),
        ({"token": "x", "colour": "red"}, "colour: is not a field of this job"),
        ({"token": "x", "seconds": "soon"}, "seconds: Input should be a valid number"),
        (["token"], "args must be a mapping"),
    ],
)
def test_bad_args_are_refused_by_the_jobs_payload_model(args: Any, reason: str) -> None:
    problems = problems_of(document(mark_entry(args=args)))
    assert len(problems) == 1
    assert "entry 'testing.nightly'" in problems[0]
    assert reason in problems[0]


def test_args_of_a_disabled_entry_with_a_known_job_are_still_checked() -> None:
    problems = problems_of(document(mark_entry(enabled=False, args={"tokn": "x"})))
    assert any("tokn: is not a field of this job" in p for p in problems)


def test_duplicate_names_are_refused() -> None:
    problems = problems_of(document(mark_entry(), mark_entry("testing.other"), mark_entry()))
    assert problems == ["  test.yaml: entry 'testing.nightly': duplicate name: entries #1 and #3 are both called this"]


def test_unknown_keys_are_refused_in_an_entry_and_at_the_top() -> None:
    text = yaml.safe_dump({"schedules": [mark_entry(timezone="Europe/Paris")], "timezone": "UTC"})
    problems = problems_of(text)
    assert any("unknown top-level key(s) timezone" in p for p in problems)
    assert any("entry 'testing.nightly': unknown key(s) timezone" in p for p in problems)


def test_missing_fields_and_wrong_types_are_refused() -> None:
    problems = problems_of(
        document({"name": "testing.bare"}, mark_entry("testing.flag", enabled="yes please"), "just a string")
    )
    assert "  test.yaml: entry 'testing.bare': missing cron, job, description" in problems
    assert "  test.yaml: entry 'testing.flag': enabled must be true or false" in problems
    assert any("entry #3: expected a mapping" in p for p in problems)


def test_the_scheduler_cannot_schedule_its_own_firing_job() -> None:
    problems = problems_of(document(mark_entry(job="schedules.fire", args={})))
    assert any("schedules.fire is the scheduler's own firing job" in p for p in problems)


def test_every_problem_of_the_file_is_reported_at_once() -> None:
    text = document(
        mark_entry("testing.one", cron="99 * * * *"),
        mark_entry("testing.two", job="nope.nothing"),
        mark_entry("testing.three", args={"token": 5, "extra": 1}),
        mark_entry("testing.four"),
    )
    with pytest.raises(ScheduleError) as caught:
        parse_schedules(text, source="test.yaml")
    lines = str(caught.value).splitlines()
    assert lines[0] == "test.yaml: 3 problems, nothing was scheduled:"
    assert [line.split(":")[1].strip() for line in lines[1:]] == [
        "entry 'testing.one'",
        "entry 'testing.two'",
        "entry 'testing.three'",
    ]


def test_a_missing_schedules_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match=r"no such schedules file"):
        load_schedules(tmp_path / "absent.yaml")


PLATFORM_ENTRIES = {
    "analytics.daily",
    "content.cleanup",
    "engagement.daily",
    "backups.daily",
    "payouts.weekly",
    "performance.weekly",
    "maintenance.weekly",
    "trends.weekly",
    "tax.monthly",
    "revenue.monthly",
    "retention.monthly",
    "platform_metrics.monthly",
}
BILLING_ENTRIES = {"renewals.daily", "earnings_release.daily", "revenue.daily"}
UPKEEP_ENTRIES = {"content.recover_stuck", "notifications.recover_stuck", "digest.weekly"}
ANALYTICS_ENTRIES = {
    "analytics.drain_events",
    "analytics.hourly",
    "analytics.partitions",
    "platform_metrics.daily",
    "analytics.preferences",
    "analytics.forward_events",
    "retention_report.monthly",
    "platform_report.monthly",
}


def test_the_shipped_file_holds_the_twelve_platform_entries_plus_billing_and_validates() -> None:
    entries = {entry.name: entry for entry in load_schedules(REPO_ROOT / "schedules.yaml")}
    assert set(entries) == PLATFORM_ENTRIES | BILLING_ENTRIES | UPKEEP_ENTRIES | ANALYTICS_ENTRIES
    catalog = get_catalog()
    for entry in entries.values():
        # Enabled entries run real catalog jobs; the others say which area brings the job.
        assert entry.job in catalog if entry.enabled else (entry.job not in catalog and entry.area)
    assert entries["analytics.daily"].cron == "0 2 * * *"
    assert entries["analytics.daily"].enabled and entries["analytics.daily"].job == "analytics.aggregate_daily"
    assert entries["analytics.hourly"].enabled and entries["analytics.hourly"].job == "analytics.rollup_hourly"
    assert entries["analytics.partitions"].enabled and entries["analytics.partitions"].cron == "30 2 * * *"
    assert entries["analytics.partitions"].job == "analytics.maintain_partitions"
    platform_daily, platform_monthly = entries["platform_metrics.daily"], entries["platform_metrics.monthly"]
    assert platform_daily.enabled and platform_daily.job == "analytics.platform_daily"
    assert platform_monthly.enabled and platform_monthly.job == "analytics.platform_metrics"
    assert entries["retention.monthly"].enabled and entries["retention.monthly"].job == "analytics.retention_cohorts"
    preferences = entries["analytics.preferences"]
    assert preferences.enabled and preferences.job == "analytics.update_preferences"
    assert entries["payouts.weekly"].cron == "0 10 * * 1"
    assert entries["payouts.weekly"].job == "payments.run_weekly_payouts"
    assert entries["platform_metrics.monthly"].cron == "0 9 1 * *"
    assert entries["maintenance.weekly"].enabled and entries["maintenance.weekly"].job == "system.maintenance"
    assert entries["analytics.drain_events"].enabled and entries["analytics.drain_events"].cron == "* * * * *"
    assert entries["analytics.forward_events"].enabled and entries["analytics.forward_events"].cron == "* * * * *"
    payments = {e.job for e in entries.values() if e.area == "payments"}
    assert payments == {
        "payments.run_weekly_payouts",
        "payments.monthly_tax_report",
        "payments.monthly_revenue_report",
        "payments.renew_subscriptions",
        "payments.release_pending",
        "payments.daily_revenue_report",
    }
    assert all(entries[name].enabled for name in entries if entries[name].area == "payments")


def test_the_scheduler_command_lists_every_problem_exits_non_zero_and_syncs_nothing(
    tmp_path: Path, redis_conn: Redis
) -> None:
    sync_schedules(parse_schedules(document(mark_entry())), redis_conn)
    before = redis_conn.zrange("rq:scheduler:scheduled_jobs", 0, -1, withscores=True)
    assert before  # the good file's ticket is there

    bad = tmp_path / "bad.yaml"
    bad.write_text(document(mark_entry(cron="0 25 * * *"), mark_entry("testing.new", job="testing.nope")))
    result = CliRunner().invoke(main, ["scheduler", "--file", str(bad), "--once"])
    assert result.exit_code == 1
    assert "2 problems, nothing was scheduled" in result.output
    assert "entry 'testing.nightly': cron '0 25 * * *' is not a valid cron expression" in result.output
    assert "entry 'testing.new': unknown job 'testing.nope'" in result.output
    assert "Traceback" not in result.output
    # Nothing was synced: the earlier tickets are exactly as they were, no new one appeared.
    assert redis_conn.zrange("rq:scheduler:scheduled_jobs", 0, -1, withscores=True) == before
    assert not redis_conn.exists("rq:job:schedule-testing-new")


def test_check_only_validates_and_schedules_nothing(tmp_path: Path, redis_conn: Redis) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(document(mark_entry(), mark_entry("testing.off", enabled=False)))
    result = CliRunner().invoke(main, ["scheduler", "--file", str(path), "--check"])
    assert result.exit_code == 0, result.output
    assert "2 entries are valid (1 enabled, 1 disabled)" in result.output
    assert redis_conn.zcard("rq:scheduler:scheduled_jobs") == 0


def test_the_schedules_command_shows_each_entry_with_its_next_run(tmp_path: Path, redis_conn: Redis) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        document(mark_entry(), mark_entry("testing.later", job="reports.not_built_yet", enabled=False, args={}))
    )
    # The disabled entry's job is unknown, so it needs its area.
    result = CliRunner().invoke(main, ["schedules", "--file", str(path)])
    assert result.exit_code == 1
    assert "entry 'testing.later'" in result.output

    path.write_text(
        document(
            mark_entry(),
            mark_entry("testing.later", job="reports.not_built_yet", enabled=False, args={}, area="payments"),
        )
    )
    sync_schedules(load_schedules(path), redis_conn)
    result = CliRunner().invoke(main, ["schedules", "--file", str(path)])
    assert result.exit_code == 0, result.output
    expected = next_run("0 3 * * *").strftime("%Y-%m-%d %H:%M")
    nightly = next(line for line in result.output.splitlines() if "testing.nightly" in line)
    assert "enabled" in nightly and expected in nightly and "not synced" not in nightly
    later = next(line for line in result.output.splitlines() if "testing.later" in line)
    assert "disabled (area: payments)" in later and "(when enabled)" in later
