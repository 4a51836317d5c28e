"""The job: one greeting row per call."""

from __future__ import annotations

from odyssey_workers.db.session import session_scope
from odyssey_workers.settings import domain_settings
from tests.support.greetings.models import Greeting
from tests.support.greetings.settings import GreetingsSettings


def greeting_for(name: str, style: str) -> str:
    text = f"hello, {name}"
    return text.upper() + "!" if style == "loud" else text


def greet(name: str = "world") -> dict[str, object]:
    text = greeting_for(name, domain_settings(GreetingsSettings).greetings_style)
    with session_scope() as session:
        row = Greeting(text=text)
        session.add(row)
        session.flush()
        return {"id": row.id, "text": text}
