"""Sending one message to many recipients: the loop every push and email provider shares.

A batch never stops at its first bad recipient: each one gets its own outcome (``Sent`` or the
exception that stopped it), in the order given, and the send job acts on each (a gone token is
dropped, a passing fault retried, ...). A single send raises that one outcome instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from odyssey_workers.providers.outcomes import Outcome, Sent

T = TypeVar("T")


class Keyed(Protocol):
    """Anything addressed to one recipient under its delivery's idempotency key."""

    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def send_each(send: Callable[[T], Sent], items: Iterable[T]) -> list[Outcome]:
    """``send`` each item in turn; an exception becomes that item's outcome instead of stopping the rest."""
    outcomes: list[Outcome] = []
    for item in items:
        try:
            outcomes.append(send(item))
        except Exception as exc:  # noqa: BLE001 - reported per recipient
            outcomes.append(exc)
    return outcomes


def keep_valid(items: Iterable[K], check: Callable[[K], object]) -> tuple[list[K], dict[str, Outcome]]:
    """The items ``check`` accepts, and the failure of each it refused, by key (nothing is sent)."""
    valid: list[K] = []
    refused: dict[str, Outcome] = {}
    for item in items:
        try:
            check(item)
            valid.append(item)
        except Exception as exc:  # noqa: BLE001 - reported per recipient
            refused[item.key] = exc
    return valid, refused


def in_order(items: Sequence[K], outcomes: dict[str, Outcome], missing: Outcome | None = None) -> list[Outcome]:
    """The outcome of each item by its key, in the items' order (``missing`` where none was recorded)."""
    if missing is None:
        return [outcomes[item.key] for item in items]
    return [outcomes.get(item.key, missing) for item in items]


def sent_or_raise(outcome: Outcome) -> Sent:
    """A single send's result from its batch outcome: the ``Sent``, or the exception raised."""
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
