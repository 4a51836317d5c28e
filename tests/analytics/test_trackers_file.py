"""The local default tracker: one JSON line per event, each once, whole; privacy on the way out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis

from jobs.analytics.trackers.opt_out import InvalidUserId, set_analytics_opt_out
from jobs.analytics.trackers.privacy import clean_properties, holds_contact_data
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from tests.analytics.tracker_support import cursor_of, forward_once, last_event_row_id, settings_for, store_events


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_file_tracker_writes_one_line_per_event_once(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    settings = settings_for(["file"], tmp_path)
    ids = store_events(3, properties={"source": "feed"})
    run = forward_once(settings, "file")
    assert (run.counts.forwarded, run.stopped) == (3, None)
    written = lines(tmp_path / "trackers.jsonl")
    assert [line["insert_id"] for line in written] == ids
    assert written[0]["event"] == "like" and written[0]["user_id"] == 7
    assert written[0]["properties"] == {
        "source": "feed",
        "content_id": written[0]["properties"]["content_id"],  # type: ignore[index]
        "creator_id": 3,
        "session_id": "s-1",
        "country": "DE",
        "device": "ios",
    }
    assert cursor_of("file") == last_event_row_id()
    again = forward_once(settings, "file")
    assert again.counts.forwarded == 0 and len(lines(tmp_path / "trackers.jsonl")) == 3


def test_lines_a_dead_run_left_uncommitted_are_cut_off_and_each_event_is_written_once(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    settings = settings_for(["file"], tmp_path)
    first = store_events(2)
    forward_once(settings, "file")
    path = tmp_path / "trackers.jsonl"
    with path.open("a") as handle:  # a run that died mid-write, before its cursor moved
        handle.write('{"insert_id":"evt-ghost","event":"like"}\n{"insert_id":"evt-half","ev')
    second = store_events(2)
    run = forward_once(settings, "file")
    assert run.counts.forwarded == 2
    assert [line["insert_id"] for line in lines(path)] == first + second
    assert path.read_text().endswith("\n")


def test_email_addresses_and_phone_numbers_never_reach_a_tracker(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    properties = {
        "email": "not-an-address-but-the-key-says-so",
        "contact_phone": "n/a",
        "q": "fan@example.com",
        "note": "call me on +49 151 2345 6789 tonight",
        "nested": {"who": "Ana <ana.silva@mail.example.org>", "kept": "yes", "list": ["ok", "(030) 1234-5678"]},
        "plays": 1234567890,  # a number, not a phone number written down
        "day": "2026-12-04",
        "q2": "tour dates",
    }
    store_events(1, properties=properties)
    forward_once(settings_for(["file"], tmp_path), "file")
    text = (tmp_path / "trackers.jsonl").read_text()
    for leaked in ("example.com", "example.org", "2345 6789", "1234-5678", "not-an-address", "n/a"):
        assert leaked not in text
    [line] = lines(tmp_path / "trackers.jsonl")
    kept = line["properties"]
    assert isinstance(kept, dict)
    assert {key: kept[key] for key in ("nested", "plays", "day", "q2")} == {
        "nested": {"kept": "yes", "list": ["ok"]},
        "plays": 1234567890,
        "day": "2026-12-04",
        "q2": "tour dates",
    }
    assert not {"email", "contact_phone", "q", "note"} & set(kept)


@pytest.mark.parametrize(
    ("text", "contact"),
    [
        ("a.b+tag@sub.example.co.uk", True),
        ("+1 (555) 010-9999", True),
        ("0151/23456789", True),
        ("4915123456789", False),  # a bare run of digits: an id or a count
        ("2026-12-04T10:00:00Z", False),
        ("v1.2.3", False),
        ("session 12", False),
    ],
)
def test_contact_data_is_recognised_in_text(text: str, contact: bool) -> None:
    assert holds_contact_data(text) is contact
    assert ("k" in clean_properties({"k": text})) is not contact


def test_an_opted_out_user_is_skipped_and_an_opted_in_one_forwarded(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["analytics", "opt-out", "9"])
    assert result.exit_code == 0, result.output
    assert "user 9 opted out of analytics forwarding" in result.output
    store_events(2, user_id=9)
    kept = store_events(1, user_id=10)
    run = forward_once(settings_for(["file"], tmp_path), "file")
    assert (run.counts.forwarded, run.counts.skipped) == (1, 2)
    assert [line["insert_id"] for line in lines(tmp_path / "trackers.jsonl")] == kept
    assert cursor_of("file") == last_event_row_id()  # skipped on purpose: the cursor passes them

    with session_scope() as session:
        assert set_analytics_opt_out(session, 9, opted_out=False) is True
        assert set_analytics_opt_out(session, 9, opted_out=False) is False
    later = store_events(1, user_id=9)
    forward_once(settings_for(["file"], tmp_path), "file")
    assert [line["insert_id"] for line in lines(tmp_path / "trackers.jsonl")] == kept + later


def test_an_opt_out_for_a_user_id_that_is_no_id_is_refused(env: dict[str, str]) -> None:
    with session_scope() as session, pytest.raises(InvalidUserId, match="positive integer, not 0"):
        set_analytics_opt_out(session, 0, opted_out=True)
    result = CliRunner().invoke(main, ["analytics", "opt-out", "-3"])
    assert result.exit_code == 2 and "-3" in result.output
