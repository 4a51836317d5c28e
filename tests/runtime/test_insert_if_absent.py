"""insert_if_absent: the insert every idempotency key goes through, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from odyssey_workers.db import idempotent
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.idempotent import insert_if_absent
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope


def _user(email: str, name: str = "") -> dict[str, object]:
    return {"email": email, "display_name": name, "locale": "en", "time_zone": "UTC", "created_at": utcnow()}


def _names(database_url: str) -> dict[str | None, str]:
    with session_scope(database_url) as session:
        return {user.email: user.display_name for user in session.scalars(select(User))}


def test_new_keys_are_inserted_and_counted(database_url: str) -> None:
    with session_scope(database_url) as session:
        assert insert_if_absent(session, User, [_user("a@example.com"), _user("b@example.com")], ["email"]) == 2
    assert set(_names(database_url)) == {"a@example.com", "b@example.com"}


def test_a_retried_insert_inserts_nothing_and_keeps_the_first_row(database_url: str) -> None:
    with session_scope(database_url) as session:
        assert insert_if_absent(session, User, [_user("a@example.com", "first")], ["email"]) == 1
    with session_scope(database_url) as session:
        assert insert_if_absent(session, User, [_user("a@example.com", "second")], ["email"]) == 0
    assert _names(database_url) == {"a@example.com": "first"}


def test_only_the_absent_rows_of_a_mixed_batch_are_inserted(database_url: str) -> None:
    with session_scope(database_url) as session:
        insert_if_absent(session, User, [_user("a@example.com", "old")], ["email"])
        rows = [_user("a@example.com", "new"), _user("b@example.com", "new"), _user("c@example.com", "new")]
        assert insert_if_absent(session, User, rows, ["email"]) == 2
    assert _names(database_url) == {"a@example.com": "old", "b@example.com": "new", "c@example.com": "new"}


def test_a_table_works_like_its_mapped_class_and_a_generator_like_a_list(database_url: str) -> None:
    table = User.__table__
    with session_scope(database_url) as session:
        assert insert_if_absent(session, table, (_user(f"{i}@example.com") for i in range(3)), ["email"]) == 3  # type: ignore[arg-type]
        assert insert_if_absent(session, table, (_user(f"{i}@example.com") for i in range(4)), ["email"]) == 1  # type: ignore[arg-type]


def test_more_rows_than_one_statement_takes_are_all_inserted(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotent, "INSERT_CHUNK", 7)
    rows = [_user(f"{i}@example.com") for i in range(30)]
    with session_scope(database_url) as session:
        assert insert_if_absent(session, User, rows[:10], ["email"]) == 10
        assert insert_if_absent(session, User, rows, ["email"]) == 20
    assert len(_names(database_url)) == 30


def test_no_rows_is_no_statement(database_url: str) -> None:
    with session_scope(database_url) as session:
        assert insert_if_absent(session, User, [], ["email"]) == 0
    assert _names(database_url) == {}
