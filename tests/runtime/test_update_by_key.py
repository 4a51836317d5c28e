"""update_by_key: many rows, each with its own values, in one statement, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, select

from odyssey_workers.db.base import utcnow
from odyssey_workers.db.bulk import update_by_key
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope

USERS: Table = User.__table__  # type: ignore[assignment]


def _seed(database_url: str, count: int) -> list[int]:
    with session_scope(database_url) as session:
        users = [User(email=f"{i}@example.com", display_name=f"user {i}", locale="en") for i in range(count)]
        session.add_all(users)
        session.flush()
        return [user.id for user in users]


def _rows(database_url: str) -> dict[str | None, tuple[str, str]]:
    with session_scope(database_url) as session:
        return {u.email: (u.display_name, u.locale) for u in session.scalars(select(User))}


def test_each_row_gets_its_own_values_and_the_others_are_untouched(database_url: str) -> None:
    ids = _seed(database_url, 3)
    with session_scope(database_url) as session:
        update_by_key(
            session,
            USERS,
            "id",
            [
                {"id": ids[0], "display_name": "Ada", "locale": "fr"},
                {"id": ids[2], "display_name": "Cy", "locale": "de"},
            ],
        )
    assert _rows(database_url) == {
        "0@example.com": ("Ada", "fr"),
        "1@example.com": ("user 1", "en"),
        "2@example.com": ("Cy", "de"),
    }


def test_the_key_may_be_any_unique_column_and_a_value_may_be_null(database_url: str) -> None:
    _seed(database_url, 2)
    now = utcnow()
    with session_scope(database_url) as session:
        update_by_key(session, USERS, "email", [{"email": "1@example.com", "phone": None, "created_at": now}])
        update_by_key(session, USERS, "email", [{"email": "1@example.com", "display_name": "Bo"}])
    with session_scope(database_url) as session:
        user = session.scalars(select(User).where(User.email == "1@example.com")).one()
        assert (user.display_name, user.phone, user.created_at) == ("Bo", None, now)


def test_a_key_that_matches_nothing_changes_nothing(database_url: str) -> None:
    _seed(database_url, 1)
    with session_scope(database_url) as session:
        update_by_key(session, USERS, "email", [{"email": "nobody@example.com", "display_name": "x"}])
    assert _rows(database_url) == {"0@example.com": ("user 0", "en")}


def test_no_rows_is_no_statement(database_url: str) -> None:
    with session_scope(database_url) as session:
        update_by_key(session, USERS, "id", [])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"display_name": "x"}], "each row needs 'id'"),
        ([{"id": 1}], "at least one column to set"),
        ([{"id": 1, "display_name": "x"}, {"id": 2, "locale": "fr"}], "rows name different columns"),
    ],
)
def test_rows_of_the_wrong_shape_are_refused_before_any_write(
    database_url: str, rows: list[dict[str, object]], message: str
) -> None:
    ids = _seed(database_url, 2)
    assert ids == [1, 2]
    with pytest.raises(ValueError, match=message), session_scope(database_url) as session:
        update_by_key(session, USERS, "id", rows)
    assert _rows(database_url) == {"0@example.com": ("user 0", "en"), "1@example.com": ("user 1", "en")}
