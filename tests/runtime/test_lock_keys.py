"""lock_keys: lock the rows still in a state, in key order and IN-list chunks, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, create_engine, select, text
from sqlalchemy.exc import OperationalError

from odyssey_workers.db.bulk import IN_CHUNK, chunks, lock_keys
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope

USERS: Table = User.__table__  # type: ignore[assignment]


def _seed(database_url: str, count: int) -> list[int]:
    with session_scope(database_url) as session:
        users = [User(email=f"{i}@example.com", display_name=f"user {i}", locale="en") for i in range(count)]
        users += [User(email=f"{i}@example.fr", display_name=f"fr {i}", locale="fr") for i in range(count)]
        session.add_all(users)
        session.flush()
        return [user.id for user in users]


def test_only_the_keys_still_meeting_the_condition_come_back_across_chunks(database_url: str) -> None:
    ids = _seed(database_url, IN_CHUNK)  # 2 x IN_CHUNK keys: three IN lists
    with session_scope(database_url) as session:
        english = set(session.scalars(select(User.id).where(User.locale == "en")))
        locked = lock_keys(session, USERS, "id", [*ids, 10**9], USERS.c.locale == "en")
    assert locked == english and len(locked) == IN_CHUNK


def test_no_keys_is_no_statement_and_an_empty_set(database_url: str) -> None:
    with session_scope(database_url) as session:
        assert lock_keys(session, USERS, "id", []) == set()


def test_chunks_cover_every_item_once() -> None:
    parts = list(chunks(list(range(2 * IN_CHUNK + 1))))
    assert [len(part) for part in parts] == [IN_CHUNK, IN_CHUNK, 1]
    assert [item for part in parts for item in part] == list(range(2 * IN_CHUNK + 1))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_rows_stay_locked_until_the_transaction_ends(database_url: str) -> None:
    [first, *_] = _seed(database_url, 2)
    other = create_engine(database_url)
    try:
        with session_scope(database_url) as session:
            assert first in lock_keys(session, USERS, "id", [first])
            with other.connect() as conn, pytest.raises(OperationalError, match="could not obtain lock"):
                conn.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE NOWAIT"), {"id": first})
        with other.connect() as conn:  # committed: free again
            assert conn.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE NOWAIT"), {"id": first}).all()
    finally:
        other.dispose()
