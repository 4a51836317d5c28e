"""The greetings domain's one job: greet a name, writing one row."""

from __future__ import annotations

from pydantic import Field

from odyssey_workers.catalog import Payload, declare
from odyssey_workers.retry import NO_RETRY


class GreetPayload(Payload):
    name: str = Field(default="world", min_length=1, max_length=80)


declare(
    "greetings.greet",
    function="tests.support.greetings.greet.greet",
    payload=GreetPayload,
    priority=5,
    timeout=30,
    retry=NO_RETRY,
    description="Writes one greeting for a name, in the style GREETINGS_STYLE says (sample domain).",
)
